//! Tenant signing keys: generation, sealing at rest, and the in-memory key ring built from them.

use std::collections::HashMap;
use std::sync::Arc;

use domain::model::KeyState;
use domain::secrets::MasterKey;
use domain::{ids, now_unix};
use josekit::jws::{ES256, RS256};
use store::repo::signing_keys::SigningKeyRow;

use crate::crypto::{TokenSigner, TokenVerifier};
use crate::jws::encode_header;

pub use domain::model::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("stored key {kid} cannot be used: {reason}")]
    Load { kid: String, reason: String },
}

/// A new key pair for `tenant_id`, its private half sealed under the master key.
pub fn generate(
    tenant_id: &str,
    alg: SigningAlg,
    state: KeyState,
    master_key: &MasterKey,
) -> Result<SigningKeyRow, KeyError> {
    let kid = ids::new_id();
    let err = |e: &dyn std::fmt::Display| KeyError::Generate(e.to_string());
    let (der, mut jwk) = match alg {
        SigningAlg::Rs256 => {
            let kp = RS256.generate_key_pair(2048).map_err(|e| err(&e))?;
            (kp.to_der_private_key(), kp.to_jwk_public_key())
        }
        SigningAlg::Es256 => {
            let kp = ES256.generate_key_pair().map_err(|e| err(&e))?;
            (kp.to_der_private_key(), kp.to_jwk_public_key())
        }
    };
    jwk.set_key_id(&kid);
    jwk.set_algorithm(alg.as_str());
    jwk.set_key_use("sig");
    let sealed = master_key.seal(&der, kid.as_bytes()).map_err(|e| err(&e))?;
    let now = now_unix();
    Ok(SigningKeyRow {
        id: kid,
        tenant_id: tenant_id.to_owned(),
        alg,
        state,
        public_jwk: jwk.to_string(),
        private_key_sealed: sealed,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
    })
}

/// The active key for one algorithm, parsed once, with its token headers pre-encoded.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub signer: TokenSigner,
    /// `{"alg","kid","typ":"at+jwt"}`, base64url.
    pub access_header: String,
    /// `{"alg","kid","typ":"JWT"}`, base64url.
    pub id_header: String,
}

pub struct VerifyKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub retired_at: Option<i64>,
    pub verifier: TokenVerifier,
    pub public_jwk: serde_json::Value,
}

/// How long a retired key stays published and verifying: longer than any access token lives.
pub const RETIRED_KEY_GRACE_SECS: i64 = 24 * 3600;

/// Keys already parsed (and for signing, unsealed), by key id: a tenant reload reuses them, so
/// a key costs its parse once per key and state, not once per reload. Bounded; an entry unused
/// for an hour is dropped (a key in use is touched at every reload of its tenant).
pub struct ParsedKeys {
    verifiers: moka::sync::Cache<String, Arc<VerifyKey>>,
    signers: moka::sync::Cache<String, Arc<SigningKey>>,
}

impl ParsedKeys {
    pub fn new(capacity: u64) -> ParsedKeys {
        let idle = std::time::Duration::from_secs(3600);
        ParsedKeys {
            verifiers: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(idle)
                .build(),
            signers: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(idle)
                .build(),
        }
    }
}

/// A tenant's keys as the token path uses them.
#[derive(Default)]
pub struct KeyRing {
    signers: HashMap<SigningAlg, Arc<SigningKey>>,
    verifiers: HashMap<String, Arc<VerifyKey>>,
}

impl KeyRing {
    /// Builds the ring from stored rows, reusing keys `parsed` already holds (parsing and
    /// unsealing an RSA key costs far more than a database read).
    pub fn load(
        rows: &[SigningKeyRow],
        master_key: &MasterKey,
        parsed: &ParsedKeys,
    ) -> Result<KeyRing, KeyError> {
        let now = now_unix();
        let mut ring = KeyRing::default();
        for row in rows {
            let load_err = |reason: String| KeyError::Load {
                kid: row.id.clone(),
                reason,
            };
            let (alg, state) = (row.alg, row.state);
            if state == KeyState::Retired
                && row
                    .retired_at
                    .is_some_and(|t| t + RETIRED_KEY_GRACE_SECS < now)
            {
                continue;
            }
            let reused = parsed
                .verifiers
                .get(&row.id)
                .filter(|v| v.state == state && v.retired_at == row.retired_at);
            let verify = match reused {
                Some(v) => v,
                None => {
                    let public_jwk: serde_json::Value = serde_json::from_str(&row.public_jwk)
                        .map_err(|e| load_err(e.to_string()))?;
                    let verifier = TokenVerifier::from_jwk(alg, &public_jwk).map_err(load_err)?;
                    let v = Arc::new(VerifyKey {
                        kid: row.id.clone(),
                        alg,
                        state,
                        retired_at: row.retired_at,
                        verifier,
                        public_jwk,
                    });
                    parsed.verifiers.insert(row.id.clone(), v.clone());
                    v
                }
            };
            ring.verifiers.insert(row.id.clone(), verify);
            if state == KeyState::Active {
                let signer = match parsed.signers.get(&row.id) {
                    Some(s) => s,
                    None => {
                        let der = master_key
                            .open(&row.private_key_sealed, row.id.as_bytes())
                            .map_err(|e| load_err(e.to_string()))?;
                        let signer = TokenSigner::from_der(alg, &der).map_err(load_err)?;
                        let s = Arc::new(SigningKey {
                            kid: row.id.clone(),
                            alg,
                            signer,
                            access_header: encode_header(alg.as_str(), &row.id, "at+jwt"),
                            id_header: encode_header(alg.as_str(), &row.id, "JWT"),
                        });
                        parsed.signers.insert(row.id.clone(), s.clone());
                        s
                    }
                };
                ring.signers.insert(alg, signer);
            }
        }
        Ok(ring)
    }

    pub fn signer(&self, alg: SigningAlg) -> Option<&Arc<SigningKey>> {
        self.signers.get(&alg)
    }

    pub fn verifier(&self, kid: &str) -> Option<&Arc<VerifyKey>> {
        self.verifiers.get(kid)
    }

    /// The public JWK Set document.
    pub fn jwks(&self) -> serde_json::Value {
        let mut keys: Vec<&Arc<VerifyKey>> = self.verifiers.values().collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        serde_json::json!({ "keys": keys.iter().map(|k| &k.public_jwk).collect::<Vec<_>>() })
    }
}
