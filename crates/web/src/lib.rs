//! Pages for people, server-rendered (askama templates, assets in the binary, no script): the
//! hosted sign-in with the emailed code, the authorization endpoint with its consent page,
//! connected apps, sign-out and RP-initiated logout. The OAuth rules they apply live in
//! `tokens::authorization`; this crate is the browser's side of them.

mod apps;
mod authorize;
mod page;
mod session;
mod signin;

use actix_web::web;

pub use page::PageError;

/// Registers the pages of every tenant and their stylesheet.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/portcullis.css", web::get().to(page::stylesheet))
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
