//! Enrollments: a vendor asks to act for a department; the department decides; either side
//! revokes. Each change writes its row and audit event in one transaction, then drops the pair
//! from this replica's cache, so tokens acting `on_behalf_of` the department see it at once.

use domain::model::{EnrollmentStatus, MembershipRole};
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

/// A decision on an enrollment after it was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Refuse,
    Revoke,
}

/// Whether a person may take a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Granted,
    /// A member of a side, without the role the decision needs (403, saying which).
    Denied(&'static str),
    /// Unrelated to the enrollment: it is not theirs to see (404).
    Hidden,
}

impl Decision {
    /// The state the decision leads to.
    pub fn to(self) -> EnrollmentStatus {
        match self {
            Decision::Approve => EnrollmentStatus::Active,
            Decision::Refuse => EnrollmentStatus::Refused,
            Decision::Revoke => EnrollmentStatus::Revoked,
        }
    }

    /// The states it may be taken from: only a pending request is approved or refused; a
    /// pending or active one is revoked.
    pub fn from(self) -> &'static [EnrollmentStatus] {
        match self {
            Decision::Approve | Decision::Refuse => &[EnrollmentStatus::Pending],
            Decision::Revoke => &[EnrollmentStatus::Pending, EnrollmentStatus::Active],
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Refuse => "refuse",
            Decision::Revoke => "revoke",
        }
    }

    /// The department decides on a request; either side may end it. A manager is an owner or
    /// admin of the side; a tenant admin may always.
    pub fn permission(
        self,
        tenant_admin: bool,
        vendor: Option<MembershipRole>,
        department: Option<MembershipRole>,
    ) -> Permission {
        let manages = |r: Option<MembershipRole>| {
            matches!(r, Some(MembershipRole::Owner | MembershipRole::Admin))
        };
        let allowed = tenant_admin
            || match self {
                Decision::Approve | Decision::Refuse => manages(department),
                Decision::Revoke => manages(department) || manages(vendor),
            };
        if allowed {
            Permission::Granted
        } else if vendor.is_some() || department.is_some() {
            Permission::Denied(match self {
                Decision::Approve | Decision::Refuse => {
                    "only an owner or admin of the department (or a tenant admin) decides"
                }
                Decision::Revoke => {
                    "only an owner or admin of the vendor or the department may revoke"
                }
            })
        } else {
            Permission::Hidden
        }
    }
}

/// Takes `decision` on the enrollment; `None` if it is in a state the decision is not taken
/// from.
pub async fn transition(
    store: &Store,
    caches: &Caches,
    enrollment: &EnrollmentRow,
    decision: Decision,
    by_user: &str,
    event: AuditRow,
) -> Result<Option<EnrollmentRow>, StoreError> {
    let (from, to) = (decision.from(), decision.to());
    let (eid, tid, by) = (
        enrollment.id.clone(),
        enrollment.tenant_id.clone(),
        by_user.to_owned(),
    );
    let updated = store
        .transaction(move |c| {
            if !enrollments::transition(c, &eid, from, to, &by, now_unix())? {
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

#[cfg(test)]
mod tests;
