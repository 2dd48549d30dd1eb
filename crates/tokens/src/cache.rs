//! The caches in front of the database on the token path: tenants (with their parsed keys and
//! trust anchors), clients, devices, certificate → device lookups, people and enrollments.
//!
//! Each is a [`Bounded`] cache (moka): at most a configured number of entries, each re-read
//! after [`CacheLimits::ttl`] (so a change made on another replica shows within that bound),
//! and one loader per key, so an entry that expires under load costs one query, not a burst of
//! identical ones. A write says what it changed ([`Changed`]) and [`Caches::invalidate`] drops
//! every entry that change makes stale on this replica at once. Lookups that find nothing are
//! cached too (a flood of unknown ids costs one query per id and TTL); creations invalidate.

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::accounts::TenantRef;
use domain::client_metadata::ClientMetadata;
use domain::model::Environment;
use domain::secrets::MasterKey;
use store::changes::{Event, Notice};
use store::repo::clients::{self, ClientRow};
use store::repo::signing_keys;
use store::repo::tenants::{self, TenantRow};
use store::{Store, StoreError};

use crate::jwks_fetch::KeySet;
use crate::keys::{KeyRing, ParsedKeys};
use crate::mtls::{Anchors, ClientCert, SanKind};

/// Default upper bound on how stale a cached entry may be (documented in the README).
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// Default lifetime of an entry loaded while changes are pushed (PostgreSQL, listener up):
/// pushed notices drop it as soon as it changes, so it may live long; the lifetime only bounds
/// what a lost notice could cost.
pub const PUSHED_TTL: Duration = Duration::from_secs(300);

/// Sizes and staleness of the caches.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// The lifetime of an entry when changes are not pushed: SQLite's other processes (none
    /// in normal use), or PostgreSQL while the listener is down.
    pub ttl: Duration,
    /// The lifetime of an entry loaded while changes are pushed.
    pub pushed_ttl: Duration,
    pub tenants: u64,
    pub clients: u64,
    pub devices: u64,
    pub people: u64,
    pub enrollments: u64,
    /// Parsed (and for signing, unsealed) keys, by key id.
    pub keys: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            ttl: CACHE_TTL,
            pushed_ttl: PUSHED_TTL,
            // Measured at 10,000 tenants (`cargo xtask bench --scale`): a cached tenant (its
            // parsed keys, trust anchors and JWKS) takes about 6 KB, a client about 1.1 KB; these
            // bounds keep the server under 300 MB with every cache full on the token path.
            tenants: 10_000,
            clients: 50_000,
            devices: 100_000,
            people: 100_000,
            enrollments: 100_000,
            keys: 20_000,
        }
    }
}

/// How long entries live and whether a load may be kept, shared by every cache.
#[derive(Debug)]
pub struct Freshness {
    /// Are changes pushed to this replica right now (the listener is up)?
    pushed: AtomicBool,
    /// Bumped by every invalidation: a load that overlapped one may hold what was just
    /// changed, so it is not kept.
    generation: AtomicU64,
    short: Duration,
    long: Duration,
}

impl Freshness {
    pub fn new(short: Duration, long: Duration) -> Freshness {
        Freshness {
            pushed: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            short,
            long,
        }
    }

    pub fn is_pushed(&self) -> bool {
        self.pushed.load(Ordering::Acquire)
    }

    fn lifetime(&self) -> Duration {
        if self.is_pushed() {
            self.long
        } else {
            self.short
        }
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// Each entry lives as long as [`Freshness`] said when it was stored.
struct Lifetime(Arc<Freshness>);

impl<K, V> moka::Expiry<K, V> for Lifetime {
    fn expire_after_create(&self, _: &K, _: &V, _: std::time::Instant) -> Option<Duration> {
        Some(self.0.lifetime())
    }

    fn expire_after_update(
        &self,
        _: &K,
        _: &V,
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.0.lifetime())
    }
}

/// One bounded cache of `V` by `K`.
pub struct Bounded<K, V> {
    inner: moka::future::Cache<K, V>,
    fresh: Arc<Freshness>,
}

impl<K, V> Bounded<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(capacity: u64, fresh: Arc<Freshness>) -> Self {
        Bounded {
            inner: moka::future::Cache::builder()
                .max_capacity(capacity)
                .expire_after(Lifetime(fresh.clone()))
                .support_invalidation_closures()
                .build(),
            fresh,
        }
    }

    /// The cached value, or the one `load` reads (once, however many callers ask at the same
    /// time). An error is not cached.
    pub async fn get_or_load<Q>(
        &self,
        key: &Q,
        load: impl Future<Output = Result<V, StoreError>>,
    ) -> Result<V, StoreError>
    where
        K: std::borrow::Borrow<Q>,
        Q: ToOwned<Owned = K> + Hash + Eq + ?Sized,
    {
        let before = self.fresh.generation();
        let value = self
            .inner
            .try_get_with_by_ref(key, load)
            .await
            .map_err(StoreError::shared)?;
        if self.fresh.generation() != before {
            // A change was announced while this was read: serve it once, keep it not.
            self.inner.invalidate(key).await;
        }
        Ok(value)
    }

    pub async fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.get(key).await
    }

    pub async fn insert(&self, key: K, value: V) {
        self.inner.insert(key, value).await;
    }

    pub async fn forget<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.invalidate(key).await;
    }

    /// Drops every entry `stale` says is stale (the check runs lazily, on moka's schedule).
    pub fn forget_if(&self, stale: impl Fn(&K, &V) -> bool + Send + Sync + 'static) {
        if let Err(e) = self.inner.invalidate_entries_if(stale) {
            // Only when the cache was built without closure support: drop everything instead.
            tracing::warn!(error = %e, "cache invalidation by predicate refused");
            self.inner.invalidate_all();
        }
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.inner.invalidate_all();
    }

    pub fn len(&self) -> u64 {
        self.inner.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entry_count() == 0
    }
}

/// A tenant as the token path uses it: its row (read through `Deref`) and what is derived from
/// it once per load.
pub struct Tenant {
    pub row: TenantRow,
    /// `{public_url}/t/{slug}`.
    pub issuer: String,
    pub token_endpoint: String,
    pub keys: KeyRing,
    /// The JWKS document, serialised once.
    pub jwks_json: String,
    /// CA certificates client certificates must chain to (mutual TLS).
    pub anchors: Anchors,
}

impl std::ops::Deref for Tenant {
    type Target = TenantRow;
    fn deref(&self) -> &TenantRow {
        &self.row
    }
}

impl Tenant {
    /// Access-token lifetime for clients that set none (the tenant's settings).
    pub fn access_token_ttl(&self) -> i64 {
        self.row.settings.access_token_lifetime
    }

    /// The tenant as the accounts of people see it.
    pub fn account_ref(&self) -> TenantRef {
        TenantRef {
            id: self.id.clone(),
            slug: self.slug.clone(),
            production: self.environment == Environment::Production,
        }
    }
}

/// A client as the token path uses it: its row (read through `Deref`; `id` is the primary key,
/// `failed_auth_count` and `locked_until` as last read) and what is derived from it once per
/// load.
pub struct Client {
    pub row: ClientRow,
    /// Its tenant roles, as the `roles` claim carries them.
    pub roles: Vec<String>,
    /// `(HMAC of the secret, expiry)`; several live at once during rotation.
    pub secrets: Vec<(Vec<u8>, Option<i64>)>,
    /// The registered JWK Set, parsed.
    pub jwks: Option<Arc<KeySet>>,
    /// `tls_client_auth`: the certificate identity the client registered.
    pub tls_identity: Option<TlsIdentity>,
    /// `self_signed_tls_client_auth`: thumbprints of the certificates in its JWKS (`x5c`).
    pub self_signed_certs: Vec<String>,
}

impl std::ops::Deref for Client {
    type Target = ClientRow;
    fn deref(&self) -> &ClientRow {
        &self.row
    }
}

impl Client {
    /// Token requests must identify a device.
    pub fn require_device_auth(&self) -> bool {
        self.row.metadata.require_device_auth
    }

    /// RFC 8705 §3.4: tokens only over mutual TLS, bound to the certificate.
    pub fn bound_tokens_only(&self) -> bool {
        self.row.metadata.tls_client_certificate_bound_access_tokens
    }
}

/// RFC 8705 §2.1.2: what a `tls_client_auth` client's certificate must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsIdentity {
    SubjectDn(String),
    San(SanKind, String),
}

impl TlsIdentity {
    fn of(m: &ClientMetadata) -> Option<TlsIdentity> {
        let san = |k, v: &Option<String>| v.clone().map(|v| TlsIdentity::San(k, v));
        m.tls_client_auth_subject_dn
            .clone()
            .map(TlsIdentity::SubjectDn)
            .or_else(|| san(SanKind::Dns, &m.tls_client_auth_san_dns))
            .or_else(|| san(SanKind::Uri, &m.tls_client_auth_san_uri))
            .or_else(|| san(SanKind::Ip, &m.tls_client_auth_san_ip))
            .or_else(|| san(SanKind::Email, &m.tls_client_auth_san_email))
    }

    pub fn matches(&self, cert: &ClientCert) -> bool {
        match self {
            TlsIdentity::SubjectDn(dn) => cert.subject_matches(dn),
            TlsIdentity::San(kind, v) => cert.san_matches(*kind, v),
        }
    }
}

/// Thumbprints of the `x5c` leaf certificates of a JWK Set.
fn x5c_thumbprints(jwks: &str) -> Vec<String> {
    let Ok(set) = serde_json::from_str::<serde_json::Value>(jwks) else {
        return Vec::new();
    };
    set["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["x5c"].get(0)?.as_str())
        .filter_map(|b64| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(b64).ok()
        })
        .map(|der| domain::certs::thumbprint_of_der(&der))
        .collect()
}

pub use domain::tenant_settings::DEFAULT_ACCESS_TOKEN_TTL;

impl Client {
    pub(crate) fn from_row(
        row: ClientRow,
        secrets: Vec<(Vec<u8>, Option<i64>)>,
    ) -> Result<Client, String> {
        let jwks = match &row.jwks {
            Some(j) => Some(Arc::new(KeySet::new(
                josekit::jwk::JwkSet::from_bytes(j.as_bytes())
                    .map_err(|e| format!("client {} jwks: {e}", row.client_id))?,
            ))),
            None => None,
        };
        Ok(Client {
            tls_identity: TlsIdentity::of(&row.metadata),
            self_signed_certs: row.jwks.as_deref().map(x5c_thumbprints).unwrap_or_default(),
            roles: row
                .tenant_roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            secrets,
            jwks,
            row,
        })
    }
}

/// A device as the token path uses it: its row.
pub use store::repo::devices::DeviceRow as Device;

/// What a write changed, as the caches need to know it. [`Caches::invalidate`] is the
/// one place that decides which cached entries each change makes stale — including what the
/// database removes by cascade — so a write path names what it changed and cannot forget a
/// dependent entry.
#[derive(Debug, Clone, Copy)]
pub enum Changed<'a> {
    /// Its settings, keys, trust anchors or state.
    Tenant {
        slug: &'a str,
    },
    Client {
        tenant_id: &'a str,
        client_id: &'a str,
    },
    /// Its state, token version or certificate binding; `certs` are the thumbprints it was
    /// and is bound to (the certificate → device lookups to drop).
    Device {
        tenant_id: &'a str,
        id: &'a str,
        certs: [Option<&'a str>; 2],
    },
    Person {
        tenant_id: &'a str,
        id: &'a str,
    },
    /// A trusted external issuer of a tenant added, changed or removed: every routing entry
    /// of its `iss`.
    TrustedIssuer {
        issuer: &'a str,
    },
    /// A person's grant to an application, taken back.
    Grant {
        tenant_id: &'a str,
        id: &'a str,
    },
    Enrollment {
        vendor_id: &'a str,
        department_id: &'a str,
    },
    /// Deleted: with it go (by cascade) its devices, its clients (integration accounts) and the
    /// enrollments it is a party to.
    OrganizationDeleted {
        tenant_id: &'a str,
        id: &'a str,
    },
}

/// Every cache of the token path, with what loads each entry.
pub struct Caches {
    store: Store,
    master_key: Arc<MasterKey>,
    public_url: String,
    tenants: Bounded<String, Option<Arc<Tenant>>>,
    /// (tenant id, client id) → client.
    clients: Bounded<(String, String), Option<Arc<Client>>>,
    /// (tenant id, device id) → device.
    devices: Bounded<(String, String), Option<Arc<Device>>>,
    /// (tenant id, certificate thumbprint) → the id of the device registered with it.
    device_certs: Bounded<(String, String), Option<String>>,
    /// (tenant id, user id) → may the person's tokens be used?
    people: Bounded<(String, String), bool>,
    /// (vendor, department) → is the enrollment active?
    enrollments: Bounded<(String, String), bool>,
    /// (tenant id, grant id) → does the person's grant (consent) still stand?
    grants: Bounded<(String, String), bool>,
    /// (external `iss`, `aud`) → the trusted issuer that holds the pair, and its tenant's slug.
    trusted: Bounded<(String, String), Option<Arc<Trusted>>>,
    /// Keys parsed once per key id and state, reused by every reload of their tenant.
    keys: ParsedKeys,
    fresh: Arc<Freshness>,
}

/// A trusted external issuer (its row, with its rules), and the slug of the tenant trusting it.
pub struct Trusted {
    pub row: store::repo::trusted_issuers::TrustedIssuerRow,
    pub tenant_slug: String,
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

impl Caches {
    pub fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        public_url: String,
        limits: CacheLimits,
    ) -> Caches {
        let fresh = Arc::new(Freshness::new(limits.ttl, limits.pushed_ttl));
        let ttl = &fresh;
        Caches {
            store,
            master_key,
            public_url,
            tenants: Bounded::new(limits.tenants, ttl.clone()),
            clients: Bounded::new(limits.clients, ttl.clone()),
            devices: Bounded::new(limits.devices, ttl.clone()),
            device_certs: Bounded::new(limits.devices, ttl.clone()),
            people: Bounded::new(limits.people, ttl.clone()),
            enrollments: Bounded::new(limits.enrollments, ttl.clone()),
            grants: Bounded::new(limits.people, ttl.clone()),
            trusted: Bounded::new(limits.tenants, ttl.clone()),
            keys: ParsedKeys::new(limits.keys),
            fresh,
        }
    }

    pub fn issuer(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.public_url)
    }

    /// The tenant by slug, from the cache while it is fresh.
    pub async fn tenant(&self, slug: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        self.tenants.get_or_load(slug, self.load_tenant(slug)).await
    }

    /// The tenant as the database has it now (for writes that must sign with the current active
    /// key); keys already parsed are reused, so only new ones are unsealed.
    pub async fn fresh_tenant(&self, slug: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        let tenant = self.load_tenant(slug).await?;
        self.tenants.insert(slug.to_owned(), tenant.clone()).await;
        Ok(tenant)
    }

    async fn load_tenant(&self, slug: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        let slug_owned = slug.to_owned();
        let loaded = self
            .store
            .run(move |c| {
                let Some(t) = tenants::find_by_slug(c, &slug_owned)? else {
                    return Ok(None);
                };
                let keys = signing_keys::of_tenant(c, &t.id)?;
                let anchors = store::repo::trust_anchors::of_tenant(c, &t.id)?;
                Ok(Some((t, keys, anchors)))
            })
            .await?;
        let Some((row, key_rows, anchor_rows)) = loaded else {
            return Ok(None);
        };
        let keys = KeyRing::load(&key_rows, &self.master_key, &self.keys)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let anchors = Anchors::from_pems(anchor_rows.iter().map(|a| a.pem.as_str()))
            .map_err(|e| StoreError::Corrupt(format!("trust anchors: {e}")))?;
        let issuer = self.issuer(&row.slug);
        Ok(Some(Arc::new(Tenant {
            anchors,
            token_endpoint: format!("{issuer}/oauth2/token"),
            issuer,
            jwks_json: keys.jwks().to_string(),
            keys,
            row,
        })))
    }

    /// The client of `tenant_id`, from the cache while it is fresh.
    pub async fn client(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        let key = pair(tenant_id, client_id);
        let load = async {
            let (t, id) = key.clone();
            let loaded = self
                .store
                .run(move |c| {
                    let Some(row) = clients::find(c, &t, &id)? else {
                        return Ok(None);
                    };
                    let secrets = clients::secrets_of(c, &row.id)?
                        .into_iter()
                        .map(|s| (s.secret_hash, s.expires_at))
                        .collect();
                    Ok(Some((row, secrets)))
                })
                .await?;
            match loaded {
                Some((row, secrets)) => Ok(Some(Arc::new(
                    Client::from_row(row, secrets).map_err(StoreError::Corrupt)?,
                ))),
                None => Ok(None),
            }
        };
        self.clients.get_or_load(&key, load).await
    }

    /// The device, from the cache while it is fresh.
    pub async fn device(
        &self,
        tenant_id: &str,
        device_id: &str,
    ) -> Result<Option<Arc<Device>>, StoreError> {
        let key = pair(tenant_id, device_id);
        let load = async {
            let (t, id) = key.clone();
            let row = self
                .store
                .run(move |c| store::repo::devices::find(c, &t, &id))
                .await?;
            Ok(row.map(Arc::new))
        };
        self.devices.get_or_load(&key, load).await
    }

    /// The device registered with this certificate.
    pub async fn device_by_thumbprint(
        &self,
        tenant_id: &str,
        thumbprint: &str,
    ) -> Result<Option<Arc<Device>>, StoreError> {
        let key = pair(tenant_id, thumbprint);
        let load = async {
            let (t, tp) = key.clone();
            Ok(self
                .store
                .run(move |c| store::repo::devices::find_by_thumbprint(c, &t, &tp))
                .await?
                .map(|d| d.id))
        };
        match self.device_certs.get_or_load(&key, load).await? {
            Some(id) => self.device(tenant_id, &id).await,
            None => Ok(None),
        }
    }

    /// Is `vendor` enrolled to act for `department`?
    pub async fn enrollment_active(
        &self,
        vendor_id: &str,
        department_id: &str,
    ) -> Result<bool, StoreError> {
        let key = pair(vendor_id, department_id);
        let load = async {
            let (v, d) = key.clone();
            self.store
                .run(move |c| store::repo::enrollments::is_active(c, &v, &d))
                .await
        };
        self.enrollments.get_or_load(&key, load).await
    }

    /// Does the person's grant to an application still stand (not taken back)?
    pub async fn grant_active(&self, tenant_id: &str, grant_id: &str) -> Result<bool, StoreError> {
        let key = pair(tenant_id, grant_id);
        let load = async {
            let id = key.1.clone();
            self.store
                .run(move |c| store::repo::browser::grant_exists(c, &id))
                .await
        };
        self.grants.get_or_load(&key, load).await
    }

    /// The trusted issuer (of any tenant) that holds this `iss` and audience.
    pub async fn trusted_issuer(
        &self,
        iss: &str,
        audience: &str,
    ) -> Result<Option<Arc<Trusted>>, StoreError> {
        let key = pair(iss, audience);
        let load = async {
            let (i, a) = key.clone();
            Ok(self
                .store
                .run(move |c| store::repo::trusted_issuers::route(c, &i, &a))
                .await?
                .map(|(row, tenant_slug)| Arc::new(Trusted { row, tenant_slug })))
        };
        self.trusted.get_or_load(&key, load).await
    }

    /// May the person's tokens be used (the user exists and is not disabled)?
    pub async fn person_active(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let key = pair(tenant_id, user_id);
        let load = async {
            let (t, u) = key.clone();
            Ok(self
                .store
                .run(move |c| store::repo::users::find(c, &t, &u))
                .await?
                .is_some_and(|u| !u.disabled))
        };
        self.people.get_or_load(&key, load).await
    }

    /// Are changes pushed to this replica (entries may then live for [`CacheLimits::pushed_ttl`])?
    pub fn is_pushed(&self) -> bool {
        self.fresh.is_pushed()
    }

    /// Applies what the change listener reports: a notice drops what it names; connecting or
    /// losing the connection drops everything (notices may have been missed, and entries kept
    /// for long could go stale unnoticed) and sets how long new entries live.
    pub async fn apply(&self, event: &Event) {
        let notice = match event {
            Event::Connected | Event::Lost => {
                self.fresh
                    .pushed
                    .store(*event == Event::Connected, Ordering::Release);
                self.clear();
                return;
            }
            Event::Notice(n) => n,
        };
        match notice {
            Notice::Tenant { id, slug } => {
                self.fresh.bump();
                if let Some(slug) = slug {
                    self.tenants.forget(slug.as_str()).await;
                }
                let id = id.clone();
                self.tenants
                    .forget_if(move |_, t| t.as_ref().is_some_and(|t| t.id == id));
            }
            Notice::Client { tenant, id } => {
                self.invalidate(Changed::Client {
                    tenant_id: tenant,
                    client_id: id,
                })
                .await
            }
            Notice::ClientPk { pk } => {
                self.fresh.bump();
                let pk = pk.clone();
                self.clients
                    .forget_if(move |_, c| c.as_ref().is_some_and(|c| c.id == pk));
            }
            Notice::Device { tenant, id, certs } => {
                let cert = |i: usize| certs.get(i).and_then(|c| c.as_deref());
                self.invalidate(Changed::Device {
                    tenant_id: tenant,
                    id,
                    certs: [cert(0), cert(1)],
                })
                .await
            }
            Notice::Person { tenant, id } => {
                self.invalidate(Changed::Person {
                    tenant_id: tenant,
                    id,
                })
                .await
            }
            Notice::Grant { tenant, id } => {
                self.invalidate(Changed::Grant {
                    tenant_id: tenant,
                    id,
                })
                .await
            }
            Notice::Enrollment { vendor, department } => {
                self.invalidate(Changed::Enrollment {
                    vendor_id: vendor,
                    department_id: department,
                })
                .await
            }
            Notice::Issuer { iss } => {
                self.invalidate(Changed::TrustedIssuer { issuer: iss })
                    .await
            }
            // The revocation mirror is the token service's.
            Notice::Revoked { .. } => {}
        }
    }

    /// Drops every entry (the parsed keys stay: they are immutable by key id).
    pub fn clear(&self) {
        self.fresh.bump();
        self.tenants.clear();
        self.clients.clear();
        self.devices.clear();
        self.device_certs.clear();
        self.people.clear();
        self.enrollments.clear();
        self.grants.clear();
        self.trusted.clear();
    }

    /// Drops what `changed` made stale on this replica (others see it within the TTL).
    pub async fn invalidate(&self, changed: Changed<'_>) {
        self.fresh.bump();
        match changed {
            Changed::Tenant { slug } => self.tenants.forget(slug).await,
            Changed::Client {
                tenant_id,
                client_id,
            } => self.clients.forget(&pair(tenant_id, client_id)).await,
            Changed::Device {
                tenant_id,
                id,
                certs,
            } => {
                self.devices.forget(&pair(tenant_id, id)).await;
                for tp in certs.into_iter().flatten() {
                    self.device_certs.forget(&pair(tenant_id, tp)).await;
                }
            }
            Changed::Person { tenant_id, id } => self.people.forget(&pair(tenant_id, id)).await,
            Changed::Grant { tenant_id, id } => self.grants.forget(&pair(tenant_id, id)).await,
            Changed::TrustedIssuer { issuer } => {
                let i = issuer.to_owned();
                self.trusted.forget_if(move |(iss, _), _| *iss == i);
            }
            Changed::Enrollment {
                vendor_id,
                department_id,
            } => {
                self.enrollments
                    .forget(&pair(vendor_id, department_id))
                    .await
            }
            Changed::OrganizationDeleted { tenant_id, id } => {
                let (t, o) = (tenant_id.to_owned(), id.to_owned());
                self.clients.forget_if(move |(tenant, _), c| {
                    *tenant == t
                        && c.as_ref()
                            .is_some_and(|c| c.organization_id.as_ref() == Some(&o))
                });
                let (t, o) = (tenant_id.to_owned(), id.to_owned());
                self.devices.forget_if(move |(tenant, _), d| {
                    *tenant == t && d.as_ref().is_some_and(|d| d.organization_id == o)
                });
                // Certificate lookups only name a device id; those of the tenant are re-read.
                let t = tenant_id.to_owned();
                self.device_certs
                    .forget_if(move |(tenant, _), _| *tenant == t);
                let o = id.to_owned();
                self.enrollments
                    .forget_if(move |(vendor, department), _| *vendor == o || *department == o);
            }
        }
    }
}

#[cfg(test)]
mod tests;
