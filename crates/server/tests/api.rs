//! The assembled application, in process, on the backend this run selected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::test;
use domain::secrets::MasterKey;
use portcullis_server::app::{build, AppState};
use portcullis_server::bootstrap;
use portcullis_server::config::{BootstrapConfig, RunMode};
use store::testing::TestDb;
use store::{PoolOptions, Store};

fn state(db: &TestDb) -> AppState {
    let store = Store::open(&db.url, PoolOptions::for_backend(db.url.backend())).unwrap();
    AppState::new(
        store,
        MasterKey::from_bytes(&[1; 32]).unwrap(),
        "http://localhost".into(),
        integrations::mail::Mailer::outbox(
            std::env::temp_dir().join("portcullis-test-outbox"),
            "Portcullis <no-reply@localhost>",
        )
        .unwrap(),
    )
}

#[actix_web::test]
async fn health_readiness_and_docs_are_served() {
    let db = TestDb::new();
    let app = test::init_service(build(&state(&db))).await;

    for path in ["/healthz", "/readyz"] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers().contains_key("x-request-id"));
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(body["status"], "ok");
    }

    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let spec: serde_json::Value = test::read_body_json(resp).await;
    assert_eq!(
        spec,
        serde_json::to_value(portcullis_server::openapi::spec()).unwrap()
    );

    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/swagger-ui").to_request(),
    )
    .await;
    assert!(resp.status().is_redirection());
    assert_eq!(resp.headers().get("location").unwrap(), "/swagger-ui/");

    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/swagger-ui/").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let html = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");

    for asset in [
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
        "swagger-ui.css",
    ] {
        let req = test::TestRequest::get()
            .uri(&format!("/swagger-ui/{asset}"))
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 200, "{asset}");
        let body = test::read_body(resp).await;
        assert!(body.len() > 100, "{asset} is served from the binary");
        if asset == "swagger-initializer.js" {
            assert!(String::from_utf8_lossy(&body).contains("/openapi.json"));
        }
    }
}

#[actix_web::test]
async fn bootstrap_creates_the_system_tenant_once() {
    let db = TestDb::new();
    let st = state(&db);
    let key = MasterKey::from_bytes(&[1; 32]).unwrap();
    let cfg = BootstrapConfig {
        admin_email: "Root@Example.com".into(),
        admin_password: Some("correct horse battery staple".into()),
        client_secret: None,
    };
    let first = bootstrap::run(&st.store, &key, &cfg, RunMode::Development)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.admin_email, "root@example.com");
    assert!(
        first.generated_password.is_none(),
        "the configured password is used"
    );
    let secret = first.generated_client_secret.clone().unwrap();
    assert_eq!(secret.len(), 43, "256-bit secret");

    assert!(bootstrap::run(&st.store, &key, &cfg, RunMode::Development)
        .await
        .unwrap()
        .is_none());

    let (tenant, user, client, secrets) = st
        .store
        .run(|c| {
            let t = store::repo::tenants::find_by_slug(c, "system")?.unwrap();
            let u = store::repo::users::find_by_email(c, &t.id, "root@example.com")?.unwrap();
            let cl = store::repo::clients::find(c, &t.id, "admin")?.unwrap();
            let s = store::repo::clients::secrets_of(c, &cl.id)?;
            Ok((t, u, cl, s))
        })
        .await
        .unwrap();
    assert_eq!(tenant.environment, domain::model::Environment::Sandbox);
    assert_eq!(
        user.tenant_roles.0,
        [domain::model::TenantRole::PlatformAdmin]
    );
    assert!(domain::password::verify_password(
        "correct horse battery staple",
        &user.password_hash
    ));
    assert_eq!(
        client.tenant_roles.0,
        [domain::model::TenantRole::PlatformAdmin]
    );
    assert_eq!(secrets.len(), 1);
    assert!(key.verify_secret(&secret, &secrets[0].secret_hash));
    assert_ne!(secrets[0].secret_hash, secret.as_bytes(), "stored hashed");
}

#[actix_web::test]
async fn concurrent_bootstraps_create_one_system_tenant() {
    let db = TestDb::new();
    let st = state(&db);
    let cfg = || BootstrapConfig {
        admin_email: "admin@localhost".into(),
        admin_password: Some("pw-pw-pw-pw".into()),
        client_secret: Some("s".repeat(43)),
    };
    let runs = (0..4).map(|_| {
        let store = st.store.clone();
        actix_web::rt::spawn(async move {
            let key = MasterKey::from_bytes(&[1; 32]).unwrap();
            bootstrap::run(&store, &key, &cfg(), RunMode::Development)
                .await
                .map(|b| b.is_some())
        })
    });
    let mut created = 0;
    for r in runs.collect::<Vec<_>>() {
        if r.await.unwrap().unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(st.store.run(store::repo::tenants::count).await.unwrap(), 1);
}

/// `/metrics` counts requests per endpoint family and status class, and issued tokens.
#[actix_web::test]
async fn metrics_count_requests_and_issued_tokens() {
    use actix_web::test::TestRequest;
    let db = TestDb::new();
    let st = state(&db);
    let key = MasterKey::from_bytes(&[1; 32]).unwrap();
    let cfg = BootstrapConfig {
        admin_email: "root@example.com".into(),
        admin_password: Some("correct horse battery staple".into()),
        client_secret: Some("metrics-secret-metrics-secret-metrics-0001".into()),
    };
    bootstrap::run(&st.store, &key, &cfg, RunMode::Development)
        .await
        .unwrap();
    let app = test::init_service(build(&st)).await;
    let token = || {
        use base64::Engine;
        TestRequest::post()
            .uri("/t/system/oauth2/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header((
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode("admin:metrics-secret-metrics-secret-metrics-0001")
                ),
            ))
            .set_payload("grant_type=client_credentials")
            .to_request()
    };
    for _ in 0..3 {
        assert_eq!(test::call_service(&app, token()).await.status(), 200);
    }
    let bad = TestRequest::post()
        .uri("/t/system/oauth2/token")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload("grant_type=client_credentials")
        .to_request();
    assert_eq!(test::call_service(&app, bad).await.status(), 401);
    let resp = test::call_service(&app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status(), 200);
    assert!(resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    for line in [
        "portcullis_http_requests_total{endpoint=\"token\",status=\"2xx\"} 3",
        "portcullis_http_requests_total{endpoint=\"token\",status=\"4xx\"} 1",
        "portcullis_http_request_duration_seconds_count{endpoint=\"token\"} 4",
        "portcullis_tokens_issued_total{grant_type=\"client_credentials\"} 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}
