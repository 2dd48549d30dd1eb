//! A bound on password hashing. One argon2 hash takes ~19 MiB and tens of milliseconds of a
//! core; unauthenticated sign-ins are free to send, so without a bound a burst of them takes
//! unbounded memory and every core. The gate runs at most `concurrency` hashes at once, lets
//! the next ones wait briefly for a turn, and refuses the rest (503, retry later).

use std::time::Duration;

use tokio::sync::Semaphore;

/// The gate was full for the whole wait.
#[derive(Debug, thiserror::Error)]
#[error("too many password checks at once; retry in a moment")]
pub struct Busy;

pub struct PasswordGate {
    permits: Semaphore,
    wait: Duration,
}

impl PasswordGate {
    /// `concurrency` hashes at once (at least one); a request waits up to `wait` for its turn.
    pub fn new(concurrency: usize, wait: Duration) -> PasswordGate {
        PasswordGate {
            permits: Semaphore::new(concurrency.max(1)),
            wait,
        }
    }

    /// One hash per core, waits of up to a second.
    pub fn per_core() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PasswordGate::new(cores, Duration::from_secs(1))
    }

    /// Runs the hashing work `f` on the blocking pool once a turn is free.
    pub async fn run<T, F>(&self, f: F) -> Result<T, Busy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = tokio::time::timeout(self.wait, self.permits.acquire())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        // A panic in argon2 is a bug, not a verdict on the password: report it as busy rather
        // than as a wrong password, and keep the permit accounting right (the guard drops).
        tokio::task::spawn_blocking(f).await.map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests;
