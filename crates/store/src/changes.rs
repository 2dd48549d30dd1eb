//! Change notices between replicas (PostgreSQL only). Triggers (migration
//! `change_notices`) announce every write that makes a cached entry stale on channel
//! `portcullis_changes`, in the writing transaction; [`listen`] keeps one connection that
//! LISTENs, and hands each notice to the caller. SQLite serves one process, which drops its own
//! entries as it writes.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;

use crate::db::with_connect_timeout;

pub const CHANNEL: &str = "portcullis_changes";

/// The `application_name` of the listener's connection.
pub const LISTENER_NAME: &str = "portcullis-changes";

/// What a committed write changed, by key (the trigger's payload).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Notice {
    /// The tenant, its keys or its trust anchors (`slug` only from the tenants table).
    Tenant {
        id: String,
        slug: Option<String>,
    },
    Client {
        tenant: String,
        id: String,
    },
    /// A client's secrets, by the client's primary key.
    ClientPk {
        pk: String,
    },
    Device {
        tenant: String,
        id: String,
        certs: Vec<Option<String>>,
    },
    Person {
        tenant: String,
        id: String,
    },
    Grant {
        tenant: String,
        id: String,
    },
    Enrollment {
        vendor: String,
        department: String,
    },
    /// A trusted external issuer (or its audiences), by `iss`.
    Issuer {
        iss: String,
    },
    /// An access token revoked until `exp`.
    Revoked {
        jti: String,
        exp: i64,
    },
}

/// What the listener reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Listening (again): notices flow from now on; any sent while it was down were missed.
    Connected,
    Notice(Notice),
    /// The connection is gone: nothing is pushed until [`Event::Connected`].
    Lost,
}

/// Whether notices are flowing, for `/readyz` and the cache lifetimes.
#[derive(Debug, Default)]
pub struct ListenerHealth {
    up: AtomicBool,
    /// Unix seconds of the last change of state.
    since: AtomicI64,
}

impl ListenerHealth {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    pub fn since(&self) -> i64 {
        self.since.load(Ordering::Acquire)
    }

    fn set(&self, up: bool) {
        self.up.store(up, Ordering::Release);
        self.since.store(domain::now_unix(), Ordering::Release);
    }
}

/// How often the listener looks for notices (the push latency it adds), and how often it
/// proves the connection alive when nothing arrives (a dead peer is noticed within this).
const POLL: Duration = Duration::from_millis(20);
const HEARTBEAT: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Starts the listener thread on `url` (a PostgreSQL URL): it connects, LISTENs, reports every
/// notice to `on`, and reconnects with backoff (100 ms doubling to 2 s) whenever the
/// connection is lost.
pub fn listen(url: &str, on: impl Fn(Event) + Send + 'static) -> Arc<ListenerHealth> {
    let health = Arc::new(ListenerHealth::default());
    // Named, so an operator (or a test) can tell it from the pool's connections.
    let url = with_connect_timeout(url).into_owned();
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = if url.contains("application_name=") {
        url
    } else {
        format!("{url}{sep}application_name={LISTENER_NAME}")
    };
    let state = health.clone();
    let spawned = std::thread::Builder::new()
        .name("pg-listener".into())
        .spawn(move || run(&url, &state, &on));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the change listener; caches rely on their lifetime");
    }
    health
}

fn run(url: &str, health: &ListenerHealth, on: &dyn Fn(Event)) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match connect(url) {
            Ok(mut conn) => {
                backoff = Duration::from_millis(100);
                health.set(true);
                on(Event::Connected);
                let why = serve(&mut conn, on);
                health.set(false);
                tracing::warn!(error = %why, "change listener lost its connection; reconnecting");
                on(Event::Lost);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "change listener cannot connect");
            }
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn connect(url: &str) -> Result<PgConnection, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Hands notices over until the connection fails; returns why.
fn serve(conn: &mut PgConnection, on: &dyn Fn(Event)) -> String {
    let mut alive_at = Instant::now();
    loop {
        for received in conn.notifications_iter() {
            match received {
                Ok(n) => match serde_json::from_str::<Notice>(&n.payload) {
                    Ok(notice) => on(Event::Notice(notice)),
                    // A payload of a newer version: nothing to drop that we know of.
                    Err(e) => tracing::warn!(error = %e, "unreadable change notice"),
                },
                Err(e) => return e.to_string(),
            }
        }
        if alive_at.elapsed() >= HEARTBEAT {
            if let Err(e) = diesel::sql_query("SELECT 1").execute(conn) {
                return e.to_string();
            }
            alive_at = Instant::now();
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::Notice;

    #[test]
    fn trigger_payloads_parse_into_notices() {
        let cases = [
            (
                r#"{"t":"tenant","id":"T1","slug":"acme"}"#,
                Notice::Tenant {
                    id: "T1".into(),
                    slug: Some("acme".into()),
                },
            ),
            (
                r#"{"t":"tenant","id":"T1"}"#,
                Notice::Tenant {
                    id: "T1".into(),
                    slug: None,
                },
            ),
            (
                r#"{"t":"device","tenant":"T1","id":"D1","certs":[null,"ab"]}"#,
                Notice::Device {
                    tenant: "T1".into(),
                    id: "D1".into(),
                    certs: vec![None, Some("ab".into())],
                },
            ),
            (
                r#"{"t":"client_pk","pk":"P1"}"#,
                Notice::ClientPk { pk: "P1".into() },
            ),
            (
                r#"{"t":"revoked","jti":"J","exp":42}"#,
                Notice::Revoked {
                    jti: "J".into(),
                    exp: 42,
                },
            ),
        ];
        for (payload, expected) in cases {
            assert_eq!(
                serde_json::from_str::<Notice>(payload).ok(),
                Some(expected),
                "{payload}"
            );
        }
        assert!(serde_json::from_str::<Notice>(r#"{"t":"comet"}"#).is_err());
    }
}
