//! The token service: what every OAuth endpoint and the bearer guard share. Tenants (with
//! their parsed keys) and clients are cached in memory in front of the database; each entry is
//! re-read after [`CACHE_TTL`], so a change made on another replica shows within that bound,
//! and at once on the replica that made it (it calls `forget_*`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use domain::accounts::{Accounts, TenantRef};
use domain::model::{AuthMethod, ClientKind, Environment, GrantType};
use domain::secrets::MasterKey;
use store::repo::clients::{self, ClientRow};
use store::repo::{signing_keys, tenants};
use store::{Store, StoreError};

use crate::jwks_fetch::{JwksFetcher, KeySet};
use crate::keys::{KeyRing, SigningAlg};
use crate::maintenance::{JtiLedger, Revocations};
use crate::mtls::{Anchors, ClientCert, SanKind};
use domain::client_metadata::ClientMetadata;

/// Upper bound on how stale a cached tenant or client may be (documented in the README).
pub const CACHE_TTL: Duration = Duration::from_secs(5);

pub struct Tenant {
    pub id: String,
    pub slug: String,
    /// `{public_url}/t/{slug}`.
    pub issuer: String,
    pub token_endpoint: String,
    pub environment: Environment,
    pub disabled: bool,
    /// Access-token lifetime for clients that set none (the tenant's settings).
    pub access_token_ttl: i64,
    pub keys: KeyRing,
    /// The JWKS document, serialised once.
    pub jwks_json: String,
    /// CA certificates client certificates must chain to (mutual TLS).
    pub anchors: Anchors,
    loaded_at: Instant,
}

impl Tenant {
    /// The tenant as the accounts of people see it.
    pub fn account_ref(&self) -> TenantRef {
        TenantRef {
            id: self.id.clone(),
            slug: self.slug.clone(),
            production: self.environment == Environment::Production,
        }
    }
}

pub struct Client {
    pub pk: String,
    pub tenant_id: String,
    pub client_id: String,
    pub kind: ClientKind,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub roles: Vec<String>,
    /// `None`: the tenant's default.
    pub access_token_ttl: Option<i64>,
    pub access_token_alg: SigningAlg,
    pub organization_id: Option<String>,
    pub disabled: bool,
    /// `(HMAC of the secret, expiry)`; several live at once during rotation.
    pub secrets: Vec<(Vec<u8>, Option<i64>)>,
    pub jwks: Option<Arc<KeySet>>,
    pub jwks_uri: Option<String>,
    /// `tls_client_auth`: the certificate identity the client registered.
    pub tls_identity: Option<TlsIdentity>,
    /// `self_signed_tls_client_auth`: thumbprints of the certificates in its JWKS (`x5c`).
    pub self_signed_certs: Vec<String>,
    pub require_device_auth: bool,
    pub bound_tokens_only: bool,
    /// Secret failures in a row, and until when the client is locked (as last read).
    pub failed_auth_count: i32,
    pub locked_until: Option<i64>,
    loaded_at: Instant,
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

/// Failed client authentications in a row that lock a client, and for how long.
pub const MAX_AUTH_FAILURES: i32 = 10;
pub const AUTH_LOCKOUT_SECS: i64 = 300;

/// Default access-token lifetime (seconds) when the client sets none.
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 300;

impl Client {
    pub(crate) fn from_row(
        row: ClientRow,
        secrets: Vec<(Vec<u8>, Option<i64>)>,
    ) -> Result<Client, String> {
        let list = |json: &str, what: &str| -> Result<Vec<String>, String> {
            serde_json::from_str(json).map_err(|e| format!("client {} {what}: {e}", row.client_id))
        };
        let grant_types = list(&row.grant_types, "grant_types")?
            .iter()
            .filter_map(|g| g.parse().ok())
            .collect();
        let jwks = match &row.jwks {
            Some(j) => Some(Arc::new(KeySet::new(
                josekit::jwk::JwkSet::from_bytes(j.as_bytes())
                    .map_err(|e| format!("client {} jwks: {e}", row.client_id))?,
            ))),
            None => None,
        };
        let metadata: ClientMetadata = serde_json::from_str(&row.metadata)
            .map_err(|e| format!("client {} metadata: {e}", row.client_id))?;
        Ok(Client {
            tls_identity: TlsIdentity::of(&metadata),
            self_signed_certs: row.jwks.as_deref().map(x5c_thumbprints).unwrap_or_default(),
            require_device_auth: metadata.require_device_auth,
            bound_tokens_only: metadata.tls_client_certificate_bound_access_tokens,
            failed_auth_count: row.failed_auth_count,
            locked_until: row.locked_until,
            kind: row.kind.parse().map_err(|e| format!("{e}"))?,
            auth_method: row.auth_method.parse().map_err(|e| format!("{e}"))?,
            grant_types,
            scopes: list(&row.scopes, "scopes")?,
            default_scopes: list(&row.default_scopes, "default_scopes")?,
            roles: list(&row.tenant_roles, "tenant_roles")?,
            access_token_ttl: row.access_token_ttl,
            access_token_alg: SigningAlg::parse(&row.access_token_alg).unwrap_or(SigningAlg::Rs256),
            organization_id: row.organization_id,
            disabled: row.disabled,
            secrets,
            jwks,
            jwks_uri: row.jwks_uri,
            pk: row.id,
            tenant_id: row.tenant_id,
            client_id: row.client_id,
            loaded_at: Instant::now(),
        })
    }
}

/// What validating a device token needs to know about the device.
pub struct Device {
    pub id: String,
    pub tenant_id: String,
    pub organization_id: String,
    pub disabled: bool,
    pub token_version: i64,
    pub token_kid: Option<String>,
    pub cert_thumbprint: Option<String>,
    pub secret_hash: Option<Vec<u8>>,
    loaded_at: Instant,
}

/// What a write changed, as the caches need to know it. [`TokenService::invalidate`] is the
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
    Device {
        id: &'a str,
    },
    Person {
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

pub struct TokenService {
    pub store: Store,
    /// People's accounts (the password and mfa-otp grants); `None` refuses those grants.
    accounts: Option<Arc<dyn Accounts>>,
    pub master_key: Arc<MasterKey>,
    pub public_url: String,
    tenants: DashMap<String, Arc<Tenant>>,
    /// tenant id → client id → client.
    clients: DashMap<String, Arc<DashMap<String, Arc<Client>>>>,
    devices: DashMap<String, Arc<Device>>,
    /// (vendor, department) → enrollment active?
    enrollments: DashMap<(String, String), (bool, Instant)>,
    /// user id → may the person's tokens be used?
    people: DashMap<String, (bool, Instant)>,
    /// (tenant id, certificate thumbprint) → the device registered with it.
    device_certs: DashMap<(String, String), (Option<String>, Instant)>,
    /// Base URL of the mutual-TLS listener, when it differs from `public_url` (RFC 8705 §5);
    /// set once at start-up.
    mtls_url: std::sync::OnceLock<String>,
    pub(crate) jwks: JwksFetcher,
    pub(crate) jtis: JtiLedger,
    pub(crate) revocations: Arc<Revocations>,
}

impl TokenService {
    pub fn new(store: Store, master_key: Arc<MasterKey>, public_url: String) -> TokenService {
        let revocations = Arc::new(Revocations::default());
        TokenService {
            jtis: JtiLedger::start(store.clone(), revocations.clone()),
            store,
            master_key,
            public_url,
            tenants: DashMap::new(),
            clients: DashMap::new(),
            devices: DashMap::new(),
            enrollments: DashMap::new(),
            people: DashMap::new(),
            device_certs: DashMap::new(),
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
        format!("{}/t/{slug}", self.public_url)
    }

    /// The tenant by slug, from the cache while it is fresh.
    pub async fn tenant(&self, slug: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        self.tenant_within(slug, CACHE_TTL).await
    }

    /// The tenant as the database has it now (for writes that must sign with the current active
    /// key); keys already parsed are reused, so only changed ones are unsealed again.
    pub async fn fresh_tenant(&self, slug: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        self.tenant_within(slug, Duration::ZERO).await
    }

    async fn tenant_within(
        &self,
        slug: &str,
        max_age: Duration,
    ) -> Result<Option<Arc<Tenant>>, StoreError> {
        let cached = self.tenants.get(slug).map(|t| t.clone());
        if let Some(t) = &cached {
            if t.loaded_at.elapsed() < max_age {
                return Ok(cached);
            }
        }
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
            self.tenants.remove(slug);
            return Ok(None);
        };
        let keys = KeyRing::load(
            &key_rows,
            &self.master_key,
            cached.as_ref().map(|t| &t.keys),
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let anchors = Anchors::from_pems(anchor_rows.iter().map(|a| a.pem.as_str()))
            .map_err(|e| StoreError::Corrupt(format!("trust anchors: {e}")))?;
        let issuer = self.issuer(&row.slug);
        let tenant = Arc::new(Tenant {
            anchors,
            token_endpoint: format!("{issuer}/oauth2/token"),
            issuer,
            jwks_json: keys.jwks().to_string(),
            keys,
            environment: row.environment.parse().unwrap_or(Environment::Production),
            access_token_ttl: serde_json::from_str::<serde_json::Value>(&row.settings)
                .ok()
                .and_then(|s| s["access_token_lifetime"].as_i64())
                .unwrap_or(DEFAULT_ACCESS_TOKEN_TTL),
            disabled: row.disabled,
            id: row.id,
            slug: row.slug,
            loaded_at: Instant::now(),
        });
        self.tenants.insert(tenant.slug.clone(), tenant.clone());
        Ok(Some(tenant))
    }

    /// The client of `tenant_id`, from the cache while it is fresh.
    pub async fn client(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        let map = self.clients.get(tenant_id).map(|m| m.clone());
        if let Some(c) = map
            .as_ref()
            .and_then(|m| m.get(client_id).map(|c| c.clone()))
        {
            if c.loaded_at.elapsed() < CACHE_TTL {
                return Ok(Some(c));
            }
        }
        let (t, id) = (tenant_id.to_owned(), client_id.to_owned());
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
        let map = map.unwrap_or_else(|| {
            self.clients
                .entry(tenant_id.to_owned())
                .or_default()
                .clone()
        });
        let Some((row, secrets)) = loaded else {
            map.remove(client_id);
            return Ok(None);
        };
        let client = Arc::new(Client::from_row(row, secrets).map_err(StoreError::Corrupt)?);
        map.insert(client_id.to_owned(), client.clone());
        Ok(Some(client))
    }

    /// The device, from the cache while it is fresh.
    pub async fn device(
        &self,
        tenant_id: &str,
        device_id: &str,
    ) -> Result<Option<Arc<Device>>, StoreError> {
        if let Some(d) = self.devices.get(device_id).map(|d| d.clone()) {
            if d.loaded_at.elapsed() < CACHE_TTL && d.tenant_id == tenant_id {
                return Ok(Some(d));
            }
        }
        let (t, id) = (tenant_id.to_owned(), device_id.to_owned());
        let row = self
            .store
            .run(move |c| store::repo::devices::find(c, &t, &id))
            .await?;
        let Some(row) = row else {
            self.devices.remove(device_id);
            return Ok(None);
        };
        let device = Arc::new(Device {
            id: row.id,
            tenant_id: row.tenant_id,
            organization_id: row.organization_id,
            disabled: row.disabled,
            token_version: row.token_version,
            token_kid: row.token_kid,
            cert_thumbprint: row.cert_thumbprint,
            secret_hash: row.secret_hash,
            loaded_at: Instant::now(),
        });
        self.devices.insert(device.id.clone(), device.clone());
        Ok(Some(device))
    }

    /// Is `vendor` enrolled to act for `department`? Cached like clients; the replica that
    /// changes an enrollment calls [`Self::forget_enrollment`], others see it within the TTL.
    pub async fn enrollment_active(
        &self,
        vendor_id: &str,
        department_id: &str,
    ) -> Result<bool, StoreError> {
        let key = (vendor_id.to_owned(), department_id.to_owned());
        if let Some(e) = self.enrollments.get(&key) {
            if e.1.elapsed() < CACHE_TTL {
                return Ok(e.0);
            }
        }
        let (v, d) = key.clone();
        let active = self
            .store
            .run(move |c| store::repo::enrollments::is_active(c, &v, &d))
            .await?;
        self.enrollments.insert(key, (active, Instant::now()));
        Ok(active)
    }

    fn forget_enrollment(&self, vendor_id: &str, department_id: &str) {
        self.enrollments
            .remove(&(vendor_id.to_owned(), department_id.to_owned()));
    }

    /// May the person's tokens be used (the user exists and is not disabled)? Cached like
    /// clients.
    pub async fn person_active(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError> {
        if let Some(p) = self.people.get(user_id) {
            if p.1.elapsed() < CACHE_TTL {
                return Ok(p.0);
            }
        }
        let (t, u) = (tenant_id.to_owned(), user_id.to_owned());
        let active = self
            .store
            .run(move |c| store::repo::users::find(c, &t, &u))
            .await?
            .is_some_and(|u| !u.disabled);
        self.people
            .insert(user_id.to_owned(), (active, Instant::now()));
        Ok(active)
    }

    fn forget_person(&self, user_id: &str) {
        self.people.remove(user_id);
    }

    /// The device registered with this certificate, cached like devices.
    pub async fn device_by_thumbprint(
        &self,
        tenant_id: &str,
        thumbprint: &str,
    ) -> Result<Option<Arc<Device>>, StoreError> {
        let key = (tenant_id.to_owned(), thumbprint.to_owned());
        let cached = self
            .device_certs
            .get(&key)
            .filter(|e| e.1.elapsed() < CACHE_TTL)
            .map(|e| e.0.clone());
        let id = match cached {
            Some(id) => id,
            None => {
                let (t, tp) = key.clone();
                let id = self
                    .store
                    .run(move |c| store::repo::devices::find_by_thumbprint(c, &t, &tp))
                    .await?
                    .map(|d| d.id);
                self.device_certs.insert(key, (id.clone(), Instant::now()));
                id
            }
        };
        match id {
            Some(id) => self.device(tenant_id, &id).await,
            None => Ok(None),
        }
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
        self.forget_client(tenant_id, client_id);
        Ok(())
    }

    /// After a success: clears the failure count, if there was one (rarely: no write otherwise).
    pub(crate) async fn clear_auth_failures(&self, client: &Client) -> Result<(), StoreError> {
        if client.failed_auth_count == 0 && client.locked_until.is_none() {
            return Ok(());
        }
        let pk = client.pk.clone();
        self.store
            .run(move |c| store::repo::clients::clear_failed_auth(c, &pk))
            .await?;
        self.forget_client(&client.tenant_id, &client.client_id);
        Ok(())
    }

    /// Drops what `changed` made stale on this replica (others see it within the TTL).
    pub fn invalidate(&self, changed: Changed<'_>) {
        match changed {
            Changed::Tenant { slug } => self.forget_tenant(slug),
            Changed::Client {
                tenant_id,
                client_id,
            } => self.forget_client(tenant_id, client_id),
            Changed::Device { id } => self.forget_device(id),
            Changed::Person { id } => self.forget_person(id),
            Changed::Enrollment {
                vendor_id,
                department_id,
            } => self.forget_enrollment(vendor_id, department_id),
            Changed::OrganizationDeleted { tenant_id, id } => {
                if let Some(clients) = self.clients.get(tenant_id) {
                    clients.retain(|_, c| c.organization_id.as_deref() != Some(id));
                }
                let mut gone = Vec::new();
                self.devices.retain(|device_id, d| {
                    let keep = d.organization_id != id;
                    if !keep {
                        gone.push(device_id.clone());
                    }
                    keep
                });
                self.device_certs
                    .retain(|_, (device, _)| !device.as_ref().is_some_and(|d| gone.contains(d)));
                self.enrollments
                    .retain(|(vendor, department), _| vendor != id && department != id);
            }
        }
    }

    fn forget_device(&self, device_id: &str) {
        self.devices.remove(device_id);
    }

    /// Drops a cached tenant so the next request reads it again (after an admin change).
    fn forget_tenant(&self, slug: &str) {
        self.tenants.remove(slug);
    }

    fn forget_client(&self, tenant_id: &str, client_id: &str) {
        if let Some(m) = self.clients.get(tenant_id) {
            m.remove(client_id);
        }
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
