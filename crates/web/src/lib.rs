//! Pages for people, server-rendered (askama templates, assets in the binary, no script): the
//! hosted sign-in with the emailed code, the authorization endpoint with its consent page,
//! connected apps, sign-out and RP-initiated logout. The OAuth rules they apply live in
//! `tokens::authorization`; this crate is the browser's side of them.

mod apps;
mod authorize;
mod page;
mod portal;
mod session;
mod signin;

use actix_web::web;

pub use page::PageError;

/// Registers the pages of every tenant and their stylesheet.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/portcullis.css", web::get().to(page::stylesheet))
        .route("/assets/copy.js", web::get().to(page::copy_script))
        .route("/t/{tenant}/portal/", web::get().to(portal::home))
        .route(
            "/t/{tenant}/portal/step-up",
            web::post().to(portal::step_up),
        )
        .route("/t/{tenant}/portal/e/{id}", web::get().to(portal::entity))
        .route(
            "/t/{tenant}/portal/e/{id}/integrations",
            web::post().to(portal::create),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/reveal",
            web::get().to(portal::reveal),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/integrations/{client_id}/rotate",
            web::post().to(portal::rotate),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/integrations/{client_id}/delete",
            web::get().to(portal::confirm_delete),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/integrations/{client_id}/delete",
            web::post().to(portal::delete),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/enrollments",
            web::post().to(portal::enroll),
        )
        .route(
            "/t/{tenant}/portal/enrollments/{id}/{decision}",
            web::post().to(portal::decide),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/activity",
            web::get().to(portal::activity),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/members",
            web::get().to(portal::members),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/members/invite",
            web::post().to(portal::invite),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/members/{user}/role",
            web::post().to(portal::set_role),
        )
        .route(
            "/t/{tenant}/portal/e/{id}/members/{user}/remove",
            web::post().to(portal::remove_member),
        )
        .route(
            "/t/{tenant}/portal/invite",
            web::get().to(portal::invitation),
        )
        .route("/t/{tenant}/portal/invite", web::post().to(portal::accept))
        .route("/t/{tenant}/signin", web::get().to(signin::form))
        .route("/t/{tenant}/signin", web::post().to(signin::password))
        .route("/t/{tenant}/signin/code", web::get().to(signin::code_form))
        .route("/t/{tenant}/signin/code", web::post().to(signin::code))
        .route("/t/{tenant}/signout", web::post().to(signin::signout))
        .route(
            "/t/{tenant}/oauth2/authorize",
            web::get().to(authorize::authorize),
        )
        .route(
            "/t/{tenant}/oauth2/authorize",
            web::post().to(authorize::decide),
        )
        .route("/t/{tenant}/oauth2/logout", web::get().to(signin::logout))
        .route("/t/{tenant}/account/apps", web::get().to(apps::list))
        .route(
            "/t/{tenant}/account/apps/{client_id}/revoke",
            web::post().to(apps::revoke),
        );
}
