//! Tokens of trusted external issuers (`domain::federation` rules, registered through the
//! admin API): every check of the JWT, and the rule that says as whom it is accepted.

use domain::federation::{first_match, Rule, EXTERNAL_ALGS};
use domain::now_unix;
use serde_json::Value;
use store::repo::trusted_issuers::{self, TrustedIssuerRow};
use store::StoreError;

use crate::cache::Tenant;
use crate::client_auth::{verify_jws, Keys};
use crate::jws::Jws;
use crate::service::TokenService;

/// How far in the future an `iat` or `nbf` may be (clock skew).
const SKEW_SECS: i64 = 60;

/// Why an external token is not accepted. The reason goes to the audit log and the logs; the
/// caller only learns that the grant is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ExternalRefused {
    #[error("not a JWT")]
    Malformed,
    #[error("no trusted issuer of this tenant has this iss and aud")]
    UnknownIssuer,
    #[error("signature: {0}")]
    Signature(String),
    #[error("expired, or without exp")]
    Expired,
    #[error("issued in the future or not valid yet")]
    NotYet,
    #[error("lives longer than the issuer's maximum, or has no iat")]
    Lifetime,
    #[error("no rule matches its claims")]
    NoRule,
    #[error("the rule demands single use and the token has no jti")]
    NoJti,
    #[error("already used")]
    Replayed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A verified external token and the rule it matched.
pub struct Accepted {
    pub issuer: TrustedIssuerRow,
    pub claims: Value,
    pub rule: Rule,
}

impl Accepted {
    pub fn iss(&self) -> &str {
        self.claims["iss"].as_str().unwrap_or_default()
    }

    pub fn sub(&self) -> &str {
        self.claims["sub"].as_str().unwrap_or_default()
    }
}

/// The audiences to route on: `aud` (a string or a list), else `client_id` (tokens such as
/// Cognito's access tokens carry no `aud`).
fn audiences(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => claims["client_id"]
            .as_str()
            .map(|c| vec![c.to_owned()])
            .unwrap_or_default(),
    }
}

/// Every check of an external JWT for `tenant`: a trusted issuer of this tenant for its `iss`
/// and an `aud`; its allowed algorithm; the signature with the issuer's own keys only (`jku`
/// and `x5u` are never followed); `exp`, `iat`, `nbf`, the lifetime; a matching rule; and
/// single use of `jti` when the rule asks for it.
pub async fn verify(
    svc: &TokenService,
    tenant: &Tenant,
    token: &str,
) -> Result<Accepted, ExternalRefused> {
    let jws = Jws::parse(token).map_err(|_| ExternalRefused::Malformed)?;
    let claims: Value = jws.claims().map_err(|_| ExternalRefused::Malformed)?;
    let iss = claims["iss"]
        .as_str()
        .ok_or(ExternalRefused::Malformed)?
        .to_owned();
    let auds = audiences(&claims);
    let tid = tenant.id.clone();
    let issuer = svc
        .store
        .run(move |c| {
            for a in &auds {
                if let Some(row) = trusted_issuers::by_audience(c, &iss, a)? {
                    if row.tenant_id == tid {
                        return Ok(Some(row));
                    }
                }
            }
            Ok(None)
        })
        .await?
        .ok_or(ExternalRefused::UnknownIssuer)?;
    let production = tenant.environment == domain::model::Environment::Production;
    let algs: Vec<&'static str> = EXTERNAL_ALGS
        .iter()
        .copied()
        .filter(|a| issuer.algorithms.iter().any(|allowed| allowed == a))
        .collect();
    let jwks_uri = match &issuer.jwks_uri {
        Some(u) => u.clone(),
        None => svc
            .jwks
            .discover(&issuer.issuer, production)
            .await
            .map_err(|e| ExternalRefused::Signature(e.to_string()))?,
    };
    verify_jws(svc, Keys::Uri(&jwks_uri), &algs, &jws, production)
        .await
        .map_err(ExternalRefused::Signature)?;
    let now = now_unix();
    let exp = claims["exp"].as_i64().ok_or(ExternalRefused::Expired)?;
    if exp <= now {
        return Err(ExternalRefused::Expired);
    }
    let iat = claims["iat"].as_i64().ok_or(ExternalRefused::Lifetime)?;
    if iat > now + SKEW_SECS || claims["nbf"].as_i64().is_some_and(|n| n > now + SKEW_SECS) {
        return Err(ExternalRefused::NotYet);
    }
    if exp - iat > issuer.max_lifetime {
        return Err(ExternalRefused::Lifetime);
    }
    let rule = first_match(&issuer.rules, &claims)
        .cloned()
        .ok_or(ExternalRefused::NoRule)?;
    if rule.single_use {
        let jti = claims["jti"].as_str().ok_or(ExternalRefused::NoJti)?;
        // Decided in the database, so across replicas; keyed apart from the clients' own.
        if !svc
            .consume_jti(&format!("ext:{}", issuer.id), jti, exp + SKEW_SECS)
            .await?
        {
            return Err(ExternalRefused::Replayed);
        }
    }
    Ok(Accepted {
        issuer,
        claims,
        rule,
    })
}
