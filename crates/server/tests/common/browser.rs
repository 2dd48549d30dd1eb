//! A browser for the page tests: a cookie jar, forms posted with the token of their page,
//! responses as status, location, headers and text.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use actix_web::test::{self, TestRequest};

use super::form;

/// A browser: its cookie jar, and the responses as status, headers and body text.
#[derive(Default)]
pub struct Browser {
    pub jar: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: actix_web::http::header::HeaderMap,
}

impl Page {
    /// The value of a hidden (or any) input, unescaped.
    pub fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        unescape(&self.body[start..end])
    }

    pub fn query(&self) -> HashMap<String, String> {
        let loc = self.location.as_deref().unwrap();
        let q = loc.split_once('?').map(|(_, q)| q).unwrap_or_default();
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }
}

/// HTML character references, as a browser decodes an attribute.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').unwrap();
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            "apos" => '\'',
            e if e.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
            e => panic!("entity {e}"),
        };
        out.push(c);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

impl Browser {
    pub async fn go<S, B>(&mut self, app: &S, mut req: TestRequest) -> Page
    where
        S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
        B: actix_web::body::MessageBody,
    {
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.insert_header(("cookie", cookies.join("; ")));
        }
        let resp = test::call_service(app, req.to_request()).await;
        let headers = resp.headers().clone();
        for v in headers.get_all("set-cookie") {
            let c = actix_web::cookie::Cookie::parse(v.to_str().unwrap().to_owned()).unwrap();
            if c.max_age().is_some_and(|a| a.is_zero()) {
                self.jar.remove(c.name());
            } else {
                self.jar.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let status = resp.status().as_u16();
        let location = headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
        Page {
            status,
            location,
            body,
            headers,
        }
    }

    pub async fn get<S, B>(&mut self, app: &S, uri: &str) -> Page
    where
        S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
        B: actix_web::body::MessageBody,
    {
        self.go(app, TestRequest::get().uri(uri)).await
    }

    pub async fn post<S, B>(&mut self, app: &S, uri: &str, fields: &[(&str, &str)]) -> Page
    where
        S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
        B: actix_web::body::MessageBody,
    {
        let req = TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(form(fields));
        self.go(app, req).await
    }
}
