//! Trusted external issuers through the admin API: registration rules, the one-tenant rule for
//! an issuer and audience pair, listing and deletion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use common::*;
use domain::model::Environment;
use portcullis_server::app::build;
use registry::clients::NewClient;
use serde_json::json;

fn github(client: &str) -> serde_json::Value {
    json!({
        "issuer": "https://token.actions.githubusercontent.com",
        "audiences": ["https://auth.acme.example"],
        "max_lifetime": 600,
        "rules": [{"name": "main deploys",
                   "when": [{"claim": "repository", "value": "acme/records"}, {"claim": "ref", "value": "refs/heads/main"}],
                   "target": {"client": {"client_id": client}}, "single_use": true}]
    })
}

#[actix_web::test]
async fn a_tenant_trusts_an_issuer_whose_audience_no_other_tenant_holds() {
    let env = env();
    let admin = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Production).await;
    let other = env.tenant("other", Environment::Production).await;
    let mut deployer = NewClient::machine("deployer", &["deploy"]);
    deployer.client_id = Some("deployer".into());
    env.client(&acme, deployer.clone()).await;
    env.client(&other, deployer).await;
    let app = test::init_service(build(&env.state)).await;
    let post = |tenant: &str, body: serde_json::Value| {
        TestRequest::post()
            .uri(&format!("/admin/v1/tenants/{tenant}/trusted-issuers"))
            .insert_header(bearer(&admin))
            .set_json(body)
    };

    let (s, _, b) = call!(app, post("acme", github("nobody")));
    assert_eq!(s, 422, "a rule's client must exist: {b}");
    let mut alg_none = github("deployer");
    alg_none["algorithms"] = json!(["none"]);
    let (s, _, b) = call!(app, post("acme", alg_none));
    assert_eq!(
        (s, b["errors"][0]["field"].as_str()),
        (422, Some("algorithms")),
        "{b}"
    );

    let (s, h, created) = call!(app, post("acme", github("deployer")));
    assert_eq!(s, 201, "{created}");
    assert!(h.get("location").is_some());
    assert_eq!(created["audiences"], json!(["https://auth.acme.example"]));
    assert_eq!(created["algorithms"], json!(["RS256", "ES256"]));
    assert_eq!(
        created["rules"][0]["target"]["client"]["client_id"],
        "deployer"
    );

    let (s, _, b) = call!(app, post("other", github("deployer")));
    assert_eq!(s, 409, "the pair belongs to acme: {b}");

    let (s, _, list) = call!(
        app,
        TestRequest::get()
            .uri("/admin/v1/tenants/acme/trusted-issuers")
            .insert_header(bearer(&admin))
    );
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (200, 1),
        "{list}"
    );
    let id = created["id"].as_str().unwrap();
    let (s, _, _) = call!(
        app,
        TestRequest::delete()
            .uri(&format!("/admin/v1/tenants/acme/trusted-issuers/{id}"))
            .insert_header(bearer(&admin))
    );
    assert_eq!(s, 204);
    let (s, _, b) = call!(app, post("other", github("deployer")));
    assert_eq!(s, 201, "free again once acme stops trusting it: {b}");
}
