//! What the token endpoint needs from the accounts of people, without depending on how they
//! are kept: the `tokens` crate calls this trait, `integrations` implements it (users,
//! passwords, emailed codes), and the server plugs one into the other.

use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The tenant a sign-in happens in.
#[derive(Debug, Clone)]
pub struct TenantRef {
    pub id: String,
    pub slug: String,
    /// Production tenants require the emailed code of every person.
    pub production: bool,
}

/// One sign-in step: in which tenant, through which client, from which address (for the audit
/// log).
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub tenant: &'a TenantRef,
    pub client_pk: &'a str,
    pub ip: Option<&'a str>,
}

/// A person who has proven who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user_id: String,
    /// Tenant roles (`tenant_admin`, `platform_admin`).
    pub roles: Vec<String>,
    /// How they signed in (RFC 8176): `pwd`, then `otp` after the emailed code.
    pub amr: Vec<String>,
    /// When they signed in (seconds since the epoch); refreshing does not move it.
    pub auth_time: i64,
}

/// The outcome of a correct password.
#[derive(Debug)]
pub enum SignIn {
    Done(Person),
    /// A code went out by email; `mfa_token` names the challenge at the mfa-otp grant.
    MfaRequired {
        mfa_token: String,
    },
}

/// Why a sign-in step failed; each maps to one OAuth error at the token endpoint.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown email, wrong password, disabled or locked account: one answer for all, so the
    /// endpoint does not tell which accounts exist.
    #[error("the email or password is wrong, or the account is locked for a while after repeated failures")]
    InvalidCredentials,
    #[error("the code is wrong; {attempts_left} attempt(s) left")]
    WrongCode { attempts_left: i32 },
    #[error("{0}")]
    CodeUnusable(&'static str),
    #[error("too many codes were sent; retry in {retry_after} seconds")]
    TooManyCodes { retry_after: i64 },
    #[error("the email could not be sent; nothing was changed, retry later")]
    MailUnavailable,
    #[error("the account store is unavailable")]
    Unavailable,
    /// Too many password checks are running; nothing was checked.
    #[error("too many sign-ins at once; retry in a moment")]
    Busy,
    #[error("{0}")]
    Internal(String),
}

/// Accounts of people, as the token endpoint sees them.
pub trait Accounts: Send + Sync {
    /// Checks the password of `email` in the attempt's tenant; for a person with MFA, sends a
    /// code (remembering the client and `scope` for the second step).
    fn password<'a>(
        &'a self,
        at: Attempt<'a>,
        email: &'a str,
        password: &'a str,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<SignIn, SignInError>>;

    /// Completes a sign-in with the emailed code; returns the person and the scope asked for
    /// at the first step.
    fn mfa_otp<'a>(
        &'a self,
        at: Attempt<'a>,
        mfa_token: &'a str,
        otp: &'a str,
    ) -> BoxFuture<'a, Result<(Person, String), SignInError>>;

    /// Step-up (RFC 9470 in the browser): mails a fresh code to a person already signed in,
    /// under the same per-person send limit; the `mfa_token` to finish with at `mfa_otp`.
    fn step_up<'a>(
        &'a self,
        at: Attempt<'a>,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<String, SignInError>>;

    /// The person as they are now (for a refresh): `None` once disabled or deleted. `amr` and
    /// `auth_time` are left for the caller to carry over from the sign-in.
    fn current<'a>(
        &'a self,
        tenant: &'a TenantRef,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Person>, SignInError>>;
}
