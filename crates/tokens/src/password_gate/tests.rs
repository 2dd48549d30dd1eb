use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::PasswordGate;

#[tokio::test]
async fn runs_at_most_the_bound_at_once_and_refuses_past_the_wait() {
    let gate = Arc::new(PasswordGate::new(2, Duration::from_millis(100)));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
            tokio::spawn(async move {
                gate.run(move |_| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(300));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            })
        })
        .collect();
    let mut done = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => done += 1,
            Err(_) => refused += 1,
        }
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    // Two ran at once for 300 ms; the others waited 100 ms and were refused.
    assert_eq!((done, refused), (2, 6));
}
