//! The token service over HTTP: client_credentials with secrets and private_key_jwt, JWT access
//! tokens, JWKS, discovery, introspection, revocation, the bearer guard, and every error code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use common::*;
use domain::model::{AuthMethod, Environment, GrantType, KeyState};
use portcullis_server::app::build;
use registry::clients::NewClient;
use serde_json::{json, Value};

fn decode(jwt: &str) -> (Value, Value) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = jwt.split('.');
    let h = serde_json::from_slice(&b64.decode(parts.next().unwrap()).unwrap()).unwrap();
    let c = serde_json::from_slice(&b64.decode(parts.next().unwrap()).unwrap()).unwrap();
    (h, c)
}

#[actix_web::test]
async fn client_secret_basic_and_post_issue_rfc9068_tokens() {
    let env = env();
    let t = env.tenant("acme", Environment::Sandbox).await;
    let (c, secret) = env
        .client(&t, NewClient::machine("svc", &["read", "write", "openid"]))
        .await;
    let secret = secret.unwrap();
    let app = test::init_service(build(&env.state)).await;

    // Basic, scope=* → all allowed scopes, openid → id_token.
    let (status, headers, body) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials"), ("scope", "*")])
        )
        .insert_header(basic(&c.client_id, &secret))
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "read write openid");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token unless the policy asks"
    );
    let (h, claims) = decode(body["access_token"].as_str().unwrap());
    assert_eq!(h["typ"], "at+jwt");
    assert_eq!(h["alg"], "RS256");
    assert!(h["kid"].is_string());
    for k in [
        "iss",
        "sub",
        "aud",
        "client_id",
        "scope",
        "jti",
        "iat",
        "exp",
        "tenant",
    ] {
        assert!(!claims[k].is_null(), "claim {k} missing: {claims}");
    }
    assert_eq!(claims["iss"], format!("{PUBLIC_URL}/t/acme"));
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["sub"], c.client_id.as_str());
    assert!(
        claims["iat"].is_i64() && claims["exp"].is_i64(),
        "integer NumericDates"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    let (ih, id) = decode(body["id_token"].as_str().unwrap());
    assert_eq!(ih["typ"], "JWT");
    assert_eq!(id["aud"], c.client_id.as_str());
    assert_eq!(id["policies"], json!(["read", "write", "openid"]));

    // The SanteDB request: credentials in the form.
    let (status, _, body) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("client_id", &c.client_id),
                ("client_secret", &secret)
            ])
        )
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read");
    assert!(body.get("id_token").is_none());

    // Absent scope → the client's default scopes.
    let (_, _, body) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(&c.client_id, &secret))
    );
    assert_eq!(body["scope"], "read write openid");
}

#[actix_web::test]
async fn es256_on_request_and_ttl_per_client() {
    let env = env();
    let t = env.tenant("acme", Environment::Sandbox).await;
    let mut new = NewClient::machine("svc", &["read"]);
    new.access_token_alg = domain::model::SigningAlg::Es256;
    new.access_token_ttl = Some(60);
    let (c, secret) = env.client(&t, new).await;
    let app = test::init_service(build(&env.state)).await;
    let (status, _, body) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(&c.client_id, &secret.unwrap()))
    );
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 60);
    let (h, _) = decode(body["access_token"].as_str().unwrap());
    assert_eq!(h["alg"], "ES256");
    // And the JWKS has the key it names.
    let (_, headers, jwks) = call!(app, TestRequest::get().uri("/t/acme/oauth2/jwks"));
    assert!(headers
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("max-age"));
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&h["kid"].as_str().unwrap()));
    for k in jwks["keys"].as_array().unwrap() {
        assert_eq!(k["use"], "sig");
        assert!(k["alg"] == "RS256" || k["alg"] == "ES256");
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private parts: {k}"
        );
    }
}

#[actix_web::test]
async fn every_error_code_of_rfc6749() {
    let env = env();
    let t = env.tenant("acme", Environment::Sandbox).await;
    let (c, secret) = env.client(&t, NewClient::machine("svc", &["read"])).await;
    let secret = secret.unwrap();
    let mut refresh_only = NewClient::machine("refresh-only", &["read"]);
    refresh_only.grant_types = vec![GrantType::RefreshToken];
    let (r, r_secret) = env.client(&t, refresh_only).await;
    let app = test::init_service(build(&env.state)).await;
    let cc = || form(&[("grant_type", "client_credentials")]);

    let check = |status: u16, body: &Value, want_status: u16, code: &str| {
        assert_eq!(status, want_status, "{body}");
        assert_eq!(body["error"], code, "{body}");
        assert!(body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    };

    // invalid_request: missing grant_type, repeated parameter, not a form, huge body.
    let (s, h, b) = call!(
        app,
        post_form(&token_url("acme"), form(&[("scope", "read")]))
            .insert_header(basic(&c.client_id, &secret))
    );
    check(s, &b, 400, "invalid_request");
    assert_eq!(h.get("cache-control").unwrap(), "no-store");
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("acme"),
            "grant_type=client_credentials&scope=a&scope=b".into()
        )
        .insert_header(basic(&c.client_id, &secret))
    );
    check(s, &b, 400, "invalid_request");
    assert!(b["error_description"].as_str().unwrap().contains("scope"));
    let (s, _, b) = call!(
        app,
        TestRequest::post()
            .uri(&token_url("acme"))
            .insert_header(("content-type", "application/json"))
            .set_payload("{}")
    );
    check(s, &b, 400, "invalid_request");
    let huge = format!("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}", "a".repeat(1 << 20));
    let (s, _, b) = call!(app, post_form(&token_url("acme"), huge));
    check(s, &b, 413, "invalid_request");
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_secret", &secret)
            ])
        )
        .insert_header(basic(&c.client_id, &secret))
    );
    check(s, &b, 400, "invalid_request");

    // invalid_client: wrong secret with Basic → 401 + challenge; unknown client; bad base64.
    let (s, h, b) = call!(
        app,
        post_form(&token_url("acme"), cc()).insert_header(basic(&c.client_id, "wrong"))
    );
    check(s, &b, 401, "invalid_client");
    assert!(h
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let (s, _, b) = call!(
        app,
        post_form(&token_url("acme"), cc()).insert_header(basic("nobody", &secret))
    );
    check(s, &b, 401, "invalid_client");
    let (s, _, b) = call!(
        app,
        post_form(&token_url("acme"), cc()).insert_header(("authorization", "Basic %%%not-base64"))
    );
    check(s, &b, 401, "invalid_client");
    let (s, _, b) = call!(app, post_form(&token_url("acme"), cc()));
    check(s, &b, 401, "invalid_client");
    // A client of another tenant does not exist here.
    let other = env.tenant("other", Environment::Sandbox).await;
    let (oc, os) = env
        .client(&other, NewClient::machine("svc", &["read"]))
        .await;
    let (s, _, b) = call!(
        app,
        post_form(&token_url("acme"), cc()).insert_header(basic(&oc.client_id, &os.unwrap()))
    );
    check(s, &b, 401, "invalid_client");

    // unsupported_grant_type.
    let (s, _, b) = call!(
        app,
        post_form(&token_url("acme"), form(&[("grant_type", "implicit")]))
            .insert_header(basic(&c.client_id, &secret))
    );
    check(s, &b, 400, "unsupported_grant_type");

    // unauthorized_client: the client may not use client_credentials.
    let (s, _, b) = call!(
        app,
        post_form(&token_url("acme"), cc())
            .insert_header(basic(&r.client_id, r_secret.as_deref().unwrap()))
    );
    check(s, &b, 400, "unauthorized_client");

    // invalid_scope.
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[
                ("grant_type", "client_credentials"),
                ("scope", "read admin")
            ])
        )
        .insert_header(basic(&c.client_id, &secret))
    );
    check(s, &b, 400, "invalid_scope");
    assert!(b["error_description"].as_str().unwrap().contains("admin"));

    // invalid_grant: a refresh token that was never issued.
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "made-up")
            ])
        )
        .insert_header(basic(&r.client_id, r_secret.as_deref().unwrap()))
    );
    check(s, &b, 400, "invalid_grant");

    // Unknown tenant.
    let (s, _, b) = call!(
        app,
        post_form(&token_url("nope"), cc()).insert_header(basic(&c.client_id, &secret))
    );
    assert_eq!(s, 404, "{b}");
}

#[actix_web::test]
async fn private_key_jwt_with_rsa_and_ec_assertions() {
    let env = env();
    let t = env.tenant("redox", Environment::Sandbox).await;
    let rsa = ClientKey::rsa("RS384", "rsa-1");
    let ec = ClientKey::ec("ec-1");
    let mut new = NewClient::machine("jwt", &["fhir"]);
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks = Some(ClientKey::jwks(&[&rsa, &ec]));
    let (c, secret) = env.client(&t, new).await;
    assert!(secret.is_none());
    let app = test::init_service(build(&env.state)).await;

    for key in [&rsa, &ec] {
        let a = key.assertion(&c.client_id, &endpoint("redox"));
        let (s, _, b) = call!(app, post_form(&token_url("redox"), assertion_form(&a)));
        assert_eq!(s, 200, "{} {b}", key.alg);
        assert_eq!(b["expires_in"], 300);
        // The same assertion again is a replay.
        let (s, _, b) = call!(app, post_form(&token_url("redox"), assertion_form(&a)));
        assert_eq!(s, 401, "{b}");
        assert!(
            b["error_description"].as_str().unwrap().contains("jti"),
            "{b}"
        );
    }
    // aud may also be the issuer.
    let now = domain::now_unix();
    let ok = rsa.sign(json!({}), json!({"iss": c.client_id, "sub": c.client_id, "aud": [format!("{PUBLIC_URL}/t/redox")], "iat": now, "exp": now + 60, "jti": "aud-issuer"}));
    let (s, _, b) = call!(app, post_form(&token_url("redox"), assertion_form(&ok)));
    assert_eq!(s, 200, "{b}");
}

#[actix_web::test]
async fn private_key_jwt_rejects_bad_assertions() {
    let env = env();
    let t = env.tenant("redox", Environment::Sandbox).await;
    let key = ClientKey::rsa("RS256", "k1");
    let stranger = ClientKey::rsa("RS256", "k1");
    let mut new = NewClient::machine("jwt", &["fhir"]);
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks = Some(ClientKey::jwks(&[&key]));
    new.jwks_uri = None;
    let (c, _) = env.client(&t, new).await;
    let app = test::init_service(build(&env.state)).await;
    let id = c.client_id.as_str();
    let aud = endpoint("redox");
    let now = domain::now_unix();
    let claims = |over: Value| {
        let mut base = json!({"iss": id, "sub": id, "aud": aud, "iat": now, "exp": now + 120, "jti": domain::ids::new_id()});
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    };
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let cases: Vec<(&str, String)> = vec![
        ("foreign key", stranger.assertion(id, &aud)),
        (
            "wrong aud",
            key.sign(json!({}), claims(json!({"aud": "https://elsewhere/token"}))),
        ),
        ("no exp", key.sign(json!({}), claims(json!({"exp": null})))),
        (
            "expired",
            key.sign(
                json!({}),
                claims(json!({"iat": now - 600, "exp": now - 300})),
            ),
        ),
        (
            "exp too far",
            key.sign(json!({}), claims(json!({"exp": now + 3600}))),
        ),
        (
            "iat in future",
            key.sign(
                json!({}),
                claims(json!({"iat": now + 600, "exp": now + 700})),
            ),
        ),
        (
            "nbf in future",
            key.sign(json!({}), claims(json!({"nbf": now + 600}))),
        ),
        ("no jti", key.sign(json!({}), claims(json!({"jti": null})))),
        (
            "sub differs",
            key.sign(json!({}), claims(json!({"sub": "someone"}))),
        ),
        (
            "unknown kid",
            key.sign(json!({"kid": "k9"}), claims(json!({}))),
        ),
        (
            "jku not registered",
            key.sign(
                json!({"jku": "https://evil.example/jwks"}),
                claims(json!({})),
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64.encode(r#"{"alg":"none","kid":"k1"}"#),
                b64.encode(claims(json!({})).to_string())
            ),
        ),
        (
            "alg HS256",
            format!(
                "{}.{}.{}",
                b64.encode(r#"{"alg":"HS256","kid":"k1"}"#),
                b64.encode(claims(json!({})).to_string()),
                b64.encode("mac")
            ),
        ),
        (
            "broken JSON",
            format!(
                "{}.{}.{}",
                b64.encode(r#"{"alg":"RS256","kid":"k1"}"#),
                b64.encode("{not json"),
                b64.encode("sig")
            ),
        ),
        ("bad base64", "!!!.???.***".to_owned()),
        ("tampered", {
            let a = key.assertion(id, &aud);
            let mut p: Vec<&str> = a.split('.').collect();
            let forged = b64.encode(claims(json!({"sub": id, "jti": "forged"})).to_string());
            p[1] = &forged;
            p.join(".")
        }),
    ];
    for (what, assertion) in cases {
        let (s, _, b) = call!(
            app,
            post_form(&token_url("redox"), assertion_form(&assertion))
        );
        assert_eq!(
            (s, b["error"].as_str()),
            (401, Some("invalid_client")),
            "{what}: {b}"
        );
    }
    // A secret is no way in for a private_key_jwt client.
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("redox"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(id, "guess"))
    );
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    // Wrong assertion type.
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("redox"),
            form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:x"),
                ("client_assertion", &key.assertion(id, &aud))
            ])
        )
    );
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
}

#[actix_web::test]
async fn a_replayed_jti_is_refused_by_another_replica() {
    let env = env();
    let t = env.tenant("redox", Environment::Sandbox).await;
    let key = ClientKey::ec("k1");
    let mut new = NewClient::machine("jwt", &["fhir"]);
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks = Some(ClientKey::jwks(&[&key]));
    let (c, _) = env.client(&t, new).await;
    let replica_a = test::init_service(build(&env.state)).await;
    let other_state = state_on(&env.db);
    let replica_b = test::init_service(build(&other_state)).await;

    let a = key.assertion(&c.client_id, &endpoint("redox"));
    let (s, _, b) = call!(
        replica_a,
        post_form(&token_url("redox"), assertion_form(&a))
    );
    assert_eq!(s, 200, "{b}");
    let (s, _, b) = call!(
        replica_b,
        post_form(&token_url("redox"), assertion_form(&a))
    );
    assert_eq!(s, 401, "replica B must refuse A's jti: {b}");
    assert!(b["error_description"].as_str().unwrap().contains("jti"));
}

#[actix_web::test]
async fn concurrent_assertions_with_one_jti_have_one_winner() {
    let env = env();
    let t = env.tenant("redox", Environment::Sandbox).await;
    let key = ClientKey::ec("k1");
    let mut new = NewClient::machine("jwt", &["fhir"]);
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks = Some(ClientKey::jwks(&[&key]));
    let (c, _) = env.client(&t, new).await;
    let app = test::init_service(build(&env.state)).await;
    let a = key.assertion(&c.client_id, &endpoint("redox"));
    let reqs = (0..8).map(|_| {
        test::call_service(
            &app,
            post_form(&token_url("redox"), assertion_form(&a)).to_request(),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(reqs)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        7,
        "{statuses:?}"
    );
}

/// Serves a JWK Set over real HTTP on loopback; `set` swaps what it serves.
struct JwksServer {
    url: String,
    current: std::sync::Arc<std::sync::Mutex<String>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl JwksServer {
    async fn start(initial: Value) -> JwksServer {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let current = Arc::new(Mutex::new(initial.to_string()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (c, h) = (current.clone(), hits.clone());
        let server = actix_web::HttpServer::new(move || {
            let (c, h) = (c.clone(), h.clone());
            actix_web::App::new().route(
                "/jwks.json",
                actix_web::web::get().to(move || {
                    let (c, h) = (c.clone(), h.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        let body = c.lock().unwrap().clone();
                        actix_web::HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        let running = server.run();
        let handle = running.handle();
        actix_web::rt::spawn(running);
        JwksServer {
            url: format!("http://127.0.0.1:{port}/jwks.json"),
            current,
            hits,
            handle,
        }
    }

    fn set(&self, jwks: Value) {
        *self.current.lock().unwrap() = jwks.to_string();
    }
}

#[actix_web::test]
async fn jwks_uri_is_fetched_cached_and_refreshed_on_an_unknown_kid() {
    use std::sync::atomic::Ordering;
    let old = ClientKey::rsa("RS384", "old");
    let server = JwksServer::start(ClientKey::jwks(&[&old])).await;
    let env = env();
    let t = env.tenant("redox", Environment::Sandbox).await;
    let mut new = NewClient::machine("jwt", &["fhir"]);
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks_uri = Some(server.url.clone());
    let (c, _) = env.client(&t, new).await;
    let app = test::init_service(build(&env.state)).await;

    // The Redox request: RS384, jku equal to the registered URL.
    let now = domain::now_unix();
    let with_jku = old.sign(json!({"jku": server.url}), json!({"iss": c.client_id, "sub": c.client_id, "aud": endpoint("redox"), "iat": now, "exp": now + 300, "jti": "j1"}));
    let (s, _, b) = call!(
        app,
        post_form(&token_url("redox"), assertion_form(&with_jku))
    );
    assert_eq!(s, 200, "{b}");
    let (s, _, _) = call!(
        app,
        post_form(
            &token_url("redox"),
            assertion_form(&old.assertion(&c.client_id, &endpoint("redox")))
        )
    );
    assert_eq!(s, 200);
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "cached after the first fetch"
    );

    // The client rotates its key right after our fetch: the unknown kid makes us fetch again,
    // at once (a cooldown after each fetch used to refuse it for 10 s).
    let rotated = ClientKey::ec("new");
    server.set(ClientKey::jwks(&[&rotated]));
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("redox"),
            assertion_form(&rotated.assertion(&c.client_id, &endpoint("redox")))
        )
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // A flood of unknown kids does not make us hammer the URL: it spends the URL's budget of
    // refetches per minute (the rotation took one), then the cached set answers.
    for i in 0..100 {
        let stranger = ClientKey::ec(&format!("x{i}-{}", domain::ids::new_id()));
        let (s, _, _) = call!(
            app,
            post_form(
                &token_url("redox"),
                assertion_form(&stranger.assertion(&c.client_id, &endpoint("redox")))
            )
        );
        assert_eq!(s, 401);
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1 + tokens::jwks_fetch::REFRESH_BUDGET as usize,
        "the first fetch, then the budget of refetches"
    );
    // The rotated key still works from the cache.
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url("redox"),
            assertion_form(&rotated.assertion(&c.client_id, &endpoint("redox")))
        )
    );
    assert_eq!(s, 200, "{b}");
    server.handle.stop(false).await;
}

fn introspect_req(slug: &str, id: &str, secret: &str, token: &str) -> TestRequest {
    post_form(
        &format!("/t/{slug}/oauth2/introspect"),
        form(&[("token", token)]),
    )
    .insert_header(basic(id, secret))
}

#[actix_web::test]
async fn introspection_revocation_and_the_bearer_guard() {
    let env = env();
    let t = env.tenant("acme", Environment::Sandbox).await;
    let b_tenant = env.tenant("beta", Environment::Sandbox).await;
    let (c, s) = env.client(&t, NewClient::machine("svc", &["read"])).await;
    let (rs, rs_secret) = env
        .client(&t, NewClient::machine("resource-server", &[]))
        .await;
    let (bc, bs) = env
        .client(&b_tenant, NewClient::machine("svc", &["read"]))
        .await;
    let (s, rs_secret, bs) = (s.unwrap(), rs_secret.unwrap(), bs.unwrap());
    let app = test::init_service(build(&env.state)).await;
    let token = client_token(&app, "acme", &c.client_id, &s).await;

    let (st, h, b) = call!(
        app,
        introspect_req("acme", &rs.client_id, &rs_secret, &token)
    );
    assert_eq!(st, 200);
    assert_eq!(h.get("cache-control").unwrap(), "no-store");
    assert_eq!(b["active"], true);
    assert_eq!(b["client_id"], c.client_id.as_str());
    assert_eq!(b["tenant"], "acme");

    // whoami through the bearer guard.
    let (st, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/t/acme/whoami")
            .insert_header(("authorization", format!("Bearer {token}")))
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["sub"], c.client_id.as_str());
    let (st, h, b) = call!(
        app,
        TestRequest::get()
            .uri("/t/beta/whoami")
            .insert_header(("authorization", format!("Bearer {token}")))
    );
    assert_eq!(st, 401, "a token of acme is no principal of beta: {b}");
    assert!(h
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let (st, h, _) = call!(app, TestRequest::get().uri("/t/acme/whoami"));
    assert_eq!(st, 401);
    assert_eq!(h.get("www-authenticate").unwrap(), "Bearer");

    // Foreign tenant: beta's resource server sees acme's token as inactive.
    let (_, _, b) = call!(app, introspect_req("beta", &bc.client_id, &bs, &token));
    assert_eq!(b, json!({"active": false}));
    // Badly signed and garbage tokens.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    let (_, _, b) = call!(
        app,
        introspect_req("acme", &rs.client_id, &rs_secret, &parts.join("."))
    );
    assert_eq!(b, json!({"active": false}));
    let (_, _, b) = call!(
        app,
        introspect_req("acme", &rs.client_id, &rs_secret, "garbage")
    );
    assert_eq!(b, json!({"active": false}));
    // Introspection needs a client of the tenant.
    let (st, _, _) = call!(
        app,
        post_form("/t/acme/oauth2/introspect", form(&[("token", &token)]))
    );
    assert_eq!(st, 401);

    // Expired: a token whose exp has passed, signed with the tenant's real key.
    let tenant = env
        .state
        .tokens
        .caches
        .tenant("acme")
        .await
        .unwrap()
        .unwrap();
    let now = domain::now_unix();
    let mut expired: domain::claims::AccessClaims =
        serde_json::from_value(decode(&token).1).unwrap();
    expired.iat = now - 600;
    expired.exp = Some(now - 300);
    expired.jti = "expired".into();
    let expired =
        tokens::mint::sign_access(&tenant, tokens::keys::SigningAlg::Rs256, &expired).unwrap();
    let (_, _, b) = call!(
        app,
        introspect_req("acme", &rs.client_id, &rs_secret, &expired)
    );
    assert_eq!(b, json!({"active": false}));
    let (st, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/t/acme/whoami")
            .insert_header(("authorization", format!("Bearer {expired}")))
    );
    assert_eq!(st, 401);
    assert!(b["detail"].as_str().unwrap().contains("expired"), "{b}");

    // Revocation: someone else's token is not revoked; unknown tokens answer 200; our own is.
    let (st, _, _) = call!(
        app,
        post_form("/t/acme/oauth2/revoke", form(&[("token", &token)]))
            .insert_header(basic(&rs.client_id, &rs_secret))
    );
    assert_eq!(st, 200);
    let (_, _, b) = call!(
        app,
        introspect_req("acme", &rs.client_id, &rs_secret, &token)
    );
    assert_eq!(b["active"], true, "only the token's own client revokes it");
    let (st, _, _) = call!(
        app,
        post_form(
            "/t/acme/oauth2/revoke",
            form(&[("token", "unknown.token.here")])
        )
        .insert_header(basic(&c.client_id, &s))
    );
    assert_eq!(st, 200);
    let (st, _, _) = call!(
        app,
        post_form("/t/acme/oauth2/revoke", form(&[("token", &token)]))
            .insert_header(basic(&c.client_id, &s))
    );
    assert_eq!(st, 200);
    let (_, _, b) = call!(
        app,
        introspect_req("acme", &rs.client_id, &rs_secret, &token)
    );
    assert_eq!(b, json!({"active": false}));
    let (st, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/t/acme/whoami")
            .insert_header(("authorization", format!("Bearer {token}")))
    );
    assert_eq!(st, 401);
    assert!(b["detail"].as_str().unwrap().contains("revoked"));
    // …and on another replica, within the revocation sync interval.
    let replica = state_on(&env.db);
    let app_b = test::init_service(build(&replica)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, _, b) = call!(
        app_b,
        introspect_req("acme", &rs.client_id, &rs_secret, &token)
    );
    assert_eq!(b, json!({"active": false}));

    // Disabled client: its tokens stop being active.
    let fresh = client_token(&app, "acme", &c.client_id, &s).await;
    let pk = c.id.clone();
    env.state
        .store
        .run(move |conn| {
            use diesel::prelude::*;
            use store::schema::clients;
            diesel::update(clients::table.find(pk))
                .set(clients::disabled.eq(true))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    env.state
        .tokens
        .caches
        .invalidate(tokens::cache::Changed::Client {
            tenant_id: &t.id,
            client_id: &c.client_id,
        })
        .await;
    let (_, _, b) = call!(
        app,
        introspect_req("acme", &rs.client_id, &rs_secret, &fresh)
    );
    assert_eq!(b, json!({"active": false}));
}

#[actix_web::test]
async fn a_token_of_a_just_retired_key_still_verifies() {
    let env = env();
    let t = env.tenant("acme", Environment::Sandbox).await;
    let (c, s) = env.client(&t, NewClient::machine("svc", &["read"])).await;
    let s = s.unwrap();
    let app = test::init_service(build(&env.state)).await;
    let before = client_token(&app, "acme", &c.client_id, &s).await;
    let old_kid = decode(&before).0["kid"].as_str().unwrap().to_owned();

    // Rotate: a next key, promoted to active; the old one retires.
    let next = tokens::keys::generate(
        &t.id,
        tokens::keys::SigningAlg::Rs256,
        KeyState::Next,
        &env.state.master_key,
    )
    .unwrap();
    let new_kid = next.id.clone();
    let tid = t.id.clone();
    env.state
        .store
        .transaction(move |conn| {
            store::repo::signing_keys::insert(conn, &next)?;
            store::repo::signing_keys::promote(
                conn,
                &tid,
                &next.id,
                domain::model::SigningAlg::Rs256,
                domain::now_unix(),
            )
        })
        .await
        .unwrap();
    env.state
        .tokens
        .caches
        .invalidate(tokens::cache::Changed::Tenant { slug: "acme" })
        .await;

    let after = client_token(&app, "acme", &c.client_id, &s).await;
    assert_eq!(
        decode(&after).0["kid"],
        new_kid.as_str(),
        "new tokens use the new key"
    );
    let (_, _, jwks) = call!(app, TestRequest::get().uri("/t/acme/oauth2/jwks"));
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );
    for token in [&before, &after] {
        let (st, _, b) = call!(
            app,
            TestRequest::get()
                .uri("/t/acme/whoami")
                .insert_header(("authorization", format!("Bearer {token}")))
        );
        assert_eq!(st, 200, "{b}");
    }
}

#[actix_web::test]
async fn discovery_documents_list_every_endpoint() {
    let env = env();
    env.tenant("acme", Environment::Sandbox).await;
    let app = test::init_service(build(&env.state)).await;
    let (s, _, oidc) = call!(
        app,
        TestRequest::get().uri("/t/acme/.well-known/openid-configuration")
    );
    assert_eq!(s, 200);
    let (s, _, rfc8414) = call!(
        app,
        TestRequest::get().uri("/.well-known/oauth-authorization-server/t/acme")
    );
    assert_eq!(s, 200);
    assert_eq!(oidc, rfc8414);
    let iss = format!("{PUBLIC_URL}/t/acme");
    assert_eq!(oidc["issuer"], iss);
    assert_eq!(oidc["token_endpoint"], format!("{iss}/oauth2/token"));
    assert_eq!(oidc["jwks_uri"], format!("{iss}/oauth2/jwks"));
    assert_eq!(
        oidc["introspection_endpoint"],
        format!("{iss}/oauth2/introspect")
    );
    assert_eq!(oidc["revocation_endpoint"], format!("{iss}/oauth2/revoke"));
    assert_eq!(
        oidc["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "tls_client_auth",
            "self_signed_tls_client_auth",
            "none"
        ])
    );
    assert_eq!(
        oidc["grant_types_supported"],
        json!([
            "client_credentials",
            "password",
            "refresh_token",
            "urn:portcullis:params:oauth:grant-type:mfa-otp",
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    let algs = oidc["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(
        algs.contains(&json!("RS384"))
            && !algs
                .iter()
                .any(|a| a == "none" || a.as_str().unwrap().starts_with("HS"))
    );
    let (s, _, _) = call!(
        app,
        TestRequest::get().uri("/t/nope/.well-known/openid-configuration")
    );
    assert_eq!(s, 404);
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let env = env();
    let t = env.tenant("acme", Environment::Sandbox).await;
    let mut new = NewClient::machine("santedb", &["*read", "write"]);
    new.grant_types = vec![GrantType::ClientCredentials, GrantType::RefreshToken];
    let (c, s) = env.client(&t, new).await;
    let s = s.unwrap();
    let app = test::init_service(build(&env.state)).await;
    let (st, _, b) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(&c.client_id, &s))
    );
    assert_eq!(st, 200);
    let first = b["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: &str| {
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "refresh_token"), ("refresh_token", rt)]),
        )
        .insert_header(basic(&c.client_id, &s))
    };
    let (st, _, b) = call!(app, refresh(&first));
    assert_eq!(st, 200, "{b}");
    let second = b["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    // Reusing the first kills the family: the second stops working too.
    let (st, _, b) = call!(app, refresh(&first));
    assert_eq!((st, b["error"].as_str()), (400, Some("invalid_grant")));
    let (st, _, b) = call!(app, refresh(&second));
    assert_eq!(
        (st, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
}
