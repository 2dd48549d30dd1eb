use super::*;

fn key() -> MasterKey {
    MasterKey::from_bytes(&[7u8; 32]).unwrap()
}

#[test]
fn secret_hash_verifies_only_the_right_secret() {
    let k = key();
    let s = generate_secret().unwrap();
    assert_eq!(s.len(), 43);
    let h = k.hash_secret(&s).unwrap();
    assert!(k.verify_secret(&s, &h));
    assert!(!k.verify_secret("wrong", &h));
    assert!(!k.verify_secret(&s, &h[..31]));
    let other = MasterKey::from_bytes(&[8u8; 32]).unwrap();
    assert!(
        !other.verify_secret(&s, &h),
        "the hash is keyed by the master key"
    );
}

#[test]
fn seal_round_trips_and_binds_context() {
    let k = key();
    let sealed = k.seal(b"private key", b"kid-1").unwrap();
    assert!(!sealed.windows(11).any(|w| w == b"private key"));
    assert_eq!(k.open(&sealed, b"kid-1").unwrap(), b"private key");
    assert!(k.open(&sealed, b"kid-2").is_err());
    let mut tampered = sealed.clone();
    tampered[NONCE_LEN] ^= 1;
    assert!(k.open(&tampered, b"kid-1").is_err());
    assert!(k.open(&sealed[..10], b"kid-1").is_err());
}

#[test]
fn hmac_matches_openssl_and_rfc4231() {
    // RFC 4231 test case 2.
    let h = HmacSha256::new(b"Jefe").mac(b"what do ya want for nothing?");
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // Against OpenSSL's own HMAC, for short, block-sized and long keys.
    for key in [&[1u8; 32][..], &[2u8; 64][..], &[3u8; 100][..]] {
        let pkey = openssl::pkey::PKey::hmac(key).unwrap();
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &pkey).unwrap();
        signer.update(b"message").unwrap();
        assert_eq!(
            signer.sign_to_vec().unwrap(),
            HmacSha256::new(key).mac(b"message")
        );
    }
}

#[test]
fn master_key_text_forms() {
    let (_, text) = MasterKey::generate().unwrap();
    assert!(MasterKey::parse(&text).is_ok());
    assert!(MasterKey::parse(&"ab".repeat(32)).is_ok(), "hex");
    assert!(MasterKey::parse("too-short").is_err());
    assert!(MasterKey::parse("").is_err());
}

#[test]
fn one_time_codes_are_six_digits_and_vary() {
    let codes: Vec<String> = (0..200).map(|_| one_time_code().unwrap()).collect();
    assert!(codes
        .iter()
        .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert!(
        distinct.len() > 190,
        "codes repeat too often: {}",
        distinct.len()
    );
}
