use diesel::prelude::*;

use crate::schema::trust_anchors;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = trust_anchors)]
pub struct TrustAnchorRow {
    pub id: String,
    pub tenant_id: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    /// `x5t#S256` of the certificate.
    pub thumbprint: String,
    pub pem: String,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConnection, row: &TrustAnchorRow) -> Result<(), StoreError> {
    diesel::insert_into(trust_anchors::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn of_tenant(
    conn: &mut DbConnection,
    tenant_id: &str,
) -> Result<Vec<TrustAnchorRow>, StoreError> {
    Ok(trust_anchors::table
        .filter(trust_anchors::tenant_id.eq(tenant_id))
        .order(trust_anchors::id.asc())
        .select(TrustAnchorRow::as_select())
        .load(conn)?)
}

pub fn delete(conn: &mut DbConnection, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(
        trust_anchors::table
            .filter(trust_anchors::tenant_id.eq(tenant_id))
            .filter(trust_anchors::id.eq(id)),
    )
    .execute(conn)?
        == 1)
}
