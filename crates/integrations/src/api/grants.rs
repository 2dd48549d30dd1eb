//! `/account/grants`: the applications a person allowed (authorization code grant), and taking
//! that back — the API of the connected apps page.

use actix_web::{web, HttpResponse};
use http::{ApiError, CommonProblems, Problem};
use serde::Serialize;
use tokens::TokenService;
use utoipa::ToSchema;

use crate::caller::Caller;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "records", "name": "Records App", "scopes": ["openid", "records:read"], "created_at": 1767225600, "last_used_at": 1767229200}))]
pub struct Grant {
    pub client_id: String,
    /// The application's name.
    pub name: String,
    /// What the person allowed it.
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    pub items: Vec<Grant>,
}

/// The applications I allowed.
///
/// Each application the caller allowed to act for them (authorization code grant), with the
/// scopes allowed and when it was allowed and last used.
#[utoipa::path(
    get, path = "/account/grants", tag = "Account",
    responses((status = 200, description = "The caller's grants, by client id", body = GrantList), CommonProblems),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, svc: web::Data<TokenService>) -> Result<HttpResponse, ApiError> {
    let (t, u) = (caller.tenant_id().to_owned(), caller.user.id.clone());
    let rows = svc
        .store
        .run(move |c| store::repo::browser::grants_of(c, &t, &u))
        .await?;
    Ok(HttpResponse::Ok().json(GrantList {
        items: rows
            .into_iter()
            .map(|(g, client_id, name)| Grant {
                client_id,
                name,
                scopes: g.scopes.0,
                created_at: g.created_at,
                last_used_at: g.last_used_at,
            })
            .collect(),
    }))
}

/// Take back what I allowed an application.
///
/// Its access tokens stop validating at once (on other replicas within the cache bound, 5 s),
/// its refresh tokens are revoked, and the consent is forgotten: it must ask again.
#[utoipa::path(
    delete, path = "/account/grants/{client_id}", tag = "Account",
    params(("client_id" = String, Path, description = "The application's client_id")),
    responses(
        (status = 204, description = "Taken back"),
        CommonProblems,
        (status = 404, description = "No such grant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    caller: Caller,
    path: web::Path<String>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, ApiError> {
    let client = svc
        .caches
        .client(caller.tenant_id(), &path)
        .await?
        .ok_or_else(|| ApiError::NotFound("grant".into()))?;
    let event = caller.audit(
        "grant.revoke",
        &format!("client:{}", client.client_id),
        serde_json::json!({}),
    );
    let tenant_id = caller.tenant_id().to_owned();
    if tokens::authorization::revoke_grant(&svc, &tenant_id, &caller.user.id, &client, event)
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("grant".into()))
    }
}
