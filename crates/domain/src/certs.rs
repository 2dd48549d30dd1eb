//! Certificate thumbprints as RFC 8705 uses them (`x5t#S256`: SHA-256 of the DER, base64url).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertError {
    #[error("not a PEM certificate")]
    NotPem,
    #[error("a thumbprint is 32 bytes of SHA-256, base64url-encoded (43 characters)")]
    BadThumbprint,
}

/// The `x5t#S256` of the first certificate in `pem`.
pub fn thumbprint_of_pem(pem: &str) -> Result<String, CertError> {
    let cert = openssl::x509::X509::from_pem(pem.as_bytes()).map_err(|_| CertError::NotPem)?;
    let der = cert.to_der().map_err(|_| CertError::NotPem)?;
    Ok(thumbprint_of_der(&der))
}

pub fn thumbprint_of_der(der: &[u8]) -> String {
    B64.encode(openssl::sha::sha256(der))
}

/// Checks a thumbprint given as text (hex of 64 digits is accepted and normalised too).
pub fn parse_thumbprint(text: &str) -> Result<String, CertError> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bytes: Option<Vec<u8>> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect();
        return bytes.map(|b| B64.encode(b)).ok_or(CertError::BadThumbprint);
    }
    match B64.decode(text) {
        Ok(b) if b.len() == 32 => Ok(B64.encode(b)),
        _ => Err(CertError::BadThumbprint),
    }
}

#[cfg(test)]
mod tests;
