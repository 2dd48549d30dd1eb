//! The connected apps page: what the person allowed which application, and taking it back.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use tokens::TokenService;

use crate::page::{see_other, PageError};
use crate::session::Ctx;

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage<'a> {
    tenant_name: &'a str,
    email: &'a str,
    apps: Vec<App>,
    csrf: String,
    signout: String,
    notice: Option<&'a str>,
}

struct App {
    name: String,
    scopes: String,
    allowed: String,
    last_used: Option<String>,
    revoke: String,
}

/// A date as people read it (UTC).
pub(crate) fn day(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{d} {} {y}", MONTHS[(m - 1) as usize])
}

#[derive(Deserialize)]
pub struct Query {
    revoked: Option<String>,
}

/// `GET /t/{tenant}/account/apps`.
pub async fn list(
    path: web::Path<String>,
    q: web::Query<Query>,
    http: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    let Some(session) = ctx.session(&http).await? else {
        let back = format!(
            "{}?{}",
            ctx.path("signin"),
            form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", &ctx.path("account/apps"))
                .finish()
        );
        return Ok(see_other(&back).finish());
    };
    let (t, u) = (ctx.tenant.id.clone(), session.person.user_id.clone());
    let (grants, user) = ctx
        .svc
        .store
        .run(move |c| {
            Ok((
                store::repo::browser::grants_of(c, &t, &u)?,
                store::repo::users::find(c, &t, &u)?,
            ))
        })
        .await?;
    let apps: Vec<App> = grants
        .into_iter()
        .map(|(g, client_id, name)| App {
            name,
            scopes: g
                .scopes
                .iter()
                .map(|s| ctx.describe_scope(s))
                .collect::<Vec<_>>()
                .join(" · "),
            allowed: day(g.created_at),
            last_used: g.last_used_at.map(day),
            revoke: ctx.path(&format!("account/apps/{client_id}/revoke")),
        })
        .collect();
    let email = user.map(|u| u.email).unwrap_or_default();
    let notice = q.revoked.as_ref().map(|_| "Access revoked.");
    ctx.form_page(&http, StatusCode::OK, |csrf| AppsPage {
        tenant_name: ctx.name(),
        email: &email,
        apps,
        csrf,
        signout: ctx.path("signout"),
        notice,
    })
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /t/{tenant}/account/apps/{client_id}/revoke`.
pub async fn revoke(
    path: web::Path<(String, String)>,
    http: HttpRequest,
    body: web::Form<RevokeForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path.0).await?;
    ctx.check_form(&http, &body.csrf)?;
    let Some(session) = ctx.session(&http).await? else {
        return Err(PageError::Forbidden);
    };
    let client = ctx
        .svc
        .caches
        .client(&ctx.tenant.id, &path.1)
        .await?
        .ok_or(PageError::NotFound)?;
    let event = ctx.audit(
        &http,
        &session.person.user_id,
        "grant.revoke",
        &format!("client:{}", client.client_id),
        serde_json::json!({}),
    );
    tokens::authorization::revoke_grant(
        &ctx.svc,
        &ctx.tenant.id,
        &session.person.user_id,
        &client,
        event,
    )
    .await?;
    Ok(see_other(&format!("{}?revoked=1", ctx.path("account/apps"))).finish())
}
