//! Hostile input at the edge, on the selected database (the suite runs on SQLite and on
//! PostgreSQL, which cannot store NUL): control characters anywhere a client can put them,
//! bodies that are not quite JSON, weak validators, bodies announced too large.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use base64::Engine;
use common::*;
use domain::model::Environment;
use portcullis_server::app::build;
use registry::clients::NewClient;
use serde_json::json;

#[actix_web::test]
async fn control_characters_are_refused_at_the_edge_on_every_path() {
    let env = env();
    let platform = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let (client, secret) = env
        .client(&acme, NewClient::machine("svc", &["read"]))
        .await;
    let secret = secret.unwrap();
    let app = test::init_service(build(&env.state)).await;
    let cc = || form(&[("grant_type", "client_credentials")]);
    let nul_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("a\0b:secret")
    );
    let device = format!(
        "BASIC {}",
        base64::engine::general_purpose::STANDARD.encode("dev\0ice:secret")
    );
    let get = |uri: &str| TestRequest::get().uri(uri).insert_header(bearer(&platform));
    let cases: Vec<(&str, TestRequest)> = vec![
        (
            "tenant in the token URL",
            post_form("/t/%00/oauth2/token", cc()).insert_header(basic(&client.client_id, &secret)),
        ),
        ("tenant in the JWKS URL", get("/t/%00/oauth2/jwks")),
        (
            "tenant in RFC 8414 discovery",
            get("/.well-known/oauth-authorization-server/t/%00"),
        ),
        ("tenant id", get("/admin/v1/tenants/%00")),
        (
            "client id in the path",
            get("/admin/v1/tenants/acme/clients/%00"),
        ),
        (
            "organization id",
            get("/admin/v1/tenants/acme/organizations/%00"),
        ),
        ("user id", get("/admin/v1/tenants/acme/users/ab%00c")),
        (
            "audit filter",
            get("/admin/v1/tenants/acme/audit-events?actor=%00"),
        ),
        (
            "line feed in a query",
            get("/admin/v1/tenants?cursor=a%0Ab"),
        ),
        ("DEL in a path", get("/admin/v1/tenants/a%7Fb")),
        ("account API path id", get("/account/integration/%00")),
        (
            "JSON string",
            TestRequest::post()
                .uri("/admin/v1/tenants")
                .insert_header(bearer(&platform))
                .insert_header(("content-type", "application/json"))
                .set_payload(r#"{"slug":"nul-name","name":"a\u0000b","environment":"sandbox"}"#),
        ),
        (
            "JSON string, escape control character",
            TestRequest::post()
                .uri("/admin/v1/tenants")
                .insert_header(bearer(&platform))
                .insert_header(("content-type", "application/json"))
                .set_payload(r#"{"slug":"bell-name","name":"a\u0007b","environment":"sandbox"}"#),
        ),
        (
            "username",
            post_form(
                &token_url("acme"),
                form(&[
                    ("grant_type", "password"),
                    ("client_id", "portal"),
                    ("username", "a\0@x.y"),
                    ("password", "correct horse battery staple"),
                ]),
            ),
        ),
        (
            "client_id in the form",
            post_form(
                &token_url("acme"),
                form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "abc\0"),
                    ("client_secret", "x"),
                ]),
            ),
        ),
        (
            "parameter name",
            post_form(
                &token_url("acme"),
                "grant_type=client_credentials&a%00=1".into(),
            )
            .insert_header(basic(&client.client_id, &secret)),
        ),
        (
            "HTTP Basic user",
            post_form(&token_url("acme"), cc()).insert_header(("authorization", nul_basic)),
        ),
        (
            "device credentials",
            post_form(&token_url("acme"), cc())
                .insert_header(basic(&client.client_id, &secret))
                .insert_header(("x-device-authorization", device)),
        ),
        (
            "introspected token",
            post_form("/t/acme/oauth2/introspect", form(&[("token", "a\0b")]))
                .insert_header(basic(&client.client_id, &secret)),
        ),
    ];
    for (what, req) in cases {
        let (status, headers, body) = send(&app, req).await;
        assert_eq!(status, 400, "{what}: {body}");
        let described = body["error_description"].is_string() || body["detail"].is_string();
        assert!(described, "{what}: a readable error, got {body}");
        assert!(
            headers.contains_key("content-type"),
            "{what}: a typed body, got {headers:?}"
        );
    }
    // Nothing of it reached the database.
    let (s, _, b) = send(&app, get("/admin/v1/tenants?limit=200")).await;
    assert_eq!(s, 200);
    assert_eq!(b["items"].as_array().unwrap().len(), 2, "{b}");
}

#[actix_web::test]
async fn json_followed_by_anything_is_not_json() {
    let env = env();
    let platform = platform_token(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let post = |body: &'static str| {
        TestRequest::post()
            .uri("/admin/v1/tenants")
            .insert_header(bearer(&platform))
            .insert_header(("content-type", "application/json"))
            .set_payload(body)
    };
    let (s, _, b) = send(
        &app,
        post(r#"{"slug":"trail","name":"T","environment":"sandbox"}garbage"#),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, _, b) = send(
        &app,
        post(r#"{"slug":"trail","name":"T","environment":"sandbox"}{"slug":"x"}"#),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    // Whitespace after the value is still JSON; an escaped backslash before `u0000` is text.
    let (s, _, b) = send(
        &app,
        post("{\"slug\":\"trail\",\"name\":\"back\\\\u0000slash\",\"environment\":\"sandbox\"}\n "),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["name"], "back\\u0000slash");
}

#[actix_web::test]
async fn if_match_compares_strongly() {
    let env = env();
    let platform = platform_token(&env).await;
    env.tenant("acme", Environment::Sandbox).await;
    let app = test::init_service(build(&env.state)).await;
    let (s, h, _) = send(
        &app,
        TestRequest::get()
            .uri("/admin/v1/tenants/acme")
            .insert_header(bearer(&platform)),
    )
    .await;
    assert_eq!(s, 200);
    let etag = h.get("etag").unwrap().to_str().unwrap().to_owned();
    let patch = |tag: String| {
        TestRequest::patch()
            .uri("/admin/v1/tenants/acme")
            .insert_header(bearer(&platform))
            .insert_header(("if-match", tag))
            .set_json(json!({"name": "Acme 2"}))
    };
    let (s, _, b) = send(&app, patch(format!("W/{etag}"))).await;
    assert_eq!(s, 412, "a weak tag never matches: {b}");
    let (s, _, b) = send(&app, patch(etag.trim_matches('"').to_owned())).await;
    assert_eq!(s, 412, "an unquoted tag is not an entity tag: {b}");
    let (s, _, b) = send(&app, patch(etag)).await;
    assert_eq!(s, 200, "{b}");
}

#[actix_web::test]
async fn a_body_announced_over_the_limit_is_refused_before_it_is_read() {
    let env = env();
    env.tenant("acme", Environment::Sandbox).await;
    let app = test::init_service(build(&env.state)).await;
    // The announced length is all that is needed: no body follows it here.
    let (s, _, b) = send(
        &app,
        post_form(&token_url("acme"), String::new())
            .insert_header(("content-length", "1000000000000")),
    )
    .await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["error"], "invalid_request", "{b}");
    let (s, h, b) = send(
        &app,
        TestRequest::post()
            .uri("/admin/v1/tenants")
            .insert_header(("content-type", "application/json"))
            .insert_header(("content-length", "1000000000000")),
    )
    .await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(
        h.get("content-type").unwrap(),
        "application/problem+json",
        "{b}"
    );
}

#[actix_web::test]
async fn a_locked_client_answers_like_an_unknown_one() {
    let env = env();
    let platform = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let (client, secret) = env
        .client(&acme, NewClient::machine("svc", &["read"]))
        .await;
    let secret = secret.unwrap();
    let app = test::init_service(build(&env.state)).await;
    let attempt = |id: &str, secret: &str| {
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(basic(id, secret))
    };
    let (_, _, unknown_before) = send(&app, attempt("no-such-client", "wrong")).await;
    for _ in 0..10 {
        let (s, _, b) = send(&app, attempt(&client.client_id, "wrong")).await;
        assert_eq!(s, 401, "{b}");
    }
    let (s, _, locked_right) = send(&app, attempt(&client.client_id, &secret)).await;
    let (_, _, locked_wrong) = send(&app, attempt(&client.client_id, "wrong")).await;
    let (_, _, unknown) = send(&app, attempt("no-such-client", "wrong")).await;
    assert_eq!(s, 401, "locked, even with the right secret: {locked_right}");
    assert_eq!(
        locked_right, unknown,
        "a lock must not tell that the id exists"
    );
    assert_eq!(locked_wrong, unknown);
    assert_eq!(unknown, unknown_before);
    // Its owner sees the lock.
    let (s, _, b) = send(
        &app,
        TestRequest::get()
            .uri(&format!(
                "/admin/v1/tenants/acme/clients/{}",
                client.client_id
            ))
            .insert_header(bearer(&platform)),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["locked_until"].as_i64().unwrap() > domain::now_unix(),
        "{b}"
    );
}

#[actix_web::test]
async fn registration_refuses_unusable_keys_and_private_key_urls() {
    let env = env();
    let platform = platform_token(&env).await;
    env.tenant("sand", Environment::Sandbox).await;
    env.tenant("prod", Environment::Production).await;
    let app = test::init_service(build(&env.state)).await;
    let create = |tenant: &str, body: serde_json::Value| {
        TestRequest::post()
            .uri(&format!("/admin/v1/tenants/{tenant}/clients"))
            .insert_header(bearer(&platform))
            .set_json(body)
    };
    let pkjwt = |extra: serde_json::Value| {
        let mut body = json!({"name": "k", "auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"], "scopes": ["read"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let refused = [
        (
            "sand",
            json!({"jwks": {"keys": [{"kty": "RSA", "kid": "k1", "n": "!!", "e": "AQAB"}]}}),
        ),
        (
            "sand",
            json!({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]}}),
        ),
        ("sand", json!({"jwks": {"keys": [{"kty": "XYZ"}]}})),
        ("prod", json!({"jwks_uri": "https://127.0.0.1/jwks"})),
        (
            "prod",
            json!({"jwks_uri": "https://169.254.169.254/latest/meta-data/jwks"}),
        ),
        ("prod", json!({"jwks_uri": "https://[::1]/jwks"})),
        ("prod", json!({"jwks_uri": "https://localhost/jwks"})),
        ("prod", json!({"jwks_uri": "http://keys.example.com/jwks"})),
    ];
    for (tenant, extra) in refused {
        let (s, _, b) = send(&app, create(tenant, pkjwt(extra.clone()))).await;
        assert_eq!(s, 422, "{tenant} {extra}: {b}");
        let field = b["errors"][0]["field"].as_str().unwrap();
        assert!(field == "jwks" || field == "jwks_uri", "{b}");
    }
    let good = ClientKey::ec("good");
    for (tenant, extra) in [
        ("sand", json!({"jwks": ClientKey::jwks(&[&good])})),
        ("sand", json!({"jwks_uri": "http://127.0.0.1:9/jwks"})),
        ("prod", json!({"jwks_uri": "https://keys.example.com/jwks"})),
    ] {
        let (s, _, b) = send(&app, create(tenant, pkjwt(extra.clone()))).await;
        assert_eq!(s, 201, "{tenant} {extra}: {b}");
    }
    // platform_admin is for the system tenant only, for clients as for users.
    let admin_client = json!({"name": "ops", "auth_method": "client_secret_basic",
        "grant_types": ["client_credentials"], "scopes": [], "tenant_roles": ["platform_admin"]});
    let (s, _, b) = send(&app, create("sand", admin_client.clone())).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"][0]["field"], "tenant_roles", "{b}");
    let (s, _, b) = send(&app, create("system", admin_client)).await;
    assert_eq!(s, 201, "{b}");
    let (s, _, b) = send(
        &app,
        create(
            "sand",
            json!({"name": "ops", "auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"], "scopes": []}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id = b["client_id"].as_str().unwrap();
    let (s, h, _) = send(
        &app,
        TestRequest::get()
            .uri(&format!("/admin/v1/tenants/sand/clients/{id}"))
            .insert_header(bearer(&platform)),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, b) = send(
        &app,
        TestRequest::patch()
            .uri(&format!("/admin/v1/tenants/sand/clients/{id}"))
            .insert_header(bearer(&platform))
            .insert_header(("if-match", h.get("etag").unwrap().clone()))
            .set_json(json!({"tenant_roles": ["platform_admin"]})),
    )
    .await;
    assert_eq!(s, 422, "{b}");
}

#[actix_web::test]
async fn an_email_has_one_form() {
    let env = env();
    let platform = platform_token(&env).await;
    env.tenant("acme", Environment::Sandbox).await;
    let app = test::init_service(build(&env.state)).await;
    let create = |email: &str| {
        TestRequest::post()
            .uri("/admin/v1/tenants/acme/users")
            .insert_header(bearer(&platform))
            .set_json(
                json!({"email": email, "password": "correct horse battery staple",
                "mfa_enabled": false}),
            )
    };
    let (s, _, b) = send(&app, create("Bob@Acmé.example")).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["email"], "bob@xn--acm-dma.example");
    let (s, _, b) = send(&app, create("bob@xn--acm-dma.example")).await;
    assert_eq!(s, 409, "the same mailbox: {b}");
    // Signing in with either spelling is the same person.
    for spelling in ["bob@acmé.example", "BOB@XN--ACM-DMA.EXAMPLE"] {
        let (s, _, b) = send(
            &app,
            post_form(
                &token_url("acme"),
                form(&[
                    ("grant_type", "password"),
                    ("client_id", "portal"),
                    ("username", spelling),
                    ("password", "correct horse battery staple"),
                ]),
            ),
        )
        .await;
        assert_eq!(s, 200, "{spelling}: {b}");
    }
}

#[actix_web::test]
async fn concurrent_requests_share_one_fetch_of_a_jwks_uri() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let env = env();
    let acme = env.tenant("acme", Environment::Sandbox).await;
    // A key server that accepts and never answers: every fetch waits for its timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    {
        let accepted = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming().flatten() {
                accepted.fetch_add(1, Ordering::SeqCst);
                held.push(conn);
            }
        });
    }
    let mut new = NewClient::machine("slow-keys", &["read"]);
    new.auth_method = domain::model::AuthMethod::PrivateKeyJwt;
    new.jwks_uri = Some(format!("http://127.0.0.1:{port}/jwks"));
    let (client, _) = env.client(&acme, new).await;
    let key = ClientKey::ec("k1");
    let app = test::init_service(build(&env.state)).await;
    let calls = (0..20).map(|_| {
        let assertion = key.assertion(&client.client_id, &endpoint("acme"));
        send(
            &app,
            post_form(&token_url("acme"), assertion_form(&assertion)),
        )
    });
    let answers = futures_util::future::join_all(calls).await;
    for (s, _, b) in &answers {
        assert_eq!(*s, 401, "{b}");
        assert_eq!(b["error"], "invalid_client", "{b}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "20 requests at once, one outbound connection"
    );
}

/// A person stored before emails were normalized (a Unicode domain, as typed) still signs in.
#[actix_web::test]
async fn a_person_stored_before_normalization_still_signs_in() {
    let env = env();
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let hash = domain::password::hash_password("correct horse battery staple").unwrap();
    let legacy = store::repo::users::UserRow::new(
        &acme.id,
        "zoë@acmé.example".into(),
        hash,
        false,
        Vec::new(),
        domain::now_unix(),
    );
    env.state
        .store
        .run(move |c| store::repo::users::insert(c, &legacy))
        .await
        .unwrap();
    let app = test::init_service(build(&env.state)).await;
    let (s, _, b) = send(
        &app,
        post_form(
            &token_url("acme"),
            form(&[
                ("grant_type", "password"),
                ("client_id", "portal"),
                ("username", "Zoë@Acmé.example"),
                ("password", "correct horse battery staple"),
            ]),
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}
