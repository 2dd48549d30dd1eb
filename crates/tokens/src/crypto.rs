//! Signing and verification of the tenants' own tokens, on OpenSSL's low-level ECDSA and RSA
//! primitives. OpenSSL 3's EVP interface (which josekit uses) fetches the digest algorithm by
//! name on every operation; on the token path that cost more than the ECDSA signature itself.
//! Client assertions, which may use any of nine algorithms, still go through josekit.

use josekit::jws::{JwsSigner, RS256};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sha::sha256;

use crate::keys::SigningAlg;

/// DER `DigestInfo` prefix of a SHA-256 digest (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

pub enum TokenSigner {
    Es256(EcKey<Private>),
    /// RSA signing is bound by the RSA operation itself; josekit's path is fine there.
    Rs256(Box<dyn JwsSigner>),
}

impl TokenSigner {
    /// From a PKCS#8 DER private key.
    pub fn from_der(alg: SigningAlg, der: &[u8]) -> Result<TokenSigner, String> {
        match alg {
            SigningAlg::Es256 => {
                let key = PKey::private_key_from_der(der)
                    .and_then(|k| k.ec_key())
                    .map_err(|e| e.to_string())?;
                Ok(TokenSigner::Es256(key))
            }
            SigningAlg::Rs256 => Ok(TokenSigner::Rs256(Box::new(
                RS256.signer_from_der(der).map_err(|e| e.to_string())?,
            ))),
        }
    }

    /// The JWS signature of `input` (raw `R || S` for ES256, RFC 7518 §3.4).
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            TokenSigner::Es256(key) => {
                let sig = EcdsaSig::sign(&sha256(input), key).map_err(|e| e.to_string())?;
                let mut out = sig.r().to_vec_padded(32).map_err(|e| e.to_string())?;
                out.extend(sig.s().to_vec_padded(32).map_err(|e| e.to_string())?);
                Ok(out)
            }
            TokenSigner::Rs256(s) => s.sign(input).map_err(|e| e.to_string()),
        }
    }
}

pub enum TokenVerifier {
    Es256(EcKey<Public>),
    Rs256(Rsa<Public>),
}

impl TokenVerifier {
    /// From a public JWK (`kty` EC P-256 or RSA).
    pub fn from_jwk(alg: SigningAlg, jwk: &serde_json::Value) -> Result<TokenVerifier, String> {
        let b64 = |name: &str| -> Result<BigNum, String> {
            use base64::Engine;
            let text = jwk[name]
                .as_str()
                .ok_or_else(|| format!("JWK has no `{name}`"))?;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|e| e.to_string())?;
            BigNum::from_slice(&bytes).map_err(|e| e.to_string())
        };
        match alg {
            SigningAlg::Es256 => {
                let group =
                    EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(|e| e.to_string())?;
                let (x, y) = (b64("x")?, b64("y")?);
                let key = EcKey::from_public_key_affine_coordinates(&group, &x, &y)
                    .map_err(|e| e.to_string())?;
                key.check_key().map_err(|e| e.to_string())?;
                Ok(TokenVerifier::Es256(key))
            }
            SigningAlg::Rs256 => {
                let rsa =
                    Rsa::from_public_components(b64("n")?, b64("e")?).map_err(|e| e.to_string())?;
                if rsa.size() < 256 {
                    return Err("RSA keys must have at least 2048 bits".into());
                }
                Ok(TokenVerifier::Rs256(rsa))
            }
        }
    }

    pub fn verify(&self, input: &[u8], signature: &[u8]) -> bool {
        let digest = sha256(input);
        match self {
            TokenVerifier::Es256(key) => {
                if signature.len() != 64 {
                    return false;
                }
                let (r, s) = signature.split_at(32);
                let (Ok(r), Ok(s)) = (BigNum::from_slice(r), BigNum::from_slice(s)) else {
                    return false;
                };
                EcdsaSig::from_private_components(r, s)
                    .and_then(|sig| sig.verify(&digest, key))
                    .unwrap_or(false)
            }
            TokenVerifier::Rs256(rsa) => {
                let size = rsa.size() as usize;
                if signature.len() != size {
                    return false;
                }
                let mut buf = vec![0u8; size];
                let Ok(n) = rsa.public_decrypt(signature, &mut buf, Padding::PKCS1) else {
                    return false;
                };
                n == SHA256_DIGEST_INFO.len() + 32
                    && buf[..SHA256_DIGEST_INFO.len()] == SHA256_DIGEST_INFO
                    && buf[SHA256_DIGEST_INFO.len()..n] == digest
            }
        }
    }
}

#[cfg(test)]
mod tests;
