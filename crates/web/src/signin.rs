//! The hosted sign-in: email and password, then the emailed code (the same rules, counters and
//! audit events as the password grant, through the same `Accounts`), sign-out, and
//! RP-initiated logout.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use domain::accounts::{Attempt, SignIn, SignInError};
use serde::Deserialize;
use tokens::TokenService;

use crate::page::{render, see_other, Confirm, Message, PageError};
use crate::session::{sign_in_failure, Ctx, MFA_COOKIE, SESSION_COOKIE};

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    tenant_name: &'a str,
    action: String,
    csrf: String,
    return_to: &'a str,
    email: &'a str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage<'a> {
    tenant_name: &'a str,
    action: String,
    restart: String,
    csrf: String,
    return_to: &'a str,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Query {
    return_to: Option<String>,
    login_hint: Option<String>,
}

fn sign_in_page(
    ctx: &Ctx,
    req: &HttpRequest,
    status: StatusCode,
    return_to: &str,
    email: &str,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    ctx.form_page(req, status, |csrf| SignInPage {
        tenant_name: ctx.name(),
        action: ctx.path("signin"),
        csrf,
        return_to,
        email,
        error,
    })
}

/// `GET /t/{tenant}/signin`: the form (always shown: a sign-in asked for is a fresh one).
pub async fn form(
    path: web::Path<String>,
    q: web::Query<Query>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    let return_to = ctx.return_to(q.return_to.as_deref());
    let hint = q.login_hint.as_deref().unwrap_or_default();
    sign_in_page(&ctx, &req, StatusCode::OK, &return_to, hint, None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    email: String,
    password: String,
    return_to: Option<String>,
}

/// What a failed step tells the person, and with which status.
fn explain(e: SignInError) -> Result<(StatusCode, String), PageError> {
    Ok(match e {
        SignInError::InvalidCredentials => (
            StatusCode::OK,
            "The email or password is wrong, or the account is locked for a while after repeated failures.".into(),
        ),
        SignInError::WrongCode { attempts_left } => (
            StatusCode::OK,
            format!("That code is not right. {attempts_left} attempt(s) left."),
        ),
        SignInError::CodeUnusable(why) => (StatusCode::OK, format!("{why}. Sign in again.")),
        SignInError::TooManyCodes { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many codes were sent. Try again in {} minute(s).", (retry_after + 59) / 60),
        ),
        e @ (SignInError::MailUnavailable | SignInError::Unavailable | SignInError::Busy) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("{e}."))
        }
        other => return Err(sign_in_failure(other)),
    })
}

/// `POST /t/{tenant}/signin`: the password; then the session, or the code step.
pub async fn password(
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Form<PasswordForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    ctx.check_form(&req, &body.csrf)?;
    let return_to = ctx.return_to(body.return_to.as_deref());
    let (portal, tenant_ref, ip) = ctx.attempt_parts(&req).await?;
    let at = Attempt {
        tenant: &tenant_ref,
        client_pk: &portal.id,
        ip: ip.as_deref(),
    };
    match ctx
        .accounts()?
        .password(at, &body.email, &body.password, "")
        .await
    {
        Ok(SignIn::Done(person)) => {
            let cookie = ctx.start_session(&person).await?;
            Ok(see_other(&return_to)
                .cookie(cookie)
                .cookie(ctx.removal(MFA_COOKIE))
                .finish())
        }
        Ok(SignIn::MfaRequired { mfa_token }) => {
            let next = format!(
                "{}?{}",
                ctx.path("signin/code"),
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_to", &return_to)
                    .finish()
            );
            Ok(see_other(&next)
                .cookie(ctx.cookie(MFA_COOKIE, mfa_token, Some(tokens_code_ttl())))
                .finish())
        }
        Err(e) => {
            let (status, text) = explain(e)?;
            sign_in_page(&ctx, &req, status, &return_to, &body.email, Some(text))
        }
    }
}

/// How long the pending sign-in cookie lives: the emailed code's lifetime.
fn tokens_code_ttl() -> i64 {
    5 * 60
}

fn code_page(
    ctx: &Ctx,
    req: &HttpRequest,
    status: StatusCode,
    return_to: &str,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let restart = format!(
        "{}?{}",
        ctx.path("signin"),
        form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", return_to)
            .finish()
    );
    ctx.form_page(req, status, |csrf| CodePage {
        tenant_name: ctx.name(),
        action: ctx.path("signin/code"),
        restart,
        csrf,
        return_to,
        error,
    })
}

/// `GET /t/{tenant}/signin/code`: the code step of a pending sign-in.
pub async fn code_form(
    path: web::Path<String>,
    q: web::Query<Query>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    let return_to = ctx.return_to(q.return_to.as_deref());
    if req.cookie(MFA_COOKIE).is_none() {
        let again = format!(
            "{}?{}",
            ctx.path("signin"),
            form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", &return_to)
                .finish()
        );
        return Ok(see_other(&again).finish());
    }
    code_page(&ctx, &req, StatusCode::OK, &return_to, None)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    otp: String,
    return_to: Option<String>,
}

/// `POST /t/{tenant}/signin/code`: the emailed code; then the session.
pub async fn code(
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Form<CodeForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    ctx.check_form(&req, &body.csrf)?;
    let return_to = ctx.return_to(body.return_to.as_deref());
    let Some(pending) = req.cookie(MFA_COOKIE) else {
        let (status, text) = explain(SignInError::CodeUnusable("The sign-in expired"))?;
        return sign_in_page(&ctx, &req, status, &return_to, "", Some(text));
    };
    let (portal, tenant_ref, ip) = ctx.attempt_parts(&req).await?;
    let at = Attempt {
        tenant: &tenant_ref,
        client_pk: &portal.id,
        ip: ip.as_deref(),
    };
    match ctx
        .accounts()?
        .mfa_otp(at, pending.value(), body.otp.trim())
        .await
    {
        Ok((person, _)) => {
            let cookie = ctx.start_session(&person).await?;
            Ok(see_other(&return_to)
                .cookie(cookie)
                .cookie(ctx.removal(MFA_COOKIE))
                .finish())
        }
        Err(e @ SignInError::CodeUnusable(_)) => {
            let (status, text) = explain(e)?;
            let mut r = sign_in_page(&ctx, &req, status, &return_to, "", Some(text))?;
            let _ = r.add_removal_cookie(&ctx.removal(MFA_COOKIE));
            Ok(r)
        }
        Err(e) => {
            let (status, text) = explain(e)?;
            code_page(&ctx, &req, status, &return_to, Some(text))
        }
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// `POST /t/{tenant}/signout`: ends the session; then the application's registered
/// post-logout URI, or the signed-out page.
pub async fn signout(
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Form<SignOutForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    ctx.check_form(&req, &body.csrf)?;
    ctx.end_session(&req).await?;
    let back = crate::authorize::post_logout_target(
        &ctx,
        body.id_token_hint.as_deref(),
        body.post_logout_redirect_uri.as_deref(),
        body.state.as_deref(),
    )
    .await?;
    let removal = ctx.removal(SESSION_COOKIE);
    if let Some(url) = back {
        return Ok(see_other(&url).cookie(removal).finish());
    }
    let page = Message {
        tenant_name: ctx.name(),
        heading: "Signed out",
        text: "You are signed out. You can close this window.",
        link: None,
        confirm: None,
    };
    let mut r = render(StatusCode::OK, &page);
    let _ = r.add_cookie(&removal);
    Ok(r)
}

#[derive(Deserialize)]
pub struct LogoutQuery {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /t/{tenant}/oauth2/logout` (OpenID Connect RP-initiated logout): with a session, the
/// person confirms; without one, straight to the registered URI or the signed-out page.
pub async fn logout(
    path: web::Path<String>,
    q: web::Query<LogoutQuery>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    if ctx.session(&req).await?.is_none() {
        let back = crate::authorize::post_logout_target(
            &ctx,
            q.id_token_hint.as_deref(),
            q.post_logout_redirect_uri.as_deref(),
            q.state.as_deref(),
        )
        .await?;
        if let Some(url) = back {
            return Ok(see_other(&url).finish());
        }
        let page = Message {
            tenant_name: ctx.name(),
            heading: "Signed out",
            text: "You are signed out. You can close this window.",
            link: None,
            confirm: None,
        };
        return Ok(render(StatusCode::OK, &page));
    }
    let action = ctx.path("signout");
    let mut fields = Vec::new();
    for (k, v) in [
        ("id_token_hint", &q.id_token_hint),
        ("post_logout_redirect_uri", &q.post_logout_redirect_uri),
        ("state", &q.state),
    ] {
        if let Some(v) = v {
            fields.push((k, v.as_str()));
        }
    }
    ctx.form_page(&req, StatusCode::OK, |csrf| Message {
        tenant_name: ctx.name(),
        heading: "Sign out?",
        text: "An application asks to sign you out of this account.",
        link: None,
        confirm: Some(Confirm {
            action: &action,
            csrf,
            fields,
            label: "Sign out",
        }),
    })
}
