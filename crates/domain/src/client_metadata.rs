//! Client metadata beyond the columns of the clients table, stored as JSON (RFC 7591 / RFC 8705
//! names): how a `tls_client_auth` client's certificate is recognised, and device and binding
//! requirements.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientMetadata {
    /// RFC 8705 §2.1.2: exactly one of these five identifies a `tls_client_auth` client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_subject_dn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_dns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_email: Option<String>,
    /// Token requests must identify a device (`X-Device-Authorization` or its certificate).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_device_auth: bool,
    /// RFC 8705 §3.4: tokens only over mutual TLS, bound to the certificate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_client_certificate_bound_access_tokens: bool,
    /// Where the authorization endpoint may send the person back (exact match; a loopback
    /// URI of a native app may use any port, RFC 8252 §7.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the person afterwards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Shown on the consent page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// The tenant's own application: people are not asked to consent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub first_party: bool,
}

impl ClientMetadata {
    /// How many of the five certificate identities are set (RFC 8705 wants exactly one).
    pub fn tls_identities(&self) -> usize {
        [
            &self.tls_client_auth_subject_dn,
            &self.tls_client_auth_san_dns,
            &self.tls_client_auth_san_uri,
            &self.tls_client_auth_san_ip,
            &self.tls_client_auth_san_email,
        ]
        .iter()
        .filter(|v| v.is_some())
        .count()
    }
}

// Stored as JSON in the clients table; an unknown or mistyped field is an error when read.
crate::stored_as_json!(ClientMetadata, "client metadata");
