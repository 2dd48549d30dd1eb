use diesel::prelude::*;
use domain::model::{KeyState, SigningAlg};

use crate::schema::signing_keys;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// The `kid`.
    pub id: String,
    pub tenant_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub alg: SigningAlg,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub state: KeyState,
    pub public_jwk: String,
    /// PKCS#8 DER sealed with AES-256-GCM under the master key, bound to the kid.
    pub private_key_sealed: Vec<u8>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &SigningKeyRow) -> Result<(), StoreError> {
    diesel::insert_into(signing_keys::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// Every key of the tenant, oldest first.
pub fn of_tenant(
    conn: &mut DbConnection,
    tenant_id: &str,
) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::tenant_id.eq(tenant_id))
        .order(signing_keys::created_at.asc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Marks every active key of `alg` retired and `kid` active, in the caller's transaction.
pub fn promote(
    conn: &mut DbConnection,
    tenant_id: &str,
    kid: &str,
    alg: SigningAlg,
    now: i64,
) -> Result<(), StoreError> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::tenant_id.eq(tenant_id))
            .filter(signing_keys::alg.eq(alg.as_str()))
            .filter(signing_keys::state.eq("active")),
    )
    .set((
        signing_keys::state.eq("retired"),
        signing_keys::retired_at.eq(Some(now)),
    ))
    .execute(conn)?;
    let n = diesel::update(
        signing_keys::table
            .filter(signing_keys::tenant_id.eq(tenant_id))
            .filter(signing_keys::id.eq(kid)),
    )
    .set((
        signing_keys::state.eq("active"),
        signing_keys::activated_at.eq(Some(now)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a retired key; `false` if there is no such retired key.
pub fn delete_retired(
    conn: &mut DbConnection,
    tenant_id: &str,
    kid: &str,
) -> Result<bool, StoreError> {
    let n = diesel::delete(
        signing_keys::table
            .filter(signing_keys::tenant_id.eq(tenant_id))
            .filter(signing_keys::id.eq(kid))
            .filter(signing_keys::state.eq("retired")),
    )
    .execute(conn)?;
    Ok(n == 1)
}
