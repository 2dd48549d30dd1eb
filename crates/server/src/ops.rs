//! Operational endpoints for orchestrators and people.

use actix_web::{get, web, HttpResponse};
use http::ApiError;
use serde::Serialize;
use store::Store;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "changes": "pushed"}))]
pub struct Health {
    /// `ok` when the check passed.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `/readyz` only: how other replicas' changes reach this one's caches — `pushed`
    /// (PostgreSQL, the listener is up: within a second), `not pushed` (PostgreSQL, the
    /// listener is reconnecting: within the cache lifetime, 5 s by default), or `local` (SQLite,
    /// one process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<&'static str>,
}

/// The change listener's health, when there is one (PostgreSQL).
#[derive(Clone, Default)]
pub struct ChangeFeed(pub Option<std::sync::Arc<store::changes::ListenerHealth>>);

impl ChangeFeed {
    fn describe(&self) -> &'static str {
        match &self.0 {
            None => "local",
            Some(h) if h.is_up() => "pushed",
            Some(_) => "not pushed",
        }
    }
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
    HttpResponse::Ok().json(Health {
        status: "ok",
        changes: None,
    })
}

/// Readiness: the database answers. Load balancers should route traffic only while this is 200.
///
/// Runs one query against the database; 503 with a problem document while it does not answer.
/// The body says how other replicas' changes reach this one (`changes`): a replica whose
/// listener is reconnecting stays ready, its caches falling back to their short lifetime.
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
pub async fn readyz(
    store: web::Data<Store>,
    changes: web::Data<ChangeFeed>,
) -> Result<HttpResponse, ApiError> {
    store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        changes: Some(changes.describe()),
    }))
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
