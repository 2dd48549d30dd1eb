//! `POST /t/{tenant}/oauth2/token` (RFC 6749 §4.4, RFC 7523).

use actix_web::{web, HttpRequest, HttpResponse};
use domain::accounts::{Accounts, Attempt, Person, SignIn};
use http::has_control;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::model::{ClientKind, GrantType};
use serde::Serialize;
use utoipa::ToSchema;

use super::{exchange, no_store_json, tenant_of};
use crate::cache::{Client, Device, Tenant};
use crate::client_auth::authenticate;
use crate::form::{printable, Form};
use crate::mint::Extras;
use crate::mtls::ClientCert;
use crate::refresh::Family;
use crate::service::TokenService;
use crate::{authorization, mint, refresh};
use http::metrics::METRICS;
use http::oauth::{OAuthError, OAuthErrorBody, OAuthErrorCode};
use http::peer_ip;

/// Form parameters of the token endpoint (`application/x-www-form-urlencoded`).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(example = json!({"grant_type": "client_credentials", "scope": "*"}))]
pub struct TokenRequest {
    /// `client_credentials` (machines); `password`, then
    /// `urn:portcullis:params:oauth:grant-type:mfa-otp` (people, through `client_id=portal`);
    /// `refresh_token`; `authorization_code` (with PKCE); `urn:ietf:params:oauth:grant-type:jwt-bearer`
    /// (a trusted external issuer's token).
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// With `grant_type=refresh_token`.
    refresh_token: Option<String>,
    /// Space-separated scopes; `*` asks for every scope the client is allowed; absent means the
    /// client's default scopes. `openid` adds an `id_token`.
    #[schema(example = "*")]
    scope: Option<String>,
    /// With `client_secret_post`, with a public client (`portal`), or optionally with the other
    /// methods.
    client_id: Option<String>,
    /// `client_secret_post` only. Prefer HTTP Basic.
    client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` for `private_key_jwt`.
    client_assertion_type: Option<String>,
    /// A JWT signed with the client's key: `iss` = `sub` = client_id, `aud` = this endpoint,
    /// `exp` at most 5 minutes ahead, a fresh `jti`.
    client_assertion: Option<String>,
    /// `password` grant: the person's email.
    #[schema(example = "ada@acme.example")]
    username: Option<String>,
    /// `password` grant.
    password: Option<String>,
    /// mfa-otp grant: the `mfa_token` of the `mfa_required` answer.
    mfa_token: Option<String>,
    /// mfa-otp grant: the 6-digit code from the email.
    #[schema(example = "042917")]
    otp: Option<String>,
    /// `client_credentials` of a vendor's integration: act for this department (`FD…`); needs an
    /// active enrollment, and the token says so in its `on_behalf_of` claim.
    on_behalf_of: Option<String>,
    /// `authorization_code` grant: the code from the redirect.
    code: Option<String>,
    /// `authorization_code` grant: the redirect URI of the authorization request.
    redirect_uri: Option<String>,
    /// `authorization_code` grant: the PKCE verifier (RFC 7636).
    code_verifier: Option<String>,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523): a trusted external issuer's
    /// JWT, matched against the tenant's rules; no client authentication is needed.
    assertion: Option<String>,
    /// Token exchange (RFC 8693): this tenant's access token, or a trusted issuer's JWT.
    subject_token: Option<String>,
    /// `urn:ietf:params:oauth:token-type:access_token`, `…:jwt` or `…:id_token`.
    subject_token_type: Option<String>,
    /// Token exchange: the requesting client's own token (its access token here, or a trusted
    /// issuer's JWT under a rule for it); the new token names it in `act`.
    actor_token: Option<String>,
    /// Required with `actor_token`.
    actor_token_type: Option<String>,
    /// Token exchange: the client id of the resource server (a client of the tenant) the token
    /// is for; its `aud`. Default: the tenant's issuer.
    audience: Option<String>,
    /// Token exchange: the same as `audience` (RFC 8707 name).
    resource: Option<String>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:access_token` (the only one issued).
    requested_token_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "admin"
}))]
pub struct TokenResponse {
    /// A JWT (RFC 9068, `typ: at+jwt`).
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When `openid` was granted: who, for whom, until when, and the granted `policies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Token exchange (RFC 8693 §2.2.1): `urn:ietf:params:oauth:token-type:access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// Issue an access token.
///
/// **Machines**: `client_credentials` with the client authenticated by HTTP Basic
/// (`client_secret_basic`), by `client_id` + `client_secret` in the form
/// (`client_secret_post`), or by a signed JWT assertion (`private_key_jwt`, RFC 7523). Clients
/// allowed the `refresh_token` grant (integration accounts) also get a refresh token, rotated on
/// every use: presenting a used one revokes its whole family.
///
/// **People** sign in through the tenant's public client `portal`: `grant_type=password` with
/// `client_id=portal`, `username` (email) and `password`. With MFA (always in production
/// tenants) the answer is 403 `{"error": "mfa_required", "mfa_token": …}` and a 6-digit code
/// goes by email (5 minutes, 5 tries, single use; 5 codes per 15 minutes). Then
/// `grant_type=urn:portcullis:params:oauth:grant-type:mfa-otp` with `client_id=portal`,
/// `mfa_token` and `otp` gives the tokens, with `amr: ["pwd", "otp"]` and `auth_time`. A
/// person's refresh token lives 90 minutes from sign-in and is not rotated: refreshing returns
/// an access token only. Five wrong passwords lock the account for 15 minutes; unknown email,
/// wrong password and locked account answer alike.
///
/// **Mutual TLS** (RFC 8705, at the HTTPS listener): `tls_client_auth` clients send only
/// `client_id` and their certificate; every token issued to a request with a certificate is
/// bound to it (`cnf.x5t#S256`) and works only with it. A device is identified by
/// `X-Device-Authorization` or by its registered certificate. Ten failed authentications in a
/// row (wrong client or device secrets) lock the client for 5 minutes. Errors follow RFC 6749
/// §5.2.
#[utoipa::path(
    post,
    path = "/t/{tenant}/oauth2/token",
    tag = "OAuth",
    params(
        ("tenant" = String, Path, description = "Tenant slug", example = "system"),
        ("X-Device-Authorization" = Option<String>, Header, description = "The device making the request: `BASIC base64(device_id:device_secret)`; adds `device` and `org` claims (clients with `require_device_auth` need it, or the device's certificate)"),
    ),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens issued", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type or invalid_scope", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
        (status = 403, description = "mfa_required: the password was right; a code was emailed, finish with the mfa-otp grant and this `mfa_token`", body = OAuthErrorBody,
            example = json!({"error": "mfa_required", "error_description": "a code was sent to the account's email address; send it with grant_type=urn:portcullis:params:oauth:grant-type:mfa-otp, this mfa_token and otp", "mfa_token": "Jx9c…(43 characters)"})),
        (status = 404, description = "Unknown tenant", body = OAuthErrorBody),
        (status = 408, description = "invalid_request: the body did not arrive in time; the connection is closed", body = OAuthErrorBody),
        (status = 413, description = "invalid_request: the body is larger than 64 KiB (refused from `Content-Length` before it is read)", body = OAuthErrorBody),
        (status = 429, description = "slow_down: too many codes sent; retry after `Retry-After` seconds", body = OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable: the database or the mail server is down, or too many sign-ins are being checked at once; nothing was changed; retry after `Retry-After` seconds", body = OAuthErrorBody),
    ),
    security((), ("client_secret_basic" = []), ("mutual_tls" = []))
)]
pub async fn token(
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let tenant = tenant_of(&svc, &path).await?;
    let grant = form.require("grant_type")?;
    let grant_type: GrantType = grant.parse().map_err(|_| {
        OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            format!("grant_type `{}` is not supported", printable(grant)),
        )
    })?;
    if matches!(grant_type, GrantType::JwtBearer | GrantType::TokenExchange) {
        // A token is the credential: the client authenticates only if it names itself.
        let issued = if grant_type == GrantType::JwtBearer {
            exchange::jwt_bearer(&svc, &tenant, &req, &form).await
        } else {
            exchange::token_exchange(&svc, &tenant, &req, &form).await
        };
        if issued.is_ok() {
            METRICS.record_token(grant_type);
        }
        return issued;
    }
    let verified = authenticate(&svc, &tenant, &req, &form).await?;
    if !verified.client().grant_types.contains(&grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use grant_type {grant_type}"
        )));
    }
    if verified.client().bound_tokens_only() && verified.cert().is_none() {
        return Err(OAuthError::invalid_request(
            "this client's tokens are bound to its certificate: call the token endpoint over mutual TLS",
        ));
    }
    let cert = verified.cert().map(|c| c.as_ref());
    let device = device_of(&svc, &tenant, verified.client(), &req, cert).await?;
    let auth = verified.accept(&svc).await?;
    let (client, cert) = (&auth.client, &auth.cert);
    let bound = Bound {
        cnf: cert.as_ref().map(|c| c.thumbprint.as_str()),
        device: device.as_deref(),
    };
    let issued = match grant_type {
        GrantType::JwtBearer | GrantType::TokenExchange => {
            Err(OAuthError::server_error("answered above"))
        }
        GrantType::AuthorizationCode => {
            authorization_code(&svc, &tenant, client, &form, bound).await
        }
        GrantType::ClientCredentials => {
            client_credentials(&svc, &tenant, client, &form, bound).await
        }
        GrantType::RefreshToken => refresh_token(&svc, &tenant, client, &form, bound).await,
        GrantType::Password => {
            let accounts = accounts(&svc)?;
            let email = form.require("username")?;
            let password = form.require("password")?;
            let scope = resolve_scope(client, form.get("scope"))?;
            let tr = tenant.account_ref();
            let ip = peer_ip(&req);
            let at = Attempt {
                tenant: &tr,
                client_pk: &client.id,
                ip: ip.as_deref(),
            };
            match accounts.password(at, email, password, &scope).await? {
                SignIn::Done(person) => {
                    person_tokens(&svc, &tenant, client, &person, scope, bound.cnf).await
                }
                SignIn::MfaRequired { mfa_token } => Err(OAuthError::mfa_required(mfa_token)),
            }
        }
        GrantType::MfaOtp => {
            let accounts = accounts(&svc)?;
            let mfa_token = form.require("mfa_token")?;
            let otp = form.require("otp")?;
            let tr = tenant.account_ref();
            let ip = peer_ip(&req);
            let at = Attempt {
                tenant: &tr,
                client_pk: &client.id,
                ip: ip.as_deref(),
            };
            let (person, scope) = accounts.mfa_otp(at, mfa_token, otp).await?;
            person_tokens(&svc, &tenant, client, &person, scope, bound.cnf).await
        }
    };
    if issued.is_ok() {
        METRICS.record_token(grant_type);
    }
    issued
}

/// What the request itself proves beyond the client: the certificate it came with, and the
/// device that authenticated.
#[derive(Clone, Copy)]
struct Bound<'a> {
    cnf: Option<&'a str>,
    device: Option<&'a Device>,
}

/// The device behind the request: `X-Device-Authorization: BASIC base64(id:secret)` (the
/// SanteDB form), else the device registered with the presented certificate. A wrong device
/// secret counts towards the client's lockout.
async fn device_of(
    svc: &TokenService,
    tenant: &Tenant,
    client: &Client,
    req: &HttpRequest,
    cert: Option<&ClientCert>,
) -> Result<Option<Arc<Device>>, OAuthError> {
    let device = match req.headers().get(DEVICE_AUTHORIZATION) {
        Some(value) => {
            let (id, secret) = device_credentials(value)?;
            let device = svc.caches.device(&tenant.id, &id).await?;
            let verified = device.filter(|d| {
                !d.disabled
                    && d.secret_hash
                        .as_deref()
                        .is_some_and(|h| svc.master_key.verify_secret(&secret, h))
            });
            if verified.is_none() {
                svc.record_auth_failure(&client.tenant_id, &client.client_id)
                    .await?;
                return Err(OAuthError::invalid_client("device authentication failed"));
            }
            verified
        }
        None => match cert {
            Some(c) => svc
                .caches
                .device_by_thumbprint(&tenant.id, &c.thumbprint)
                .await?
                .filter(|d| !d.disabled && d.cert_thumbprint.as_deref() == Some(&c.thumbprint)),
            None => None,
        },
    };
    if device.is_none() && client.require_device_auth() {
        return Err(OAuthError::invalid_client(
            "this client requires device authentication: send X-Device-Authorization: BASIC \
             base64(device_id:device_secret), or the device's certificate over mutual TLS",
        ));
    }
    Ok(device)
}

const DEVICE_AUTHORIZATION: &str = "x-device-authorization";

fn device_credentials(
    value: &actix_web::http::header::HeaderValue,
) -> Result<(String, String), OAuthError> {
    let bad = || {
        OAuthError::invalid_request(
            "X-Device-Authorization must be `BASIC base64(device_id:device_secret)`",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let raw = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
    if has_control(id) || has_control(secret) {
        return Err(OAuthError::invalid_request(
            "X-Device-Authorization contains a control character",
        ));
    }
    Ok((id.to_owned(), secret.to_owned()))
}

fn accounts(svc: &TokenService) -> Result<&dyn Accounts, OAuthError> {
    svc.accounts().ok_or_else(|| {
        OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            "people cannot sign in on this server",
        )
    })
}

async fn client_credentials(
    svc: &TokenService,
    tenant: &Tenant,
    client: &Client,
    form: &Form,
    bound: Bound<'_>,
) -> Result<HttpResponse, OAuthError> {
    let scope = resolve_scope(client, form.get("scope"))?;
    let on_behalf_of = form.get("on_behalf_of");
    if let Some(department) = on_behalf_of {
        check_enrollment(svc, client, department).await?;
    }
    let extras = Extras {
        on_behalf_of,
        device: bound.device,
        cnf: bound.cnf,
        external: None,
    };
    let (access, claims) = mint::client_access_token(tenant, client, &scope, extras)?;
    let refresh_token = if client.grant_types.contains(&GrantType::RefreshToken) {
        let family = Family::Machine {
            family: None,
            on_behalf_of,
        };
        Some(refresh::issue(svc, tenant, client, &scope, family).await?)
    } else {
        None
    };
    respond(tenant, client, access, claims, scope, refresh_token)
}

/// Only an integration account of an organization (its vendor) may act `on_behalf_of` another.
fn acting_vendor(client: &Client) -> Result<&str, OAuthError> {
    match (client.kind, &client.organization_id) {
        (ClientKind::Integration, Some(org)) => Ok(org),
        _ => Err(OAuthError::invalid_request(
            "on_behalf_of is for integration accounts of a vendor",
        )),
    }
}

/// An integration may act for a department only while its vendor's enrollment is active.
async fn check_enrollment(
    svc: &TokenService,
    client: &Client,
    department: &str,
) -> Result<(), OAuthError> {
    let vendor = acting_vendor(client)?;
    if svc.caches.enrollment_active(vendor, department).await? {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(format!(
            "this integration's vendor is not enrolled to act for `{}`",
            printable(department)
        )))
    }
}

async fn refresh_token(
    svc: &TokenService,
    tenant: &Tenant,
    client: &Client,
    form: &Form,
    bound: Bound<'_>,
) -> Result<HttpResponse, OAuthError> {
    let old = refresh::redeem(svc, client, form.require("refresh_token")?).await?;
    // A narrower scope may be asked for; never a wider one (RFC 6749 §6).
    let scope = match form.get("scope") {
        None => old.row.scope.clone(),
        Some(asked) => {
            let granted: Vec<&str> = old.row.scope.split(' ').collect();
            if let Some(extra) = asked
                .split(' ')
                .find(|s| !s.is_empty() && !granted.contains(s))
            {
                return Err(OAuthError::invalid_scope(format!(
                    "scope `{}` was not granted to this refresh token",
                    printable(extra)
                )));
            }
            asked.to_owned()
        }
    };
    if let Some((user_id, grant)) = old.grant() {
        // Under a grant: rotated, and only while the person and the grant stand.
        let person =
            grant_person(svc, tenant, user_id, grant, &old.claims, old.row.created_at).await?;
        let (access, claims) =
            mint::person_access_token(tenant, client, &person, &scope, bound.cnf, Some(grant))?;
        let family = Family::Grant {
            family: Some(old.row.family_id.clone()),
            person: &person,
            grant_id: grant,
        };
        let next = refresh::issue(svc, tenant, client, &old.row.scope, family).await?;
        return respond(tenant, client, access, claims, scope, Some(next));
    }
    if let Some(user_id) = old.person() {
        // People: a new access token only; the refresh token keeps its fixed expiry.
        let at = tenant.account_ref();
        let mut person = accounts(svc)?
            .current(&at, user_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the account is disabled"))?;
        person.amr = old.claims.amr.clone().unwrap_or_default();
        person.auth_time = old.claims.auth_time.unwrap_or(old.row.created_at);
        let (access, claims) =
            mint::person_access_token(tenant, client, &person, &scope, bound.cnf, None)?;
        return respond(tenant, client, access, claims, scope, None);
    }
    let on_behalf_of = old.claims.on_behalf_of.as_deref();
    if let Some(department) = on_behalf_of {
        check_enrollment(svc, client, department).await?;
    }
    let extras = Extras {
        on_behalf_of,
        device: bound.device,
        cnf: bound.cnf,
        external: None,
    };
    let (access, claims) = mint::client_access_token(tenant, client, &scope, extras)?;
    let family = Family::Machine {
        family: Some(old.row.family_id.clone()),
        on_behalf_of,
    };
    let next = refresh::issue(svc, tenant, client, &old.row.scope, family).await?;
    respond(tenant, client, access, claims, scope, Some(next))
}

/// The person a grant's refresh token speaks for, if they and the grant still stand.
async fn grant_person(
    svc: &TokenService,
    tenant: &Tenant,
    user_id: &str,
    grant: &str,
    claims: &refresh::FamilyClaims,
    signed_in_by: i64,
) -> Result<Person, OAuthError> {
    if !svc.caches.grant_active(&tenant.id, grant).await? {
        return Err(OAuthError::invalid_grant(
            "the person took back what they allowed this application",
        ));
    }
    let at = tenant.account_ref();
    let mut person = accounts(svc)?
        .current(&at, user_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the account is disabled"))?;
    person.amr = claims.amr.clone().unwrap_or_default();
    person.auth_time = claims.auth_time.unwrap_or(signed_in_by);
    Ok(person)
}

/// RFC 6749 §4.1.3 with PKCE: the code, bound to this client, redirect URI and verifier, for
/// the person's tokens: an access token under their grant, an `id_token` with `openid`, and a
/// rotating refresh token with `offline_access`.
async fn authorization_code(
    svc: &TokenService,
    tenant: &Tenant,
    client: &Client,
    form: &Form,
    bound: Bound<'_>,
) -> Result<HttpResponse, OAuthError> {
    let code = form.require("code")?;
    let redirect_uri = form.require("redirect_uri")?;
    let verifier = form.require("code_verifier")?;
    if !authorization::valid_verifier(verifier) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)",
        ));
    }
    let redeemed = authorization::redeem(svc, client, code, redirect_uri, verifier)
        .await?
        .map_err(|why| OAuthError::invalid_grant(why.to_string()))?;
    let row = &redeemed.row;
    let claims = refresh::FamilyClaims {
        amr: Some(row.amr.0.clone()),
        auth_time: Some(row.auth_time),
        on_behalf_of: None,
    };
    let person = grant_person(
        svc,
        tenant,
        &row.user_id,
        &row.grant_id,
        &claims,
        row.auth_time,
    )
    .await?;
    let scope = row.scope.clone();
    let (access, access_claims) = mint::person_access_token(
        tenant,
        client,
        &person,
        &scope,
        bound.cnf,
        Some(&row.grant_id),
    )?;
    let scopes: Vec<&str> = scope.split(' ').collect();
    let (refresh_token, family) = if scopes.contains(&"offline_access") {
        let id = domain::ids::new_id();
        let family = Family::Grant {
            family: Some(id.clone()),
            person: &person,
            grant_id: &row.grant_id,
        };
        let token = refresh::issue(svc, tenant, client, &scope, family).await?;
        (Some(token), Some(id))
    } else {
        (None, None)
    };
    let id_token = if scopes.contains(&"openid") {
        let email = if scopes.contains(&"email") {
            let (t, u) = (tenant.id.clone(), row.user_id.clone());
            svc.store
                .run(move |c| store::repo::users::find(c, &t, &u))
                .await?
                .map(|u| u.email)
        } else {
            None
        };
        Some(mint::person_id_token(
            tenant,
            client,
            &access_claims,
            &access.token,
            row.nonce.as_deref(),
            email.as_deref(),
        )?)
    } else {
        None
    };
    authorization::record_issued(
        svc,
        &redeemed,
        &access_claims.jti,
        access_claims.exp.unwrap_or_default(),
        family.as_deref(),
    )
    .await?;
    Ok(no_store_json(&TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope,
        refresh_token,
        id_token,
        issued_token_type: None,
    }))
}

async fn person_tokens(
    svc: &TokenService,
    tenant: &Tenant,
    client: &Client,
    person: &Person,
    scope: String,
    cnf: Option<&str>,
) -> Result<HttpResponse, OAuthError> {
    let (access, claims) = mint::person_access_token(tenant, client, person, &scope, cnf, None)?;
    let refresh_token = if client.grant_types.contains(&GrantType::RefreshToken) {
        Some(refresh::issue(svc, tenant, client, &scope, Family::Person(person)).await?)
    } else {
        None
    };
    respond(tenant, client, access, claims, scope, refresh_token)
}

pub(super) fn respond(
    tenant: &Tenant,
    client: &Client,
    access: mint::Minted,
    claims: domain::claims::AccessClaims,
    scope: String,
    refresh_token: Option<String>,
) -> Result<HttpResponse, OAuthError> {
    let id_token = if claims.scopes().any(|s| s == "openid") {
        Some(mint::id_token(tenant, client, &claims)?)
    } else {
        None
    };
    Ok(no_store_json(&TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope,
        refresh_token,
        id_token,
        issued_token_type: None,
    }))
}

/// RFC 6749 §3.3: requested ⊆ allowed; `*` is everything allowed; absent is the default.
pub fn resolve_scope(client: &Client, requested: Option<&str>) -> Result<String, OAuthError> {
    match requested.map(str::trim) {
        None | Some("") => Ok(client.default_scopes.join(" ")),
        Some("*") => Ok(client.scopes.join(" ")),
        Some(req) => {
            let mut granted: Vec<&str> = Vec::new();
            for s in req.split(' ').filter(|s| !s.is_empty()) {
                if !client.scopes.iter().any(|a| a == s) {
                    return Err(OAuthError::invalid_scope(format!(
                        "scope `{}` is not allowed for this client",
                        printable(s)
                    )));
                }
                if !granted.contains(&s) {
                    granted.push(s);
                }
            }
            Ok(granted.join(" "))
        }
    }
}

#[cfg(test)]
mod tests;
