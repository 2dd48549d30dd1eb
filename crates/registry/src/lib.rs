//! Tenants, organizations, devices, clients, signing keys and trust anchors: the admin API.

pub mod actor;
pub mod api;
pub mod clients;
pub mod devices;
pub mod federation;
pub mod keys;
pub mod organizations;
pub mod tenants;
pub mod trust_anchors;
pub mod users;

pub use api::{configure, RegistryApi};
