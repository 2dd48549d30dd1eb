//! The enrollment rules, one test per rule.

use domain::model::{EnrollmentStatus, MembershipRole};

use super::{Decision, Permission};

const ALL: [Decision; 3] = [Decision::Approve, Decision::Refuse, Decision::Revoke];

#[test]
fn only_a_pending_request_is_approved_or_refused() {
    assert_eq!(Decision::Approve.from(), [EnrollmentStatus::Pending]);
    assert_eq!(Decision::Refuse.from(), [EnrollmentStatus::Pending]);
    assert_eq!(Decision::Approve.to(), EnrollmentStatus::Active);
    assert_eq!(Decision::Refuse.to(), EnrollmentStatus::Refused);
}

#[test]
fn a_pending_or_active_enrollment_is_revoked_and_nothing_else() {
    assert_eq!(
        Decision::Revoke.from(),
        [EnrollmentStatus::Pending, EnrollmentStatus::Active]
    );
    assert_eq!(Decision::Revoke.to(), EnrollmentStatus::Revoked);
    for d in ALL {
        assert!(!d.from().contains(&EnrollmentStatus::Revoked), "{d:?}");
        assert!(!d.from().contains(&EnrollmentStatus::Refused), "{d:?}");
    }
}

#[test]
fn the_department_decides_on_a_request_not_the_vendor() {
    let owner = Some(MembershipRole::Owner);
    for d in [Decision::Approve, Decision::Refuse] {
        assert_eq!(d.permission(false, None, owner), Permission::Granted);
        assert!(matches!(
            d.permission(false, owner, None),
            Permission::Denied(_)
        ));
    }
}

#[test]
fn either_side_may_revoke() {
    let admin = Some(MembershipRole::Admin);
    assert_eq!(
        Decision::Revoke.permission(false, admin, None),
        Permission::Granted
    );
    assert_eq!(
        Decision::Revoke.permission(false, None, admin),
        Permission::Granted
    );
}

#[test]
fn members_are_told_no_and_strangers_see_nothing() {
    let member = Some(MembershipRole::Member);
    for d in ALL {
        assert!(matches!(
            d.permission(false, member, member),
            Permission::Denied(_)
        ));
        assert_eq!(d.permission(false, None, None), Permission::Hidden);
    }
}

#[test]
fn a_tenant_admin_may_take_every_decision() {
    for d in ALL {
        assert_eq!(d.permission(true, None, None), Permission::Granted);
    }
}
