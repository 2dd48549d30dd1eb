//! `/t/{tenant}/oauth2/authorize` (RFC 6749 §4.1, RFC 7636, RFC 9207, OpenID Connect Core):
//! the request's rules, the sign-in it may need, consent, and the code or error sent back.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use domain::accounts::Person;
use domain::now_unix;
use serde::Deserialize;
use tokens::authorization::{self, CodeRequest, OIDC_SCOPES};
use tokens::cache::Client;
use tokens::TokenService;

use crate::page::{see_other, PageError};
use crate::session::Ctx;

/// A parameter of ours: sign-in must be newer than this (set when `prompt=login` sent the person
/// to sign in, so that coming back does not ask again).
const AUTH_AFTER: &str = "pc_auth_after";

/// The parameters, each at most once (RFC 6749 §3.1).
#[derive(Default)]
struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    fn parse(query: &str) -> Result<Params, PageError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if v.is_empty() {
                continue;
            }
            if pairs.iter().any(|(n, _)| *n == k) {
                return Err(PageError::BadRequest(format!(
                    "The parameter `{}` is sent more than once.",
                    k.chars().take(40).collect::<String>()
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The query without `drop`, plus `add`.
    fn rewrite(&self, drop: &[&str], add: &[(&str, &str)]) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if !drop.contains(&k.as_str()) {
                s.append_pair(k, v);
            }
        }
        for (k, v) in add {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

/// A request whose redirect URI is trusted: from here, errors go back to the application.
struct Request {
    client: Arc<Client>,
    redirect_uri: String,
    state: Option<String>,
    scope: String,
    challenge: String,
    nonce: Option<String>,
    prompt: Vec<String>,
    max_age: Option<i64>,
    auth_after: Option<i64>,
    login_hint: Option<String>,
}

/// An error for the application, sent to its redirect URI (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
struct Redirected(&'static str, String);

fn redirect(ctx: &Ctx, req: &Request, params: &[(&str, &str)]) -> HttpResponse {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    if let Some(state) = &req.state {
        s.append_pair("state", state);
    }
    s.append_pair("iss", &ctx.tenant.issuer);
    let sep = if req.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    see_other(&format!("{}{sep}{}", req.redirect_uri, s.finish())).finish()
}

fn error_redirect(ctx: &Ctx, req: &Request, e: Redirected) -> HttpResponse {
    redirect(ctx, req, &[("error", e.0), ("error_description", &e.1)])
}

/// The checks before anything may be sent to the redirect URI: a known application that uses
/// this grant, and a redirect URI it registered. A failure is a page, never a redirect.
async fn trusted(ctx: &Ctx, p: &Params) -> Result<(Arc<Client>, String), PageError> {
    let client_id = p.get("client_id").ok_or_else(|| {
        PageError::BadRequest("The request names no application (client_id).".into())
    })?;
    let client = ctx
        .svc
        .caches
        .client(&ctx.tenant.id, client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or_else(|| PageError::BadRequest("The application is unknown or disabled.".into()))?;
    let uri = p
        .get("redirect_uri")
        .ok_or_else(|| PageError::BadRequest("The request has no redirect_uri.".into()))?;
    if !authorization::redirect_allowed(&client.metadata.redirect_uris, uri) {
        return Err(PageError::BadRequest(
            "The application asked to send you to an address it did not register.".into(),
        ));
    }
    Ok((client, uri.to_owned()))
}

/// The rest of the request's rules; a failure goes back to the application.
fn checked(
    ctx: &Ctx,
    p: &Params,
    client: Arc<Client>,
    redirect_uri: String,
) -> Result<Request, Box<(Request, Redirected)>> {
    let mut req = Request {
        client,
        redirect_uri,
        state: p.get("state").map(str::to_owned),
        scope: String::new(),
        challenge: String::new(),
        nonce: p.get("nonce").map(str::to_owned),
        prompt: p
            .get("prompt")
            .map(|v| {
                v.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        max_age: None,
        auth_after: p.get(AUTH_AFTER).and_then(|v| v.parse().ok()),
        login_hint: p.get("login_hint").map(str::to_owned),
    };
    macro_rules! refuse {
        ($code:expr, $why:expr) => {
            return Err(Box::new((req, Redirected($code, $why.into()))))
        };
    }
    if !authorization::uses_code(&req.client) {
        refuse!(
            "unauthorized_client",
            "this application may not use the authorization code grant"
        );
    }
    match p.get("response_type") {
        Some("code") => {}
        Some(_) => refuse!(
            "unsupported_response_type",
            "only response_type=code is supported"
        ),
        None => refuse!("invalid_request", "response_type is required"),
    }
    match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, _) => refuse!(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256"
        ),
        (Some(_), m) if m != Some("S256") => refuse!(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not accepted)"
        ),
        (Some(c), _) if !authorization::valid_challenge(c) => refuse!(
            "invalid_request",
            "code_challenge must be the 43-character base64url SHA-256 of the verifier"
        ),
        (Some(c), _) => req.challenge = c.to_owned(),
    }
    if let Some(m) = p.get("max_age") {
        match m.parse::<i64>() {
            Ok(v) if v >= 0 => req.max_age = Some(v),
            _ => refuse!("invalid_request", "max_age must be a number of seconds"),
        }
    }
    if req
        .prompt
        .iter()
        .any(|v| !["none", "login", "consent"].contains(&v.as_str()))
        || (req.prompt.len() > 1 && req.prompt.iter().any(|v| v == "none"))
    {
        refuse!(
            "invalid_request",
            "prompt must be none, or login and/or consent"
        );
    }
    match scope_of(&req.client, p.get("scope")) {
        Ok(s) => req.scope = s,
        Err(why) => refuse!("invalid_scope", why),
    }
    let _ = ctx;
    Ok(req)
}

/// The scopes asked for, within what the client may have; the OpenID Connect ones are always
/// available to a client of this grant.
fn scope_of(client: &Client, asked: Option<&str>) -> Result<String, String> {
    let mut out: Vec<&str> = Vec::new();
    let asked: Vec<&str> = match asked {
        Some(a) => a.split(' ').filter(|s| !s.is_empty()).collect(),
        None => client.default_scopes.iter().map(String::as_str).collect(),
    };
    for s in asked {
        if !OIDC_SCOPES.contains(&s) && !client.scopes.iter().any(|a| a == s) {
            return Err(format!(
                "scope `{}` is not allowed for this application",
                s.chars().take(64).collect::<String>()
            ));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out.join(" "))
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    tenant_name: &'a str,
    client_name: &'a str,
    client_uri: Option<&'a str>,
    logo_uri: Option<&'a str>,
    policy_uri: Option<&'a str>,
    scopes: Vec<ScopeLine>,
    email: &'a str,
    apps: String,
    action: String,
    csrf: String,
    request: &'a str,
}

struct ScopeLine {
    name: String,
    description: String,
}

/// What happens once the request is checked and the person signed in.
enum Next {
    SignIn(String),
    Page(HttpResponse),
}

async fn signed_in(
    ctx: &Ctx,
    http: &HttpRequest,
    req: &Request,
    p: &Params,
) -> Result<Result<Person, Next>, PageError> {
    let session = ctx.session(http).await?;
    let now = now_unix();
    let fresh_enough = |auth_time: i64| {
        req.max_age.is_none_or(|m| now - auth_time <= m)
            && req.auth_after.is_none_or(|after| auth_time >= after)
    };
    match session {
        Some(s) if !req.prompt.iter().any(|v| v == "login") && fresh_enough(s.person.auth_time) => {
            Ok(Ok(s.person))
        }
        _ if req.prompt.iter().any(|v| v == "none") => Ok(Err(Next::Page(error_redirect(
            ctx,
            req,
            Redirected("login_required", "the person must sign in".into()),
        )))),
        _ => {
            // Back here after signing in, without asking for it again.
            let stamp = now.to_string();
            let back = format!(
                "{}?{}",
                ctx.path("oauth2/authorize"),
                p.rewrite(&["prompt", AUTH_AFTER], &[(AUTH_AFTER, &stamp)])
            );
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("return_to", &back);
            if let Some(hint) = &req.login_hint {
                q.append_pair("login_hint", hint);
            }
            Ok(Err(Next::SignIn(format!(
                "{}?{}",
                ctx.path("signin"),
                q.finish()
            ))))
        }
    }
}

async fn issue(ctx: &Ctx, req: &Request, person: &Person) -> Result<HttpResponse, PageError> {
    let code = authorization::issue_code(
        &ctx.svc,
        &ctx.tenant,
        CodeRequest {
            client: &req.client,
            redirect_uri: &req.redirect_uri,
            code_challenge: &req.challenge,
            nonce: req.nonce.as_deref(),
            scope: &req.scope,
            person,
        },
    )
    .await?;
    Ok(redirect(ctx, req, &[("code", &code)]))
}

/// `GET /t/{tenant}/oauth2/authorize`.
pub async fn authorize(
    path: web::Path<String>,
    http: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    let p = Params::parse(http.query_string())?;
    let (client, uri) = trusted(&ctx, &p).await?;
    let req = match checked(&ctx, &p, client, uri) {
        Ok(r) => r,
        Err(refused) => {
            let (req, e) = *refused;
            return Ok(error_redirect(&ctx, &req, e));
        }
    };
    let person = match signed_in(&ctx, &http, &req, &p).await? {
        Ok(person) => person,
        Err(Next::SignIn(url)) => return Ok(see_other(&url).finish()),
        Err(Next::Page(r)) => return Ok(r),
    };
    let granted = authorization::granted_scopes(&ctx.svc, &person.user_id, &req.client).await?;
    let covered = req
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| granted.iter().any(|g| g == s));
    let ask = req.prompt.iter().any(|v| v == "consent") || !covered;
    if req.client.metadata.first_party || !ask {
        return issue(&ctx, &req, &person).await;
    }
    if req.prompt.iter().any(|v| v == "none") {
        return Ok(error_redirect(
            &ctx,
            &req,
            Redirected(
                "consent_required",
                "the person has not allowed this yet".into(),
            ),
        ));
    }
    consent_page(&ctx, &http, &req, &person, &p).await
}

async fn consent_page(
    ctx: &Ctx,
    http: &HttpRequest,
    req: &Request,
    person: &Person,
    p: &Params,
) -> Result<HttpResponse, PageError> {
    let (t, u) = (ctx.tenant.id.clone(), person.user_id.clone());
    let email = ctx
        .svc
        .store
        .run(move |c| store::repo::users::find(c, &t, &u))
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let request = p.rewrite(&["prompt"], &[]);
    ctx.form_page(http, StatusCode::OK, |csrf| ConsentPage {
        tenant_name: ctx.name(),
        client_name: &req.client.name,
        client_uri: req.client.metadata.client_uri.as_deref(),
        logo_uri: req.client.metadata.logo_uri.as_deref(),
        policy_uri: req.client.metadata.policy_uri.as_deref(),
        scopes: req
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(|s| ScopeLine {
                name: s.to_owned(),
                description: ctx.describe_scope(s),
            })
            .collect(),
        email: &email,
        apps: ctx.path("account/apps"),
        action: ctx.path("oauth2/authorize"),
        csrf,
        request: &request,
    })
}

#[derive(Deserialize)]
pub struct Decision {
    #[serde(default)]
    csrf: String,
    request: String,
    decision: String,
}

/// `POST /t/{tenant}/oauth2/authorize`: the person's answer on the consent page. The request
/// is checked again from the start; only then is a code (or `access_denied`) sent back.
pub async fn decide(
    path: web::Path<String>,
    http: HttpRequest,
    body: web::Form<Decision>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    ctx.check_form(&http, &body.csrf)?;
    let p = Params::parse(&body.request)?;
    let (client, uri) = trusted(&ctx, &p).await?;
    let req = match checked(&ctx, &p, client, uri) {
        Ok(r) => r,
        Err(refused) => {
            let (req, e) = *refused;
            return Ok(error_redirect(&ctx, &req, e));
        }
    };
    let Some(session) = ctx.session(&http).await? else {
        return Err(PageError::BadRequest(
            "Your session ended. Go back to the application and start again.".into(),
        ));
    };
    match body.decision.as_str() {
        "allow" => issue(&ctx, &req, &session.person).await,
        _ => Ok(error_redirect(
            &ctx,
            &req,
            Redirected("access_denied", "the person denied the request".into()),
        )),
    }
}

/// Where RP-initiated logout may send the person: the `post_logout_redirect_uri` registered by
/// the application the `id_token_hint` (signed by this tenant) was issued to, with `state`.
/// Anything else is never followed.
pub async fn post_logout_target(
    ctx: &Ctx,
    id_token_hint: Option<&str>,
    uri: Option<&str>,
    state: Option<&str>,
) -> Result<Option<String>, PageError> {
    let (Some(hint), Some(uri)) = (id_token_hint, uri) else {
        return Ok(None);
    };
    let Some(client_id) = tokens::mint::id_token_audience(&ctx.tenant, hint) else {
        return Ok(None);
    };
    let Some(client) = ctx.svc.caches.client(&ctx.tenant.id, &client_id).await? else {
        return Ok(None);
    };
    if !client
        .metadata
        .post_logout_redirect_uris
        .iter()
        .any(|r| r == uri)
    {
        return Ok(None);
    }
    let mut url = uri.to_owned();
    if let Some(state) = state {
        let sep = if url.contains('?') { '&' } else { '?' };
        url.push(sep);
        url.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .append_pair("state", state)
                .finish(),
        );
    }
    Ok(Some(url))
}
