use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// SQLite settings applied to every connection: WAL lets readers run beside the one writer,
/// the busy timeout makes a writer wait instead of failing, and foreign keys are off by default
/// in SQLite.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// One connection type for both dialects; queries written against [`crate::schema`] run on either.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is. The scheme picks the backend, so a typo in a PostgreSQL URL is never
/// silently taken for a SQLite file name.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("database URL must start with sqlite:// or postgres://")]
    UnknownScheme,
    #[error("database URL names no SQLite file")]
    EmptyPath,
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(s.to_owned()));
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .ok_or(DatabaseUrlError::UnknownScheme)?;
        if path.is_empty() {
            return Err(DatabaseUrlError::EmptyPath);
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }
}

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn sqlite(path: impl AsRef<Path>) -> Self {
        DatabaseUrl::Sqlite(path.as_ref().to_path_buf())
    }
}

/// Displays without the password, so the URL can go into logs and error messages.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => match (u.find("://"), u.rfind('@')) {
                (Some(start), Some(at)) if at > start => {
                    let userinfo = &u[start + 3..at];
                    let user = userinfo.split(':').next().unwrap_or("");
                    write!(f, "{}{}:***{}", &u[..start + 3], user, &u[at..])
                }
                _ => f.write_str(u),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Opens one connection, configured for Portcullis.
pub fn establish(url: &DatabaseUrl) -> Result<DbConnection, diesel::ConnectionError> {
    match url {
        DatabaseUrl::Postgres(u) => PgConnection::establish(u).map(DbConnection::Postgres),
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    diesel::ConnectionError::BadConnection(format!(
                        "cannot create directory {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            let path_str = path.to_str().ok_or_else(|| {
                diesel::ConnectionError::InvalidConnectionUrl("path is not UTF-8".to_owned())
            })?;
            let mut conn = SqliteConnection::establish(path_str)?;
            conn.batch_execute(SQLITE_PRAGMAS).map_err(|e| {
                diesel::ConnectionError::BadConnection(format!("cannot configure SQLite: {e}"))
            })?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        establish(&self.url).map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    pub connection_timeout: Duration,
}

impl PoolOptions {
    pub fn for_backend(backend: Backend) -> Self {
        PoolOptions {
            // SQLite has one writer at a time; more connections only add contention.
            max_size: match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            },
            connection_timeout: Duration::from_secs(5),
        }
    }
}

/// The database: a pool of connections and the way to use them from async code.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite allows one writer; taking this before a write transaction makes writers queue
    /// here instead of failing with SQLITE_BUSY when a deferred transaction upgrades.
    sqlite_writer: Option<Arc<Mutex<()>>>,
}

impl Store {
    /// Connects (failing with the database's own error message if it cannot), runs pending
    /// migrations and builds the pool.
    pub fn open(url: &DatabaseUrl, options: PoolOptions) -> Result<Store, StoreError> {
        let mut first = establish(url)?;
        migrate(&mut first)?;
        drop(first);
        let pool = Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(1))
            .connection_timeout(options.connection_timeout)
            .test_on_check_out(false)
            .build_unchecked(Manager { url: url.clone() });
        let backend = url.backend();
        Ok(Store {
            pool,
            backend,
            sqlite_writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Like [`Store::run`], inside one transaction that commits when `f` succeeds.
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.transaction_blocking(f))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Blocking variant of [`Store::transaction`], for threads of our own (never async workers).
    pub fn transaction_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    {
        let mut conn = self.pool.get()?;
        let _guard = self
            .sqlite_writer
            .as_ref()
            .map(|lock| lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        (*conn).transaction(f)
    }

    /// Blocking variant of [`Store::run`], for threads of our own (never async workers).
    pub fn run_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(StoreError::from))
            .await
    }
}

/// Applies every pending migration of the connection's dialect; returns how many ran.
pub fn migrate(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let result = match conn {
        DbConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests;
