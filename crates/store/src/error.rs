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
            other => StoreError::Query(other),
        }
    }
}

impl StoreError {
    /// Whether retrying the operation later may succeed (the database is down or busy), as
    /// opposed to a problem with the request or the data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Connect(_) | StoreError::Pool(_))
    }
}
