//! `/account/me` and `/account/entities`: who the caller is and which entities they belong to.

use actix_web::{web, HttpResponse};
use http::{ApiError, CommonProblems, PageQuery};
use serde::Serialize;
use store::repo::memberships;
use store::Store;
use utoipa::ToSchema;

use crate::caller::Caller;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "email": "ada@acme.example", "tenant": "neris", "tenant_roles": [], "mfa_enabled": true, "amr": ["pwd", "otp"], "auth_time": 1767225600}))]
pub struct Me {
    pub id: String,
    pub email: String,
    /// The tenant slug.
    pub tenant: String,
    pub tenant_roles: Vec<domain::model::TenantRole>,
    pub mfa_enabled: bool,
    /// How this token's sign-in was made: `pwd`, and `otp` after the emailed code.
    pub amr: Vec<String>,
    /// When that sign-in happened (seconds since the epoch).
    pub auth_time: Option<i64>,
}

/// Who am I.
///
/// The person behind the token: id, email, tenant and tenant roles, and how and when they signed in
/// (`amr`, `auth_time`). Client tokens are refused (403): sign in with the password grant.
#[utoipa::path(
    get, path = "/account/me", tag = "Account",
    responses((status = 200, description = "The signed-in person", body = Me), CommonProblems),
    security(("bearer" = []))
)]
pub async fn me(caller: Caller) -> Result<HttpResponse, ApiError> {
    let claims = &caller.actor.bearer.claims;
    Ok(HttpResponse::Ok().json(Me {
        id: caller.user.id.clone(),
        email: caller.user.email.clone(),
        tenant: claims.tenant.clone(),
        tenant_roles: caller.user.tenant_roles.0.clone(),
        mfa_enabled: caller.user.mfa_enabled,
        amr: claims.amr.clone().unwrap_or_default(),
        auth_time: claims.auth_time,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Entity {
    /// `VN…` (vendor), `FD…` (department) or `OR…` (other).
    pub id: String,
    pub kind: domain::model::OrganizationKind,
    pub name: String,
    /// The caller's role: `owner`, `admin` or `member`.
    pub role: domain::model::MembershipRole,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "kind": "vendor", "name": "Acme Reporting", "role": "owner"}], "next_cursor": null}))]
pub struct EntityList {
    pub items: Vec<Entity>,
    pub next_cursor: Option<String>,
}

/// The entities I belong to, with my role in each.
///
/// Each organization the person is a member of, with their role: `owner` and `admin` manage its
/// integrations and enrollments, `member` reads. Cursor-paginated.
#[utoipa::path(
    get, path = "/account/entities", tag = "Account",
    params(PageQuery),
    responses((status = 200, description = "A page of entities", body = EntityList), CommonProblems),
    security(("bearer" = []))
)]
pub async fn entities(
    caller: Caller,
    page: web::Query<PageQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let uid = caller.user.id.clone();
    let (rows, next_cursor) = page
        .load(
            &store,
            move |c, after, n| memberships::entities_of(c, &uid, after, n),
            |(m, _)| &m.organization_id,
        )
        .await?;
    Ok(HttpResponse::Ok().json(EntityList {
        items: rows
            .into_iter()
            .map(|(m, o)| Entity {
                id: o.id,
                kind: o.kind,
                name: o.name,
                role: m.role,
            })
            .collect(),
        next_cursor,
    }))
}
