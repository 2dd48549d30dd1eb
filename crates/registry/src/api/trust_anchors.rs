//! `/admin/v1/tenants/{id}/trust-anchors`: the CA certificates (roots and intermediates) that
//! production client certificates must chain to.

use actix_web::{web, HttpResponse};
use domain::{certs, ids, now_unix};
use openssl::asn1::Asn1Time;
use openssl::x509::{X509NameRef, X509};
use serde::{Deserialize, Serialize};
use store::repo::audit;
use store::repo::trust_anchors::{self, TrustAnchorRow};
use store::{Store, StoreError};
use tokens::http::{ApiError, BodyProblems, CommonProblems, FieldError, Problem, Valid};
use tokens::service::Changed;
use utoipa::ToSchema;
use validator::Validate;

use super::managed_tenant;
use crate::actor::Actor;

/// Largest PEM bundle accepted.
const MAX_PEM: usize = 64 * 1024;

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

fn name(n: &X509NameRef) -> String {
    n.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = String::from_utf8_lossy(e.data().as_slice()).into_owned();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn unix(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(d.days as i64 * 86400 + d.secs as i64)
}

fn invalid(message: String) -> ApiError {
    ApiError::Validation(vec![FieldError {
        field: "pem".into(),
        message,
    }])
}

/// Checks each certificate of the bundle: a CA (basic constraints CA:TRUE), valid now.
fn parse(tenant_id: &str, pem: &str) -> Result<Vec<TrustAnchorRow>, ApiError> {
    if pem.len() > MAX_PEM {
        return Err(invalid(format!("larger than {MAX_PEM} bytes")));
    }
    let certs =
        X509::stack_from_pem(pem.as_bytes()).map_err(|_| invalid("not PEM certificates".into()))?;
    if certs.is_empty() {
        return Err(invalid("no certificate found".into()));
    }
    let now = now_unix();
    certs
        .iter()
        .enumerate()
        .map(|(i, cert)| {
            let subject = name(cert.subject_name());
            let text = cert
                .to_text()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            if !text.contains("CA:TRUE") {
                return Err(invalid(format!(
                    "certificate {} ({subject}) is not a CA (basic constraints CA:TRUE)",
                    i + 1
                )));
            }
            let (Some(nb), Some(na)) = (unix(cert.not_before()), unix(cert.not_after())) else {
                return Err(invalid(format!(
                    "certificate {} has unreadable validity dates",
                    i + 1
                )));
            };
            if nb > now || na < now {
                return Err(invalid(format!(
                    "certificate {} ({subject}) is not valid now",
                    i + 1
                )));
            }
            let der = cert
                .to_der()
                .map_err(|_| invalid("unreadable certificate".into()))?;
            let pem = String::from_utf8(
                cert.to_pem()
                    .map_err(|_| invalid("unreadable certificate".into()))?,
            )
            .unwrap_or_default();
            Ok(TrustAnchorRow {
                id: ids::new_id(),
                tenant_id: tenant_id.to_owned(),
                issuer: name(cert.issuer_name()),
                subject,
                not_before: nb,
                not_after: na,
                thumbprint: certs::thumbprint_of_der(&der),
                pem,
                created_at: now,
            })
        })
        .collect()
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
    svc: web::Data<tokens::TokenService>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let rows = parse(&tenant.id, &body.0.pem)?;
    let thumbprints: Vec<&str> = rows.iter().map(|r| r.thumbprint.as_str()).collect();
    let event = actor.audit(
        &tenant.id,
        "trust_anchor.create",
        &format!("tenant:{}", tenant.id),
        serde_json::json!({"thumbprints": thumbprints}),
    );
    let inserted = rows.clone();
    store
        .transaction(move |c| {
            inserted
                .iter()
                .try_for_each(|r| trust_anchors::insert(c, r))?;
            audit::insert(c, &event)
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ApiError::Conflict("a certificate of the bundle is already a trust anchor".into())
            }
            e => e.into(),
        })?;
    // Client certificates are checked against the new anchors from the next request on.
    svc.invalidate(Changed::Tenant { slug: &tenant.slug });
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
    svc: web::Data<tokens::TokenService>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &path.0).await?;
    let event = actor.audit(
        &tenant.id,
        "trust_anchor.delete",
        &format!("trust_anchor:{}", path.1),
        serde_json::json!({}),
    );
    let (tid, aid) = (tenant.id.clone(), path.1.clone());
    let deleted = store
        .transaction(move |c| {
            let d = trust_anchors::delete(c, &tid, &aid)?;
            if d {
                audit::insert(c, &event)?;
            }
            Ok(d)
        })
        .await?;
    if deleted {
        svc.invalidate(Changed::Tenant { slug: &tenant.slug });
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("trust anchor".into()))
    }
}
