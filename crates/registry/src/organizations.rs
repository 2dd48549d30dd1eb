//! Organizations: the operations behind the admin API (authorisation happens before; here:
//! the rows, the audit event in the same transaction, then what the change makes stale).

use store::repo::audit;
use store::repo::organizations::{self, OrganizationRow};
use store::repo::tenants::TenantRow;
use store::{Store, StoreError};
use tokens::service::Changed;
use tokens::TokenService;

use crate::actor::Actor;

/// Deletes the organization; the database takes its devices, memberships, clients and
/// enrollments with it, and so do this replica's caches, at once.
pub async fn delete(
    store: &Store,
    svc: &TokenService,
    actor: &Actor,
    tenant: &TenantRow,
    org: &OrganizationRow,
) -> Result<(), StoreError> {
    let event = actor.audit(
        &tenant.id,
        "organization.delete",
        &format!("organization:{}", org.id),
        serde_json::json!({}),
    );
    let (tid, oid) = (tenant.id.clone(), org.id.clone());
    store
        .transaction(move |c| {
            organizations::delete(c, &tid, &oid)?;
            audit::insert(c, &event)
        })
        .await?;
    svc.invalidate(Changed::OrganizationDeleted {
        tenant_id: &tenant.id,
        id: &org.id,
    });
    Ok(())
}
