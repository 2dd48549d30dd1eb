use diesel::prelude::*;

use crate::schema::devices;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    pub id: String,
    pub tenant_id: String,
    pub organization_id: String,
    pub name: String,
    /// HMAC-SHA-256 of the device secret under the master key.
    pub secret_hash: Option<Vec<u8>>,
    /// SHA-256 of the client certificate's DER, base64url (`x5t#S256`).
    pub cert_thumbprint: Option<String>,
    /// Bumped whenever the device token is re-issued or the certificate changes: older tokens
    /// carry an older `ver` and stop validating.
    pub token_version: i64,
    pub disabled: bool,
    pub failed_auth_count: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    /// The tenant key that signed the current device token.
    pub token_kid: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &DeviceRow) -> Result<(), StoreError> {
    diesel::insert_into(devices::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<DeviceRow>, StoreError> {
    Ok(devices::table
        .filter(devices::tenant_id.eq(tenant_id))
        .filter(devices::id.eq(id))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(
    conn: &mut DbConnection,
    organization_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DeviceRow>, StoreError> {
    let mut q = devices::table
        .filter(devices::organization_id.eq(organization_id.to_owned()))
        .select(DeviceRow::as_select())
        .order(devices::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(devices::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// A new device token generation: version bumped, signing key recorded, and (when given)
/// the certificate binding replaced. Returns the new token version.
pub fn next_token(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    kid: &str,
    thumbprint: Option<Option<&str>>,
    now: i64,
) -> Result<i64, StoreError> {
    let target = devices::table
        .filter(devices::tenant_id.eq(tenant_id))
        .filter(devices::id.eq(id));
    let n = match thumbprint {
        Some(t) => diesel::update(target)
            .set((
                devices::token_version.eq(devices::token_version + 1),
                devices::token_kid.eq(Some(kid)),
                devices::cert_thumbprint.eq(t),
                devices::version.eq(devices::version + 1),
                devices::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                devices::token_version.eq(devices::token_version + 1),
                devices::token_kid.eq(Some(kid)),
                devices::version.eq(devices::version + 1),
                devices::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(find(conn, tenant_id, id)?
        .map(|d| d.token_version)
        .unwrap_or(0))
}

/// Renames or disables if still at `version`.
pub fn update_if_version(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    version: i64,
    name: Option<&str>,
    disabled: Option<bool>,
    now: i64,
) -> Result<bool, StoreError> {
    let target = devices::table
        .filter(devices::tenant_id.eq(tenant_id))
        .filter(devices::id.eq(id))
        .filter(devices::version.eq(version));
    let n = diesel::update(target)
        .set((
            name.map(|n| devices::name.eq(n.to_owned())),
            disabled.map(|d| devices::disabled.eq(d)),
            devices::version.eq(version + 1),
            devices::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn delete(conn: &mut DbConnection, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    let n = diesel::delete(
        devices::table
            .filter(devices::tenant_id.eq(tenant_id))
            .filter(devices::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Live device tokens of a tenant signed by `kid`: what retiring that key invalidates.
pub fn count_tokens_signed_by(
    conn: &mut DbConnection,
    tenant_id: &str,
    kid: &str,
) -> Result<i64, StoreError> {
    Ok(devices::table
        .filter(devices::tenant_id.eq(tenant_id))
        .filter(devices::token_kid.eq(kid))
        .filter(devices::disabled.eq(false))
        .count()
        .get_result(conn)?)
}

/// The tenant's device registered with this certificate thumbprint.
pub fn find_by_thumbprint(
    conn: &mut DbConnection,
    tenant_id: &str,
    thumbprint: &str,
) -> Result<Option<DeviceRow>, StoreError> {
    Ok(devices::table
        .filter(devices::tenant_id.eq(tenant_id))
        .filter(devices::cert_thumbprint.eq(thumbprint))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?)
}
