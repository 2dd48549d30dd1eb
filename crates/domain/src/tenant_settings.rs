//! A tenant's token policy, as the admin API takes it and the tenants table stores it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::model::SigningAlg;

/// Default access-token lifetime (seconds) when neither the client nor the tenant sets one.
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 300;

/// Per-tenant token policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Access-token lifetime in seconds for clients that set none (30 to 86400).
    #[serde(default = "default_lifetime")]
    #[validate(range(
        min = 30,
        max = 86400,
        message = "must be between 30 and 86400 seconds"
    ))]
    #[schema(example = 300)]
    pub access_token_lifetime: i64,
    /// Signing algorithms clients of this tenant may choose (`RS256`, `ES256`).
    #[serde(default = "default_algorithms")]
    #[validate(custom(function = "valid_algorithms"))]
    #[schema(example = json!(["RS256", "ES256"]))]
    pub allowed_algorithms: Vec<String>,
    /// Scopes people may give the integration accounts they create; absent: any scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "crate::scopes::valid_scopes"))]
    #[schema(example = json!(["reports:write", "incidents:read"]))]
    pub integration_scopes: Option<Vec<String>>,
    /// The scope catalogue: what each scope lets an application do, in words a person reads
    /// on the consent page. `openid`, `offline_access`, `email` and `profile` need no entry.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(example = json!({"records:read": "Read your health records"}))]
    pub scope_descriptions: std::collections::BTreeMap<String, String>,
}

fn default_lifetime() -> i64 {
    DEFAULT_ACCESS_TOKEN_TTL
}

fn default_algorithms() -> Vec<String> {
    SigningAlg::ALL
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect()
}

#[allow(clippy::ptr_arg)]
fn valid_algorithms(algs: &Vec<String>) -> Result<(), ValidationError> {
    if algs.is_empty() || algs.iter().any(|a| a.parse::<SigningAlg>().is_err()) {
        let mut e = ValidationError::new("algorithms");
        e.message = Some("must be a non-empty list of RS256 and ES256".into());
        return Err(e);
    }
    Ok(())
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            access_token_lifetime: default_lifetime(),
            allowed_algorithms: default_algorithms(),
            integration_scopes: None,
            scope_descriptions: Default::default(),
        }
    }
}

impl TenantSettings {
    /// Whether clients of the tenant may sign (and be issued tokens) with `alg`.
    pub fn allows(&self, alg: SigningAlg) -> bool {
        self.allowed_algorithms.iter().any(|a| a == alg.as_str())
    }
}

// Stored as JSON; a missing field takes its default (older rows), an unknown or mistyped one
// is an error when the row is read.
crate::stored_as_json!(TenantSettings, "tenant settings");
