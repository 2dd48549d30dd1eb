use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use super::request_id::current_request_id;

/// An RFC 9457 problem document, the body of every admin and account API error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:portcullis:problem:validation",
    "title": "Invalid request",
    "status": 422,
    "detail": "1 field is invalid; correct it and retry",
    "request_id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b",
    "errors": [{"field": "slug", "message": "must be 3 to 40 characters of a-z, 0-9 and '-'"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem; stable, for programs to branch on.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, and what to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id (also in the `X-Request-Id` header); quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// One entry per invalid field, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as a JSON path below the request body (`memberships[0].role`).
    pub field: String,
    pub message: String,
}

/// Every way an admin or account API request can fail; mapped to HTTP only here.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("authentication required")]
    Unauthorized,
    /// RFC 6750 `invalid_token`: the reason is safe to show (expired, revoked, ...).
    #[error("{0}")]
    InvalidToken(String),
    /// RFC 9470: the token is valid, but the sign-in behind it is not strong or recent enough.
    #[error("this needs a sign-in with the emailed code within the last {max_age} seconds")]
    StepUpRequired { max_age: i64 },
    #[error("your token lacks the role this needs: platform_admin (system tenant), or tenant_admin of this tenant")]
    Forbidden,
    /// Forbidden, with the reason (safe to show) and what would allow it.
    #[error("{0}")]
    Denied(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("send `If-Match` with the resource's ETag")]
    PreconditionRequired,
    #[error("the resource changed since you read it; GET it again and retry with its new ETag")]
    PreconditionFailed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Details go to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 422 naming one invalid field.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Validation(_) => ("validation", "Invalid request"),
            ApiError::Unauthorized => ("unauthorized", "Authentication required"),
            ApiError::InvalidToken(_) => ("invalid-token", "Invalid access token"),
            ApiError::StepUpRequired { .. } => (
                "insufficient-user-authentication",
                "Insufficient user authentication",
            ),
            ApiError::Forbidden | ApiError::Denied(_) => ("forbidden", "Forbidden"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::PreconditionRequired => ("precondition-required", "Precondition required"),
            ApiError::PreconditionFailed => ("precondition-failed", "Precondition failed"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) => {
                format!("{} field(s) invalid; correct them and retry", errors.len())
            }
            ApiError::Unauthorized => {
                "send a valid access token as `Authorization: Bearer <token>`".to_owned()
            }
            ApiError::InvalidToken(why) => format!("{why}; obtain a new token and retry"),
            ApiError::StepUpRequired { max_age } => format!(
                "sign in again with your password and the emailed code (grant_type=password, then \
                 urn:portcullis:params:oauth:grant-type:mfa-otp); this action accepts sign-ins of \
                 the last {max_age} seconds"
            ),
            ApiError::Unavailable(_) => "a backing service is unavailable; retry later".to_owned(),
            ApiError::Internal(_) => {
                "an unexpected error occurred; report the request id to the operator".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// The problem for a bare status (an unknown route, a wrong method, a refusal at the edge),
    /// with no error value. Its `type` and `title` are those of the [`ApiError`] of the same
    /// status, so a program branching on `type` sees one name per kind of problem.
    pub fn problem_for_status(status: StatusCode) -> Problem {
        let reason = status.canonical_reason().unwrap_or("Error");
        let (slug, title): (String, String) = match status {
            StatusCode::BAD_REQUEST => ("bad-request".into(), "Bad request".into()),
            StatusCode::NOT_FOUND => ("not-found".into(), "Not found".into()),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method-not-allowed".into(), "Method not allowed".into())
            }
            StatusCode::REQUEST_TIMEOUT => ("request-timeout".into(), "Request timeout".into()),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload-too-large".into(), "Request body too large".into())
            }
            StatusCode::SERVICE_UNAVAILABLE => ("unavailable".into(), "Service unavailable".into()),
            _ => (reason.to_lowercase().replace(' ', "-"), reason.to_owned()),
        };
        let detail = match status {
            StatusCode::NOT_FOUND => "no resource at this URL; see /openapi.json for the API",
            StatusCode::METHOD_NOT_ALLOWED => "this URL does not accept this method",
            _ => reason,
        };
        Problem {
            kind: format!("urn:portcullis:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: Some(detail.to_owned()),
            request_id: current_request_id(),
            errors: Vec::new(),
        }
    }
}

pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized
            | ApiError::InvalidToken(_)
            | ApiError::StepUpRequired { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::Denied(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "backing service unavailable"),
            _ => {}
        }
        let (slug, title) = self.slug_and_title();
        let problem = Problem {
            kind: format!("urn:portcullis:problem:{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail: Some(self.detail()),
            request_id: current_request_id(),
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut response = problem_response(&problem);
        let challenge = match self {
            ApiError::Unauthorized => Some(HeaderValue::from_static("Bearer")),
            ApiError::InvalidToken(why) => HeaderValue::from_str(&format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                why.replace(['"', '\\'], "")
            ))
            .ok(),
            ApiError::StepUpRequired { max_age } => HeaderValue::from_str(&format!(
                "Bearer error=\"insufficient_user_authentication\", error_description=\"a recent \
                 sign-in with the emailed code is required\", max_age=\"{max_age}\""
            ))
            .ok(),
            _ => None,
        };
        if let Some(c) = challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        if let ApiError::Unavailable(_) = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::oauth::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::NotFound => ApiError::NotFound("resource".to_owned()),
            store::StoreError::Conflict { .. } => {
                ApiError::Conflict("a resource with the same unique value exists".to_owned())
            }
            e if e.is_unavailable() => ApiError::Unavailable(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

type ResponseMap =
    std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>;

fn problem_responses(list: &[(&str, &str)]) -> ResponseMap {
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::{ContentBuilder, Ref};
    list.iter()
        .map(|(code, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/problem+json", content)
                .build();
            ((*code).to_owned(), response.into())
        })
        .collect()
}

/// The errors every admin and account endpoint can answer, for the spec:
/// `responses((status = 200, …), CommonProblems)`.
pub struct CommonProblems;

impl utoipa::IntoResponses for CommonProblems {
    fn responses() -> ResponseMap {
        problem_responses(&[
            ("400", "Malformed request: a body that is not JSON (or JSON followed by more), a query parameter that does not parse, or a control character such as NUL in the URL or a string"),
            ("401", "No valid access token (missing, expired, revoked, of a disabled tenant, or bound to a certificate not presented); on the account API also `insufficient_user_authentication` (RFC 9470): sign in again with the emailed code"),
            ("403", "Authenticated, but without the role this needs"),
            ("404", "No such resource, or one of a tenant you do not manage"),
            ("422", "Invalid fields or parameters; `errors` names each"),
            ("503", "The database does not answer; nothing was changed; retry after `Retry-After` seconds"),
        ])
    }
}

/// What endpoints that take a body can answer on top of [`CommonProblems`].
pub struct BodyProblems;

impl utoipa::IntoResponses for BodyProblems {
    fn responses() -> ResponseMap {
        problem_responses(&[
            ("408", "The body did not arrive within the request timeout; the connection is closed"),
            ("413", "The body is larger than the limit (refused from `Content-Length` before it is read)"),
            ("415", "The body is not `application/json`"),
        ])
    }
}
