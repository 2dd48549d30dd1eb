use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
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
        DatabaseUrl::Postgres(u) => {
            PgConnection::establish(&with_connect_timeout(u)).map(DbConnection::Postgres)
        }
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

/// A pooled connection, whether it saw an error that says the link to the database is gone,
/// and the pool's loss epoch it was last known good at.
///
/// diesel's PostgreSQL connection reports itself broken only for a failed transaction, not for
/// a dead socket, so without the flag the pool would hand a dead connection out forever. When
/// one connection is lost the others usually are too (a restart, a failover, a pooler or an
/// admin ending sessions): the loss bumps the epoch, and every connection from before it is
/// pinged once at its next checkout, so one request notices the loss, not one per connection.
struct Pooled {
    conn: DbConnection,
    broken: bool,
    good_at: u64,
    epoch: Arc<AtomicU64>,
}

impl Pooled {
    /// Runs `f`, remembering whether its error means the connection is unusable.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = f(&mut self.conn);
        if let Err(e) = &result {
            if e.is_connection_lost() {
                self.broken = true;
                self.epoch.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }
}

/// libpq waits forever for an unreachable host by default, and a query on a connection whose
/// peer vanished (a partition, a host that died without closing its sockets) waits for the
/// kernel's retransmission timeout, about 15 minutes. A replica must instead report the database
/// unavailable within seconds: connecting gives up after 3 s, and unacknowledged data after 10 s
/// (`tcp_user_timeout`). Parameters the URL sets itself win.
pub(crate) fn with_connect_timeout(url: &str) -> std::borrow::Cow<'_, str> {
    let mut out = std::borrow::Cow::Borrowed(url);
    for (name, value) in [("connect_timeout", "3"), ("tcp_user_timeout", "10000")] {
        if !out.contains(&format!("{name}=")) {
            let sep = if out.contains('?') { '&' } else { '?' };
            out = format!("{out}{sep}{name}={value}").into();
        }
    }
    out
}

/// A statement of a pooled connection that runs longer than this is cancelled by the server:
/// no request waits on a stuck query for ever (migrations, on their own connection, are not
/// bound by it).
const STATEMENT_TIMEOUT: &str = "SET statement_timeout = '15s'";

struct Manager {
    url: DatabaseUrl,
    epoch: Arc<AtomicU64>,
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let good_at = self.epoch.load(Ordering::Relaxed);
        establish(&self.url)
            .and_then(|mut conn| {
                if let DbConnection::Postgres(pg) = &mut conn {
                    pg.batch_execute(STATEMENT_TIMEOUT).map_err(|e| {
                        diesel::ConnectionError::BadConnection(format!(
                            "cannot set the statement timeout: {e}"
                        ))
                    })?;
                }
                Ok(conn)
            })
            .map(|conn| Pooled {
                conn,
                broken: false,
                good_at,
                epoch: self.epoch.clone(),
            })
            .map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), r2d2::Error> {
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.broken || conn.conn.is_broken()
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
            // How long a request waits for a connection before answering 503: long enough to
            // ride out a burst, short enough that an outage is reported, not hung on.
            connection_timeout: Duration::from_secs(3),
        }
    }
}

/// The database: a pool of connections and the way to use them from async code.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    /// Bumped whenever a connection is found lost; see [`Pooled`].
    epoch: Arc<AtomicU64>,
    backend: Backend,
    /// SQLite allows one writer; taking this before a write transaction makes writers queue
    /// here instead of failing with SQLITE_BUSY when a deferred transaction upgrades.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    url: DatabaseUrl,
}

impl Store {
    /// Connects (failing with the database's own error message if it cannot), runs pending
    /// migrations and builds the pool.
    pub fn open(url: &DatabaseUrl, options: PoolOptions) -> Result<Store, StoreError> {
        let mut first = establish(url)?;
        migrate(&mut first)?;
        drop(first);
        let epoch = Arc::new(AtomicU64::new(0));
        let pool = Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(1))
            .connection_timeout(options.connection_timeout)
            .test_on_check_out(false)
            .build_unchecked(Manager {
                url: url.clone(),
                epoch: epoch.clone(),
            });
        let backend = url.backend();
        Ok(Store {
            pool,
            epoch,
            backend,
            sqlite_writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            url: url.clone(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Reclaims space and refreshes the planner's statistics (after a bulk load).
    pub fn vacuum_analyze(&self) -> Result<(), StoreError> {
        let sql = match self.backend {
            Backend::Postgres => "VACUUM ANALYZE",
            Backend::Sqlite => "ANALYZE",
        };
        self.run_blocking(|c| Ok(c.batch_execute(sql)?))
    }

    /// On PostgreSQL, starts listening for the change notices of every replica's writes
    /// ([`crate::changes`]); `None` on SQLite, where this process is the only writer.
    pub fn listen(
        &self,
        on: impl Fn(crate::changes::Event) + Send + 'static,
    ) -> Option<Arc<crate::changes::ListenerHealth>> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Some(crate::changes::listen(url, on)),
            DatabaseUrl::Sqlite(_) => None,
        }
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.checkout()?.with(f))
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
        let mut conn = self.checkout()?;
        let _guard = self
            .sqlite_writer
            .as_ref()
            .map(|lock| lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        conn.with(|c| c.transaction(f))
    }

    /// Blocking variant of [`Store::run`], for threads of our own (never async workers).
    pub fn run_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    {
        self.checkout()?.with(f)
    }

    /// A connection from the pool; one from before the last connection loss is pinged first
    /// and dropped if it is dead too (see [`Pooled`]).
    fn checkout(&self) -> Result<PooledConnection<Manager>, StoreError> {
        // Bounded: each dead connection is dropped as it fails, so a whole pool of them is
        // gone after `max_size` tries; the last failure then answers.
        let mut last = None;
        for _ in 0..=self.pool.max_size() {
            let mut conn = self.pool.get()?;
            let current = self.epoch.load(Ordering::Relaxed);
            if conn.good_at >= current {
                return Ok(conn);
            }
            match conn.conn.batch_execute("SELECT 1") {
                Ok(()) => {
                    conn.good_at = current;
                    return Ok(conn);
                }
                // Dropped as broken; the pool opens a new one (or fails with its timeout).
                Err(e) => {
                    conn.broken = true;
                    last = Some(e);
                }
            }
        }
        Err(last.map_or_else(
            || StoreError::Task("no usable database connection".into()),
            StoreError::from,
        ))
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
