//! The committed `openapi/openapi.json` is what the code generates (`cargo xtask openapi`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn committed_spec_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = portcullis_server::openapi::spec_json().unwrap();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo xtask openapi` and commit the result"
    );
}

#[test]
fn spec_is_openapi_3_1_with_the_ops_endpoints() {
    let spec: serde_json::Value =
        serde_json::from_str(&portcullis_server::openapi::spec_json().unwrap()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    for path in ["/healthz", "/readyz"] {
        assert!(spec["paths"][path]["get"].is_object(), "{path} missing");
    }
}
