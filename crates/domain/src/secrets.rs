//! The master key and everything derived from it: keyed hashes of client and device secrets,
//! and sealing of private keys at rest.
//!
//! Secrets Portcullis issues are 256-bit random values, so a keyed hash (HMAC-SHA-256) is as
//! strong as a slow password hash while costing microseconds on the token path; the key keeps a
//! stolen database from being a list of verifiable guesses.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::sha::Sha256;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the master key must be 32 bytes, encoded as base64, base64url or hex")]
    BadMasterKey,
    #[error("sealed data is damaged or was sealed under another master key")]
    Unseal,
    #[error("cryptographic library failure: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// Length of every secret Portcullis issues, in bytes (256 bits).
pub const SECRET_BYTES: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The platform's root key. Never leaves memory; only keys derived from it are used.
pub struct MasterKey {
    hmac: HmacSha256,
    seal_key: [u8; 32],
}

/// HMAC-SHA-256 (RFC 2104) with the keyed inner and outer SHA-256 states computed once: a MAC
/// then costs two SHA-256 finishes, without OpenSSL 3's per-call algorithm fetch, which
/// dominated the token path when done through EVP.
#[derive(Clone)]
struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl HmacSha256 {
    /// Keys longer than the 64-byte block are hashed first, as RFC 2104 says.
    fn new(key: &[u8]) -> HmacSha256 {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&openssl::sha::sha256(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner = Sha256::new();
        let mut outer = Sha256::new();
        inner.update(&block.map(|b| b ^ 0x36));
        outer.update(&block.map(|b| b ^ 0x5c));
        HmacSha256 { inner, outer }
    }

    fn mac(&self, data: &[u8]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        inner.update(data);
        let mut outer = self.outer.clone();
        outer.update(&inner.finish());
        outer.finish()
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Derives purpose-bound subkeys so that the hashing key and the sealing key are never the
    /// same bytes (HKDF-Expand with a single block is exactly this HMAC).
    pub fn from_bytes(raw: &[u8; 32]) -> Result<Self, SecretError> {
        let root = HmacSha256::new(raw);
        let hmac = HmacSha256::new(&root.mac(b"portcullis secret-hash v1\x01"));
        let seal_key = root.mac(b"portcullis seal v1\x01");
        Ok(MasterKey { hmac, seal_key })
    }

    /// Parses the textual form used in configuration and in the key file.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let raw = decode_32(text).ok_or(SecretError::BadMasterKey)?;
        Self::from_bytes(&raw)
    }

    /// A new random master key and its textual form (base64url), for the first dev start.
    pub fn generate() -> Result<(Self, String), SecretError> {
        let mut raw = [0u8; 32];
        openssl::rand::rand_bytes(&mut raw)?;
        Ok((Self::from_bytes(&raw)?, URL_SAFE_NO_PAD.encode(raw)))
    }

    /// The stored form of a client or device secret.
    pub fn hash_secret(&self, secret: &str) -> Result<Vec<u8>, SecretError> {
        Ok(self.hmac.mac(secret.as_bytes()).to_vec())
    }

    /// Compares in constant time, so the comparison leaks nothing about the stored hash.
    pub fn verify_secret(&self, secret: &str, stored: &[u8]) -> bool {
        let h = self.hmac.mac(secret.as_bytes());
        h.len() == stored.len() && openssl::memcmp::eq(&h, stored)
    }

    /// AES-256-GCM; the output is `nonce || ciphertext || tag`. `context` is authenticated but
    /// not stored (e.g. the key id), so sealed data cannot be moved to another row unnoticed.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce)?;
        let mut tag = [0u8; TAG_LEN];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.seal_key,
            Some(&nonce),
            context,
            plaintext,
            &mut tag,
        )?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Unseal);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.seal_key,
            Some(nonce),
            context,
            ct,
            tag,
        )
        .map_err(|_| SecretError::Unseal)
    }
}

/// A new 256-bit secret in its display form (base64url, 43 characters).
pub fn generate_secret() -> Result<String, SecretError> {
    let mut raw = [0u8; SECRET_BYTES];
    openssl::rand::rand_bytes(&mut raw)?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// A 6-digit one-time code, uniform over 000000–999999 (rejection sampling, no modulo bias).
pub fn one_time_code() -> Result<String, SecretError> {
    // The largest multiple of 10^6 that fits in a u32.
    const LIMIT: u32 = 4_294_000_000;
    loop {
        let mut raw = [0u8; 4];
        openssl::rand::rand_bytes(&mut raw)?;
        let n = u32::from_be_bytes(raw);
        if n < LIMIT {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn decode_32(text: &str) -> Option<[u8; 32]> {
    let hex = || -> Option<Vec<u8>> {
        if text.len() != 64 {
            return None;
        }
        (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
            .collect()
    };
    let bytes = hex()
        .or_else(|| URL_SAFE_NO_PAD.decode(text).ok())
        .or_else(|| URL_SAFE.decode(text).ok())
        .or_else(|| STANDARD.decode(text).ok())
        .or_else(|| STANDARD_NO_PAD.decode(text).ok())?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests;
