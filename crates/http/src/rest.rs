//! Conventions of the admin and account APIs: validated JSON bodies, cursor pagination and
//! optimistic concurrency (ETag / If-Match).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE, IF_MATCH};
use actix_web::{web, FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use super::{ApiError, FieldError};

/// A JSON body that parsed and passed its `validator` rules; otherwise a 422 problem listing
/// every invalid field. An absent body (no content, no content type) reads as `{}`.
pub struct Valid<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Valid<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Valid<T>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            });
        let declared = req.headers().contains_key(CONTENT_TYPE);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json && declared {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON with `Content-Type: application/json`".into(),
                )
                .into());
            }
            let bytes =
                bytes
                    .await
                    .map_err(|e| match e.as_response_error().status_code().as_u16() {
                        413 => ApiError::PayloadTooLarge {
                            limit: super::BodyLimits::default().json,
                        },
                        _ => {
                            ApiError::BadRequest(format!("the request body could not be read: {e}"))
                        }
                    })?;
            // No body at all reads as `{}`: bodies whose fields are all optional may be left
            // out (`POST …/secret`); others answer 422 naming the missing fields.
            let value: T = if bytes.is_empty() {
                parse(b"{}")?
            } else if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON with `Content-Type: application/json`".into(),
                )
                .into());
            } else {
                parse(&bytes)?
            };
            value
                .validate()
                .map_err(|e| ApiError::Validation(field_errors(&e)))?;
            Ok(Valid(value))
        })
    }
}

/// Deserialises, naming the field at fault: a body that is not JSON is a 400; JSON of the
/// wrong shape (missing field, wrong type, unknown variant or field) is a 422 with its path.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(c) = escaped_control(bytes) {
        return Err(ApiError::BadRequest(format!(
            "the body contains the control character \\u{c:04x}; only tab, line feed and \
             carriage return are accepted in strings"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // `end` refuses anything but whitespace after the value: `{…}garbage` is not JSON.
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => de
            .end()
            .map(|()| v)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}"))),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let text = inner.to_string();
            let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::BadRequest(format!(
                    "the body is not valid JSON: {message}"
                )))
            } else {
                let field = if path == "." { "body".to_owned() } else { path };
                Err(ApiError::Validation(vec![FieldError { field, message }]))
            }
        }
    }
}

/// The first control character a JSON text escapes in a string (`\u0000`), other than tab,
/// line feed and carriage return (PEM documents need those). Raw control characters are not
/// JSON at all, and the parser refuses them.
fn escaped_control(json: &[u8]) -> Option<u32> {
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'\\' {
            i += 1;
            continue;
        }
        if json.get(i + 1) == Some(&b'u') {
            let code = json
                .get(i + 2..i + 6)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok());
            if let Some(c) = code.filter(|&c| (c < 0x20 && ![9, 10, 13].contains(&c)) || c == 0x7f)
            {
                return Some(c);
            }
        }
        // Skip the escaped character, so `\\u0000` (an escaped backslash) is not taken for one.
        i += 2;
    }
    None
}

/// Flattens validator's tree into `field.path: message` entries.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    fn walk(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
        for (field, kind) in errors.errors() {
            let path = if prefix.is_empty() {
                field.to_string()
            } else {
                format!("{prefix}.{field}")
            };
            match kind {
                ValidationErrorsKind::Field(list) => {
                    for e in list {
                        let message = e
                            .message
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| format!("invalid ({})", e.code));
                        out.push(FieldError {
                            field: path.clone(),
                            message,
                        });
                    }
                }
                ValidationErrorsKind::Struct(inner) => walk(&path, inner, out),
                ValidationErrorsKind::List(items) => {
                    for (i, inner) in items {
                        walk(&format!("{path}[{i}]"), inner, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

impl PageQuery {
    /// The page size and the id to continue after.
    pub fn resolve(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(
                B64.decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest("`cursor` is not one this API issued".into())
                    })?,
            ),
        };
        Ok(Page { limit, after })
    }

    /// Loads one page on a connection of its own; see [`Page::load`].
    pub async fn load<R, F>(
        &self,
        store: &store::Store,
        load: F,
        id: fn(&R) -> &str,
    ) -> Result<(Vec<R>, Option<String>), ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut store::DbConnection, Option<&str>, i64) -> Result<Vec<R>, store::StoreError>
            + Send
            + 'static,
    {
        let page = self.resolve()?;
        Ok(store.run(move |c| page.load(c, load, id)).await?)
    }
}

/// A validated `?limit=&cursor=`.
#[derive(Debug, Clone)]
pub struct Page {
    pub limit: i64,
    /// The id the previous page ended at.
    pub after: Option<String>,
}

impl Page {
    /// Loads one page: `load(conn, after, n)` reads up to `n` rows after the cursor; one row
    /// more than the page is asked for, which tells whether a next page exists.
    pub fn load<R>(
        &self,
        conn: &mut store::DbConnection,
        load: impl FnOnce(
            &mut store::DbConnection,
            Option<&str>,
            i64,
        ) -> Result<Vec<R>, store::StoreError>,
        id: fn(&R) -> &str,
    ) -> Result<(Vec<R>, Option<String>), store::StoreError> {
        let mut rows = load(conn, self.after.as_deref(), self.limit + 1)?;
        let cursor = next_cursor(&mut rows, self.limit, id);
        Ok((rows, cursor))
    }
}

/// How work on one database connection can fail: a store error, which the pool must see (it
/// marks a lost connection there), or a refusal of the API's (not found, forbidden).
#[derive(Debug)]
pub enum Failure {
    Store(store::StoreError),
    Api(ApiError),
}

impl From<store::StoreError> for Failure {
    fn from(e: store::StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure::Api(e)
    }
}

/// Runs `f` on one pooled connection, so that reads which belong together (the tenant a path
/// names, the check that the caller may manage it, its organization, a page of its devices)
/// cost one checkout and one hop to the blocking pool instead of one each.
pub async fn run_in<T, F>(store: &store::Store, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut store::DbConnection) -> Result<T, Failure> + Send + 'static,
    T: Send + 'static,
{
    store
        .run(move |c| match f(c) {
            Ok(v) => Ok(Ok(v)),
            Err(Failure::Api(e)) => Ok(Err(e)),
            Err(Failure::Store(e)) => Err(e),
        })
        .await?
}

/// The cursor for the page after `items` (one more row than `limit` was asked for tells
/// whether there is a next page).
pub fn next_cursor<T>(items: &mut Vec<T>, limit: i64, id: impl Fn(&T) -> &str) -> Option<String> {
    if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| B64.encode(id(last)))
    } else {
        None
    }
}

/// The ETag of a resource at `version`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// The version an `If-Match` header names; required, so no update is blind.
pub fn if_match(req: &HttpRequest) -> Result<i64, ApiError> {
    let value = req
        .headers()
        .get(IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?;
    value
        .to_str()
        .ok()
        // RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag (`W/"1"`) never matches.
        .map(str::trim)
        .and_then(|v| v.strip_prefix('"')?.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .ok_or(ApiError::PreconditionFailed)
}

/// The response `builder` makes, with the resource's `ETag` (for a later `If-Match`).
pub fn versioned(
    mut builder: actix_web::HttpResponseBuilder,
    version: i64,
    body: &impl serde::Serialize,
) -> actix_web::HttpResponse {
    builder
        .insert_header((actix_web::http::header::ETAG, etag(version)))
        .json(body)
}
