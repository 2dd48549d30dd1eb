use super::*;

#[test]
fn thumbprints() {
    let key = openssl::pkey::PKey::from_ec_key(
        openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
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
