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

    /// Tokens every grant must refuse, each named: no rule, wrong audience, expired, a lifetime
    /// above the maximum (900 s), another issuer, `alg: none`, an unknown `kid`, and `jku` or
    /// `x5u` pointing elsewhere (never followed: the issuer's own keys decide).
    fn refused(&self) -> Vec<(&'static str, String)> {
        use base64::Engine;
        let now = domain::now_unix();
        let with = |field: &str, value: serde_json::Value| {
            let mut claims = self.kubernetes("reports");
            claims[field] = value;
            self.sign(claims)
        };
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        vec![
            ("no rule", self.sign(self.kubernetes("billing"))),
            (
                "wrong audience",
                with("aud", json!(["https://someone.else"])),
            ),
            ("expired", with("exp", json!(now - 1))),
            ("lifetime above the maximum", with("exp", json!(now + 3600))),
            ("unknown issuer", with("iss", json!("http://127.0.0.1:1"))),
            (
                "alg none",
                format!(
                    "{}.{}.",
                    b64(json!({"alg": "none", "typ": "JWT"})),
                    b64(self.kubernetes("reports"))
                ),
            ),
            (
                "unknown kid",
                self.sign_with(self.kubernetes("reports"), json!({"kid": "nope"})),
            ),
            (
                "jku elsewhere",
                self.sign_with(
                    self.kubernetes("reports"),
                    json!({"kid": "evil", "jku": "http://127.0.0.1:1/jwks"}),
                ),
            ),
            (
                "x5u elsewhere",
                self.sign_with(
                    self.kubernetes("reports"),
                    json!({"kid": "evil", "x5u": "http://127.0.0.1:1/cert"}),
                ),
            ),
        ]
    }

    fn kubernetes(&self, namespace: &str) -> serde_json::Value {
        let now = domain::now_unix();
        json!({"iss": self.url, "aud": ["https://auth.acme.example"], "sub": format!("system:serviceaccount:{namespace}:exporter"),
               "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": "exporter"}},
               "iat": now, "exp": now + 600})
    }
}

/// Registers a trusted issuer of `acme` through the admin API; its view.
async fn trust<S, B>(app: &S, admin: &str, body: serde_json::Value) -> serde_json::Value
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (s, _, b) = call!(
        app,
        TestRequest::post()
            .uri("/admin/v1/tenants/acme/trusted-issuers")
            .insert_header(bearer(admin))
            .set_json(body)
    );
    assert_eq!(s, 201, "{b}");
    b
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
    let b = trust(&app, &admin, json!({
                "issuer": issuer.url, "audiences": ["https://auth.acme.example"], "max_lifetime": 900,
                "rules": [
                    {"name": "main deploys", "when": [{"claim": "repository", "value": "acme/*"}, {"claim": "ref", "value": "refs/heads/main"}],
                     "target": {"client": {"client_id": "deployer"}}, "single_use": true},
                    {"name": "reports exporter", "when": [{"claim": "/kubernetes.io/namespace", "value": "reports"}],
                     "target": {"client": {"client_id": "exporter"}}}
                ]})).await;

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

    // Refused: every token of `Issuer::refused`, and a repository no rule names.
    let mut refused = issuer.refused();
    refused.push((
        "another repository",
        issuer.sign(issuer.github("evil/records")),
    ));
    for (what, token) in refused {
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

    // The admin replaces the definition without the exporter's rule: refused from the next
    // request on, though the routing entry was cached a moment ago.
    let (s, h, current) = call!(
        app,
        TestRequest::get()
            .uri(&format!(
                "/admin/v1/tenants/acme/trusted-issuers/{}",
                b["id"].as_str().unwrap()
            ))
            .insert_header(bearer(&admin))
    );
    assert_eq!(s, 200, "{current}");
    let etag = h.get("etag").unwrap().to_str().unwrap().to_owned();
    let mut definition = json!({
        "issuer": current["issuer"], "audiences": current["audiences"],
        "max_lifetime": current["max_lifetime"], "rules": [current["rules"][0]]
    });
    let put = |body: &serde_json::Value, tag: Option<&str>| {
        let mut req = TestRequest::put()
            .uri(&format!(
                "/admin/v1/tenants/acme/trusted-issuers/{}",
                b["id"].as_str().unwrap()
            ))
            .insert_header(bearer(&admin))
            .set_json(body);
        if let Some(tag) = tag {
            req = req.insert_header(("if-match", tag));
        }
        req
    };
    let (s, _, _) = call!(app, put(&definition, None));
    assert_eq!(s, 428, "no blind replacement");
    let (s, h, replaced) = call!(app, put(&definition, Some(&etag)));
    assert_eq!(s, 200, "{replaced}");
    assert_ne!(h.get("etag").unwrap().to_str().unwrap(), etag);
    let (s, _, _) = call!(app, put(&definition, Some(&etag)));
    assert_eq!(s, 412, "a replacement of a stale read");
    let (s, _, e) = call!(
        app,
        bearer_grant(&issuer.sign(issuer.kubernetes("reports")))
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    definition["rules"][0]["target"] = json!({"client": {"client_id": "nobody"}});
    let tag = format!("\"{}\"", 2);
    let (s, _, e) = call!(app, put(&definition, Some(&tag)));
    assert_eq!(s, 422, "a rule's client must exist: {e}");
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
    trust(&app, &admin, json!({
                "issuer": issuer.url, "jwks_uri": format!("{}/jwks", issuer.url), "audiences": ["portal-web"],
                "rules": [{"name": "people of the old provider", "when": [{"claim": "email_verified", "value": "true"}],
                           "target": {"user": {"by_claim": "email"}}}]})).await;
    let now = domain::now_unix();
    let cognito = issuer.sign(json!({"iss": issuer.url, "client_id": "portal-web", "sub": "c0ffee",
        "email": "Pat@ACME.example", "email_verified": true, "amr": ["pwd", "mfa"], "auth_time": now - 30,
        "iat": now, "exp": now + 300}));
    // Presented as it is: the person's token at the account API, /whoami and introspection.
    let (s, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/account/me")
            .insert_header(bearer(&cognito))
    );
    assert_eq!(
        (s, b["email"].as_str(), &b["amr"]),
        (200, Some("pat@acme.example"), &json!(["pwd", "mfa"])),
        "{b}"
    );
    let (s, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/t/acme/whoami")
            .insert_header(bearer(&cognito))
    );
    assert_eq!((s, b["sub"].as_str()), (200, Some(uid.as_str())), "{b}");
    assert_eq!(
        (b["ext_sub"].as_str(), b["auth_time"].as_i64()),
        (Some("c0ffee"), Some(now - 30))
    );
    let mut rs = NewClient::machine("records-api", &["introspect"]);
    rs.client_id = Some("records-api".into());
    let (_, rs_secret) = env.client(&acme, rs).await;
    let introspect = |token: &str| {
        post_form("/t/acme/oauth2/introspect", form(&[("token", token)]))
            .insert_header(basic("records-api", rs_secret.as_deref().unwrap()))
    };
    let (s, _, i) = call!(app, introspect(&cognito));
    assert_eq!(
        (s, &i["active"], i["sub"].as_str()),
        (200, &json!(true), Some(uid.as_str())),
        "{i}"
    );
    let (s, _, _) = call!(
        app,
        TestRequest::get()
            .uri("/t/other/whoami")
            .insert_header(bearer(&cognito))
    );
    assert_eq!(s, 401, "a tenant's person is no one elsewhere");

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
    let (s, _, _) = call!(
        app,
        TestRequest::get()
            .uri("/account/me")
            .insert_header(bearer(&cognito))
    );
    assert_eq!(s, 401, "and so does their external token");
    let (s, _, i) = call!(app, introspect(&cognito));
    assert_eq!((s, &i["active"]), (200, &json!(false)), "{i}");
    let (s, _, e) = call!(app, bearer_grant(&cognito));
    assert_eq!(s, 400, "and the external token buys nothing any more: {e}");
}

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

fn exchange(pairs: &[(&str, &str)]) -> TestRequest {
    let mut all = vec![("grant_type", EXCHANGE)];
    all.extend_from_slice(pairs);
    post_form("/t/acme/oauth2/token", form(&all))
}

#[actix_web::test]
async fn services_exchange_tokens_for_narrower_ones_that_name_the_actor() {
    let env = env();
    let admin = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let mut secrets = std::collections::HashMap::new();
    for (id, scopes, exchanges) in [
        ("deployer", &["deploy", "export"][..], false),
        ("reports", &["export", "report"][..], true),
        ("auditor", &["export"][..], true),
        ("plain", &["export"][..], false),
        ("records-api", &["introspect"][..], false),
    ] {
        let mut c = NewClient::machine(id, scopes);
        c.client_id = Some(id.into());
        if exchanges {
            c.grant_types.push(domain::model::GrantType::TokenExchange);
        }
        let (_, secret) = env.client(&acme, c).await;
        secrets.insert(id, secret.unwrap());
    }
    let issuer = Issuer::start().await;
    let app = test::init_service(build(&env.state)).await;
    trust(&app, &admin, json!({
                "issuer": issuer.url, "audiences": ["https://auth.acme.example"], "max_lifetime": 900,
                "rules": [
                    {"name": "main deploys", "when": [{"claim": "repository", "value": "acme/*"}],
                     "target": {"client": {"client_id": "deployer"}}, "single_use": true},
                    {"name": "reports workload", "when": [{"claim": "/kubernetes.io/namespace", "value": "reports"}],
                     "target": {"client": {"client_id": "reports"}}}
                ]})).await;
    let token_of = |id: &'static str| {
        let secret = secrets[id].clone();
        let app = &app;
        async move { client_token(app, "acme", id, &secret).await }
    };
    let deployer = token_of("deployer").await;
    let reports = token_of("reports").await;

    // Without actor_token: the subject's token, narrowed to what both may have, held by reports.
    let (s, _, t) = call!(
        app,
        exchange(&[("subject_token", &deployer), ("subject_token_type", ACCESS)])
            .insert_header(basic("reports", &secrets["reports"]))
    );
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["issued_token_type"], ACCESS);
    assert_eq!(
        t["scope"], "export",
        "deploy is not reports', report not the subject's"
    );
    let plain = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(
        (plain["sub"].as_str(), plain["client_id"].as_str()),
        (Some("deployer"), Some("reports"))
    );
    assert!(plain.get("act").is_none(), "{plain}");
    let subject_exp = jwt_claims(&deployer)["exp"].as_i64().unwrap();
    assert!(
        plain["exp"].as_i64().unwrap() <= subject_exp,
        "never outlives the subject"
    );

    // With actor_token, for a resource server: `act` names reports, `aud` the resource server.
    let (s, _, t) = call!(
        app,
        exchange(&[
            ("subject_token", &deployer),
            ("subject_token_type", ACCESS),
            ("actor_token", &reports),
            ("actor_token_type", ACCESS),
            ("audience", "records-api"),
            ("scope", "export"),
        ])
        .insert_header(basic("reports", &secrets["reports"]))
    );
    assert_eq!(s, 200, "{t}");
    let delegated = t["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&delegated);
    assert_eq!(claims["act"], json!({"sub": "reports"}));
    assert_eq!(claims["aud"], "records-api");
    let (s, _, _) = call!(
        app,
        TestRequest::get()
            .uri("/t/acme/whoami")
            .insert_header(bearer(&delegated))
    );
    assert_eq!(
        s, 401,
        "a token for records-api is not one for Portcullis' own APIs"
    );
    let (s, _, i) = call!(
        app,
        post_form("/t/acme/oauth2/introspect", form(&[("token", &delegated)]))
            .insert_header(basic("records-api", &secrets["records-api"]))
    );
    assert_eq!((s, &i["active"]), (200, &json!(true)), "{i}");
    assert_eq!(i["act"]["sub"], "reports");

    // Exchanged again by the auditor, with its own actor token: the chain grows outward.
    let auditor = token_of("auditor").await;
    let (s, _, t) = call!(
        app,
        exchange(&[
            ("subject_token", &delegated),
            ("subject_token_type", ACCESS),
            ("actor_token", &auditor),
            ("actor_token_type", ACCESS),
        ])
        .insert_header(basic("auditor", &secrets["auditor"]))
    );
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        jwt_claims(t["access_token"].as_str().unwrap())["act"],
        json!({"sub": "auditor", "act": {"sub": "reports"}})
    );

    // A workload's own identity token as the subject (its rule's client), with and without
    // an actor token, and no client secret at all.
    let k8s = issuer.sign(issuer.kubernetes("reports"));
    let (s, _, t) = call!(
        app,
        exchange(&[
            ("subject_token", &k8s),
            ("subject_token_type", JWT),
            ("scope", "report")
        ])
    );
    assert_eq!(s, 200, "{t}");
    let claims = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(
        (claims["sub"].as_str(), claims["scope"].as_str()),
        (Some("reports"), Some("report"))
    );
    assert_eq!(claims["ext_sub"], "system:serviceaccount:reports:exporter");
    let (s, _, t) = call!(
        app,
        exchange(&[
            ("subject_token", &k8s),
            ("subject_token_type", JWT),
            ("actor_token", &issuer.sign(issuer.kubernetes("reports"))),
            ("actor_token_type", JWT),
        ])
    );
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        jwt_claims(t["access_token"].as_str().unwrap())["act"],
        json!({"sub": "system:serviceaccount:reports:exporter", "iss": issuer.url})
    );

    // Refusals of the request itself.
    type Ask<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        Option<&'a str>,
        u16,
        &'a str,
    );
    let asks: [Ask; 7] = [
        (
            "a scope above both",
            vec![
                ("subject_token", &deployer),
                ("subject_token_type", ACCESS),
                ("scope", "deploy"),
            ],
            Some("reports"),
            400,
            "invalid_scope",
        ),
        (
            "an unknown audience",
            vec![
                ("subject_token", &deployer),
                ("subject_token_type", ACCESS),
                ("audience", "nobody"),
            ],
            Some("reports"),
            400,
            "invalid_target",
        ),
        (
            "a client not allowed the grant",
            vec![("subject_token", &deployer), ("subject_token_type", ACCESS)],
            Some("plain"),
            400,
            "unauthorized_client",
        ),
        (
            "our token without client authentication",
            vec![("subject_token", &deployer), ("subject_token_type", ACCESS)],
            None,
            401,
            "invalid_client",
        ),
        (
            "another client's actor token",
            vec![
                ("subject_token", &deployer),
                ("subject_token_type", ACCESS),
                ("actor_token", &auditor),
                ("actor_token_type", ACCESS),
            ],
            Some("reports"),
            400,
            "invalid_grant",
        ),
        (
            "an actor token without its type",
            vec![
                ("subject_token", &deployer),
                ("subject_token_type", ACCESS),
                ("actor_token", &reports),
            ],
            Some("reports"),
            400,
            "invalid_request",
        ),
        (
            "an unknown subject token type",
            vec![
                ("subject_token", &deployer),
                ("subject_token_type", "urn:x:saml"),
            ],
            Some("reports"),
            400,
            "invalid_request",
        ),
    ];
    for (what, pairs, client, status, error) in asks {
        let mut req = exchange(&pairs);
        if let Some(id) = client {
            req = req.insert_header(basic(id, &secrets[id]));
        }
        let (s, _, e) = call!(app, req);
        assert_eq!(
            (s, e["error"].as_str()),
            (status, Some(error)),
            "{what}: {e}"
        );
    }

    // The external subject refused like the JWT bearer grant's assertion.
    let gh = issuer.sign(issuer.github("acme/records"));
    let (s, _, t) = call!(
        app,
        exchange(&[("subject_token", &gh), ("subject_token_type", JWT)])
    );
    assert_eq!(s, 200, "the first use of a single-use token: {t}");
    let mut refused = issuer.refused();
    refused.push(("a replayed jti", gh));
    for (what, token) in refused {
        let (s, _, e) = call!(
            app,
            exchange(&[("subject_token", &token), ("subject_token_type", JWT)])
        );
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}: {e}"
        );
    }
    let (s, _, e) = call!(
        app,
        exchange(&[
            ("subject_token", &issuer.sign(issuer.kubernetes("reports"))),
            ("subject_token_type", JWT),
            ("scope", "deploy")
        ])
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_scope")),
        "above the rule's client: {e}"
    );

    // The tenant's admin reads why a token the issuer really signed was refused.
    let tid = acme.id.clone();
    let reasons: Vec<String> = env
        .state
        .store
        .run(move |c| {
            use diesel::prelude::*;
            use store::schema::audit_events::dsl as a;
            Ok(a::audit_events
                .filter(a::tenant_id.eq(&tid))
                .filter(a::action.eq("external_token.refused"))
                .select(a::details)
                .load::<String>(c)?)
        })
        .await
        .unwrap();
    for reason in [
        "no rule matches its claims",
        "already used",
        "lives longer than the issuer's maximum",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "{reason} in {reasons:?}"
        );
    }
    assert!(
        !reasons.iter().any(|r| r.contains("signature")),
        "unsigned noise stays out of the audit log: {reasons:?}"
    );
}
