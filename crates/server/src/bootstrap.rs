//! First start on an empty database: the `system` tenant with its signing keys, the platform
//! admin and the `admin` automation client. Later starts find the `system` tenant and create nothing.

use domain::model::{
    AuthMethod, ClientKind, Environment, GrantType, KeyState, TenantRole, TenantSlug,
};
use domain::secrets::{generate_secret, MasterKey};
use domain::{ids, now_unix, password};
use store::repo::clients::{self, ClientRow, ClientSecretRow};
use store::repo::signing_keys;
use store::repo::tenants::{self, TenantRow};
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
/// replicas start at once: the unique slug lets one win, the others find it.
pub async fn run(
    store: &Store,
    master_key: &MasterKey,
    cfg: &BootstrapConfig,
    mode: RunMode,
) -> Result<Option<Bootstrapped>, BootstrapError> {
    let exists = store
        .run(|c| tenants::find_by_slug(c, TenantSlug::SYSTEM))
        .await?;
    if exists.is_some() {
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

    let now = now_unix();
    let tenant = TenantRow {
        id: ids::new_id(),
        slug: TenantSlug::SYSTEM.to_owned(),
        name: "System".to_owned(),
        environment: match mode {
            RunMode::Production => Environment::Production,
            RunMode::Development => Environment::Sandbox,
        }
        .to_string(),
        settings: "{}".to_owned(),
        disabled: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let platform_admin = json_list(&[TenantRole::PlatformAdmin.as_str()]);
    let user = UserRow {
        id: ids::new_id(),
        tenant_id: tenant.id.clone(),
        email: domain::email::normalize(&cfg.admin_email)?,
        password_hash,
        mfa_enabled: true,
        tenant_roles: platform_admin.clone(),
        disabled: false,
        failed_logins: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let client = ClientRow {
        id: ids::new_id(),
        tenant_id: tenant.id.clone(),
        client_id: ADMIN_CLIENT_ID.to_owned(),
        kind: ClientKind::Admin.to_string(),
        name: "Platform automation".to_owned(),
        organization_id: None,
        auth_method: AuthMethod::ClientSecretBasic.to_string(),
        grant_types: json_list(&[GrantType::ClientCredentials.as_str()]),
        scopes: json_list(&["admin"]),
        default_scopes: json_list(&["admin"]),
        tenant_roles: platform_admin,
        access_token_ttl: None,
        access_token_alg: "RS256".to_owned(),
        jwks: None,
        jwks_uri: None,
        metadata: "{}".to_owned(),
        disabled: false,
        failed_auth_count: 0,
        locked_until: None,
        created_by: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let secret_row = ClientSecretRow {
        id: ids::new_id(),
        client_pk: client.id.clone(),
        secret_hash,
        created_at: now,
        expires_at: None,
    };
    let keys = tokens::keys::SigningAlg::ALL
        .iter()
        .map(|alg| tokens::keys::generate(&tenant.id, *alg, KeyState::Active, master_key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| crypto(&e))?;
    let admin_email = user.email.clone();
    let created = store
        .transaction(move |c| {
            tenants::insert(c, &tenant)?;
            for k in &keys {
                signing_keys::insert(c, k)?;
            }
            users::insert(c, &user)?;
            clients::insert(c, &client)?;
            clients::insert_secret(c, &secret_row)
        })
        .await;
    match created {
        Ok(()) => Ok(Some(Bootstrapped {
            admin_email,
            generated_password,
            generated_client_secret,
        })),
        // Another replica bootstrapped between our check and our insert.
        Err(StoreError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn json_list(items: &[&str]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}
