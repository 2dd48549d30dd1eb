//! Metadata (RFC 8414, OpenID Connect Discovery) and the JWK Set (RFC 7517) of each tenant.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::tenant_of;
use crate::cache::Tenant;
use crate::client_auth::ASSERTION_ALGS;
use crate::keys::SigningAlg;
use crate::service::TokenService;
use domain::model::GrantType;
use http::oauth::{OAuthError, OAuthErrorBody};

/// Authorization server metadata.
#[derive(Serialize, ToSchema)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// RFC 9207: authorization responses carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    pub prompt_values_supported: Vec<&'static str>,
    pub service_documentation: String,
    /// RFC 8705 §3.3: tokens issued over mutual TLS are bound to the client certificate.
    pub tls_client_certificate_bound_access_tokens: bool,
    /// RFC 8705 §5: where the endpoints are reached with a client certificate, when that is
    /// another address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtls_endpoint_aliases: Option<MtlsAliases>,
}

#[derive(Serialize, ToSchema)]
pub struct MtlsAliases {
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
}

const AUTH_METHODS: [&str; 5] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
];

fn metadata(svc: &TokenService, tenant: &Tenant) -> Metadata {
    let base = &tenant.issuer;
    let algs: Vec<&'static str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    Metadata {
        issuer: base.clone(),
        authorization_endpoint: format!("{base}/oauth2/authorize"),
        token_endpoint: tenant.token_endpoint.clone(),
        userinfo_endpoint: format!("{base}/oauth2/userinfo"),
        end_session_endpoint: format!("{base}/oauth2/logout"),
        jwks_uri: format!("{base}/oauth2/jwks"),
        introspection_endpoint: format!("{base}/oauth2/introspect"),
        revocation_endpoint: format!("{base}/oauth2/revoke"),
        grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
        response_types_supported: vec!["code"],
        code_challenge_methods_supported: vec!["S256"],
        authorization_response_iss_parameter_supported: true,
        prompt_values_supported: vec!["none", "login", "consent"],
        // `none`: the tenant's public `portal` client, through which people sign in.
        token_endpoint_auth_methods_supported: [&AUTH_METHODS[..], &["none"]].concat(),
        token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
        introspection_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
        introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
        revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
        revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
        id_token_signing_alg_values_supported: algs,
        subject_types_supported: vec!["public"],
        scopes_supported: crate::authorization::OIDC_SCOPES
            .iter()
            .map(|s| s.to_string())
            .chain(std::iter::once("account".to_owned()))
            .chain(tenant.settings.scope_descriptions.keys().cloned())
            .collect(),
        claims_supported: vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "client_id",
            "scope",
            "tenant",
            "org",
            "device",
            "cnf",
            "roles",
            "amr",
            "auth_time",
            "on_behalf_of",
            "policies",
            "nonce",
            "at_hash",
            "email",
            "email_verified",
        ],
        service_documentation: format!("{}/swagger-ui/", svc.public_url),
        tls_client_certificate_bound_access_tokens: true,
        mtls_endpoint_aliases: svc.mtls_url().map(|m| {
            let base = format!("{m}/t/{}/oauth2", tenant.slug);
            MtlsAliases {
                token_endpoint: format!("{base}/token"),
                introspection_endpoint: format!("{base}/introspect"),
                revocation_endpoint: format!("{base}/revoke"),
            }
        }),
    }
}

fn cached_json(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        ))
        .content_type("application/json")
        .body(body)
}

/// OpenID Connect discovery document of a tenant.
///
/// The same document as the RFC 8414 path: endpoints, grant types, client authentication methods
/// and algorithms, mutual-TLS aliases. Clients configure themselves from it.
#[utoipa::path(
    get,
    path = "/t/{tenant}/.well-known/openid-configuration",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    responses(
        (status = 200, description = "The tenant's metadata", body = Metadata),
        (status = 400, description = "invalid_request: a control character (such as %00) in the URL", body = OAuthErrorBody),
        (status = 404, description = "Unknown tenant", body = OAuthErrorBody),
    )
)]
pub async fn openid_configuration(
    path: web::Path<String>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, OAuthError> {
    let tenant = tenant_of(&svc, &path).await?;
    Ok(cached_json(
        serde_json::to_string(&metadata(&svc, &tenant)).unwrap_or_default(),
    ))
}

/// Authorization server metadata of a tenant (RFC 8414 §3: the well-known path before the
/// issuer's path).
///
/// Identical to `/t/{tenant}/.well-known/openid-configuration`; both are served for clients that
/// build either URL from the issuer.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server/t/{tenant}",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    responses(
        (status = 200, description = "The tenant's metadata", body = Metadata),
        (status = 400, description = "invalid_request: a control character (such as %00) in the URL", body = OAuthErrorBody),
        (status = 404, description = "Unknown tenant", body = OAuthErrorBody),
    )
)]
pub async fn authorization_server(
    path: web::Path<String>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, OAuthError> {
    openid_configuration(path, svc).await
}

/// The tenant's public signing keys (JWK Set): the next, active and recently retired keys.
///
/// Resource servers verify access tokens (and clients id_tokens) with these keys; select by the
/// token's `kid`. Cached for 5 minutes (`Cache-Control`); a key is published before it signs
/// (`next`) and stays 24 hours after it is retired.
#[utoipa::path(
    get,
    path = "/t/{tenant}/oauth2/jwks",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    responses(
        (status = 200, description = "JWK Set", body = Object, example = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "...", "y": "...", "kid": "0192f0c4e8a37c1e", "alg": "ES256", "use": "sig"}]})),
        (status = 400, description = "invalid_request: a control character (such as %00) in the URL", body = OAuthErrorBody),
        (status = 404, description = "Unknown tenant", body = OAuthErrorBody),
    )
)]
pub async fn jwks(
    path: web::Path<String>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, OAuthError> {
    let tenant = tenant_of(&svc, &path).await?;
    Ok(cached_json(tenant.jwks_json.clone()))
}
