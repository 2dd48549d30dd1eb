//! Emailed one-time codes. Each attempt is counted by one conditional UPDATE before the code
//! is compared, and a code is spent by another, so neither the attempt limit nor single use
//! can be raced, even across replicas.

use diesel::prelude::*;

use crate::schema::mfa_challenges;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_challenges)]
pub struct MfaChallengeRow {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub client_pk: String,
    /// Keyed hash of the `mfa_token` handed to the client.
    pub token_hash: Vec<u8>,
    /// Keyed hash of the challenge id and the code; never the code.
    pub code_hash: Vec<u8>,
    /// The scope the sign-in asked for, granted when the code is right.
    pub scope: String,
    pub attempts: i32,
    pub sends: i32,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &MfaChallengeRow) -> Result<(), StoreError> {
    diesel::insert_into(mfa_challenges::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::id.eq(id))).execute(conn)?;
    Ok(())
}

pub fn find_by_token(
    conn: &mut DbConnection,
    token_hash: &[u8],
) -> Result<Option<MfaChallengeRow>, StoreError> {
    Ok(mfa_challenges::table
        .filter(mfa_challenges::token_hash.eq(token_hash))
        .select(MfaChallengeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Ends the user's other open challenges: only the newest code works.
pub fn supersede(
    conn: &mut DbConnection,
    user_id: &str,
    except_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    diesel::update(
        mfa_challenges::table
            .filter(mfa_challenges::user_id.eq(user_id))
            .filter(mfa_challenges::id.ne(except_id))
            .filter(mfa_challenges::consumed_at.is_null())
            .filter(mfa_challenges::expires_at.gt(now)),
    )
    .set(mfa_challenges::expires_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Counts one attempt if the challenge is open and below `max`; `false` when no attempt is
/// left (or it was spent or expired meanwhile).
pub fn count_attempt(
    conn: &mut DbConnection,
    id: &str,
    max: i32,
    now: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        mfa_challenges::table
            .filter(mfa_challenges::id.eq(id))
            .filter(mfa_challenges::attempts.lt(max))
            .filter(mfa_challenges::consumed_at.is_null())
            .filter(mfa_challenges::expires_at.gt(now)),
    )
    .set(mfa_challenges::attempts.eq(mfa_challenges::attempts + 1))
    .execute(conn)?;
    Ok(n == 1)
}

/// Spends the challenge; `true` only for the one caller that did.
pub fn consume(conn: &mut DbConnection, id: &str, now: i64) -> Result<bool, StoreError> {
    let n = diesel::update(
        mfa_challenges::table
            .filter(mfa_challenges::id.eq(id))
            .filter(mfa_challenges::consumed_at.is_null()),
    )
    .set(mfa_challenges::consumed_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Drops challenges that ended before `before` (kept a while for the send limit).
pub fn purge(conn: &mut DbConnection, before: i64) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(mfa_challenges::table.filter(mfa_challenges::expires_at.lt(before)))
            .execute(conn)?,
    )
}
