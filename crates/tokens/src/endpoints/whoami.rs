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

/// OpenID Connect UserInfo (Core §5.3).
///
/// With a person's access token: `sub`, and `email` and `email_verified` when the `email` scope
/// was granted. A client's token is refused (401).
#[utoipa::path(
    get,
    path = "/t/{tenant}/oauth2/userinfo",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    responses(
        (status = 200, description = "Claims about the signed-in person", body = Object,
            example = json!({"sub": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "email": "ada@acme.example", "email_verified": true})),
        (status = 400, description = "A control character (such as %00) in the URL", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked token, a client's token, or one of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn userinfo(
    path: web::Path<String>,
    bearer: Bearer,
    svc: web::Data<crate::TokenService>,
) -> Result<HttpResponse, ApiError> {
    let claims = &bearer.claims;
    if claims.tenant != *path {
        return Err(crate::guard::invalid_token(
            "the token belongs to another tenant",
        ));
    }
    if !claims.is_person() || !claims.scopes().any(|s| s == "openid") {
        return Err(crate::guard::invalid_token(
            "userinfo needs a person's token with the openid scope",
        ));
    }
    let mut body = serde_json::json!({ "sub": claims.sub });
    if claims.scopes().any(|s| s == "email") {
        let tenant = svc
            .caches
            .tenant(&claims.tenant)
            .await?
            .ok_or_else(|| crate::guard::invalid_token("unknown tenant"))?;
        let (t, u) = (tenant.id.clone(), claims.sub.clone());
        if let Some(user) = svc
            .store
            .run(move |c| store::repo::users::find(c, &t, &u))
            .await?
        {
            body["email"] = user.email.into();
            body["email_verified"] = true.into();
        }
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// OpenID Connect UserInfo by POST.
///
/// The same answer as GET (OpenID Connect Core §5.3.1), for clients that send the token by POST.
#[utoipa::path(
    post,
    path = "/t/{tenant}/oauth2/userinfo",
    operation_id = "userinfo_post",
    tag = "OAuth",
    params(("tenant" = String, Path, description = "Tenant slug", example = "system")),
    responses(
        (status = 200, description = "Claims about the signed-in person", body = Object),
        (status = 400, description = "A control character (such as %00) in the URL", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked token, a client's token, or one of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn userinfo_post(
    path: web::Path<String>,
    bearer: Bearer,
    svc: web::Data<crate::TokenService>,
) -> Result<HttpResponse, ApiError> {
    userinfo(path, bearer, svc).await
}
