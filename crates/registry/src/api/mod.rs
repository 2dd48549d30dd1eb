//! The admin REST API (`/admin/v1`).

pub mod audit;
pub mod clients;
pub mod devices;
pub mod federation;
pub mod keys;
pub mod organizations;
pub mod tenants;
pub mod trust_anchors;
pub mod users;

use actix_web::web;
use http::{ApiError, Failure, PageQuery};
use store::repo::organizations::OrganizationRow;
use store::repo::tenants::TenantRow;
use store::{DbConnection, Store, StoreError};
use utoipa::OpenApi;

use crate::actor::{Access, Actor};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .service(
                web::resource("/tenants")
                    .route(web::get().to(tenants::list))
                    .route(web::post().to(tenants::create)),
            )
            .service(
                web::resource("/tenants/{id}")
                    .route(web::get().to(tenants::get))
                    .route(web::patch().to(tenants::update))
                    .route(web::delete().to(tenants::delete)),
            )
            .service(
                web::resource("/tenants/{id}/keys")
                    .route(web::get().to(keys::list))
                    .route(web::post().to(keys::create)),
            )
            .service(
                web::resource("/tenants/{id}/keys/{kid}").route(web::delete().to(keys::delete)),
            )
            .service(
                web::resource("/tenants/{id}/keys/{kid}/promote")
                    .route(web::post().to(keys::promote)),
            )
            .service(web::resource("/tenants/{id}/audit-events").route(web::get().to(audit::list)))
            .service(
                web::resource("/tenants/{id}/clients")
                    .route(web::get().to(clients::list))
                    .route(web::post().to(clients::create)),
            )
            .service(
                web::resource("/tenants/{id}/clients/{cid}")
                    .route(web::get().to(clients::get))
                    .route(web::patch().to(clients::update))
                    .route(web::delete().to(clients::delete)),
            )
            .service(
                web::resource("/tenants/{id}/clients/{cid}/secrets")
                    .route(web::post().to(clients::rotate_secret)),
            )
            .service(
                web::resource("/tenants/{id}/clients/{cid}/secrets/{sid}")
                    .route(web::delete().to(clients::delete_secret)),
            )
            .service(
                web::resource("/tenants/{id}/clients/{cid}/keys")
                    .route(web::post().to(clients::create_key)),
            )
            .service(
                web::resource("/tenants/{id}/trusted-issuers")
                    .route(web::get().to(federation::list))
                    .route(web::post().to(federation::create)),
            )
            .service(
                web::resource("/tenants/{id}/trusted-issuers/{tid}")
                    .route(web::get().to(federation::get))
                    .route(web::put().to(federation::replace))
                    .route(web::delete().to(federation::delete)),
            )
            .service(
                web::resource("/tenants/{id}/trust-anchors")
                    .route(web::get().to(trust_anchors::list))
                    .route(web::post().to(trust_anchors::create)),
            )
            .service(
                web::resource("/tenants/{id}/trust-anchors/{aid}")
                    .route(web::delete().to(trust_anchors::delete)),
            )
            .service(
                web::resource("/tenants/{id}/users")
                    .route(web::get().to(users::list))
                    .route(web::post().to(users::create)),
            )
            .service(
                web::resource("/tenants/{id}/users/{uid}")
                    .route(web::get().to(users::get))
                    .route(web::patch().to(users::update)),
            )
            .service(
                web::resource("/tenants/{id}/organizations")
                    .route(web::get().to(organizations::list))
                    .route(web::post().to(organizations::create)),
            )
            .service(
                web::resource("/tenants/{id}/organizations/{oid}")
                    .route(web::get().to(organizations::get))
                    .route(web::patch().to(organizations::update))
                    .route(web::delete().to(organizations::delete)),
            )
            .service(
                web::resource("/tenants/{id}/organizations/{oid}/devices")
                    .route(web::get().to(devices::list))
                    .route(web::post().to(devices::create)),
            )
            .service(
                web::resource("/tenants/{id}/organizations/{oid}/devices/{did}")
                    .route(web::get().to(devices::get))
                    .route(web::patch().to(devices::update))
                    .route(web::delete().to(devices::delete)),
            )
            .service(
                web::resource("/tenants/{id}/organizations/{oid}/devices/{did}/token")
                    .route(web::post().to(devices::token)),
            )
            .service(
                web::resource("/tenants/{id}/organizations/{oid}/devices/{did}/certificate")
                    .route(web::put().to(devices::certificate)),
            ),
    );
}

/// The tenant in the path, if the caller may manage it; 404 otherwise (no existence leak).
pub(crate) async fn managed_tenant(
    store: &Store,
    actor: &Actor,
    id: &str,
) -> Result<TenantRow, ApiError> {
    with_tenant(store, actor, id, |_, tenant| Ok(tenant)).await
}

/// Runs `f` with the tenant in the path (if the caller may manage it) on the same connection:
/// one checkout for the lookup, the check and what `f` reads.
pub(crate) async fn with_tenant<T, F>(
    store: &Store,
    actor: &Actor,
    id: &str,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection, TenantRow) -> Result<T, Failure> + Send + 'static,
    T: Send + 'static,
{
    let (access, id) = (actor.access(), id.to_owned());
    http::run_in(store, move |c| {
        let tenant = tenant_in(c, &access, &id)?;
        f(c, tenant)
    })
    .await
}

/// One page of the tenant's rows (`load(conn, tenant, after, n)`), read on the connection that
/// found the tenant and checked the caller.
pub(crate) async fn tenant_page<R, F>(
    store: &Store,
    actor: &Actor,
    id: &str,
    page: &PageQuery,
    load: F,
    key: fn(&R) -> &str,
) -> Result<(Vec<R>, Option<String>), ApiError>
where
    F: FnOnce(&mut DbConnection, &TenantRow, Option<&str>, i64) -> Result<Vec<R>, StoreError>
        + Send
        + 'static,
    R: Send + 'static,
{
    let page = page.resolve()?;
    with_tenant(store, actor, id, move |c, tenant| {
        let rows = |c: &mut DbConnection, after: Option<&str>, n| load(c, &tenant, after, n);
        Ok(page.load(c, rows, key)?)
    })
    .await
}

fn tenant_in(c: &mut DbConnection, access: &Access, id: &str) -> Result<TenantRow, Failure> {
    let tenant = store::repo::tenants::find_by_id_or_slug(c, id)?
        .ok_or_else(|| ApiError::NotFound("tenant".into()))?;
    access.check(&tenant)?;
    Ok(tenant)
}

/// Like [`with_tenant`], with the tenant's organization `oid` too (404 when it is another's).
pub(crate) async fn with_organization<T, F>(
    store: &Store,
    actor: &Actor,
    (id, oid): (&str, &str),
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection, TenantRow, OrganizationRow) -> Result<T, Failure> + Send + 'static,
    T: Send + 'static,
{
    let oid = oid.to_owned();
    with_tenant(store, actor, id, move |c, tenant| {
        let org = store::repo::organizations::find(c, &tenant.id, &oid)?
            .ok_or_else(|| ApiError::NotFound("organization".into()))?;
        f(c, tenant, org)
    })
    .await
}

#[derive(OpenApi)]
#[openapi(
    paths(
        tenants::list, tenants::create, tenants::get, tenants::update, tenants::delete,
        keys::list, keys::create, keys::promote, keys::delete,
        audit::list,
        clients::create, clients::list, clients::get, clients::update, clients::delete,
        clients::rotate_secret, clients::delete_secret, clients::create_key,
        trust_anchors::create, trust_anchors::list, trust_anchors::delete,
        federation::create, federation::list, federation::get, federation::replace, federation::delete,
        users::create, users::list, users::get, users::update,
        organizations::create, organizations::list, organizations::get, organizations::update, organizations::delete,
        devices::create, devices::list, devices::get, devices::update, devices::delete, devices::token, devices::certificate,
    ),
    tags(
        (name = "Admin: tenants", description = "Tenants: isolation units with their own issuer, keys and settings. \
            Platform admins (a token of the `system` tenant with `platform_admin`, e.g. from the `admin` \
            client) manage all; a tenant admin manages its own tenant only."),
        (name = "Admin: keys", description = "Signing-key rotation: create a `next` key (published in JWKS at once), \
            promote it to `active` (the old key retires and keeps verifying the tokens it signed until they \
            expire), delete retired keys."),
        (name = "Admin: audit", description = "Who did what to which object, when, from where."),
        (name = "Admin: clients", description = "OAuth clients of a tenant: secrets (shown once, rotated with \
            overlap) or private_key_jwt keys (inline JWKS, a jwks_uri, or a key pair generated here whose \
            private half is shown once)."),
        (name = "Admin: trusted issuers", description = "Other issuers whose tokens the tenant accepts \
            (a previous identity provider, Kubernetes, a CI system's OIDC tokens), each with its audiences \
            and the rules that say as which person or client."),
        (name = "Admin: trust anchors", description = "CA certificates (roots and intermediates) that the \
            client certificates of a production tenant must chain to."),
        (name = "Admin: users", description = "People of a tenant: tenant roles, memberships `(organization, role)`, \
            MFA, disabling."),
        (name = "Admin: organizations", description = "Organizations (entities) of a tenant: vendors (`VN…`), \
            departments (`FD…`) and others (`OR…`)."),
        (name = "Admin: devices", description = "Devices of an organization. Each has a secret and a non-expiring \
            device token, shown once; the token stops validating when the device is deleted or disabled, its \
            token re-issued, its certificate changed, or the key that signed it retired."),
    )
)]
pub struct RegistryApi;
