//! Refresh tokens: opaque 256-bit values, stored as keyed hashes, in families, under one of two
//! policies. Machine clients (integrations) rotate: each use returns a new token and spends the
//! old one, and presenting a spent one revokes the whole family (RFC 9700 §4.14.2). People keep
//! one token for a fixed time from sign-in, and refreshing returns an access token only.

use domain::accounts::Person;
use domain::secrets::generate_secret;
use domain::{ids, now_unix};
use serde::{Deserialize, Serialize};
use store::repo::refresh_tokens::{self, RefreshTokenRow};

use crate::cache::{Client, Tenant};
use crate::service::TokenService;
use http::oauth::OAuthError;

/// Lifetime of a machine client's refresh token; each rotation starts it again.
pub const MACHINE_REFRESH_TTL: i64 = 30 * 24 * 3600;
/// A person's refresh token lives this long from sign-in, and is not renewed.
pub const PERSON_REFRESH_TTL: i64 = 90 * 60;

/// What every access token of a family carries over (the `claims` column).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FamilyClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// Where a new refresh token belongs.
pub enum Family<'a> {
    /// A machine client's new family, or the next token of one (`Some(id)`).
    Machine {
        family: Option<String>,
        on_behalf_of: Option<&'a str>,
    },
    Person(&'a Person),
    /// A person's family under a grant (authorization code with `offline_access`): rotated like
    /// a machine's, alive while used within [`MACHINE_REFRESH_TTL`] and while the grant stands.
    Grant {
        family: Option<String>,
        person: &'a Person,
        grant_id: &'a str,
    },
}

/// Issues a refresh token for `client` under the policy of `family`.
pub async fn issue(
    svc: &TokenService,
    tenant: &Tenant,
    client: &Client,
    scope: &str,
    family: Family<'_>,
) -> Result<String, OAuthError> {
    let token = generate_secret().map_err(OAuthError::server_error)?;
    let now = now_unix();
    let mut grant = None;
    let (family_id, user_id, expires_at, claims) = match family {
        Family::Machine {
            family,
            on_behalf_of,
        } => (
            family.unwrap_or_else(ids::new_id),
            None,
            now + MACHINE_REFRESH_TTL,
            FamilyClaims {
                on_behalf_of: on_behalf_of.map(str::to_owned),
                ..FamilyClaims::default()
            },
        ),
        Family::Grant {
            family,
            person,
            grant_id,
        } => {
            grant = Some(grant_id.to_owned());
            (
                family.unwrap_or_else(ids::new_id),
                Some(person.user_id.clone()),
                now + MACHINE_REFRESH_TTL,
                FamilyClaims {
                    amr: Some(person.amr.clone()),
                    auth_time: Some(person.auth_time),
                    ..FamilyClaims::default()
                },
            )
        }
        Family::Person(p) => (
            ids::new_id(),
            Some(p.user_id.clone()),
            p.auth_time + PERSON_REFRESH_TTL,
            FamilyClaims {
                amr: Some(p.amr.clone()),
                auth_time: Some(p.auth_time),
                ..FamilyClaims::default()
            },
        ),
    };
    let row = RefreshTokenRow {
        id: ids::new_id(),
        tenant_id: tenant.id.clone(),
        family_id,
        token_hash: svc
            .master_key
            .hash_secret(&token)
            .map_err(OAuthError::server_error)?,
        client_pk: client.id.clone(),
        user_id,
        scope: scope.to_owned(),
        claims: serde_json::to_string(&claims).map_err(OAuthError::server_error)?,
        created_at: now,
        expires_at,
        used_at: None,
        revoked_at: None,
        grant_id: grant,
    };
    svc.store
        .run(move |c| refresh_tokens::insert(c, &row))
        .await?;
    Ok(token)
}

/// A refresh token that may be used now.
pub struct Redeemed {
    pub row: RefreshTokenRow,
    pub claims: FamilyClaims,
}

impl Redeemed {
    /// A person's token of the password grant (fixed lifetime, not rotated).
    pub fn person(&self) -> Option<&str> {
        self.row
            .user_id
            .as_deref()
            .filter(|_| self.row.grant_id.is_none())
    }

    /// A person's token under a grant (rotated): the person and the grant.
    pub fn grant(&self) -> Option<(&str, &str)> {
        Some((self.row.user_id.as_deref()?, self.row.grant_id.as_deref()?))
    }
}

/// Redeems a refresh token of `client`. A machine token is spent by this call (one atomic
/// UPDATE decides between concurrent callers); a spent one revokes its family. A person's
/// token stays valid until its fixed expiry.
pub async fn redeem(
    svc: &TokenService,
    client: &Client,
    token: &str,
) -> Result<Redeemed, OAuthError> {
    let hash = svc
        .master_key
        .hash_secret(token)
        .map_err(OAuthError::server_error)?;
    let pk = client.id.clone();
    let now = now_unix();
    let outcome = svc
        .store
        .transaction(move |c| {
            if let Some(row) = refresh_tokens::use_once(c, &hash, &pk, now)? {
                return Ok(Ok(row));
            }
            match refresh_tokens::find_by_hash(c, &hash)? {
                Some(row)
                    if row.client_pk == pk
                        && row.user_id.is_some()
                        && row.grant_id.is_none()
                        && row.revoked_at.is_none()
                        && row.expires_at > now =>
                {
                    Ok(Ok(row))
                }
                Some(row) if row.client_pk == pk && row.used_at.is_some() => {
                    refresh_tokens::revoke_family(c, &row.family_id, now)?;
                    Ok(Err(true))
                }
                _ => Ok(Err(false)),
            }
        })
        .await?;
    match outcome {
        Ok(row) => {
            // Unreadable claims must not widen what the token may do: refuse it.
            let claims = serde_json::from_str(&row.claims).map_err(OAuthError::server_error)?;
            Ok(Redeemed { row, claims })
        }
        Err(true) => {
            tracing::warn!(client = %client.client_id, "refresh token reuse: family revoked");
            Err(OAuthError::invalid_grant(
                "refresh token was already used; its family is revoked",
            ))
        }
        Err(false) => Err(OAuthError::invalid_grant(
            "refresh token is invalid, expired or revoked",
        )),
    }
}

/// RFC 7009 for refresh tokens: revokes the family if the token is the caller's.
pub async fn revoke(svc: &TokenService, client: &Client, token: &str) -> Result<bool, OAuthError> {
    let hash = svc
        .master_key
        .hash_secret(token)
        .map_err(OAuthError::server_error)?;
    let pk = client.id.clone();
    let now = now_unix();
    Ok(svc
        .store
        .transaction(move |c| match refresh_tokens::find_by_hash(c, &hash)? {
            Some(row) if row.client_pk == pk => {
                Ok(refresh_tokens::revoke_family(c, &row.family_id, now)? > 0)
            }
            _ => Ok(false),
        })
        .await?)
}
