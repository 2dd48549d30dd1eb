//! Compact JWS (RFC 7515) encoding and parsing. The cryptography is josekit's (OpenSSL); the
//! framing is done here so that headers are encoded once per key and claims are serialised
//! straight from their structs, which keeps the token path free of needless allocations.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use josekit::jws::JwsVerifier;

use crate::crypto::{TokenSigner, TokenVerifier};
use serde::{Deserialize, Serialize};

/// Largest compact JWS accepted anywhere (assertions, access tokens, device tokens).
pub const MAX_JWS_LEN: usize = 8 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("not a compact JWS (three base64url parts)")]
    Malformed,
    #[error("JWS larger than {MAX_JWS_LEN} bytes")]
    TooLarge,
    #[error("JWS header is not valid JSON: {0}")]
    BadHeader(String),
    #[error("JWS payload is not valid JSON: {0}")]
    BadPayload(String),
    #[error("JWS uses unsupported critical extensions")]
    Critical,
    #[error("signature does not verify")]
    BadSignature,
    #[error("signing failed: {0}")]
    Sign(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub jku: Option<String>,
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug)]
pub struct Jws<'a> {
    pub header: Header,
    signing_input: &'a str,
    payload_b64: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    pub fn parse(token: &'a str) -> Result<Jws<'a>, JwsError> {
        if token.len() > MAX_JWS_LEN {
            return Err(JwsError::TooLarge);
        }
        let mut parts = token.splitn(4, '.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        if h.is_empty() || s.is_empty() {
            return Err(JwsError::Malformed);
        }
        let header_json = B64.decode(h).map_err(|_| JwsError::Malformed)?;
        let header: Header =
            serde_json::from_slice(&header_json).map_err(|e| JwsError::BadHeader(e.to_string()))?;
        if header.crit.is_some() {
            return Err(JwsError::Critical);
        }
        let signature = B64.decode(s).map_err(|_| JwsError::Malformed)?;
        Ok(Jws {
            header,
            signing_input: &token[..h.len() + 1 + p.len()],
            payload_b64: p,
            signature,
        })
    }

    /// With a client's key (any algorithm josekit knows).
    pub fn verify(&self, verifier: &dyn JwsVerifier) -> Result<(), JwsError> {
        verifier
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwsError::BadSignature)
    }

    /// With one of a tenant's own keys.
    pub fn verify_own(&self, verifier: &TokenVerifier) -> Result<(), JwsError> {
        if verifier.verify(self.signing_input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(JwsError::BadSignature)
        }
    }

    /// The payload as `T`. Call only after [`Jws::verify`] unless the claims merely route the
    /// verification (e.g. which tenant's keys to use).
    pub fn claims<T: for<'de> Deserialize<'de>>(&self) -> Result<T, JwsError> {
        let bytes = B64
            .decode(self.payload_b64)
            .map_err(|_| JwsError::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|e| JwsError::BadPayload(e.to_string()))
    }
}

/// The encoded protected header for a key: computed once per key, reused for every token.
pub fn encode_header(alg: &str, kid: &str, typ: &str) -> String {
    let json = serde_json::json!({ "alg": alg, "kid": kid, "typ": typ });
    B64.encode(json.to_string())
}

/// `header_b64 . base64url(claims) . base64url(signature)`.
pub fn sign(
    header_b64: &str,
    claims: &impl Serialize,
    signer: &TokenSigner,
) -> Result<String, JwsError> {
    let payload = serde_json::to_vec(claims).map_err(|e| JwsError::Sign(e.to_string()))?;
    let mut out = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 400);
    out.push_str(header_b64);
    out.push('.');
    B64.encode_string(&payload, &mut out);
    let signature = signer.sign(out.as_bytes()).map_err(JwsError::Sign)?;
    out.push('.');
    B64.encode_string(&signature, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests;
