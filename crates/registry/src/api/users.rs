//! `/admin/v1/tenants/{id}/users`: people of a tenant, their tenant roles and memberships.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::model::{Environment, MembershipRole, TenantRole};
use domain::now_unix;
use serde::{Deserialize, Serialize};
use store::repo::memberships::{self, MembershipRow};
use store::repo::tenants::TenantRow;
use store::repo::users::{self, UserChanges, UserRow};
use store::repo::{audit, organizations};
use store::{Store, StoreError};
use tokens::http::{
    etag, if_match, ApiError, BodyProblems, CommonProblems, FieldError, PageQuery, Problem, Valid,
};
use tokens::password_gate::PasswordGate;
use tokens::service::Changed;
use utoipa::ToSchema;
use validator::Validate;

use super::managed_tenant;
use crate::actor::Actor;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub organization_id: String,
    pub role: MembershipRole,
}

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
    pub tenant_roles: Vec<String>,
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
        tenant_roles: serde_json::from_str(&u.tenant_roles).unwrap_or_default(),
        memberships: ms
            .iter()
            .filter_map(|m| {
                Some(Membership {
                    organization_id: m.organization_id.clone(),
                    role: m.role.parse().ok()?,
                })
            })
            .collect(),
        disabled: u.disabled,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

fn check_roles(
    tenant: &TenantRow,
    roles: &[TenantRole],
    mfa: Option<bool>,
) -> Result<(), ApiError> {
    super::check_platform_admin(tenant, roles)?;
    if mfa == Some(false) && tenant.environment == Environment::Production.as_str() {
        return Err(invalid(
            "mfa_enabled",
            "every user of a production tenant signs in with MFA",
        ));
    }
    Ok(())
}

fn roles_json(roles: &[TenantRole]) -> String {
    serde_json::to_string(&roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// Checks that every organization belongs to the tenant; the rows to store.
fn membership_rows(
    conn: &mut store::DbConnection,
    tenant_id: &str,
    user_id: &str,
    ms: &[Membership],
    now: i64,
) -> Result<Option<Vec<MembershipRow>>, StoreError> {
    let mut rows = Vec::new();
    for m in ms {
        if organizations::find(conn, tenant_id, &m.organization_id)?.is_none() {
            return Ok(None);
        }
        rows.push(MembershipRow {
            user_id: user_id.to_owned(),
            organization_id: m.organization_id.clone(),
            role: m.role.to_string(),
            created_at: now,
        });
    }
    Ok(Some(rows))
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
    check_roles(&tenant, &b.tenant_roles, Some(b.mfa_enabled))?;
    let email = domain::email::normalize(&b.email).map_err(|e| invalid("email", &e.to_string()))?;
    let pw = b.password;
    let hash = gate
        .run(move |hasher| hasher.hash(&pw))
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = now_unix();
    let user = UserRow::new(
        &tenant.id,
        email,
        hash,
        b.mfa_enabled,
        roles_json(&b.tenant_roles),
        now,
    );
    let event = actor.audit(
        &tenant.id,
        "user.create",
        &format!("user:{}", user.id),
        serde_json::json!({"email": user.email, "tenant_roles": b.tenant_roles}),
    );
    let (inserted, ms, tid) = (user.clone(), b.memberships, tenant.id.clone());
    let stored = store
        .transaction(move |c| {
            // Checked before anything is written; an error rolls the whole creation back.
            let rows =
                membership_rows(c, &tid, &inserted.id, &ms, now)?.ok_or(StoreError::NotFound)?;
            users::insert(c, &inserted)?;
            memberships::replace(c, &inserted.id, &rows)?;
            audit::insert(c, &event)?;
            Ok(rows)
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => invalid("memberships", "an organization is not in this tenant"),
            StoreError::Conflict { .. } => {
                ApiError::Conflict("a user with this email exists in the tenant".into())
            }
            e => e.into(),
        })?;
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
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let load = move |c: &mut store::DbConnection, after: Option<&str>, n: i64| {
        users::list(c, &tenant.id, after, n)?
            .into_iter()
            .map(|u| Ok((memberships::of_user(c, &u.id)?, u)))
            .collect::<Result<Vec<_>, StoreError>>()
    };
    let (rows, next_cursor) = page.load(&store, load, |(_, u)| &u.id).await?;
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
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag(u.version)))
        .json(view(&u, &ms)))
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
    svc: web::Data<tokens::TokenService>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    let version = if_match(&req)?;
    let b = body.0;
    check_roles(
        &tenant,
        b.tenant_roles.as_deref().unwrap_or_default(),
        b.mfa_enabled,
    )?;
    let changes = UserChanges {
        mfa_enabled: b.mfa_enabled,
        tenant_roles: b.tenant_roles.as_deref().map(roles_json),
        disabled: b.disabled,
    };
    let event = actor.audit(&tenant.id, "user.update", &format!("user:{}", path.1), serde_json::json!({"tenant_roles": changes.tenant_roles, "disabled": changes.disabled, "mfa_enabled": changes.mfa_enabled, "memberships": b.memberships}));
    let (tid, uid, ms) = (tenant.id.clone(), path.1.clone(), b.memberships);
    let outcome = store
        .transaction(move |c| {
            if users::find(c, &tid, &uid)?.is_none() {
                return Err(StoreError::NotFound);
            }
            if !users::update_if_version(c, &tid, &uid, version, &changes, now_unix())? {
                return Ok(Err(ApiError::PreconditionFailed));
            }
            if let Some(ms) = ms {
                match membership_rows(c, &tid, &uid, &ms, now_unix())? {
                    Some(rows) => memberships::replace(c, &uid, &rows)?,
                    // Undo the whole update.
                    None => {
                        return Err(StoreError::Conflict {
                            constraint: "memberships".into(),
                        })
                    }
                }
            }
            if changes.disabled == Some(true) {
                // Signed out everywhere: refresh tokens end now, access tokens within the
                // token service's cache bound.
                store::repo::refresh_tokens::revoke_user(c, &uid, now_unix())?;
            }
            audit::insert(c, &event)?;
            let u = users::find(c, &tid, &uid)?.ok_or(StoreError::NotFound)?;
            Ok(Ok((memberships::of_user(c, &uid)?, u)))
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound("user".into()),
            StoreError::Conflict { .. } => {
                invalid("memberships", "an organization is not in this tenant")
            }
            e => e.into(),
        })?;
    let (ms, u) = outcome?;
    svc.invalidate(Changed::Person { id: &u.id });
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag(u.version)))
        .json(view(&u, &ms)))
}
