//! `/admin/v1/tenants`.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::model::{Environment, TenantRole, TenantSlug};
use domain::secrets::MasterKey;
use http::{etag, if_match, ApiError, BodyProblems, CommonProblems, PageQuery, Problem, Valid};
use serde::{Deserialize, Serialize};
use store::repo::tenants::{self, TenantChanges, TenantRow};
use store::Store;
use tokens::cache::Caches;
use utoipa::ToSchema;
use validator::Validate;

use super::managed_tenant;
use crate::actor::Actor;
use crate::tenants::TenantError;
use domain::tenant_settings::TenantSettings;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slug": "acme-health", "name": "Acme Health", "environment": "sandbox"}))]
pub struct CreateTenant {
    /// URL name: 3 to 40 of a-z, 0-9 and '-'; unique; part of the issuer.
    #[validate(custom(function = "valid_slug"))]
    pub slug: String,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    pub environment: Environment,
    #[serde(default)]
    #[validate(nested)]
    pub settings: TenantSettings,
}

fn valid_slug(slug: &str) -> Result<(), validator::ValidationError> {
    slug.parse::<TenantSlug>().map(|_| ()).map_err(|e| {
        let mut v = validator::ValidationError::new("slug");
        v.message = Some(e.reason.into());
        v
    })
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Health (prod)", "settings": {"access_token_lifetime": 600, "allowed_algorithms": ["ES256"]}}))]
pub struct UpdateTenant {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    pub environment: Option<Environment>,
    #[validate(nested)]
    pub settings: Option<TenantSettings>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "slug": "acme", "name": "Acme", "environment": "sandbox", "issuer": "https://auth.example.com/t/acme", "settings": {"access_token_lifetime": 300, "allowed_algorithms": ["RS256", "ES256"]}, "disabled": false, "created_at": 1767225600, "updated_at": 1767225600}))]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub environment: Environment,
    /// `{public_url}/t/{slug}`: the `iss` of its tokens.
    pub issuer: String,
    pub settings: TenantSettings,
    /// A disabled tenant issues nothing and its tokens do not validate.
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantList {
    pub items: Vec<Tenant>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

fn view(row: &TenantRow, caches: &Caches) -> Tenant {
    Tenant {
        id: row.id.clone(),
        slug: row.slug.clone(),
        name: row.name.clone(),
        environment: row.environment,
        issuer: caches.issuer(&row.slug),
        settings: row.settings.clone(),
        disabled: row.disabled,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn with_etag(mut resp: HttpResponse, version: i64) -> HttpResponse {
    resp.headers_mut().insert(ETAG, etag(version));
    resp
}

/// Create a tenant (platform admins).
///
/// Creates its RS256 and ES256 signing keys; its issuer is `{public_url}/t/{slug}`.
#[utoipa::path(
    post, path = "/admin/v1/tenants", tag = "Admin: tenants",
    request_body = CreateTenant,
    responses(
        (status = 201, description = "Created", body = Tenant, headers(("ETag" = String), ("Location" = String))),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    body: Valid<CreateTenant>,
    store: web::Data<Store>,
    master_key: web::Data<MasterKey>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    actor.require_platform_admin()?;
    let body = body.0;
    let slug: TenantSlug = body
        .slug
        .parse()
        .map_err(|e: domain::model::ParseError| ApiError::invalid("slug", e.reason))?;
    let row = crate::tenants::create(
        &store,
        &caches,
        &master_key,
        &slug,
        &body.name,
        body.environment,
        &body.settings,
        |t| {
            Some(actor.audit(
                &t.id,
                "tenant.create",
                &format!("tenant:{}", t.id),
                serde_json::json!({"slug": t.slug}),
            ))
        },
    )
    .await?;
    let resp = HttpResponse::Created()
        .insert_header((LOCATION, format!("/admin/v1/tenants/{}", row.id)))
        .json(view(&row, &caches));
    Ok(with_etag(resp, row.version))
}

/// List tenants: all for platform admins, its own for a tenant admin.
///
/// Cursor-paginated: pass the `next_cursor` of a page as `cursor` to get the next one; `limit` is 1
/// to 200 (default 50).
#[utoipa::path(
    get, path = "/admin/v1/tenants", tag = "Admin: tenants",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of tenants", body = TenantList),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    actor: Actor,
    page: web::Query<PageQuery>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let only = if actor.is_platform_admin() {
        None
    } else if actor.bearer.has_role(TenantRole::TenantAdmin.as_str()) {
        Some(actor.bearer.tenant.id.clone())
    } else {
        return Err(ApiError::Forbidden);
    };
    let (rows, next_cursor) = page
        .load(
            &store,
            move |c, after, n| tenants::list(c, after, n, only.as_deref()),
            |t| &t.id,
        )
        .await?;
    let items = rows.iter().map(|r| view(r, &caches)).collect();
    Ok(HttpResponse::Ok().json(TenantList { items, next_cursor }))
}

/// Get a tenant by id or slug.
///
/// Answers the tenant's settings and issuer, and its `ETag` for a later PATCH. A tenant you do not
/// manage is a 404.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}", tag = "Admin: tenants",
    params(("id" = String, Path, description = "Tenant id or slug")),
    responses(
        (status = 200, description = "The tenant", body = Tenant, headers(("ETag" = String))),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    actor: Actor,
    id: web::Path<String>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let row = managed_tenant(&store, &actor, &id).await?;
    Ok(with_etag(
        HttpResponse::Ok().json(view(&row, &caches)),
        row.version,
    ))
}

/// Update a tenant's name, environment or settings.
///
/// Send the `ETag` of your last read as `If-Match`: a concurrent change answers 412 instead of
/// being overwritten.
#[utoipa::path(
    patch, path = "/admin/v1/tenants/{id}", tag = "Admin: tenants",
    params(("id" = String, Path, description = "Tenant id or slug"), ("If-Match" = String, Header, description = "The ETag of the tenant as last read")),
    request_body = UpdateTenant,
    responses(
        (status = 200, description = "Updated", body = Tenant, headers(("ETag" = String))),
        CommonProblems,
        BodyProblems,
        (status = 412, description = "The tenant changed since your read", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    actor: Actor,
    req: HttpRequest,
    id: web::Path<String>,
    body: Valid<UpdateTenant>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let row = managed_tenant(&store, &actor, &id).await?;
    let version = if_match(&req)?;
    let body = body.0;
    let changes = TenantChanges {
        name: body.name,
        environment: body.environment,
        settings: body.settings,
        disabled: None,
    };
    let updated = crate::tenants::update(&store, &caches, &actor, &row, version, changes).await?;
    Ok(with_etag(
        HttpResponse::Ok().json(view(&updated, &caches)),
        updated.version,
    ))
}

/// Disable a tenant.
///
/// Its tokens stop validating at once on this replica, and within 5 s on others; it issues
/// nothing more. The `system` tenant cannot be disabled.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}", tag = "Admin: tenants",
    params(("id" = String, Path, description = "Tenant id or slug")),
    responses(
        (status = 204, description = "Disabled"),
        CommonProblems,
        (status = 409, description = "The system tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    actor: Actor,
    id: web::Path<String>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let row = managed_tenant(&store, &actor, &id).await?;
    crate::tenants::disable(&store, &caches, &actor, &row).await?;
    Ok(HttpResponse::NoContent().finish())
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::SlugTaken(_)
            | TenantError::SystemTenant
            | TenantError::ChangedMeanwhile => ApiError::Conflict(e.to_string()),
            TenantError::Changed => ApiError::PreconditionFailed,
            TenantError::Store(e) => e.into(),
            TenantError::Keys(e) => ApiError::Internal(e.to_string()),
        }
    }
}
