//! The store on the backend this run selected (SQLite, or PostgreSQL under `cargo xtask test`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use store::repo::tenants::{self, TenantRow};
use store::testing::TestDb;
use store::{PoolOptions, Store, StoreError};

fn tenant(id: &str, slug: &str) -> TenantRow {
    TenantRow {
        id: id.into(),
        slug: slug.into(),
        name: "Acme".into(),
        environment: domain::model::Environment::Sandbox,
        settings: Default::default(),
        disabled: false,
        created_at: 1,
        updated_at: 1,
        version: 1,
    }
}

fn open(db: &TestDb) -> Store {
    Store::open(&db.url, PoolOptions::for_backend(db.url.backend())).unwrap()
}

#[tokio::test]
async fn migrations_are_idempotent_and_data_survives_reopen() {
    let db = TestDb::new();
    let store = open(&db);
    store.ping().await.unwrap();
    store
        .run(|c| tenants::insert(c, &tenant("t1", "acme")))
        .await
        .unwrap();
    drop(store);

    let store = open(&db);
    let found = store
        .run(|c| tenants::find_by_slug(c, "acme"))
        .await
        .unwrap();
    assert_eq!(found.unwrap().id, "t1");
    assert_eq!(store.run(tenants::count).await.unwrap(), 1);
}

/// A tenant is found by id or by slug; when a slug spells another tenant's id, the id wins.
#[tokio::test]
async fn a_tenant_is_found_by_id_or_slug_and_the_id_wins() {
    const ONE: &str = "01a2309418047284ba2f668b7df15e33";
    const TWO: &str = "01a2309418047284ba2f668b7df15e34";
    const THREE: &str = "01a2309418047284ba2f668b7df15e35";
    // A slug shaped like an id that no tenant has.
    const SHAPED: &str = "0123456789abcdef0123456789abcdef";
    let db = TestDb::new();
    let store = open(&db);
    store
        .run(|c| {
            tenants::insert(c, &tenant(ONE, "acme"))?;
            tenants::insert(c, &tenant(TWO, ONE))?;
            tenants::insert(c, &tenant(THREE, SHAPED))
        })
        .await
        .unwrap();
    let find = |key: &'static str| {
        let store = store.clone();
        async move {
            store
                .run(move |c| tenants::find_by_id_or_slug(c, key))
                .await
                .unwrap()
                .map(|t| t.id)
        }
    };
    assert_eq!(find(ONE).await.as_deref(), Some(ONE));
    assert_eq!(find("acme").await.as_deref(), Some(ONE));
    assert_eq!(find(TWO).await.as_deref(), Some(TWO));
    assert_eq!(find(SHAPED).await.as_deref(), Some(THREE));
    assert_eq!(find("nobody").await, None);
}

/// Typed rows: a stored value outside its vocabulary, or settings that are not the settings
/// object, is reported as damaged data when the row is read, never replaced by a default.
#[tokio::test]
async fn a_stored_value_that_does_not_parse_is_corrupt_not_defaulted() {
    use diesel::RunQueryDsl;
    let db = TestDb::new();
    let store = open(&db);
    store
        .run(|c| tenants::insert(c, &tenant("t1", "acme")))
        .await
        .unwrap();
    for (column, value) in [
        ("environment", "staging"),
        ("settings", r#"{"access_token_lifetime": "long"}"#),
        ("settings", r#"{"unknown_setting": 1}"#),
    ] {
        let sql = format!("UPDATE tenants SET {column} = '{value}' WHERE id = 't1'");
        store
            .run(move |c| Ok(diesel::sql_query(sql).execute(c)?))
            .await
            .unwrap();
        let err = store
            .run(|c| tenants::find_by_slug(c, "acme"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt(_)),
            "{column}={value}: {err:?}"
        );
        store
            .run(|c| {
                Ok(diesel::sql_query(
                    "UPDATE tenants SET environment = 'sandbox', settings = '{}' WHERE id = 't1'",
                )
                .execute(c)?)
            })
            .await
            .unwrap();
    }
    let back = store
        .run(|c| tenants::find_by_slug(c, "acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.settings, Default::default());
}

#[tokio::test]
async fn unique_violations_are_conflicts() {
    let db = TestDb::new();
    let store = open(&db);
    store
        .run(|c| tenants::insert(c, &tenant("t1", "acme")))
        .await
        .unwrap();
    let err = store
        .run(|c| tenants::insert(c, &tenant("t2", "acme")))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

#[tokio::test]
async fn failed_transactions_leave_nothing_behind() {
    let db = TestDb::new();
    let store = open(&db);
    let result = store
        .transaction(|c| {
            tenants::insert(c, &tenant("t1", "first"))?;
            tenants::insert(c, &tenant("t1", "second"))
        })
        .await;
    assert!(result.is_err());
    assert_eq!(store.run(tenants::count).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_write_transactions_all_commit() {
    let db = TestDb::new();
    let store = open(&db);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .transaction(move |c| {
                        let n = tenants::count(c)?;
                        tenants::insert(c, &tenant(&format!("t{i}"), &format!("tenant-{i}-{n}")))
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.run(tenants::count).await.unwrap(), 16);
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    use store::repo::users::{self, UserRow};
    let db = TestDb::new();
    let store = open(&db);
    let orphan = UserRow {
        id: "u1".into(),
        tenant_id: "no-such-tenant".into(),
        email: "a@b.c".into(),
        password_hash: "x".into(),
        mfa_enabled: true,
        tenant_roles: Default::default(),
        disabled: false,
        failed_logins: 0,
        locked_until: None,
        created_at: 1,
        updated_at: 1,
        version: 1,
    };
    let err = store
        .run(move |c| users::insert(c, &orphan))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Query(_)), "{err:?}");
}

#[test]
fn a_bad_postgres_url_reports_the_real_error() {
    let url = "postgres://nobody@127.0.0.1:1/none".parse().unwrap();
    let err = Store::open(&url, PoolOptions::for_backend(store::Backend::Postgres))
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(text.contains("connect"), "{text}");
}

#[tokio::test]
async fn purge_drops_only_expired_codes_and_refresh_tokens() {
    use store::repo::clients::{self, ClientRow};
    use store::repo::mfa::{self, MfaChallengeRow};
    use store::repo::refresh_tokens::{self, RefreshTokenRow};
    use store::repo::users::{self, UserRow};
    let db = TestDb::new();
    let store = open(&db);
    let now = 1_000_000;
    store
        .transaction(move |c| {
            tenants::insert(c, &tenant("t1", "acme"))?;
            users::insert(
                c,
                &UserRow {
                    id: "u1".into(),
                    tenant_id: "t1".into(),
                    email: "a@x".into(),
                    password_hash: "-".into(),
                    mfa_enabled: true,
                    tenant_roles: Default::default(),
                    disabled: false,
                    failed_logins: 0,
                    locked_until: None,
                    created_at: 1,
                    updated_at: 1,
                    version: 1,
                },
            )?;
            clients::insert(
                c,
                &ClientRow {
                    id: "c1".into(),
                    tenant_id: "t1".into(),
                    client_id: "portal".into(),
                    kind: domain::model::ClientKind::Public,
                    name: "p".into(),
                    organization_id: None,
                    auth_method: domain::model::AuthMethod::None,
                    grant_types: Default::default(),
                    scopes: Default::default(),
                    default_scopes: Default::default(),
                    tenant_roles: Default::default(),
                    access_token_ttl: None,
                    access_token_alg: domain::model::SigningAlg::Rs256,
                    jwks: None,
                    jwks_uri: None,
                    metadata: Default::default(),
                    disabled: false,
                    failed_auth_count: 0,
                    locked_until: None,
                    created_by: None,
                    created_at: 1,
                    updated_at: 1,
                    version: 1,
                },
            )?;
            for (id, expires_at) in [("old", now - 1), ("live", now + 300)] {
                mfa::insert(
                    c,
                    &MfaChallengeRow {
                        id: id.into(),
                        tenant_id: "t1".into(),
                        user_id: "u1".into(),
                        client_pk: "c1".into(),
                        token_hash: id.as_bytes().to_vec(),
                        code_hash: vec![0; 32],
                        scope: String::new(),
                        attempts: 0,
                        sends: 1,
                        created_at: now - 300,
                        expires_at,
                        consumed_at: None,
                    },
                )?;
                refresh_tokens::insert(
                    c,
                    &RefreshTokenRow {
                        id: id.into(),
                        tenant_id: "t1".into(),
                        family_id: id.into(),
                        token_hash: id.as_bytes().to_vec(),
                        client_pk: "c1".into(),
                        user_id: Some("u1".into()),
                        scope: String::new(),
                        claims: "{}".into(),
                        created_at: now - 300,
                        expires_at,
                        used_at: None,
                        revoked_at: None,
                        grant_id: None,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let purged = store
        .run(move |c| store::repo::tokens::purge_expired(c, now))
        .await
        .unwrap();
    assert_eq!(purged, 2);
    let (code, token) = store
        .run(|c| {
            Ok((
                mfa::find_by_token(c, b"live")?.is_some()
                    && mfa::find_by_token(c, b"old")?.is_none(),
                refresh_tokens::find_by_hash(c, b"live")?.is_some()
                    && refresh_tokens::find_by_hash(c, b"old")?.is_none(),
            ))
        })
        .await
        .unwrap();
    assert!(code && token);
}

#[tokio::test]
async fn lockout_and_code_send_counters_are_single_updates() {
    use store::repo::users::{self, UserRow};
    let db = TestDb::new();
    let store = open(&db);
    let now = 5_000_000;
    let found = store
        .transaction(move |c| {
            tenants::insert(c, &tenant("t1", "acme"))?;
            users::insert(
                c,
                &UserRow {
                    id: "u1".into(),
                    tenant_id: "t1".into(),
                    email: "a@x".into(),
                    password_hash: "-".into(),
                    mfa_enabled: true,
                    tenant_roles: Default::default(),
                    disabled: false,
                    failed_logins: 0,
                    locked_until: None,
                    created_at: 1,
                    updated_at: 1,
                    version: 1,
                },
            )?;
            for _ in 0..4 {
                users::record_failed_login(c, "u1", 5, 900, now)?;
            }
            let before = users::find(c, "t1", "u1")?.unwrap();
            users::record_failed_login(c, "u1", 5, 900, now)?;
            let locked = users::find(c, "t1", "u1")?.unwrap();
            users::clear_failed_logins(c, "u1")?;
            let cleared = users::find(c, "t1", "u1")?.unwrap();
            let sends: Vec<bool> = (0..4)
                .map(|_| users::take_code_send(c, "u1", 3, 900, now))
                .collect::<Result<_, _>>()?;
            let after_window = users::take_code_send(c, "u1", 3, 900, now + 900)?;
            Ok((before, locked, cleared, sends, after_window))
        })
        .await
        .unwrap();
    let (before, locked, cleared, sends, after_window) = found;
    assert_eq!((before.failed_logins, before.locked_until), (4, None));
    assert_eq!(
        (locked.failed_logins, locked.locked_until),
        (0, Some(now + 900))
    );
    assert_eq!((cleared.failed_logins, cleared.locked_until), (0, None));
    assert_eq!(sends, [true, true, true, false]);
    assert!(after_window, "a new window allows sends again");
}

/// Pooled PostgreSQL connections carry a statement timeout, and a statement cancelled by it is
/// "unavailable" (a 503), not an internal error.
#[tokio::test]
async fn a_stuck_statement_is_cancelled_and_reported_unavailable() {
    use diesel::connection::SimpleConnection;
    let admin = TestDb::postgres_admin_url().expect(
        "this test needs PostgreSQL: run `cargo xtask test`, or set PORTCULLIS_TEST_PG_URL",
    );
    let db = TestDb::postgres(&admin);
    let store = open(&db);
    store
        .run(|c| {
            c.batch_execute(
                "DO $$ BEGIN IF current_setting('statement_timeout') <> '15s' THEN \
                 RAISE EXCEPTION 'no statement timeout on pooled connections'; END IF; END $$",
            )
            .map_err(StoreError::from)
        })
        .await
        .unwrap();
    let err = store
        .run(|c| {
            c.batch_execute("SET statement_timeout = '10ms'; SELECT pg_sleep(1)")
                .map_err(StoreError::from)
        })
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(
        !err.is_connection_lost(),
        "the connection is still good: {err}"
    );
}
