//! Refresh tokens for clients whose policy includes the `refresh_token` grant: opaque 256-bit
//! values, stored as keyed hashes, rotated on every use; presenting a used one revokes its
//! whole family (RFC 9700 §4.14.2).

use domain::secrets::generate_secret;
use domain::{ids, now_unix};
use store::repo::refresh_tokens::{self, RefreshTokenRow};

use crate::error::OAuthError;
use crate::service::{Client, Tenant, TokenService};

/// Lifetime of a machine client's refresh token; each rotation starts it again.
pub const MACHINE_REFRESH_TTL: i64 = 30 * 24 * 3600;

/// Issues a refresh token in `family` (a new family when `None`).
pub async fn issue(
    svc: &TokenService,
    tenant: &Tenant,
    client: &Client,
    scope: &str,
    family: Option<String>,
) -> Result<String, OAuthError> {
    let token = generate_secret().map_err(OAuthError::server_error)?;
    let now = now_unix();
    let row = RefreshTokenRow {
        id: ids::new_id(),
        tenant_id: tenant.id.clone(),
        family_id: family.unwrap_or_else(ids::new_id),
        token_hash: svc
            .master_key
            .hash_secret(&token)
            .map_err(OAuthError::server_error)?,
        client_pk: client.pk.clone(),
        user_id: None,
        scope: scope.to_owned(),
        claims: "{}".to_owned(),
        created_at: now,
        expires_at: now + MACHINE_REFRESH_TTL,
        used_at: None,
        revoked_at: None,
    };
    svc.store
        .run(move |c| refresh_tokens::insert(c, &row))
        .await?;
    Ok(token)
}

/// Spends a refresh token of `client`: the row when this caller won it, else `invalid_grant`
/// (after revoking the family if the token had been used before).
pub async fn redeem(
    svc: &TokenService,
    client: &Client,
    token: &str,
) -> Result<RefreshTokenRow, OAuthError> {
    let hash = svc
        .master_key
        .hash_secret(token)
        .map_err(OAuthError::server_error)?;
    let pk = client.pk.clone();
    let now = now_unix();
    let outcome = svc
        .store
        .transaction(move |c| {
            if let Some(row) = refresh_tokens::use_once(c, &hash, &pk, now)? {
                return Ok(Ok(row));
            }
            match refresh_tokens::find_by_hash(c, &hash)? {
                Some(row) if row.client_pk == pk && row.used_at.is_some() => {
                    refresh_tokens::revoke_family(c, &row.family_id, now)?;
                    Ok(Err(true))
                }
                _ => Ok(Err(false)),
            }
        })
        .await?;
    match outcome {
        Ok(row) => Ok(row),
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
    let pk = client.pk.clone();
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
