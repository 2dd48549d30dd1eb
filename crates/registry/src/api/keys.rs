//! `/admin/v1/tenants/{id}/keys`: signing-key rotation.

use actix_web::{web, HttpResponse};
use domain::secrets::MasterKey;
use http::{ApiError, BodyProblems, CommonProblems, Problem, Valid};
use serde::{Deserialize, Serialize};
use store::repo::signing_keys::{self, SigningKeyRow};
use store::Store;
use tokens::cache::Caches;
use tokens::keys::SigningAlg;
use utoipa::ToSchema;
use validator::Validate;

use super::managed_tenant;
use crate::actor::Actor;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"kid": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "alg": "ES256", "state": "active", "public_jwk": {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "alg": "ES256", "use": "sig"}, "created_at": 1767225600, "activated_at": 1767225600, "retired_at": null}))]
pub struct Key {
    pub kid: String,
    #[schema(example = "ES256")]
    pub alg: domain::model::SigningAlg,
    /// `next`, `active` or `retired`.
    #[schema(example = "next")]
    pub state: domain::model::KeyState,
    /// The public key as published in JWKS.
    #[schema(value_type = Object)]
    pub public_jwk: serde_json::Value,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<Key>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"alg": "ES256"}))]
pub struct CreateKey {
    /// `RS256` or `ES256`.
    pub alg: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"kid": "0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "state": "active", "invalidated_device_tokens": 12}))]
pub struct Promoted {
    pub kid: String,
    #[schema(example = "active")]
    pub state: String,
    /// Device tokens signed by the key this one replaces; they stop validating now.
    pub invalidated_device_tokens: i64,
}

fn view(row: &SigningKeyRow) -> Key {
    Key {
        kid: row.id.clone(),
        alg: row.alg,
        state: row.state,
        public_jwk: serde_json::from_str(&row.public_jwk).unwrap_or_default(),
        created_at: row.created_at,
        activated_at: row.activated_at,
        retired_at: row.retired_at,
    }
}

/// List a tenant's signing keys (public parts only).
///
/// Each key with its state (`next`, `active`, `retired`), algorithm and public JWK. Private keys
/// never leave the server.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{id}/keys", tag = "Admin: keys",
    params(("id" = String, Path, description = "Tenant id or slug")),
    responses(
        (status = 200, description = "The keys, oldest first", body = KeyList),
        CommonProblems,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    actor: Actor,
    id: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let rows = store
        .run(move |c| signing_keys::of_tenant(c, &tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(KeyList {
        items: rows.iter().map(view).collect(),
        next_cursor: None,
    }))
}

/// Create a `next` key.
///
/// It is published in JWKS at once, so relying parties learn it before it signs anything.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/keys", tag = "Admin: keys",
    params(("id" = String, Path, description = "Tenant id or slug")),
    request_body = CreateKey,
    responses(
        (status = 201, description = "Created in state next", body = Key),
        CommonProblems,
        BodyProblems,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    actor: Actor,
    id: web::Path<String>,
    body: Valid<CreateKey>,
    store: web::Data<Store>,
    master_key: web::Data<MasterKey>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let alg: SigningAlg = body
        .0
        .alg
        .parse()
        .map_err(|_| ApiError::invalid("alg", "must be RS256 or ES256"))?;
    let row = crate::keys::create(&store, &caches, &master_key, &actor, &tenant, alg).await?;
    Ok(HttpResponse::Created().json(view(&row)))
}

/// Promote a `next` key to `active`.
///
/// The active key of the same algorithm retires: it stays in JWKS and keeps verifying the
/// access tokens it signed until they expire; device tokens it signed stop validating.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{id}/keys/{kid}/promote", tag = "Admin: keys",
    params(("id" = String, Path, description = "Tenant id or slug"), ("kid" = String, Path, description = "Key id")),
    responses(
        (status = 200, description = "Now active", body = Promoted),
        CommonProblems,
        (status = 409, description = "The key is not in state next", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn promote(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (id, kid) = path.into_inner();
    let tenant = managed_tenant(&store, &actor, &id).await?;
    let invalidated = crate::keys::promote(&store, &caches, &actor, &tenant, &kid).await?;
    Ok(HttpResponse::Ok().json(Promoted {
        kid,
        state: "active".into(),
        invalidated_device_tokens: invalidated,
    }))
}

/// Delete a retired key.
///
/// Only a `retired` key can be deleted; it then leaves the JWKS at once, and tokens it signed stop
/// verifying. Deleting a `next` or `active` key is a 409.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{id}/keys/{kid}", tag = "Admin: keys",
    params(("id" = String, Path, description = "Tenant id or slug"), ("kid" = String, Path, description = "Key id")),
    responses(
        (status = 204, description = "Deleted"),
        CommonProblems,
        (status = 409, description = "The key is not retired", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    actor: Actor,
    path: web::Path<(String, String)>,
    store: web::Data<Store>,
    caches: web::Data<Caches>,
) -> Result<HttpResponse, ApiError> {
    let (id, kid) = path.into_inner();
    let tenant = managed_tenant(&store, &actor, &id).await?;
    crate::keys::delete(&store, &caches, &actor, &tenant, &kid).await?;
    Ok(HttpResponse::NoContent().finish())
}

impl From<crate::keys::KeyError> for ApiError {
    fn from(e: crate::keys::KeyError) -> Self {
        use crate::keys::KeyError as E;
        match e {
            E::NotFound => ApiError::NotFound("key".into()),
            E::NotNext | E::NotRetired => ApiError::Conflict(e.to_string()),
            E::Material(e) => ApiError::Internal(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}
