//! Trusted external issuers of a tenant: registration rules and writes. Their tokens are
//! verified and matched at the token endpoint (`tokens`), with the rules of
//! `domain::federation`.

use domain::federation::{Rule, Target, EXTERNAL_ALGS};
use domain::model::{Environment, JsonList};
use domain::{ids, now_unix};
use serde::Deserialize;
use store::repo::audit;
use store::repo::tenants::TenantRow;
use store::repo::trusted_issuers::{self, TrustedIssuerRow};
use store::{Store, StoreError};
use utoipa::ToSchema;
use validator::Validate;

use crate::actor::Actor;
use tokens::cache::{Caches, Changed};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"issuer": "https://token.actions.githubusercontent.com", "audiences": ["https://auth.acme.example"], "max_lifetime": 600, "rules": [{"name": "main deploys", "when": [{"claim": "repository", "value": "acme/records"}, {"claim": "ref", "value": "refs/heads/main"}], "target": {"client": {"client_id": "deployer"}}, "single_use": true}]}))]
pub struct NewTrustedIssuer {
    /// The `iss` of its tokens (https; http only in sandbox tenants).
    #[validate(length(min = 8, max = 500, message = "must be a URL of 8 to 500 characters"))]
    pub issuer: String,
    /// Where its keys are; absent: from `{issuer}/.well-known/openid-configuration`.
    pub jwks_uri: Option<String>,
    /// Accepted `aud` values (a token without `aud` is matched on its `client_id`). An issuer and
    /// audience pair belongs to one tenant.
    #[validate(length(min = 1, max = 20, message = "give 1 to 20 audiences"))]
    pub audiences: Vec<String>,
    /// The longest lifetime (`exp − iat`) accepted, in seconds (60 to 86400; default 3600).
    #[validate(range(
        min = 60,
        max = 86400,
        message = "must be between 60 and 86400 seconds"
    ))]
    pub max_lifetime: Option<i64>,
    /// Allowed signature algorithms (default RS256 and ES256); never `none` or HS*.
    pub algorithms: Option<Vec<String>>,
    /// Checked in order; the first that matches decides. No match: refused.
    #[validate(length(min = 1, max = 50, message = "give 1 to 50 rules"))]
    pub rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("another trusted issuer already holds this issuer and audience")]
    Taken,
    #[error("trusted issuer not found")]
    NotFound,
    #[error("the trusted issuer changed since it was read")]
    Stale,
    #[error(transparent)]
    Store(StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> FederationError {
    FederationError::Invalid {
        field,
        message: message.into(),
    }
}

/// The registration rules that need no database.
pub fn check(tenant: &TenantRow, new: &NewTrustedIssuer) -> Result<(), FederationError> {
    let production = tenant.environment == Environment::Production;
    let web_url = |u: &str| {
        (u.starts_with("https://") || (!production && u.starts_with("http://")))
            && !u.contains('#')
            && !u.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if !web_url(&new.issuer) || new.issuer.contains('?') {
        return Err(invalid(
            "issuer",
            "must be an https URL without query or fragment",
        ));
    }
    if let Some(uri) = &new.jwks_uri {
        tokens::jwks_fetch::check_uri(uri, production).map_err(|e| invalid("jwks_uri", e))?;
    }
    if new
        .audiences
        .iter()
        .any(|a| a.is_empty() || a.len() > 200 || a.chars().any(|c| c.is_control()))
    {
        return Err(invalid(
            "audiences",
            "each audience is 1 to 200 printable characters",
        ));
    }
    if let Some(algs) = &new.algorithms {
        if algs.is_empty() || algs.iter().any(|a| !EXTERNAL_ALGS.contains(&a.as_str())) {
            return Err(invalid(
                "algorithms",
                format!("must be a non-empty list of {}", EXTERNAL_ALGS.join(", ")),
            ));
        }
    }
    for rule in &new.rules {
        if rule.name.is_empty() || rule.name.len() > 100 {
            return Err(invalid(
                "rules",
                "each rule has a name of 1 to 100 characters",
            ));
        }
        if rule.when.len() > 10 {
            return Err(invalid("rules", "at most 10 conditions a rule"));
        }
        for c in &rule.when {
            if c.claim.is_empty() || c.claim.len() > 200 || c.value.len() > 200 {
                return Err(invalid(
                    "rules",
                    "a condition names a claim and a value of at most 200 characters",
                ));
            }
        }
        match &rule.target {
            Target::User { by_claim } if by_claim.is_empty() || by_claim.len() > 200 => {
                return Err(invalid(
                    "rules",
                    "a user target names the claim that holds the person",
                ));
            }
            Target::Client { client_id } if client_id.is_empty() => {
                return Err(invalid("rules", "a client target names its client_id"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// [`check`], and every client a rule targets exists in the tenant.
async fn validate(
    store: &Store,
    tenant: &TenantRow,
    new: &NewTrustedIssuer,
) -> Result<(), FederationError> {
    check(tenant, new)?;
    let clients: Vec<String> = new
        .rules
        .iter()
        .filter_map(|r| match &r.target {
            Target::Client { client_id } => Some(client_id.clone()),
            Target::User { .. } => None,
        })
        .collect();
    let tid = tenant.id.clone();
    let missing = store
        .run(move |c| {
            for id in clients {
                if store::repo::clients::find(c, &tid, &id)?.is_none() {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        })
        .await
        .map_err(FederationError::Store)?;
    match missing {
        Some(id) => Err(invalid(
            "rules",
            format!(
                "no client `{}` in this tenant",
                id.chars().take(100).collect::<String>()
            ),
        )),
        None => Ok(()),
    }
}

/// The row (at `version`) and the sorted audiences of a definition.
fn row_of(
    tenant: &TenantRow,
    id: String,
    created_at: i64,
    version: i64,
    new: NewTrustedIssuer,
) -> (TrustedIssuerRow, Vec<String>) {
    let mut audiences = new.audiences;
    audiences.sort();
    audiences.dedup();
    let row = TrustedIssuerRow {
        id,
        tenant_id: tenant.id.clone(),
        issuer: new.issuer,
        jwks_uri: new.jwks_uri,
        max_lifetime: new.max_lifetime.unwrap_or(3600),
        algorithms: JsonList(
            new.algorithms
                .unwrap_or_else(|| vec!["RS256".into(), "ES256".into()]),
        ),
        rules: JsonList(new.rules),
        created_at,
        updated_at: now_unix(),
        version,
    };
    (row, audiences)
}

fn taken(e: StoreError) -> FederationError {
    match e {
        StoreError::Conflict { .. } => FederationError::Taken,
        e => FederationError::Store(e),
    }
}

/// Registers a trusted issuer of `tenant` (after [`check`] and the existence of every target
/// client), with its audit event, in one transaction.
pub async fn create(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    new: NewTrustedIssuer,
) -> Result<(TrustedIssuerRow, Vec<String>), FederationError> {
    validate(store, tenant, &new).await?;
    let (row, audiences) = row_of(tenant, ids::new_id(), now_unix(), 1, new);
    let event = actor.audit(
        &tenant.id,
        "trusted_issuer.create",
        &format!("trusted_issuer:{}", row.id),
        serde_json::json!({"issuer": row.issuer, "audiences": audiences}),
    );
    let (r, a) = (row.clone(), audiences.clone());
    store
        .transaction(move |c| {
            trusted_issuers::insert(c, &r, &a)?;
            audit::insert(c, &event)
        })
        .await
        .map_err(taken)?;
    // Drops what an earlier lookup found missing.
    caches
        .invalidate(Changed::TrustedIssuer {
            issuer: &row.issuer,
        })
        .await;
    Ok((row, audiences))
}

/// Replaces the definition of `current` (if it is still at `version`): issuer, keys, audiences,
/// limits and rules, with its audit event. Takes effect from the next token on.
pub async fn replace(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    current: &TrustedIssuerRow,
    version: i64,
    new: NewTrustedIssuer,
) -> Result<(TrustedIssuerRow, Vec<String>), FederationError> {
    validate(store, tenant, &new).await?;
    let (row, audiences) = row_of(
        tenant,
        current.id.clone(),
        current.created_at,
        version + 1,
        new,
    );
    let event = actor.audit(
        &tenant.id,
        "trusted_issuer.update",
        &format!("trusted_issuer:{}", row.id),
        serde_json::json!({"issuer": row.issuer, "audiences": audiences, "rules": row.rules.len()}),
    );
    let (r, a) = (row.clone(), audiences.clone());
    let replaced = store
        .transaction(move |c| {
            if !trusted_issuers::replace(c, &r, version, &a)? {
                return Ok(false);
            }
            audit::insert(c, &event)?;
            Ok(true)
        })
        .await
        .map_err(taken)?;
    if !replaced {
        return Err(FederationError::Stale);
    }
    for issuer in [&current.issuer, &row.issuer] {
        caches.invalidate(Changed::TrustedIssuer { issuer }).await;
    }
    Ok((row, audiences))
}

pub async fn delete(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    id: &str,
) -> Result<(), FederationError> {
    let event = actor.audit(
        &tenant.id,
        "trusted_issuer.delete",
        &format!("trusted_issuer:{id}"),
        serde_json::json!({}),
    );
    let (t, i) = (tenant.id.clone(), id.to_owned());
    let deleted = store
        .transaction(move |c| {
            let Some(row) = trusted_issuers::find(c, &t, &i)? else {
                return Ok(None);
            };
            trusted_issuers::delete(c, &t, &i)?;
            audit::insert(c, &event)?;
            Ok(Some(row.issuer))
        })
        .await
        .map_err(FederationError::Store)?;
    let issuer = deleted.ok_or(FederationError::NotFound)?;
    caches
        .invalidate(Changed::TrustedIssuer { issuer: &issuer })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests;
