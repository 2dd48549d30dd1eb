//! `/admin/v1/tenants/{id}/organizations`: vendors (`VN…`), departments (`FD…`), others (`OR…`).

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::model::OrganizationKind;
use http::{
    etag, if_match, versioned, ApiError, BodyProblems, CommonProblems, PageQuery, Problem, Valid,
};
use serde::{Deserialize, Serialize};
use store::repo::organizations::{self, OrganizationRow};
use store::repo::tenants::TenantRow;
use store::Store;
use tokens::cache::Caches;
use utoipa::ToSchema;
use validator::Validate;

use super::{managed_tenant, tenant_page, with_organization};
use crate::actor::Actor;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "vendor", "name": "Acme Integrations"}))]
pub struct CreateOrganization {
    pub kind: OrganizationKind,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Springfield Fire Department"}))]
pub struct UpdateOrganization {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "kind": "vendor", "name": "Acme Reporting", "created_at": 1767225600, "updated_at": 1767225600}))]
pub struct Organization {
    /// `VN…` for vendors, `FD…` for departments, `OR…` for others.
    #[schema(example = "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b")]
    pub id: String,
    pub kind: domain::model::OrganizationKind,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationList {
    pub items: Vec<Organization>,
    pub next_cursor: Option<String>,
}

fn view(r: &OrganizationRow) -> Organization {
    Organization {
        id: r.id.clone(),
        kind: r.kind,
        name: r.name.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The organization of the path within a tenant the caller manages.
pub(crate) async fn managed_organization(
    store: &Store,
    actor: &Actor,
    tenant: &str,
    oid: &str,
) -> Result<(TenantRow, OrganizationRow), ApiError> {
    with_organization(store, actor, (tenant, oid), |_, t, o| Ok((t, o))).await
}

/// Create an organization.
///
/// The `kind` shows in the id: `vendor` → `VN…`, `department` → `FD…`, `other` → `OR…`. Vendors
/// create integration accounts and enroll with departments.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/organizations", tag = "Admin: organizations",
    params(("id" = String, Path, description = "Tenant id or slug")),
    request_body = CreateOrganization,
    responses(
        (status = 201, description = "Created", body = Organization, headers(("ETag" = String), ("Location" = String))),
        CommonProblems,
        BodyProblems,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    id: web::Path<String>,
    body: Valid<CreateOrganization>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let body = body.0;
    let row = crate::organizations::create(&store, &actor, &tenant, body.kind, body.name).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/admin/v1/tenants/{}/organizations/{}", tenant.id, row.id),
        ))
        .insert_header((ETAG, etag(row.version)))
        .json(view(&row)))
}

/// List a tenant's organizations.
///
/// Vendors (`VN…`), departments (`FD…`) and others (`OR…`); cursor-paginated.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/organizations", tag = "Admin: organizations",
    params(("id" = String, Path, description = "Tenant id or slug"), PageQuery),
    responses(
        (status = 200, description = "A page of organizations", body = OrganizationList),
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
        |c: &mut _, t: &TenantRow, after: Option<&str>, n| organizations::list(c, &t.id, after, n);
    let (rows, next_cursor) = tenant_page(&store, &actor, &id, &page, list, |r| &r.id).await?;
    Ok(HttpResponse::Ok().json(OrganizationList {
        items: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// Get an organization.
///
/// With its `ETag` for a later PATCH.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/organizations/{oid}", tag = "Admin: organizations",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The organization", body = Organization, headers(("ETag" = String))),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let (_, org) = managed_organization(&store, &actor, &path.0, &path.1).await?;
    Ok(versioned(HttpResponse::Ok(), org.version, &view(&org)))
}

/// Rename an organization (send `If-Match`).
///
/// Send `If-Match` with the ETag of your last read: 428 without it, 412 if it changed since. The id
/// (and so the kind) never changes.
#[utoipa::path(
    patch, path = "/admin/v1/tenants/{id}/organizations/{oid}", tag = "Admin: organizations",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id"), ("If-Match" = String, Header, description = "The ETag as last read")),
    request_body = UpdateOrganization,
    responses(
        (status = 200, description = "Updated", body = Organization, headers(("ETag" = String))),
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
    body: Valid<UpdateOrganization>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, org) = managed_organization(&store, &actor, &path.0, &path.1).await?;
    let version = if_match(&req)?;
    let updated = crate::organizations::rename(&store, &actor, &tenant, &org, version, body.0.name)
        .await?
        .ok_or(ApiError::PreconditionFailed)?;
    Ok(versioned(
        HttpResponse::Ok(),
        updated.version,
        &view(&updated),
    ))
}

/// Delete an organization with its devices, memberships and clients.
///
/// Everything that belongs to it goes too: devices (their tokens stop validating), memberships,
/// integration accounts and enrollments.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}/organizations/{oid}", tag = "Admin: organizations",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id")),
    responses(
        (status = 204, description = "Deleted"),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, org) = managed_organization(&store, &actor, &path.0, &path.1).await?;
    crate::organizations::delete(&store, &caches, &actor, &tenant, &org).await?;
    Ok(HttpResponse::NoContent().finish())
}
