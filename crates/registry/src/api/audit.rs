//! `/admin/v1/tenants/{id}/audit-events`.

use actix_web::{web, HttpResponse};
use http::{ApiError, CommonProblems, PageQuery};
use serde::{Deserialize, Serialize};
use store::repo::audit::{self, AuditFilter, AuditRow};
use store::repo::tenants::TenantRow;
use store::Store;
use utoipa::{IntoParams, ToSchema};

use super::tenant_page;
use crate::actor::Actor;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor, e.g. `client:admin@system`.
    pub actor: Option<String>,
    /// Exact action, e.g. `tenant.update`.
    pub action: Option<String>,
    /// Exact target, e.g. `tenant:0192…`.
    pub target: Option<String>,
    /// From this time (seconds since the epoch), inclusive.
    pub from: Option<i64>,
    /// Until this time (seconds since the epoch), inclusive.
    pub to: Option<i64>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// Seconds since the epoch.
    pub at: i64,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "actor": "client:admin@system", "action": "client.create", "target": "client:reports", "at": 1767225600, "client_ip": "10.0.0.7", "request_id": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "details": {"auth_method": "client_secret_basic"}}], "next_cursor": null}))]
pub struct AuditList {
    pub items: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

fn view(r: AuditRow) -> AuditEvent {
    AuditEvent {
        details: serde_json::from_str(&r.details).unwrap_or_default(),
        id: r.id,
        actor: r.actor,
        action: r.action,
        target: r.target,
        at: r.at,
        client_ip: r.client_ip,
        request_id: r.request_id,
    }
}

/// The tenant's audit log, oldest first, filtered.
///
/// Who did what to which object, when, from where, with the request id. Filter by `actor` (e.g.
/// `user:<id>@<tenant>`, `client:<id>@<tenant>`), `action`, `target`, and a time range (`from`,
/// `to`, seconds since the epoch); cursor-paginated. Entries never contain a secret.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/audit-events", tag = "Admin: audit",
    params(("id" = String, Path, description = "Tenant id or slug"), AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditList),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    actor: Actor,
    id: web::Path<String>,
    q: web::Query<AuditQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let filter = AuditFilter {
        actor: q.actor,
        action: q.action,
        target: q.target,
        from: q.from,
        to: q.to,
    };
    let list = move |c: &mut _, t: &TenantRow, after: Option<&str>, n| {
        audit::list(c, &t.id, &filter, after, n)
    };
    let (rows, next_cursor) = tenant_page(&store, &actor, &id, &page, list, |r| &r.id).await?;
    Ok(HttpResponse::Ok().json(AuditList {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}
