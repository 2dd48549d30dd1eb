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

/// The leaf route patterns of the app, read from actix's resource map (its `Debug` form is the
/// only view actix gives of the routing tree): scopes' prefixes joined with their resources.
fn route_patterns(debug: &str) -> Vec<String> {
    struct Frame {
        indent: usize,
        pattern: Option<String>,
        leaf: bool,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut out = Vec::new();
    let mut skip_until: Option<usize> = None;
    let mut lines = debug.lines().peekable();
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if let Some(i) = skip_until {
            if indent == i && text.starts_with('}') {
                skip_until = None;
            }
            continue;
        }
        if text == "named: {" {
            skip_until = Some(indent);
        } else if text == "ResourceMap {" {
            stack.push(Frame {
                indent,
                pattern: None,
                leaf: true,
            });
        } else if text == "patterns: Single(" {
            let next = lines.next().unwrap_or_default().trim();
            let pattern = next.trim_end_matches(',').trim_matches('"').to_owned();
            if let Some(f) = stack.last_mut() {
                f.pattern.get_or_insert(pattern);
            }
        } else if text.starts_with("nodes: Some(") {
            if let Some(f) = stack.last_mut() {
                f.leaf = false;
            }
        } else if text.starts_with('}') && stack.last().is_some_and(|f| f.indent == indent) {
            let full: String = stack.iter().filter_map(|f| f.pattern.clone()).collect();
            if stack.pop().is_some_and(|f| f.leaf) {
                out.push(full);
            }
        }
    }
    out
}

/// Every route the app serves, with every method it answers, is in the spec (the converse of
/// `every_spec_operation_is_routed`). Only the documentation itself is left out.
#[actix_web::test]
async fn every_route_of_the_app_is_in_the_spec() {
    use actix_web::{test, web, HttpRequest};
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
    let app = test::init_service(portcullis_server::app::build(&state).route(
        "/__routes",
        web::get().to(|req: HttpRequest| async move { format!("{:#?}", req.resource_map()) }),
    ))
    .await;
    let debug =
        test::call_and_read_body(&app, test::TestRequest::get().uri("/__routes").to_request())
            .await;
    let patterns = route_patterns(std::str::from_utf8(&debug).unwrap());
    let spec = serde_json::to_value(portcullis_server::openapi::spec()).unwrap();
    let shape = |p: &str| -> String {
        p.split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    let documented: std::collections::HashMap<String, &serde_json::Value> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, item)| (shape(p), item))
        .collect();
    // Documentation, not API: the spec itself, the UI and its redirect; and this test's probe.
    let undocumented = [
        "/openapi.json",
        "/swagger-ui",
        "/swagger-ui/{_:.*}",
        "/__routes",
        // Pages for people's browsers (HTML), not the JSON API.
        "/assets/portcullis.css",
        "/t/{tenant}/signin",
        "/t/{tenant}/signin/code",
        "/t/{tenant}/signout",
        "/t/{tenant}/oauth2/authorize",
        "/t/{tenant}/oauth2/logout",
        "/t/{tenant}/account/apps",
        "/t/{tenant}/account/apps/{client_id}/revoke",
        "/assets/copy.js",
        "/t/{tenant}/portal/",
        "/t/{tenant}/portal/step-up",
        "/t/{tenant}/portal/e/{id}",
        "/t/{tenant}/portal/e/{id}/integrations",
        "/t/{tenant}/portal/e/{id}/reveal",
        "/t/{tenant}/portal/e/{id}/integrations/{client_id}/rotate",
        "/t/{tenant}/portal/e/{id}/integrations/{client_id}/delete",
        "/t/{tenant}/portal/e/{id}/enrollments",
        "/t/{tenant}/portal/enrollments/{id}/{decision}",
        "/t/{tenant}/portal/e/{id}/activity",
        "/t/{tenant}/portal/e/{id}/members",
        "/t/{tenant}/portal/e/{id}/members/invite",
        "/t/{tenant}/portal/e/{id}/members/{user}/role",
        "/t/{tenant}/portal/e/{id}/members/{user}/remove",
        "/t/{tenant}/portal/invite",
    ];
    let mut checked = 0;
    for pattern in patterns
        .iter()
        .filter(|p| !undocumented.contains(&p.as_str()))
    {
        let item = documented
            .get(&shape(pattern))
            .unwrap_or_else(|| panic!("{pattern} is served but not in the spec"));
        let concrete = pattern
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post", "put", "patch", "delete"] {
            let m = actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let req = test::TestRequest::default()
                .method(m)
                .uri(&concrete)
                .to_request();
            let resp = test::call_service(&app, req).await;
            let status = resp.status().as_u16();
            let body = String::from_utf8_lossy(&test::read_body(resp).await).into_owned();
            // The router's own answers: a method the resource lacks (405), or a guard that
            // matched nothing (404 "no resource").
            let routed =
                status != 405 && !(status == 404 && body.contains("no resource at this URL"));
            if routed {
                assert!(
                    item.get(method).is_some(),
                    "{method} {pattern} answers {status} but is not in the spec"
                );
                checked += 1;
            }
        }
    }
    assert!(patterns.len() >= 30, "{patterns:?}");
    assert!(checked >= 55, "{checked} routed operations checked");
}
