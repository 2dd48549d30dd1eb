//! Body-size limits and the problems answered when a body is too large or malformed.

use actix_web::error::{JsonPayloadError, PayloadError, UrlencodedError};
use actix_web::{web, HttpRequest};

use super::ApiError;

/// Largest OAuth form body; a client assertion is a few KiB.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// JSON bodies of the admin and account APIs.
    pub json: usize,
    /// Form bodies of the OAuth endpoints; a client assertion is a few KiB at most.
    pub form: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            json: 256 * 1024,
            form: MAX_FORM_BYTES,
        }
    }
}

/// The extractor configurations that enforce `limits`, for `App::app_data`.
pub fn body_limits(limits: BodyLimits) -> (web::JsonConfig, web::FormConfig, web::PayloadConfig) {
    let json_limit = limits.json;
    let json = web::JsonConfig::default().limit(limits.json).error_handler(
        move |err: JsonPayloadError, _req: &HttpRequest| {
            let api = match err {
                JsonPayloadError::OverflowKnownLength { limit, .. }
                | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit },
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
                    "send the body as JSON with `Content-Type: application/json`".to_owned(),
                ),
                JsonPayloadError::Deserialize(e) => {
                    ApiError::BadRequest(format!("the JSON body does not match the schema: {e}"))
                }
                JsonPayloadError::Serialize(_) => ApiError::Internal("serialize".to_owned()),
                JsonPayloadError::Payload(PayloadError::Overflow) => {
                    ApiError::PayloadTooLarge { limit: json_limit }
                }
                JsonPayloadError::Payload(e) => {
                    ApiError::BadRequest(format!("the request body could not be read: {e}"))
                }
                other => ApiError::BadRequest(other.to_string()),
            };
            api.into()
        },
    );
    let form_limit = limits.form;
    let form = web::FormConfig::default().limit(limits.form).error_handler(
        move |err: UrlencodedError, _req: &HttpRequest| {
            let api = match err {
                UrlencodedError::Overflow { limit, .. } => ApiError::PayloadTooLarge { limit },
                UrlencodedError::ContentType => ApiError::UnsupportedMediaType(
                    "send the body as `application/x-www-form-urlencoded`".to_owned(),
                ),
                UrlencodedError::Payload(PayloadError::Overflow) => {
                    ApiError::PayloadTooLarge { limit: form_limit }
                }
                other => ApiError::BadRequest(format!("the form body is malformed: {other}")),
            };
            api.into()
        },
    );
    let payload = web::PayloadConfig::new(limits.json.max(limits.form));
    (json, form, payload)
}

/// Query strings that do not parse (a number too large, a wrong type) answer a problem that
/// names the parameter, instead of actix's plain-text 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let text = err.to_string();
        let detail = text
            .strip_prefix("Query deserialize error: ")
            .unwrap_or(&text);
        ApiError::BadRequest(format!("the query string does not parse: {detail}")).into()
    })
}
