//! OAuth 2.0 error responses (RFC 6749 §5.2, RFC 6750 §3), mapped to HTTP only here.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// Not found: the tenant in the URL does not exist (answered 404).
    InvalidTenant,
    ServerError,
    TemporarilyUnavailable,
}

/// The body of every OAuth endpoint error.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_client", "error_description": "client authentication failed"}))]
pub struct OAuthErrorBody {
    pub error: OAuthErrorCode,
    pub error_description: Cow<'static, str>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {description}")]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: Cow<'static, str>,
    /// The client tried HTTP Basic, so the 401 must challenge for it (RFC 6749 §5.2).
    pub basic_challenge: bool,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }
    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidScope, d)
    }
    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::UnauthorizedClient, d)
    }
    pub fn server_error(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "token service error");
        Self::new(
            OAuthErrorCode::ServerError,
            "unexpected error; retry, and report the request id if it persists",
        )
    }
    pub fn with_basic_challenge(mut self, basic: bool) -> Self {
        self.basic_challenge = basic;
        self
    }
}

impl From<store::StoreError> for OAuthError {
    fn from(e: store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(cause = %e, "database unavailable");
            OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable; retry later",
            )
        } else {
            OAuthError::server_error(e)
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self.code {
            OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::InvalidTenant => StatusCode::NOT_FOUND,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self.code {
            OAuthErrorCode::InvalidTenant => OAuthErrorCode::InvalidRequest,
            c => c,
        };
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if self.code == OAuthErrorCode::InvalidClient {
            let challenge = if self.basic_challenge {
                "Basic realm=\"portcullis\", charset=\"UTF-8\""
            } else {
                "Basic realm=\"portcullis\""
            };
            resp.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        resp.json(OAuthErrorBody {
            error: code,
            error_description: self.description.clone(),
        })
    }
}
