//! The shared model of Portcullis: identifiers, entity vocabularies, secrets and passwords.
//!
//! Nothing here performs I/O; every other crate depends on this one.

pub mod accounts;
pub mod certs;
pub mod claims;
pub mod client_metadata;
pub mod email;
pub mod federation;
pub mod ids;
pub mod model;
pub mod password;
pub mod scopes;
pub mod secrets;
pub mod tenant_settings;

/// Seconds since the Unix epoch. All timestamps in Portcullis are stored this way: identical in
/// both SQL dialects, cheap to compare on the token path, and what JWT `iat`/`exp` use anyway.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
