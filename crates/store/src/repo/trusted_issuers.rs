//! Trusted external issuers of a tenant, and the issuer + audience pairs that route a token to
//! its tenant.

use diesel::prelude::*;
use domain::federation::Rule;
use domain::model::JsonList;

use crate::schema::{trusted_audiences, trusted_issuers};
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = trusted_issuers)]
pub struct TrustedIssuerRow {
    pub id: String,
    pub tenant_id: String,
    pub issuer: String,
    /// Where its keys are; `None`: from its discovery document.
    pub jwks_uri: Option<String>,
    /// The longest lifetime (`exp − iat`, seconds) of a token accepted.
    pub max_lifetime: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub algorithms: JsonList<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub rules: JsonList<Rule>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// Inserts the issuer and claims its audiences; a pair another issuer row holds is a conflict.
pub fn insert(
    conn: &mut DbConnection,
    row: &TrustedIssuerRow,
    audiences: &[String],
) -> Result<(), StoreError> {
    diesel::insert_into(trusted_issuers::table)
        .values(row.clone())
        .execute(conn)?;
    claim_audiences(conn, row, audiences)
}

fn claim_audiences(
    conn: &mut DbConnection,
    row: &TrustedIssuerRow,
    audiences: &[String],
) -> Result<(), StoreError> {
    for a in audiences {
        diesel::insert_into(trusted_audiences::table)
            .values((
                trusted_audiences::issuer.eq(&row.issuer),
                trusted_audiences::audience.eq(a),
                trusted_audiences::trusted_issuer_id.eq(&row.id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces the definition of `row.id` if it is still at `version` (`false` otherwise): its
/// columns, and its audiences (a pair another issuer row holds is a conflict).
pub fn replace(
    conn: &mut DbConnection,
    row: &TrustedIssuerRow,
    version: i64,
    audiences: &[String],
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        trusted_issuers::table
            .filter(trusted_issuers::tenant_id.eq(&row.tenant_id))
            .filter(trusted_issuers::id.eq(&row.id))
            .filter(trusted_issuers::version.eq(version)),
    )
    .set((
        trusted_issuers::issuer.eq(&row.issuer),
        trusted_issuers::jwks_uri.eq(&row.jwks_uri),
        trusted_issuers::max_lifetime.eq(row.max_lifetime),
        trusted_issuers::algorithms.eq(String::from(row.algorithms.clone())),
        trusted_issuers::rules.eq(String::from(row.rules.clone())),
        trusted_issuers::updated_at.eq(row.updated_at),
        trusted_issuers::version.eq(version + 1),
    ))
    .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    diesel::delete(
        trusted_audiences::table.filter(trusted_audiences::trusted_issuer_id.eq(&row.id)),
    )
    .execute(conn)?;
    claim_audiences(conn, row, audiences)?;
    Ok(true)
}

pub fn audiences_of(conn: &mut DbConnection, id: &str) -> Result<Vec<String>, StoreError> {
    Ok(trusted_audiences::table
        .filter(trusted_audiences::trusted_issuer_id.eq(id))
        .order(trusted_audiences::audience.asc())
        .select(trusted_audiences::audience)
        .load(conn)?)
}

pub fn find(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<TrustedIssuerRow>, StoreError> {
    Ok(trusted_issuers::table
        .filter(trusted_issuers::tenant_id.eq(tenant_id))
        .filter(trusted_issuers::id.eq(id))
        .select(TrustedIssuerRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn of_tenant(
    conn: &mut DbConnection,
    tenant_id: &str,
) -> Result<Vec<TrustedIssuerRow>, StoreError> {
    Ok(trusted_issuers::table
        .filter(trusted_issuers::tenant_id.eq(tenant_id))
        .order(trusted_issuers::id.asc())
        .select(TrustedIssuerRow::as_select())
        .load(conn)?)
}

/// The trusted issuer that holds `issuer` + `audience`, whatever its tenant.
pub fn by_audience(
    conn: &mut DbConnection,
    issuer: &str,
    audience: &str,
) -> Result<Option<TrustedIssuerRow>, StoreError> {
    Ok(trusted_audiences::table
        .inner_join(trusted_issuers::table)
        .filter(trusted_audiences::issuer.eq(issuer))
        .filter(trusted_audiences::audience.eq(audience))
        .select(TrustedIssuerRow::as_select())
        .first(conn)
        .optional()?)
}

/// The trusted issuer that holds `issuer` + `audience` and the slug of its tenant: how a
/// person's external token presented as a bearer token finds its tenant.
pub fn route(
    conn: &mut DbConnection,
    issuer: &str,
    audience: &str,
) -> Result<Option<(TrustedIssuerRow, String)>, StoreError> {
    let Some(row) = by_audience(conn, issuer, audience)? else {
        return Ok(None);
    };
    let slug = crate::schema::tenants::table
        .filter(crate::schema::tenants::id.eq(&row.tenant_id))
        .select(crate::schema::tenants::slug)
        .first(conn)?;
    Ok(Some((row, slug)))
}

pub fn delete(conn: &mut DbConnection, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(
        trusted_issuers::table
            .filter(trusted_issuers::tenant_id.eq(tenant_id))
            .filter(trusted_issuers::id.eq(id)),
    )
    .execute(conn)?
        == 1)
}
