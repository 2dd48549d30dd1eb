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

/// A test issuer on loopback: its discovery document and JWKS, keys it can rotate, and tokens
/// shaped like a GitHub Actions OIDC token or a Kubernetes service-account token.
struct Issuer {
    url: String,
    jwks: std::sync::Arc<std::sync::Mutex<serde_json::Value>>,
    /// How many times its JWKS was fetched.
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    keys: Vec<(String, josekit::jwk::alg::ec::EcKeyPair)>,
}

impl Issuer {
    async fn start() -> Issuer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let jwks = std::sync::Arc::new(std::sync::Mutex::new(json!({"keys": []})));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (served, base, counter) = (jwks.clone(), url.clone(), fetches.clone());
        let server = actix_web::HttpServer::new(move || {
            let (served, base, counter) = (served.clone(), base.clone(), counter.clone());
            actix_web::App::new()
                .route(
                    "/.well-known/openid-configuration",
                    actix_web::web::get().to(move || {
                        let base = base.clone();
                        async move {
                            actix_web::HttpResponse::Ok()
                                .json(json!({"issuer": base, "jwks_uri": format!("{base}/jwks")}))
                        }
                    }),
                )
                .route(
                    "/jwks",
                    actix_web::web::get().to(move || {
                        let (served, counter) = (served.clone(), counter.clone());
                        async move {
                            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            actix_web::HttpResponse::Ok().json(served.lock().unwrap().clone())
                        }
                    }),
                )
        })
        .listen(listener)
        .unwrap()
        .workers(1)
        .run();
        actix_web::rt::spawn(server);
        let mut issuer = Issuer {
            url,
            jwks,
            fetches,
            keys: Vec::new(),
        };
        issuer.rotate();
        issuer
    }

    /// A new signing key, published beside the old ones.
    fn rotate(&mut self) {
        let pair = josekit::jwk::alg::ec::EcKeyPair::generate(josekit::jwk::alg::ec::EcCurve::P256)
            .unwrap();
        let kid = format!("k{}", self.keys.len() + 1);
        let mut public = pair.to_jwk_public_key();
        public.set_key_id(&kid);
        let value: serde_json::Value = serde_json::from_str(&public.to_string()).unwrap();
        self.jwks.lock().unwrap()["keys"]
            .as_array_mut()
            .unwrap()
            .push(value);
        self.keys.push((kid, pair));
    }

    fn sign(&self, claims: serde_json::Value) -> String {
        self.sign_with(claims, json!({}))
    }

    fn sign_with(&self, claims: serde_json::Value, header_extra: serde_json::Value) -> String {
        use base64::Engine;
        let (kid, pair) = self.keys.last().unwrap();
        let mut header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        for (k, v) in header_extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let signer = josekit::jws::ES256
            .signer_from_jwk(&pair.to_jwk_private_key())
            .unwrap();
        let sig = josekit::jws::JwsSigner::sign(&signer, input.as_bytes()).unwrap();
        format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        )
    }

    fn github(&self, repository: &str) -> serde_json::Value {
        let now = domain::now_unix();
        json!({"iss": self.url, "aud": "https://auth.acme.example", "sub": format!("repo:{repository}:ref:refs/heads/main"),
               "repository": repository, "ref": "refs/heads/main", "jti": domain::ids::new_id(),
               "iat": now, "exp": now + 300})
    }

    fn kubernetes(&self, namespace: &str) -> serde_json::Value {
        let now = domain::now_unix();
        json!({"iss": self.url, "aud": ["https://auth.acme.example"], "sub": format!("system:serviceaccount:{namespace}:exporter"),
               "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": "exporter"}},
               "iat": now, "exp": now + 600})
    }
}

fn bearer_grant(assertion: &str) -> TestRequest {
    post_form(
        "/t/acme/oauth2/token",
        form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ]),
    )
}

#[actix_web::test]
async fn workloads_trade_their_identity_tokens_for_ours_under_the_rules() {
    let env = env();
    let admin = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    for id in ["deployer", "exporter"] {
        let mut c = NewClient::machine(id, &["deploy", "export"]);
        c.client_id = Some(id.into());
        env.client(&acme, c).await;
    }
    let mut issuer = Issuer::start().await;
    let app = test::init_service(build(&env.state)).await;
    let (s, _, b) = call!(
        app,
        TestRequest::post()
            .uri("/admin/v1/tenants/acme/trusted-issuers")
            .insert_header(bearer(&admin))
            .set_json(json!({
                "issuer": issuer.url, "audiences": ["https://auth.acme.example"], "max_lifetime": 900,
                "rules": [
                    {"name": "main deploys", "when": [{"claim": "repository", "value": "acme/*"}, {"claim": "ref", "value": "refs/heads/main"}],
                     "target": {"client": {"client_id": "deployer"}}, "single_use": true},
                    {"name": "reports exporter", "when": [{"claim": "/kubernetes.io/namespace", "value": "reports"}],
                     "target": {"client": {"client_id": "exporter"}}}
                ]}))
    );
    assert_eq!(s, 201, "{b}");

    // A GitHub-shaped token: the first rule, single use.
    let gh = issuer.sign(issuer.github("acme/records"));
    let (s, _, t) = call!(app, bearer_grant(&gh));
    assert_eq!(s, 200, "{t}");
    let claims = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "deployer");
    assert_eq!(claims["client_id"], "deployer");
    assert_eq!(claims["ext_iss"], issuer.url.as_str());
    assert_eq!(claims["ext_sub"], "repo:acme/records:ref:refs/heads/main");
    let (s, _, e) = call!(app, bearer_grant(&gh));
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "a replayed jti: {e}"
    );

    // A Kubernetes-shaped token: the nested claim picks the second rule.
    let k8s = issuer.sign(issuer.kubernetes("reports"));
    let (s, _, t) = call!(app, bearer_grant(&k8s));
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        jwt_claims(t["access_token"].as_str().unwrap())["sub"],
        "exporter"
    );

    // Refused: no rule, wrong audience, expired, too long-lived, alg none, another issuer,
    // a jku pointing elsewhere (never followed), a scope above the client's.
    let now = domain::now_unix();
    let mut wrong_aud = issuer.github("acme/records");
    wrong_aud["aud"] = json!("https://someone.else");
    let mut expired = issuer.github("acme/records");
    expired["exp"] = json!(now - 1);
    let mut long = issuer.kubernetes("reports");
    long["exp"] = json!(now + 3600);
    let mut stranger = issuer.kubernetes("reports");
    stranger["iss"] = json!("http://127.0.0.1:1");
    let unsigned = {
        use base64::Engine;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(issuer.kubernetes("reports"))
        )
    };
    for (what, token) in [
        ("no rule", issuer.sign(issuer.kubernetes("billing"))),
        (
            "another repository",
            issuer.sign(issuer.github("evil/records")),
        ),
        ("wrong audience", issuer.sign(wrong_aud)),
        ("expired", issuer.sign(expired)),
        ("lifetime above the maximum", issuer.sign(long)),
        ("unknown issuer", issuer.sign(stranger)),
        ("alg none", unsigned),
        (
            "jku elsewhere",
            issuer.sign_with(
                issuer.kubernetes("reports"),
                json!({"kid": "evil", "jku": "http://127.0.0.1:1/jwks"}),
            ),
        ),
    ] {
        let (s, _, e) = call!(app, bearer_grant(&token));
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}: {e}"
        );
    }
    let (s, _, e) = call!(
        app,
        post_form(
            "/t/acme/oauth2/token",
            form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &issuer.sign(issuer.kubernetes("reports"))),
                ("scope", "admin")
            ])
        )
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_scope")),
        "{e}"
    );

    // The issuer rotates its key: the new kid is fetched at once.
    issuer.rotate();
    let (s, _, t) = call!(
        app,
        bearer_grant(&issuer.sign(issuer.kubernetes("reports")))
    );
    assert_eq!(s, 200, "a key published after our last fetch works: {t}");

    // A flood of unknown kids costs at most the refetch budget (6 a minute), not a fetch each.
    let before = issuer.fetches.load(std::sync::atomic::Ordering::SeqCst);
    for i in 0..20 {
        let token = issuer.sign_with(
            issuer.kubernetes("reports"),
            json!({"kid": format!("unknown-{i}")}),
        );
        let (s, _, _) = call!(app, bearer_grant(&token));
        assert_eq!(s, 400);
    }
    let extra = issuer.fetches.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(extra >= 1, "an unknown kid is looked for once at least");
    assert!(extra <= 6, "{extra} fetches for 20 unknown kids");
}

#[actix_web::test]
async fn a_persons_external_token_becomes_their_token_until_they_are_disabled() {
    let env = env();
    let admin = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let hash = domain::password::hash_password("a long enough password").unwrap();
    let user = store::repo::users::UserRow::new(
        &acme.id,
        "pat@acme.example".into(),
        hash,
        false,
        vec![],
        1,
    );
    let uid = user.id.clone();
    env.state
        .store
        .run(move |c| store::repo::users::insert(c, &user))
        .await
        .unwrap();
    let issuer = Issuer::start().await;
    let app = test::init_service(build(&env.state)).await;
    let (s, _, b) = call!(
        app,
        TestRequest::post()
            .uri("/admin/v1/tenants/acme/trusted-issuers")
            .insert_header(bearer(&admin))
            .set_json(json!({
                "issuer": issuer.url, "jwks_uri": format!("{}/jwks", issuer.url), "audiences": ["portal-web"],
                "rules": [{"name": "people of the old provider", "when": [{"claim": "email_verified", "value": "true"}],
                           "target": {"user": {"by_claim": "email"}}}]}))
    );
    assert_eq!(s, 201, "{b}");
    let now = domain::now_unix();
    let cognito = issuer.sign(json!({"iss": issuer.url, "client_id": "portal-web", "sub": "c0ffee",
        "email": "Pat@ACME.example", "email_verified": true, "amr": ["pwd", "mfa"], "auth_time": now - 30,
        "iat": now, "exp": now + 300}));
    let (s, _, t) = call!(app, bearer_grant(&cognito));
    assert_eq!(
        s, 200,
        "a token without aud is routed on its client_id: {t}"
    );
    let access = t["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&access);
    assert_eq!(claims["sub"], uid.as_str());
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    assert_eq!(claims["auth_time"], now - 30);
    let me = || {
        TestRequest::get()
            .uri("/account/me")
            .insert_header(bearer(&access))
    };
    let (s, _, b) = call!(app, me());
    assert_eq!(
        (s, b["email"].as_str()),
        (200, Some("pat@acme.example")),
        "{b}"
    );
    env.state
        .store
        .run(move |c| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(format!(
                "UPDATE users SET disabled = TRUE WHERE id = '{uid}'"
            ))
            .execute(c)?)
        })
        .await
        .unwrap();
    env.state
        .tokens
        .caches
        .invalidate(tokens::cache::Changed::Person {
            tenant_id: &acme.id,
            id: claims["sub"].as_str().unwrap(),
        })
        .await;
    let (s, _, _) = call!(app, me());
    assert_eq!(s, 401, "a disabled person's token stops");
    let (s, _, e) = call!(app, bearer_grant(&cognito));
    assert_eq!(s, 400, "and the external token buys nothing any more: {e}");
}
