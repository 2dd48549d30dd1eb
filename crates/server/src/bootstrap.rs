//! First start on an empty database: the `system` tenant with its signing keys and `portal`
//! client, the platform admin and the `admin` automation client. Later starts find the `system`
//! tenant and create nothing (but its `portal` client, if an earlier version left it out).

use domain::model::{ClientKind, Environment, TenantRole, TenantSlug};
use domain::secrets::{generate_secret, MasterKey};
use domain::{ids, now_unix, password};
use store::repo::clients::{self, ClientSecretRow};
use store::repo::tenants;
use store::repo::users::{self, UserRow};
use store::{Store, StoreError};

use crate::config::{BootstrapConfig, RunMode};

/// The id of the platform's automation client in the `system` tenant.
pub const ADMIN_CLIENT_ID: &str = "admin";

/// What a first start created; the generated credentials are shown once, then forgotten.
pub struct Bootstrapped {
    pub admin_email: String,
    pub generated_password: Option<String>,
    pub generated_client_secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("bootstrap: {0}")]
    Store(#[from] StoreError),
    #[error("bootstrap: {0}")]
    Crypto(String),
    #[error("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL: {0}")]
    Email(#[from] domain::email::EmailError),
}

/// Creates the system tenant and its administrators unless they exist. Safe when several
/// replicas start at once: the unique slug lets one win, the others find it. The tenant is
/// made by the same `registry::tenants::create` as the admin API's (keys, the `portal` client
/// people sign in through), with the platform admin and the automation client in the same
/// transaction.
pub async fn run(
    store: &Store,
    master_key: &MasterKey,
    cfg: &BootstrapConfig,
    mode: RunMode,
) -> Result<Option<Bootstrapped>, BootstrapError> {
    let slug = TenantSlug::system();
    let exists = store
        .run(|c| tenants::find_by_slug(c, TenantSlug::SYSTEM))
        .await?;
    if let Some(system) = exists {
        // Bootstrapped by an earlier version, without the portal client.
        registry::tenants::ensure_portal(store, &system.id).await?;
        return Ok(None);
    }
    let crypto = |e: &dyn std::fmt::Display| BootstrapError::Crypto(e.to_string());

    let (password, generated_password) = match &cfg.admin_password {
        Some(p) => (p.clone(), None),
        None => {
            let p = generate_secret().map_err(|e| crypto(&e))?;
            (p.clone(), Some(p))
        }
    };
    let (secret, generated_client_secret) = match &cfg.client_secret {
        Some(s) => (s.clone(), None),
        None => {
            let s = generate_secret().map_err(|e| crypto(&e))?;
            (s.clone(), Some(s))
        }
    };
    let password_hash = password::hash_password(&password).map_err(|e| crypto(&e))?;
    let secret_hash = master_key.hash_secret(&secret).map_err(|e| crypto(&e))?;
    let admin_email = domain::email::normalize(&cfg.admin_email)?;
    let environment = match mode {
        RunMode::Production => Environment::Production,
        RunMode::Development => Environment::Sandbox,
    };
    let email = admin_email.clone();
    let created = registry::tenants::create_with(
        store,
        master_key,
        &slug,
        "System",
        environment,
        &domain::tenant_settings::TenantSettings::default(),
        |_| None,
        move |c, tenant| {
            let now = now_unix();
            let platform_admin = vec![TenantRole::PlatformAdmin];
            let user = UserRow::new(&tenant.id, email, password_hash, true, platform_admin, now);
            let mut admin =
                registry::clients::NewClient::machine("Platform automation", &["admin"]);
            admin.client_id = Some(ADMIN_CLIENT_ID.to_owned());
            admin.kind = ClientKind::Admin;
            admin.tenant_roles = vec![TenantRole::PlatformAdmin];
            admin.default_scopes = Some(vec!["admin".to_owned()]);
            let client = admin.into_row(&tenant.id, now);
            let secret_row = ClientSecretRow {
                id: ids::new_id(),
                client_pk: client.id.clone(),
                secret_hash,
                created_at: now,
                expires_at: None,
            };
            users::insert(c, &user)?;
            clients::insert(c, &client)?;
            clients::insert_secret(c, &secret_row)
        },
    )
    .await;
    match created {
        Ok(_) => Ok(Some(Bootstrapped {
            admin_email,
            generated_password,
            generated_client_secret,
        })),
        // Another replica bootstrapped between our check and our insert.
        Err(registry::tenants::TenantError::SlugTaken(_)) => Ok(None),
        Err(registry::tenants::TenantError::Store(e)) => Err(e.into()),
        Err(e) => Err(crypto(&e)),
    }
}
