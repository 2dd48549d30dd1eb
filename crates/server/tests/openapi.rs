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

/// Every operation of the spec reaches a handler of the app: a request to it never gets the
/// router's own "no resource" 404 or a 405.
#[actix_web::test]
async fn every_spec_operation_is_routed() {
    use actix_web::test;
    let db = store::testing::TestDb::new();
    let store =
        store::Store::open(&db.url, store::PoolOptions::for_backend(db.url.backend())).unwrap();
    let state = portcullis_server::app::AppState::new(
        store,
        domain::secrets::MasterKey::from_bytes(&[3; 32]).unwrap(),
        "http://localhost".into(),
        integrations::mail::Mailer::outbox(
            std::env::temp_dir().join("portcullis-test-outbox"),
            "Portcullis <no-reply@localhost>",
        )
        .unwrap(),
    );
    let app = test::init_service(portcullis_server::app::build(&state)).await;
    let spec = serde_json::to_value(portcullis_server::openapi::spec()).unwrap();
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let req = test::TestRequest::default()
                .method(m)
                .uri(&concrete)
                .to_request();
            let resp = test::call_service(&app, req).await;
            let status = resp.status().as_u16();
            let body = String::from_utf8_lossy(&test::read_body(resp).await).into_owned();
            assert_ne!(status, 405, "{method} {path} is not routed for this method");
            assert!(
                !(status == 404 && body.contains("no resource at this URL")),
                "{method} {path} is not routed: {body}"
            );
            count += 1;
        }
    }
    assert!(count >= 40, "{count} operations checked");
}

/// Operation ids name operations uniquely (generators make method names of them).
#[test]
fn operation_ids_are_unique() {
    let spec = serde_json::to_value(portcullis_server::openapi::spec()).unwrap();
    let mut seen = std::collections::HashSet::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            assert!(seen.insert(id.to_owned()), "operationId {id} twice");
        }
    }
}
