//! A bound on password hashing. One argon2 hash takes ~19 MiB and tens of milliseconds of a
//! core; unauthenticated sign-ins are free to send, so without a bound a burst of them takes
//! unbounded memory and every core. The gate runs at most `concurrency` hashes at once, lets
//! the next ones wait briefly for a turn, and refuses the rest (503, retry later).
//!
//! The hashes run on `concurrency` threads of the gate's own, each with one
//! [`Hasher`] whose working memory is allocated once: memory stays at `concurrency` × 19 MiB
//! whatever the load. (Letting argon2 allocate per hash on the shared blocking pool left the
//! process 1.1 GiB larger after a burst of 500, with two hashes at a time.)

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

use domain::password::Hasher;

type Job = Box<dyn FnOnce(&mut Hasher) + Send>;

/// The gate was full for the whole wait.
#[derive(Debug, thiserror::Error)]
#[error("too many password checks at once; retry in a moment")]
pub struct Busy;

pub struct PasswordGate {
    permits: Semaphore,
    wait: Duration,
    jobs: mpsc::Sender<Job>,
}

impl PasswordGate {
    /// `concurrency` hashes at once (at least one); a request waits up to `wait` for its turn.
    pub fn new(concurrency: usize, wait: Duration) -> PasswordGate {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..concurrency {
            let queue = queue.clone();
            // The threads end when the gate (the sender) is dropped.
            let spawned = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    let mut hasher = Hasher::new();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut hasher),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        PasswordGate {
            permits: Semaphore::new(concurrency),
            wait,
            jobs,
        }
    }

    /// One hash per core, waits of up to a second.
    pub fn per_core() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PasswordGate::new(cores, Duration::from_secs(1))
    }

    /// Runs the hashing work `f` on one of the gate's threads once a turn is free.
    pub async fn run<T, F>(&self, f: F) -> Result<T, Busy>
    where
        F: FnOnce(&mut Hasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = tokio::time::timeout(self.wait, self.permits.acquire())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move |hasher: &mut Hasher| {
                let _ = done.send(f(hasher));
            }))
            .map_err(|_| Busy)?;
        // A panic in argon2 drops `done`: a bug, not a verdict on the password, so it is
        // reported as busy rather than as a wrong password. The permit is held until the
        // work is over, so at most `concurrency` jobs are ever queued.
        result.await.map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests;
