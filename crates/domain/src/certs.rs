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
mod tests {
    use super::*;

    #[test]
    fn thumbprints() {
        let key = openssl::pkey::PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        let mut b = openssl::x509::X509Builder::new().unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "device-1").unwrap();
        let name = name.build();
        b.set_version(2).unwrap();
        b.set_serial_number(
            &openssl::bn::BigNum::from_u32(1)
                .unwrap()
                .to_asn1_integer()
                .unwrap(),
        )
        .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.set_pubkey(&key).unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let cert = b.build();
        let pem = String::from_utf8(cert.to_pem().unwrap()).unwrap();
        let t = thumbprint_of_pem(&pem).unwrap();
        assert_eq!(t.len(), 43);
        assert_eq!(t, thumbprint_of_der(&cert.to_der().unwrap()));
        assert_eq!(parse_thumbprint(&t).unwrap(), t);
        let hex: String = B64
            .decode(&t)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(parse_thumbprint(&hex).unwrap(), t);
        assert!(thumbprint_of_pem("garbage").is_err());
        assert!(parse_thumbprint("short").is_err());
    }
}
