//! The account API (`/account`): what a signed-in person does for the entities they belong to.

pub mod enrollments;
pub mod grants;
pub mod integration;
pub mod invitations;
pub mod me;

use actix_web::web;
use utoipa::OpenApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/account")
            .route("/me", web::get().to(me::me))
            .route("/entities", web::get().to(me::entities))
            .route("/grants", web::get().to(grants::list))
            .route("/invitations", web::post().to(invitations::create))
            .route("/grants/{client_id}", web::delete().to(grants::revoke))
            .service(
                web::resource("/integration/{entity_id}")
                    .route(web::get().to(integration::list))
                    .route(web::post().to(integration::create)),
            )
            .service(
                web::resource("/integration/{entity_id}/{client_id}")
                    .route(web::get().to(integration::get))
                    .route(web::delete().to(integration::delete)),
            )
            .route(
                "/integration/{entity_id}/{client_id}/secret",
                web::post().to(integration::rotate_secret),
            )
            .service(
                web::resource("/enrollments")
                    .route(web::get().to(enrollments::list))
                    .route(web::post().to(enrollments::create)),
            )
            .route(
                "/enrollments/{id}/approve",
                web::post().to(enrollments::approve),
            )
            .route(
                "/enrollments/{id}/refuse",
                web::post().to(enrollments::refuse),
            )
            .route(
                "/enrollments/{id}/revoke",
                web::post().to(enrollments::revoke),
            ),
    );
}

#[derive(OpenApi)]
#[openapi(
    paths(
        me::me,
        me::entities,
        grants::list,
        grants::revoke,
        invitations::create,
        integration::create,
        integration::list,
        integration::get,
        integration::delete,
        integration::rotate_secret,
        enrollments::create,
        enrollments::list,
        enrollments::approve,
        enrollments::refuse,
        enrollments::revoke,
    ),
    tags((name = "Account", description = "For people, with a token from signing in to their \
        tenant: `grant_type=password` with `client_id=portal`, `username` and `password` at \
        `/t/{tenant}/oauth2/token`. With MFA (always in production tenants) that answers 403 \
        `mfa_required` with an `mfa_token` and emails a 6-digit code; send \
        `grant_type=urn:portcullis:params:oauth:grant-type:mfa-otp` with `mfa_token` and `otp` \
        to get the tokens. Creating integrations and rotating their secrets needs such a \
        sign-in within the last 10 minutes (RFC 9470 step-up)."))
)]
pub struct AccountApi;
