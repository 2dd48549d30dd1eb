//! `/admin/v1/tenants/{id}/organizations/{oid}/devices`: devices and their non-expiring tokens.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::certs;
use domain::model::Environment;
use domain::secrets::MasterKey;
use http::{
    etag, if_match, versioned, ApiError, BodyProblems, CommonProblems, PageQuery, Problem, Valid,
};
use serde::{Deserialize, Serialize};
use store::repo::devices::{self, DeviceRow};
use store::Store;
use tokens::cache::Caches;
use utoipa::ToSchema;
use validator::Validate;

use super::organizations::managed_organization;
use super::with_organization;
use crate::actor::Actor;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ward 3 terminal"}))]
pub struct CreateDevice {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    /// The device's client certificate (PEM); binds its token to it (`cnf.x5t#S256`).
    pub certificate: Option<String>,
    /// Or just the certificate's SHA-256 thumbprint (base64url or hex).
    pub thumbprint: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"disabled": true}))]
pub struct UpdateDevice {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    /// A disabled device's token stops validating.
    pub disabled: Option<bool>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"thumbprint": "Ek9UBDDe8Gg1Qo3f9fzAp8uVqMGDy0AM4qRYdD2pDEk"}))]
pub struct SetCertificate {
    /// The new client certificate (PEM).
    pub certificate: Option<String>,
    /// Or its SHA-256 thumbprint (base64url or hex).
    pub thumbprint: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "organization_id": "FD0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "name": "tablet-7", "cert_thumbprint": "Ek9UBDDe8Gg1Qo3f9fzAp8uVqMGDy0AM4qRYdD2pDEk", "token_version": 1, "disabled": false, "created_at": 1767225600, "updated_at": 1767225600}))]
pub struct Device {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    /// `x5t#S256` of the bound certificate.
    pub cert_thumbprint: Option<String>,
    /// Bumped by every re-issue and certificate change.
    pub token_version: i64,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "organization_id": "FD0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "name": "tablet-7", "cert_thumbprint": "Ek9UBDDe8Gg1Qo3f9fzAp8uVqMGDy0AM4qRYdD2pDEk", "token_version": 1, "disabled": false, "created_at": 1767225600, "updated_at": 1767225600, "device_secret": "qN3vX0…(43 characters)", "device_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9..."}))]
pub struct CreatedDevice {
    #[serde(flatten)]
    pub device: Device,
    /// Shown once; for `X-Device-Authorization: BASIC base64(id:secret)`.
    pub device_secret: String,
    /// Shown once: a JWT without expiry carrying `tenant`, `org`, `device`, `ver` (and `cnf`).
    pub device_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"device_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9..."}))]
pub struct DeviceToken {
    pub device_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<Device>,
    pub next_cursor: Option<String>,
}

fn view(r: &DeviceRow) -> Device {
    Device {
        id: r.id.clone(),
        organization_id: r.organization_id.clone(),
        name: r.name.clone(),
        cert_thumbprint: r.cert_thumbprint.clone(),
        token_version: r.token_version,
        disabled: r.disabled,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// One of `certificate` or `thumbprint`, as a thumbprint.
fn binding(
    certificate: Option<&str>,
    thumbprint: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match (certificate, thumbprint) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "certificate",
            "give a certificate or a thumbprint, not both",
        )),
        (Some(pem), None) => certs::thumbprint_of_pem(pem)
            .map(Some)
            .map_err(|e| ApiError::invalid("certificate", e.to_string())),
        (None, Some(t)) => certs::parse_thumbprint(t)
            .map(Some)
            .map_err(|e| ApiError::invalid("thumbprint", e.to_string())),
        (None, None) => Ok(None),
    }
}

/// Register a device.
///
/// Answers, once, its secret and its non-expiring device token.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/organizations/{oid}/devices", tag = "Admin: devices",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id")),
    request_body = CreateDevice,
    responses(
        (status = 201, description = "Created; the secret and token are shown only now", body = CreatedDevice),
        CommonProblems,
        BodyProblems,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    path: web::Path<(String, String)>,
    body: Valid<CreateDevice>,
    store: web::Data<Store>,
    master_key: web::Data<MasterKey>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, org) = managed_organization(&store, &actor, &path.0, &path.1).await?;
    let body = body.0;
    let thumbprint = binding(body.certificate.as_deref(), body.thumbprint.as_deref())?;
    if thumbprint.is_none() && tenant.environment == Environment::Production {
        return Err(ApiError::invalid("certificate", "production tenants bind device tokens to the device's certificate: give certificate (PEM) or thumbprint"));
    }
    let crate::devices::Registered { row, secret, token } = crate::devices::create(
        &store,
        &caches,
        &master_key,
        &actor,
        &tenant,
        &org,
        crate::devices::NewDevice {
            name: body.name,
            thumbprint,
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!(
                "/admin/v1/tenants/{}/organizations/{}/devices/{}",
                tenant.id, org.id, row.id
            ),
        ))
        .insert_header((ETAG, etag(row.version)))
        .json(CreatedDevice {
            device: view(&row),
            device_secret: secret,
            device_token: token,
        }))
}

/// List an organization's devices.
///
/// Devices with their certificate thumbprint and token version; cursor-paginated. Secrets and
/// tokens are shown only when issued.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/organizations/{oid}/devices", tag = "Admin: devices",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id"), PageQuery),
    responses(
        (status = 200, description = "A page of devices", body = DeviceList),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    actor: Actor,
    path: web::Path<(String, String)>,
    page: web::Query<PageQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let page = page.resolve()?;
    let (rows, next_cursor) =
        with_organization(&store, &actor, (&path.0, &path.1), move |c, _, org| {
            let list = |c: &mut _, after: Option<&str>, n| devices::list(c, &org.id, after, n);
            Ok(page.load(c, list, |r| &r.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DeviceList {
        items: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

async fn managed_device(
    store: &Store,
    actor: &Actor,
    path: &(String, String, String),
) -> Result<(store::repo::tenants::TenantRow, DeviceRow), ApiError> {
    let did = path.2.clone();
    with_organization(store, actor, (&path.0, &path.1), move |c, tenant, org| {
        let device = devices::find(c, &tenant.id, &did)?
            .filter(|d| d.organization_id == org.id)
            .ok_or_else(|| ApiError::NotFound("device".into()))?;
        Ok((tenant, device))
    })
    .await
}

/// Get a device.
///
/// With its `ETag` for a later PATCH.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/organizations/{oid}/devices/{did}", tag = "Admin: devices",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id"), ("did" = String, Path, description = "Device id")),
    responses(
        (status = 200, description = "The device", body = Device, headers(("ETag" = String))),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    actor: Actor,
    path: web::Path<(String, String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let (_, d) = managed_device(&store, &actor, &path).await?;
    Ok(versioned(HttpResponse::Ok(), d.version, &view(&d)))
}

/// Rename or disable a device (send `If-Match`). Disabling invalidates its token.
///
/// Send `If-Match`. Re-enabling a device makes its current token valid again.
#[utoipa::path(
    patch, path = "/admin/v1/tenants/{id}/organizations/{oid}/devices/{did}", tag = "Admin: devices",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id"), ("did" = String, Path, description = "Device id"), ("If-Match" = String, Header, description = "The ETag as last read")),
    request_body = UpdateDevice,
    responses(
        (status = 200, description = "Updated", body = Device, headers(("ETag" = String))),
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
    path: web::Path<(String, String, String)>,
    body: Valid<UpdateDevice>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, d) = managed_device(&store, &actor, &path).await?;
    let version = if_match(&req)?;
    let body = body.0;
    let updated = crate::devices::update(
        &store,
        &caches,
        &actor,
        &tenant,
        &d,
        version,
        crate::devices::DeviceChanges {
            name: body.name,
            disabled: body.disabled,
        },
    )
    .await?;
    Ok(versioned(
        HttpResponse::Ok(),
        updated.version,
        &view(&updated),
    ))
}

/// Delete a device; its token stops validating.
///
/// Its token stops validating at once here and within 5 seconds on other replicas; its secret no
/// longer authenticates it.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}/organizations/{oid}/devices/{did}", tag = "Admin: devices",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id"), ("did" = String, Path, description = "Device id")),
    responses(
        (status = 204, description = "Deleted"),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    actor: Actor,
    path: web::Path<(String, String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, d) = managed_device(&store, &actor, &path).await?;
    crate::devices::delete(&store, &caches, &actor, &tenant, &d).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn reissue(
    actor: &Actor,
    path: &(String, String, String),
    store: &Store,
    caches: &Caches,
    thumbprint: Option<Option<String>>,
    action: &str,
) -> Result<(DeviceRow, String), ApiError> {
    let (tenant, d) = managed_device(store, actor, path).await?;
    Ok(crate::devices::reissue(store, caches, actor, &tenant, &d, thumbprint, action).await?)
}

impl From<crate::devices::DeviceError> for ApiError {
    fn from(e: crate::devices::DeviceError) -> Self {
        use crate::devices::DeviceError as E;
        match e {
            E::NotFound => ApiError::NotFound("device".into()),
            E::TenantGone => ApiError::NotFound("tenant".into()),
            E::Changed => ApiError::PreconditionFailed,
            E::Signing(why) => ApiError::Internal(why),
            E::Store(e) => e.into(),
        }
    }
}

/// Re-issue the device token; the previous one stops validating.
///
/// The answer carries the new token, once. Device tokens do not expire: they die when re-issued,
/// when the device's certificate changes, when the signing key is retired, or with the device.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/organizations/{oid}/devices/{did}/token", tag = "Admin: devices",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id"), ("did" = String, Path, description = "Device id")),
    responses(
        (status = 200, description = "The new device token (shown once)", body = DeviceToken),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn token(
    actor: Actor,
    path: web::Path<(String, String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (_, token) = reissue(&actor, &path, &store, &caches, None, "device.token").await?;
    Ok(HttpResponse::Ok().json(DeviceToken {
        device_token: token,
    }))
}

/// Bind the device to a (new) client certificate: the old token stops validating; the answer
/// carries the new one, bound to the certificate (`cnf.x5t#S256`).
///
/// Send the certificate (PEM) or its SHA-256 thumbprint. In production tenants the device then
/// works only over mutual TLS with that certificate, which must chain to the tenant's trust
/// anchors.
#[utoipa::path(
    put, path = "/admin/v1/tenants/{id}/organizations/{oid}/devices/{did}/certificate", tag = "Admin: devices",
    params(("id" = String, Path, description = "Tenant id or slug"), ("oid" = String, Path, description = "Organization id"), ("did" = String, Path, description = "Device id")),
    request_body = SetCertificate,
    responses(
        (status = 200, description = "Bound; the new device token (shown once)", body = DeviceToken),
        CommonProblems,
        BodyProblems,
    ),
    security(("bearer" = []))
)]
pub async fn certificate(
    actor: Actor,
    path: web::Path<(String, String, String)>,
    body: Valid<SetCertificate>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let thumbprint = binding(body.0.certificate.as_deref(), body.0.thumbprint.as_deref())?
        .ok_or_else(|| ApiError::invalid("certificate", "give a certificate or a thumbprint"))?;
    let (_, token) = reissue(
        &actor,
        &path,
        &store,
        &caches,
        Some(Some(thumbprint)),
        "device.certificate",
    )
    .await?;
    Ok(HttpResponse::Ok().json(DeviceToken {
        device_token: token,
    }))
}
