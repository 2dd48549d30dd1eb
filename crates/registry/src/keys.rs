//! Tenant signing keys: creation (`next`), promotion (`next` → `active`, retiring the active key
//! of the same algorithm) and deletion of retired keys. Each operation writes its rows and its
//! audit event in one transaction, then drops the tenant (whose key ring changed) from this
//! replica's cache.

use domain::model::KeyState;
use domain::now_unix;
use domain::secrets::MasterKey;
use store::repo::signing_keys::{self, SigningKeyRow};
use store::repo::tenants::TenantRow;
use store::repo::{audit, devices};
use store::{Store, StoreError};
use tokens::cache::Caches;
use tokens::cache::Changed;
use tokens::keys::{self as key_material, SigningAlg};

use crate::actor::Actor;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no such key")]
    NotFound,
    #[error("only a key in state next can be promoted")]
    NotNext,
    #[error("only a retired key can be deleted")]
    NotRetired,
    #[error(transparent)]
    Material(#[from] key_material::KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a key in state `next`: published in JWKS at once, signing nothing yet.
pub async fn create(
    store: &Store,
    caches: &Caches,
    master_key: &MasterKey,
    actor: &Actor,
    tenant: &TenantRow,
    alg: SigningAlg,
) -> Result<SigningKeyRow, KeyError> {
    let row = key_material::generate(&tenant.id, alg, KeyState::Next, master_key)?;
    let event = actor.audit(
        &tenant.id,
        "key.create",
        &format!("key:{}", row.id),
        serde_json::json!({"alg": row.alg}),
    );
    let inserted = row.clone();
    store::repo::audit::audited(store, event, move |c| signing_keys::insert(c, &inserted)).await?;
    caches
        .invalidate(Changed::Tenant { slug: &tenant.slug })
        .await;
    Ok(row)
}

/// Promotes a `next` key; returns how many device tokens the retired key had signed (they
/// stop validating).
pub async fn promote(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    kid: &str,
) -> Result<i64, KeyError> {
    let event = actor.audit(
        &tenant.id,
        "key.promote",
        &format!("key:{kid}"),
        serde_json::json!({}),
    );
    let (tid, k) = (tenant.id.clone(), kid.to_owned());
    let outcome = store
        .transaction(move |c| {
            let keys = signing_keys::of_tenant(c, &tid)?;
            let Some(key) = keys.iter().find(|r| r.id == k) else {
                return Ok(Err(KeyError::NotFound));
            };
            if key.state != KeyState::Next {
                return Ok(Err(KeyError::NotNext));
            }
            let mut invalidated = 0;
            for old in keys
                .iter()
                .filter(|r| r.alg == key.alg && r.state == KeyState::Active)
            {
                invalidated += devices::count_tokens_signed_by(c, &tid, &old.id)?;
            }
            signing_keys::promote(c, &tid, &k, key.alg, now_unix())?;
            audit::insert(c, &event)?;
            Ok(Ok(invalidated))
        })
        .await??;
    caches
        .invalidate(Changed::Tenant { slug: &tenant.slug })
        .await;
    Ok(outcome)
}

/// Deletes a retired key: it leaves the JWKS, and what it signed stops verifying.
pub async fn delete(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    kid: &str,
) -> Result<(), KeyError> {
    let event = actor.audit(
        &tenant.id,
        "key.delete",
        &format!("key:{kid}"),
        serde_json::json!({}),
    );
    let (tid, k) = (tenant.id.clone(), kid.to_owned());
    store
        .transaction(move |c| {
            if !signing_keys::of_tenant(c, &tid)?.iter().any(|r| r.id == k) {
                return Ok(Err(KeyError::NotFound));
            }
            if !signing_keys::delete_retired(c, &tid, &k)? {
                return Ok(Err(KeyError::NotRetired));
            }
            audit::insert(c, &event)?;
            Ok(Ok(()))
        })
        .await??;
    caches
        .invalidate(Changed::Tenant { slug: &tenant.slug })
        .await;
    Ok(())
}
