//! Database work that runs beside the request path on one thread of its own: batched
//! single-use `jti` writes, the revocation list mirror, and purging of expired rows.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use domain::now_unix;
use store::repo::tokens as repo;
use store::{Store, StoreError};
use tokio::sync::oneshot;

/// How often revocations made on other replicas are picked up.
pub const REVOCATION_SYNC: Duration = Duration::from_secs(2);
const PURGE_EVERY: Duration = Duration::from_secs(60);
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<bool, String>>;

struct Pending {
    client_pk: String,
    jti: String,
    expires_at: i64,
    reply: Reply,
}

/// Mirror of the live revoked access-token ids.
#[derive(Default)]
pub struct Revocations {
    ids: DashMap<String, i64>,
}

impl Revocations {
    pub fn contains(&self, jti: &str) -> bool {
        self.ids.contains_key(jti)
    }

    pub fn insert(&self, jti: String, expires_at: i64) {
        self.ids.insert(jti, expires_at);
    }

    fn replace(&self, rows: Vec<repo::RevokedTokenRow>) {
        let now = now_unix();
        self.ids.retain(|_, exp| *exp >= now);
        for r in rows {
            self.ids.insert(r.jti, r.expires_at);
        }
    }
}

pub struct JtiLedger {
    tx: mpsc::Sender<Pending>,
}

impl JtiLedger {
    /// Starts the maintenance thread; it ends when the ledger is dropped.
    pub fn start(store: Store, revocations: std::sync::Arc<Revocations>) -> JtiLedger {
        let (tx, rx) = mpsc::channel::<Pending>();
        let spawned = std::thread::Builder::new()
            .name("portcullis-maintenance".into())
            .spawn(move || run(store, revocations, rx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the maintenance thread");
        }
        JtiLedger { tx }
    }

    pub async fn consume(
        &self,
        client_pk: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            client_pk: client_pk.to_owned(),
            jti: jti.to_owned(),
            expires_at,
            reply,
        };
        self.tx
            .send(pending)
            .map_err(|_| StoreError::Task("maintenance thread stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Task("maintenance thread stopped".into()))?
            .map_err(StoreError::Task)
    }
}

fn run(store: Store, revocations: std::sync::Arc<Revocations>, rx: mpsc::Receiver<Pending>) {
    let mut last_sync = Instant::now() - REVOCATION_SYNC;
    let mut last_purge = Instant::now();
    loop {
        if last_sync.elapsed() >= REVOCATION_SYNC {
            match store.run_blocking(|c| repo::live_revocations(c, now_unix())) {
                Ok(rows) => revocations.replace(rows),
                Err(e) => tracing::warn!(error = %e, "revocation sync failed"),
            }
            last_sync = Instant::now();
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            if let Err(e) = store.run_blocking(|c| repo::purge_expired(c, now_unix())) {
                tracing::warn!(error = %e, "purging expired token rows failed");
            }
            last_purge = Instant::now();
        }
        let first = match rx.recv_timeout(REVOCATION_SYNC) {
            Ok(p) => p,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let items: Vec<(String, String, i64)> = batch
            .iter()
            .map(|p| (p.client_pk.clone(), p.jti.clone(), p.expires_at))
            .collect();
        let started = Instant::now();
        let result = store.transaction_blocking(|c| repo::consume_jtis(c, &items));
        tracing::debug!(
            batch = items.len(),
            micros = started.elapsed().as_micros() as u64,
            "jti batch"
        );
        match result {
            Ok(fresh) => {
                for (p, f) in batch.into_iter().zip(fresh) {
                    let _ = p.reply.send(Ok(f));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for p in batch {
                    let _ = p.reply.send(Err(msg.clone()));
                }
            }
        }
    }
}
