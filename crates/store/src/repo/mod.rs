//! Repositories: one module per table family, plain functions over a [`crate::DbConnection`] so
//! that callers can compose them inside one transaction.

pub mod clients;
pub mod tenants;
pub mod users;
