//! Enrollments: a vendor asks to act for a department; the department decides; either side
//! revokes. Each change writes its row and audit event in one transaction, then drops the pair
//! from this replica's cache, so tokens acting `on_behalf_of` the department see it at once.

use domain::model::EnrollmentStatus;
use domain::{ids, now_unix};
use store::repo::audit::{self, AuditRow};
use store::repo::enrollments::{self, EnrollmentRow};
use store::repo::organizations::OrganizationRow;
use store::{Store, StoreError};
use tokens::cache::Caches;
use tokens::cache::Changed;

/// Asks for `vendor` to act for `department` (again, after a refusal or a revocation).
/// `Err(existing)` when an enrollment of the pair is already pending or active.
pub async fn request(
    store: &Store,
    vendor: &OrganizationRow,
    department: &OrganizationRow,
    by_user: &str,
    event: AuditRow,
) -> Result<Result<EnrollmentRow, EnrollmentRow>, StoreError> {
    let now = now_unix();
    let by = by_user.to_owned();
    let row = EnrollmentRow {
        id: ids::new_id(),
        tenant_id: vendor.tenant_id.clone(),
        vendor_id: vendor.id.clone(),
        department_id: department.id.clone(),
        status: EnrollmentStatus::Pending,
        requested_by: Some(by.clone()),
        decided_by: None,
        created_at: now,
        updated_at: now,
    };
    store
        .transaction(move |c| {
            let row = match enrollments::find_pair(c, &row.vendor_id, &row.department_id)? {
                None => {
                    enrollments::insert(c, &row)?;
                    row
                }
                Some(existing) => {
                    if !enrollments::request_again(c, &existing.id, &by, now)? {
                        return Ok(Err(existing));
                    }
                    enrollments::find(c, &existing.tenant_id, &existing.id)?
                        .ok_or(StoreError::NotFound)?
                }
            };
            audit::insert(c, &event)?;
            Ok(Ok(row))
        })
        .await
}

/// Moves the enrollment from one of `from` to `to`; `None` if it is in another state.
pub async fn transition(
    store: &Store,
    caches: &Caches,
    enrollment: &EnrollmentRow,
    from: &'static [&'static str],
    to: EnrollmentStatus,
    by_user: &str,
    event: AuditRow,
) -> Result<Option<EnrollmentRow>, StoreError> {
    let (eid, tid, by) = (
        enrollment.id.clone(),
        enrollment.tenant_id.clone(),
        by_user.to_owned(),
    );
    let updated = store
        .transaction(move |c| {
            if !enrollments::transition(c, &eid, from, to.as_str(), &by, now_unix())? {
                return Ok(None);
            }
            audit::insert(c, &event)?;
            enrollments::find(c, &tid, &eid)
        })
        .await?;
    caches
        .invalidate(Changed::Enrollment {
            vendor_id: &enrollment.vendor_id,
            department_id: &enrollment.department_id,
        })
        .await;
    Ok(updated)
}
