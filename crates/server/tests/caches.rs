//! The caches in front of the database, seen from outside: lookups that found nothing are
//! cached too, so a creation must drop them, or a name asked for before it existed would stay
//! unknown for the TTL on this replica.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use common::*;
use portcullis_server::app::build;
use serde_json::json;

#[actix_web::test]
async fn a_tenant_and_a_client_asked_for_before_they_existed_work_once_created() {
    let env = env();
    let admin = platform_token(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let ask = || {
        post_form(
            &token_url("newco"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(basic("svc", "not-yet"))
    };

    let (s, _, b) = call!(app, ask());
    assert_eq!(s, 404, "unknown tenant: {b}");
    let req = TestRequest::post()
        .uri("/admin/v1/tenants")
        .insert_header(bearer(&admin))
        .set_json(json!({"slug": "newco", "name": "New Co", "environment": "sandbox"}));
    let (s, _, b) = call!(app, req);
    assert_eq!(s, 201, "{b}");

    // (A failed client authentication also drops the client's entry; the registration drops
    // it as well, for paths that do not count a failure.)
    let (s, _, b) = call!(app, ask());
    assert_eq!(s, 401, "unknown client: {b}");
    let req = TestRequest::post()
        .uri("/admin/v1/tenants/newco/clients")
        .insert_header(bearer(&admin))
        .set_json(json!({"name": "Service", "client_id": "svc",
            "auth_method": "client_secret_basic", "grant_types": ["client_credentials"],
            "scopes": ["read"]}));
    let (s, _, b) = call!(app, req);
    assert_eq!(s, 201, "{b}");
    let secret = b["client_secret"].as_str().unwrap().to_owned();

    // At once, well within the cache's TTL.
    client_token(&app, "newco", "svc", &secret).await;
}
