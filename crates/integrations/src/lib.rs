//! Accounts of people and what they run: sign-in with passwords and emailed codes, integration
//! accounts of entities, vendor ↔ department enrollments; the account API.
//!
//! Builds on `registry` (an integration account is a registry client owned by an entity), which
//! does not know this crate; the token endpoint reaches the sign-in through
//! [`domain::accounts::Accounts`], implemented here by [`signin::People`].

pub mod api;
pub mod caller;
pub mod enrollments;
pub mod integration;
pub mod mail;
pub mod members;
pub mod signin;

pub use api::{configure, AccountApi};
