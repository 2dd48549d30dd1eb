//! OAuth 2.0 endpoints, JWT minting and verification, the bearer guard.

pub mod authorization;
pub mod cache;
pub mod client_auth;
pub mod crypto;
pub mod endpoints;
pub mod federation;
pub mod form;
pub mod guard;
pub mod jwks_fetch;
pub mod jws;
pub mod keys;
mod maintenance;
pub mod mint;
pub mod mtls;
pub mod password_gate;
pub mod refresh;
pub mod service;

use actix_web::web;
use utoipa::OpenApi;

pub use guard::Bearer;
pub use service::TokenService;

/// Registers the OAuth endpoints of every tenant.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use endpoints::{discovery, introspect, token, whoami};
    cfg.route("/t/{tenant}/oauth2/token", web::post().to(token::token))
        .route(
            "/t/{tenant}/oauth2/introspect",
            web::post().to(introspect::introspect),
        )
        .route(
            "/t/{tenant}/oauth2/revoke",
            web::post().to(introspect::revoke),
        )
        .route("/t/{tenant}/oauth2/jwks", web::get().to(discovery::jwks))
        .route(
            "/t/{tenant}/.well-known/openid-configuration",
            web::get().to(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server/t/{tenant}",
            web::get().to(discovery::authorization_server),
        )
        .route("/t/{tenant}/whoami", web::get().to(whoami::whoami))
        .route(
            "/t/{tenant}/oauth2/userinfo",
            web::get().to(whoami::userinfo),
        )
        .route(
            "/t/{tenant}/oauth2/userinfo",
            web::post().to(whoami::userinfo_post),
        );
}

#[derive(OpenApi)]
#[openapi(
    paths(
        endpoints::token::token,
        endpoints::introspect::introspect,
        endpoints::introspect::revoke,
        endpoints::discovery::jwks,
        endpoints::discovery::openid_configuration,
        endpoints::discovery::authorization_server,
        endpoints::whoami::whoami,
        endpoints::whoami::userinfo,
        endpoints::whoami::userinfo_post,
    ),
    components(schemas(http::OAuthErrorBody, http::OAuthErrorCode)),
    tags((name = "OAuth", description = "Token issuance, introspection, revocation, keys and \
        discovery, per tenant. Get an admin token: `curl -u admin:$SECRET -d \
        grant_type=client_credentials http://127.0.0.1:8080/t/system/oauth2/token`."))
)]
pub struct TokensApi;
