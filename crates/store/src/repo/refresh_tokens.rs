//! Refresh tokens, stored as keyed hashes, in families. Single use for rotating clients is
//! decided by one conditional UPDATE, so two concurrent refreshes (even on two replicas)
//! cannot both win.

use diesel::prelude::*;

use crate::schema::refresh_tokens;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub tenant_id: String,
    pub family_id: String,
    pub token_hash: Vec<u8>,
    pub client_pk: String,
    pub user_id: Option<String>,
    pub scope: String,
    /// JSON of claims carried to every access token of the family (org, on_behalf_of, ...).
    pub claims: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The person's grant (consent) the family lives under; it ends with it.
    pub grant_id: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &RefreshTokenRow) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    hash: &[u8],
) -> Result<Option<RefreshTokenRow>, StoreError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a machine client's token used if it is live and belongs to `client_pk`; `Some` only
/// for the one caller that did so. (People's tokens are not single-use.)
pub fn use_once(
    conn: &mut DbConnection,
    hash: &[u8],
    client_pk: &str,
    now: i64,
) -> Result<Option<RefreshTokenRow>, StoreError> {
    let won = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash))
            .filter(refresh_tokens::client_pk.eq(client_pk))
            .filter(
                refresh_tokens::user_id
                    .is_null()
                    .or(refresh_tokens::grant_id.is_not_null()),
            )
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now)),
    )
    .set(refresh_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    if won == 1 {
        find_by_hash(conn, hash)
    } else {
        Ok(None)
    }
}

pub fn revoke_family(
    conn: &mut DbConnection,
    family_id: &str,
    now: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?)
}

/// Revokes every live refresh token of the user (disabled, or signed out everywhere).
pub fn revoke_user(conn: &mut DbConnection, user_id: &str, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?)
}
