//! `GET /t/{tenant}/whoami`: the principal a bearer token stands for.

use actix_web::{web, HttpResponse};

use crate::guard::Bearer;
use http::{ApiError, Problem};

/// Who am I?
///
/// Validates the bearer token like every protected API does and returns its claims.
#[utoipa::path(
    get,
    path = "/t/{tenant}/whoami",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    responses(
        (status = 200, description = "The validated token's claims", body = Object),
        (status = 400, description = "A control character (such as %00) in the URL", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked token, or one of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer, so the token could not be checked; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn whoami(path: web::Path<String>, bearer: Bearer) -> Result<HttpResponse, ApiError> {
    if bearer.claims.tenant != *path {
        return Err(crate::guard::invalid_token(
            "the token belongs to another tenant",
        ));
    }
    Ok(HttpResponse::Ok().json(&bearer.claims))
}
