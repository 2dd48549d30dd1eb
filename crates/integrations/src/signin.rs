//! People signing in: passwords (argon2id, with a lockout counted in the database) and the
//! emailed one-time code. Implements [`domain::accounts::Accounts`] for the token endpoint.

use std::sync::Arc;
use tokens::password_gate::PasswordGate;

use domain::accounts::{Accounts, Attempt, BoxFuture, Person, SignIn, SignInError, TenantRef};
use domain::secrets::{generate_secret, one_time_code, MasterKey};
use domain::{ids, now_unix};
use store::repo::audit::{self, AuditRow};
use store::repo::mfa::{self, MfaChallengeRow};
use store::repo::users::{self, UserRow};
use store::{Store, StoreError};

use crate::mail::Mailer;

/// Failed passwords in a row that lock an account, and for how long.
pub const MAX_FAILED_LOGINS: i32 = 5;
pub const LOCKOUT_SECS: i64 = 15 * 60;
/// An emailed code lives this long and allows this many tries.
pub const CODE_TTL: i64 = 5 * 60;
pub const CODE_ATTEMPTS: i32 = 5;
/// Codes a person may be sent per window.
pub const MAX_CODE_SENDS: i32 = 5;
pub const CODE_SEND_WINDOW: i64 = 15 * 60;

pub struct People {
    store: Store,
    master_key: Arc<MasterKey>,
    mailer: Arc<Mailer>,
    gate: Arc<PasswordGate>,
}

fn store_error(e: StoreError) -> SignInError {
    if e.is_unavailable() {
        SignInError::Unavailable
    } else {
        SignInError::Internal(e.to_string())
    }
}

/// A sign-in event for the audit log (never the password or the code). The actor is written
/// as the admin and account APIs write it, so one filter finds a person's every action.
fn event(at: Attempt<'_>, user: &UserRow, action: &str, details: serde_json::Value) -> AuditRow {
    AuditRow {
        id: ids::new_id(),
        tenant_id: at.tenant.id.clone(),
        actor: format!("user:{}@{}", user.id, at.tenant.slug),
        action: action.to_owned(),
        target: format!("user:{}", user.id),
        at: now_unix(),
        client_ip: at.ip.map(str::to_owned),
        request_id: http::current_request_id(),
        details: details.to_string(),
    }
}

impl People {
    pub fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        mailer: Arc<Mailer>,
        gate: Arc<PasswordGate>,
    ) -> People {
        People {
            store,
            master_key,
            mailer,
            gate,
        }
    }

    async fn audit(&self, row: AuditRow) -> Result<(), SignInError> {
        self.store
            .run(move |c| audit::insert(c, &row))
            .await
            .map_err(store_error)
    }

    /// The user whose password this is. Unknown, disabled and locked accounts fail exactly like
    /// a wrong password, after the same argon2 work.
    async fn check_password(
        &self,
        at: Attempt<'_>,
        email: &str,
        password: &str,
    ) -> Result<UserRow, SignInError> {
        let tenant = at.tenant;
        // Not an address: no user has it, and it gets the same work and answer as a wrong one.
        let normalized = domain::email::normalize(email).unwrap_or_default();
        // Users created before emails were normalized keep the lower-cased form they were
        // stored in (a Unicode domain); they are found by it when the normal form is not.
        let legacy = Some(email.trim().to_lowercase()).filter(|l| *l != normalized);
        let tid = tenant.id.clone();
        let user = self
            .store
            .run(move |c| match users::find_by_email(c, &tid, &normalized)? {
                Some(u) => Ok(Some(u)),
                None => match legacy {
                    Some(l) => users::find_by_email(c, &tid, &l),
                    None => Ok(None),
                },
            })
            .await
            .map_err(store_error)?;
        let (pw, hash) = (
            password.to_owned(),
            user.as_ref().map(|u| u.password_hash.clone()),
        );
        let ok = self
            .gate
            .run(move |hasher| match hash {
                Some(h) => hasher.verify(&pw, &h),
                None => {
                    hasher.verify_nobody(&pw);
                    false
                }
            })
            .await
            .map_err(|_| SignInError::Busy)?;
        let Some(user) = user else {
            return Err(SignInError::InvalidCredentials);
        };
        let now = now_unix();
        if user.disabled || user.locked_until.is_some_and(|t| t > now) {
            let why = if user.disabled { "disabled" } else { "locked" };
            self.audit(event(
                at,
                &user,
                "user.sign_in.refused",
                serde_json::json!({ "reason": why }),
            ))
            .await?;
            return Err(SignInError::InvalidCredentials);
        }
        let id = user.id.clone();
        if !ok {
            let failed = event(
                at,
                &user,
                "user.sign_in.failed",
                serde_json::json!({ "reason": "password" }),
            );
            self.store
                .transaction(move |c| {
                    users::record_failed_login(c, &id, MAX_FAILED_LOGINS, LOCKOUT_SECS, now)?;
                    audit::insert(c, &failed)
                })
                .await
                .map_err(store_error)?;
            return Err(SignInError::InvalidCredentials);
        }
        self.store
            .run(move |c| users::clear_failed_logins(c, &id))
            .await
            .map_err(store_error)?;
        Ok(user)
    }

    /// Creates a challenge and mails its code; when the mail cannot go, the challenge is
    /// removed and the send given back, and the caller gets `MailUnavailable`.
    async fn send_code(
        &self,
        at: Attempt<'_>,
        user: &UserRow,
        scope: &str,
    ) -> Result<String, SignInError> {
        let (tenant, client_pk) = (at.tenant, at.client_pk);
        let now = now_unix();
        let uid = user.id.clone();
        let allowed = self
            .store
            .run(move |c| {
                if users::take_code_send(c, &uid, MAX_CODE_SENDS, CODE_SEND_WINDOW, now)? {
                    Ok(None)
                } else {
                    users::code_window_left(c, &uid, CODE_SEND_WINDOW, now).map(Some)
                }
            })
            .await
            .map_err(store_error)?;
        if let Some(retry_after) = allowed {
            return Err(SignInError::TooManyCodes { retry_after });
        }
        let crypto = |e: domain::secrets::SecretError| SignInError::Internal(e.to_string());
        let code = one_time_code().map_err(crypto)?;
        let mfa_token = generate_secret().map_err(crypto)?;
        let id = ids::new_id();
        let row = MfaChallengeRow {
            token_hash: self.master_key.hash_secret(&mfa_token).map_err(crypto)?,
            code_hash: self
                .master_key
                .hash_secret(&format!("{id}:{code}"))
                .map_err(crypto)?,
            id: id.clone(),
            tenant_id: tenant.id.clone(),
            user_id: user.id.clone(),
            client_pk: client_pk.to_owned(),
            scope: scope.to_owned(),
            attempts: 0,
            sends: 1,
            created_at: now,
            expires_at: now + CODE_TTL,
            consumed_at: None,
        };
        self.store
            .run(move |c| mfa::insert(c, &row))
            .await
            .map_err(store_error)?;
        if let Err(e) = self
            .mailer
            .send_code(&user.email, &code, &tenant.slug)
            .await
        {
            tracing::warn!(error = %e, user = %user.id, "sign-in code not sent");
            let (id, uid) = (id.clone(), user.id.clone());
            self.store
                .transaction(move |c| {
                    mfa::delete(c, &id)?;
                    users::return_code_send(c, &uid)
                })
                .await
                .map_err(store_error)?;
            return Err(SignInError::MailUnavailable);
        }
        let (uid, sent) = (
            user.id.clone(),
            event(at, user, "user.mfa.code_sent", serde_json::json!({})),
        );
        self.store
            .transaction(move |c| {
                // Only the newest code works.
                mfa::supersede(c, &uid, &id, now)?;
                audit::insert(c, &sent)
            })
            .await
            .map_err(store_error)?;
        Ok(mfa_token)
    }

    async fn verify_code(
        &self,
        at: Attempt<'_>,
        mfa_token: &str,
        otp: &str,
    ) -> Result<(Person, String), SignInError> {
        let (tenant, client_pk) = (at.tenant, at.client_pk);
        let hash = self
            .master_key
            .hash_secret(mfa_token)
            .map_err(|e| SignInError::Internal(e.to_string()))?;
        let challenge = self
            .store
            .run(move |c| mfa::find_by_token(c, &hash))
            .await
            .map_err(store_error)?
            .filter(|ch| ch.tenant_id == tenant.id && ch.client_pk == client_pk)
            .ok_or(SignInError::CodeUnusable(
                "the mfa_token is unknown; sign in again with the password",
            ))?;
        let now = now_unix();
        if challenge.consumed_at.is_some() {
            return Err(SignInError::CodeUnusable(
                "this code was already used; sign in again with the password",
            ));
        }
        if challenge.expires_at <= now {
            return Err(SignInError::CodeUnusable(
                "the code has expired or a newer one was sent; sign in again with the password",
            ));
        }
        if challenge.attempts >= CODE_ATTEMPTS {
            return Err(SignInError::CodeUnusable(
                "too many wrong codes; sign in again with the password to get a new one",
            ));
        }
        let id = challenge.id.clone();
        let counted = self
            .store
            .run(move |c| mfa::count_attempt(c, &id, CODE_ATTEMPTS, now))
            .await
            .map_err(store_error)?;
        if !counted {
            return Err(SignInError::CodeUnusable(
                "this code can no longer be used; sign in again with the password",
            ));
        }
        let tid = tenant.id.clone();
        let uid = challenge.user_id.clone();
        let user = self
            .store
            .run(move |c| users::find(c, &tid, &uid))
            .await
            .map_err(store_error)?
            .filter(|u| !u.disabled)
            .ok_or(SignInError::InvalidCredentials)?;
        let right = otp.len() == 6
            && self
                .master_key
                .verify_secret(&format!("{}:{otp}", challenge.id), &challenge.code_hash);
        if !right {
            self.audit(event(at, &user, "user.mfa.failed", serde_json::json!({})))
                .await?;
            return Err(SignInError::WrongCode {
                attempts_left: CODE_ATTEMPTS - challenge.attempts - 1,
            });
        }
        let id = challenge.id.clone();
        let done = event(
            at,
            &user,
            "user.sign_in",
            serde_json::json!({"amr": ["pwd", "otp"]}),
        );
        let won = self
            .store
            .transaction(move |c| {
                let won = mfa::consume(c, &id, now)?;
                if won {
                    audit::insert(c, &done)?;
                }
                Ok(won)
            })
            .await
            .map_err(store_error)?;
        if !won {
            return Err(SignInError::CodeUnusable(
                "this code was already used; sign in again with the password",
            ));
        }
        let person = Person {
            user_id: user.id.clone(),
            roles: user.role_names(),
            amr: vec!["pwd".to_owned(), "otp".to_owned()],
            auth_time: now,
        };
        Ok((person, challenge.scope))
    }
}

impl Accounts for People {
    fn password<'a>(
        &'a self,
        at: Attempt<'a>,
        email: &'a str,
        password: &'a str,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<SignIn, SignInError>> {
        Box::pin(async move {
            let tenant = at.tenant;
            let user = self.check_password(at, email, password).await?;
            // Production tenants demand the code of everyone, whatever the user's flag says.
            if tenant.production || user.mfa_enabled {
                let mfa_token = self.send_code(at, &user, scope).await?;
                return Ok(SignIn::MfaRequired { mfa_token });
            }
            self.audit(event(
                at,
                &user,
                "user.sign_in",
                serde_json::json!({"amr": ["pwd"]}),
            ))
            .await?;
            Ok(SignIn::Done(Person {
                user_id: user.id.clone(),
                roles: user.role_names(),
                amr: vec!["pwd".to_owned()],
                auth_time: now_unix(),
            }))
        })
    }

    fn mfa_otp<'a>(
        &'a self,
        at: Attempt<'a>,
        mfa_token: &'a str,
        otp: &'a str,
    ) -> BoxFuture<'a, Result<(Person, String), SignInError>> {
        Box::pin(self.verify_code(at, mfa_token, otp))
    }

    fn step_up<'a>(
        &'a self,
        at: Attempt<'a>,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<String, SignInError>> {
        Box::pin(async move {
            let (tid, uid) = (at.tenant.id.clone(), user_id.to_owned());
            let user = self
                .store
                .run(move |c| users::find(c, &tid, &uid))
                .await
                .map_err(store_error)?
                .filter(|u| !u.disabled)
                .ok_or(SignInError::InvalidCredentials)?;
            self.send_code(at, &user, "").await
        })
    }

    fn current<'a>(
        &'a self,
        tenant: &'a TenantRef,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Person>, SignInError>> {
        Box::pin(async move {
            let (tid, uid) = (tenant.id.clone(), user_id.to_owned());
            let user = self
                .store
                .run(move |c| users::find(c, &tid, &uid))
                .await
                .map_err(store_error)?;
            Ok(user.filter(|u| !u.disabled).map(|u| Person {
                roles: u.role_names(),
                user_id: u.id,
                amr: Vec::new(),
                auth_time: 0,
            }))
        })
    }
}
