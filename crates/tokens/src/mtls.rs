//! Mutual TLS (RFC 8705): the client certificate a request presented, and the checks made on
//! it against a tenant — chain to the tenant's trust anchors, validity, self-signed or not,
//! the subject or SAN a client registered.
//!
//! The TLS listener asks for a certificate but accepts any at the handshake (it cannot know the
//! tenant yet); everything is decided here, per request, with errors that say what was wrong.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header::HeaderName;
use actix_web::HttpRequest;
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509StoreContext, X509VerifyResult, X509};

/// The certificate chain a client presented (leaf first).
pub struct ClientCert {
    pub leaf: X509,
    /// Intermediates the client sent with it.
    pub chain: Vec<X509>,
    /// `x5t#S256` of the leaf.
    pub thumbprint: String,
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCert")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl ClientCert {
    pub fn new(leaf: X509, chain: Vec<X509>) -> Option<ClientCert> {
        let der = leaf.to_der().ok()?;
        Some(ClientCert {
            thumbprint: domain::certs::thumbprint_of_der(&der),
            leaf,
            chain,
        })
    }

    /// A PEM bundle, leaf first — what a TLS-terminating proxy forwards (URL-encoded, as nginx's
    /// `$ssl_client_escaped_cert`, or plain).
    pub fn from_forwarded(value: &str) -> Option<ClientCert> {
        let decoded: String = if value.contains('%') {
            form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())?
        } else {
            value.to_owned()
        };
        let mut certs = X509::stack_from_pem(decoded.as_bytes()).ok()?.into_iter();
        let leaf = certs.next()?;
        ClientCert::new(leaf, certs.collect())
    }

    /// Issued by itself, with its own key.
    pub fn is_self_signed(&self) -> bool {
        let same_name = self
            .leaf
            .issuer_name()
            .try_cmp(self.leaf.subject_name())
            .is_ok_and(|o| o.is_eq());
        same_name
            && self
                .leaf
                .public_key()
                .and_then(|k| self.leaf.verify(&k))
                .unwrap_or(false)
    }

    /// Within `notBefore`..`notAfter` now?
    pub fn check_validity(&self) -> Result<(), CertProblem> {
        let now = openssl::asn1::Asn1Time::days_from_now(0).map_err(|_| CertProblem::Unreadable)?;
        if self.leaf.not_before() > now {
            return Err(CertProblem::NotYetValid);
        }
        if self.leaf.not_after() < now {
            return Err(CertProblem::Expired);
        }
        Ok(())
    }

    /// RFC 8705 §2.1.2 `tls_client_auth_subject_dn`: the subject, compared attribute by
    /// attribute (RFC 4514 order, attribute names and values case-insensitively).
    pub fn subject_matches(&self, registered: &str) -> bool {
        let mut wanted = match parse_dn(registered) {
            Some(w) if !w.is_empty() => w,
            _ => return false,
        };
        // RFC 4514 writes the most specific attribute first; the certificate stores it last.
        wanted.reverse();
        let have: Vec<(String, String)> = self
            .leaf
            .subject_name()
            .entries()
            .filter_map(|e| {
                let name = e.object().nid().short_name().ok()?.to_ascii_uppercase();
                let value = e.data().to_string().ok()?.to_lowercase();
                Some((name, value))
            })
            .collect();
        have == wanted
    }

    /// RFC 8705 §2.1.2 SAN checks.
    pub fn san_matches(&self, kind: SanKind, registered: &str) -> bool {
        let Some(names) = self.leaf.subject_alt_names() else {
            return false;
        };
        names.iter().any(|n| match kind {
            SanKind::Dns => n
                .dnsname()
                .is_some_and(|v| v.eq_ignore_ascii_case(registered)),
            SanKind::Uri => n.uri().is_some_and(|v| v == registered),
            SanKind::Email => n
                .email()
                .is_some_and(|v| v.eq_ignore_ascii_case(registered)),
            SanKind::Ip => match (n.ipaddress(), registered.parse::<IpAddr>()) {
                (Some(bytes), Ok(IpAddr::V4(ip))) => bytes == ip.octets(),
                (Some(bytes), Ok(IpAddr::V6(ip))) => bytes == ip.octets(),
                _ => false,
            },
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanKind {
    Dns,
    Uri,
    Ip,
    Email,
}

/// `CN=client,O=Acme\, Inc.,C=US` → `[(CN, client), (O, acme, inc.), (C, us)]`.
fn parse_dn(dn: &str) -> Option<Vec<(String, String)>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next()?),
            ',' | ';' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
        .iter()
        .map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_ascii_uppercase(), v.trim().to_lowercase()))
        })
        .collect()
}

/// Why a presented certificate is not accepted; the text goes into `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertProblem {
    #[error("the client certificate has expired")]
    Expired,
    #[error("the client certificate is not valid yet")]
    NotYetValid,
    #[error("the client certificate is self-signed; this tenant accepts only certificates issued by its certificate authorities")]
    SelfSigned,
    #[error("the client certificate does not chain to this tenant's trust anchors ({0})")]
    Untrusted(String),
    #[error("this tenant has no trust anchors; an administrator must add its CA certificates")]
    NoAnchors,
    #[error("the client certificate could not be read")]
    Unreadable,
}

/// A tenant's trust anchors (roots and intermediates), ready to verify chains.
pub struct Anchors {
    store: X509Store,
    count: usize,
}

impl Anchors {
    /// From the PEMs of the tenant's anchors; unreadable ones are skipped (they were checked
    /// when added). Intermediates may be anchors themselves (partial chains are accepted).
    pub fn from_pems<'a>(
        pems: impl IntoIterator<Item = &'a str>,
    ) -> Result<Anchors, openssl::error::ErrorStack> {
        let mut b = X509StoreBuilder::new()?;
        let mut count = 0;
        for pem in pems {
            if let Ok(cert) = X509::from_pem(pem.as_bytes()) {
                if b.add_cert(cert).is_ok() {
                    count += 1;
                }
            }
        }
        b.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
        Ok(Anchors {
            store: b.build(),
            count,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The production rule: not self-signed, valid now, chained to an anchor.
    pub fn verify(&self, cert: &ClientCert) -> Result<(), CertProblem> {
        if cert.is_self_signed() {
            return Err(CertProblem::SelfSigned);
        }
        cert.check_validity()?;
        if self.is_empty() {
            return Err(CertProblem::NoAnchors);
        }
        let mut chain = Stack::new().map_err(|_| CertProblem::Unreadable)?;
        for c in &cert.chain {
            chain.push(c.clone()).map_err(|_| CertProblem::Unreadable)?;
        }
        let mut ctx = X509StoreContext::new().map_err(|_| CertProblem::Unreadable)?;
        let outcome = ctx
            .init(&self.store, &cert.leaf, &chain, |c| {
                Ok((c.verify_cert()?, c.error()))
            })
            .map_err(|_| CertProblem::Unreadable)?;
        match outcome {
            (true, _) => Ok(()),
            (false, e) => Err(problem_of(e)),
        }
    }
}

fn problem_of(e: X509VerifyResult) -> CertProblem {
    // X509_V_ERR_* codes of OpenSSL.
    match e.as_raw() {
        9 => CertProblem::NotYetValid,
        10 => CertProblem::Expired,
        18 => CertProblem::SelfSigned,
        _ => CertProblem::Untrusted(e.error_string().to_owned()),
    }
}

/// Which peers may forward a client certificate, and in which header. Off (empty) by default:
/// a header is only as trustworthy as the proxy that set it.
#[derive(Debug, Clone, Default)]
pub struct ProxyTrust {
    pub proxies: Vec<IpAddr>,
    pub header: Option<HeaderName>,
}

/// The client certificate of this request: the TLS connection's, else (from a trusted proxy
/// only) the forwarded one.
pub fn presented(req: &HttpRequest) -> Option<Arc<ClientCert>> {
    if let Some(cert) = req.conn_data::<Arc<ClientCert>>() {
        return Some(cert.clone());
    }
    let trust = req.app_data::<ProxyTrust>()?;
    let header = trust.header.as_ref()?;
    let peer = req.peer_addr()?.ip();
    if !trust.proxies.contains(&peer) {
        return None;
    }
    let value = req.headers().get(header)?.to_str().ok()?;
    ClientCert::from_forwarded(value).map(Arc::new)
}

#[cfg(test)]
mod tests;
