//! Tenants: creation with their first signing keys, settings, lookup.

use domain::model::{Environment, KeyState, TenantSlug};
use domain::secrets::MasterKey;
use domain::tenant_settings::TenantSettings;
use domain::{ids, now_unix};
use store::repo::audit::{self, AuditRow};
use store::repo::signing_keys;
use store::repo::tenants::{self, TenantChanges, TenantRow};
use tokens::cache::Caches;
use tokens::cache::Changed;

use crate::actor::Actor;
use store::{Store, StoreError};
use tokens::keys::{self, SigningAlg};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("a tenant with slug `{0}` exists")]
    SlugTaken(String),
    #[error("the tenant changed since it was read")]
    Changed,
    #[error("the tenant changed meanwhile; retry")]
    ChangedMeanwhile,
    #[error("the system tenant cannot be disabled")]
    SystemTenant,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
}

/// Creates a tenant with an active RS256 and ES256 key and its `portal` client; `audit` describes the creation for the
/// same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    store: &Store,
    caches: &Caches,
    master_key: &MasterKey,
    slug: &TenantSlug,
    name: &str,
    environment: Environment,
    settings: &TenantSettings,
    audit: impl FnOnce(&TenantRow) -> Option<AuditRow>,
) -> Result<TenantRow, TenantError> {
    let row = create_with(
        store,
        master_key,
        slug,
        name,
        environment,
        settings,
        audit,
        |_, _| Ok(()),
    )
    .await?;
    // The slug may be one a request asked for before it existed ("no such tenant").
    caches.invalidate(Changed::Tenant { slug: &row.slug }).await;
    Ok(row)
}

/// [`create`], with `also` writing more rows of the new tenant in the same transaction (the
/// bootstrap's platform admin and automation client): all of it exists, or none.
#[allow(clippy::too_many_arguments)]
pub async fn create_with<F>(
    store: &Store,
    master_key: &MasterKey,
    slug: &TenantSlug,
    name: &str,
    environment: Environment,
    settings: &TenantSettings,
    audit: impl FnOnce(&TenantRow) -> Option<AuditRow>,
    also: F,
) -> Result<TenantRow, TenantError>
where
    F: FnOnce(&mut store::DbConnection, &TenantRow) -> Result<(), StoreError> + Send + 'static,
{
    let now = now_unix();
    let row = TenantRow {
        id: ids::new_id(),
        slug: slug.to_string(),
        name: name.to_owned(),
        environment,
        settings: settings.clone(),
        disabled: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let key_rows = SigningAlg::ALL
        .iter()
        .map(|alg| keys::generate(&row.id, *alg, KeyState::Active, master_key))
        .collect::<Result<Vec<_>, _>>()?;
    let event = audit(&row);
    let inserted = row.clone();
    let portal = crate::clients::NewClient::portal().into_row(&row.id, now);
    store
        .transaction(move |c| {
            tenants::insert(c, &inserted)?;
            key_rows
                .iter()
                .try_for_each(|k| signing_keys::insert(c, k))?;
            store::repo::clients::insert(c, &portal)?;
            also(c, &inserted)?;
            event.iter().try_for_each(|e| audit::insert(c, e))
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => TenantError::SlugTaken(slug.to_string()),
            e => TenantError::Store(e),
        })?;
    Ok(row)
}

/// Renames the tenant or changes its environment or settings, if it is still at `version`.
pub async fn update(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    version: i64,
    changes: TenantChanges,
) -> Result<TenantRow, TenantError> {
    let event = actor.audit(
        &tenant.id,
        "tenant.update",
        &format!("tenant:{}", tenant.id),
        serde_json::json!({
            "name": changes.name, "environment": changes.environment, "settings": changes.settings,
        }),
    );
    let tid = tenant.id.clone();
    let updated = store
        .transaction(move |c| {
            if !tenants::update_if_version(c, &tid, version, &changes, now_unix())? {
                return Ok(None);
            }
            audit::insert(c, &event)?;
            tenants::find(c, &tid)
        })
        .await
        .map_err(TenantError::Store)?
        .ok_or(TenantError::Changed)?;
    caches
        .invalidate(Changed::Tenant {
            slug: &updated.slug,
        })
        .await;
    Ok(updated)
}

/// Disables the tenant: its tokens stop validating, it issues nothing more.
pub async fn disable(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
) -> Result<(), TenantError> {
    if tenant.slug == TenantSlug::SYSTEM {
        return Err(TenantError::SystemTenant);
    }
    let event = actor.audit(
        &tenant.id,
        "tenant.disable",
        &format!("tenant:{}", tenant.id),
        serde_json::json!({}),
    );
    let (tid, version) = (tenant.id.clone(), tenant.version);
    let changes = TenantChanges {
        disabled: Some(true),
        ..Default::default()
    };
    let done = store
        .transaction(move |c| {
            let done = tenants::update_if_version(c, &tid, version, &changes, now_unix())?;
            if done {
                audit::insert(c, &event)?;
            }
            Ok(done)
        })
        .await
        .map_err(TenantError::Store)?;
    if !done {
        return Err(TenantError::ChangedMeanwhile);
    }
    caches
        .invalidate(Changed::Tenant { slug: &tenant.slug })
        .await;
    Ok(())
}

/// `platform_admin` administers every tenant, so only the system tenant's users and clients
/// may hold it; anywhere else it would let a tenant's own admin make a platform admin.
pub fn check_platform_admin(
    tenant: &TenantRow,
    roles: &[domain::model::TenantRole],
) -> Result<(), &'static str> {
    if roles.contains(&domain::model::TenantRole::PlatformAdmin)
        && tenant.slug != TenantSlug::SYSTEM
    {
        return Err("platform_admin exists only in the system tenant");
    }
    Ok(())
}

/// A tenant by id or by slug.
pub async fn find(store: &Store, id_or_slug: &str) -> Result<Option<TenantRow>, StoreError> {
    let key = id_or_slug.to_owned();
    store
        .run(move |c| tenants::find_by_id_or_slug(c, &key))
        .await
}

/// Gives a tenant created before every tenant had one (the `system` tenant of earlier
/// versions) its `portal` client, through which its people sign in. Idempotent.
pub async fn ensure_portal(store: &Store, tenant_id: &str) -> Result<(), StoreError> {
    let portal = crate::clients::NewClient::portal().into_row(tenant_id, now_unix());
    let found = store
        .run({
            let (tid, cid) = (tenant_id.to_owned(), portal.client_id.clone());
            move |c| store::repo::clients::find(c, &tid, &cid)
        })
        .await?;
    if found.is_some() {
        return Ok(());
    }
    match store
        .transaction(move |c| store::repo::clients::insert(c, &portal))
        .await
    {
        // Another replica added it first.
        Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
