//! What every page of a tenant needs: the tenant, the browser session (server-side; the cookie
//! holds a random id whose keyed hash is stored), the CSRF token and the origin check, and
//! where a `return_to` may lead.

use std::sync::Arc;

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use domain::accounts::Person;
use domain::model::JsonList;
use domain::now_unix;
use domain::secrets::generate_secret;
use store::repo::browser::{self, SessionRow};
use tokens::cache::{Client, Tenant};
use tokens::TokenService;

use crate::page::PageError;

pub const SESSION_COOKIE: &str = "pc_session";
pub const CSRF_COOKIE: &str = "pc_csrf";
/// The pending sign-in between the password and the emailed code (its `mfa_token`).
pub const MFA_COOKIE: &str = "pc_mfa";
/// A session ends after this long without a request, and this long after sign-in regardless.
pub const IDLE_SECS: i64 = 30 * 60;
pub const ABSOLUTE_SECS: i64 = 12 * 3600;

/// A tenant's pages: the tenant and the service behind them.
pub struct Ctx {
    pub svc: web::Data<TokenService>,
    pub tenant: Arc<Tenant>,
    /// `Secure` cookies whenever the public URL is https.
    pub secure: bool,
}

impl Ctx {
    pub async fn load(svc: web::Data<TokenService>, slug: &str) -> Result<Ctx, PageError> {
        let tenant = svc
            .caches
            .tenant(slug)
            .await?
            .filter(|t| !t.disabled)
            .ok_or(PageError::NotFound)?;
        let secure = svc.public_url.starts_with("https://");
        Ok(Ctx {
            svc,
            tenant,
            secure,
        })
    }

    /// `/t/{slug}/`: the path every cookie of the tenant is scoped to.
    pub fn base(&self) -> String {
        format!("/t/{}/", self.tenant.slug)
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/t/{}/{rest}", self.tenant.slug)
    }

    pub fn name(&self) -> &str {
        &self.tenant.name
    }

    pub fn cookie<'c>(&self, name: &'c str, value: String, max_age: Option<i64>) -> Cookie<'c> {
        let mut c = Cookie::build(name, value)
            .path(self.base())
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .finish();
        if let Some(secs) = max_age {
            c.set_max_age(CookieAge::seconds(secs));
        }
        c
    }

    /// A cookie that removes `name`.
    pub fn removal<'c>(&self, name: &'c str) -> Cookie<'c> {
        self.cookie(name, String::new(), Some(0))
    }

    /// An audit event of a person of this tenant, as the account API writes them (one actor
    /// name, so one filter finds a person's every action).
    pub fn audit(
        &self,
        req: &HttpRequest,
        user_id: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> store::repo::audit::AuditRow {
        store::repo::audit::AuditRow {
            id: domain::ids::new_id(),
            tenant_id: self.tenant.id.clone(),
            actor: format!("user:{user_id}@{}", self.tenant.slug),
            action: action.to_owned(),
            target: target.to_owned(),
            at: now_unix(),
            client_ip: http::peer_ip(req),
            request_id: http::current_request_id(),
            details: details.to_string(),
        }
    }

    /// What a scope lets an application do, in the words of the tenant's catalogue (the
    /// OpenID Connect scopes have their own).
    pub fn describe_scope(&self, scope: &str) -> String {
        let builtin = match scope {
            "openid" => Some("Know who you are"),
            "offline_access" => Some("Stay connected when you are not using it"),
            "email" => Some("See your email address"),
            "profile" => Some("See your name"),
            _ => None,
        };
        builtin
            .map(str::to_owned)
            .or_else(|| self.tenant.settings.scope_descriptions.get(scope).cloned())
            .unwrap_or_else(|| format!("Use “{scope}”"))
    }

    /// What a sign-in step is attempted with: the tenant's `portal` client, the tenant as
    /// people's accounts see it, and the caller's address (for the audit log).
    pub async fn attempt_parts(
        &self,
        req: &HttpRequest,
    ) -> Result<(Arc<Client>, domain::accounts::TenantRef, Option<String>), PageError> {
        Ok((
            self.portal().await?,
            self.tenant.account_ref(),
            http::peer_ip(req),
        ))
    }

    /// People's accounts (sign-in, codes), as plugged in by the server.
    pub fn accounts(&self) -> Result<&dyn domain::accounts::Accounts, PageError> {
        self.svc
            .accounts()
            .ok_or_else(|| PageError::Internal("no accounts".into()))
    }

    /// Where people of this tenant sign in: the `portal` client.
    pub async fn portal(&self) -> Result<Arc<Client>, PageError> {
        self.svc
            .caches
            .client(&self.tenant.id, "portal")
            .await?
            .ok_or_else(|| PageError::Internal("the tenant has no portal client".into()))
    }

    fn hash(&self, id: &str) -> Result<Vec<u8>, PageError> {
        self.svc
            .master_key
            .hash_secret(id)
            .map_err(|e| PageError::Internal(e.to_string()))
    }

    /// The signed-in person, if the request carries a live session of this tenant.
    pub async fn session(&self, req: &HttpRequest) -> Result<Option<Signed>, PageError> {
        let Some(cookie) = req.cookie(SESSION_COOKIE) else {
            return Ok(None);
        };
        let hash = self.hash(cookie.value())?;
        let tid = self.tenant.id.clone();
        let now = now_unix();
        let row = self
            .svc
            .store
            .run(move |c| browser::touch_session(c, &tid, &hash, now, IDLE_SECS))
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let current = self
            .accounts()?
            .current(&self.tenant.account_ref(), &row.user_id)
            .await
            .map_err(sign_in_failure)?;
        Ok(current.map(|mut person| {
            person.amr = row.amr.0.clone();
            person.auth_time = row.auth_time;
            Signed { person }
        }))
    }

    /// Starts a session for `person`; the cookie to set.
    pub async fn start_session(&self, person: &Person) -> Result<Cookie<'static>, PageError> {
        let id = generate_secret().map_err(|e| PageError::Internal(e.to_string()))?;
        let now = now_unix();
        let row = SessionRow {
            id_hash: self.hash(&id)?,
            tenant_id: self.tenant.id.clone(),
            user_id: person.user_id.clone(),
            amr: JsonList(person.amr.clone()),
            auth_time: person.auth_time,
            created_at: now,
            last_seen_at: now,
            expires_at: now + ABSOLUTE_SECS,
        };
        self.svc
            .store
            .run(move |c| browser::insert_session(c, &row))
            .await?;
        Ok(self.cookie(SESSION_COOKIE, id, None))
    }

    pub async fn end_session(&self, req: &HttpRequest) -> Result<(), PageError> {
        if let Some(cookie) = req.cookie(SESSION_COOKIE) {
            let hash = self.hash(cookie.value())?;
            self.svc
                .store
                .run(move |c| browser::delete_session(c, &hash))
                .await?;
        }
        Ok(())
    }

    /// The page's CSRF token, and the cookie to set when the browser has none yet.
    pub fn csrf(&self, req: &HttpRequest) -> Result<(String, Option<Cookie<'static>>), PageError> {
        if let Some(c) = req.cookie(CSRF_COOKIE).filter(|c| c.value().len() >= 32) {
            return Ok((c.value().to_owned(), None));
        }
        let token = generate_secret().map_err(|e| PageError::Internal(e.to_string()))?;
        Ok((token.clone(), Some(self.cookie(CSRF_COOKIE, token, None))))
    }

    /// Renders a page that carries a form, with its CSRF token (set as a cookie when new).
    pub fn form_page<T: askama::Template>(
        &self,
        req: &HttpRequest,
        status: actix_web::http::StatusCode,
        page: impl FnOnce(String) -> T,
    ) -> Result<actix_web::HttpResponse, PageError> {
        let (csrf, set) = self.csrf(req)?;
        let mut b = actix_web::HttpResponse::build(status);
        if let Some(c) = set {
            b.cookie(c);
        }
        Ok(crate::page::render_with(b, &page(csrf)))
    }

    /// A form is accepted only with the token of its page, and not from another site.
    pub fn check_form(&self, req: &HttpRequest, token: &str) -> Result<(), PageError> {
        let cookie = req.cookie(CSRF_COOKIE).ok_or(PageError::Forbidden)?;
        let same = cookie.value().len() == token.len()
            && openssl::memcmp::eq(cookie.value().as_bytes(), token.as_bytes());
        if !same || !same_origin(req, &self.svc.public_url) {
            tracing::warn!(tenant = %self.tenant.slug, "form refused: CSRF token or origin");
            return Err(PageError::Forbidden);
        }
        Ok(())
    }

    /// Where to go after a sign-in: `return_to` if it is a path of this tenant, else the
    /// connected apps page. Never another host.
    pub fn return_to(&self, asked: Option<&str>) -> String {
        asked
            .filter(|r| safe_return(r, &self.tenant.slug))
            .map(str::to_owned)
            .unwrap_or_else(|| self.path("account/apps"))
    }
}

/// A live session and its person.
pub struct Signed {
    pub person: Person,
}

pub fn sign_in_failure(e: domain::accounts::SignInError) -> PageError {
    use domain::accounts::SignInError as E;
    match e {
        E::Unavailable | E::Busy | E::MailUnavailable => PageError::Unavailable,
        other => PageError::Internal(other.to_string()),
    }
}

/// `Sec-Fetch-Site: cross-site`, or an `Origin` other than ours, is another site's form.
/// `Origin: null` (a page with a strict referrer policy) leaves it to the CSRF token.
pub fn same_origin(req: &HttpRequest, public_url: &str) -> bool {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s == "cross-site") {
        return false;
    }
    match header(header::ORIGIN.as_str()) {
        None | Some("null") => true,
        Some(origin) => origin == origin_of(public_url),
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

/// A path of the tenant, not a URL of another host (`//evil`, `/\evil`, `https://…`).
pub fn safe_return(path: &str, slug: &str) -> bool {
    path.starts_with(&format!("/t/{slug}/"))
        && !path.contains("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control())
        && path.len() <= 4096
}

#[cfg(test)]
mod tests;
