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
