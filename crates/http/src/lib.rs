//! HTTP plumbing shared by every API: errors in their two dialects (RFC 9457 problems for the
//! REST APIs, RFC 6749 errors for the OAuth endpoints), validated JSON, pagination, ETags,
//! request ids, body limits, the edge middleware and metrics. It knows no route: the server
//! says which family a path belongs to (`Classify`).

mod edge;
mod error;
mod limits;
pub mod metrics;
pub mod oauth;
mod request_id;
mod rest;

pub use edge::{edge, has_control, ConnectionCap, Edge};
pub use error::{ApiError, BodyProblems, CommonProblems, FieldError, Problem};
pub use limits::{body_limits, query_config, BodyLimits, MAX_FORM_BYTES};
pub use metrics::Endpoint;
pub use oauth::{OAuthError, OAuthErrorBody, OAuthErrorCode, RETRY_AFTER_SECS};
pub use request_id::{current_request_id, peer_ip, request_context, REQUEST_ID_HEADER};
pub use rest::{
    etag, field_errors, if_match, next_cursor, run_in, versioned, Failure, Page, PageQuery, Valid,
    DEFAULT_PAGE, MAX_PAGE,
};
