//! Form bodies of the OAuth endpoints: read with a size limit, parsed strictly (RFC 6749 §3.2:
//! a parameter must not be repeated; an empty value counts as absent).

use std::borrow::Cow;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use http::oauth::OAuthError;
use http::{has_control, MAX_FORM_BYTES};

const MAX_PARAMS: usize = 32;

pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Reads and parses the request body. Reads it to the end whenever possible, so the
    /// client keeps its keep-alive connection even when the request is refused.
    pub async fn read(req: &HttpRequest, mut payload: web::Payload) -> Result<Form, OAuthError> {
        // A declared Content-Length over the limit never gets here: the edge answers it before
        // the body is read. This bounds bodies that announce no length (chunked).
        let mut body = web::BytesMut::new();
        let mut too_large = false;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                OAuthError::invalid_request(format!("cannot read the request body: {e}"))
            })?;
            if body.len() + chunk.len() > MAX_FORM_BYTES {
                too_large = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        if too_large {
            return Err(OAuthError::too_large(MAX_FORM_BYTES));
        }
        let form_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if !form_type {
            return Err(OAuthError::invalid_request(
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        Self::parse(&body)
    }

    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(8);
        for (k, v) in form_urlencoded::parse(body) {
            if pairs.len() >= MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            // NUL and the other control characters have no place in an OAuth parameter, and
            // PostgreSQL cannot even store NUL: refused here, before any lookup.
            if has_control(&k) || has_control(&v) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{}` contains a control character",
                    printable(&k)
                )));
            }
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{}` is repeated",
                    printable(&k)
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Like [`Form::get`], but a missing parameter is an `invalid_request` naming it.
    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter `{name}` is required")))
    }
}

/// A name safe to echo in an error: short, printable.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.len() <= 64 && s.chars().all(|c| c.is_ascii_graphic()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(char::is_ascii_graphic).take(64).collect())
    }
}

#[cfg(test)]
mod tests;
