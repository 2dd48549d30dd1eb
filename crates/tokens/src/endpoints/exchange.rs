//! The grants that trade one token for another at `POST /t/{tenant}/oauth2/token`: the JWT
//! bearer grant (RFC 7523 §2.1) with a trusted external issuer's token, and token exchange
//! (RFC 8693) with a token of this tenant or of a trusted issuer.

use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse};
use domain::accounts::Person;
use domain::claims::{AccessClaims, Act};
use domain::federation::Target;
use domain::model::GrantType;
use domain::{ids, now_unix};

use super::no_store_json;
use super::token::{resolve_scope, respond, TokenResponse};
use crate::cache::{Client, Tenant};
use crate::client_auth::{authenticate, Authenticated};
use crate::federation::{self, Accepted, ExternalRefused};
use crate::form::{printable, Form};
use crate::jws::Jws;
use crate::mint::{self, Extras, Rejection};
use crate::service::TokenService;
use http::oauth::OAuthError;

/// RFC 8693 §3 token type identifiers.
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

/// The longest delegation chain an `act` claim may name.
const MAX_ACTORS: usize = 5;

/// Does the request try to authenticate a client? Then it must succeed; otherwise the external
/// token is the only credential.
fn names_client(req: &HttpRequest, form: &Form) -> bool {
    form.get("client_id").is_some()
        || form.get("client_assertion").is_some()
        || req.headers().contains_key(AUTHORIZATION)
}

/// A trusted issuer's token presented as `param`, or why not (the reason is logged and, for
/// tokens the issuer really signed, audited; the caller only learns it is not accepted).
async fn external(
    svc: &TokenService,
    tenant: &Tenant,
    token: &str,
    param: &'static str,
) -> Result<Accepted, OAuthError> {
    match federation::verify(svc, tenant, token).await {
        Ok(accepted) => Ok(accepted),
        Err(why) => Err(refused(tenant, param, why)),
    }
}

fn refused(tenant: &Tenant, param: &'static str, why: ExternalRefused) -> OAuthError {
    match why {
        ExternalRefused::Store(e) => e.into(),
        why => {
            tracing::info!(tenant = %tenant.slug, reason = %why, "external token refused");
            OAuthError::invalid_grant(format!("the {param} is not accepted"))
        }
    }
}

/// The person a user rule names, or `invalid_grant`.
async fn person(
    svc: &TokenService,
    tenant: &Tenant,
    accepted: &Accepted,
    param: &'static str,
) -> Result<Person, OAuthError> {
    accepted
        .person(svc, tenant)
        .await
        .map_err(|why| refused(tenant, param, why))
}

/// The enabled client a client rule names.
async fn rule_client(
    svc: &TokenService,
    tenant: &Tenant,
    client_id: &str,
) -> Result<Arc<Client>, OAuthError> {
    svc.caches
        .client(&tenant.id, client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the rule's client is disabled or gone"))
}

/// RFC 7523 §2.1: a trusted external issuer's JWT (`assertion`) for a Portcullis access token
/// — of the rule's client (`sub` = the client, the external identity in `ext_iss`/`ext_sub`),
/// or of the person a user rule finds (their token through the tenant's `portal`, with the
/// external token's `amr` and `auth_time`). A client that does authenticate must be the rule's.
pub(super) async fn jwt_bearer(
    svc: &TokenService,
    tenant: &Tenant,
    req: &HttpRequest,
    form: &Form,
) -> Result<HttpResponse, OAuthError> {
    let accepted = external(svc, tenant, form.require("assertion")?, "assertion").await?;
    match &accepted.rule.target {
        Target::Client { client_id } => {
            if names_client(req, form) {
                let verified = authenticate(svc, tenant, req, form).await?;
                if verified.client().client_id != *client_id {
                    return Err(OAuthError::invalid_grant(
                        "the assertion is for another client",
                    ));
                }
                verified.accept(svc).await?;
            }
            let client = rule_client(svc, tenant, client_id).await?;
            let scope = resolve_scope(&client, form.get("scope"))?;
            let extras = Extras {
                external: Some((accepted.iss(), accepted.sub())),
                ..Extras::default()
            };
            let (access, claims) = mint::client_access_token(tenant, &client, &scope, extras)?;
            respond(tenant, &client, access, claims, scope, None)
        }
        Target::User { .. } => {
            let person = person(svc, tenant, &accepted, "assertion").await?;
            let portal = portal(svc, tenant).await?;
            let scope = resolve_scope(&portal, form.get("scope"))?;
            let (access, claims) =
                mint::person_access_token(tenant, &portal, &person, &scope, None, None)?;
            respond(tenant, &portal, access, claims, scope, None)
        }
    }
}

async fn portal(svc: &TokenService, tenant: &Tenant) -> Result<Arc<Client>, OAuthError> {
    svc.caches
        .client(&tenant.id, "portal")
        .await?
        .ok_or_else(|| OAuthError::server_error("the tenant has no portal client"))
}

fn known_type(value: &str, param: &'static str) -> Result<(), OAuthError> {
    if [ACCESS_TOKEN, JWT, ID_TOKEN].contains(&value) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(format!(
            "{param} `{}` is not supported: use {ACCESS_TOKEN}, {JWT} or {ID_TOKEN}",
            printable(value)
        )))
    }
}

/// Was `token` issued by this tenant (else it may be a trusted issuer's)?
fn issued_here(tenant: &Tenant, token: &str) -> bool {
    Jws::parse(token)
        .ok()
        .and_then(|jws| jws.claims::<serde_json::Value>().ok())
        .is_some_and(|c| c["iss"].as_str() == Some(tenant.issuer.as_str()))
}

/// A token of this tenant, validated like any bearer token.
async fn ours(
    svc: &TokenService,
    tenant: &Tenant,
    token: &str,
    param: &'static str,
) -> Result<AccessClaims, OAuthError> {
    match mint::validate(svc, token, Some(&tenant.slug)).await {
        Ok((_, claims)) => Ok(claims),
        Err(Rejection::Store(e)) => Err(e.into()),
        Err(Rejection::Invalid(why)) => Err(OAuthError::invalid_grant(format!(
            "the {param} is not valid: {why}"
        ))),
    }
}

/// What the subject token stands for, before narrowing: the claims the new token starts from
/// (subject, client, roles, sign-in) and the client that will hold it.
struct Subject {
    claims: AccessClaims,
    client: Arc<Client>,
    /// The scopes the subject itself carries (`None`: bounded by the client alone).
    scopes: Option<Vec<String>>,
}

/// RFC 8693: `subject_token` (this tenant's access token, or a trusted issuer's JWT) for a new
/// access token held by the requesting client — never more than the subject carries and the
/// client (or the rule's client) may have, never outliving the subject, for the `audience` or
/// `resource` asked (a client of the tenant), and with `act` naming the `actor_token`'s
/// holder (delegation, RFC 8693 §4.1). Exchanging this tenant's tokens needs an authenticated
/// client allowed the grant; a trusted issuer's token under a client rule is its own credential,
/// as with the JWT bearer grant.
pub(super) async fn token_exchange(
    svc: &TokenService,
    tenant: &Tenant,
    req: &HttpRequest,
    form: &Form,
) -> Result<HttpResponse, OAuthError> {
    let subject_token = form.require("subject_token")?;
    known_type(form.require("subject_token_type")?, "subject_token_type")?;
    if let Some(wanted) = form.get("requested_token_type") {
        if wanted != ACCESS_TOKEN && wanted != JWT {
            return Err(OAuthError::invalid_request(format!(
                "requested_token_type: only {ACCESS_TOKEN} is issued"
            )));
        }
    }
    let actor_token = match (form.get("actor_token"), form.get("actor_token_type")) {
        (Some(token), Some(kind)) => {
            known_type(kind, "actor_token_type")?;
            Some(token)
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is required with actor_token",
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is only sent with actor_token",
            ))
        }
        (None, None) => None,
    };
    let requester = if names_client(req, form) {
        let verified = authenticate(svc, tenant, req, form).await?;
        if !verified
            .client()
            .grant_types
            .contains(&GrantType::TokenExchange)
        {
            return Err(OAuthError::unauthorized_client(format!(
                "this client may not use grant_type {}",
                GrantType::TokenExchange
            )));
        }
        Some(verified.accept(svc).await?)
    } else {
        None
    };
    let cnf = requester
        .as_ref()
        .and_then(|r| r.cert.as_ref())
        .map(|c| c.thumbprint.as_str());
    let subject = if issued_here(tenant, subject_token) {
        own_subject(svc, tenant, subject_token, requester.as_ref(), cnf).await?
    } else {
        external_subject(svc, tenant, subject_token, requester.as_ref(), cnf).await?
    };
    let scope = narrow(&subject, form.get("scope"))?;
    let audience = audience(svc, tenant, form).await?;
    let Subject {
        mut claims, client, ..
    } = subject;
    if let Some(token) = actor_token {
        let actor = actor(svc, tenant, token, &client.client_id).await?;
        let chain = Act {
            act: claims.act.take().map(Box::new),
            ..actor
        };
        if chain.depth() > MAX_ACTORS {
            return Err(OAuthError::invalid_request(format!(
                "a delegation chain names at most {MAX_ACTORS} actors"
            )));
        }
        claims.act = Some(chain);
    }
    let now = now_unix();
    let ttl = client.access_token_ttl.unwrap_or(tenant.access_token_ttl());
    claims.exp = Some(claims.exp.map_or(now + ttl, |e| e.min(now + ttl)));
    claims.iat = now;
    claims.jti = ids::new_id();
    claims.client_id = client.client_id.clone();
    claims.scope = scope.clone();
    claims.aud = audience;
    claims.cnf = cnf.map(|t| domain::claims::Confirmation {
        x5t_s256: t.to_owned(),
    });
    let (access, _) = mint::signed(tenant, &client, claims)?;
    Ok(no_store_json(&TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope,
        refresh_token: None,
        id_token: None,
        issued_token_type: Some(ACCESS_TOKEN),
    }))
}

/// This tenant's access token as the subject: held from now on by the requesting client.
async fn own_subject(
    svc: &TokenService,
    tenant: &Tenant,
    token: &str,
    requester: Option<&Authenticated>,
    cnf: Option<&str>,
) -> Result<Subject, OAuthError> {
    let requester = requester.ok_or_else(|| {
        OAuthError::invalid_client(
            "exchanging a token of this server needs the requesting client's authentication",
        )
    })?;
    let mut claims = ours(svc, tenant, token, "subject_token").await?;
    if claims.exp.is_none() || claims.on_behalf_of.is_some() {
        return Err(OAuthError::invalid_grant(
            "device tokens and tokens acting for a department are not exchanged",
        ));
    }
    if let Some(bound) = &claims.cnf {
        if cnf != Some(bound.x5t_s256.as_str()) {
            return Err(OAuthError::invalid_grant(
                "the subject_token is bound to a certificate this request does not present",
            ));
        }
    }
    let client = requester.client.clone();
    // Roles too are never more than both have.
    claims.roles.retain(|r| client.roles.contains(r));
    let scopes = Some(claims.scopes().map(str::to_owned).collect());
    Ok(Subject {
        claims,
        client,
        scopes,
    })
}

/// A trusted issuer's token as the subject: the rule's client, or the person a user rule names
/// (held by the requesting client, else through the tenant's `portal`).
async fn external_subject(
    svc: &TokenService,
    tenant: &Tenant,
    token: &str,
    requester: Option<&Authenticated>,
    cnf: Option<&str>,
) -> Result<Subject, OAuthError> {
    let accepted = external(svc, tenant, token, "subject_token").await?;
    let exp = accepted.claims["exp"].as_i64();
    let mut subject = match &accepted.rule.target {
        Target::Client { client_id } => {
            if requester.is_some_and(|r| r.client.client_id != *client_id) {
                return Err(OAuthError::invalid_grant(
                    "the subject_token is for another client",
                ));
            }
            let client = rule_client(svc, tenant, client_id).await?;
            let extras = Extras {
                external: Some((accepted.iss(), accepted.sub())),
                cnf,
                ..Extras::default()
            };
            let claims = mint::client_claims(tenant, &client, "", extras);
            Subject {
                claims,
                client,
                scopes: None,
            }
        }
        Target::User { .. } => {
            let person = person(svc, tenant, &accepted, "subject_token").await?;
            let client = match requester {
                Some(r) => r.client.clone(),
                None => portal(svc, tenant).await?,
            };
            let mut claims = mint::person_claims(tenant, &client, &person, "", cnf, None);
            if requester.is_some() {
                claims.roles.retain(|r| client.roles.contains(r));
            }
            claims.ext_iss = Some(accepted.iss().to_owned());
            claims.ext_sub = Some(accepted.sub().to_owned());
            Subject {
                claims,
                client,
                scopes: None,
            }
        }
    };
    // Never outlive the token it was traded for.
    subject.claims.exp = exp;
    Ok(subject)
}

/// The scope of the new token: what was asked (all of it allowed), else all that is allowed —
/// the subject's scopes that the holding client may have.
fn narrow(subject: &Subject, asked: Option<&str>) -> Result<String, OAuthError> {
    let allowed: Vec<&str> = subject
        .client
        .scopes
        .iter()
        .map(String::as_str)
        .filter(|s| {
            subject
                .scopes
                .as_ref()
                .is_none_or(|own| own.iter().any(|o| o == s))
        })
        .collect();
    let scope = match asked.map(str::trim) {
        None | Some("") | Some("*") => allowed.join(" "),
        Some(asked) => {
            let mut granted: Vec<&str> = Vec::new();
            for s in asked.split(' ').filter(|s| !s.is_empty()) {
                if !allowed.contains(&s) {
                    return Err(OAuthError::invalid_scope(format!(
                        "scope `{}` is more than the subject_token and this client allow",
                        printable(s)
                    )));
                }
                if !granted.contains(&s) {
                    granted.push(s);
                }
            }
            granted.join(" ")
        }
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "the subject_token and this client have no scope in common",
        ));
    }
    Ok(scope)
}

/// The `aud` of the new token: the `audience` or `resource` asked (the client id of an enabled
/// client of the tenant — a resource server — or the tenant's issuer), else the issuer.
async fn audience(svc: &TokenService, tenant: &Tenant, form: &Form) -> Result<String, OAuthError> {
    let mut target: Option<&str> = None;
    for asked in [form.get("audience"), form.get("resource")]
        .into_iter()
        .flatten()
    {
        if target.is_some_and(|t| t != asked) {
            return Err(OAuthError::invalid_target(
                "audience and resource name different targets",
            ));
        }
        let known = asked == tenant.issuer
            || svc
                .caches
                .client(&tenant.id, asked)
                .await?
                .is_some_and(|c| !c.disabled);
        if !known {
            return Err(OAuthError::invalid_target(format!(
                "`{}` is not a client of this tenant",
                printable(asked)
            )));
        }
        target = Some(asked);
    }
    Ok(target.unwrap_or(&tenant.issuer).to_owned())
}

/// Who the `actor_token` names: the requesting client itself (its own token of this tenant, or
/// a trusted issuer's token under a rule for that client).
async fn actor(
    svc: &TokenService,
    tenant: &Tenant,
    token: &str,
    holder: &str,
) -> Result<Act, OAuthError> {
    let not_holder = || OAuthError::invalid_grant("the actor_token is not the requesting client's");
    if issued_here(tenant, token) {
        let claims = ours(svc, tenant, token, "actor_token").await?;
        if claims.client_id != holder {
            return Err(not_holder());
        }
        return Ok(Act {
            sub: claims.sub,
            iss: None,
            act: None,
        });
    }
    let accepted = external(svc, tenant, token, "actor_token").await?;
    match &accepted.rule.target {
        Target::Client { client_id } if client_id == holder => Ok(Act {
            sub: accepted.sub().to_owned(),
            iss: Some(accepted.iss().to_owned()),
            act: None,
        }),
        _ => Err(not_holder()),
    }
}
