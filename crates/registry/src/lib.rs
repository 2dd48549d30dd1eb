//! Tenants, organizations, devices, clients, signing keys and trust anchors: the admin API.

pub mod clients;
pub mod tenants;
