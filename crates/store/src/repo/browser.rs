//! People in the browser: sessions, grants (what a person allowed an application) and
//! authorization codes.

use diesel::prelude::*;
use domain::model::JsonList;

use crate::schema::{authorization_codes, browser_sessions, grants, refresh_tokens};
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = browser_sessions)]
pub struct SessionRow {
    /// Keyed hash of the cookie's random id.
    pub id_hash: Vec<u8>,
    pub tenant_id: String,
    pub user_id: String,
    /// How the person signed in (RFC 8176).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub amr: JsonList<String>,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end, whatever the activity.
    pub expires_at: i64,
}

pub fn insert_session(conn: &mut DbConnection, row: &SessionRow) -> Result<(), StoreError> {
    diesel::insert_into(browser_sessions::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// The live session with this id hash in the tenant, touched (idle timeout `idle` seconds);
/// an idle or expired one is deleted and not returned.
pub fn touch_session(
    conn: &mut DbConnection,
    tenant_id: &str,
    id_hash: &[u8],
    now: i64,
    idle: i64,
) -> Result<Option<SessionRow>, StoreError> {
    let found: Option<SessionRow> = browser_sessions::table
        .filter(browser_sessions::id_hash.eq(id_hash))
        .filter(browser_sessions::tenant_id.eq(tenant_id))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?;
    let Some(mut s) = found else {
        return Ok(None);
    };
    if s.expires_at <= now || s.last_seen_at + idle <= now {
        delete_session(conn, id_hash)?;
        return Ok(None);
    }
    // Written at most once a minute: the session is read on every page.
    if now - s.last_seen_at >= 60 {
        diesel::update(browser_sessions::table.filter(browser_sessions::id_hash.eq(id_hash)))
            .set(browser_sessions::last_seen_at.eq(now))
            .execute(conn)?;
        s.last_seen_at = now;
    }
    Ok(Some(s))
}

pub fn delete_session(conn: &mut DbConnection, id_hash: &[u8]) -> Result<(), StoreError> {
    diesel::delete(browser_sessions::table.filter(browser_sessions::id_hash.eq(id_hash)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub client_pk: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub scopes: JsonList<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
}

pub fn find_grant(
    conn: &mut DbConnection,
    user_id: &str,
    client_pk: &str,
) -> Result<Option<GrantRow>, StoreError> {
    Ok(grants::table
        .filter(grants::user_id.eq(user_id))
        .filter(grants::client_pk.eq(client_pk))
        .select(GrantRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn grant_exists(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(grants::table.find(id))).get_result(conn)?)
}

/// Records the person's consent to `scopes` (added to what they allowed before); the grant.
pub fn upsert_grant(conn: &mut DbConnection, row: &GrantRow) -> Result<GrantRow, StoreError> {
    match find_grant(conn, &row.user_id, &row.client_pk)? {
        None => {
            diesel::insert_into(grants::table)
                .values(row.clone())
                .execute(conn)?;
            Ok(row.clone())
        }
        Some(mut existing) => {
            let mut scopes = existing.scopes.0.clone();
            for s in row.scopes.iter() {
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
            let text: String = JsonList(scopes.clone()).into();
            diesel::update(grants::table.find(&existing.id))
                .set((
                    grants::scopes.eq(text),
                    grants::updated_at.eq(row.updated_at),
                ))
                .execute(conn)?;
            existing.scopes = JsonList(scopes);
            existing.updated_at = row.updated_at;
            Ok(existing)
        }
    }
}

pub fn touch_grant(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(grants::table.find(id))
        .set(grants::last_used_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// The person's grants with their applications' client ids and names, by client id.
pub fn grants_of(
    conn: &mut DbConnection,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<(GrantRow, String, String)>, StoreError> {
    use crate::schema::clients;
    Ok(grants::table
        .inner_join(clients::table)
        .filter(grants::tenant_id.eq(tenant_id))
        .filter(grants::user_id.eq(user_id))
        .order(clients::client_id.asc())
        .select((GrantRow::as_select(), clients::client_id, clients::name))
        .load(conn)?)
}

/// Deletes the grant; its codes go by cascade and its refresh tokens are revoked. `false` if
/// there was none.
pub fn delete_grant(conn: &mut DbConnection, id: &str, now: i64) -> Result<bool, StoreError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::grant_id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(diesel::delete(grants::table.find(id)).execute(conn)? == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    pub code_hash: Vec<u8>,
    pub tenant_id: String,
    pub client_pk: String,
    pub user_id: String,
    pub grant_id: String,
    pub redirect_uri: String,
    /// The S256 PKCE challenge (RFC 7636).
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scope: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub amr: JsonList<String>,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub issued_jti: Option<String>,
    pub issued_exp: Option<i64>,
    pub issued_family: Option<String>,
}

pub fn insert_code(conn: &mut DbConnection, row: &CodeRow) -> Result<(), StoreError> {
    diesel::insert_into(authorization_codes::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// The code's row, marked used by this call; `Err(row)` when it was used before (the caller
/// revokes what was issued from it).
pub fn redeem_code(
    conn: &mut DbConnection,
    code_hash: &[u8],
    now: i64,
) -> Result<Option<Result<CodeRow, CodeRow>>, StoreError> {
    let found: Option<CodeRow> = authorization_codes::table
        .filter(authorization_codes::code_hash.eq(code_hash))
        .select(CodeRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = found else {
        return Ok(None);
    };
    let n = diesel::update(
        authorization_codes::table
            .filter(authorization_codes::code_hash.eq(code_hash))
            .filter(authorization_codes::used_at.is_null()),
    )
    .set(authorization_codes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(Some(if n == 1 { Ok(row) } else { Err(row) }))
}

/// Remembers what was issued from a redeemed code, to revoke it on a replay.
pub fn record_issued(
    conn: &mut DbConnection,
    code_hash: &[u8],
    jti: &str,
    exp: i64,
    family: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(authorization_codes::table.filter(authorization_codes::code_hash.eq(code_hash)))
        .set((
            authorization_codes::issued_jti.eq(Some(jti)),
            authorization_codes::issued_exp.eq(Some(exp)),
            authorization_codes::issued_family.eq(family),
        ))
        .execute(conn)?;
    Ok(())
}

/// Drops codes and sessions past their end.
pub fn purge(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    // A used code is kept until it would have expired, plus a margin, to detect its replay.
    let a = diesel::delete(
        authorization_codes::table.filter(authorization_codes::expires_at.lt(now - 3600)),
    )
    .execute(conn)?;
    let b = diesel::delete(browser_sessions::table.filter(browser_sessions::expires_at.lt(now)))
        .execute(conn)?;
    Ok(a + b)
}
