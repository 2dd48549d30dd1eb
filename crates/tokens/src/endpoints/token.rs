//! `POST /t/{tenant}/oauth2/token` (RFC 6749 §4.4, RFC 7523).

use actix_web::{web, HttpRequest, HttpResponse};
use domain::model::GrantType;
use serde::Serialize;
use utoipa::ToSchema;

use super::{no_store_json, tenant_of};
use crate::client_auth::authenticate;
use crate::error::{OAuthError, OAuthErrorBody, OAuthErrorCode};
use crate::form::{printable, Form};
use crate::service::{Client, TokenService};
use crate::{mint, refresh};

/// Form parameters of the token endpoint (`application/x-www-form-urlencoded`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenRequest {
    /// `client_credentials`, or `refresh_token` for clients whose policy issues them.
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// With `grant_type=refresh_token`.
    refresh_token: Option<String>,
    /// Space-separated scopes; `*` asks for every scope the client is allowed; absent means the
    /// client's default scopes. `openid` adds an `id_token`.
    #[schema(example = "*")]
    scope: Option<String>,
    /// With `client_secret_post`, or optionally with the other methods.
    client_id: Option<String>,
    /// `client_secret_post` only. Prefer HTTP Basic.
    client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` for `private_key_jwt`.
    client_assertion_type: Option<String>,
    /// A JWT signed with the client's key: `iss` = `sub` = client_id, `aud` = this endpoint,
    /// `exp` at most 5 minutes ahead, a fresh `jti`.
    client_assertion: Option<String>,
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
}

/// Issue an access token.
///
/// `client_credentials` with the client authenticated by HTTP Basic (`client_secret_basic`),
/// by `client_id` + `client_secret` in the form (`client_secret_post`), or by a signed JWT
/// assertion (`private_key_jwt`, RFC 7523). Clients allowed the `refresh_token` grant also get
/// a refresh token, rotated on every use: presenting a used one revokes its whole family.
/// Errors follow RFC 6749 §5.2.
#[utoipa::path(
    post,
    path = "/t/{tenant}/oauth2/token",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens issued", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type or invalid_scope", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
        (status = 404, description = "Unknown tenant", body = OAuthErrorBody),
    ),
    security((), ("client_secret_basic" = []))
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
    let auth = authenticate(&svc, &tenant, &req, &form).await?;
    let client = &auth.client;
    if !client.grant_types.contains(&grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use grant_type {grant_type}"
        )));
    }
    match grant_type {
        GrantType::ClientCredentials => {
            let scope = resolve_scope(client, form.get("scope"))?;
            let (access, claims) = mint::client_access_token(&tenant, client, &scope)?;
            let refresh_token = if client.grant_types.contains(&GrantType::RefreshToken) {
                Some(refresh::issue(&svc, &tenant, client, &scope, None).await?)
            } else {
                None
            };
            respond(&tenant, client, access, claims, scope, refresh_token)
        }
        GrantType::RefreshToken => {
            let old = refresh::redeem(&svc, client, form.require("refresh_token")?).await?;
            // A narrower scope may be asked for; never a wider one (RFC 6749 §6).
            let scope = match form.get("scope") {
                None => old.scope.clone(),
                Some(asked) => {
                    let granted: Vec<&str> = old.scope.split(' ').collect();
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
            let (access, claims) = mint::client_access_token(&tenant, client, &scope)?;
            let next =
                refresh::issue(&svc, &tenant, client, &old.scope, Some(old.family_id)).await?;
            respond(&tenant, client, access, claims, scope, Some(next))
        }
        other => Err(OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            format!("grant_type {other} is not supported at this endpoint yet"),
        )),
    }
}

fn respond(
    tenant: &crate::service::Tenant,
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
