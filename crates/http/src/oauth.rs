//! OAuth 2.0 error responses (RFC 6749 §5.2, RFC 6750 §3), mapped to HTTP only here.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// What a 503 asks the client to wait before retrying, in seconds.
pub const RETRY_AFTER_SECS: i64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// Token exchange (RFC 8693 §2.2.2): the `audience` or `resource` is not one this server
    /// issues tokens for.
    InvalidTarget,
    /// Not found: the tenant in the URL does not exist (answered 404).
    InvalidTenant,
    ServerError,
    TemporarilyUnavailable,
    /// The password was right; finish with the emailed code at the mfa-otp grant (403).
    MfaRequired,
    /// Too many codes were sent; retry after `Retry-After` seconds (429).
    SlowDown,
}

/// The body of every OAuth endpoint error.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_client", "error_description": "client authentication failed"}))]
pub struct OAuthErrorBody {
    pub error: OAuthErrorCode,
    pub error_description: Cow<'static, str>,
    /// With `mfa_required`: names the sign-in at `grant_type=urn:portcullis:params:oauth:grant-type:mfa-otp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {description}")]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: Cow<'static, str>,
    /// The client tried HTTP Basic, so the 401 must challenge for it (RFC 6749 §5.2).
    pub basic_challenge: bool,
    pub mfa_token: Option<String>,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<i64>,
    /// A status other than the code's own (413 for a body over the limit).
    pub status: Option<StatusCode>,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
            mfa_token: None,
            retry_after: None,
            status: None,
        }
    }
    pub fn mfa_required(mfa_token: String) -> Self {
        OAuthError {
            mfa_token: Some(mfa_token),
            ..Self::new(
                OAuthErrorCode::MfaRequired,
                "a code was sent to the account's email address; send it with grant_type=urn:portcullis:params:oauth:grant-type:mfa-otp, this mfa_token and otp",
            )
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
    pub fn invalid_target(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidTarget, d)
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
    /// 503 `temporarily_unavailable`, with `Retry-After`: a dependency (the database, the
    /// mail server) or the server's capacity is exhausted for now; the request may be fine.
    pub fn unavailable(d: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            retry_after: Some(RETRY_AFTER_SECS),
            ..Self::new(OAuthErrorCode::TemporarilyUnavailable, d)
        }
    }
    /// 413 `invalid_request`: the body is larger than the endpoint takes.
    pub fn too_large(limit: usize) -> Self {
        OAuthError {
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            ..Self::invalid_request(format!("request body larger than {limit} bytes"))
        }
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
            OAuthError::unavailable("the service is temporarily unavailable; retry later")
        } else {
            OAuthError::server_error(e)
        }
    }
}

impl From<domain::accounts::SignInError> for OAuthError {
    fn from(e: domain::accounts::SignInError) -> Self {
        use domain::accounts::SignInError as E;
        match e {
            E::InvalidCredentials | E::WrongCode { .. } | E::CodeUnusable(_) => {
                OAuthError::invalid_grant(e.to_string())
            }
            E::TooManyCodes { retry_after } => OAuthError {
                retry_after: Some(retry_after),
                ..OAuthError::new(OAuthErrorCode::SlowDown, e.to_string())
            },
            E::MailUnavailable | E::Unavailable | E::Busy => {
                tracing::warn!(cause = %e, "sign-in dependency unavailable");
                OAuthError::unavailable(e.to_string())
            }
            E::Internal(cause) => OAuthError::server_error(cause),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        if let Some(status) = self.status {
            return status;
        }
        match self.code {
            OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::InvalidTenant => StatusCode::NOT_FOUND,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthErrorCode::MfaRequired => StatusCode::FORBIDDEN,
            OAuthErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
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
        if let Some(secs) = self.retry_after {
            resp.insert_header((header::RETRY_AFTER, secs.max(1).to_string()));
        }
        resp.json(OAuthErrorBody {
            error: code,
            error_description: self.description.clone(),
            mfa_token: self.mfa_token.clone(),
        })
    }
}
