//! Replicas on one database: on PostgreSQL, a write on one replica reaches another's caches
//! through LISTEN/NOTIFY within a second, however long those caches would otherwise keep it,
//! and the listener reconnects by itself; on SQLite, one process, `/readyz` says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use actix_web::test::{self, TestRequest};
use common::*;
use domain::model::Environment;
use portcullis_server::app::{build, AppState};
use registry::clients::NewClient;
use serde_json::json;
use store::{Backend, PoolOptions, Store};
use tokens::cache::CacheLimits;

/// A replica whose caches keep every entry a minute unless told otherwise.
fn slow_replica(env: &Env) -> AppState {
    let store = Store::open(&env.db.url, PoolOptions::for_backend(env.db.url.backend())).unwrap();
    let mailer = integrations::mail::Mailer::smtp(
        "smtp://127.0.0.1:9",
        "Portcullis <no-reply@portcullis.test>",
    )
    .unwrap();
    let mut state = AppState::with_gate(
        store,
        master_key(),
        PUBLIC_URL.into(),
        mailer,
        tokens::password_gate::PasswordGate::per_core(),
        CacheLimits {
            ttl: Duration::from_secs(60),
            pushed_ttl: Duration::from_secs(300),
            ..CacheLimits::default()
        },
    );
    state.listen_for_changes();
    state
}

/// Polls `check` every 20 ms for up to `limit`; how long it took to hold.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// The status of a client_credentials request of `id` at acme.
async fn credentials<S, B>(app: &S, id: &str, secret: &str) -> u16
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (s, _, _) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(id, secret))
    );
    s
}

#[actix_web::test]
async fn a_change_on_one_replica_reaches_the_others_caches_at_once() {
    let env = env();
    let admin = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let mut svc = NewClient::machine("svc", &["read"]);
    svc.client_id = Some("svc".into());
    let secret = env.client(&acme, svc).await.1.unwrap();
    let mut rs = NewClient::machine("rs", &["read"]);
    rs.client_id = Some("rs".into());
    let rs_secret = env.client(&acme, rs).await.1.unwrap();
    let app_a = test::init_service(build(&env.state)).await;
    let replica = slow_replica(&env);
    let app_b = test::init_service(build(&replica)).await;
    let ready = || TestRequest::get().uri("/readyz");

    if env.db.url.backend() == Backend::Sqlite {
        let (s, _, b) = call!(app_b, ready());
        assert_eq!((s, b["changes"].as_str()), (200, Some("local")), "{b}");
        return;
    }
    let pushed = within(Duration::from_secs(5), || async {
        call!(app_b, ready()).2["changes"] == "pushed"
    })
    .await;
    assert!(pushed.is_some(), "the listener connects");

    // B caches the client and a token's validity; A revokes the token: B refuses it at once
    // (the revocation mirror's own sync is every 2 s).
    let token = client_token(&app_b, "acme", "svc", &secret).await;
    let introspect = |t: &str| {
        post_form("/t/acme/oauth2/introspect", form(&[("token", t)]))
            .insert_header(basic("rs", &rs_secret))
    };
    assert_eq!(call!(app_b, introspect(&token)).2["active"], true);
    let (s, _, _) = call!(
        app_a,
        post_form("/t/acme/oauth2/revoke", form(&[("token", &token)]))
            .insert_header(basic("svc", &secret))
    );
    assert_eq!(s, 200);
    let took = within(Duration::from_secs(1), || async {
        call!(app_b, introspect(&token)).2["active"] == false
    })
    .await;
    assert!(took.is_some(), "a revocation on A holds on B within 1 s");
    eprintln!("a revocation on A holds on B: {took:?}");

    // A deletes the client B has cached for a minute: B refuses it within a second.
    let fresh = client_token(&app_b, "acme", "svc", &secret).await;
    let (s, _, _) = call!(
        app_a,
        TestRequest::delete()
            .uri("/admin/v1/tenants/acme/clients/svc")
            .insert_header(bearer(&admin))
    );
    assert_eq!(s, 204);
    let took = within(Duration::from_secs(1), || async {
        credentials(&app_b, "svc", &secret).await == 401
    })
    .await;
    assert!(took.is_some(), "a deletion on A holds on B within 1 s");
    eprintln!("a deletion on A holds on B: {took:?}");
    assert_eq!(call!(app_b, introspect(&fresh)).2["active"], false);

    // The listener's connection is cut: it reconnects, and changes flow again.
    let killed = env
        .state
        .store
        .run(|c| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{}'",
                store::changes::LISTENER_NAME
            ))
            .execute(c)?)
        })
        .await
        .unwrap();
    assert!(killed >= 1, "the listener was connected");
    let back = within(Duration::from_secs(5), || async {
        call!(app_b, ready()).2["changes"] == "pushed"
    })
    .await;
    assert!(back.is_some(), "the listener reconnects by itself");
    assert_eq!(credentials(&app_b, "rs", &rs_secret).await, 200);
    let (s, _, _) = call!(
        app_a,
        TestRequest::patch()
            .uri("/admin/v1/tenants/acme/clients/rs")
            .insert_header(bearer(&admin))
            .insert_header(("if-match", "\"1\""))
            .set_json(json!({"disabled": true}))
    );
    assert_eq!(s, 200);
    let took = within(Duration::from_secs(1), || async {
        credentials(&app_b, "rs", &rs_secret).await == 401
    })
    .await;
    assert!(
        took.is_some(),
        "after the reconnection, a change on A holds on B within 1 s"
    );
}
