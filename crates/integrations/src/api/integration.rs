//! `/account/integration/{entity_id}`: integration accounts — machine clients owned by an
//! entity, created by its owners and admins behind a recent emailed-code sign-in.

use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use domain::model::ClientKind;
use domain::secrets::MasterKey;
use http::{ApiError, BodyProblems, CommonProblems, PageQuery, Problem, Valid};
use registry::clients::{NewSecret, RotateSecret};
use serde::Serialize;
use store::repo::clients::{self, ClientRow};
use store::repo::organizations::OrganizationRow;
use store::repo::tenants::TenantRow;
use store::Store;
use tokens::cache::Caches;
use utoipa::ToSchema;

use crate::caller::Caller;

pub use crate::integration::CreateIntegration;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "name": "Acme CAD connector", "entity_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "auth_method": "client_secret_basic", "scopes": ["reports:write"], "access_token_alg": "RS256", "jwks": null, "jwks_uri": null, "created_by": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "created_at": 1767225600, "disabled": false}))]
pub struct Integration {
    pub client_id: String,
    pub name: String,
    /// The entity that owns it.
    pub entity_id: String,
    pub auth_method: domain::model::AuthMethod,
    pub scopes: Vec<String>,
    pub access_token_alg: domain::model::SigningAlg,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// The person who created it.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub disabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "client_secret": "qN3v…(43 characters)", "name": "Acme CAD connector", "entity_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0a", "auth_method": "client_secret_basic", "scopes": ["reports:write"], "access_token_alg": "RS256", "jwks": null, "jwks_uri": null, "created_by": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0c", "created_at": 1767225600, "disabled": false}))]
pub struct CreatedIntegration {
    #[serde(flatten)]
    pub integration: Integration,
    /// Shown once, for secret methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationList {
    pub items: Vec<Integration>,
    pub next_cursor: Option<String>,
}

fn view(r: &ClientRow) -> Integration {
    Integration {
        client_id: r.client_id.clone(),
        name: r.name.clone(),
        entity_id: r.organization_id.clone().unwrap_or_default(),
        auth_method: r.auth_method,
        scopes: r.scopes.0.clone(),
        access_token_alg: r.access_token_alg,
        jwks: r.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        jwks_uri: r.jwks_uri.clone(),
        created_by: r.created_by.clone(),
        created_at: r.created_at,
        disabled: r.disabled,
    }
}

async fn tenant_row(store: &Store, caller: &Caller) -> Result<TenantRow, ApiError> {
    registry::tenants::find(store, caller.tenant_id())
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant".into()))
}

/// The entity's integration `client_id`, else 404.
async fn integration_of(
    store: &Store,
    org: &OrganizationRow,
    client_id: &str,
) -> Result<ClientRow, ApiError> {
    let (tid, cid) = (org.tenant_id.clone(), client_id.to_owned());
    store
        .run(move |c| clients::find(c, &tid, &cid))
        .await?
        .filter(|c| {
            c.kind == ClientKind::Integration
                && c.organization_id.as_deref() == Some(org.id.as_str())
        })
        .ok_or_else(|| ApiError::NotFound("integration".into()))
}

/// Create an integration account for an entity.
///
/// Needs an owner or admin of the entity, signed in with the emailed code within the last 10
/// minutes (else 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`,
/// RFC 9470). The integration gets tokens with `client_credentials` and rotating refresh tokens;
/// a vendor's integration may add `on_behalf_of=<department id>` for departments enrolled with it.
#[utoipa::path(
    post, path = "/account/integration/{entity_id}", operation_id = "create_integration", tag = "Account",
    params(("entity_id" = String, Path, description = "The owning entity (`VN…`, `FD…`, `OR…`)")),
    request_body = CreateIntegration,
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = CreatedIntegration),
        CommonProblems,
        BodyProblems,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    entity_id: web::Path<String>,
    body: Valid<CreateIntegration>,
    store: web::Data<Store>,
    master_key: web::Data<MasterKey>,
) -> Result<HttpResponse, ApiError> {
    let org = caller
        .managed_entity(&store, &entity_id, "create integrations")
        .await?;
    caller.require_recent_mfa()?;
    let tenant = tenant_row(&store, &caller).await?;
    let (row, secret) = crate::integration::create(
        &store,
        &master_key,
        &tenant,
        &org,
        &caller.user.id,
        body.0,
        |row| {
            caller.audit(
                "integration.create",
                &format!("client:{}", row.client_id),
                serde_json::json!({"entity_id": org.id, "auth_method": row.auth_method}),
            )
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/account/integration/{}/{}", org.id, row.client_id),
        ))
        .json(CreatedIntegration {
            integration: view(&row),
            client_secret: secret,
        }))
}

/// List an entity's integration accounts (any member).
///
/// Integration accounts of the entity, never their secrets; cursor-paginated. An entity you do not
/// belong to is a 404.
#[utoipa::path(
    get, path = "/account/integration/{entity_id}", operation_id = "list_integrations", tag = "Account",
    params(("entity_id" = String, Path, description = "The owning entity"), PageQuery),
    responses((status = 200, description = "A page of integrations", body = IntegrationList), CommonProblems),
    security(("bearer" = []))
)]
pub async fn list(
    caller: Caller,
    entity_id: web::Path<String>,
    page: web::Query<PageQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let (org, _) = caller.entity(&store, &entity_id).await?;
    let (rows, next_cursor) = page
        .load(
            &store,
            move |c, after, n| {
                let owned = Some((org.id.as_str(), ClientKind::Integration.as_str()));
                clients::list(c, &org.tenant_id, owned, after, n)
            },
            |r| &r.id,
        )
        .await?;
    Ok(HttpResponse::Ok().json(IntegrationList {
        items: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// Get one of an entity's integration accounts (any member).
///
/// Never the secret: it is shown once, at creation or rotation.
#[utoipa::path(
    get, path = "/account/integration/{entity_id}/{client_id}", operation_id = "get_integration", tag = "Account",
    params(("entity_id" = String, Path, description = "The owning entity"), ("client_id" = String, Path, description = "The integration's client_id")),
    responses((status = 200, description = "The integration", body = Integration), CommonProblems),
    security(("bearer" = []))
)]
pub async fn get(
    caller: Caller,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let (org, _) = caller.entity(&store, &path.0).await?;
    let row = integration_of(&store, &org, &path.1).await?;
    Ok(HttpResponse::Ok().json(view(&row)))
}

/// Delete an integration account.
///
/// Owner or admin. Its refresh tokens are revoked and its access tokens stop validating at once
/// on this server (other replicas within the 5-second client cache).
#[utoipa::path(
    delete, path = "/account/integration/{entity_id}/{client_id}", operation_id = "delete_integration", tag = "Account",
    params(("entity_id" = String, Path, description = "The owning entity"), ("client_id" = String, Path, description = "The integration's client_id")),
    responses((status = 204, description = "Deleted"), CommonProblems),
    security(("bearer" = []))
)]
pub async fn delete(
    caller: Caller,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let org = caller
        .managed_entity(&store, &path.0, "delete integrations")
        .await?;
    let row = integration_of(&store, &org, &path.1).await?;
    let event = caller.audit(
        "integration.delete",
        &format!("client:{}", row.client_id),
        serde_json::json!({"entity_id": org.id}),
    );
    // Its refresh tokens go with it (ON DELETE CASCADE).
    registry::clients::delete(&store, &caches, &row, event).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate an integration's secret.
///
/// Owner or admin, signed in with the emailed code within the last 10 minutes (RFC 9470
/// step-up, as for creation). The new secret is answered once; the previous ones keep working
/// for `previous_expires_in` seconds (default a day; 0 ends them now). The body may be left out.
#[utoipa::path(
    post, path = "/account/integration/{entity_id}/{client_id}/secret", operation_id = "rotate_integration_secret", tag = "Account",
    params(("entity_id" = String, Path, description = "The owning entity"), ("client_id" = String, Path, description = "The integration's client_id")),
    request_body(content = Option<RotateSecret>, description = "Optional"),
    responses(
        (status = 201, description = "The new secret, shown only now", body = NewSecret),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "The integration authenticates with keys, not a secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_secret(
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Valid<RotateSecret>,
    store: web::Data<Store>,
    master_key: web::Data<MasterKey>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let org = caller
        .managed_entity(&store, &path.0, "rotate integration secrets")
        .await?;
    caller.require_recent_mfa()?;
    let row = integration_of(&store, &org, &path.1).await?;
    let overlap = body.0.previous_expires_in.unwrap_or(86400);
    let (id, secret) = registry::clients::rotate_secret(
        &store,
        &caches,
        &master_key,
        &row,
        overlap,
        |secret_id| {
            caller.audit(
                "integration.secret.rotate",
                &format!("client:{}", row.client_id),
                serde_json::json!({"entity_id": org.id, "secret_id": secret_id, "previous_expires_in": overlap}),
            )
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(NewSecret {
        id,
        client_secret: secret,
    }))
}
