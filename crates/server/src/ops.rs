//! Operational endpoints for orchestrators and people.

use actix_web::{get, web, HttpResponse};
use http::ApiError;
use serde::Serialize;
use store::Store;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok` when the check passed.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up and serving HTTP.
///
/// Answers 200 without touching the database; use it as the liveness probe. No token needed.
#[utoipa::path(
    tag = "Operations",
    responses((status = 200, description = "The process is up", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers. Load balancers should route traffic only while this is 200.
///
/// Runs one query against the database; 503 with a problem document while it does not answer.
/// No token needed.
#[utoipa::path(
    tag = "Operations",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = http::Problem,
         content_type = "application/problem+json")
    )
)]
#[get("/readyz")]
pub async fn readyz(store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// Prometheus metrics of this process.
///
/// Requests and their latency per endpoint family (`token`, `introspect`, `admin`, `account`,
/// …) and status class, and access tokens issued per grant type, in the Prometheus text
/// format. No token needed: the numbers reveal no identity; keep the port internal if they
/// should stay private.
#[utoipa::path(
    tag = "Operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(http::metrics::METRICS.render())
}
