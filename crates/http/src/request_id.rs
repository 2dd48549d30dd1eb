//! A request id for every request: taken from a well-formed incoming `X-Request-Id` (so a
//! proxy's id carries through) or generated; returned in the response header, recorded on
//! every log line of the request (its span) and in every problem body.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::Error;
use tracing::Instrument;

use super::error::problem_response;
use super::ApiError;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The caller's address for audit records: the TCP peer. A forwarded address is only as good
/// as the proxy that wrote it, so it is not used.
pub fn peer_ip(req: &actix_web::HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// The id of the request being served, where there is one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID_HEADER)?.to_str().ok()?;
    let ok = (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| v.to_owned())
}

/// Middleware (`actix_web::middleware::from_fn`): request id, access log, and a problem body
/// for error responses that have none (unknown route, wrong method).
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let id = incoming_id(&req).unwrap_or_else(domain::ids::new_id);
    let header = HeaderValue::from_str(&id).ok();
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let classify = req
        .app_data::<actix_web::web::Data<super::Edge>>()
        .map_or(super::Edge::default().classify, |e| e.classify);
    let endpoint = classify(req.path());

    let result = REQUEST_ID
        .scope(id, next.call(req).instrument(span.clone()))
        .await;

    // Handlers' errors arrive here already rendered as responses; an Err comes only from
    // middleware below this one, and actix renders it.
    let mut response = result.inspect_err(|e| {
        span.in_scope(|| tracing::warn!(error = %e, "request failed in middleware"));
    })?;
    let status = response.status();
    span.in_scope(|| {
        let (method, path) = (response.request().method(), response.request().path());
        let elapsed = started.elapsed();
        super::metrics::METRICS.record_request(endpoint, status.as_u16(), elapsed);
        let micros = elapsed.as_micros() as u64;
        if status.is_server_error() {
            tracing::error!(%method, path, status = status.as_u16(), micros, "request");
        } else {
            tracing::info!(%method, path, status = status.as_u16(), micros, "request");
        }
    });
    let id = header
        .as_ref()
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    if let Some(h) = header {
        response.headers_mut().insert(REQUEST_ID_HEADER, h);
    }
    if status.as_u16() >= 400 && !response.headers().contains_key(CONTENT_TYPE) {
        let mut problem = ApiError::problem_for_status(status);
        problem.request_id = id;
        let (req, old) = response.into_parts();
        let mut new = problem_response(&problem);
        for (name, value) in old.headers() {
            if !new.headers().contains_key(name) {
                new.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return Ok(ServiceResponse::new(req, new).map_into_right_body());
    }
    Ok(response.map_into_left_body())
}
