//! `portcullis migrate-to`: a SQLite database copied into PostgreSQL keeps working — client
//! secrets, access tokens (the signing keys), refresh tokens, device tokens and the trust
//! anchors their certificates chain to — and a non-empty target is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use common::*;
use portcullis_server::app::build;
use serde_json::json;
use store::testing::TestDb;
use store::transfer::{copy, TransferError};

#[actix_web::test]
async fn a_sqlite_database_moved_to_postgres_works_as_before() {
    let env = env_on(TestDb::sqlite());
    let admin = platform_token(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let post = |path: &str, body: serde_json::Value| {
        TestRequest::post()
            .uri(path)
            .insert_header(bearer(&admin))
            .set_json(body)
    };
    let (s, _, t) = call!(
        app,
        post(
            "/admin/v1/tenants",
            json!({"slug": "onerecord", "name": "OneRecord", "environment": "production"})
        )
    );
    assert_eq!(s, 201, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    let root = pki::root("OneRecord Root");
    let inter = pki::intermediate("OneRecord Devices", &root);
    let device_cert = pki::leaf("device-a", &inter);
    let (s, _, b) = call!(
        app,
        post(
            &format!("/admin/v1/tenants/{tid}/trust-anchors"),
            json!({"pem": format!("{}{}", root.pem(), inter.pem())})
        )
    );
    assert_eq!(s, 201, "{b}");
    let (_, _, org) = call!(
        app,
        post(
            &format!("/admin/v1/tenants/{tid}/organizations"),
            json!({"kind": "other", "name": "Lab"})
        )
    );
    let oid = org["id"].as_str().unwrap();
    let (s, _, device) = call!(
        app,
        post(
            &format!("/admin/v1/tenants/{tid}/organizations/{oid}/devices"),
            json!({"name": "a", "certificate": device_cert.pem()})
        )
    );
    assert_eq!(s, 201, "{device}");
    let device_token = device["device_token"].as_str().unwrap().to_owned();
    let (s, _, client) = call!(
        app,
        post(
            &format!("/admin/v1/tenants/{tid}/clients"),
            json!({"name": "Service", "client_id": "svc", "auth_method": "client_secret_basic",
                   "grant_types": ["client_credentials", "refresh_token"], "scopes": ["read"]})
        )
    );
    assert_eq!(s, 201, "{client}");
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let cc = || {
        post_form(
            &token_url("onerecord"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(basic("svc", &secret))
    };
    let (s, _, issued) = call!(app, cc());
    assert_eq!(s, 200, "{issued}");
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();

    let target = TestDb::postgres(
        &TestDb::postgres_admin_url()
            .expect("a PostgreSQL server for the target (cargo xtask test starts one)"),
    );
    let mut seen = Vec::new();
    let copied = copy(&env.db.url, &target.url, |table, rows| {
        seen.push((table.to_owned(), rows))
    })
    .unwrap();
    assert_eq!(copied, seen, "each table is reported as it is copied");
    let rows = |table: &str| copied.iter().find(|(t, _)| t == table).map(|(_, n)| *n);
    assert_eq!(rows("tenants"), Some(2), "{copied:?}");
    assert_eq!(rows("devices"), Some(1));
    assert!(rows("signing_keys").unwrap() >= 4, "{copied:?}");
    assert!(
        copied.iter().position(|(t, _)| t == "tenants")
            < copied.iter().position(|(t, _)| t == "clients"),
        "parents first: {copied:?}"
    );
    match copy(&env.db.url, &target.url, |_, _| {}) {
        Err(TransferError::NotEmpty(_)) => {}
        other => panic!("a second copy into the same database must be refused: {other:?}"),
    }

    // The same secrets and keys, now served from PostgreSQL.
    let moved = state_on(&target);
    let app = test::init_service(build(&moved)).await;
    let (s, _, b) = call!(app, cc());
    assert_eq!(s, 200, "the client secret: {b}");
    let (s, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/t/onerecord/whoami")
            .insert_header(bearer(&access))
    );
    assert_eq!(
        (s, b["sub"].as_str()),
        (200, Some("svc")),
        "a token signed before: {b}"
    );
    let refresh_form = |token: &str| {
        post_form(
            &token_url("onerecord"),
            form(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
        )
        .insert_header(basic("svc", &secret))
    };
    let (s, _, b) = call!(app, refresh_form(&refresh));
    assert_eq!(s, 200, "the refresh token: {b}");
    let (s, _, b) = call!(app, refresh_form(&refresh));
    assert_eq!(s, 400, "and it rotated, as before: {b}");

    // The device token, with its certificate chained to the copied trust anchors, over TLS.
    let server = TlsServer::start(&moved).await;
    let whoami = format!("{}/t/onerecord/whoami", server.url);
    let status = |identity: Option<&pki::Issued>| {
        let client = server.client(identity);
        let (url, token) = (whoami.clone(), device_token.clone());
        async move {
            client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        status(Some(&device_cert)).await,
        200,
        "device token + anchored certificate"
    );
    assert_eq!(
        status(Some(&pki::leaf(
            "device-a",
            &pki::intermediate("Elsewhere", &pki::root("Other"))
        )))
        .await,
        401,
        "a certificate of another CA is still refused"
    );
}
