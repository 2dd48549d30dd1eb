//! Identifiers. Ids are stored as text (portable across SQLite and PostgreSQL); new ones are
//! UUIDv7 so that they sort by creation time, which keeps cursor pagination and indexes cheap.

use crate::model::OrganizationKind;

/// A fresh, time-ordered identifier.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Organization ids carry their kind, as the systems Portcullis replaces expect:
/// vendors `VN…`, departments `FD…`, others `OR…`.
pub fn new_organization_id(kind: OrganizationKind) -> String {
    format!("{}{}", kind.id_prefix(), uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests;
