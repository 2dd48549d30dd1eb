use diesel::prelude::*;
use domain::model::OrganizationKind;

use crate::schema::organizations;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct OrganizationRow {
    /// `VN…`, `FD…` or `OR…` by kind.
    pub id: String,
    pub tenant_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: OrganizationKind,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

pub fn insert(conn: &mut DbConnection, row: &OrganizationRow) -> Result<(), StoreError> {
    diesel::insert_into(organizations::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn find(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<OrganizationRow>, StoreError> {
    Ok(organizations::table
        .filter(organizations::tenant_id.eq(tenant_id))
        .filter(organizations::id.eq(id))
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<OrganizationRow>, StoreError> {
    let mut q = organizations::table
        .filter(organizations::tenant_id.eq(tenant_id.to_owned()))
        .select(OrganizationRow::as_select())
        .order(organizations::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(organizations::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Renames if still at `version`.
pub fn rename_if_version(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    version: i64,
    name: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        organizations::table
            .filter(organizations::tenant_id.eq(tenant_id))
            .filter(organizations::id.eq(id))
            .filter(organizations::version.eq(version)),
    )
    .set((
        organizations::name.eq(name),
        organizations::version.eq(version + 1),
        organizations::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes the organization and, by cascade, its devices, memberships and clients.
pub fn delete(conn: &mut DbConnection, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    let n = diesel::delete(
        organizations::table
            .filter(organizations::tenant_id.eq(tenant_id))
            .filter(organizations::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}
