//! Clients' JWK Sets published at a `jwks_uri`: fetched with a timeout and a size limit,
//! cached, and refreshed at most once per [`MIN_REFRESH`] when an assertion names an unknown
//! `kid` (so a client can rotate keys without telling us, and nobody can make us hammer a URL).

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
pub const MIN_REFRESH: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
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
}

pub struct JwksFetcher {
    http: reqwest::Client,
    cache: DashMap<String, Entry>,
}

impl JwksFetcher {
    pub fn new() -> JwksFetcher {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("portcullis")
            .build()
            .unwrap_or_default();
        JwksFetcher {
            http,
            cache: DashMap::new(),
        }
    }

    /// The set at `uri`: cached while fresh; `refresh` asks for a new copy (an unknown kid),
    /// granted only if the cached one is older than [`MIN_REFRESH`].
    pub async fn get(&self, uri: &str, refresh: bool) -> Result<Arc<KeySet>, FetchError> {
        if let Some(e) = self.cache.get(uri) {
            let age = e.fetched_at.elapsed();
            if age < JWKS_TTL && (!refresh || age < MIN_REFRESH) {
                return Ok(e.set.clone());
            }
        }
        let set = Arc::new(KeySet::new(self.fetch(uri).await?));
        self.cache.insert(
            uri.to_owned(),
            Entry {
                set: set.clone(),
                fetched_at: Instant::now(),
            },
        );
        Ok(set)
    }

    async fn fetch(&self, uri: &str) -> Result<JwkSet, FetchError> {
        let mut resp = self
            .http
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
        JwkSet::from_bytes(&body).map_err(|e| FetchError::Invalid(e.to_string()))
    }
}

impl Default for JwksFetcher {
    fn default() -> Self {
        Self::new()
    }
}
