//! `/account/enrollments`: a vendor asks to act for a department; the department's owners and
//! admins (or a tenant admin) approve or refuse; either side revokes. While an enrollment is
//! active, the vendor's integrations may ask for tokens `on_behalf_of` the department.

use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use domain::model::{EnrollmentStatus, OrganizationKind};
use http::{ApiError, BodyProblems, CommonProblems, PageQuery, Problem, Valid};
use serde::{Deserialize, Serialize};
use store::repo::enrollments::{self, EnrollmentRow};
use store::repo::{memberships, organizations};
use store::Store;
use tokens::cache::Caches;
use utoipa::ToSchema;
use validator::Validate;

use crate::caller::Caller;
use crate::enrollments::{Decision, Permission};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"vendor_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0a", "department_id": "FD0192f0c4e8a37c1e9d4b5a6f7e8d9c0b"}))]
pub struct CreateEnrollment {
    /// Your vendor entity (you are its owner or admin).
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    pub vendor_id: String,
    /// The department to act for.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    pub department_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0d", "vendor_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0a", "department_id": "FD0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "status": "pending", "requested_by": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0c", "decided_by": null, "created_at": 1767225600, "updated_at": 1767225600}))]
pub struct Enrollment {
    pub id: String,
    pub vendor_id: String,
    pub department_id: String,
    pub status: EnrollmentStatus,
    pub requested_by: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentList {
    pub items: Vec<Enrollment>,
    pub next_cursor: Option<String>,
}

fn view(r: &EnrollmentRow) -> Result<Enrollment, ApiError> {
    Ok(Enrollment {
        id: r.id.clone(),
        vendor_id: r.vendor_id.clone(),
        department_id: r.department_id.clone(),
        status: r.status,
        requested_by: r.requested_by.clone(),
        decided_by: r.decided_by.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Ask to act for a department.
///
/// The caller is an owner or admin of the vendor (`VN…`). A refused or revoked enrollment can
/// be asked for again; a pending or active one is a 409.
#[utoipa::path(
    post, path = "/account/enrollments", operation_id = "request_enrollment", tag = "Account",
    request_body = CreateEnrollment,
    responses(
        (status = 201, description = "Requested; pending until the department decides", body = Enrollment),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "Already pending or active", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    body: Valid<CreateEnrollment>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let vendor = caller
        .managed_entity(&store, &b.vendor_id, "enroll it with departments")
        .await?;
    if vendor.kind != OrganizationKind::Vendor {
        return Err(ApiError::invalid(
            "vendor_id",
            "must be a vendor entity (`VN…`)",
        ));
    }
    let (tid, did) = (vendor.tenant_id.clone(), b.department_id.clone());
    let department = store
        .run(move |c| organizations::find(c, &tid, &did))
        .await?
        .filter(|o| o.kind == OrganizationKind::Department)
        .ok_or_else(|| {
            ApiError::invalid("department_id", "no such department (`FD…`) in this tenant")
        })?;
    let event = caller.audit(
        "enrollment.request",
        &format!("enrollment:{}:{}", vendor.id, department.id),
        serde_json::json!({"vendor_id": vendor.id, "department_id": department.id}),
    );
    let outcome =
        crate::enrollments::request(&store, &vendor, &department, &caller.user.id, event).await?;
    match outcome {
        Ok(row) => Ok(HttpResponse::Created()
            .insert_header((LOCATION, format!("/account/enrollments/{}", row.id)))
            .json(view(&row)?)),
        Err(existing) => Err(ApiError::Conflict(format!(
            "enrollment {} is already {}",
            existing.id, existing.status
        ))),
    }
}

/// List the enrollments of my entities (a tenant admin sees all of the tenant's).
///
/// Enrollments where one of your entities is the vendor or the department, with their status
/// (`pending`, `active`, `refused`, `revoked`); cursor-paginated.
#[utoipa::path(
    get, path = "/account/enrollments", operation_id = "list_enrollments", tag = "Account",
    params(PageQuery),
    responses((status = 200, description = "A page of enrollments", body = EnrollmentList), CommonProblems),
    security(("bearer" = []))
)]
pub async fn list(
    caller: Caller,
    page: web::Query<PageQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let (tid, uid, all) = (
        caller.tenant_id().to_owned(),
        caller.user.id.clone(),
        caller.is_tenant_admin(),
    );
    let (rows, next_cursor) = page
        .load(
            &store,
            move |c, after, n| {
                if all {
                    return enrollments::list(c, &tid, None, after, n);
                }
                let mine: Vec<String> = memberships::of_user(c, &uid)?
                    .into_iter()
                    .map(|m| m.organization_id)
                    .collect();
                enrollments::list(c, &tid, Some(&mine), after, n)
            },
            |r| &r.id,
        )
        .await?;
    Ok(HttpResponse::Ok().json(EnrollmentList {
        items: rows.iter().map(view).collect::<Result<_, _>>()?,
        next_cursor,
    }))
}

/// The enrollment, if the caller may take `decision` on it ([`Decision::permission`]).
async fn decidable(
    store: &Store,
    caller: &Caller,
    id: &str,
    decision: Decision,
) -> Result<EnrollmentRow, ApiError> {
    let (tid, eid, uid) = (
        caller.tenant_id().to_owned(),
        id.to_owned(),
        caller.user.id.clone(),
    );
    let found = store
        .run(move |c| {
            let Some(e) = enrollments::find(c, &tid, &eid)? else {
                return Ok(None);
            };
            let vendor = memberships::role_of(c, &uid, &e.vendor_id)?;
            let department = memberships::role_of(c, &uid, &e.department_id)?;
            Ok(Some((e, vendor, department)))
        })
        .await?;
    let Some((e, vendor, department)) = found else {
        return Err(ApiError::NotFound("enrollment".into()));
    };
    match decision.permission(caller.is_tenant_admin(), vendor, department) {
        Permission::Granted => Ok(e),
        Permission::Denied(why) => Err(ApiError::Denied(why.into())),
        Permission::Hidden => Err(ApiError::NotFound("enrollment".into())),
    }
}

async fn decide(
    caller: Caller,
    id: &str,
    decision: Decision,
    store: &Store,
    caches: &Caches,
) -> Result<HttpResponse, ApiError> {
    let e = decidable(store, &caller, id, decision).await?;
    let event = caller.audit(
        &format!("enrollment.{}", decision.verb()),
        &format!("enrollment:{}:{}", e.vendor_id, e.department_id),
        serde_json::json!({"id": e.id, "from": e.status}),
    );
    // Tokens acting under it see the change at once here.
    let updated =
        crate::enrollments::transition(store, caches, &e, decision, &caller.user.id, event).await?;
    match updated {
        Some(row) => Ok(HttpResponse::Ok().json(view(&row)?)),
        None => Err(ApiError::Conflict(format!(
            "the enrollment is {}; it must be {} to {}",
            e.status,
            decision
                .from()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
            decision.verb()
        ))),
    }
}

/// Approve a pending enrollment (owner or admin of the department, or a tenant admin).
///
/// From `pending` to `active`: the vendor's integrations may then ask for tokens with
/// `on_behalf_of` the department. Anything but a pending enrollment is a 409.
#[utoipa::path(
    post, path = "/account/enrollments/{id}/approve", operation_id = "approve_enrollment", tag = "Account",
    params(("id" = String, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "Active", body = Enrollment),
        CommonProblems,
        (status = 409, description = "Not pending", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn approve(
    caller: Caller,
    id: web::Path<String>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    decide(caller, &id, Decision::Approve, &store, &caches).await
}

/// Refuse a pending enrollment (owner or admin of the department, or a tenant admin).
///
/// From `pending` to `refused`; the vendor may ask again later. Anything but a pending enrollment
/// is a 409.
#[utoipa::path(
    post, path = "/account/enrollments/{id}/refuse", operation_id = "refuse_enrollment", tag = "Account",
    params(("id" = String, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "Refused", body = Enrollment),
        CommonProblems,
        (status = 409, description = "Not pending", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn refuse(
    caller: Caller,
    id: web::Path<String>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    decide(caller, &id, Decision::Refuse, &store, &caches).await
}

/// Revoke an enrollment (either side's owner or admin, or a tenant admin).
///
/// Tokens issued `on_behalf_of` the department stop validating at once on this server (other
/// replicas within 5 seconds), and the vendor's integrations can no longer ask for them.
#[utoipa::path(
    post, path = "/account/enrollments/{id}/revoke", operation_id = "revoke_enrollment", tag = "Account",
    params(("id" = String, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "Revoked", body = Enrollment),
        CommonProblems,
        (status = 409, description = "Already refused or revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    caller: Caller,
    id: web::Path<String>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    decide(caller, &id, Decision::Revoke, &store, &caches).await
}
