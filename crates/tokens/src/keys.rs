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

/// Algorithms a tenant signs with. Every tenant has an active key of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Rs256,
    Es256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Rs256, SigningAlg::Es256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<SigningAlg> {
        match s {
            "RS256" => Some(SigningAlg::Rs256),
            "ES256" => Some(SigningAlg::Es256),
            _ => None,
        }
    }
}

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
        alg: alg.as_str().to_owned(),
        state: state.to_string(),
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

/// A tenant's keys as the token path uses them.
#[derive(Default)]
pub struct KeyRing {
    signers: HashMap<SigningAlg, Arc<SigningKey>>,
    verifiers: HashMap<String, Arc<VerifyKey>>,
}

impl KeyRing {
    /// Builds the ring from stored rows, reusing already parsed keys from `previous` (parsing
    /// and unsealing an RSA key costs far more than a database read).
    pub fn load(
        rows: &[SigningKeyRow],
        master_key: &MasterKey,
        previous: Option<&KeyRing>,
    ) -> Result<KeyRing, KeyError> {
        let now = now_unix();
        let mut ring = KeyRing::default();
        for row in rows {
            let load_err = |reason: String| KeyError::Load {
                kid: row.id.clone(),
                reason,
            };
            let alg = SigningAlg::parse(&row.alg)
                .ok_or_else(|| load_err(format!("algorithm {}", row.alg)))?;
            let state: KeyState = row
                .state
                .parse()
                .map_err(|e: domain::model::ParseError| load_err(e.to_string()))?;
            if state == KeyState::Retired
                && row
                    .retired_at
                    .is_some_and(|t| t + RETIRED_KEY_GRACE_SECS < now)
            {
                continue;
            }
            let reused = previous
                .and_then(|p| p.verifiers.get(&row.id))
                .filter(|v| v.state == state);
            let verify = match reused {
                Some(v) => v.clone(),
                None => {
                    let public_jwk: serde_json::Value = serde_json::from_str(&row.public_jwk)
                        .map_err(|e| load_err(e.to_string()))?;
                    let verifier = TokenVerifier::from_jwk(alg, &public_jwk).map_err(load_err)?;
                    Arc::new(VerifyKey {
                        kid: row.id.clone(),
                        alg,
                        state,
                        retired_at: row.retired_at,
                        verifier,
                        public_jwk,
                    })
                }
            };
            ring.verifiers.insert(row.id.clone(), verify);
            if state == KeyState::Active {
                let reused = previous
                    .and_then(|p| p.signers.get(&alg))
                    .filter(|s| s.kid == row.id);
                let signer = match reused {
                    Some(s) => s.clone(),
                    None => {
                        let der = master_key
                            .open(&row.private_key_sealed, row.id.as_bytes())
                            .map_err(|e| load_err(e.to_string()))?;
                        let signer = TokenSigner::from_der(alg, &der).map_err(load_err)?;
                        Arc::new(SigningKey {
                            kid: row.id.clone(),
                            alg,
                            signer,
                            access_header: encode_header(alg.as_str(), &row.id, "at+jwt"),
                            id_header: encode_header(alg.as_str(), &row.id, "JWT"),
                        })
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
