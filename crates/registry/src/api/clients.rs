//! `/admin/v1/tenants/{id}/clients`: OAuth clients, their secrets and their keys.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::client_metadata::ClientMetadata;
use domain::ids;
use domain::model::{AuthMethod, ClientKind, GrantType, SigningAlg, TenantRole};
use domain::secrets::MasterKey;
use http::{
    etag, if_match, versioned, ApiError, BodyProblems, CommonProblems, PageQuery, Problem, Valid,
};
use serde::{Deserialize, Serialize};
use store::repo::clients::{self, ClientChanges, ClientRow};
use store::repo::tenants::TenantRow;
use store::Store;
use tokens::cache::Caches;
use utoipa::ToSchema;
use validator::Validate;

use super::{managed_tenant, tenant_page};
use crate::actor::Actor;
use crate::clients::ClientError;
pub use crate::clients::{valid_scopes, CreateClient, NewSecret, RotateSecret, UpdateClient};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "reports", "name": "Reporting service", "kind": "application", "auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "scopes": ["read", "write"], "default_scopes": ["read"], "tenant_roles": [], "access_token_ttl": null, "access_token_alg": "RS256", "jwks": null, "jwks_uri": null, "organization_id": null, "disabled": false, "created_at": 1767225600, "updated_at": 1767225600}))]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub kind: ClientKind,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub tenant_roles: Vec<TenantRole>,
    pub access_token_ttl: Option<i64>,
    pub access_token_alg: SigningAlg,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub organization_id: Option<String>,
    pub disabled: bool,
    /// Set while the client is locked after repeated failed authentications (Unix time the
    /// lock ends); the token endpoint does not say so, to not tell which client ids exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<i64>,
    /// mTLS identity and requirements (only those set are shown).
    #[serde(flatten)]
    pub metadata: ClientMetadata,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: Client,
    /// Shown once, for secret methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub items: Vec<Client>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"alg": "RS384"}))]
pub struct CreateClientKey {
    /// `RS256`, `RS384`, `RS512`, `PS256`, `PS384`, `ES256` or `ES384`.
    pub alg: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"kid": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "alg": "ES256", "private_key_pem": "-----BEGIN PRIVATE KEY-----\nMIGH...\n-----END PRIVATE KEY-----\n", "private_jwk": {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "alg": "ES256", "use": "sig", "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}}))]
pub struct ClientKeyPair {
    pub kid: String,
    pub alg: String,
    /// Shown once; only the public key is kept.
    pub private_key_pem: String,
    /// Shown once, as a JWK.
    #[schema(value_type = Object)]
    pub private_jwk: serde_json::Value,
}

fn view(r: &ClientRow) -> Client {
    Client {
        client_id: r.client_id.clone(),
        name: r.name.clone(),
        kind: r.kind,
        auth_method: r.auth_method,
        grant_types: r.grant_types.0.clone(),
        scopes: r.scopes.0.clone(),
        default_scopes: r.default_scopes.0.clone(),
        tenant_roles: r.tenant_roles.0.clone(),
        access_token_ttl: r.access_token_ttl,
        access_token_alg: r.access_token_alg,
        jwks: r.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        jwks_uri: r.jwks_uri.clone(),
        organization_id: r.organization_id.clone(),
        disabled: r.disabled,
        metadata: r.metadata.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
        locked_until: r.locked_until.filter(|t| *t > domain::now_unix()),
    }
}

async fn managed_client(
    store: &Store,
    actor: &Actor,
    tenant: &str,
    cid: &str,
) -> Result<(TenantRow, ClientRow), ApiError> {
    let tenant = managed_tenant(store, actor, tenant).await?;
    let (tid, c) = (tenant.id.clone(), cid.to_owned());
    let client = store
        .run(move |conn| clients::find(conn, &tid, &c))
        .await?
        .ok_or_else(|| ApiError::NotFound("client".into()))?;
    Ok((tenant, client))
}

/// Register a client.
///
/// Secret methods answer the `client_secret` once; `private_key_jwt` needs `jwks` or
/// `jwks_uri` (or `POST …/keys` afterwards).
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/clients", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug")),
    request_body = CreateClient,
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = CreatedClient),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "The client_id is taken", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    id: web::Path<String>,
    body: Valid<CreateClient>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
    master_key: web::Data<MasterKey>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let (row, secret) =
        crate::clients::register(&store, &caches, &master_key, &actor, &tenant, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/admin/v1/tenants/{}/clients/{}", tenant.id, row.client_id),
        ))
        .insert_header((ETAG, etag(row.version)))
        .json(CreatedClient {
            client: view(&row),
            client_secret: secret,
        }))
}

/// List a tenant's clients.
///
/// Every client of the tenant, the `portal` and integration accounts included; cursor-paginated.
/// Secrets are never listed.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/clients", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug"), PageQuery),
    responses(
        (status = 200, description = "A page of clients", body = ClientList),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    actor: Actor,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let list =
        |c: &mut _, t: &TenantRow, after: Option<&str>, n| clients::list(c, &t.id, None, after, n);
    let (rows, next_cursor) = tenant_page(&store, &actor, &id, &page, list, |r| &r.id).await?;
    Ok(HttpResponse::Ok().json(ClientList {
        items: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// Get a client.
///
/// By `client_id`; answers its `ETag` for a later PATCH. Secrets are never shown after creation.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/clients/{cid}", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug"), ("cid" = String, Path, description = "client_id")),
    responses(
        (status = 200, description = "The client", body = Client, headers(("ETag" = String))),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let (_, c) = managed_client(&store, &actor, &path.0, &path.1).await?;
    Ok(versioned(HttpResponse::Ok(), c.version, &view(&c)))
}

/// Update a client (send `If-Match`).
///
/// Only the fields sent change. Send the `ETag` of your last read as `If-Match`: 428 without it,
/// 412 if the client changed since. Disabling stops its authentication and its tokens.
#[utoipa::path(
    patch, path = "/admin/v1/tenants/{id}/clients/{cid}", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug"), ("cid" = String, Path, description = "client_id"), ("If-Match" = String, Header, description = "The ETag as last read")),
    request_body = UpdateClient,
    responses(
        (status = 200, description = "Updated", body = Client, headers(("ETag" = String))),
        CommonProblems,
        BodyProblems,
        (status = 412, description = "Changed since your read", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    actor: Actor,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Valid<UpdateClient>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, c) = managed_client(&store, &actor, &path.0, &path.1).await?;
    let version = if_match(&req)?;
    let updated =
        crate::clients::update(&store, &caches, &actor, &tenant, &c, version, body.0).await?;
    Ok(versioned(
        HttpResponse::Ok(),
        updated.version,
        &view(&updated),
    ))
}

/// Delete a client; it cannot authenticate any more and its tokens stop validating.
///
/// Its secrets and refresh tokens go with it; its access tokens fail validation at once on this
/// server and within 5 seconds on others. The platform's `admin` client cannot be deleted (409).
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}/clients/{cid}", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug"), ("cid" = String, Path, description = "client_id")),
    responses(
        (status = 204, description = "Deleted"),
        CommonProblems,
        (status = 409, description = "The platform's admin client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, c) = managed_client(&store, &actor, &path.0, &path.1).await?;
    if c.kind == ClientKind::Admin {
        return Err(ApiError::Conflict(
            "the platform's admin client cannot be deleted".into(),
        ));
    }
    let event = actor.audit(
        &tenant.id,
        "client.delete",
        &format!("client:{}", c.client_id),
        serde_json::json!({}),
    );
    crate::clients::delete(&store, &caches, &c, event).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate the client secret.
///
/// Answers a new secret once; the previous ones keep working for `previous_expires_in` seconds
/// (default a day), then stop.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/clients/{cid}/secrets", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug"), ("cid" = String, Path, description = "client_id")),
    request_body = RotateSecret,
    responses(
        (status = 201, description = "The new secret, shown only now", body = NewSecret),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "The client does not use a secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_secret(
    actor: Actor,
    path: web::Path<(String, String)>,
    body: Valid<RotateSecret>,
    store: web::Data<Store>,
    master_key: web::Data<MasterKey>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, c) = managed_client(&store, &actor, &path.0, &path.1).await?;
    let overlap = body.0.previous_expires_in.unwrap_or(86400);
    let (sid, secret) =
        crate::clients::rotate_secret(&store, &caches, &master_key, &c, overlap, |secret_id| {
            actor.audit(
                &tenant.id,
                "client.secret.rotate",
                &format!("client:{}", c.client_id),
                serde_json::json!({"secret_id": secret_id, "previous_expires_in": overlap}),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(NewSecret {
        id: sid,
        client_secret: secret,
    }))
}

/// Delete one of the client's secrets at once.
///
/// The secret stops working immediately, overlap or not. Use it when a secret leaked; rotate first
/// if the client must keep working.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}/clients/{cid}/secrets/{sid}", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug"), ("cid" = String, Path, description = "client_id"), ("sid" = String, Path, description = "Secret id")),
    responses(
        (status = 204, description = "Deleted"),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn delete_secret(
    actor: Actor,
    path: web::Path<(String, String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, c) = managed_client(&store, &actor, &path.0, &path.1).await?;
    let event = actor.audit(
        &tenant.id,
        "client.secret.delete",
        &format!("client:{}", c.client_id),
        serde_json::json!({"secret_id": path.2}),
    );
    if !crate::clients::delete_secret(&store, &caches, &c, &path.2, event).await? {
        return Err(ApiError::NotFound("secret".into()));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Generate a key pair for a `private_key_jwt` client.
///
/// The public key joins the client's JWKS; the private key is answered once (PEM and JWK) and
/// not kept.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/clients/{cid}/keys", tag = "Admin: clients",
    params(("id" = String, Path, description = "Tenant id or slug"), ("cid" = String, Path, description = "client_id")),
    request_body = CreateClientKey,
    responses(
        (status = 201, description = "The private key, shown only now", body = ClientKeyPair),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "Not a private_key_jwt client with inline keys", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_key(
    actor: Actor,
    path: web::Path<(String, String)>,
    body: Valid<CreateClientKey>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, c) = managed_client(&store, &actor, &path.0, &path.1).await?;
    if c.auth_method != AuthMethod::PrivateKeyJwt || c.jwks_uri.is_some() {
        return Err(ApiError::Conflict(
            "only a private_key_jwt client without a jwks_uri holds keys here".into(),
        ));
    }
    let alg = body.0.alg;
    let kid = ids::new_id();
    let (pem, mut private_jwk, mut public_jwk) =
        crate::clients::generate_pair(&alg).ok_or_else(|| {
            ApiError::invalid(
                "alg",
                "must be RS256, RS384, RS512, PS256, PS384, ES256 or ES384",
            )
        })?;
    for jwk in [&mut private_jwk, &mut public_jwk] {
        jwk.set_key_id(&kid);
        jwk.set_algorithm(&alg);
        jwk.set_key_use("sig");
    }
    let mut set: serde_json::Value = c
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| serde_json::json!({"keys": []}));
    let public: serde_json::Value = serde_json::from_str(&public_jwk.to_string())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match set["keys"].as_array_mut() {
        Some(keys) => keys.push(public),
        None => set = serde_json::json!({"keys": [public]}),
    }
    let changes = ClientChanges {
        jwks: Some(Some(set.to_string())),
        ..Default::default()
    };
    let event = actor.audit(
        &tenant.id,
        "client.key.create",
        &format!("client:{}", c.client_id),
        serde_json::json!({"kid": kid, "alg": alg}),
    );
    if crate::clients::apply(&store, &caches, &c, c.version, changes, event)
        .await?
        .is_none()
    {
        return Err(ApiError::Conflict(
            "the client changed meanwhile; retry".into(),
        ));
    }
    let private_jwk: serde_json::Value = serde_json::from_str(&private_jwk.to_string())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Created().json(ClientKeyPair {
        kid,
        alg,
        private_key_pem: pem,
        private_jwk,
    }))
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Invalid { field, message } => ApiError::invalid(&field, message),
            ClientError::Taken => {
                ApiError::Conflict("a client with this client_id exists in the tenant".into())
            }
            ClientError::Store(e) => e.into(),
            ClientError::Crypto(e) => ApiError::Internal(e),
            e @ ClientError::NoSecret(_) => ApiError::Conflict(e.to_string()),
            ClientError::Changed => ApiError::PreconditionFailed,
        }
    }
}
