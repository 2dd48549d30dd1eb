use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// Every entry lives `ttl`, pushed or not.
fn fresh(ttl: Duration) -> Arc<Freshness> {
    Arc::new(Freshness::new(ttl, ttl))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hot_entry_is_loaded_once_however_many_ask() {
    let cache: Arc<Bounded<String, u32>> =
        Arc::new(Bounded::new(10, fresh(Duration::from_secs(60))));
    let loads = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (cache, loads) = (cache.clone(), loads.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_load("hot", async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(7)
                })
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.ok().and_then(Result::ok), Some(7));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_load_is_not_cached_and_keeps_its_kind() {
    let cache: Bounded<String, u32> = Bounded::new(10, fresh(Duration::from_secs(60)));
    let err = cache
        .get_or_load("k", async { Err(StoreError::Task("down".into())) })
        .await;
    // The caller gets the loader's own error (shared when moka still holds a copy).
    let inner = match err {
        Err(StoreError::Shared(e)) => e.to_string(),
        other => other.err().map(|e| e.to_string()).unwrap_or_default(),
    };
    assert_eq!(inner, "database task failed: down");
    let ok = cache.get_or_load("k", async { Ok(1) }).await;
    assert_eq!(ok.ok(), Some(1));
}

#[tokio::test]
async fn entries_expire_after_the_ttl_and_forget_drops_one_at_once() {
    let cache: Bounded<String, u32> = Bounded::new(10, fresh(Duration::from_millis(100)));
    cache.insert("a".into(), 1).await;
    cache.insert("b".into(), 2).await;
    cache.forget("a").await;
    assert_eq!(cache.get("a").await, None);
    assert_eq!(cache.get("b").await, Some(2));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(cache.get("b").await, None);
}

#[tokio::test]
async fn the_size_bound_holds() {
    let cache: Bounded<String, u32> = Bounded::new(100, fresh(Duration::from_secs(60)));
    for i in 0..1000 {
        cache.insert(format!("k{i}"), i).await;
    }
    cache.inner.run_pending_tasks().await;
    assert!(cache.len() <= 100, "{} entries", cache.len());
}

#[tokio::test]
async fn forget_if_drops_what_the_predicate_names() {
    let cache: Bounded<(String, String), u32> = Bounded::new(10, fresh(Duration::from_secs(60)));
    cache.insert(("t1".into(), "a".into()), 1).await;
    cache.insert(("t2".into(), "a".into()), 2).await;
    cache.forget_if(|(t, _), _| t == "t1");
    assert_eq!(cache.get(&("t1".to_owned(), "a".to_owned())).await, None);
    assert_eq!(cache.get(&("t2".to_owned(), "a".to_owned())).await, Some(2));
}

#[tokio::test]
async fn entries_loaded_while_changes_are_pushed_live_longer() {
    let freshness = Arc::new(Freshness::new(
        Duration::from_millis(100),
        Duration::from_secs(60),
    ));
    let cache: Bounded<String, u32> = Bounded::new(10, freshness.clone());
    cache.insert("polled".into(), 1).await;
    freshness.pushed.store(true, Ordering::Release);
    cache.insert("pushed".into(), 2).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(cache.get("polled").await, None);
    assert_eq!(cache.get("pushed").await, Some(2));
}

#[tokio::test]
async fn a_load_that_overlapped_an_invalidation_is_served_but_not_kept() {
    let freshness = fresh(Duration::from_secs(60));
    let cache: Bounded<String, u32> = Bounded::new(10, freshness.clone());
    let value = cache
        .get_or_load("k", async {
            // The row was read; then a change is announced before the load returns.
            freshness.bump();
            Ok(1)
        })
        .await;
    assert_eq!(value.ok(), Some(1));
    assert_eq!(cache.get("k").await, None, "it may hold what just changed");
    let value = cache.get_or_load("k", async { Ok(2) }).await;
    assert_eq!(value.ok(), Some(2));
    assert_eq!(cache.get("k").await, Some(2));
}
