//! Clients' JWK Sets published at a `jwks_uri`: fetched with a timeout and a size limit,
//! cached, and fetched again when an assertion names an unknown `kid`, so a client can rotate
//! keys without telling us — at once, even right after a fetch. What keeps a flood of unknown
//! kids from making us hammer a URL is a budget per URL: at most [`REFRESH_BUDGET`] refetches
//! per [`REFRESH_WINDOW`]; past it, the cached set answers.
//!
//! One fetch per URL at a time: concurrent requests that need the same set wait for the fetch
//! under way and share its outcome, success or failure. Production tenants' URLs must be https
//! and reach public addresses only, checked on the URL and again on what its name resolves to
//! (so a name pointing at 127.0.0.1 or the cloud metadata address does not get through).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use josekit::jwk::JwkSet;
use josekit::jws::JwsVerifier;

use crate::crypto::TokenVerifier;
use crate::jws::Jws;

pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
pub const JWKS_TTL: Duration = Duration::from_secs(300);
pub const REFRESH_BUDGET: u32 = 6;
pub const REFRESH_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("the client's jwks_uri is not allowed: {0}")]
    Forbidden(String),
    #[error("cannot fetch the client's jwks_uri: {0}")]
    Http(String),
    #[error("the client's jwks_uri answered status {0}")]
    Status(u16),
    #[error("the client's JWK Set is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("the client's jwks_uri does not hold a JWK Set: {0}")]
    Invalid(String),
}

/// A client's JWK Set with the verifiers built from it so far. Building a verifier parses a
/// public key, which OpenSSL 3 makes expensive (its decoder framework), so each is built once
/// per set; a new copy of the set starts afresh, so a reused `kid` can never hit a stale key.
pub struct KeySet {
    pub set: JwkSet,
    verifiers: DashMap<(usize, &'static str), Arc<AssertionVerifier>>,
}

impl KeySet {
    pub fn new(set: JwkSet) -> KeySet {
        KeySet {
            set,
            verifiers: DashMap::new(),
        }
    }

    /// The verifier for the set's `index`-th key under `alg`.
    pub fn verifier(
        &self,
        index: usize,
        alg: &'static str,
        build: impl FnOnce() -> Option<AssertionVerifier>,
    ) -> Option<Arc<AssertionVerifier>> {
        if let Some(v) = self.verifiers.get(&(index, alg)) {
            return Some(v.clone());
        }
        let v = Arc::new(build()?);
        self.verifiers.insert((index, alg), v.clone());
        Some(v)
    }
}

/// A client key ready to check assertions: RS256 and ES256 on the same low-level primitives as
/// the tenants' own keys (OpenSSL 3's EVP path costs more than the check), the other
/// algorithms through josekit.
pub enum AssertionVerifier {
    Own(TokenVerifier),
    Jose(Box<dyn JwsVerifier>),
}

impl AssertionVerifier {
    pub fn verifies(&self, jws: &Jws<'_>) -> bool {
        match self {
            AssertionVerifier::Own(v) => jws.verify_own(v).is_ok(),
            AssertionVerifier::Jose(v) => jws.verify(v.as_ref()).is_ok(),
        }
    }
}

struct Entry {
    set: Arc<KeySet>,
    fetched_at: Instant,
    /// Refetches for unknown kids in the current window, and when the window began.
    refreshes: u32,
    window_start: Instant,
}

type Flight = Arc<tokio::sync::OnceCell<Result<Arc<KeySet>, FetchError>>>;

pub struct JwksFetcher {
    /// Resolves names to public addresses only (production tenants).
    public: reqwest::Client,
    any: reqwest::Client,
    cache: DashMap<String, Entry>,
    inflight: DashMap<String, Flight>,
    /// issuer → its discovery document's `jwks_uri`, and when it was read.
    discovered: DashMap<String, (String, Instant)>,
}

fn http_client(public_only: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("portcullis");
    if public_only {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    b.build().unwrap_or_default()
}

impl JwksFetcher {
    pub fn new() -> JwksFetcher {
        JwksFetcher {
            public: http_client(true),
            any: http_client(false),
            cache: DashMap::new(),
            inflight: DashMap::new(),
            discovered: DashMap::new(),
        }
    }

    /// The set at `uri`: cached while fresh; `refresh` asks for a new copy (an unknown kid),
    /// granted while the URL's budget lasts. `production` applies the production tenants'
    /// address rules ([`check_uri`]).
    pub async fn get(
        &self,
        uri: &str,
        refresh: bool,
        production: bool,
    ) -> Result<Arc<KeySet>, FetchError> {
        // The common case (a known kid, a fresh copy) takes a shared lock only: every
        // private_key_jwt request of every client with a jwks_uri passes here.
        if !refresh {
            if let Some(e) = self.cache.get(uri) {
                if e.fetched_at.elapsed() < JWKS_TTL {
                    return Ok(e.set.clone());
                }
            }
        } else if let Some(mut e) = self.cache.get_mut(uri) {
            if e.fetched_at.elapsed() < JWKS_TTL {
                if e.window_start.elapsed() >= REFRESH_WINDOW {
                    e.window_start = Instant::now();
                    e.refreshes = 0;
                }
                if e.refreshes >= REFRESH_BUDGET {
                    return Ok(e.set.clone());
                }
                // Counted when granted, so concurrent unknown kids cannot overdraw it.
                e.refreshes += 1;
            }
        }
        check_uri(uri, production).map_err(FetchError::Forbidden)?;
        let flight: Flight = self.inflight.entry(uri.to_owned()).or_default().clone();
        let outcome = flight
            .get_or_init(|| async {
                let http = if production { &self.public } else { &self.any };
                let fetched = self
                    .fetch(http, uri)
                    .await
                    .map(|s| Arc::new(KeySet::new(s)));
                if let Ok(set) = &fetched {
                    let now = Instant::now();
                    let mut entry = self.cache.entry(uri.to_owned()).or_insert_with(|| Entry {
                        set: set.clone(),
                        fetched_at: now,
                        refreshes: 0,
                        window_start: now,
                    });
                    // The refetch budget outlives the copy it replaces.
                    entry.set = set.clone();
                    entry.fetched_at = now;
                }
                fetched
            })
            .await
            .clone();
        // Later requests start a new flight; those that waited on this one shared it.
        self.inflight.remove_if(uri, |_, f| Arc::ptr_eq(f, &flight));
        outcome
    }

    /// The `jwks_uri` of an issuer's discovery document (`{issuer}/.well-known/openid-configuration`),
    /// under the same address rules, timeouts and size limit as key sets; kept for the key
    /// sets' lifetime.
    pub async fn discover(&self, issuer: &str, production: bool) -> Result<String, FetchError> {
        if let Some(e) = self.discovered.get(issuer) {
            if e.1.elapsed() < JWKS_TTL {
                return Ok(e.0.clone());
            }
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        check_uri(&url, production).map_err(FetchError::Forbidden)?;
        let http = if production { &self.public } else { &self.any };
        let body = Self::read(http, &url).await?;
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| FetchError::Invalid(e.to_string()))?;
        let jwks_uri = doc["jwks_uri"]
            .as_str()
            .ok_or_else(|| FetchError::Invalid("the discovery document has no jwks_uri".into()))?
            .to_owned();
        self.discovered
            .insert(issuer.to_owned(), (jwks_uri.clone(), Instant::now()));
        Ok(jwks_uri)
    }

    async fn read(http: &reqwest::Client, uri: &str) -> Result<Vec<u8>, FetchError> {
        let mut resp = http
            .get(uri)
            .send()
            .await
            .map_err(|e| FetchError::Http(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n as usize > MAX_JWKS_BYTES)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Http(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    async fn fetch(&self, http: &reqwest::Client, uri: &str) -> Result<JwkSet, FetchError> {
        let body = Self::read(http, uri).await?;
        JwkSet::from_bytes(&body).map_err(|e| FetchError::Invalid(e.to_string()))
    }
}

impl Default for JwksFetcher {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `uri` may be fetched for a tenant: http(s) everywhere; in production tenants https
/// only, and not to a name or address that is loopback, private, link-local (the cloud
/// metadata address 169.254.169.254 is one) or otherwise not on the public internet.
pub fn check_uri(uri: &str, production: bool) -> Result<(), String> {
    let url = reqwest::Url::parse(uri).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if !production => {}
        "http" => return Err("must be https in a production tenant".into()),
        _ => return Err("must be an http(s) URL".into()),
    }
    let host = url.host_str().ok_or("has no host")?;
    if !production {
        return Ok(());
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = literal.parse::<IpAddr>() else {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal") {
            return Err("must name a public host in a production tenant".into());
        }
        return Ok(());
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err("must be a public address in a production tenant".into())
    }
}

/// Addresses on the public internet (not loopback, private, link-local, shared, documentation,
/// multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

/// A resolver that keeps only public addresses, for production tenants' fetches.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests;
