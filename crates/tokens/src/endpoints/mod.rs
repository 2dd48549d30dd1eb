//! The OAuth 2.0 HTTP endpoints of each tenant.

pub mod discovery;
mod exchange;
pub mod introspect;
pub mod token;
pub mod whoami;

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpResponse;

use crate::cache::Tenant;
use crate::service::TokenService;
use http::oauth::{OAuthError, OAuthErrorCode};

/// The tenant named in the URL; unknown or disabled ones are a 404.
pub(crate) async fn tenant_of(svc: &TokenService, slug: &str) -> Result<Arc<Tenant>, OAuthError> {
    svc.caches
        .tenant(slug)
        .await?
        .filter(|t| !t.disabled)
        .ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidTenant, "no such tenant"))
}

/// JSON that must not be cached (RFC 6749 §5.1).
pub(crate) fn no_store_json(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(body)
}
