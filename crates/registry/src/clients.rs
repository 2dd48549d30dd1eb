//! Creating OAuth clients and their secrets.

use domain::model::{AuthMethod, ClientKind, GrantType};
use domain::secrets::{generate_secret, MasterKey};
use domain::{ids, now_unix};
use store::repo::audit::AuditRow;
use store::repo::clients::{self, ClientChanges, ClientRow, ClientSecretRow};
use store::{Store, StoreError};
use tokens::service::Changed;
use tokens::TokenService;

/// What a new client is.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: Option<String>,
    pub name: String,
    pub kind: ClientKind,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub default_scopes: Option<Vec<String>>,
    pub tenant_roles: Vec<String>,
    pub organization_id: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub access_token_alg: String,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// The person who created it (integration accounts).
    pub created_by: Option<String>,
    /// mTLS identity and device/binding requirements.
    pub metadata: domain::client_metadata::ClientMetadata,
}

/// The first-party public client of every tenant, through which people sign in.
pub const PORTAL_CLIENT_ID: &str = "portal";

impl NewClient {
    /// The tenant's `portal`: no secret (a public client), the people's grants only. The same
    /// values as the migration that added it to tenants created before it existed.
    pub fn portal() -> NewClient {
        NewClient {
            client_id: Some(PORTAL_CLIENT_ID.to_owned()),
            name: "Portal (people sign-in)".to_owned(),
            kind: ClientKind::Public,
            auth_method: AuthMethod::None,
            grant_types: vec![
                GrantType::Password,
                GrantType::MfaOtp,
                GrantType::RefreshToken,
            ],
            scopes: vec!["openid".to_owned(), "account".to_owned()],
            default_scopes: Some(vec!["account".to_owned()]),
            ..NewClient::machine("", &[])
        }
    }

    /// A machine client with `client_credentials` and a secret.
    pub fn machine(name: &str, scopes: &[&str]) -> NewClient {
        NewClient {
            client_id: None,
            name: name.to_owned(),
            kind: ClientKind::Application,
            auth_method: AuthMethod::ClientSecretBasic,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            default_scopes: None,
            tenant_roles: Vec::new(),
            organization_id: None,
            access_token_ttl: None,
            access_token_alg: "RS256".to_owned(),
            jwks: None,
            jwks_uri: None,
            created_by: None,
            metadata: Default::default(),
        }
    }

    /// The row of this client in `tenant_id`.
    pub fn into_row(self, tenant_id: &str, now: i64) -> ClientRow {
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let grant_types: Vec<String> = self.grant_types.iter().map(|g| g.to_string()).collect();
        ClientRow {
            id: ids::new_id(),
            tenant_id: tenant_id.to_owned(),
            client_id: self.client_id.unwrap_or_else(ids::new_id),
            kind: self.kind.to_string(),
            name: self.name,
            organization_id: self.organization_id,
            auth_method: self.auth_method.to_string(),
            grant_types: json(&grant_types),
            default_scopes: json(self.default_scopes.as_ref().unwrap_or(&self.scopes)),
            scopes: json(&self.scopes),
            tenant_roles: json(&self.tenant_roles),
            access_token_ttl: self.access_token_ttl,
            access_token_alg: self.access_token_alg,
            jwks: self.jwks.map(|j| j.to_string()),
            jwks_uri: self.jwks_uri,
            metadata: serde_json::to_string(&self.metadata).unwrap_or_else(|_| "{}".into()),
            disabled: false,
            failed_auth_count: 0,
            locked_until: None,
            created_by: self.created_by,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("a client with this client_id exists")]
    Taken,
    #[error(transparent)]
    Store(StoreError),
    #[error("secret generation failed: {0}")]
    Crypto(String),
    /// The client authenticates with keys or a certificate: it has no secret to rotate.
    #[error("the client authenticates with {0}, not a secret")]
    NoSecret(String),
}

/// Creates the client; returns it and, for secret methods, the secret (shown once). `audit`
/// describes the creation for the same transaction.
pub async fn create(
    store: &Store,
    master_key: &MasterKey,
    tenant_id: &str,
    new: NewClient,
    audit: impl FnOnce(&ClientRow) -> Option<AuditRow>,
) -> Result<(ClientRow, Option<String>), ClientError> {
    let now = now_unix();
    let uses_secret = new.auth_method.uses_secret();
    let row = new.into_row(tenant_id, now);
    let secret = if uses_secret {
        Some(generate_secret().map_err(|e| ClientError::Crypto(e.to_string()))?)
    } else {
        None
    };
    let secret_row = match &secret {
        Some(s) => Some(ClientSecretRow {
            id: ids::new_id(),
            client_pk: row.id.clone(),
            secret_hash: master_key
                .hash_secret(s)
                .map_err(|e| ClientError::Crypto(e.to_string()))?,
            created_at: now,
            expires_at: None,
        }),
        None => None,
    };
    let event = audit(&row);
    let inserted = row.clone();
    store
        .transaction(move |c| {
            clients::insert(c, &inserted)?;
            secret_row
                .iter()
                .try_for_each(|s| clients::insert_secret(c, s))?;
            event
                .iter()
                .try_for_each(|e| store::repo::audit::insert(c, e))
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ClientError::Taken,
            e => ClientError::Store(e),
        })?;
    Ok((row, secret))
}

/// Issues a new secret for the client; its other secrets stop working `overlap` seconds from
/// now (0: at once). Returns the secret's id and the secret, which is shown once. A client that
/// does not authenticate with a secret is refused.
pub async fn rotate_secret(
    store: &Store,
    svc: &TokenService,
    master_key: &MasterKey,
    client: &ClientRow,
    overlap: i64,
    audit: impl FnOnce(&str) -> AuditRow,
) -> Result<(String, String), ClientError> {
    if !client
        .auth_method
        .parse::<AuthMethod>()
        .is_ok_and(AuthMethod::uses_secret)
    {
        return Err(ClientError::NoSecret(client.auth_method.clone()));
    }
    let client_pk = &client.id;
    let secret = generate_secret().map_err(|e| ClientError::Crypto(e.to_string()))?;
    let now = now_unix();
    let row = ClientSecretRow {
        id: ids::new_id(),
        client_pk: client_pk.to_owned(),
        secret_hash: master_key
            .hash_secret(&secret)
            .map_err(|e| ClientError::Crypto(e.to_string()))?,
        created_at: now,
        expires_at: None,
    };
    let event = audit(&row.id);
    let id = row.id.clone();
    store
        .transaction(move |c| {
            clients::insert_secret(c, &row)?;
            clients::expire_secrets_except(c, &row.client_pk, &row.id, now + overlap)?;
            store::repo::audit::insert(c, &event)
        })
        .await
        .map_err(ClientError::Store)?;
    forget(svc, client);
    Ok((id, secret))
}

fn forget(svc: &TokenService, client: &ClientRow) {
    svc.invalidate(Changed::Client {
        tenant_id: &client.tenant_id,
        client_id: &client.client_id,
    });
}

/// Deletes the client (an application, or an integration account of the account API); its
/// secrets and refresh tokens go with it, and it stops authenticating at once here.
pub async fn delete(
    store: &Store,
    svc: &TokenService,
    client: &ClientRow,
    event: AuditRow,
) -> Result<(), StoreError> {
    let pk = client.id.clone();
    store
        .transaction(move |c| {
            clients::delete(c, &pk)?;
            store::repo::audit::insert(c, &event)
        })
        .await?;
    forget(svc, client);
    Ok(())
}

/// Deletes one secret at once, overlap or not; `false` if the client has no such secret.
pub async fn delete_secret(
    store: &Store,
    svc: &TokenService,
    client: &ClientRow,
    secret_id: &str,
    event: AuditRow,
) -> Result<bool, StoreError> {
    let (pk, sid) = (client.id.clone(), secret_id.to_owned());
    let deleted = store
        .transaction(move |c| {
            let deleted = clients::delete_secret(c, &pk, &sid)?;
            if deleted {
                store::repo::audit::insert(c, &event)?;
            }
            Ok(deleted)
        })
        .await?;
    if deleted {
        forget(svc, client);
    }
    Ok(deleted)
}

/// Applies `changes` if the client is still at `version`; the updated row, or `None` if it
/// changed meanwhile.
pub async fn apply(
    store: &Store,
    svc: &TokenService,
    client: &ClientRow,
    version: i64,
    changes: ClientChanges,
    event: AuditRow,
) -> Result<Option<ClientRow>, StoreError> {
    let pk = client.id.clone();
    let updated = store
        .transaction(move |conn| {
            if !clients::update_if_version(conn, &pk, version, &changes, now_unix())? {
                return Ok(None);
            }
            store::repo::audit::insert(conn, &event)?;
            clients::find_by_pk(conn, &pk)
        })
        .await?;
    if updated.is_some() {
        forget(svc, client);
    }
    Ok(updated)
}
