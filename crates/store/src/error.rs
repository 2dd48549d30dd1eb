use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` names what collided, when known.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    #[error("database error: {0}")]
    Query(DieselError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// One failure handed to every caller that waited on the same load (the caches).
    #[error(transparent)]
    Shared(std::sync::Arc<StoreError>),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict {
                    constraint: info
                        .constraint_name()
                        .map(str::to_owned)
                        .unwrap_or_else(|| info.message().to_owned()),
                }
            }
            // A stored value that does not parse into its type (a row → domain conversion).
            DieselError::DeserializationError(e) => StoreError::Corrupt(e.to_string()),
            other => StoreError::Query(other),
        }
    }
}

impl StoreError {
    /// Back from a shared failure: the error itself when this caller is the only holder.
    pub fn shared(e: std::sync::Arc<StoreError>) -> StoreError {
        std::sync::Arc::try_unwrap(e).unwrap_or_else(StoreError::Shared)
    }

    /// Whether retrying the operation later may succeed (the database is down, restarting,
    /// unreachable or busy), as opposed to a problem with the request or the data.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Shared(e) => e.is_unavailable(),
            StoreError::Connect(_) | StoreError::Pool(_) => true,
            StoreError::Query(e) => is_transient(e),
            _ => false,
        }
    }

    /// Whether the connection this error came from can no longer be used, so the pool must
    /// drop it rather than hand it out again.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            StoreError::Shared(e) => e.is_connection_lost(),
            StoreError::Query(e) => is_connection_lost(e),
            _ => false,
        }
    }
}

fn is_connection_lost(e: &DieselError) -> bool {
    match e {
        // diesel reports a dead PostgreSQL socket (the server restarted, a pooler or an admin
        // terminated the backend, a failover) as ClosedConnection.
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::BrokenTransactionManager => true,
        DieselError::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => is_connection_lost(rollback_error) || is_connection_lost(commit_error),
        DieselError::RollbackTransaction | DieselError::AlreadyInTransaction => false,
        DieselError::DatabaseError(_, info) => {
            // PostgreSQL's words when it ends a session (SQLSTATE 57P01..57P03, class 08),
            // should the socket still look open when the error is read.
            let m = info.message();
            m.contains("terminating connection")
                || m.contains("server closed the connection")
                || m.contains("no connection to the server")
                || m.contains("the database system is")
        }
        _ => false,
    }
}

fn is_transient(e: &DieselError) -> bool {
    if is_connection_lost(e) {
        return true;
    }
    match e {
        // SQLite's writer lock held past the busy timeout, or a statement PostgreSQL
        // cancelled at the statement timeout: overloaded or stuck, not wrong.
        DieselError::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("database is locked")
                || m.contains("database table is locked")
                || m.contains("statement timeout")
        }
        _ => false,
    }
}
