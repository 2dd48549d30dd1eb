//! Creating tenants: the row and its first signing keys, in one transaction.

use domain::model::{Environment, KeyState, TenantSlug};
use domain::secrets::MasterKey;
use domain::{ids, now_unix};
use store::repo::signing_keys;
use store::repo::tenants::{self, TenantRow};
use store::{Store, StoreError};
use tokens::keys::{self, SigningAlg};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("a tenant with this slug exists")]
    SlugTaken,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
}

/// Creates a tenant with an active RS256 and ES256 key.
pub async fn create(
    store: &Store,
    master_key: &MasterKey,
    slug: &TenantSlug,
    name: &str,
    environment: Environment,
) -> Result<TenantRow, TenantError> {
    let now = now_unix();
    let row = TenantRow {
        id: ids::new_id(),
        slug: slug.to_string(),
        name: name.to_owned(),
        environment: environment.to_string(),
        settings: "{}".to_owned(),
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    let key_rows = SigningAlg::ALL
        .iter()
        .map(|alg| keys::generate(&row.id, *alg, KeyState::Active, master_key))
        .collect::<Result<Vec<_>, _>>()?;
    let inserted = row.clone();
    store
        .transaction(move |c| {
            tenants::insert(c, &inserted)?;
            key_rows.iter().try_for_each(|k| signing_keys::insert(c, k))
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => TenantError::SlugTaken,
            e => TenantError::Store(e),
        })?;
    Ok(row)
}
