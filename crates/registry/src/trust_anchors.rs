//! Trust anchors: the CA certificates (roots and intermediates) production client
//! certificates must chain to. The bundle's rules (CA:TRUE, valid now), then the rows and the
//! audit event in one transaction, then the tenant (whose anchors changed) dropped from this
//! replica's cache: client certificates are checked against the new anchors from the next
//! request on.

use domain::{certs, ids, now_unix};
use openssl::asn1::Asn1Time;
use openssl::x509::{X509NameRef, X509};
use store::repo::audit;
use store::repo::tenants::TenantRow;
use store::repo::trust_anchors::{self, TrustAnchorRow};
use store::{Store, StoreError};
use tokens::cache::Caches;
use tokens::cache::Changed;

use crate::actor::Actor;

/// Largest PEM bundle accepted.
const MAX_PEM: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The bundle breaks a rule; the text says which certificate and why.
    #[error("{0}")]
    Invalid(String),
    #[error("a certificate of the bundle is already a trust anchor")]
    Duplicate,
    #[error("trust anchor not found")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AnchorError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => AnchorError::Duplicate,
            e => AnchorError::Store(e),
        }
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

fn invalid(message: String) -> AnchorError {
    AnchorError::Invalid(message)
}

/// Checks each certificate of the bundle: a CA (basic constraints CA:TRUE), valid now.
pub fn parse(tenant_id: &str, pem: &str) -> Result<Vec<TrustAnchorRow>, AnchorError> {
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

/// Adds every certificate of the bundle as an anchor.
pub async fn create(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    pem: &str,
) -> Result<Vec<TrustAnchorRow>, AnchorError> {
    let rows = parse(&tenant.id, pem)?;
    let thumbprints: Vec<&str> = rows.iter().map(|r| r.thumbprint.as_str()).collect();
    let event = actor.audit(
        &tenant.id,
        "trust_anchor.create",
        &format!("tenant:{}", tenant.id),
        serde_json::json!({"thumbprints": thumbprints}),
    );
    let inserted = rows.clone();
    audit::audited(store, event, move |c| {
        inserted
            .iter()
            .try_for_each(|r| trust_anchors::insert(c, r))
    })
    .await?;
    caches
        .invalidate(Changed::Tenant { slug: &tenant.slug })
        .await;
    Ok(rows)
}

pub async fn delete(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    anchor_id: &str,
) -> Result<(), AnchorError> {
    let event = actor.audit(
        &tenant.id,
        "trust_anchor.delete",
        &format!("trust_anchor:{anchor_id}"),
        serde_json::json!({}),
    );
    let (tid, aid) = (tenant.id.clone(), anchor_id.to_owned());
    let deleted = store
        .transaction(move |c| {
            let d = trust_anchors::delete(c, &tid, &aid)?;
            if d {
                audit::insert(c, &event)?;
            }
            Ok(d)
        })
        .await?;
    if !deleted {
        return Err(AnchorError::NotFound);
    }
    caches
        .invalidate(Changed::Tenant { slug: &tenant.slug })
        .await;
    Ok(())
}
