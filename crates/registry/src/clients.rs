//! Creating OAuth clients and their secrets.

use domain::client_metadata::ClientMetadata;
use domain::model::{AuthMethod, ClientKind, Environment, GrantType, SigningAlg, TenantRole};
use serde::{Deserialize, Serialize};
use store::repo::tenants::TenantRow;
use utoipa::ToSchema;
use validator::Validate;

use domain::secrets::{generate_secret, MasterKey};
use domain::tenant_settings::TenantSettings;
use domain::{ids, now_unix};
use store::repo::audit::AuditRow;
use store::repo::clients::{self, ClientChanges, ClientRow, ClientSecretRow};
use store::{Store, StoreError};
use tokens::cache::Caches;
use tokens::cache::Changed;

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
    pub tenant_roles: Vec<TenantRole>,
    pub organization_id: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub access_token_alg: SigningAlg,
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
            access_token_alg: SigningAlg::Rs256,
            jwks: None,
            jwks_uri: None,
            created_by: None,
            metadata: Default::default(),
        }
    }

    /// The row of this client in `tenant_id`.
    pub fn into_row(self, tenant_id: &str, now: i64) -> ClientRow {
        ClientRow {
            id: ids::new_id(),
            tenant_id: tenant_id.to_owned(),
            client_id: self.client_id.unwrap_or_else(ids::new_id),
            kind: self.kind,
            name: self.name,
            organization_id: self.organization_id,
            auth_method: self.auth_method,
            grant_types: self.grant_types.into(),
            default_scopes: self
                .default_scopes
                .unwrap_or_else(|| self.scopes.clone())
                .into(),
            scopes: self.scopes.into(),
            tenant_roles: self.tenant_roles.into(),
            access_token_ttl: self.access_token_ttl,
            access_token_alg: self.access_token_alg,
            jwks: self.jwks.map(|j| j.to_string()),
            jwks_uri: self.jwks_uri,
            metadata: self.metadata,
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
    #[error("the client changed since it was read")]
    Changed,
    /// A field breaks a rule (the tenant's algorithms, key material, mutual-TLS metadata).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("a client with this client_id exists")]
    Taken,
    #[error(transparent)]
    Store(StoreError),
    #[error("secret generation failed: {0}")]
    Crypto(String),
    /// The client authenticates with keys or a certificate: it has no secret to rotate.
    #[error("the client authenticates with {0}, not a secret")]
    NoSecret(AuthMethod),
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
    caches: &Caches,
    master_key: &MasterKey,
    client: &ClientRow,
    overlap: i64,
    audit: impl FnOnce(&str) -> AuditRow,
) -> Result<(String, String), ClientError> {
    if !client.auth_method.uses_secret() {
        return Err(ClientError::NoSecret(client.auth_method));
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
    store::repo::audit::audited(store, event, move |c| {
        clients::insert_secret(c, &row)?;
        clients::expire_secrets_except(c, &row.client_pk, &row.id, now + overlap)
    })
    .await
    .map_err(ClientError::Store)?;
    forget(caches, client).await;
    Ok((id, secret))
}

async fn forget(caches: &Caches, client: &ClientRow) {
    caches
        .invalidate(Changed::Client {
            tenant_id: &client.tenant_id,
            client_id: &client.client_id,
        })
        .await;
}

/// Deletes the client (an application, or an integration account of the account API); its
/// secrets and refresh tokens go with it, and it stops authenticating at once here.
pub async fn delete(
    store: &Store,
    caches: &Caches,
    client: &ClientRow,
    event: AuditRow,
) -> Result<(), StoreError> {
    let pk = client.id.clone();
    store::repo::audit::audited(store, event, move |c| clients::delete(c, &pk)).await?;
    forget(caches, client).await;
    Ok(())
}

/// Deletes one secret at once, overlap or not; `false` if the client has no such secret.
pub async fn delete_secret(
    store: &Store,
    caches: &Caches,
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
        forget(caches, client).await;
    }
    Ok(deleted)
}

/// Applies `changes` if the client is still at `version`; the updated row, or `None` if it
/// changed meanwhile.
pub async fn apply(
    store: &Store,
    caches: &Caches,
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
        forget(caches, client).await;
    }
    Ok(updated)
}

/// Auth methods an admin can register here (`none`: a public client of the authorization
/// code grant).
const METHODS: [AuthMethod; 6] = [
    AuthMethod::None,
    AuthMethod::ClientSecretBasic,
    AuthMethod::ClientSecretPost,
    AuthMethod::PrivateKeyJwt,
    AuthMethod::TlsClientAuth,
    AuthMethod::SelfSignedTlsClientAuth,
];

pub use domain::scopes::valid_scopes;

/// PKCS#8 PEM, private JWK and public JWK of a new key for `alg`.
pub fn generate_pair(alg: &str) -> Option<(String, josekit::jwk::Jwk, josekit::jwk::Jwk)> {
    use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
    use josekit::jwk::alg::rsa::RsaKeyPair;
    let pair: Box<dyn josekit::jwk::KeyPair> = match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" => {
            Box::new(RsaKeyPair::generate(2048).ok()?)
        }
        "ES256" => Box::new(EcKeyPair::generate(EcCurve::P256).ok()?),
        "ES384" => Box::new(EcKeyPair::generate(EcCurve::P384).ok()?),
        _ => return None,
    };
    let pem = String::from_utf8(pair.to_pem_private_key()).ok()?;
    Some((pem, pair.to_jwk_private_key(), pair.to_jwk_public_key()))
}

/// Rules across fields, against the tenant.
pub struct Checked {
    pub alg: SigningAlg,
    pub jwks: Option<String>,
}

pub fn check_keys_and_alg(
    tenant: &TenantRow,
    method: AuthMethod,
    alg: Option<&str>,
    jwks: Option<&serde_json::Value>,
    jwks_uri: Option<&str>,
) -> Result<Checked, ClientError> {
    let settings: &TenantSettings = &tenant.settings;
    let Some(alg) = alg
        .map_or(Ok(SigningAlg::Rs256), str::parse)
        .ok()
        .filter(|a| settings.allows(*a))
    else {
        return Err(invalid(
            "access_token_alg",
            format!(
                "must be one of the tenant's algorithms: {}",
                settings.allowed_algorithms.join(", ")
            ),
        ));
    };
    if !METHODS.contains(&method) {
        return Err(invalid(
            "auth_method",
            "must be client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or self_signed_tls_client_auth",
        ));
    }
    let jwks = match jwks {
        None => None,
        Some(v) => {
            let text = v.to_string();
            let set = josekit::jwk::JwkSet::from_bytes(text.as_bytes())
                .map_err(|e| invalid("jwks", format!("not a JWK Set: {e}")))?;
            if set
                .keys()
                .iter()
                .any(|k| k.parameter("d").is_some() || k.key_type() == "oct")
            {
                return Err(invalid("jwks", "register public keys only"));
            }
            for (i, key) in set.keys().iter().enumerate() {
                tokens::client_auth::check_client_jwk(key).map_err(|e| {
                    let kid = key.key_id().map(|k| format!(" `{k}`")).unwrap_or_default();
                    invalid("jwks", format!("key {i}{kid}: {e}"))
                })?;
            }
            Some(text)
        }
    };
    if let Some(uri) = jwks_uri {
        let production = tenant.environment == Environment::Production;
        tokens::jwks_fetch::check_uri(uri, production).map_err(|e| invalid("jwks_uri", e))?;
    }
    if method == AuthMethod::PrivateKeyJwt && jwks_uri.is_some() && jwks.is_some() {
        return Err(invalid("jwks", "give jwks or jwks_uri, not both"));
    }
    Ok(Checked { alg, jwks })
}

/// Whether `uri` may be registered as a redirect URI in a tenant: absolute, no fragment, and
/// https — plain http only for loopback (RFC 8252 §7.3) or in sandbox tenants; a native app's
/// private-use scheme must be a reversed domain name (RFC 8252 §7.1).
fn redirect_uri_problem(uri: &str, production: bool) -> Option<&'static str> {
    let loopback = uri.starts_with("http://127.0.0.1") || uri.starts_with("http://[::1]");
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Some("must be an absolute URI");
    };
    if uri.len() > 2000 || uri.contains('#') || uri.chars().any(|c| c.is_whitespace()) {
        return Some("must be an absolute URI without a fragment or spaces");
    }
    match scheme {
        "https" if rest.starts_with("//") && rest.len() > 2 => None,
        "http" if loopback || !production => None,
        "http" => Some("must use https in production tenants (http only for 127.0.0.1 or [::1])"),
        s if s.contains('.')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b)) =>
        {
            None
        }
        _ => Some("must be https, loopback http, or a reversed-domain private-use scheme"),
    }
}

/// The authorization code grant's rules: redirect URIs that may be followed, public clients
/// (`none`) only for people's grants, links shown to people that are web pages.
pub fn check_browser(
    tenant: &TenantRow,
    method: AuthMethod,
    grant_types: &[GrantType],
    metadata: &ClientMetadata,
) -> Result<(), ClientError> {
    let production = tenant.environment == Environment::Production;
    if grant_types.contains(&GrantType::AuthorizationCode) && metadata.redirect_uris.is_empty() {
        return Err(invalid(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    for (field, list) in [
        ("redirect_uris", &metadata.redirect_uris),
        (
            "post_logout_redirect_uris",
            &metadata.post_logout_redirect_uris,
        ),
    ] {
        if list.len() > 20 {
            return Err(invalid(field, "at most 20 URIs"));
        }
        for uri in list {
            if let Some(why) = redirect_uri_problem(uri, production) {
                return Err(invalid(
                    field,
                    format!("`{}`: {why}", uri.chars().take(100).collect::<String>()),
                ));
            }
        }
    }
    for (field, link) in [
        ("client_uri", &metadata.client_uri),
        ("logo_uri", &metadata.logo_uri),
        ("policy_uri", &metadata.policy_uri),
    ] {
        if let Some(link) = link {
            let web = link.starts_with("https://") || (!production && link.starts_with("http://"));
            if !web || link.len() > 2000 || link.chars().any(|c| c.is_whitespace() || c == '"') {
                return Err(invalid(field, "must be an https URL"));
            }
        }
    }
    if method == AuthMethod::None
        && grant_types
            .iter()
            .any(|g| !matches!(g, GrantType::AuthorizationCode | GrantType::RefreshToken))
    {
        return Err(invalid(
            "grant_types",
            "a public client (auth_method none) may only use authorization_code and refresh_token",
        ));
    }
    Ok(())
}

/// RFC 8705 rules across the method, the certificate identity and the tenant.
pub fn check_mtls(
    tenant: &TenantRow,
    method: AuthMethod,
    metadata: &ClientMetadata,
    jwks: Option<&str>,
) -> Result<(), ClientError> {
    let identities = metadata.tls_identities();
    match method {
        AuthMethod::TlsClientAuth if identities != 1 => Err(invalid(
            "tls_client_auth_subject_dn",
            "tls_client_auth needs exactly one of tls_client_auth_subject_dn, _san_dns, _san_uri, _san_ip, _san_email",
        )),
        AuthMethod::TlsClientAuth => Ok(()),
        _ if identities > 0 => Err(invalid(
            "tls_client_auth_subject_dn",
            "the tls_client_auth_* fields are for auth_method tls_client_auth",
        )),
        AuthMethod::SelfSignedTlsClientAuth => {
            if tenant.environment == Environment::Production {
                return Err(invalid(
                    "auth_method",
                    "self_signed_tls_client_auth is not allowed in production tenants; use tls_client_auth with a certificate from the tenant's CA",
                ));
            }
            let has_x5c = jwks
                .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                .is_some_and(|v| {
                    v["keys"]
                        .as_array()
                        .is_some_and(|ks| ks.iter().any(|k| k["x5c"][0].is_string()))
                });
            if has_x5c {
                Ok(())
            } else {
                Err(invalid(
                    "jwks",
                    "self_signed_tls_client_auth needs the certificate in jwks, as x5c (RFC 8705 §2.2)",
                ))
            }
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"previous_expires_in": 3600}))]
pub struct RotateSecret {
    /// How long the client's current secrets keep working, in seconds (default 86400; 0 ends
    /// them now).
    #[validate(range(
        min = 0,
        max = 7776000,
        message = "must be between 0 and 7776000 seconds"
    ))]
    pub previous_expires_in: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "client_secret": "qN3vX0…(43 characters)"}))]
pub struct NewSecret {
    /// The secret's id, for `DELETE …/secrets/{id}`.
    pub id: String,
    /// Shown once.
    pub client_secret: String,
}

fn invalid(field: &str, message: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn valid_ip(ip: &str) -> Result<(), validator::ValidationError> {
    ip.parse::<std::net::IpAddr>().map(drop).map_err(|_| {
        let mut e = validator::ValidationError::new("ip");
        e.message = Some("must be an IPv4 or IPv6 address".into());
        e
    })
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scopes": ["read", "write", "export"], "disabled": false}))]
pub struct UpdateClient {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    pub grant_types: Option<Vec<GrantType>>,
    #[validate(custom(function = "valid_scopes"))]
    pub scopes: Option<Vec<String>>,
    #[validate(custom(function = "valid_scopes"))]
    pub default_scopes: Option<Vec<String>>,
    pub tenant_roles: Option<Vec<domain::model::TenantRole>>,
    #[validate(range(
        min = 30,
        max = 86400,
        message = "must be between 30 and 86400 seconds"
    ))]
    pub access_token_ttl: Option<i64>,
    pub access_token_alg: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[validate(url(message = "must be a URL"))]
    pub jwks_uri: Option<String>,
    /// A disabled client cannot authenticate and its tokens stop validating.
    pub disabled: Option<bool>,
    pub require_device_auth: Option<bool>,
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// `tls_client_auth` identity: when any of these five is sent, they replace the
    /// registered identity (those not sent are cleared).
    #[validate(length(min = 1, max = 1000, message = "must be 1 to 1000 characters"))]
    pub tls_client_auth_subject_dn: Option<String>,
    #[validate(length(min = 1, max = 253, message = "must be 1 to 253 characters"))]
    pub tls_client_auth_san_dns: Option<String>,
    #[validate(url(message = "must be a URI"))]
    pub tls_client_auth_san_uri: Option<String>,
    #[validate(custom(function = "valid_ip"))]
    pub tls_client_auth_san_ip: Option<String>,
    #[validate(email(message = "must be an email address"))]
    pub tls_client_auth_san_email: Option<String>,
    /// Replace the registered redirect URIs (authorization code grant).
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub first_party: Option<bool>,
}

/// Applies a PATCH: the fields sent change, checked against the tenant and the rest of the
/// client, if it is still at `version`.
pub async fn update(
    store: &Store,
    caches: &Caches,
    actor: &crate::actor::Actor,
    tenant: &TenantRow,
    c: &ClientRow,
    version: i64,
    patch: UpdateClient,
) -> Result<ClientRow, ClientError> {
    let b = patch;
    let method = c.auth_method;
    let alg = b
        .access_token_alg
        .clone()
        .unwrap_or_else(|| c.access_token_alg.to_string());
    let checked = check_keys_and_alg(
        tenant,
        method,
        Some(&alg),
        b.jwks.as_ref(),
        b.jwks_uri.as_deref(),
    )?;
    if let Some(roles) = &b.tenant_roles {
        crate::tenants::check_platform_admin(tenant, roles)
            .map_err(|why| invalid("tenant_roles", why))?;
    }
    let scopes = b.scopes.as_ref().unwrap_or(&c.scopes.0);
    if let Some(d) = &b.default_scopes {
        if let Some(extra) = d.iter().find(|s| !scopes.contains(s)) {
            return Err(invalid(
                "default_scopes",
                format!("`{extra}` is not in scopes"),
            ));
        }
    }
    let mut metadata = c.metadata.clone();
    if let Some(v) = b.require_device_auth {
        metadata.require_device_auth = v;
    }
    if let Some(v) = b.tls_client_certificate_bound_access_tokens {
        metadata.tls_client_certificate_bound_access_tokens = v;
    }
    let identity = [
        &b.tls_client_auth_subject_dn,
        &b.tls_client_auth_san_dns,
        &b.tls_client_auth_san_uri,
        &b.tls_client_auth_san_ip,
        &b.tls_client_auth_san_email,
    ];
    if identity.iter().any(|v| v.is_some()) {
        metadata.tls_client_auth_subject_dn = b.tls_client_auth_subject_dn.clone();
        metadata.tls_client_auth_san_dns = b.tls_client_auth_san_dns.clone();
        metadata.tls_client_auth_san_uri = b.tls_client_auth_san_uri.clone();
        metadata.tls_client_auth_san_ip = b.tls_client_auth_san_ip.clone();
        metadata.tls_client_auth_san_email = b.tls_client_auth_san_email.clone();
    }
    if let Some(v) = b.redirect_uris {
        metadata.redirect_uris = v;
    }
    if let Some(v) = b.post_logout_redirect_uris {
        metadata.post_logout_redirect_uris = v;
    }
    for (field, value) in [
        (&mut metadata.client_uri, b.client_uri),
        (&mut metadata.logo_uri, b.logo_uri),
        (&mut metadata.policy_uri, b.policy_uri),
    ] {
        if value.is_some() {
            *field = value;
        }
    }
    if let Some(v) = b.first_party {
        metadata.first_party = v;
    }
    let jwks_now = checked.jwks.clone().or_else(|| c.jwks.clone());
    check_mtls(tenant, method, &metadata, jwks_now.as_deref())?;
    let grants_now = b.grant_types.as_ref().unwrap_or(&c.grant_types.0);
    check_browser(tenant, method, grants_now, &metadata)?;
    let changes = ClientChanges {
        metadata: Some(metadata),
        name: b.name,
        grant_types: b.grant_types,
        scopes: b.scopes,
        default_scopes: b.default_scopes,
        tenant_roles: b.tenant_roles,
        access_token_ttl: b.access_token_ttl.map(Some),
        access_token_alg: b.access_token_alg.map(|_| checked.alg),
        jwks: checked.jwks.map(Some),
        jwks_uri: b.jwks_uri.map(Some),
        disabled: b.disabled,
    };
    let event = actor.audit(
        &tenant.id,
        "client.update",
        &format!("client:{}", c.client_id),
        serde_json::json!({"disabled": changes.disabled, "scopes": changes.scopes}),
    );
    apply(store, caches, c, version, changes, event)
        .await
        .map_err(ClientError::Store)?
        .ok_or(ClientError::Changed)
}

fn valid_client_id(id: &str) -> Result<(), validator::ValidationError> {
    let ok = (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        let mut e = validator::ValidationError::new("client_id");
        e.message = Some("1 to 100 of a-z, A-Z, 0-9, '-', '_', '.'".into());
        Err(e)
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Reporting service", "auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "scopes": ["read", "write"]}))]
pub struct CreateClient {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    /// Optional; generated when absent. 1 to 100 of a-z, A-Z, 0-9, `-`, `_`, `.`.
    #[validate(custom(function = "valid_client_id"))]
    pub client_id: Option<String>,
    pub auth_method: AuthMethod,
    #[validate(length(min = 1, message = "give at least one grant type"))]
    pub grant_types: Vec<GrantType>,
    #[validate(custom(function = "valid_scopes"))]
    pub scopes: Vec<String>,
    /// Granted when a request names no scope; defaults to all of `scopes`.
    #[validate(custom(function = "valid_scopes"))]
    pub default_scopes: Option<Vec<String>>,
    /// `tenant_admin` lets the client manage its tenant through this API.
    #[serde(default)]
    pub tenant_roles: Vec<domain::model::TenantRole>,
    /// Access-token lifetime in seconds; the tenant's when absent.
    #[validate(range(
        min = 30,
        max = 86400,
        message = "must be between 30 and 86400 seconds"
    ))]
    pub access_token_ttl: Option<i64>,
    /// `RS256` (default) or `ES256`, within the tenant's allowed algorithms.
    pub access_token_alg: Option<String>,
    /// private_key_jwt: the client's public keys inline …
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// … or where it publishes them (https in production tenants).
    #[validate(url(message = "must be a URL"))]
    pub jwks_uri: Option<String>,
    /// The organization that owns the client, if any.
    pub organization_id: Option<String>,
    /// `tls_client_auth` (RFC 8705 §2.1.2): the certificate's subject DN (RFC 4514, e.g.
    /// `CN=client-1,O=Acme,C=US`) — or exactly one of the four SAN fields instead.
    #[validate(length(min = 1, max = 1000, message = "must be 1 to 1000 characters"))]
    pub tls_client_auth_subject_dn: Option<String>,
    #[validate(length(min = 1, max = 253, message = "must be 1 to 253 characters"))]
    pub tls_client_auth_san_dns: Option<String>,
    #[validate(url(message = "must be a URI"))]
    pub tls_client_auth_san_uri: Option<String>,
    #[validate(custom(function = "valid_ip"))]
    pub tls_client_auth_san_ip: Option<String>,
    #[validate(email(message = "must be an email address"))]
    pub tls_client_auth_san_email: Option<String>,
    /// Token requests must identify a device: `X-Device-Authorization: BASIC
    /// base64(device_id:device_secret)` or the device's certificate.
    #[serde(default)]
    pub require_device_auth: bool,
    /// Tokens only over mutual TLS, bound to the client certificate (RFC 8705 §3.4).
    #[serde(default)]
    pub tls_client_certificate_bound_access_tokens: bool,
    /// Authorization code grant: where people are sent back (exact match; loopback
    /// `http://127.0.0.1/…` of native apps: any port). https in production tenants.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send people afterwards.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Shown to people on the consent page.
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    /// The tenant's own application: people are not asked to consent.
    #[serde(default)]
    pub first_party: bool,
}

/// Registers an application client from the admin API's request: the rules across its fields
/// and against the tenant, then [`create`].
pub async fn register(
    store: &Store,
    caches: &Caches,
    master_key: &MasterKey,
    actor: &crate::actor::Actor,
    tenant: &TenantRow,
    new: CreateClient,
) -> Result<(ClientRow, Option<String>), ClientError> {
    let b = new;
    crate::tenants::check_platform_admin(tenant, &b.tenant_roles)
        .map_err(|why| invalid("tenant_roles", why))?;
    let checked = check_keys_and_alg(
        tenant,
        b.auth_method,
        b.access_token_alg.as_deref(),
        b.jwks.as_ref(),
        b.jwks_uri.as_deref(),
    )?;
    if let Some(d) = &b.default_scopes {
        if let Some(extra) = d.iter().find(|s| !b.scopes.contains(s)) {
            return Err(invalid(
                "default_scopes",
                format!("`{extra}` is not in scopes"),
            ));
        }
    }
    let metadata = ClientMetadata {
        tls_client_auth_subject_dn: b.tls_client_auth_subject_dn,
        tls_client_auth_san_dns: b.tls_client_auth_san_dns,
        tls_client_auth_san_uri: b.tls_client_auth_san_uri,
        tls_client_auth_san_ip: b.tls_client_auth_san_ip,
        tls_client_auth_san_email: b.tls_client_auth_san_email,
        require_device_auth: b.require_device_auth,
        tls_client_certificate_bound_access_tokens: b.tls_client_certificate_bound_access_tokens,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        client_uri: b.client_uri,
        logo_uri: b.logo_uri,
        policy_uri: b.policy_uri,
        first_party: b.first_party,
    };
    check_mtls(tenant, b.auth_method, &metadata, checked.jwks.as_deref())?;
    check_browser(tenant, b.auth_method, &b.grant_types, &metadata)?;
    if let Some(oid) = &b.organization_id {
        let (tid, o) = (tenant.id.clone(), oid.clone());
        if store
            .run(move |c| store::repo::organizations::find(c, &tid, &o))
            .await
            .map_err(ClientError::Store)?
            .is_none()
        {
            return Err(invalid(
                "organization_id",
                "no such organization in this tenant",
            ));
        }
    }
    let new = NewClient {
        client_id: b.client_id,
        name: b.name,
        kind: if b.auth_method == AuthMethod::None {
            ClientKind::Public
        } else {
            ClientKind::Application
        },
        auth_method: b.auth_method,
        grant_types: b.grant_types,
        scopes: b.scopes,
        default_scopes: b.default_scopes,
        tenant_roles: b.tenant_roles,
        organization_id: b.organization_id,
        access_token_ttl: b.access_token_ttl,
        access_token_alg: checked.alg,
        jwks: checked
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
        jwks_uri: b.jwks_uri,
        created_by: None,
        metadata,
    };
    let created = create(store, master_key, &tenant.id, new, |row| {
        let details = serde_json::json!({"auth_method": row.auth_method});
        Some(actor.audit(
            &tenant.id,
            "client.create",
            &format!("client:{}", row.client_id),
            details,
        ))
    })
    .await?;
    // The client id may be one a request asked for before it existed ("no such client").
    forget(caches, &created.0).await;
    Ok(created)
}

#[cfg(test)]
mod tests;
