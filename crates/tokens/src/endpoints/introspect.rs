//! `POST /t/{tenant}/oauth2/introspect` (RFC 7662) and `POST /t/{tenant}/oauth2/revoke`
//! (RFC 7009). Both take the caller's client authentication like the token endpoint.

use actix_web::{web, HttpRequest, HttpResponse};
use domain::model::AuthMethod;
use serde::Serialize;
use utoipa::ToSchema;

use super::{no_store_json, tenant_of};
use crate::client_auth::authenticate;
use crate::form::Form;
use crate::service::TokenService;
use crate::{mint, refresh};
use http::oauth::{OAuthError, OAuthErrorBody};

/// Form parameters of introspection and revocation.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(example = json!({"token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9...", "token_type_hint": "access_token"}))]
pub struct TokenParam {
    /// The token to inspect or revoke.
    token: String,
    /// `access_token` or `refresh_token`; a hint only.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "active": true, "iss": "http://127.0.0.1:8080/t/system", "sub": "admin", "aud": "http://127.0.0.1:8080/t/system",
    "client_id": "admin", "scope": "admin", "jti": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b",
    "iat": 1767225600, "exp": 1767225900, "tenant": "system", "token_type": "Bearer"
}))]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub claims: Option<domain::claims::AccessClaims>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

/// Introspect a token.
///
/// Answers `active: true` with the token's claims for a valid access token of this tenant;
/// `active: false` for anything else (expired, revoked, another tenant's, badly signed, a
/// disabled client's), without saying which.
#[utoipa::path(
    post,
    path = "/t/{tenant}/oauth2/introspect",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state", body = Introspection),
        (status = 400, description = "invalid_request", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
        (status = 404, description = "Unknown tenant", body = OAuthErrorBody),
        (status = 413, description = "invalid_request: the body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable: the database does not answer, so the token's state is unknown; retry after `Retry-After` seconds", body = OAuthErrorBody),
    ),
    security(("client_secret_basic" = []))
)]
pub async fn introspect(
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let tenant = tenant_of(&svc, &path).await?;
    let auth = authenticate(&svc, &tenant, &req, &form)
        .await?
        .accept(&svc)
        .await?;
    if auth.method == AuthMethod::None {
        // RFC 7662 §2.1: introspection answers only to authenticated (resource server) clients.
        return Err(OAuthError::invalid_client(
            "a public client may not introspect tokens",
        ));
    }
    let token = form.require("token")?;
    let body = match mint::validate(&svc, token, Some(&tenant.slug)).await {
        Ok((_, claims)) => Introspection {
            active: true,
            claims: Some(claims),
            token_type: Some("Bearer"),
        },
        // The database could not say: 503, not `active: false` for a token that may be good.
        Err(mint::Rejection::Store(e)) => return Err(e.into()),
        Err(mint::Rejection::Invalid(_)) => Introspection {
            active: false,
            claims: None,
            token_type: None,
        },
    };
    Ok(no_store_json(&body))
}

/// Revoke a token.
///
/// An access token of the calling client is denied from now until it expires; a refresh token
/// of the calling client is revoked with its whole family. Unknown,
/// invalid or foreign tokens also answer 200, as RFC 7009 asks.
#[utoipa::path(
    post,
    path = "/t/{tenant}/oauth2/revoke",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "invalid_request", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
        (status = 404, description = "Unknown tenant", body = OAuthErrorBody),
        (status = 413, description = "invalid_request: the body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable: the database does not answer, so the token's state is unknown; retry after `Retry-After` seconds", body = OAuthErrorBody),
    ),
    security(("client_secret_basic" = []))
)]
pub async fn revoke(
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let tenant = tenant_of(&svc, &path).await?;
    let caller = authenticate(&svc, &tenant, &req, &form)
        .await?
        .accept(&svc)
        .await?;
    let token = form.require("token")?;
    if form.get("token_type_hint") == Some("refresh_token") || !token.contains('.') {
        refresh::revoke(&svc, &caller.client, token).await?;
        return Ok(no_store_json(&serde_json::json!({})));
    }
    let validated = match mint::validate(&svc, token, Some(&tenant.slug)).await {
        Ok(v) => Some(v),
        Err(mint::Rejection::Invalid(_)) => None,
        Err(mint::Rejection::Store(e)) => return Err(e.into()),
    };
    if let Some((tenant, claims)) = validated {
        // A client revokes its own tokens only (RFC 7009 §2.1).
        if claims.client_id == caller.client.client_id {
            if let Some(exp) = claims.exp {
                svc.revoke_access_token(&tenant.id, &claims.jti, exp)
                    .await?;
                tracing::info!(jti = %claims.jti, client = %claims.client_id, "access token revoked");
            }
        }
    }
    Ok(no_store_json(&serde_json::json!({})))
}
