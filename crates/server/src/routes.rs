//! What the server knows about its own routes: the family of a path, which is its metrics label
//! and the dialect of the errors the edge answers there.

use http::Endpoint;

/// Classifies a request path without allocating.
pub fn classify(path: &str) -> Endpoint {
    if let Some(rest) = path.strip_prefix("/t/") {
        if rest.ends_with("/oauth2/token") {
            Endpoint::Token
        } else if rest.ends_with("/oauth2/introspect") {
            Endpoint::Introspect
        } else if rest.ends_with("/oauth2/revoke") {
            Endpoint::Revoke
        } else if rest.ends_with("/oauth2/jwks") {
            Endpoint::Jwks
        } else if rest.ends_with("/whoami") {
            Endpoint::Whoami
        } else if rest.contains("/.well-known/") {
            Endpoint::Discovery
        } else {
            Endpoint::Other
        }
    } else if path.starts_with("/admin/") {
        Endpoint::Admin
    } else if path.starts_with("/account/") {
        Endpoint::Account
    } else if path.starts_with("/.well-known/") {
        Endpoint::Discovery
    } else if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        Endpoint::Ops
    } else if path.starts_with("/swagger-ui") || path == "/openapi.json" {
        Endpoint::Docs
    } else {
        Endpoint::Other
    }
}

#[cfg(test)]
mod tests;
