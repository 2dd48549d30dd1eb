//! Tokens of trusted external issuers (`domain::federation` rules, registered through the
//! admin API): every check of the JWT, the rule that says as whom it is accepted, and the
//! person a user rule names.

use std::sync::Arc;

use domain::accounts::Person;
use domain::claims::AccessClaims;
use domain::federation::{first_match, Rule, Target, EXTERNAL_ALGS};
use domain::now_unix;
use serde_json::Value;
use store::repo::audit::AuditRow;
use store::repo::trusted_issuers::TrustedIssuerRow;
use store::StoreError;

use crate::cache::{Tenant, Trusted};
use crate::client_auth::{verify_jws, Keys};
use crate::jws::Jws;
use crate::mint::{Invalid, Rejection};
use crate::service::TokenService;

/// How far in the future an `iat` or `nbf` may be (clock skew).
const SKEW_SECS: i64 = 60;

/// Why an external token is not accepted. The reason goes to the logs, and once the issuer's
/// signature has verified, to the tenant's audit log; the caller only learns that the grant
/// or token is invalid.
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
    #[error("rule `{0}` demands single use: the token must be exchanged at the token endpoint")]
    SingleUseRule(String),
    #[error("rule `{rule}`: {why}")]
    Target { rule: String, why: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ExternalRefused {
    /// Refusals of a token the issuer really signed: the tenant's policy said no, and its
    /// admin reads why in the audit log. (Bad signatures and unknown issuers are anyone's
    /// noise and only logged, so a flood cannot fill the audit log.)
    fn audited(&self) -> bool {
        matches!(
            self,
            ExternalRefused::Lifetime
                | ExternalRefused::NoRule
                | ExternalRefused::NoJti
                | ExternalRefused::Replayed
                | ExternalRefused::SingleUseRule(_)
                | ExternalRefused::Target { .. }
        )
    }
}

/// What the external token is presented for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// At the token endpoint (JWT bearer grant, token exchange): single use is enforced.
    Grant,
    /// As a bearer token to an API: only user rules, and never one demanding single use.
    Bearer,
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

    fn refused(&self, why: &'static str) -> ExternalRefused {
        ExternalRefused::Target {
            rule: self.rule.name.clone(),
            why,
        }
    }

    /// The person a user rule names, as their token will say: found by the rule's claim (an
    /// email), active, with the external sign-in's `amr` (`ext` when it has none) and
    /// `auth_time` (else its `iat`), so step-up rules still apply. A refusal is audited.
    pub async fn person(
        &self,
        svc: &TokenService,
        tenant: &Tenant,
    ) -> Result<Person, ExternalRefused> {
        let found = self.find_person(svc, tenant).await;
        if let Err(why) = &found {
            if why.audited() {
                audit_refusal(svc, tenant, &self.issuer, &self.claims, why).await?;
            }
        }
        found
    }

    async fn find_person(
        &self,
        svc: &TokenService,
        tenant: &Tenant,
    ) -> Result<Person, ExternalRefused> {
        let Target::User { by_claim } = &self.rule.target else {
            return Err(self.refused("the rule names a client, not a person"));
        };
        let email = self
            .claims
            .get(by_claim.as_str())
            .and_then(|v| v.as_str())
            .and_then(|v| domain::email::normalize(v).ok())
            .ok_or_else(|| self.refused("the token does not name a person"))?;
        let tid = tenant.id.clone();
        let user = svc
            .store
            .run(move |c| store::repo::users::find_by_email(c, &tid, &email))
            .await?
            .ok_or_else(|| self.refused("no such person in this tenant"))?;
        if user.disabled {
            return Err(self.refused("the account is disabled"));
        }
        let mut person = Person {
            roles: user.role_names(),
            user_id: user.id,
            amr: Vec::new(),
            auth_time: 0,
        };
        person.amr = self.claims["amr"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_else(|| vec!["ext".to_owned()]);
        person.auth_time = self.claims["auth_time"]
            .as_i64()
            .or_else(|| self.claims["iat"].as_i64())
            .unwrap_or_default();
        Ok(person)
    }
}

/// The audiences to route on: `aud` (a string or a list), else `client_id` (tokens such as
/// Cognito's access tokens carry no `aud`).
fn audiences(claims: &Value) -> Vec<&str> {
    match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(list) => list.iter().filter_map(|v| v.as_str()).collect(),
        _ => claims["client_id"].as_str().into_iter().collect(),
    }
}

/// The token's claims and the trusted issuer (of any tenant) its `iss` and an `aud` name.
async fn route(
    svc: &TokenService,
    jws: &Jws<'_>,
) -> Result<(Value, Option<Arc<Trusted>>), ExternalRefused> {
    let claims: Value = jws.claims().map_err(|_| ExternalRefused::Malformed)?;
    let iss = claims["iss"].as_str().ok_or(ExternalRefused::Malformed)?;
    for aud in audiences(&claims) {
        if let Some(found) = svc.caches.trusted_issuer(iss, aud).await? {
            return Ok((claims, Some(found)));
        }
    }
    Ok((claims, None))
}

/// Every check of an external JWT presented to `tenant`'s token endpoint: a trusted issuer of
/// this tenant for its `iss` and an `aud`, then [`check`].
pub async fn verify(
    svc: &TokenService,
    tenant: &Tenant,
    token: &str,
) -> Result<Accepted, ExternalRefused> {
    let jws = Jws::parse(token).map_err(|_| ExternalRefused::Malformed)?;
    let (claims, trusted) = route(svc, &jws).await?;
    let trusted = trusted
        .filter(|t| t.row.tenant_id == tenant.id)
        .ok_or(ExternalRefused::UnknownIssuer)?;
    check(svc, tenant, &trusted.row, &jws, claims, Presented::Grant).await
}

/// A person's token from a trusted issuer, presented as a bearer token (account API,
/// `/whoami`, introspection): routed to the tenant that holds its issuer and audience, checked,
/// and — under a user rule, for an active person — read as that person's access token of the
/// tenant (`ext_iss`/`ext_sub` say where it came from). `None`: no trusted issuer claims it.
pub async fn person_bearer(
    svc: &TokenService,
    jws: &Jws<'_>,
    only_tenant: Option<&str>,
) -> Result<Option<(Arc<Tenant>, AccessClaims)>, Rejection> {
    let (claims, trusted) = match route(svc, jws).await {
        Ok(found) => found,
        Err(ExternalRefused::Store(e)) => return Err(e.into()),
        Err(_) => return Err(Invalid::Malformed.into()),
    };
    let Some(trusted) = trusted else {
        return Ok(None);
    };
    if only_tenant.is_some_and(|t| t != trusted.tenant_slug) {
        return Err(Invalid::Tenant.into());
    }
    let tenant = svc
        .caches
        .tenant(&trusted.tenant_slug)
        .await?
        .filter(|t| !t.disabled)
        .ok_or(Invalid::Tenant)?;
    let accepted = check(svc, &tenant, &trusted.row, jws, claims, Presented::Bearer)
        .await
        .map_err(external_rejection)?;
    let person = accepted
        .person(svc, &tenant)
        .await
        .map_err(external_rejection)?;
    let claims = AccessClaims {
        iss: tenant.issuer.clone(),
        sub: person.user_id,
        aud: tenant.issuer.clone(),
        // The external client the person signed in to (`azp`, Cognito's `client_id`), or
        // the audience the token was accepted for.
        client_id: ["azp", "client_id"]
            .iter()
            .find_map(|c| accepted.claims[c].as_str())
            .or_else(|| audiences(&accepted.claims).first().copied())
            .unwrap_or_default()
            .to_owned(),
        scope: String::new(),
        jti: accepted.claims["jti"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        iat: accepted.claims["iat"].as_i64().unwrap_or_default(),
        exp: accepted.claims["exp"].as_i64(),
        tenant: tenant.slug.clone(),
        org: None,
        device: None,
        cnf: None,
        roles: person.roles,
        amr: Some(person.amr),
        auth_time: Some(person.auth_time),
        on_behalf_of: None,
        ver: None,
        gid: None,
        ext_iss: Some(accepted.iss().to_owned()),
        ext_sub: Some(accepted.sub().to_owned()),
        act: None,
    };
    Ok(Some((tenant, claims)))
}

/// A refusal of an external bearer token as the bearer guard reports it.
fn external_rejection(why: ExternalRefused) -> Rejection {
    match why {
        ExternalRefused::Store(e) => Rejection::Store(e),
        ExternalRefused::Expired => Invalid::Expired.into(),
        ExternalRefused::Signature(_) | ExternalRefused::Malformed => Invalid::Signature.into(),
        ExternalRefused::Target { .. } => Invalid::Person.into(),
        _ => Invalid::External.into(),
    }
}

/// The checks of an external JWT from `issuer` (a trusted issuer of `tenant`): its allowed
/// algorithm; the signature with the issuer's own keys only (`jku` and `x5u` are never
/// followed); `exp`, `iat`, `nbf`, the lifetime; a matching rule; and single use of `jti` when
/// the rule asks for it. A refusal after the signature verified is written to the audit log.
async fn check(
    svc: &TokenService,
    tenant: &Tenant,
    issuer: &TrustedIssuerRow,
    jws: &Jws<'_>,
    claims: Value,
    presented: Presented,
) -> Result<Accepted, ExternalRefused> {
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
    verify_jws(svc, Keys::Uri(&jwks_uri), &algs, jws, production)
        .await
        .map_err(ExternalRefused::Signature)?;
    let checked = policy(svc, issuer, &claims, presented).await;
    match checked {
        Ok(rule) => Ok(Accepted {
            issuer: issuer.clone(),
            claims,
            rule,
        }),
        Err(why) => {
            if why.audited() {
                audit_refusal(svc, tenant, issuer, &claims, &why).await?;
            }
            Err(why)
        }
    }
}

/// Time, lifetime, rule and single use: what the tenant decides about a token the issuer
/// really signed.
async fn policy(
    svc: &TokenService,
    issuer: &TrustedIssuerRow,
    claims: &Value,
    presented: Presented,
) -> Result<Rule, ExternalRefused> {
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
    let rule = first_match(&issuer.rules, claims)
        .cloned()
        .ok_or(ExternalRefused::NoRule)?;
    if rule.single_use {
        if presented == Presented::Bearer {
            return Err(ExternalRefused::SingleUseRule(rule.name));
        }
        let jti = claims["jti"].as_str().ok_or(ExternalRefused::NoJti)?;
        // Decided in the database, so across replicas; keyed apart from the clients' own.
        if !svc
            .consume_jti(&format!("ext:{}", issuer.id), jti, exp + SKEW_SECS)
            .await?
        {
            return Err(ExternalRefused::Replayed);
        }
    }
    Ok(rule)
}

/// Records why a token of a trusted issuer was refused (never the token itself).
pub async fn audit_refusal(
    svc: &TokenService,
    tenant: &Tenant,
    issuer: &TrustedIssuerRow,
    claims: &Value,
    why: &ExternalRefused,
) -> Result<(), StoreError> {
    let short = |v: &Value| v.as_str().map(|s| s.chars().take(200).collect::<String>());
    let event = AuditRow {
        id: domain::ids::new_id(),
        tenant_id: tenant.id.clone(),
        actor: format!("external:{}", issuer.id),
        action: "external_token.refused".into(),
        target: format!("trusted_issuer:{}", issuer.id),
        at: now_unix(),
        client_ip: None,
        request_id: None,
        details: serde_json::json!({
            "reason": why.to_string(),
            "iss": issuer.issuer,
            "sub": short(&claims["sub"]),
        })
        .to_string(),
    };
    svc.store
        .run(move |c| store::repo::audit::insert(c, &event))
        .await
}
