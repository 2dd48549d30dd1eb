//! The rules on people's roles and sign-in, one test per rule.

use domain::model::TenantRole;
use store::repo::tenants::TenantRow;

use super::{check_roles, UserError};

fn tenant(slug: &str, environment: &str) -> TenantRow {
    TenantRow {
        id: "t1".into(),
        slug: slug.into(),
        name: "T".into(),
        environment: environment.parse().unwrap(),
        settings: Default::default(),
        disabled: false,
        created_at: 0,
        updated_at: 0,
        version: 1,
    }
}

fn field(r: Result<(), UserError>) -> &'static str {
    match r {
        Err(UserError::Invalid { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn platform_admin_exists_only_in_the_system_tenant() {
    let admin = [TenantRole::PlatformAdmin];
    assert_eq!(
        field(check_roles(&tenant("acme", "sandbox"), &admin, None)),
        "tenant_roles"
    );
    assert!(check_roles(&tenant("system", "sandbox"), &admin, None).is_ok());
    assert!(check_roles(&tenant("acme", "sandbox"), &[TenantRole::TenantAdmin], None).is_ok());
}

#[test]
fn production_tenants_sign_everyone_in_with_the_emailed_code() {
    assert_eq!(
        field(check_roles(&tenant("acme", "production"), &[], Some(false))),
        "mfa_enabled"
    );
    assert!(check_roles(&tenant("acme", "sandbox"), &[], Some(false)).is_ok());
    assert!(check_roles(&tenant("acme", "production"), &[], None).is_ok());
}
