//! Devices: registration with a secret and a non-expiring token, updates, deletion and token
//! re-issue (a new token version, optionally bound to a new certificate). Each operation
//! writes its rows and audit event in one transaction, then drops the device from this
//! replica's cache; tokens are signed with the tenant's current active RS256 key.

use std::sync::Arc;

use domain::secrets::{generate_secret, MasterKey};
use domain::{ids, now_unix};
use store::repo::audit;
use store::repo::devices::{self, DeviceRow};
use store::repo::organizations::OrganizationRow;
use store::repo::tenants::TenantRow;
use store::{Store, StoreError};
use tokens::cache::Caches;
use tokens::cache::{Changed, Tenant};
use tokens::keys::SigningAlg;

use crate::actor::Actor;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device not found")]
    NotFound,
    #[error("tenant not found")]
    TenantGone,
    #[error("the device changed since it was read")]
    Changed,
    /// The tenant has no key to sign with: not the caller's fault.
    #[error("cannot sign device tokens: {0}")]
    Signing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A device as registered: its row, its secret and its token (both shown once).
pub struct Registered {
    pub row: DeviceRow,
    pub secret: String,
    pub token: String,
}

/// The tenant as the database has it now, to sign with its current active key.
async fn signer(caches: &Caches, slug: &str) -> Result<Arc<Tenant>, DeviceError> {
    caches
        .fresh_tenant(slug)
        .await?
        .ok_or(DeviceError::TenantGone)
}

fn active_kid(tenant: &Tenant) -> Result<String, DeviceError> {
    tenant
        .keys
        .signer(SigningAlg::Rs256)
        .map(|k| k.kid.clone())
        .ok_or_else(|| DeviceError::Signing("the tenant has no active RS256 key".into()))
}

fn sign(tenant: &Tenant, d: &DeviceRow) -> Result<String, DeviceError> {
    tokens::mint::device_token(
        tenant,
        &d.id,
        &d.organization_id,
        d.token_version,
        d.cert_thumbprint.as_deref(),
    )
    .map(|(t, _)| t)
    .map_err(|e| DeviceError::Signing(e.to_string()))
}

/// A device to register: its name, and the certificate thumbprint its token is bound to.
pub struct NewDevice {
    pub name: String,
    pub thumbprint: Option<String>,
}

/// What a PATCH changes; `None` keeps the value.
pub struct DeviceChanges {
    pub name: Option<String>,
    pub disabled: Option<bool>,
}

/// Registers a device of `org`.
pub async fn create(
    store: &Store,
    caches: &Caches,
    master_key: &MasterKey,
    actor: &Actor,
    tenant: &TenantRow,
    org: &OrganizationRow,
    new: NewDevice,
) -> Result<Registered, DeviceError> {
    let NewDevice { name, thumbprint } = new;
    let signer = signer(caches, &tenant.slug).await?;
    let secret = generate_secret().map_err(|e| DeviceError::Signing(e.to_string()))?;
    let now = now_unix();
    let row = DeviceRow {
        id: ids::new_id(),
        tenant_id: tenant.id.clone(),
        organization_id: org.id.clone(),
        name,
        secret_hash: Some(
            master_key
                .hash_secret(&secret)
                .map_err(|e| DeviceError::Signing(e.to_string()))?,
        ),
        cert_thumbprint: thumbprint,
        token_version: 1,
        disabled: false,
        failed_auth_count: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
        version: 1,
        token_kid: Some(active_kid(&signer)?),
    };
    let token = sign(&signer, &row)?;
    let event = actor.audit(
        &tenant.id,
        "device.create",
        &format!("device:{}", row.id),
        serde_json::json!({"organization": org.id, "bound": row.cert_thumbprint.is_some()}),
    );
    let inserted = row.clone();
    store::repo::audit::audited(store, event, move |c| devices::insert(c, &inserted)).await?;
    // A lookup of its certificate before it existed may have been cached as "no device".
    caches
        .invalidate(Changed::Device {
            tenant_id: &tenant.id,
            id: &row.id,
            certs: [row.cert_thumbprint.as_deref(), None],
        })
        .await;
    Ok(Registered { row, secret, token })
}

/// Renames or disables (enables) the device, if it is still at `version`.
pub async fn update(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    device: &DeviceRow,
    version: i64,
    changes: DeviceChanges,
) -> Result<DeviceRow, DeviceError> {
    let DeviceChanges { name, disabled } = changes;
    let event = actor.audit(
        &tenant.id,
        "device.update",
        &format!("device:{}", device.id),
        serde_json::json!({"name": name, "disabled": disabled}),
    );
    let (tid, did) = (tenant.id.clone(), device.id.clone());
    let updated = store
        .transaction(move |c| {
            if !devices::update_if_version(
                c,
                &tid,
                &did,
                version,
                name.as_deref(),
                disabled,
                now_unix(),
            )? {
                return Ok(None);
            }
            audit::insert(c, &event)?;
            devices::find(c, &tid, &did)
        })
        .await?
        .ok_or(DeviceError::Changed)?;
    caches
        .invalidate(Changed::Device {
            tenant_id: &tenant.id,
            id: &updated.id,
            certs: [device.cert_thumbprint.as_deref(), None],
        })
        .await;
    Ok(updated)
}

/// Deletes the device; its token stops validating.
pub async fn delete(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    device: &DeviceRow,
) -> Result<(), DeviceError> {
    let event = actor.audit(
        &tenant.id,
        "device.delete",
        &format!("device:{}", device.id),
        serde_json::json!({}),
    );
    let (tid, did) = (tenant.id.clone(), device.id.clone());
    store::repo::audit::audited(store, event, move |c| devices::delete(c, &tid, &did)).await?;
    caches
        .invalidate(Changed::Device {
            tenant_id: &tenant.id,
            id: &device.id,
            certs: [device.cert_thumbprint.as_deref(), None],
        })
        .await;
    Ok(())
}

/// A new token version (the previous token stops validating), bound to a new certificate when
/// `thumbprint` is `Some(Some(_))`; audited as `action`.
pub async fn reissue(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    device: &DeviceRow,
    thumbprint: Option<Option<String>>,
    action: &str,
) -> Result<(DeviceRow, String), DeviceError> {
    let signer = signer(caches, &tenant.slug).await?;
    let kid = active_kid(&signer)?;
    let event = actor.audit(
        &tenant.id,
        action,
        &format!("device:{}", device.id),
        serde_json::json!({"thumbprint": thumbprint}),
    );
    let (tid, did) = (tenant.id.clone(), device.id.clone());
    let updated = store
        .transaction(move |c| {
            devices::next_token(
                c,
                &tid,
                &did,
                &kid,
                thumbprint.as_ref().map(|t| t.as_deref()),
                now_unix(),
            )?;
            audit::insert(c, &event)?;
            devices::find(c, &tid, &did)
        })
        .await?
        .ok_or(DeviceError::NotFound)?;
    caches
        .invalidate(Changed::Device {
            tenant_id: &tenant.id,
            id: &updated.id,
            certs: [
                device.cert_thumbprint.as_deref(),
                updated.cert_thumbprint.as_deref(),
            ],
        })
        .await;
    let token = sign(&signer, &updated)?;
    Ok((updated, token))
}
