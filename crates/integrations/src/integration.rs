//! Integration accounts: an entity's machine clients (client_credentials, rotating refresh
//! tokens, `on_behalf_of` departments enrolled with a vendor), created by its owners and admins
//! through the account API or the vendor portal. The rules live here, once.

use domain::model::{AuthMethod, ClientKind, GrantType};
use domain::secrets::MasterKey;
use registry::clients::{check_keys_and_alg, valid_scopes, ClientError, NewClient};
use serde::Deserialize;
use store::repo::audit::AuditRow;
use store::repo::clients::ClientRow;
use store::repo::organizations::OrganizationRow;
use store::repo::tenants::TenantRow;
use store::Store;
use utoipa::ToSchema;
use validator::Validate;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme CAD connector", "scopes": ["reports:write"], "auth_method": "client_secret_basic"}))]
pub struct CreateIntegration {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    /// What its tokens may carry (within the tenant's `integration_scopes`, when set).
    #[validate(
        length(min = 1, message = "give at least one scope"),
        custom(function = "valid_scopes")
    )]
    pub scopes: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`.
    #[serde(default = "basic")]
    pub auth_method: AuthMethod,
    /// `RS256` (default) or `ES256`.
    pub access_token_alg: Option<String>,
    /// `private_key_jwt`: the public keys inline …
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// … or where they are published (https in production tenants).
    #[validate(url(message = "must be a URL"))]
    pub jwks_uri: Option<String>,
    /// To let people sign in to the vendor's application (authorization code grant, with the
    /// consent page): where they are sent back (https in production tenants; loopback http of
    /// native apps on any port).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Shown to people on the consent page.
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
}

fn basic() -> AuthMethod {
    AuthMethod::ClientSecretBasic
}

fn invalid(field: &str, message: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Creates an integration of `org` made by `by_user`; the row and, for secret methods, the
/// secret (shown once). `audit` describes the creation for the same transaction.
pub async fn create(
    store: &Store,
    master_key: &MasterKey,
    tenant: &TenantRow,
    org: &OrganizationRow,
    by_user: &str,
    new: CreateIntegration,
    audit: impl FnOnce(&ClientRow) -> AuditRow,
) -> Result<(ClientRow, Option<String>), ClientError> {
    let b = new;
    let checked = check_keys_and_alg(
        tenant,
        b.auth_method,
        b.access_token_alg.as_deref(),
        b.jwks.as_ref(),
        b.jwks_uri.as_deref(),
    )?;
    let has_keys = b.jwks.is_some() || b.jwks_uri.is_some();
    match (b.auth_method == AuthMethod::PrivateKeyJwt, has_keys) {
        (true, false) => {
            return Err(invalid(
                "jwks",
                "private_key_jwt needs the public keys: give jwks or jwks_uri",
            ))
        }
        (false, true) => {
            return Err(invalid(
                "jwks",
                "jwks and jwks_uri are for private_key_jwt; secret methods get a secret",
            ))
        }
        _ => {}
    }
    if let Some(allowed) = &tenant.settings.integration_scopes {
        if let Some(extra) = b.scopes.iter().find(|s| !allowed.contains(s)) {
            return Err(invalid(
                "scopes",
                format!(
                    "`{extra}` is not a scope integrations may have here; allowed: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let mut grant_types = vec![GrantType::ClientCredentials, GrantType::RefreshToken];
    if !b.redirect_uris.is_empty() {
        grant_types.push(GrantType::AuthorizationCode);
    }
    // A vendor's application is never first-party: people always consent to it.
    let metadata = domain::client_metadata::ClientMetadata {
        redirect_uris: b.redirect_uris,
        client_uri: b.client_uri,
        logo_uri: b.logo_uri,
        policy_uri: b.policy_uri,
        ..Default::default()
    };
    registry::clients::check_browser(tenant, b.auth_method, &grant_types, &metadata)?;
    let new = NewClient {
        name: b.name,
        kind: ClientKind::Integration,
        auth_method: b.auth_method,
        grant_types,
        metadata,
        scopes: b.scopes,
        organization_id: Some(org.id.clone()),
        access_token_alg: checked.alg,
        jwks: checked
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
        jwks_uri: b.jwks_uri,
        created_by: Some(by_user.to_owned()),
        ..NewClient::machine("", &[])
    };
    registry::clients::create(store, master_key, &tenant.id, new, |row| Some(audit(row))).await
}
