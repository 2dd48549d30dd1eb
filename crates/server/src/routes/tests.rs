use super::*;

#[test]
fn paths_map_to_bounded_endpoint_names() {
    assert_eq!(classify("/t/acme/oauth2/token"), Endpoint::Token);
    assert_eq!(
        classify("/t/acme/.well-known/openid-configuration"),
        Endpoint::Discovery
    );
    assert_eq!(
        classify("/.well-known/oauth-authorization-server/t/acme"),
        Endpoint::Discovery
    );
    assert_eq!(classify("/admin/v1/tenants"), Endpoint::Admin);
    assert_eq!(classify("/account/me"), Endpoint::Account);
    assert_eq!(classify("/nope/../x"), Endpoint::Other);
}

#[test]
fn the_oauth_families_answer_in_the_oauth_dialect() {
    assert!(classify("/t/acme/oauth2/token").is_oauth());
    assert!(classify("/t/acme/oauth2/revoke").is_oauth());
    assert!(classify("/.well-known/oauth-authorization-server/t/acme").is_oauth());
    assert!(!classify("/t/acme/whoami").is_oauth());
    assert!(!classify("/admin/v1/tenants").is_oauth());
}
