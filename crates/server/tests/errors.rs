//! The error bodies of every family, as clients see them: RFC 6749 errors of the OAuth
//! endpoints, RFC 9457 problems of the admin and account APIs and of the edge. Snapshots
//! (`insta`), so a change of wording or shape is a reviewed diff, not an accident.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use common::*;
use domain::model::Environment;
use portcullis_server::app::build;
use registry::clients::NewClient;
use serde_json::{json, Value};

/// Status, the headers a client acts on, and the body (the request id masked).
async fn answer<S, B>(app: &S, req: TestRequest) -> Value
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (status, headers, mut body) = send(app, req).await;
    if body.get("request_id").is_some() {
        body["request_id"] = json!("[request id]");
    }
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    json!({
        "status": status,
        "content-type": header("content-type"),
        "cache-control": header("cache-control"),
        "www-authenticate": header("www-authenticate"),
        "body": body,
    })
}

#[actix_web::test]
async fn oauth_errors() {
    let env = env();
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let (client, secret) = env
        .client(&acme, NewClient::machine("svc", &["read"]))
        .await;
    let secret = secret.unwrap();
    let app = test::init_service(build(&env.state)).await;
    let cc = || form(&[("grant_type", "client_credentials")]);
    let cases = [
        (
            "invalid_client",
            post_form(&token_url("acme"), cc()).insert_header(basic(&client.client_id, "wrong")),
        ),
        (
            "missing_grant_type",
            post_form(&token_url("acme"), String::new())
                .insert_header(basic(&client.client_id, &secret)),
        ),
        (
            "unsupported_grant_type",
            post_form(&token_url("acme"), form(&[("grant_type", "implicit")]))
                .insert_header(basic(&client.client_id, &secret)),
        ),
        (
            "invalid_scope",
            post_form(
                &token_url("acme"),
                form(&[("grant_type", "client_credentials"), ("scope", "write")]),
            )
            .insert_header(basic(&client.client_id, &secret)),
        ),
        (
            "unknown_tenant",
            post_form(&token_url("nope"), cc()).insert_header(basic(&client.client_id, &secret)),
        ),
        (
            "body_too_large",
            post_form(&token_url("acme"), String::new())
                .insert_header(("content-length", "1000000")),
        ),
        (
            "control_character",
            post_form(
                &token_url("acme"),
                "grant_type=client_credentials&scope=a%00".into(),
            )
            .insert_header(basic(&client.client_id, &secret)),
        ),
    ];
    for (name, req) in cases {
        insta::assert_json_snapshot!(format!("oauth_{name}"), answer(&app, req).await);
    }
}

#[actix_web::test]
async fn api_problems() {
    let env = env();
    let platform = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let (client, secret) = env
        .client(&acme, NewClient::machine("svc", &["read"]))
        .await;
    let app = test::init_service(build(&env.state)).await;
    let plain = client_token(&app, "acme", &client.client_id, &secret.unwrap()).await;
    let admin = |req: TestRequest| req.insert_header(bearer(&platform));
    let cases = [
        ("unauthorized", TestRequest::get().uri("/admin/v1/tenants")),
        (
            "invalid_token",
            TestRequest::get()
                .uri("/admin/v1/tenants")
                .insert_header(bearer("not.a.token")),
        ),
        (
            "forbidden",
            TestRequest::get()
                .uri("/admin/v1/tenants/acme/clients")
                .insert_header(bearer(&plain)),
        ),
        (
            "not_found",
            admin(TestRequest::get().uri("/admin/v1/tenants/nope")),
        ),
        (
            "validation",
            admin(TestRequest::post().uri("/admin/v1/tenants"))
                .set_json(json!({"slug": "X", "name": "", "environment": "sandbox"})),
        ),
        (
            "not_json",
            admin(TestRequest::post().uri("/admin/v1/tenants"))
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"slug\":\"a\"}garbage"),
        ),
        (
            "unsupported_media_type",
            admin(TestRequest::post().uri("/admin/v1/tenants"))
                .insert_header(("content-type", "text/plain"))
                .set_payload("slug=a"),
        ),
        (
            "precondition_required",
            admin(TestRequest::patch().uri("/admin/v1/tenants/acme"))
                .set_json(json!({"name": "A"})),
        ),
        (
            "precondition_failed",
            admin(TestRequest::patch().uri("/admin/v1/tenants/acme"))
                .insert_header(("if-match", "W/\"1\""))
                .set_json(json!({"name": "A"})),
        ),
        (
            "account_api_for_a_client",
            TestRequest::get()
                .uri("/account/me")
                .insert_header(bearer(&plain)),
        ),
        (
            "control_character",
            admin(TestRequest::get().uri("/admin/v1/tenants/%00")),
        ),
        ("no_route", TestRequest::get().uri("/nowhere")),
    ];
    for (name, req) in cases {
        insta::assert_json_snapshot!(format!("api_{name}"), answer(&app, req).await);
    }
}
