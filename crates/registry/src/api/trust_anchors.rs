//! `/admin/v1/tenants/{id}/trust-anchors`: the CA certificates (roots and intermediates) that
//! production client certificates must chain to.

use actix_web::{web, HttpResponse};
use http::{ApiError, BodyProblems, CommonProblems, Problem, Valid};
use serde::{Deserialize, Serialize};
use store::repo::trust_anchors::{self, TrustAnchorRow};
use store::Store;
use utoipa::ToSchema;
use validator::Validate;

use super::managed_tenant;
use crate::actor::Actor;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pem": "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"}))]
pub struct UploadAnchors {
    /// One CA certificate, or a chain (root and intermediates): one anchor per certificate.
    #[validate(length(min = 1, max = 65536, message = "must be 1 to 65536 characters of PEM"))]
    pub pem: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrustAnchor {
    pub id: String,
    pub subject: String,
    pub issuer: String,
    /// Seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-256 of the DER, base64url.
    pub thumbprint: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "subject": "CN=Acme Devices CA, O=Acme, C=US", "issuer": "CN=Acme Root, O=Acme, C=US", "not_before": 1767225600, "not_after": 1924905600, "thumbprint": "Ek9UBDDe8Gg1Qo3f9fzAp8uVqMGDy0AM4qRYdD2pDEk"}], "next_cursor": null}))]
pub struct TrustAnchorList {
    pub items: Vec<TrustAnchor>,
    pub next_cursor: Option<String>,
}

fn view(r: &TrustAnchorRow) -> TrustAnchor {
    TrustAnchor {
        id: r.id.clone(),
        subject: r.subject.clone(),
        issuer: r.issuer.clone(),
        not_before: r.not_before,
        not_after: r.not_after,
        thumbprint: r.thumbprint.clone(),
    }
}

/// Upload CA certificates.
///
/// Send one PEM certificate or a chain (root and intermediates, any order): each becomes an anchor.
/// Only CA certificates (`CA:TRUE`) within their validity are accepted; a certificate already
/// present is a 409. Checks use the new anchors from the next request on.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/trust-anchors", tag = "Admin: trust anchors",
    params(("id" = String, Path, description = "Tenant id or slug")),
    request_body = UploadAnchors,
    responses(
        (status = 201, description = "One anchor per certificate", body = TrustAnchorList),
        CommonProblems,
        BodyProblems,
        (status = 409, description = "A certificate is already an anchor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    id: web::Path<String>,
    body: Valid<UploadAnchors>,
    store: web::Data<Store>,
    caches: web::Data<tokens::cache::Caches>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let rows = crate::trust_anchors::create(&store, &caches, &actor, &tenant, &body.0.pem).await?;
    Ok(HttpResponse::Created().json(TrustAnchorList {
        items: rows.iter().map(view).collect(),
        next_cursor: None,
    }))
}

/// List trust anchors.
///
/// The CA certificates (roots and intermediates) that client and device certificates of this tenant
/// must chain to: subject, issuer, validity and thumbprint.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/trust-anchors", tag = "Admin: trust anchors",
    params(("id" = String, Path, description = "Tenant id or slug")),
    responses(
        (status = 200, description = "The anchors", body = TrustAnchorList),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    actor: Actor,
    id: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let rows = store
        .run(move |c| trust_anchors::of_tenant(c, &tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(TrustAnchorList {
        items: rows.iter().map(view).collect(),
        next_cursor: None,
    }))
}

/// Delete a trust anchor.
///
/// Certificates that chained only to this anchor are refused from the next request on (production
/// tenants refuse them; `tls_client_auth` clients can no longer authenticate).
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}/trust-anchors/{aid}", tag = "Admin: trust anchors",
    params(("id" = String, Path, description = "Tenant id or slug"), ("aid" = String, Path, description = "Anchor id")),
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
    caches: web::Data<tokens::cache::Caches>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    crate::trust_anchors::delete(&store, &caches, &actor, &tenant, &path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}

impl From<crate::trust_anchors::AnchorError> for ApiError {
    fn from(e: crate::trust_anchors::AnchorError) -> Self {
        use crate::trust_anchors::AnchorError as E;
        match e {
            E::Invalid(message) => ApiError::invalid("pem", message),
            E::Duplicate => ApiError::Conflict(e.to_string()),
            E::NotFound => ApiError::NotFound("trust anchor".into()),
            E::Store(e) => e.into(),
        }
    }
}
