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
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ordered() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a < b, "UUIDv7 ids sort by creation time");
    }

    #[test]
    fn organization_ids_show_their_kind() {
        assert!(new_organization_id(OrganizationKind::Vendor).starts_with("VN"));
        assert!(new_organization_id(OrganizationKind::Department).starts_with("FD"));
        assert!(new_organization_id(OrganizationKind::Other).starts_with("OR"));
    }
}
