//! The edge: what every request passes before any handler sees it. Refuses what no handler
//! should have to think about — a connection over the cap, control characters in the path or
//! query, a declared body larger than the route takes — and puts a deadline on the body, so a
//! client that sends headers and then stalls is cut off instead of holding a connection open.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};
use futures_util::Stream;

use super::error::problem_response;
use super::{ApiError, BodyLimits};
use crate::metrics::Endpoint;
use crate::oauth::{OAuthError, RETRY_AFTER_SECS};

/// What the edge enforces; `App::app_data(web::Data<Edge>)`.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// The whole body must have arrived this long after the headers.
    pub body_timeout: Duration,
    pub limits: BodyLimits,
    /// Which family a path belongs to (its metrics label and error dialect): the server knows
    /// its routes, this crate does not.
    pub classify: fn(&str) -> Endpoint,
}

impl Default for Edge {
    fn default() -> Self {
        Edge {
            body_timeout: Duration::from_secs(10),
            limits: BodyLimits::default(),
            classify: |_| Endpoint::Other,
        }
    }
}

/// Open connections against a cap, shared by every worker. Each connection takes a slot when
/// it is accepted (in the server's `on_connect`) and gives it back when it closes; one accepted
/// over the cap gets a 503 on its first request and is closed, a clear answer instead of a
/// server that silently stops accepting when the descriptors run out.
#[derive(Debug)]
pub struct ConnectionCap {
    open: AtomicUsize,
    cap: usize,
}

/// One connection's slot, kept in the connection's extensions (dropped when it closes).
#[derive(Debug)]
pub struct ConnectionSlot {
    cap: Arc<ConnectionCap>,
    admitted: bool,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.cap.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionCap {
    pub fn new(cap: usize) -> Arc<ConnectionCap> {
        Arc::new(ConnectionCap {
            open: AtomicUsize::new(0),
            cap,
        })
    }

    /// For `HttpServer::on_connect`.
    pub fn on_connect(self: &Arc<Self>, ext: &mut Extensions) {
        let before = self.open.fetch_add(1, Ordering::Relaxed);
        ext.insert(ConnectionSlot {
            cap: self.clone(),
            admitted: before < self.cap,
        });
    }
}

/// Whether `raw` (a path or query as sent) percent-encodes a control character: C0 (NUL, CR,
/// LF, …) or DEL. Raw control bytes never get this far: the HTTP parser refuses them.
pub fn encodes_control(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_uppercase()),
                (b'0' | b'1', b'0'..=b'9' | b'A'..=b'F') | (b'7', b'F')
            )
    })
}

/// Whether `s` holds a control character (C0 or DEL).
pub fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_control())
}

/// A refusal in the dialect of the route: an RFC 6749 error on the OAuth endpoints, an RFC 9457
/// problem elsewhere; a 503 says when to retry.
fn refusal(oauth: bool, status: StatusCode, description: String, close: bool) -> HttpResponse {
    let mut response = if oauth {
        let error = if status == StatusCode::SERVICE_UNAVAILABLE {
            OAuthError::unavailable(description)
        } else {
            OAuthError {
                status: Some(status),
                ..OAuthError::invalid_request(description)
            }
        };
        actix_web::ResponseError::error_response(&error)
    } else {
        let mut problem = ApiError::problem_for_status(status);
        problem.detail = Some(description);
        let mut r = problem_response(&problem);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        r
    };
    if close {
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    response
}

fn declared_length(req: &ServiceRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The middleware (`from_fn(edge)`), inside the request context (so refusals carry the id).
pub async fn edge<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let config = req
        .app_data::<web::Data<Edge>>()
        .map(|e| *e.get_ref())
        .unwrap_or_default();
    let oauth = (config.classify)(req.path()).is_oauth();
    let refuse = |req: ServiceRequest, status, why: String, close| {
        let (http, _) = req.into_parts();
        Ok(ServiceResponse::new(http, refusal(oauth, status, why, close)).map_into_right_body())
    };
    if req
        .conn_data::<ConnectionSlot>()
        .is_some_and(|slot| !slot.admitted)
    {
        return refuse(
            req,
            StatusCode::SERVICE_UNAVAILABLE,
            "the server has too many open connections; retry later".into(),
            true,
        );
    }
    let query = req.query_string();
    if encodes_control(req.uri().path()) || encodes_control(query) {
        return refuse(
            req,
            StatusCode::BAD_REQUEST,
            "the URL contains a control character (such as %00); remove it".into(),
            false,
        );
    }
    let limit = if oauth {
        config.limits.form
    } else {
        config.limits.json
    };
    if declared_length(&req).is_some_and(|n| n > limit as u64) {
        // Answered before a byte of the body is read; the connection closes (the body is not
        // worth draining).
        return refuse(
            req,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {limit} bytes"),
            true,
        );
    }
    let has_body = req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let fired = if has_body {
        let fired = Arc::new(AtomicBool::new(false));
        let inner = req.take_payload();
        let timed = Deadline {
            inner,
            sleep: Box::pin(tokio::time::sleep(config.body_timeout)),
            fired: fired.clone(),
            done: false,
        };
        req.set_payload(Payload::Stream {
            payload: Box::pin(timed),
        });
        Some(fired)
    } else {
        None
    };
    let response = next.call(req).await?;
    if fired.is_some_and(|f| f.load(Ordering::Relaxed)) {
        let (http, _) = response.into_parts();
        let why = format!(
            "the request body did not arrive within {} seconds",
            config.body_timeout.as_secs()
        );
        let r = refusal(oauth, StatusCode::REQUEST_TIMEOUT, why, true);
        return Ok(ServiceResponse::new(http, r).map_into_right_body());
    }
    Ok(response.map_into_left_body())
}

/// A request body that fails with a timeout once its deadline passes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    fired: Arc<AtomicBool>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    self.fired.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests;
