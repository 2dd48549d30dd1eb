//! The client registration rules, one test per rule.

use domain::client_metadata::ClientMetadata;
use domain::model::AuthMethod;
use serde_json::json;
use store::repo::tenants::TenantRow;

use super::{check_keys_and_alg, check_mtls, valid_scopes, ClientError};

fn tenant(environment: &str, settings: &str) -> TenantRow {
    TenantRow {
        id: "t1".into(),
        slug: "acme".into(),
        name: "Acme".into(),
        environment: environment.parse().unwrap(),
        settings: settings.to_owned().try_into().unwrap(),
        disabled: false,
        created_at: 0,
        updated_at: 0,
        version: 1,
    }
}

fn field(e: ClientError) -> String {
    match e {
        ClientError::Invalid { field, .. } => field,
        other => panic!("not a field error: {other}"),
    }
}

#[test]
fn the_token_algorithm_is_one_the_tenant_allows() {
    let es_only = tenant("sandbox", r#"{"allowed_algorithms":["ES256"]}"#);
    let m = AuthMethod::ClientSecretBasic;
    assert_eq!(
        field(
            check_keys_and_alg(&es_only, m, Some("RS256"), None, None)
                .err()
                .unwrap()
        ),
        "access_token_alg"
    );
    assert!(check_keys_and_alg(&es_only, m, Some("ES256"), None, None).is_ok());
}

#[test]
fn only_public_keys_are_registered() {
    let t = tenant("sandbox", "{}");
    let private = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
    let e = check_keys_and_alg(&t, AuthMethod::PrivateKeyJwt, None, Some(&private), None);
    assert_eq!(field(e.err().unwrap()), "jwks");
}

#[test]
fn jwks_and_jwks_uri_exclude_each_other() {
    let t = tenant("sandbox", "{}");
    let empty = json!({"keys": []});
    let e = check_keys_and_alg(
        &t,
        AuthMethod::PrivateKeyJwt,
        None,
        Some(&empty),
        Some("https://keys.example.com/jwks"),
    );
    assert_eq!(field(e.err().unwrap()), "jwks");
}

#[test]
fn production_key_urls_are_https_and_public() {
    let prod = tenant("production", "{}");
    for uri in ["http://keys.example.com/jwks", "https://10.1.2.3/jwks"] {
        let e = check_keys_and_alg(&prod, AuthMethod::PrivateKeyJwt, None, None, Some(uri));
        assert_eq!(field(e.err().unwrap()), "jwks_uri", "{uri}");
    }
}

#[test]
fn tls_client_auth_names_exactly_one_identity() {
    let t = tenant("sandbox", "{}");
    let none = ClientMetadata::default();
    let e = check_mtls(&t, AuthMethod::TlsClientAuth, &none, None);
    assert_eq!(field(e.err().unwrap()), "tls_client_auth_subject_dn");
    let one = ClientMetadata {
        tls_client_auth_san_dns: Some("device.example".into()),
        ..Default::default()
    };
    assert!(check_mtls(&t, AuthMethod::TlsClientAuth, &one, None).is_ok());
    // The identity fields belong to tls_client_auth only.
    let e = check_mtls(&t, AuthMethod::ClientSecretBasic, &one, None);
    assert_eq!(field(e.err().unwrap()), "tls_client_auth_subject_dn");
}

#[test]
fn self_signed_certificates_are_for_sandbox_tenants_with_x5c() {
    let none = ClientMetadata::default();
    let m = AuthMethod::SelfSignedTlsClientAuth;
    let e = check_mtls(&tenant("production", "{}"), m, &none, None);
    assert_eq!(field(e.err().unwrap()), "auth_method");
    let e = check_mtls(&tenant("sandbox", "{}"), m, &none, Some(r#"{"keys":[]}"#));
    assert_eq!(field(e.err().unwrap()), "jwks");
    let with_x5c = r#"{"keys":[{"kty":"EC","x5c":["MIIB"]}]}"#;
    assert!(check_mtls(&tenant("sandbox", "{}"), m, &none, Some(with_x5c)).is_ok());
}

#[test]
fn scope_tokens_follow_rfc_6749() {
    assert!(valid_scopes(&vec!["read".into(), "reports:write".into()]).is_ok());
    for bad in ["*", "", "with space", "quote\"", "back\\slash"] {
        assert!(valid_scopes(&vec![bad.to_owned()]).is_err(), "{bad:?}");
    }
}

fn browser_metadata(redirects: &[&str]) -> ClientMetadata {
    ClientMetadata {
        redirect_uris: redirects.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn production_redirect_uris_are_https_or_loopback() {
    use super::check_browser;
    use domain::model::GrantType;
    let code = [GrantType::AuthorizationCode];
    let prod = tenant("production", "{}");
    let sandbox = tenant("sandbox", "{}");
    for ok in [
        "https://app.example/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "com.example.app:/cb",
    ] {
        assert!(
            check_browser(&prod, AuthMethod::None, &code, &browser_metadata(&[ok])).is_ok(),
            "{ok}"
        );
    }
    for bad in [
        "http://app.example/cb",
        "https://app.example/cb#frag",
        "javascript:alert(1)",
        "cb",
        "https://",
    ] {
        let e = check_browser(&prod, AuthMethod::None, &code, &browser_metadata(&[bad]));
        assert_eq!(field(e.err().unwrap()), "redirect_uris", "{bad}");
    }
    assert!(check_browser(
        &sandbox,
        AuthMethod::None,
        &code,
        &browser_metadata(&["http://app.example/cb"])
    )
    .is_ok());
}

#[test]
fn the_code_grant_needs_a_redirect_uri_and_public_clients_only_use_peoples_grants() {
    use super::check_browser;
    use domain::model::GrantType;
    let t = tenant("sandbox", "{}");
    let e = check_browser(
        &t,
        AuthMethod::None,
        &[GrantType::AuthorizationCode],
        &browser_metadata(&[]),
    );
    assert_eq!(field(e.err().unwrap()), "redirect_uris");
    let e = check_browser(
        &t,
        AuthMethod::None,
        &[GrantType::ClientCredentials],
        &browser_metadata(&[]),
    );
    assert_eq!(field(e.err().unwrap()), "grant_types");
}
