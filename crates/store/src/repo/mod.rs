//! Repositories: one module per table family, plain functions over a [`crate::DbConnection`] so
//! that callers can compose them inside one transaction.

pub mod audit;
pub mod browser;
pub mod clients;
pub mod devices;
pub mod enrollments;
pub mod invitations;
pub mod memberships;
pub mod mfa;
pub mod organizations;
pub mod refresh_tokens;
pub mod signing_keys;
pub mod tenants;
pub mod tokens;
pub mod trust_anchors;
pub mod trusted_issuers;
pub mod users;
