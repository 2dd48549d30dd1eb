//! The scope rule of RFC 6749 §3.3, one test per case.

use store::repo::clients::ClientRow;

use super::{acting_vendor, resolve_scope};
use crate::cache::Client;

fn client(scopes: &str, default_scopes: &str) -> Client {
    let row = ClientRow {
        id: "pk".into(),
        tenant_id: "t".into(),
        client_id: "c".into(),
        kind: domain::model::ClientKind::Application,
        name: "c".into(),
        organization_id: None,
        auth_method: domain::model::AuthMethod::ClientSecretBasic,
        grant_types: vec![domain::model::GrantType::ClientCredentials].into(),
        scopes: scopes.to_owned().try_into().unwrap(),
        default_scopes: default_scopes.to_owned().try_into().unwrap(),
        tenant_roles: Default::default(),
        access_token_ttl: None,
        access_token_alg: domain::model::SigningAlg::Rs256,
        jwks: None,
        jwks_uri: None,
        metadata: Default::default(),
        disabled: false,
        failed_auth_count: 0,
        locked_until: None,
        created_by: None,
        created_at: 0,
        updated_at: 0,
        version: 1,
    };
    Client::from_row(row, Vec::new()).unwrap()
}

#[test]
fn no_scope_asked_gets_the_default_ones() {
    let c = client(r#"["read","write"]"#, r#"["read"]"#);
    assert_eq!(resolve_scope(&c, None).unwrap(), "read");
    assert_eq!(resolve_scope(&c, Some("  ")).unwrap(), "read");
}

#[test]
fn star_asks_for_every_allowed_scope() {
    let c = client(r#"["read","write"]"#, r#"["read"]"#);
    assert_eq!(resolve_scope(&c, Some("*")).unwrap(), "read write");
}

#[test]
fn asked_scopes_are_granted_once_each_or_refused_whole() {
    let c = client(r#"["read","write"]"#, r#"["read"]"#);
    assert_eq!(
        resolve_scope(&c, Some("write read write")).unwrap(),
        "write read"
    );
    let e = resolve_scope(&c, Some("read admin")).unwrap_err();
    assert_eq!(e.code, http::oauth::OAuthErrorCode::InvalidScope);
    assert!(e.description.contains("`admin`"), "{}", e.description);
}

#[test]
fn only_an_integration_of_an_organization_acts_on_behalf_of_another() {
    let mut c = client(r#"["read"]"#, r#"["read"]"#);
    assert!(acting_vendor(&c).is_err(), "an application");
    c.row.kind = domain::model::ClientKind::Integration;
    assert!(
        acting_vendor(&c).is_err(),
        "an integration without an organization"
    );
    c.row.organization_id = Some("VN1".into());
    assert_eq!(acting_vendor(&c).unwrap(), "VN1");
    c.row.kind = domain::model::ClientKind::Admin;
    let e = acting_vendor(&c).unwrap_err();
    assert_eq!(e.code, http::OAuthErrorCode::InvalidRequest);
}
