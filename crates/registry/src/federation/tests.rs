//! The registration rules of trusted issuers, one test per rule.

use domain::federation::{Condition, Rule, Target};
use store::repo::tenants::TenantRow;

use super::{check, FederationError, NewTrustedIssuer};

fn tenant(environment: &str) -> TenantRow {
    TenantRow {
        id: "t1".into(),
        slug: "acme".into(),
        name: "Acme".into(),
        environment: environment.parse().unwrap(),
        settings: Default::default(),
        disabled: false,
        created_at: 0,
        updated_at: 0,
        version: 1,
    }
}

fn new(issuer: &str) -> NewTrustedIssuer {
    NewTrustedIssuer {
        issuer: issuer.into(),
        jwks_uri: None,
        audiences: vec!["portcullis".into()],
        max_lifetime: None,
        algorithms: None,
        rules: vec![Rule {
            name: "ci".into(),
            when: vec![Condition {
                claim: "repository".into(),
                value: "acme/*".into(),
            }],
            target: Target::Client {
                client_id: "ci".into(),
            },
            single_use: false,
        }],
    }
}

fn field(r: Result<(), FederationError>) -> &'static str {
    match r {
        Err(FederationError::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_issuer_is_https_in_production_and_may_be_http_in_sandbox() {
    assert!(check(
        &tenant("production"),
        &new("https://token.actions.githubusercontent.com")
    )
    .is_ok());
    assert_eq!(
        field(check(&tenant("production"), &new("http://issuer.example"))),
        "issuer"
    );
    assert!(check(&tenant("sandbox"), &new("http://127.0.0.1:8081")).is_ok());
    assert_eq!(
        field(check(
            &tenant("sandbox"),
            &new("https://issuer.example/?x=1")
        )),
        "issuer"
    );
}

#[test]
fn only_asymmetric_algorithms_may_be_allowed() {
    for bad in ["none", "HS256"] {
        let mut n = new("https://issuer.example");
        n.algorithms = Some(vec!["RS256".into(), bad.into()]);
        assert_eq!(field(check(&tenant("sandbox"), &n)), "algorithms", "{bad}");
    }
    let mut n = new("https://issuer.example");
    n.algorithms = Some(vec!["ES384".into(), "PS256".into()]);
    assert!(check(&tenant("sandbox"), &n).is_ok());
}

#[test]
fn a_production_jwks_uri_is_https() {
    let mut n = new("https://issuer.example");
    n.jwks_uri = Some("http://issuer.example/jwks".into());
    assert_eq!(field(check(&tenant("production"), &n)), "jwks_uri");
}

#[test]
fn targets_name_their_client_or_claim() {
    let mut n = new("https://issuer.example");
    n.rules[0].target = Target::User {
        by_claim: String::new(),
    };
    assert_eq!(field(check(&tenant("sandbox"), &n)), "rules");
}
