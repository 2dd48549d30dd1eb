//! The OAuth service: what every OAuth endpoint and the bearer guard share besides the caches
//! ([`crate::cache`]): the accounts of people, the JWKS fetcher, the ledger of used assertion
//! ids, revocations, and the writes that follow client authentication.

use std::sync::Arc;

use domain::accounts::Accounts;
use domain::secrets::MasterKey;
use store::{Store, StoreError};

use crate::cache::{CacheLimits, Caches, Changed, Client};
use crate::jwks_fetch::JwksFetcher;
use crate::maintenance::{JtiLedger, Revocations};

/// Failed client authentications in a row that lock a client, and for how long.
pub const MAX_AUTH_FAILURES: i32 = 10;
pub const AUTH_LOCKOUT_SECS: i64 = 300;

pub struct TokenService {
    pub store: Store,
    /// People's accounts (the password and mfa-otp grants); `None` refuses those grants.
    accounts: Option<Arc<dyn Accounts>>,
    pub master_key: Arc<MasterKey>,
    pub public_url: String,
    /// Tenants, clients, devices, people and enrollments as the token path reads them.
    pub caches: Arc<Caches>,
    /// Base URL of the mutual-TLS listener, when it differs from `public_url` (RFC 8705 §5);
    /// set once at start-up.
    mtls_url: std::sync::OnceLock<String>,
    pub(crate) jwks: JwksFetcher,
    pub(crate) jtis: JtiLedger,
    pub(crate) revocations: Arc<Revocations>,
}

impl TokenService {
    pub fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        public_url: String,
        limits: CacheLimits,
    ) -> TokenService {
        let revocations = Arc::new(Revocations::default());
        TokenService {
            jtis: JtiLedger::start(store.clone(), revocations.clone()),
            caches: Arc::new(Caches::new(
                store.clone(),
                master_key.clone(),
                public_url.clone(),
                limits,
            )),
            store,
            master_key,
            public_url,
            mtls_url: std::sync::OnceLock::new(),
            accounts: None,
            jwks: JwksFetcher::new(),
            revocations,
        }
    }

    /// Plugs in the accounts of people (done once, by the server, before serving).
    pub fn with_accounts(mut self, accounts: Arc<dyn Accounts>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Where the mutual-TLS listener is reached (advertised as `mtls_endpoint_aliases` when it
    /// is not `public_url`). The first call wins.
    pub fn set_mtls_url(&self, url: String) {
        if url != self.public_url {
            let _ = self.mtls_url.set(url);
        }
    }

    pub fn mtls_url(&self) -> Option<&str> {
        self.mtls_url.get().map(String::as_str)
    }

    pub fn accounts(&self) -> Option<&dyn Accounts> {
        self.accounts.as_deref()
    }

    pub fn issuer(&self, slug: &str) -> String {
        self.caches.issuer(slug)
    }

    /// Counts a failed client authentication (lockout after [`MAX_AUTH_FAILURES`] in a row),
    /// for the client id the request named: an unknown id takes the same round trip.
    pub async fn record_auth_failure(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<(), StoreError> {
        let (tid, cid) = (tenant_id.to_owned(), client_id.to_owned());
        let now = domain::now_unix();
        self.store
            .run(move |c| {
                store::repo::clients::record_failed_auth(
                    c,
                    &tid,
                    &cid,
                    MAX_AUTH_FAILURES,
                    AUTH_LOCKOUT_SECS,
                    now,
                )
            })
            .await?;
        self.caches
            .invalidate(Changed::Client {
                tenant_id,
                client_id,
            })
            .await;
        Ok(())
    }

    /// After a success: clears the failure count, if there was one (rarely: no write otherwise).
    pub(crate) async fn clear_auth_failures(&self, client: &Client) -> Result<(), StoreError> {
        if client.failed_auth_count == 0 && client.locked_until.is_none() {
            return Ok(());
        }
        let pk = client.id.clone();
        self.store
            .run(move |c| store::repo::clients::clear_failed_auth(c, &pk))
            .await?;
        self.caches
            .invalidate(Changed::Client {
                tenant_id: &client.tenant_id,
                client_id: &client.client_id,
            })
            .await;
        Ok(())
    }

    /// Records an assertion id as used; `false` means it was used before (a replay). Writes are
    /// batched: concurrent requests share one transaction.
    pub async fn consume_jti(
        &self,
        client_pk: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        self.jtis.consume(client_pk, jti, expires_at).await
    }

    /// Applies what the change listener reports (another replica's write, or the listener's
    /// own state): the caches drop what it names; a revocation joins the mirror at once.
    pub async fn apply_change(&self, event: &store::changes::Event) {
        use store::changes::{Event, Notice};
        if let Event::Notice(Notice::Revoked { jti, exp }) = event {
            self.revocations.insert(jti.clone(), *exp);
        }
        self.caches.apply(event).await;
    }

    pub fn is_revoked(&self, jti: &str) -> bool {
        self.revocations.contains(jti)
    }

    /// Revokes an access token by its id until it expires, here at once and on other replicas
    /// within the revocation sync interval.
    pub async fn revoke_access_token(
        &self,
        tenant_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let row = store::repo::tokens::RevokedTokenRow {
            jti: jti.to_owned(),
            tenant_id: tenant_id.to_owned(),
            expires_at,
        };
        self.store
            .run(move |c| store::repo::tokens::revoke(c, &row))
            .await?;
        self.revocations.insert(jti.to_owned(), expires_at);
        Ok(())
    }
}
