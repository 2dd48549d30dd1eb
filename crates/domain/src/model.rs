//! Vocabularies of the domain model. Each is parsed once at the edge (HTTP, database) into a
//! type, so the rest of the code never handles an unchecked string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value did not parse into one of the domain's vocabularies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct ParseError {
    pub what: &'static str,
    pub reason: String,
}

/// Declares a closed vocabulary stored and transmitted as its snake_case name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        // By hand: the derive does not see `serde(rename)` through the macro, and the spec
        // must show the wire names.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(ParseError {
                        what: $what,
                        reason: format!(
                            "`{}` is not one of: {}",
                            other.chars().take(64).collect::<String>(),
                            [$($text),+].join(", ")
                        ),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        // What the store's rows convert through (diesel `deserialize_as` / `serialize_as`).
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> { s.parse() }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String { v.as_str().to_owned() }
        }
    };
}

vocabulary!(
    /// Whether a tenant is for trying things out or for real traffic; production tightens rules
    /// (MFA for everyone, CA-issued client certificates, https-only JWKS URLs).
    Environment, "environment" { Sandbox => "sandbox", Production => "production" }
);

vocabulary!(
    /// What an organization (entity) is; the kind shows in its id prefix.
    OrganizationKind, "organization kind" {
        Vendor => "vendor", Department => "department", Other => "other"
    }
);

impl OrganizationKind {
    pub fn id_prefix(self) -> &'static str {
        match self {
            OrganizationKind::Vendor => "VN",
            OrganizationKind::Department => "FD",
            OrganizationKind::Other => "OR",
        }
    }
}

vocabulary!(
    /// Who an OAuth client is: a first-party or third-party application, an integration account
    /// owned by an organization, or the platform's own automation.
    ClientKind, "client kind" {
        Application => "application", Integration => "integration", Admin => "admin", Public => "public"
    }
);

vocabulary!(
    /// How a client authenticates at the token endpoint (RFC 6749, 7523, 8705 names).
    AuthMethod, "auth method" {
        ClientSecretBasic => "client_secret_basic",
        ClientSecretPost => "client_secret_post",
        PrivateKeyJwt => "private_key_jwt",
        TlsClientAuth => "tls_client_auth",
        SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        None => "none",
    }
);

impl AuthMethod {
    /// Methods whose credential is a shared secret that Portcullis issues.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

vocabulary!(
    /// OAuth grant types a client may be allowed.
    GrantType, "grant type" {
        ClientCredentials => "client_credentials",
        Password => "password",
        RefreshToken => "refresh_token",
        MfaOtp => "urn:portcullis:params:oauth:grant-type:mfa-otp",
        AuthorizationCode => "authorization_code",
        JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
    }
);

vocabulary!(
    /// A person's role within an organization.
    MembershipRole, "membership role" { Owner => "owner", Admin => "admin", Member => "member" }
);

vocabulary!(
    /// Roles a user or client holds over a whole tenant.
    TenantRole, "tenant role" { TenantAdmin => "tenant_admin", PlatformAdmin => "platform_admin" }
);

vocabulary!(
    /// Algorithms a tenant signs tokens with (JWA names). Every tenant has an active key of each.
    SigningAlg, "signing algorithm" { Rs256 => "RS256", Es256 => "ES256" }
);

vocabulary!(
    /// Life cycle of a tenant signing key.
    KeyState, "key state" { Next => "next", Active => "active", Retired => "retired" }
);

vocabulary!(
    /// Life cycle of a department's enrollment with a vendor.
    EnrollmentStatus, "enrollment status" {
        Pending => "pending", Active => "active", Refused => "refused", Revoked => "revoked"
    }
);

/// A tenant's URL-safe name, `^[a-z0-9-]{3,40}$`; it appears in every tenant URL and issuer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// The tenant that administers the platform; it exists from the first start.
    pub const SYSTEM: &'static str = "system";

    pub fn system() -> Self {
        TenantSlug(Self::SYSTEM.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantSlug {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let ok_len = (3..=40).contains(&s.len());
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok_len && ok_chars {
            Ok(TenantSlug(s.to_owned()))
        } else {
            Err(ParseError {
                what: "tenant slug",
                reason: "must be 3 to 40 characters of a-z, 0-9 and '-'".to_owned(),
            })
        }
    }
}

impl<'de> Deserialize<'de> for TenantSlug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;

/// A list stored as a JSON array of `T` (scopes, grant types, roles): parsed once when the row
/// is read, so an entry that is not a `T` is an error there, not a silently dropped value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonList<T>(pub Vec<T>);

impl<T> Default for JsonList<T> {
    fn default() -> Self {
        JsonList(Vec::new())
    }
}

impl<T> std::ops::Deref for JsonList<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> From<Vec<T>> for JsonList<T> {
    fn from(v: Vec<T>) -> Self {
        JsonList(v)
    }
}

impl<T: serde::de::DeserializeOwned> TryFrom<String> for JsonList<T> {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        serde_json::from_str(&s).map_err(|e| ParseError {
            what: "stored list",
            reason: e.to_string(),
        })
    }
}

impl<T: Serialize> From<JsonList<T>> for String {
    fn from(v: JsonList<T>) -> String {
        // A Vec of strings or vocabulary names always serialises.
        serde_json::to_string(&v.0).unwrap_or_else(|_| "[]".to_owned())
    }
}

/// Implements the store's conversions for a type kept as a JSON object in a text column.
#[macro_export]
macro_rules! stored_as_json {
    ($name:ty, $what:literal) => {
        impl TryFrom<String> for $name {
            type Error = $crate::model::ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                serde_json::from_str(&s).map_err(|e| $crate::model::ParseError {
                    what: $what,
                    reason: e.to_string(),
                })
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                // Plain data (strings, numbers, lists): serialising cannot fail.
                serde_json::to_string(&v).unwrap_or_else(|_| "{}".to_owned())
            }
        }
    };
}
