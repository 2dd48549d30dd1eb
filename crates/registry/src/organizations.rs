//! Organizations: the operations behind the admin API (authorisation happens before; here:
//! the rows, the audit event in the same transaction, then what the change makes stale).

use domain::model::OrganizationKind;
use domain::{ids, now_unix};
use store::repo::audit;
use store::repo::organizations::{self, OrganizationRow};
use store::repo::tenants::TenantRow;
use store::{Store, StoreError};
use tokens::cache::Caches;
use tokens::cache::Changed;

use crate::actor::Actor;

/// Creates an organization of `kind` (its id shows the kind: `VN…`, `FD…`, `OR…`).
pub async fn create(
    store: &Store,
    actor: &Actor,
    tenant: &TenantRow,
    kind: OrganizationKind,
    name: String,
) -> Result<OrganizationRow, StoreError> {
    let now = now_unix();
    let row = OrganizationRow {
        id: ids::new_organization_id(kind),
        tenant_id: tenant.id.clone(),
        kind,
        name,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let event = actor.audit(
        &tenant.id,
        "organization.create",
        &format!("organization:{}", row.id),
        serde_json::json!({"kind": row.kind}),
    );
    let inserted = row.clone();
    store::repo::audit::audited(store, event, move |c| organizations::insert(c, &inserted)).await?;
    Ok(row)
}

/// Renames the organization if it is still at `version`; `None` if it changed meanwhile.
pub async fn rename(
    store: &Store,
    actor: &Actor,
    tenant: &TenantRow,
    org: &OrganizationRow,
    version: i64,
    name: String,
) -> Result<Option<OrganizationRow>, StoreError> {
    let event = actor.audit(
        &tenant.id,
        "organization.update",
        &format!("organization:{}", org.id),
        serde_json::json!({"name": name}),
    );
    let (tid, oid) = (tenant.id.clone(), org.id.clone());
    store
        .transaction(move |c| {
            if !organizations::rename_if_version(c, &tid, &oid, version, &name, now_unix())? {
                return Ok(None);
            }
            audit::insert(c, &event)?;
            organizations::find(c, &tid, &oid)
        })
        .await
}

/// Deletes the organization; the database takes its devices, memberships, clients and
/// enrollments with it, and so do this replica's caches, at once.
pub async fn delete(
    store: &Store,
    caches: &Caches,
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
    store::repo::audit::audited(store, event, move |c| organizations::delete(c, &tid, &oid))
        .await?;
    caches
        .invalidate(Changed::OrganizationDeleted {
            tenant_id: &tenant.id,
            id: &org.id,
        })
        .await;
    Ok(())
}
