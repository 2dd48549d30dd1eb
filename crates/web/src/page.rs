//! Rendering: every page goes out with the same security headers, and every failure becomes a
//! page in one place ([`PageError`]).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;

static CSS: &str = include_str!("../assets/portcullis.css");
static COPY: &str = include_str!("../assets/copy.js");

/// No script at all, styles from this origin, images from here or an application's https logo,
/// never framed (clickjacking).
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https:; \
    base-uri 'none'; frame-ancestors 'none'";

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(CSS)
}

/// The reveal page's copy button, the portal's one script.
pub async fn copy_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(COPY)
}

/// The headers of every page: CSP, no sniffing, same-origin referrers, and no caching (pages
/// show or take credentials).
pub fn secure(mut b: HttpResponseBuilder) -> HttpResponseBuilder {
    b.insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .insert_header((header::REFERRER_POLICY, "same-origin"))
    .insert_header((header::X_FRAME_OPTIONS, "DENY"))
    .insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    render_with(HttpResponse::build(status), page)
}

pub fn render_with(b: HttpResponseBuilder, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => secure(b)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(html),
        Err(e) => PageError::Internal(e.to_string()).error_response(),
    }
}

/// A 303 to `location` (after a form, or to the application).
pub fn see_other(location: &str) -> HttpResponseBuilder {
    let mut b = secure(HttpResponse::SeeOther());
    b.insert_header((header::LOCATION, location));
    b
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub tenant_name: &'a str,
    pub heading: &'a str,
    pub text: &'a str,
    pub link: Option<(&'a str, &'a str)>,
    pub confirm: Option<Confirm<'a>>,
}

/// A one-button form (confirming a sign-out).
pub struct Confirm<'a> {
    pub action: &'a str,
    pub csrf: String,
    pub fields: Vec<(&'a str, &'a str)>,
    pub label: &'a str,
}

/// Why a page could not be shown; each becomes an HTML page here.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("this page does not exist")]
    NotFound,
    /// A request that must not be followed anywhere (an unknown application, a redirect URI
    /// it did not register): shown to the person, never redirected.
    #[error("{0}")]
    BadRequest(String),
    /// A form without its CSRF token, or posted from another site.
    #[error(
        "this form expired or was sent from another site; go back, reload the page and try again"
    )]
    Forbidden,
    #[error("the service is temporarily unavailable; try again in a moment")]
    Unavailable,
    #[error("something went wrong on our side; try again")]
    Internal(String),
}

impl From<store::StoreError> for PageError {
    fn from(e: store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(cause = %e, "database unavailable");
            PageError::Unavailable
        } else {
            PageError::Internal(e.to_string())
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Forbidden => StatusCode::FORBIDDEN,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::Internal(cause) = self {
            tracing::error!(%cause, "page failed");
        }
        let heading = match self {
            PageError::NotFound => "Not found",
            PageError::BadRequest(_) => "This request cannot be completed",
            PageError::Forbidden => "Please try again",
            PageError::Unavailable => "Temporarily unavailable",
            PageError::Internal(_) => "Something went wrong",
        };
        let text = self.to_string();
        let page = Message {
            tenant_name: "Portcullis",
            heading,
            text: &text,
            link: None,
            confirm: None,
        };
        let mut b = HttpResponse::build(self.status_code());
        if matches!(self, PageError::Unavailable) {
            b.insert_header((header::RETRY_AFTER, http::RETRY_AFTER_SECS.to_string()));
        }
        match page.render() {
            Ok(html) => secure(b)
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .body(html),
            Err(_) => secure(b).body(text),
        }
    }
}
