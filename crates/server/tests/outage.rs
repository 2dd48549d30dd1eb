//! PostgreSQL going away under a running Portcullis: the sessions terminated by an admin (or a
//! pooler, or a failover), and the server stopped and started again. During the outage every
//! answer is a 200 (from a cache) or a 503, never a 500 and never a 401 for a valid token;
//! after it the same requests succeed again, without restarting Portcullis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use actix_web::test::{self, TestRequest};
use common::*;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use domain::model::Environment;
use portcullis_server::app::build;
use registry::clients::NewClient;
use store::testing::{PgCluster, TestDb};
use store::DatabaseUrl;

/// What the probes need: a machine client and tokens for the OAuth endpoints and the admin API.
struct Probe {
    client_id: String,
    secret: String,
    token: String,
    platform: String,
}

#[derive(Debug)]
struct Answer {
    what: &'static str,
    status: u16,
    retry_after: bool,
    body: serde_json::Value,
}

async fn setup(state: &portcullis_server::app::AppState) -> Probe {
    bootstrap_platform(state).await;
    let slug = "acme".parse().unwrap();
    let tenant = registry::tenants::create(
        &state.store,
        &state.tokens.caches,
        &state.master_key,
        &slug,
        "Acme",
        Environment::Sandbox,
        &domain::tenant_settings::TenantSettings::default(),
        |_| None,
    )
    .await
    .unwrap();
    let (client, secret) = registry::clients::create(
        &state.store,
        &state.master_key,
        &tenant.id,
        NewClient::machine("reports", &["read"]),
        |_| None,
    )
    .await
    .unwrap();
    let app = test::init_service(build(state)).await;
    let secret = secret.unwrap();
    Probe {
        token: client_token(&app, "acme", &client.client_id, &secret).await,
        platform: client_token(&app, "system", "admin", PLATFORM_SECRET).await,
        client_id: client.client_id,
        secret,
    }
}

/// One round of requests, at once: a token, the token checked by the bearer guard and by
/// introspection, the admin API, readiness, the JWKS.
async fn round<S, B>(app: &S, p: &Probe) -> Vec<Answer>
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let requests: Vec<(&'static str, TestRequest)> = vec![
        (
            "token",
            post_form(
                &token_url("acme"),
                form(&[("grant_type", "client_credentials")]),
            )
            .insert_header(basic(&p.client_id, &p.secret)),
        ),
        (
            "whoami",
            TestRequest::get()
                .uri("/t/acme/whoami")
                .insert_header(bearer(&p.token)),
        ),
        (
            "introspect",
            post_form("/t/acme/oauth2/introspect", form(&[("token", &p.token)]))
                .insert_header(basic(&p.client_id, &p.secret)),
        ),
        (
            "admin",
            TestRequest::get()
                .uri("/admin/v1/tenants")
                .insert_header(bearer(&p.platform)),
        ),
        ("readyz", TestRequest::get().uri("/readyz")),
        ("jwks", TestRequest::get().uri("/t/acme/oauth2/jwks")),
    ];
    let calls = requests.into_iter().map(|(what, req)| async move {
        let (status, headers, body) = send(app, req).await;
        Answer {
            what,
            status,
            retry_after: headers.contains_key("retry-after"),
            body,
        }
    });
    futures_util::future::join_all(calls).await
}

/// During an outage: a cached 200 or an honest 503 that says to retry.
fn check_outage_answer(a: &Answer) {
    match a.status {
        200 => {
            if a.what == "introspect" {
                assert_eq!(
                    a.body["active"], true,
                    "a valid token reported inactive: {a:?}"
                );
            }
        }
        503 => {
            if matches!(a.what, "token" | "introspect") {
                assert_eq!(a.body["error"], "temporarily_unavailable", "{a:?}");
            }
            if a.what != "readyz" {
                assert!(a.retry_after, "503 without Retry-After: {a:?}");
            }
        }
        _ => panic!("during the outage, expected 200 or 503: {a:?}"),
    }
}

/// Rounds until every answer is a 200 (with an active token at introspection); fails after
/// `within`. Returns how long recovery took.
async fn recovers<S, B>(app: &S, p: &Probe, within: Duration) -> Duration
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let start = Instant::now();
    loop {
        let answers = round(app, p).await;
        let healthy = answers
            .iter()
            .all(|a| a.status == 200 && (a.what != "introspect" || a.body["active"] == true));
        if healthy {
            return start.elapsed();
        }
        for a in &answers {
            check_outage_answer(a);
        }
        assert!(
            start.elapsed() < within,
            "not recovered after {within:?}: {answers:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn terminated_sessions_are_replaced_without_a_restart() {
    let admin = TestDb::postgres_admin_url().expect(
        "this test terminates PostgreSQL sessions: run `cargo xtask test`, or set \
         PORTCULLIS_TEST_PG_URL / TEST_DATABASE_URL to a postgres:// URL",
    );
    let db = TestDb::postgres(&admin);
    let DatabaseUrl::Postgres(url) = &db.url else {
        panic!("not PostgreSQL")
    };
    let name = url.rsplit('/').next().unwrap().to_owned();
    let state = state_on(&db);
    let p = setup(&state).await;
    let app = test::init_service(build(&state)).await;
    // Fill the pool with connections, then end every one of them server-side.
    for _ in 0..3 {
        for a in round(&app, &p).await {
            assert_eq!(a.status, 200, "{a:?}");
        }
    }
    let mut conn = diesel::PgConnection::establish(&admin).unwrap();
    conn.batch_execute(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .unwrap();
    // Past the caches' 5 s, so that every probe needs the database.
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let took = recovers(&app, &p, Duration::from_secs(5)).await;
    eprintln!("recovered from terminated sessions in {took:?}");
    // And it stays healthy: the dead connections are gone from the pool, not handed out later.
    for _ in 0..5 {
        for a in round(&app, &p).await {
            assert_eq!(a.status, 200, "{a:?}");
        }
    }
}

#[actix_web::test]
async fn a_database_restart_is_503_while_down_and_heals_after() {
    let cluster = PgCluster::start().unwrap();
    let db = TestDb::postgres(&cluster.admin_url);
    let state = state_on(&db);
    let p = setup(&state).await;
    let app = test::init_service(build(&state)).await;
    for a in round(&app, &p).await {
        assert_eq!(a.status, 200, "{a:?}");
    }

    cluster.stop().unwrap();
    // Light load through the outage, past the caches' 5 s bound.
    let down = Instant::now();
    let mut unavailable = std::collections::BTreeSet::new();
    while down.elapsed() < Duration::from_secs(8) {
        for a in round(&app, &p).await {
            check_outage_answer(&a);
            if a.status == 503 {
                unavailable.insert(a.what);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for what in ["readyz", "admin", "token", "introspect"] {
        assert!(
            unavailable.contains(what),
            "{what} never said 503 while the database was down: {unavailable:?}"
        );
    }

    cluster.resume().unwrap();
    let took = recovers(&app, &p, Duration::from_secs(15)).await;
    eprintln!("recovered from a database restart in {took:?}");
    for a in round(&app, &p).await {
        assert_eq!(a.status, 200, "{a:?}");
    }
}
