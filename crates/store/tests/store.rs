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
        environment: "sandbox".into(),
        settings: "{}".into(),
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
        tenant_roles: "[]".into(),
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
