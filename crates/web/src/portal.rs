//! The vendor portal (`/t/{tenant}/portal/`): what the account API does, in the browser, on
//! the sign-in, sessions, CSRF and page security of the hosted sign-in. Integrations are made
//! by `integrations::integration`, enrollments decided by `integrations::enrollments`; this
//! module renders and routes.

use std::sync::OnceLock;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use domain::accounts::Attempt;
use domain::model::{AuthMethod, ClientKind, EnrollmentStatus, MembershipRole, OrganizationKind};
use domain::{ids, now_unix};
use integrations::enrollments::{Decision, Permission};
use integrations::integration::CreateIntegration;
use registry::clients::ClientError;
use serde::{Deserialize, Serialize};
use store::repo::audit::{AuditFilter, AuditRow};
use store::repo::clients::ClientRow;
use store::repo::organizations::OrganizationRow;
use tokens::TokenService;

use crate::page::{render_with, see_other, PageError};
use crate::session::{Ctx, Signed, MFA_COOKIE};

/// A code older than this must be entered again before creating or rotating (RFC 9470 in the
/// browser); `PORTCULLIS_STEP_UP_SECS` changes it (tests set it to 0 to see the prompt).
fn step_up_age() -> i64 {
    static AGE: OnceLock<i64> = OnceLock::new();
    *AGE.get_or_init(|| {
        std::env::var("PORTCULLIS_STEP_UP_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600)
    })
}

const REVEAL_COOKIE: &str = "pc_reveal";

/// The layout's navigation, and the CSRF token every form of the page carries.
#[derive(Default)]
pub struct Nav {
    tenant_name: String,
    home: String,
    apps: String,
    signout: String,
    csrf: String,
    email: String,
}

/// A signed-in person in their tenant's portal.
struct Portal {
    ctx: Ctx,
    signed: Signed,
    nav: Nav,
    set_csrf: Option<actix_web::cookie::Cookie<'static>>,
}

impl Portal {
    /// The portal for the request's session, or the sign-in page to come back from.
    async fn enter(
        svc: web::Data<TokenService>,
        slug: &str,
        req: &HttpRequest,
    ) -> Result<Result<Portal, HttpResponse>, PageError> {
        let ctx = Ctx::load(svc, slug).await?;
        let Some(signed) = ctx.session(req).await? else {
            let here = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let back = format!(
                "{}?{}",
                ctx.path("signin"),
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_to", &ctx.return_to(Some(here)))
                    .finish()
            );
            return Ok(Err(see_other(&back).finish()));
        };
        let (csrf, set_csrf) = ctx.csrf(req)?;
        let (t, u) = (ctx.tenant.id.clone(), signed.person.user_id.clone());
        let email = ctx
            .svc
            .store
            .run(move |c| store::repo::users::find(c, &t, &u))
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        let nav = Nav {
            tenant_name: ctx.name().to_owned(),
            home: ctx.path("portal/"),
            apps: ctx.path("account/apps"),
            signout: ctx.path("signout"),
            csrf,
            email,
        };
        Ok(Ok(Portal {
            ctx,
            signed,
            nav,
            set_csrf,
        }))
    }

    fn render(self, status: StatusCode, page: &impl Template) -> HttpResponse {
        let mut b = HttpResponse::build(status);
        if let Some(c) = self.set_csrf {
            b.cookie(c);
        }
        render_with(b, page)
    }

    fn user(&self) -> &str {
        &self.signed.person.user_id
    }

    /// The entity and the caller's role in it; another entity is not found (404).
    async fn entity(&self, id: &str) -> Result<(OrganizationRow, MembershipRole), PageError> {
        let (t, o, u) = (
            self.ctx.tenant.id.clone(),
            id.to_owned(),
            self.user().to_owned(),
        );
        self.ctx
            .svc
            .store
            .run(move |c| {
                let Some(org) = store::repo::organizations::find(c, &t, &o)? else {
                    return Ok(None);
                };
                Ok(store::repo::memberships::role_of(c, &u, &o)?.map(|r| (org, r)))
            })
            .await?
            .ok_or(PageError::NotFound)
    }

    /// The entity, if the caller manages it (owner or admin); a member's forged form is 403.
    async fn managed(&self, id: &str) -> Result<OrganizationRow, PageError> {
        match self.entity(id).await? {
            (org, MembershipRole::Owner | MembershipRole::Admin) => Ok(org),
            _ => Err(PageError::Forbidden),
        }
    }

    fn audit(
        &self,
        req: &HttpRequest,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> AuditRow {
        self.ctx.audit(req, self.user(), action, target, details)
    }

    fn entity_path(&self, id: &str) -> String {
        self.ctx.path(&format!("portal/e/{id}"))
    }
}

macro_rules! enter {
    ($svc:expr, $slug:expr, $req:expr) => {
        match Portal::enter($svc, $slug, $req).await? {
            Ok(p) => p,
            Err(redirect) => return Ok(redirect),
        }
    };
}

/// A date and time as people read it (UTC, to the minute).
fn when(unix: i64) -> String {
    let (d, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    format!(
        "{} {:02}:{:02}",
        crate::apps::day(d * 86_400),
        secs / 3600,
        secs % 3600 / 60
    )
}

// --- Home.

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    nav: Nav,
    entities: Vec<EntityLine>,
    sign_ins: Vec<SignInLine>,
    apps: Vec<String>,
}

struct EntityLine {
    id: String,
    name: String,
    kind: OrganizationKind,
    role: MembershipRole,
    href: String,
}

struct SignInLine {
    when: String,
    from: String,
    how: String,
}

/// `GET /t/{tenant}/portal/`: the person's entities and recent sign-ins.
pub async fn home(
    path: web::Path<String>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let mut p = enter!(svc, &path, &req);
    let (t, u) = (p.ctx.tenant.id.clone(), p.user().to_owned());
    let actor = format!("user:{}@{}", u, p.ctx.tenant.slug);
    let (entities, events, grants) = p
        .ctx
        .svc
        .store
        .run(move |c| {
            let filter = AuditFilter {
                actor: Some(actor),
                action: Some("user.sign_in".into()),
                ..Default::default()
            };
            Ok((
                store::repo::memberships::entities_of(c, &u, None, 200)?,
                store::repo::audit::latest(c, &t, &filter, None, 5)?,
                store::repo::browser::grants_of(c, &t, &u)?,
            ))
        })
        .await?;
    let page = HomePage {
        entities: entities
            .into_iter()
            .map(|(m, o)| EntityLine {
                href: p.entity_path(&o.id),
                id: o.id,
                name: o.name,
                kind: o.kind,
                role: m.role,
            })
            .collect(),
        sign_ins: events
            .into_iter()
            .map(|e| SignInLine {
                when: when(e.at),
                from: e.client_ip.unwrap_or_else(|| "unknown".into()),
                how: if e.details.contains("otp") {
                    "password and emailed code".into()
                } else {
                    "password".into()
                },
            })
            .collect(),
        apps: grants.into_iter().map(|(_, _, name)| name).collect(),
        nav: std::mem::take(&mut p.nav),
    };
    Ok(p.render(StatusCode::OK, &page))
}

// --- An entity: its integrations and enrollments.

#[derive(Template)]
#[template(path = "portal_entity.html")]
struct EntityPage {
    nav: Nav,
    id: String,
    name: String,
    kind: OrganizationKind,
    role: MembershipRole,
    manager: bool,
    vendor: bool,
    activity: String,
    members: String,
    create: String,
    enroll: String,
    notice: Option<String>,
    error: Option<String>,
    integrations: Vec<IntegrationLine>,
    allowed_scopes: Vec<String>,
    enrollments: Vec<EnrollmentLine>,
}

struct IntegrationLine {
    name: String,
    client_id: String,
    method: AuthMethod,
    scopes: String,
    created: String,
    departments: String,
    rotatable: bool,
    rotate: String,
    delete: String,
}

struct EnrollmentLine {
    vendor: String,
    department: String,
    status: EnrollmentStatus,
    history: String,
    actions: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
pub struct EntityQuery {
    notice: Option<String>,
}

async fn entity_page(
    mut p: Portal,
    id: &str,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (org, role) = p.entity(id).await?;
    let manager = matches!(role, MembershipRole::Owner | MembershipRole::Admin);
    let (t, o, kind) = (
        org.tenant_id.clone(),
        org.id.clone(),
        ClientKind::Integration.as_str(),
    );
    let (clients, enrollments) = p
        .ctx
        .svc
        .store
        .run(move |c| {
            let ids = [o.clone()];
            Ok((
                store::repo::clients::list(c, &t, Some((&o, kind)), None, 200)?,
                store::repo::enrollments::list(c, &t, Some(&ids), None, 200)?,
            ))
        })
        .await?;
    let active_departments: Vec<&str> = enrollments
        .iter()
        .filter(|e| e.vendor_id == org.id && e.status == EnrollmentStatus::Active)
        .map(|e| e.department_id.as_str())
        .collect();
    let base = p.entity_path(&org.id);
    let integrations = clients
        .iter()
        .map(|c: &ClientRow| IntegrationLine {
            name: c.name.clone(),
            client_id: c.client_id.clone(),
            method: c.auth_method,
            scopes: c.scopes.join(" "),
            created: crate::apps::day(c.created_at),
            departments: if active_departments.is_empty() {
                "no".into()
            } else {
                active_departments.join(", ")
            },
            rotatable: c.auth_method.uses_secret(),
            rotate: format!("{base}/integrations/{}/rotate", c.client_id),
            delete: format!("{base}/integrations/{}/delete", c.client_id),
        })
        .collect();
    // Who did what: the emails of the people named on the enrollments.
    let people: Vec<String> = enrollments
        .iter()
        .flat_map(|e| [e.requested_by.clone(), e.decided_by.clone()])
        .flatten()
        .collect();
    let t = p.ctx.tenant.id.clone();
    let emails: std::collections::HashMap<String, String> = p
        .ctx
        .svc
        .store
        .run(move |c| {
            let mut out = std::collections::HashMap::new();
            for id in people {
                if let Some(u) = store::repo::users::find(c, &t, &id)? {
                    out.insert(id, u.email);
                }
            }
            Ok(out)
        })
        .await?;
    let who = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| emails.get(i).cloned())
            .unwrap_or_else(|| "someone".into())
    };
    let mut lines = Vec::new();
    for e in &enrollments {
        let (vendor_role, department_role) = if e.vendor_id == org.id {
            (Some(role), None)
        } else {
            (None, Some(role))
        };
        let actions = [Decision::Approve, Decision::Refuse, Decision::Revoke]
            .into_iter()
            .filter(|d| d.from().contains(&e.status))
            .filter(|d| d.permission(false, vendor_role, department_role) == Permission::Granted)
            .map(|d| {
                let label = match d {
                    Decision::Approve => "Approve",
                    Decision::Refuse => "Refuse",
                    Decision::Revoke => "Revoke",
                };
                (
                    label,
                    p.ctx
                        .path(&format!("portal/enrollments/{}/{}", e.id, d.verb())),
                )
            })
            .collect();
        lines.push(EnrollmentLine {
            vendor: e.vendor_id.clone(),
            department: e.department_id.clone(),
            status: e.status,
            history: format!(
                "asked by {} on {}{}",
                who(&e.requested_by),
                when(e.created_at),
                if e.decided_by.is_some() {
                    format!(
                        " · {} by {} on {}",
                        e.status,
                        who(&e.decided_by),
                        when(e.updated_at)
                    )
                } else {
                    String::new()
                }
            ),
            actions,
        });
    }
    let page = EntityPage {
        id: org.id.clone(),
        name: org.name.clone(),
        kind: org.kind,
        role,
        manager,
        vendor: org.kind == OrganizationKind::Vendor,
        activity: format!("{base}/activity"),
        members: format!("{base}/members"),
        create: format!("{base}/integrations"),
        enroll: format!("{base}/enrollments"),
        notice,
        error,
        integrations,
        allowed_scopes: p
            .ctx
            .tenant
            .settings
            .integration_scopes
            .clone()
            .unwrap_or_default(),
        enrollments: lines,
        nav: std::mem::take(&mut p.nav),
    };
    Ok(p.render(status, &page))
}

/// `GET /t/{tenant}/portal/e/{id}`.
pub async fn entity(
    path: web::Path<(String, String)>,
    q: web::Query<EntityQuery>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    let notice = q.notice.as_deref().map(|n| match n {
        "deleted" => "The integration is deleted; its tokens stopped working.",
        "requested" => "Asked. The department decides.",
        "decided" => "Done.",
        _ => "Done.",
    });
    entity_page(p, &path.1, notice.map(str::to_owned), None, StatusCode::OK).await
}

// --- Creating and rotating, behind a fresh code.

/// What the person started, carried through the step-up code.
#[derive(Serialize, Deserialize)]
enum Pending {
    Create {
        entity: String,
        form: Vec<(String, String)>,
    },
    Rotate {
        entity: String,
        client_id: String,
        overlap: i64,
    },
}

#[derive(Template)]
#[template(path = "portal_stepup.html")]
struct StepUpPage {
    nav: Nav,
    action: String,
    pending: String,
    error: Option<String>,
}

/// Runs `pending` now if the session's code is fresh enough; otherwise mails a code and asks
/// for it, to carry on afterwards with nothing re-typed.
async fn with_fresh_code(
    mut p: Portal,
    req: &HttpRequest,
    pending: Pending,
) -> Result<HttpResponse, PageError> {
    let fresh = p.signed.person.amr.iter().any(|a| a == "otp")
        && now_unix() - p.signed.person.auth_time <= step_up_age();
    if fresh {
        return run(p, req, pending).await;
    }
    let (portal, tenant_ref, ip) = p.ctx.attempt_parts(req).await?;
    let at = Attempt {
        tenant: &tenant_ref,
        client_pk: &portal.id,
        ip: ip.as_deref(),
    };
    let accounts = p.ctx.accounts()?;
    let mfa_token = accounts
        .step_up(at, p.user())
        .await
        .map_err(crate::session::sign_in_failure)?;
    let cookie = p.ctx.cookie(MFA_COOKIE, mfa_token, Some(300));
    let page = StepUpPage {
        action: p.ctx.path("portal/step-up"),
        pending: serde_json::to_string(&pending).map_err(|e| PageError::Internal(e.to_string()))?,
        error: None,
        nav: std::mem::take(&mut p.nav),
    };
    let mut r = p.render(StatusCode::OK, &page);
    let _ = r.add_cookie(&cookie);
    Ok(r)
}

#[derive(Deserialize)]
pub struct StepUpForm {
    #[serde(default)]
    csrf: String,
    otp: String,
    pending: String,
}

/// `POST /t/{tenant}/portal/step-up`: the code; then what the person started.
pub async fn step_up(
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Form<StepUpForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let mut p = enter!(svc, &path, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let pending: Pending = serde_json::from_str(&body.pending)
        .map_err(|_| PageError::BadRequest("The form is damaged; start again.".into()))?;
    let Some(token) = req.cookie(MFA_COOKIE) else {
        return Err(PageError::BadRequest(
            "The code expired; start again.".into(),
        ));
    };
    let (portal, tenant_ref, ip) = p.ctx.attempt_parts(&req).await?;
    let at = Attempt {
        tenant: &tenant_ref,
        client_pk: &portal.id,
        ip: ip.as_deref(),
    };
    let accounts = p.ctx.accounts()?;
    match accounts.mfa_otp(at, token.value(), body.otp.trim()).await {
        Ok((person, _)) if person.user_id == p.signed.person.user_id => {
            // A new session with the fresh code, then the action.
            p.ctx.end_session(&req).await?;
            let session = p.ctx.start_session(&person).await?;
            p.signed.person = person;
            let mut r = run(p, &req, pending).await?;
            let _ = r.add_cookie(&session);
            Ok(r)
        }
        Ok(_) => Err(PageError::Forbidden),
        Err(e) => {
            let text = match e {
                domain::accounts::SignInError::WrongCode { attempts_left } => {
                    format!("That code is not right. {attempts_left} attempt(s) left.")
                }
                domain::accounts::SignInError::CodeUnusable(why) => format!("{why}. Start again."),
                other => return Err(crate::session::sign_in_failure(other)),
            };
            let page = StepUpPage {
                action: p.ctx.path("portal/step-up"),
                pending: body.pending.clone(),
                error: Some(text),
                nav: std::mem::take(&mut p.nav),
            };
            Ok(p.render(StatusCode::OK, &page))
        }
    }
}

/// What the one-time reveal page shows, sealed in a short-lived cookie between the POST and the
/// GET (never stored on the server, never in a URL).
#[derive(Serialize, Deserialize)]
struct Reveal {
    entity: String,
    client_id: String,
    secret: Option<String>,
    private_pem: Option<String>,
    private_jwk: Option<String>,
}

fn reveal_cookie(
    p: &Portal,
    reveal: &Reveal,
) -> Result<actix_web::cookie::Cookie<'static>, PageError> {
    let plain = serde_json::to_vec(reveal).map_err(|e| PageError::Internal(e.to_string()))?;
    let sealed = p
        .ctx
        .svc
        .master_key
        .seal(&plain, b"portal-reveal")
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let mut c = p.ctx.cookie(REVEAL_COOKIE, B64.encode(sealed), Some(120));
    c.set_same_site(actix_web::cookie::SameSite::Strict);
    Ok(c)
}

async fn run(p: Portal, req: &HttpRequest, pending: Pending) -> Result<HttpResponse, PageError> {
    match pending {
        Pending::Create { entity, form } => create_now(p, req, &entity, form).await,
        Pending::Rotate {
            entity,
            client_id,
            overlap,
        } => rotate_now(p, req, &entity, &client_id, overlap).await,
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

/// The integration a create form describes; a generated key pair's private half, kept for the
/// reveal only.
fn describe_new(
    form: &[(String, String)],
) -> Result<(CreateIntegration, Option<(String, String)>), String> {
    let name = field(form, "name")
        .ok_or("Give the integration a name.")?
        .trim()
        .to_owned();
    let mut scopes: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(typed) = field(form, "scopes") {
        scopes.extend(typed.split_whitespace().map(str::to_owned));
    }
    let mut new = CreateIntegration {
        name,
        scopes,
        auth_method: AuthMethod::ClientSecretBasic,
        access_token_alg: None,
        jwks: None,
        jwks_uri: None,
        redirect_uris: Vec::new(),
        client_uri: None,
        logo_uri: None,
        policy_uri: None,
    };
    let mut generated = None;
    match field(form, "credential").unwrap_or("secret") {
        "secret" => {}
        "jwks_uri" => {
            new.auth_method = AuthMethod::PrivateKeyJwt;
            new.jwks_uri = Some(
                field(form, "jwks_uri")
                    .ok_or("Give the JWKS URL.")?
                    .trim()
                    .to_owned(),
            );
        }
        "key" => {
            new.auth_method = AuthMethod::PrivateKeyJwt;
            let text = field(form, "public_key")
                .ok_or("Paste the public key.")?
                .trim();
            new.jwks = Some(public_jwks(text)?);
        }
        "generate" => {
            new.auth_method = AuthMethod::PrivateKeyJwt;
            let (pem, mut private, mut public) = registry::clients::generate_pair("ES256")
                .ok_or("The key pair could not be made; try again.")?;
            let kid = ids::new_id();
            for jwk in [&mut private, &mut public] {
                jwk.set_key_id(&kid);
                jwk.set_algorithm("ES256");
                jwk.set_key_use("sig");
            }
            let public: serde_json::Value =
                serde_json::from_str(&public.to_string()).map_err(|e| e.to_string())?;
            new.jwks = Some(serde_json::json!({ "keys": [public] }));
            generated = Some((pem, private.to_string()));
        }
        _ => return Err("Choose a credential.".into()),
    }
    use validator::Validate;
    new.validate().map_err(|e| {
        http::field_errors(&e)
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok((new, generated))
}

/// A pasted public key, as a JWK Set: a JWK, a JWK Set, or a PEM public key.
fn public_jwks(text: &str) -> Result<serde_json::Value, String> {
    if text.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|_| "The key is not valid JSON.".to_owned())?;
        return Ok(if v.get("keys").is_some() {
            v
        } else {
            serde_json::json!({ "keys": [v] })
        });
    }
    let bad = |_| "The key is neither a JWK nor a PEM public key (RSA or EC P-256).".to_owned();
    let key = openssl::pkey::PKey::public_key_from_pem(text.as_bytes()).map_err(bad)?;
    let jwk = if let Ok(rsa) = key.rsa() {
        serde_json::json!({"kty": "RSA", "n": B64.encode(rsa.n().to_vec()), "e": B64.encode(rsa.e().to_vec())})
    } else if let Ok(ec) = key.ec_key() {
        if ec.group().curve_name() != Some(openssl::nid::Nid::X9_62_PRIME256V1) {
            return Err("Use an RSA key or an EC key on P-256.".into());
        }
        let mut ctx = openssl::bn::BigNumContext::new().map_err(|e| e.to_string())?;
        let (mut x, mut y) = (
            openssl::bn::BigNum::new().map_err(|e| e.to_string())?,
            openssl::bn::BigNum::new().map_err(|e| e.to_string())?,
        );
        ec.public_key()
            .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
            .map_err(|e| e.to_string())?;
        let pad = |n: &openssl::bn::BigNum| n.to_vec_padded(32).map_err(|e| e.to_string());
        serde_json::json!({"kty": "EC", "crv": "P-256", "x": B64.encode(pad(&x)?), "y": B64.encode(pad(&y)?)})
    } else {
        return Err("Use an RSA key or an EC key on P-256.".into());
    };
    Ok(serde_json::json!({ "keys": [jwk] }))
}

fn refused(e: ClientError) -> Result<String, PageError> {
    match e {
        ClientError::Invalid { field, message } => Ok(format!("{field}: {message}")),
        ClientError::Store(s) => Err(s.into()),
        other => Ok(other.to_string()),
    }
}

async fn create_now(
    p: Portal,
    req: &HttpRequest,
    entity: &str,
    form: Vec<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let org = p.managed(entity).await?;
    let (new, generated) = match describe_new(&form) {
        Ok(v) => v,
        Err(why) => {
            return entity_page(p, entity, None, Some(why), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };
    let tenant = registry::tenants::find(&p.ctx.svc.store, &p.ctx.tenant.id)
        .await?
        .ok_or(PageError::NotFound)?;
    let created = integrations::integration::create(
        &p.ctx.svc.store,
        &p.ctx.svc.master_key,
        &tenant,
        &org,
        p.user(),
        new,
        |row| {
            p.audit(
                req,
                "integration.create",
                &format!("client:{}", row.client_id),
                serde_json::json!({"entity_id": org.id, "auth_method": row.auth_method}),
            )
        },
    )
    .await;
    let (row, secret) = match created {
        Ok(v) => v,
        Err(e) => {
            let why = refused(e)?;
            return entity_page(p, entity, None, Some(why), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let reveal = Reveal {
        entity: org.id.clone(),
        client_id: row.client_id.clone(),
        secret,
        private_pem: generated.as_ref().map(|g| g.0.clone()),
        private_jwk: generated.map(|g| g.1),
    };
    let cookie = reveal_cookie(&p, &reveal)?;
    Ok(see_other(&format!("{}/reveal", p.entity_path(&org.id)))
        .cookie(cookie)
        .finish())
}

/// `POST /t/{tenant}/portal/e/{id}/integrations`.
pub async fn create(
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let csrf = field(&form, "csrf").unwrap_or_default().to_owned();
    p.ctx.check_form(&req, &csrf)?;
    p.managed(&path.1).await?;
    let form = form.into_iter().filter(|(k, _)| k != "csrf").collect();
    with_fresh_code(
        p,
        &req,
        Pending::Create {
            entity: path.1.clone(),
            form,
        },
    )
    .await
}

async fn integration_of(
    p: &Portal,
    org: &OrganizationRow,
    client_id: &str,
) -> Result<ClientRow, PageError> {
    let (t, c) = (org.tenant_id.clone(), client_id.to_owned());
    p.ctx
        .svc
        .store
        .run(move |conn| store::repo::clients::find(conn, &t, &c))
        .await?
        .filter(|c| {
            c.kind == ClientKind::Integration
                && c.organization_id.as_deref() == Some(org.id.as_str())
        })
        .ok_or(PageError::NotFound)
}

async fn rotate_now(
    p: Portal,
    req: &HttpRequest,
    entity: &str,
    client_id: &str,
    overlap: i64,
) -> Result<HttpResponse, PageError> {
    let org = p.managed(entity).await?;
    let row = integration_of(&p, &org, client_id).await?;
    let rotated = registry::clients::rotate_secret(
        &p.ctx.svc.store,
        &p.ctx.svc.caches,
        &p.ctx.svc.master_key,
        &row,
        overlap,
        |secret_id| {
            p.audit(
                req,
                "integration.secret.rotate",
                &format!("client:{}", row.client_id),
                serde_json::json!({"entity_id": org.id, "secret_id": secret_id, "previous_expires_in": overlap}),
            )
        },
    )
    .await;
    let secret = match rotated {
        Ok((_, secret)) => secret,
        Err(e) => {
            let why = refused(e)?;
            return entity_page(p, entity, None, Some(why), StatusCode::CONFLICT).await;
        }
    };
    let reveal = Reveal {
        entity: org.id.clone(),
        client_id: row.client_id.clone(),
        secret: Some(secret),
        private_pem: None,
        private_jwk: None,
    };
    let cookie = reveal_cookie(&p, &reveal)?;
    Ok(see_other(&format!("{}/reveal", p.entity_path(&org.id)))
        .cookie(cookie)
        .finish())
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    csrf: String,
    overlap: i64,
}

/// `POST /t/{tenant}/portal/e/{id}/integrations/{client_id}/rotate`.
pub async fn rotate(
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    body: web::Form<RotateForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let org = p.managed(&path.1).await?;
    integration_of(&p, &org, &path.2).await?;
    let overlap = match body.overlap {
        0 | 3600 | 86400 => body.overlap,
        _ => {
            return Err(PageError::BadRequest(
                "Choose an overlap from the list.".into(),
            ))
        }
    };
    with_fresh_code(
        p,
        &req,
        Pending::Rotate {
            entity: path.1.clone(),
            client_id: path.2.clone(),
            overlap,
        },
    )
    .await
}

// --- The one-time reveal.

#[derive(Template)]
#[template(path = "portal_reveal.html")]
struct RevealPage {
    nav: Nav,
    shown: Option<Shown>,
    back: String,
}

struct Shown {
    heading: &'static str,
    label: &'static str,
    client_id: String,
    value: String,
    rows: usize,
    pem_download: Option<String>,
    jwk_download: Option<String>,
}

/// `GET /t/{tenant}/portal/e/{id}/reveal`: the secret or private key, once. The cookie that
/// carried it is removed by this answer; a reload shows nothing.
pub async fn reveal(
    path: web::Path<(String, String)>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let mut p = enter!(svc, &path.0, &req);
    let opened = req.cookie(REVEAL_COOKIE).and_then(|c| {
        let sealed = B64.decode(c.value()).ok()?;
        let plain = p.ctx.svc.master_key.open(&sealed, b"portal-reveal").ok()?;
        serde_json::from_slice::<Reveal>(&plain).ok()
    });
    let shown = opened.filter(|r| r.entity == path.1).map(|r| {
        let data = |mime: &str, text: &str| {
            format!(
                "data:{mime};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(text)
            )
        };
        match (r.secret, r.private_pem, r.private_jwk) {
            (Some(secret), _, _) => Shown {
                heading: "Your client secret",
                label: "Client secret",
                client_id: r.client_id,
                rows: 2,
                value: secret,
                pem_download: None,
                jwk_download: None,
            },
            (None, Some(pem), jwk) => Shown {
                heading: "Your private key",
                label: "Private key (PEM)",
                client_id: r.client_id,
                rows: 6,
                pem_download: Some(data("application/x-pem-file", &pem)),
                jwk_download: jwk.as_deref().map(|j| data("application/json", j)),
                value: pem,
            },
            _ => Shown {
                heading: "Your integration",
                label: "Client id",
                rows: 1,
                value: r.client_id.clone(),
                client_id: r.client_id,
                pem_download: None,
                jwk_download: None,
            },
        }
    });
    let page = RevealPage {
        shown,
        back: p.entity_path(&path.1),
        nav: std::mem::take(&mut p.nav),
    };
    let removal = p.ctx.removal(REVEAL_COOKIE);
    let mut r = p.render(StatusCode::OK, &page);
    let _ = r.add_removal_cookie(&removal);
    // The copy button is the portal's one script, served from here.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' https:; script-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    Ok(r)
}

// --- Deleting, with a confirmation page.

#[derive(Template)]
#[template(path = "portal_confirm.html")]
struct ConfirmPage {
    nav: Nav,
    heading: String,
    text: String,
    action: String,
    label: &'static str,
    back: String,
}

/// `GET /t/{tenant}/portal/e/{id}/integrations/{client_id}/delete`: are you sure?
pub async fn confirm_delete(
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let mut p = enter!(svc, &path.0, &req);
    let org = p.managed(&path.1).await?;
    let row = integration_of(&p, &org, &path.2).await?;
    let base = p.entity_path(&org.id);
    let page = ConfirmPage {
        heading: format!("Delete {}?", row.name),
        text: "Its tokens stop working at once and it can no longer get new ones. This cannot be undone.".into(),
        action: format!("{base}/integrations/{}/delete", row.client_id),
        label: "Delete integration",
        back: base,
        nav: std::mem::take(&mut p.nav),
    };
    Ok(p.render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /t/{tenant}/portal/e/{id}/integrations/{client_id}/delete`.
pub async fn delete(
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    body: web::Form<CsrfForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let org = p.managed(&path.1).await?;
    let row = integration_of(&p, &org, &path.2).await?;
    let event = p.audit(
        &req,
        "integration.delete",
        &format!("client:{}", row.client_id),
        serde_json::json!({"entity_id": org.id}),
    );
    registry::clients::delete(&p.ctx.svc.store, &p.ctx.svc.caches, &row, event).await?;
    Ok(see_other(&format!("{}?notice=deleted", p.entity_path(&org.id))).finish())
}

// --- Enrollments.

#[derive(Deserialize)]
pub struct EnrollForm {
    #[serde(default)]
    csrf: String,
    department_id: String,
}

/// `POST /t/{tenant}/portal/e/{id}/enrollments`: a vendor asks to act for a department, by
/// the id the department gave it (vendors do not browse other organizations).
pub async fn enroll(
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Form<EnrollForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let vendor = p.managed(&path.1).await?;
    let (t, d) = (
        p.ctx.tenant.id.clone(),
        body.department_id.trim().to_owned(),
    );
    let department = p
        .ctx
        .svc
        .store
        .run(move |c| store::repo::organizations::find(c, &t, &d))
        .await?
        .filter(|o| o.kind == OrganizationKind::Department);
    let (Some(department), OrganizationKind::Vendor) = (department, vendor.kind) else {
        return entity_page(
            p,
            &path.1,
            None,
            Some("No department has this id. Ask the department for its id (FD…).".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let event = p.audit(
        &req,
        "enrollment.request",
        &format!("enrollment:{}:{}", vendor.id, department.id),
        serde_json::json!({}),
    );
    let outcome =
        integrations::enrollments::request(&p.ctx.svc.store, &vendor, &department, p.user(), event)
            .await?;
    match outcome {
        Ok(_) => Ok(see_other(&format!("{}?notice=requested", p.entity_path(&vendor.id))).finish()),
        Err(existing) => {
            let why = format!(
                "An enrollment with this department is already {}.",
                existing.status
            );
            entity_page(p, &path.1, None, Some(why), StatusCode::CONFLICT).await
        }
    }
}

/// `POST /t/{tenant}/portal/enrollments/{id}/{approve|refuse|revoke}`.
pub async fn decide(
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    body: web::Form<CsrfForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let decision = match path.2.as_str() {
        "approve" => Decision::Approve,
        "refuse" => Decision::Refuse,
        "revoke" => Decision::Revoke,
        _ => return Err(PageError::NotFound),
    };
    let (t, e, u) = (p.ctx.tenant.id.clone(), path.1.clone(), p.user().to_owned());
    let found = p
        .ctx
        .svc
        .store
        .run(move |c| {
            let Some(e) = store::repo::enrollments::find(c, &t, &e)? else {
                return Ok(None);
            };
            let v = store::repo::memberships::role_of(c, &u, &e.vendor_id)?;
            let d = store::repo::memberships::role_of(c, &u, &e.department_id)?;
            Ok(Some((e, v, d)))
        })
        .await?;
    let Some((enrollment, vendor_role, department_role)) = found else {
        return Err(PageError::NotFound);
    };
    match decision.permission(false, vendor_role, department_role) {
        Permission::Granted => {}
        Permission::Denied(_) => return Err(PageError::Forbidden),
        Permission::Hidden => return Err(PageError::NotFound),
    }
    let back = if department_role.is_some() {
        enrollment.department_id.clone()
    } else {
        enrollment.vendor_id.clone()
    };
    let event = p.audit(
        &req,
        &format!("enrollment.{}", decision.verb()),
        &format!(
            "enrollment:{}:{}",
            enrollment.vendor_id, enrollment.department_id
        ),
        serde_json::json!({"id": enrollment.id, "from": enrollment.status}),
    );
    integrations::enrollments::transition(
        &p.ctx.svc.store,
        &p.ctx.svc.caches,
        &enrollment,
        decision,
        p.user(),
        event,
    )
    .await?;
    Ok(see_other(&format!("{}?notice=decided", p.entity_path(&back))).finish())
}

// --- Activity.

#[derive(Template)]
#[template(path = "portal_activity.html")]
struct ActivityPage {
    nav: Nav,
    name: String,
    entity: String,
    here: String,
    action: String,
    events: Vec<EventLine>,
    next: Option<String>,
}

struct EventLine {
    when: String,
    who: String,
    action: String,
    target: String,
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    action: Option<String>,
    before: Option<String>,
}

/// `GET /t/{tenant}/portal/e/{id}/activity`: the entity's audit events, newest first.
pub async fn activity(
    path: web::Path<(String, String)>,
    q: web::Query<ActivityQuery>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let mut p = enter!(svc, &path.0, &req);
    let (org, _) = p.entity(&path.1).await?;
    let action = q.action.clone().filter(|a| !a.trim().is_empty());
    let (t, o, a, before) = (
        org.tenant_id.clone(),
        org.id.clone(),
        action.clone(),
        q.before.clone(),
    );
    const PAGE: i64 = 50;
    let events = p
        .ctx
        .svc
        .store
        .run(move |c| {
            store::repo::audit::of_entity(c, &t, &o, a.as_deref(), before.as_deref(), PAGE + 1)
        })
        .await?;
    let base = p.entity_path(&org.id);
    let here = format!("{base}/activity");
    let next = (events.len() as i64 > PAGE).then(|| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(a) = &action {
            s.append_pair("action", a);
        }
        s.append_pair("before", &events[PAGE as usize - 1].id);
        format!("{here}?{}", s.finish())
    });
    let page = ActivityPage {
        name: org.name.clone(),
        entity: base,
        here,
        action: action.unwrap_or_default(),
        events: events
            .into_iter()
            .take(PAGE as usize)
            .map(|e| EventLine {
                when: when(e.at),
                who: e.actor,
                action: e.action,
                target: e.target,
            })
            .collect(),
        next,
        nav: std::mem::take(&mut p.nav),
    };
    Ok(p.render(StatusCode::OK, &page))
}

// --- Members and invitations.

#[derive(Template)]
#[template(path = "portal_members.html")]
struct MembersPage {
    nav: Nav,
    name: String,
    entity: String,
    owner: bool,
    invite: String,
    notice: Option<&'static str>,
    error: Option<String>,
    members: Vec<MemberLine>,
}

struct MemberLine {
    id: String,
    email: String,
    role: &'static str,
    role_action: String,
    remove_action: String,
}

#[derive(Deserialize)]
pub struct MembersQuery {
    notice: Option<String>,
}

async fn members_page(
    mut p: Portal,
    id: &str,
    notice: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (org, role) = p.entity(id).await?;
    let o = org.id.clone();
    let members = p
        .ctx
        .svc
        .store
        .run(move |c| store::repo::invitations::members_of(c, &o))
        .await?;
    let base = p.entity_path(&org.id);
    let page = MembersPage {
        name: org.name.clone(),
        owner: role == MembershipRole::Owner,
        invite: format!("{base}/members/invite"),
        notice,
        error,
        members: members
            .into_iter()
            .map(|(uid, email, role)| MemberLine {
                role_action: format!("{base}/members/{uid}/role"),
                remove_action: format!("{base}/members/{uid}/remove"),
                id: uid,
                email,
                role: role.as_str(),
            })
            .collect(),
        entity: base,
        nav: std::mem::take(&mut p.nav),
    };
    Ok(p.render(status, &page))
}

/// `GET /t/{tenant}/portal/e/{id}/members`.
pub async fn members(
    path: web::Path<(String, String)>,
    q: web::Query<MembersQuery>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    let notice = q.notice.as_deref().map(|n| match n {
        "invited" => "Invitation sent.",
        _ => "Done.",
    });
    members_page(p, &path.1, notice, None, StatusCode::OK).await
}

/// The entity, if the caller owns it (only owners manage members).
async fn owned(p: &Portal, id: &str) -> Result<OrganizationRow, PageError> {
    match p.entity(id).await? {
        (org, MembershipRole::Owner) => Ok(org),
        _ => Err(PageError::Forbidden),
    }
}

fn member_failure(e: integrations::members::MemberError) -> Result<String, PageError> {
    use integrations::members::MemberError as E;
    match e {
        E::Store(s) => Err(s.into()),
        E::Mail | E::Busy => Err(PageError::Unavailable),
        other => Ok(other.to_string()),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    email: String,
    role: String,
}

/// `POST /t/{tenant}/portal/e/{id}/members/invite`.
pub async fn invite(
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Form<InviteForm>,
    svc: web::Data<TokenService>,
    mailer: web::Data<integrations::mail::Mailer>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let org = owned(&p, &path.1).await?;
    let role: MembershipRole = body
        .role
        .parse()
        .map_err(|_| PageError::BadRequest("Choose a role from the list.".into()))?;
    let event = p.audit(
        &req,
        "member.invite",
        &format!("organization:{}", org.id),
        serde_json::json!({"role": role}),
    );
    let link = format!("{}{}", p.ctx.svc.public_url, p.ctx.path("portal/invite"));
    let sent = integrations::members::invite(
        &p.ctx.svc.store,
        &mailer,
        &p.ctx.svc.master_key,
        &link,
        p.ctx.name(),
        &org,
        &body.email,
        role,
        p.user(),
        event,
    )
    .await;
    match sent {
        Ok(()) => Ok(see_other(&format!(
            "{}/members?notice=invited",
            p.entity_path(&org.id)
        ))
        .finish()),
        Err(e) => {
            let why = member_failure(e)?;
            members_page(
                p,
                &path.1,
                None,
                Some(why),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    role: String,
}

/// `POST /t/{tenant}/portal/e/{id}/members/{user}/role`.
pub async fn set_role(
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    body: web::Form<RoleForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let org = owned(&p, &path.1).await?;
    let role: MembershipRole = body
        .role
        .parse()
        .map_err(|_| PageError::BadRequest("Choose a role from the list.".into()))?;
    let event = p.audit(
        &req,
        "member.role",
        &format!("organization:{}", org.id),
        serde_json::json!({"user": path.2, "role": role}),
    );
    match integrations::members::set_role(&p.ctx.svc.store, &org, &path.2, role, event).await {
        Ok(()) => {
            Ok(see_other(&format!("{}/members?notice=done", p.entity_path(&org.id))).finish())
        }
        Err(e) => {
            let why = member_failure(e)?;
            members_page(p, &path.1, None, Some(why), StatusCode::CONFLICT).await
        }
    }
}

/// `POST /t/{tenant}/portal/e/{id}/members/{user}/remove`.
pub async fn remove_member(
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    body: web::Form<CsrfForm>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let p = enter!(svc, &path.0, &req);
    p.ctx.check_form(&req, &body.csrf)?;
    let org = owned(&p, &path.1).await?;
    let event = p.audit(
        &req,
        "member.remove",
        &format!("organization:{}", org.id),
        serde_json::json!({"user": path.2}),
    );
    match integrations::members::remove(&p.ctx.svc.store, &org, &path.2, event).await {
        Ok(()) => {
            Ok(see_other(&format!("{}/members?notice=done", p.entity_path(&org.id))).finish())
        }
        Err(e) => {
            let why = member_failure(e)?;
            members_page(p, &path.1, None, Some(why), StatusCode::CONFLICT).await
        }
    }
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    tenant_name: String,
    entity: String,
    email: String,
    role: &'static str,
    usable: bool,
    new_user: bool,
    action: String,
    csrf: String,
    token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct InviteQuery {
    token: Option<String>,
}

async fn invite_page(
    ctx: &Ctx,
    req: &HttpRequest,
    token: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let pending =
        integrations::members::pending(&ctx.svc.store, &ctx.svc.master_key, &ctx.tenant.id, token)
            .await;
    let (entity, email, role, new_user, usable) = match pending {
        Ok((inv, user)) => {
            let (t, o) = (ctx.tenant.id.clone(), inv.organization_id.clone());
            let org = ctx
                .svc
                .store
                .run(move |c| store::repo::organizations::find(c, &t, &o))
                .await?
                .map(|o| o.name)
                .unwrap_or_default();
            (org, inv.email, inv.role.as_str(), user.is_none(), true)
        }
        Err(integrations::members::MemberError::Store(e)) => return Err(e.into()),
        Err(_) => (String::from("an entity"), String::new(), "", false, false),
    };
    ctx.form_page(
        req,
        if usable { status } else { StatusCode::GONE },
        |csrf| InvitePage {
            tenant_name: ctx.name().to_owned(),
            entity,
            email,
            role,
            usable,
            new_user,
            action: ctx.path("portal/invite"),
            csrf,
            token: token.to_owned(),
            error,
        },
    )
}

/// `GET /t/{tenant}/portal/invite?token=…`: the emailed link.
pub async fn invitation(
    path: web::Path<String>,
    q: web::Query<InviteQuery>,
    req: HttpRequest,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    invite_page(
        &ctx,
        &req,
        q.token.as_deref().unwrap_or_default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    csrf: String,
    token: String,
    password: Option<String>,
}

/// `POST /t/{tenant}/portal/invite`: accepts; then the sign-in (with the emailed code).
pub async fn accept(
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Form<AcceptForm>,
    svc: web::Data<TokenService>,
    gate: web::Data<tokens::password_gate::PasswordGate>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(svc, &path).await?;
    ctx.check_form(&req, &body.csrf)?;
    let accepted = integrations::members::accept(
        &ctx.svc.store,
        &gate,
        &ctx.svc.master_key,
        &ctx.tenant.id,
        &body.token,
        body.password.as_deref(),
        |user_id| {
            ctx.audit(
                &req,
                user_id,
                "member.join",
                &format!("user:{user_id}"),
                serde_json::json!({}),
            )
        },
    )
    .await;
    match accepted {
        Ok(inv) => {
            let back = format!(
                "{}?{}",
                ctx.path("signin"),
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_to", &ctx.path("portal/"))
                    .append_pair("login_hint", &inv.email)
                    .finish()
            );
            Ok(see_other(&back).finish())
        }
        Err(integrations::members::MemberError::Invalid(why)) => {
            invite_page(
                &ctx,
                &req,
                &body.token,
                Some(why.to_owned()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => {
            let why = member_failure(e)?;
            invite_page(&ctx, &req, &body.token, Some(why), StatusCode::GONE).await
        }
    }
}
