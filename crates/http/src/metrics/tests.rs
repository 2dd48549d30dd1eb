use super::*;

#[test]
fn histogram_buckets_are_cumulative() {
    let m = Metrics {
        requests: [ROW; E],
        latency: [EMPTY; E],
        tokens: [ZERO; GrantType::ALL.len()],
    };
    m.record_request(Endpoint::Token, 200, Duration::from_micros(700));
    m.record_request(Endpoint::Token, 401, Duration::from_millis(30));
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
