//! Token bookkeeping that must hold across replicas: single-use assertion ids and revoked
//! access tokens. The database decides (primary keys), caches only sit in front.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::schema::{revoked_tokens, used_jtis};
use crate::{DbConnection, StoreError};

/// Records each `(client, jti)` as used; returns, per item, whether it was fresh (`true`) or a
/// replay. One statement per item inside the caller's transaction; `ON CONFLICT DO NOTHING`
/// keeps a replay from aborting the batch on PostgreSQL.
pub fn consume_jtis(
    conn: &mut DbConnection,
    items: &[(String, String, i64)],
) -> Result<Vec<bool>, StoreError> {
    let mut fresh = Vec::with_capacity(items.len());
    for (client_pk, jti, expires_at) in items {
        let q = |sql: &'static str| {
            diesel::sql_query(sql)
                .bind::<Text, _>(client_pk)
                .bind::<Text, _>(jti)
                .bind::<BigInt, _>(*expires_at)
        };
        let n = match conn {
            DbConnection::Postgres(c) => q("INSERT INTO used_jtis (client_pk, jti, expires_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .execute(c)?,
            DbConnection::Sqlite(c) => q("INSERT INTO used_jtis (client_pk, jti, expires_at) \
                 VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            .execute(c)?,
        };
        fresh.push(n == 1);
    }
    Ok(fresh)
}

pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    let a = diesel::delete(used_jtis::table.filter(used_jtis::expires_at.lt(now))).execute(conn)?;
    let b = diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now)))
        .execute(conn)?;
    // Expired codes and refresh tokens prove nothing any more: a replay of either is refused
    // as unknown just as well.
    let c = crate::repo::mfa::purge(conn, now)?;
    let d = diesel::delete(
        crate::schema::refresh_tokens::table
            .filter(crate::schema::refresh_tokens::expires_at.lt(now)),
    )
    .execute(conn)?;
    // Authorization codes (kept an hour past their end, to detect a replay) and browser
    // sessions past their absolute end.
    let e = crate::repo::browser::purge(conn, now)?;
    Ok(a + b + c + d + e)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = revoked_tokens)]
pub struct RevokedTokenRow {
    pub jti: String,
    pub tenant_id: String,
    pub expires_at: i64,
}

/// Idempotent: revoking twice is not an error.
pub fn revoke(conn: &mut DbConnection, row: &RevokedTokenRow) -> Result<(), StoreError> {
    match diesel::insert_into(revoked_tokens::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(()),
        Err(e) => match StoreError::from(e) {
            StoreError::Conflict { .. } => Ok(()),
            other => Err(other),
        },
    }
}

/// Revoked tokens that have not expired yet: the set a revocation cache mirrors.
pub fn live_revocations(
    conn: &mut DbConnection,
    now: i64,
) -> Result<Vec<RevokedTokenRow>, StoreError> {
    Ok(revoked_tokens::table
        .filter(revoked_tokens::expires_at.ge(now))
        .select(RevokedTokenRow::as_select())
        .load(conn)?)
}
