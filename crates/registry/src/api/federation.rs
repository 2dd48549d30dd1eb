//! `/admin/v1/tenants/{id}/trusted-issuers`: other issuers whose tokens the tenant accepts, and
//! the rules that say as whom.

use actix_web::http::header::LOCATION;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::federation::Rule;
use http::{if_match, versioned, ApiError, BodyProblems, CommonProblems, Problem, Valid};
use serde::Serialize;
use store::repo::trusted_issuers::{self, TrustedIssuerRow};
use store::Store;
use tokens::cache::Caches;
use utoipa::ToSchema;

use super::managed_tenant;
use crate::actor::Actor;
use crate::federation::FederationError;
pub use crate::federation::NewTrustedIssuer;

#[derive(Debug, Serialize, ToSchema)]
pub struct TrustedIssuer {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub audiences: Vec<String>,
    pub max_lifetime: i64,
    pub algorithms: Vec<String>,
    pub rules: Vec<Rule>,
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrustedIssuerList {
    pub items: Vec<TrustedIssuer>,
}

fn view(r: TrustedIssuerRow, audiences: Vec<String>) -> TrustedIssuer {
    TrustedIssuer {
        id: r.id,
        issuer: r.issuer,
        jwks_uri: r.jwks_uri,
        audiences,
        max_lifetime: r.max_lifetime,
        algorithms: r.algorithms.0,
        rules: r.rules.0,
        created_at: r.created_at,
    }
}

impl From<FederationError> for ApiError {
    fn from(e: FederationError) -> Self {
        match e {
            FederationError::Invalid { field, message } => ApiError::invalid(field, message),
            FederationError::Taken => ApiError::Conflict(e.to_string()),
            FederationError::NotFound => ApiError::NotFound("trusted issuer".into()),
            FederationError::Stale => ApiError::PreconditionFailed,
            FederationError::Store(s) => s.into(),
        }
    }
}

/// Trust another issuer.
///
/// Its tokens (signed with the keys at `jwks_uri`, or its discovery document's) will be accepted
/// when they carry one of `audiences` and match a rule: as a person of the tenant (found by a
/// claim) or as one of its clients. An issuer and audience pair that another trusted issuer (of
/// any tenant) holds is a 409.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/trusted-issuers", tag = "Admin: trusted issuers",
    params(("id" = String, Path, description = "Tenant id or slug")),
    request_body = NewTrustedIssuer,
    responses(
        (status = 201, description = "Trusted", body = TrustedIssuer),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "Another trusted issuer holds this issuer and audience", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    id: web::Path<String>,
    body: Valid<NewTrustedIssuer>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let (row, audiences) =
        crate::federation::create(&store, &caches, &actor, &tenant, body.0).await?;
    let location = format!("/admin/v1/tenants/{}/trusted-issuers/{}", tenant.id, row.id);
    let mut created = HttpResponse::Created();
    created.insert_header((LOCATION, location));
    Ok(versioned(created, row.version, &view(row, audiences)))
}

/// The trusted issuer of the tenant, and its audiences; 404 when there is none.
async fn found(
    store: &Store,
    tenant_id: &str,
    id: &str,
) -> Result<(TrustedIssuerRow, Vec<String>), ApiError> {
    let (t, i) = (tenant_id.to_owned(), id.to_owned());
    store
        .run(move |c| {
            let Some(row) = trusted_issuers::find(c, &t, &i)? else {
                return Ok(None);
            };
            let audiences = trusted_issuers::audiences_of(c, &row.id)?;
            Ok(Some((row, audiences)))
        })
        .await?
        .ok_or_else(|| ApiError::NotFound("trusted issuer".into()))
}

/// Get a trusted issuer.
///
/// With its `ETag`, for a later PUT.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/trusted-issuers/{tid}", tag = "Admin: trusted issuers",
    params(("id" = String, Path, description = "Tenant id or slug"), ("tid" = String, Path, description = "Trusted issuer id")),
    responses((status = 200, description = "The trusted issuer", body = TrustedIssuer, headers(("ETag" = String))), CommonProblems),
    security(("bearer" = []))
)]
pub async fn get(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    let (row, audiences) = found(&store, &tenant.id, &path.1).await?;
    Ok(versioned(
        HttpResponse::Ok(),
        row.version,
        &view(row, audiences),
    ))
}

/// Replace a trusted issuer's definition (send `If-Match`).
///
/// The whole definition, as at creation: issuer, keys, audiences, limits and rules. Send the
/// `ETag` of your last read as `If-Match`: 428 without it, 412 if it changed since. Tokens are
/// judged by the new definition from the next request on (on other replicas within the cache
/// bound).
#[utoipa::path(
    put, path = "/admin/v1/tenants/{id}/trusted-issuers/{tid}", tag = "Admin: trusted issuers",
    params(("id" = String, Path, description = "Tenant id or slug"), ("tid" = String, Path, description = "Trusted issuer id"), ("If-Match" = String, Header, description = "The ETag as last read")),
    request_body = NewTrustedIssuer,
    responses(
        (status = 200, description = "Replaced", body = TrustedIssuer, headers(("ETag" = String))),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "Another trusted issuer holds this issuer and audience", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since your read", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn replace(
    actor: Actor,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Valid<NewTrustedIssuer>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    let version = if_match(&req)?;
    let (current, _) = found(&store, &tenant.id, &path.1).await?;
    let (row, audiences) =
        crate::federation::replace(&store, &caches, &actor, &tenant, &current, version, body.0)
            .await?;
    Ok(versioned(
        HttpResponse::Ok(),
        row.version,
        &view(row, audiences),
    ))
}

/// List the trusted issuers.
///
/// Every issuer the tenant trusts, with its audiences and rules.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/trusted-issuers", tag = "Admin: trusted issuers",
    params(("id" = String, Path, description = "Tenant id or slug")),
    responses((status = 200, description = "The trusted issuers", body = TrustedIssuerList), CommonProblems),
    security(("bearer" = []))
)]
pub async fn list(
    actor: Actor,
    id: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let tid = tenant.id.clone();
    let items = store
        .run(move |c| {
            trusted_issuers::of_tenant(c, &tid)?
                .into_iter()
                .map(|r| {
                    let a = trusted_issuers::audiences_of(c, &r.id)?;
                    Ok(view(r, a))
                })
                .collect::<Result<Vec<_>, store::StoreError>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(TrustedIssuerList { items }))
}

/// Stop trusting an issuer.
///
/// Its tokens are refused from the next request on; tokens already minted from them expire as
/// usual.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}/trusted-issuers/{tid}", tag = "Admin: trusted issuers",
    params(("id" = String, Path, description = "Tenant id or slug"), ("tid" = String, Path, description = "Trusted issuer id")),
    responses((status = 204, description = "No longer trusted"), CommonProblems),
    security(("bearer" = []))
)]
pub async fn delete(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    crate::federation::delete(&store, &caches, &actor, &tenant, &path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}
