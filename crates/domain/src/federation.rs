//! Trusted external issuers and their rules: which tokens of another issuer (a previous identity
//! provider, a Kubernetes cluster, a CI system) a tenant accepts, and as whom. Pure logic: the
//! claims of an already verified token in, the first matching rule out.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A condition on one claim: a top-level name (`repository`, `email_verified`) or a JSON Pointer
/// (`/kubernetes.io/namespace`), and the value it must have — exact, or a `*` glob anchored at
/// both ends. A claim that is a list matches when one of its elements does; numbers and booleans
/// compare by their JSON text (`true`, `42`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[schema(example = "repository")]
    pub claim: String,
    #[schema(example = "acme/records-*")]
    pub value: String,
}

/// Whom a matching token stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A person of the tenant, found by the token's claim (for example `email`).
    User { by_claim: String },
    /// A client (application or integration) of the tenant, whose allowed scopes bound the
    /// tokens it gets.
    Client { client_id: String },
}

/// A rule: all conditions hold → the token is accepted as `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Names the rule in the audit log.
    pub name: String,
    #[serde(default)]
    pub when: Vec<Condition>,
    pub target: Target,
    /// Each token (its `jti`) works once; a token without `jti` is refused.
    #[serde(default)]
    pub single_use: bool,
}

/// `pattern` with `*` for any run of characters, anchored at both ends.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || !value[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

impl Condition {
    /// The claim this condition names, in the token's claims.
    fn claim<'a>(&self, claims: &'a Value) -> Option<&'a Value> {
        if self.claim.starts_with('/') {
            claims.pointer(&self.claim)
        } else {
            claims.get(&self.claim)
        }
    }

    pub fn matches(&self, claims: &Value) -> bool {
        let one = |v: &Value| match v {
            Value::String(s) => glob_match(&self.value, s),
            Value::Bool(_) | Value::Number(_) => glob_match(&self.value, &v.to_string()),
            _ => false,
        };
        match self.claim(claims) {
            Some(Value::Array(items)) => items.iter().any(one),
            Some(v) => one(v),
            None => false,
        }
    }
}

impl Rule {
    pub fn matches(&self, claims: &Value) -> bool {
        self.when.iter().all(|c| c.matches(claims))
    }
}

/// The first rule the claims satisfy.
pub fn first_match<'a>(rules: &'a [Rule], claims: &Value) -> Option<&'a Rule> {
    rules.iter().find(|r| r.matches(claims))
}

/// Signature algorithms an external issuer may use: asymmetric only (never `none`, never an
/// HMAC, whose key would be a secret shared with us).
pub const EXTERNAL_ALGS: [&str; 8] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

#[cfg(test)]
mod tests;
