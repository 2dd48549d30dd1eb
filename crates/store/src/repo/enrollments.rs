//! Department ↔ vendor enrollments. Status changes are conditional UPDATEs on the status they
//! start from, so two people deciding at once cannot both succeed.

use diesel::prelude::*;
use domain::model::EnrollmentStatus;

use crate::schema::enrollments;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enrollments)]
pub struct EnrollmentRow {
    pub id: String,
    pub tenant_id: String,
    pub vendor_id: String,
    pub department_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: EnrollmentStatus,
    pub requested_by: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn insert(conn: &mut DbConnection, row: &EnrollmentRow) -> Result<(), StoreError> {
    diesel::insert_into(enrollments::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn find(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<EnrollmentRow>, StoreError> {
    Ok(enrollments::table
        .filter(enrollments::tenant_id.eq(tenant_id))
        .filter(enrollments::id.eq(id))
        .select(EnrollmentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_pair(
    conn: &mut DbConnection,
    vendor_id: &str,
    department_id: &str,
) -> Result<Option<EnrollmentRow>, StoreError> {
    Ok(enrollments::table
        .filter(enrollments::vendor_id.eq(vendor_id))
        .filter(enrollments::department_id.eq(department_id))
        .select(EnrollmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of the tenant's enrollments that involve one of `organizations` (all of the
/// tenant's when `None`), by id.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    organizations: Option<&[String]>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<EnrollmentRow>, StoreError> {
    let mut q = enrollments::table
        .filter(enrollments::tenant_id.eq(tenant_id.to_owned()))
        .select(EnrollmentRow::as_select())
        .order(enrollments::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(orgs) = organizations {
        q = q.filter(
            enrollments::vendor_id
                .eq_any(orgs.to_vec())
                .or(enrollments::department_id.eq_any(orgs.to_vec())),
        );
    }
    if let Some(a) = after {
        q = q.filter(enrollments::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Moves the enrollment from one of `from` to `to`; `false` if it was in none of them.
pub fn transition(
    conn: &mut DbConnection,
    id: &str,
    from: &[EnrollmentStatus],
    to: EnrollmentStatus,
    by: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let to = to.as_str();
    let n = diesel::update(
        enrollments::table
            .filter(enrollments::id.eq(id))
            .filter(enrollments::status.eq_any(from)),
    )
    .set((
        enrollments::status.eq(to),
        enrollments::decided_by.eq(Some(by)),
        enrollments::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Asks again after a refusal or revocation: back to pending, requested by `by`.
pub fn request_again(
    conn: &mut DbConnection,
    id: &str,
    by: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        enrollments::table
            .filter(enrollments::id.eq(id))
            .filter(enrollments::status.eq_any(["refused", "revoked"])),
    )
    .set((
        enrollments::status.eq("pending"),
        enrollments::requested_by.eq(Some(by)),
        enrollments::decided_by.eq(None::<String>),
        enrollments::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Is the vendor enrolled (actively) to act for the department?
pub fn is_active(
    conn: &mut DbConnection,
    vendor_id: &str,
    department_id: &str,
) -> Result<bool, StoreError> {
    Ok(find_pair(conn, vendor_id, department_id)?
        .is_some_and(|e| e.status == EnrollmentStatus::Active))
}
