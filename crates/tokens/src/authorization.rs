//! The authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636): the rules of an
//! authorization request, issuing a code once the person signed in and consented, and
//! exchanging it at the token endpoint. The pages around it live in the `web` crate.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use domain::accounts::Person;
use domain::model::{GrantType, JsonList};
use domain::secrets::generate_secret;
use domain::{ids, now_unix};
use store::repo::browser::{self, CodeRow, GrantRow};
use store::StoreError;

use crate::cache::{Changed, Client, Tenant};
use crate::service::TokenService;

/// An authorization code lives this long (seconds).
pub const CODE_TTL: i64 = 60;

/// Scopes OpenID Connect defines; they need no entry in the tenant's catalogue.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "offline_access", "email", "profile"];

/// Whether `uri` is one the client registered: exactly, or (RFC 8252 §7.3) a loopback
/// `http://127.0.0.1` / `http://[::1]` URI that differs only in its port.
pub fn redirect_allowed(registered: &[String], uri: &str) -> bool {
    registered.iter().any(|r| r == uri)
        || loopback_without_port(uri).is_some_and(|u| {
            registered
                .iter()
                .any(|r| loopback_without_port(r).as_ref() == Some(&u))
        })
}

/// A loopback redirect URI with its port removed, to compare native apps' URIs.
fn loopback_without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let (host_port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = if let Some(v6) = host_port.strip_prefix("[::1]") {
        (v6.is_empty() || v6.starts_with(':')).then_some("[::1]")?
    } else {
        let host = host_port.split(':').next()?;
        (host == "127.0.0.1").then_some(host)?
    };
    Some(format!("http://{host}{path}"))
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An S256 challenge is the base64url SHA-256 of a verifier: 43 characters.
pub fn valid_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

/// RFC 7636 §4.6, S256 only. The length is compared first: the constant-time comparison
/// panics on slices of different lengths.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let digest = openssl::sha::sha256(verifier.as_bytes());
    let computed = B64.encode(digest);
    computed.len() == challenge.len()
        && openssl::memcmp::eq(computed.as_bytes(), challenge.as_bytes())
}

/// What the code is bound to.
pub struct CodeRequest<'a> {
    pub client: &'a Client,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub nonce: Option<&'a str>,
    pub scope: &'a str,
    pub person: &'a Person,
}

/// Records the person's grant of `scope` to the client (added to earlier ones) and issues a
/// code for it; returns the code (shown once, in the redirect).
pub async fn issue_code(
    svc: &TokenService,
    tenant: &Tenant,
    req: CodeRequest<'_>,
) -> Result<String, StoreError> {
    let code = generate_secret().map_err(|e| StoreError::Task(e.to_string()))?;
    let hash = svc
        .master_key
        .hash_secret(&code)
        .map_err(|e| StoreError::Task(e.to_string()))?;
    let now = now_unix();
    let grant = GrantRow {
        id: ids::new_id(),
        tenant_id: tenant.id.clone(),
        user_id: req.person.user_id.clone(),
        client_pk: req.client.id.clone(),
        scopes: JsonList(
            req.scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        created_at: now,
        updated_at: now,
        last_used_at: None,
    };
    let row = CodeRow {
        code_hash: hash,
        tenant_id: tenant.id.clone(),
        client_pk: req.client.id.clone(),
        user_id: req.person.user_id.clone(),
        grant_id: String::new(),
        redirect_uri: req.redirect_uri.to_owned(),
        code_challenge: req.code_challenge.to_owned(),
        nonce: req.nonce.map(str::to_owned),
        scope: req.scope.to_owned(),
        amr: JsonList(req.person.amr.clone()),
        auth_time: req.person.auth_time,
        created_at: now,
        expires_at: now + CODE_TTL,
        used_at: None,
        issued_jti: None,
        issued_exp: None,
        issued_family: None,
    };
    svc.store
        .transaction(move |c| {
            let grant = browser::upsert_grant(c, &grant)?;
            browser::insert_code(
                c,
                &CodeRow {
                    grant_id: grant.id,
                    ..row
                },
            )
        })
        .await?;
    Ok(code)
}

/// The scopes the person already allowed the client (none without a grant).
pub async fn granted_scopes(
    svc: &TokenService,
    user_id: &str,
    client: &Client,
) -> Result<Vec<String>, StoreError> {
    let (u, pk) = (user_id.to_owned(), client.id.clone());
    Ok(svc
        .store
        .run(move |c| browser::find_grant(c, &u, &pk))
        .await?
        .map(|g| g.scopes.0)
        .unwrap_or_default())
}

/// Why a code exchange failed (each an `invalid_grant`, RFC 6749 §5.2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodeRefused {
    #[error("the code is unknown")]
    Unknown,
    #[error("the code was already used; the tokens issued from it are revoked")]
    Replayed,
    #[error("the code has expired")]
    Expired,
    #[error("the code was issued to another client")]
    OtherClient,
    #[error("redirect_uri does not match the authorization request")]
    RedirectUri,
    #[error("code_verifier does not match the code_challenge")]
    Verifier,
    #[error("the person took back the grant, or their account is disabled")]
    Gone,
}

/// What a redeemed code carries into the tokens.
pub struct Redeemed {
    pub code_hash: Vec<u8>,
    pub row: CodeRow,
}

/// Spends the code for `client`, checking everything it is bound to. A replay revokes what was
/// issued from the code (RFC 6749 §4.1.2).
pub async fn redeem(
    svc: &TokenService,
    client: &Client,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Result<Redeemed, CodeRefused>, StoreError> {
    let hash = svc
        .master_key
        .hash_secret(code)
        .map_err(|e| StoreError::Task(e.to_string()))?;
    let now = now_unix();
    let h = hash.clone();
    let outcome = svc
        .store
        .transaction(move |c| browser::redeem_code(c, &h, now))
        .await?;
    let row = match outcome {
        None => return Ok(Err(CodeRefused::Unknown)),
        Some(Err(used)) => {
            if used.client_pk == client.id {
                revoke_issued(svc, &used).await?;
            }
            return Ok(Err(CodeRefused::Replayed));
        }
        Some(Ok(row)) => row,
    };
    let refused = if row.client_pk != client.id {
        Some(CodeRefused::OtherClient)
    } else if row.expires_at <= now {
        Some(CodeRefused::Expired)
    } else if row.redirect_uri != redirect_uri {
        Some(CodeRefused::RedirectUri)
    } else if !pkce_matches(verifier, &row.code_challenge) {
        Some(CodeRefused::Verifier)
    } else {
        None
    };
    Ok(match refused {
        Some(r) => Err(r),
        None => Ok(Redeemed {
            code_hash: hash,
            row,
        }),
    })
}

async fn revoke_issued(svc: &TokenService, used: &CodeRow) -> Result<(), StoreError> {
    if let (Some(jti), Some(exp)) = (&used.issued_jti, used.issued_exp) {
        svc.revoke_access_token(&used.tenant_id, jti, exp).await?;
    }
    if let Some(family) = used.issued_family.clone() {
        let now = now_unix();
        svc.store
            .run(move |c| store::repo::refresh_tokens::revoke_family(c, &family, now).map(|_| ()))
            .await?;
    }
    tracing::warn!(client_pk = %used.client_pk, "authorization code replayed: its tokens are revoked");
    Ok(())
}

/// Remembers what was issued from the code (to revoke on a replay) and when the grant was used.
pub async fn record_issued(
    svc: &TokenService,
    redeemed: &Redeemed,
    jti: &str,
    exp: i64,
    family: Option<&str>,
) -> Result<(), StoreError> {
    let (hash, jti, family, grant) = (
        redeemed.code_hash.clone(),
        jti.to_owned(),
        family.map(str::to_owned),
        redeemed.row.grant_id.clone(),
    );
    let now = now_unix();
    svc.store
        .transaction(move |c| {
            browser::record_issued(c, &hash, &jti, exp, family.as_deref())?;
            browser::touch_grant(c, &grant, now)
        })
        .await
}

/// Takes back a person's grant to an application: its access tokens stop validating at once
/// here (on other replicas within the cache bound), its refresh tokens are revoked and the
/// consent is forgotten. `false` if there was none.
pub async fn revoke_grant(
    svc: &TokenService,
    tenant_id: &str,
    user_id: &str,
    client: &Arc<Client>,
    event: store::repo::audit::AuditRow,
) -> Result<bool, StoreError> {
    let (u, pk) = (user_id.to_owned(), client.id.clone());
    let now = now_unix();
    let gone = svc
        .store
        .transaction(move |c| {
            let Some(grant) = browser::find_grant(c, &u, &pk)? else {
                return Ok(None);
            };
            browser::delete_grant(c, &grant.id, now)?;
            store::repo::audit::insert(c, &event)?;
            Ok(Some(grant.id))
        })
        .await?;
    let Some(id) = gone else {
        return Ok(false);
    };
    svc.caches
        .invalidate(Changed::Grant { tenant_id, id: &id })
        .await;
    Ok(true)
}

/// Whether a client may use the authorization code grant at all.
pub fn uses_code(client: &Client) -> bool {
    client.grant_types.contains(&GrantType::AuthorizationCode)
}

#[cfg(test)]
mod tests;
