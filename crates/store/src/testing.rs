//! Isolated databases for tests, so that tests run in parallel on either backend.
//!
//! With `TEST_DATABASE_URL=postgres://…` each [`TestDb`] is a fresh PostgreSQL database created
//! through that server and dropped afterwards; otherwise it is a SQLite file in a temporary
//! directory. `cargo xtask test` runs the whole suite once each way.
//!
//! Test support only: failing to set up a test database panics, which fails that test.
#![allow(clippy::panic)]

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::DatabaseUrl;

mod cluster;
pub use cluster::PgCluster;

pub const ENV: &str = "TEST_DATABASE_URL";

pub struct TestDb {
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new, empty database on the backend the test run selected.
    pub fn new() -> TestDb {
        match std::env::var(ENV) {
            Ok(admin) if admin.starts_with("postgres") => Self::postgres(&admin),
            _ => Self::sqlite(),
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let url = DatabaseUrl::sqlite(dir.path().join("portcullis.db"));
        TestDb {
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh database on the PostgreSQL server that `admin_url` reaches.
    pub fn postgres(admin_url: &str) -> TestDb {
        let name = format!("pct_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("test PostgreSQL at {admin_url} unreachable: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let url = replace_database(admin_url, &name);
        TestDb {
            url: DatabaseUrl::Postgres(url),
            _dir: None,
            postgres: Some((admin_url.to_owned(), name)),
        }
    }

    /// The PostgreSQL server for tests that need one whatever the selected backend (the
    /// dialect comparison): `PORTCULLIS_TEST_PG_URL`, else `TEST_DATABASE_URL` if PostgreSQL.
    pub fn postgres_admin_url() -> Option<String> {
        std::env::var("PORTCULLIS_TEST_PG_URL")
            .ok()
            .or_else(|| std::env::var(ENV).ok())
            .filter(|u| u.starts_with("postgres"))
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests;
