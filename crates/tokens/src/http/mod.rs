//! HTTP plumbing shared by every API: errors as RFC 9457 problems, request ids, body limits.

mod edge;
mod error;
mod limits;
pub mod metrics;
mod request_id;
mod rest;

pub use edge::{edge, has_control, ConnectionCap, Edge};
pub use error::{ApiError, BodyProblems, CommonProblems, FieldError, Problem};
pub use limits::{body_limits, query_config, BodyLimits};
pub use request_id::{current_request_id, peer_ip, request_context, REQUEST_ID_HEADER};
pub use rest::{
    etag, field_errors, if_match, next_cursor, PageQuery, Valid, DEFAULT_PAGE, MAX_PAGE,
};
