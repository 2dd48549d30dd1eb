use super::*;

#[test]
fn paths_map_to_bounded_endpoint_names() {
    assert_eq!(Endpoint::of("/t/acme/oauth2/token"), Endpoint::Token);
    assert_eq!(
        Endpoint::of("/t/acme/.well-known/openid-configuration"),
        Endpoint::Discovery
    );
    assert_eq!(
        Endpoint::of("/.well-known/oauth-authorization-server/t/acme"),
        Endpoint::Discovery
    );
    assert_eq!(Endpoint::of("/admin/v1/tenants"), Endpoint::Admin);
    assert_eq!(Endpoint::of("/account/me"), Endpoint::Account);
    assert_eq!(Endpoint::of("/nope/../x"), Endpoint::Other);
}

#[test]
fn histogram_buckets_are_cumulative() {
    let m = Metrics {
        requests: [ROW; E],
        latency: [EMPTY; E],
        tokens: [ZERO; GrantType::ALL.len()],
    };
    m.record_request("/t/a/oauth2/token", 200, Duration::from_micros(700));
    m.record_request("/t/a/oauth2/token", 401, Duration::from_millis(30));
    m.record_token(GrantType::ClientCredentials);
    let text = m.render();
    assert!(text.contains("portcullis_http_requests_total{endpoint=\"token\",status=\"2xx\"} 1"));
    assert!(text.contains("portcullis_http_requests_total{endpoint=\"token\",status=\"4xx\"} 1"));
    assert!(
        text.contains("_bucket{endpoint=\"token\",le=\"0.0005\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("_bucket{endpoint=\"token\",le=\"0.001\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("_bucket{endpoint=\"token\",le=\"0.05\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("_bucket{endpoint=\"token\",le=\"+Inf\"} 2"),
        "{text}"
    );
    assert!(text.contains("portcullis_tokens_issued_total{grant_type=\"client_credentials\"} 1"));
}
