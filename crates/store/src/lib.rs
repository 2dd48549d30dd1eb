//! Storage for Portcullis: one diesel code path over SQLite (the embedded default) and
//! PostgreSQL (for several replicas), a connection pool, migrations and the repositories.
//!
//! Everything here is blocking diesel code; [`Store::run`] moves it off the async workers.

pub mod changes;
mod db;
mod error;
pub mod repo;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transfer;

pub use db::{
    establish, migrate, Backend, DatabaseUrl, DatabaseUrlError, DbConnection, PoolOptions, Store,
};
pub use error::StoreError;
