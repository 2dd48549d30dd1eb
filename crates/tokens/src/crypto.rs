//! Signing and verification of the tenants' own tokens, on OpenSSL's low-level ECDSA and RSA
//! primitives. OpenSSL 3's EVP interface (which josekit uses) fetches the digest algorithm by
//! name on every operation; on the token path that cost more than the ECDSA signature itself.
//! Client assertions, which may use any of nine algorithms, still go through josekit.

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{Private, Public};
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
    Rs256(Rsa<Private>),
}

impl TokenSigner {
    /// From a DER private key: PKCS#8, or the bare SEC1 (EC) or PKCS#1 (RSA) key that josekit
    /// writes. The key is decoded with OpenSSL's type-specific
    /// decoders: OpenSSL 3's generic one (`d2i_AutoPrivateKey`, which josekit and
    /// `PKey::private_key_from_der` use) looks its decoders up under global locks and took
    /// ~1.5 ms of CPU a key, 84 % of a cold tenant load (profiled with `perf` at 10,000 tenants).
    pub fn from_der(alg: SigningAlg, der: &[u8]) -> Result<TokenSigner, String> {
        let inner = der::pkcs8_private_key(der).unwrap_or(der);
        match alg {
            SigningAlg::Es256 => ec_from_sec1(inner).map(TokenSigner::Es256),
            SigningAlg::Rs256 => Rsa::private_key_from_der(inner)
                .map(TokenSigner::Rs256)
                .map_err(|e| e.to_string()),
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
            TokenSigner::Rs256(key) => {
                // RSASSA-PKCS1-v1_5 (RFC 8017 §8.2): the DigestInfo, type 1 padded, raised to d.
                let mut digest_info = SHA256_DIGEST_INFO.to_vec();
                digest_info.extend_from_slice(&sha256(input));
                let mut out = vec![0; key.size() as usize];
                let n = key
                    .private_encrypt(&digest_info, &mut out, Padding::PKCS1)
                    .map_err(|e| e.to_string())?;
                out.truncate(n);
                Ok(out)
            }
        }
    }
}

/// A P-256 key from a SEC1 `ECPrivateKey` (RFC 5915): the private scalar, and the public point
/// when present (computed otherwise). The curve is P-256 whatever the optional parameters say:
/// the key's algorithm (ES256) fixes it.
fn ec_from_sec1(sec1: &[u8]) -> Result<EcKey<Private>, String> {
    let bad = || "not a SEC1 EC private key".to_owned();
    let body = der::sequence(sec1).ok_or_else(bad)?;
    let (version, rest) = der::element(body, 0x02).ok_or_else(bad)?;
    let (scalar, rest) = der::element(rest, 0x04).ok_or_else(bad)?;
    if version != [1] {
        return Err(bad());
    }
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(|e| e.to_string())?;
    let private = BigNum::from_slice(scalar).map_err(|e| e.to_string())?;
    let mut ctx = openssl::bn::BigNumContext::new().map_err(|e| e.to_string())?;
    let public = match der::tagged(rest, 0xa1).and_then(|b| der::element(b, 0x03)) {
        // A BIT STRING: its first byte counts the unused bits (0 for a point).
        Some((bits, _)) if bits.first() == Some(&0) => {
            openssl::ec::EcPoint::from_bytes(&group, &bits[1..], &mut ctx)
        }
        _ => {
            let mut p = openssl::ec::EcPoint::new(&group).map_err(|e| e.to_string())?;
            p.mul_generator2(&group, &private, &mut ctx).map(|()| p)
        }
    }
    .map_err(|e| e.to_string())?;
    EcKey::from_private_components(&group, &private, &public).map_err(|e| e.to_string())
}

/// Just enough DER (X.690) to take a private key out of its PKCS#8 and SEC1 wrappers.
mod der {
    /// The tag, the contents and what follows, of the element at the start of `data`.
    fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *data.first()?;
        let first = *data.get(1)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | usize::from(*data.get(2 + i)?);
            }
            (len, 2 + n)
        };
        let end = header.checked_add(len)?;
        Some((tag, data.get(header..end)?, data.get(end..)?))
    }

    /// The contents of an element with `tag`, and what follows it.
    pub fn element(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (t, body, rest) = tlv(data)?;
        (t == tag).then_some((body, rest))
    }

    /// The contents of the SEQUENCE that `data` is.
    pub fn sequence(data: &[u8]) -> Option<&[u8]> {
        element(data, 0x30).map(|(body, _)| body)
    }

    /// The contents of the first element tagged `tag` among those of `data`.
    pub fn tagged(mut data: &[u8], tag: u8) -> Option<&[u8]> {
        while !data.is_empty() {
            let (t, body, rest) = tlv(data)?;
            if t == tag {
                return Some(body);
            }
            data = rest;
        }
        None
    }

    /// The private key inside a PKCS#8 `PrivateKeyInfo` (RFC 5208):
    /// SEQUENCE { INTEGER version, AlgorithmIdentifier, OCTET STRING privateKey, … }.
    pub fn pkcs8_private_key(data: &[u8]) -> Option<&[u8]> {
        let body = sequence(data)?;
        let (_, rest) = element(body, 0x02)?;
        let (_, rest) = element(rest, 0x30)?;
        element(rest, 0x04).map(|(key, _)| key)
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
                // Setting the coordinates refuses a point off the curve; P-256 has cofactor 1,
                // so every point on it is in the group and the check by multiplying by the
                // order (`check_key`, the cost of a signature, done twice by
                // `from_public_key_affine_coordinates`) adds nothing — it was 15 % of a cold
                // tenant load.
                let mut ctx = openssl::bn::BigNumContext::new().map_err(|e| e.to_string())?;
                let mut point = openssl::ec::EcPoint::new(&group).map_err(|e| e.to_string())?;
                point
                    .set_affine_coordinates_gfp(&group, &x, &y, &mut ctx)
                    .map_err(|e| e.to_string())?;
                let key = EcKey::from_public_key(&group, &point).map_err(|e| e.to_string())?;
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
