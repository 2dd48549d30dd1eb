//! `/admin/v1/tenants/{id}/users`: people of a tenant, their tenant roles and memberships.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::model::TenantRole;
use http::{
    etag, if_match, versioned, ApiError, BodyProblems, CommonProblems, PageQuery, Problem, Valid,
};
use serde::{Deserialize, Serialize};
use store::repo::memberships::{self, MembershipRow};
use store::repo::tenants::TenantRow;
use store::repo::users::{self, UserRow};
use store::Store;
use tokens::password_gate::PasswordGate;
use utoipa::ToSchema;
use validator::Validate;

use super::{managed_tenant, tenant_page};
use crate::actor::Actor;

pub use crate::users::Membership;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@acme.example", "password": "correct horse battery staple", "mfa_enabled": true, "tenant_roles": [], "memberships": [{"organization_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "role": "owner"}]}))]
pub struct CreateUser {
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "at most 254 characters")
    )]
    pub email: String,
    /// At least 12 characters; stored as an argon2id hash.
    #[validate(length(min = 12, max = 1024, message = "must be 12 to 1024 characters"))]
    pub password: String,
    /// Sign-in needs an emailed code; required in production tenants.
    #[serde(default = "yes")]
    pub mfa_enabled: bool,
    #[serde(default)]
    pub tenant_roles: Vec<TenantRole>,
    #[serde(default)]
    #[validate(nested)]
    pub memberships: Vec<Membership>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant_roles": ["tenant_admin"], "memberships": [{"organization_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "role": "admin"}]}))]
pub struct UpdateUser {
    pub mfa_enabled: Option<bool>,
    pub tenant_roles: Option<Vec<TenantRole>>,
    /// A disabled user cannot sign in.
    pub disabled: Option<bool>,
    /// Replaces all memberships.
    #[validate(nested)]
    pub memberships: Option<Vec<Membership>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "email": "ada@acme.example", "mfa_enabled": true, "tenant_roles": [], "memberships": [{"organization_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "role": "owner"}], "disabled": false, "created_at": 1767225600, "updated_at": 1767225600}))]
pub struct User {
    pub id: String,
    pub email: String,
    pub mfa_enabled: bool,
    pub tenant_roles: Vec<TenantRole>,
    pub memberships: Vec<Membership>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

fn view(u: &UserRow, ms: &[MembershipRow]) -> User {
    User {
        id: u.id.clone(),
        email: u.email.clone(),
        mfa_enabled: u.mfa_enabled,
        tenant_roles: u.tenant_roles.0.clone(),
        memberships: ms
            .iter()
            .map(|m| Membership {
                organization_id: m.organization_id.clone(),
                role: m.role,
            })
            .collect(),
        disabled: u.disabled,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// Create a user.
///
/// The email is the sign-in name (case-insensitive, unique in the tenant); the password (12
/// characters at least) is stored as an argon2id hash. `mfa_enabled` sends an emailed code at every
/// sign-in and is required in production tenants. Memberships give roles (`owner`, `admin`,
/// `member`) in organizations of the tenant.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/users", tag = "Admin: users",
    params(("id" = String, Path, description = "Tenant id or slug")),
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = User, headers(("ETag" = String), ("Location" = String))),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "The email is taken in this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    id: web::Path<String>,
    body: Valid<CreateUser>,
    store: web::Data<Store>,
    gate: web::Data<PasswordGate>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let b = body.0;
    let new = crate::users::NewUser {
        email: b.email,
        password: b.password,
        mfa_enabled: b.mfa_enabled,
        tenant_roles: b.tenant_roles,
        memberships: b.memberships,
    };
    let (user, stored) = crate::users::create(&store, &gate, &actor, &tenant, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/admin/v1/tenants/{}/users/{}", tenant.id, user.id),
        ))
        .insert_header((ETAG, etag(user.version)))
        .json(view(&user, &stored)))
}

/// List a tenant's users.
///
/// People of the tenant with their tenant roles and memberships; cursor-paginated. Password hashes
/// are never shown.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/users", tag = "Admin: users",
    params(("id" = String, Path, description = "Tenant id or slug"), PageQuery),
    responses(
        (status = 200, description = "A page of users", body = UserList),
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
    let load = |c: &mut store::DbConnection, t: &TenantRow, after: Option<&str>, n: i64| {
        let users = users::list(c, &t.id, after, n)?;
        let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
        let mut of = memberships::of_users(c, &ids)?;
        Ok(users
            .into_iter()
            .map(|u| (of.remove(&u.id).unwrap_or_default(), u))
            .collect())
    };
    let (rows, next_cursor) = tenant_page(&store, &actor, &id, &page, load, |(_, u)| &u.id).await?;
    let items = rows.iter().map(|(m, u)| view(u, m)).collect();
    Ok(HttpResponse::Ok().json(UserList { items, next_cursor }))
}

/// Get a user.
///
/// With memberships and the `ETag` for a later PATCH.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/users/{uid}", tag = "Admin: users",
    params(("id" = String, Path, description = "Tenant id or slug"), ("uid" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User, headers(("ETag" = String))),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    let uid = path.1.clone();
    let found = store
        .run(move |c| match users::find(c, &tenant.id, &uid)? {
            Some(u) => Ok(Some((memberships::of_user(c, &u.id)?, u))),
            None => Ok(None),
        })
        .await?;
    let (ms, u) = found.ok_or_else(|| ApiError::NotFound("user".into()))?;
    Ok(versioned(HttpResponse::Ok(), u.version, &view(&u, &ms)))
}

/// Update a user's roles, memberships, MFA or disable it (send `If-Match`).
///
/// Only the fields sent change; `memberships`, when sent, replaces them all. Send `If-Match`.
/// Disabling signs the person out everywhere: refresh tokens end at once, access tokens within 5
/// seconds.
#[utoipa::path(
    patch, path = "/admin/v1/tenants/{id}/users/{uid}", tag = "Admin: users",
    params(("id" = String, Path, description = "Tenant id or slug"), ("uid" = String, Path, description = "User id"), ("If-Match" = String, Header, description = "The ETag as last read")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "Updated", body = User, headers(("ETag" = String))),
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
    body: Valid<UpdateUser>,
    store: web::Data<Store>,
    caches: web::Data<tokens::cache::Caches>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    let version = if_match(&req)?;
    let b = body.0;
    let update = crate::users::UserUpdate {
        mfa_enabled: b.mfa_enabled,
        tenant_roles: b.tenant_roles,
        disabled: b.disabled,
        memberships: b.memberships,
    };
    let (u, ms) =
        crate::users::update(&store, &caches, &actor, &tenant, &path.1, version, update).await?;
    Ok(versioned(HttpResponse::Ok(), u.version, &view(&u, &ms)))
}

impl From<crate::users::UserError> for ApiError {
    fn from(e: crate::users::UserError) -> Self {
        use crate::users::UserError as E;
        match e {
            E::Invalid { field, message } => ApiError::invalid(field, message),
            E::EmailTaken => ApiError::Conflict(e.to_string()),
            E::NotFound => ApiError::NotFound("user".into()),
            E::Changed => ApiError::PreconditionFailed,
            E::Busy(why) => ApiError::Unavailable(why),
            E::Hash => ApiError::Internal(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}
