use super::*;
use josekit::jws::{ES256, RS256};

/// Our low-level signatures verify with josekit (standard JWS), and josekit's with ours.
#[test]
fn interoperates_with_josekit_both_ways() {
    for &alg in SigningAlg::ALL {
        let (der, jwk) = match alg {
            SigningAlg::Es256 => {
                let kp = ES256.generate_key_pair().unwrap();
                (kp.to_der_private_key(), kp.to_jwk_public_key())
            }
            SigningAlg::Rs256 => {
                let kp = RS256.generate_key_pair(2048).unwrap();
                (kp.to_der_private_key(), kp.to_jwk_public_key())
            }
        };
        let jwk_json: serde_json::Value = serde_json::from_str(&jwk.to_string()).unwrap();
        let ours = TokenSigner::from_der(alg, &der).unwrap();
        let verifier = TokenVerifier::from_jwk(alg, &jwk_json).unwrap();
        let sig = ours.sign(b"input").unwrap();
        assert!(verifier.verify(b"input", &sig), "{alg:?}");
        assert!(!verifier.verify(b"other", &sig), "{alg:?}");
        assert!(!verifier.verify(b"input", &sig[1..]), "{alg:?}");
        let theirs: Box<dyn josekit::jws::JwsVerifier> = match alg {
            SigningAlg::Es256 => Box::new(ES256.verifier_from_jwk(&jwk).unwrap()),
            SigningAlg::Rs256 => Box::new(RS256.verifier_from_jwk(&jwk).unwrap()),
        };
        theirs.verify(b"input", &sig).unwrap();
        let their_sig = match alg {
            SigningAlg::Es256 => ES256.signer_from_der(&der).unwrap().sign(b"input").unwrap(),
            SigningAlg::Rs256 => RS256.signer_from_der(&der).unwrap().sign(b"input").unwrap(),
        };
        assert!(verifier.verify(b"input", &their_sig), "{alg:?}");
    }
}

#[test]
fn short_rsa_keys_are_refused() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk_of = |bits: u32| {
        let rsa = openssl::rsa::Rsa::generate(bits).unwrap();
        serde_json::json!({"kty": "RSA", "n": b64.encode(rsa.n().to_vec()), "e": b64.encode(rsa.e().to_vec())})
    };
    assert!(TokenVerifier::from_jwk(SigningAlg::Rs256, &jwk_of(1024)).is_err());
    assert!(TokenVerifier::from_jwk(SigningAlg::Rs256, &jwk_of(2048)).is_ok());
}

#[test]
fn keys_that_are_not_pkcs8_or_of_another_type_are_refused_not_panicked_on() {
    let ec = ES256.generate_key_pair().unwrap().to_der_private_key();
    let rsa = RS256.generate_key_pair(2048).unwrap().to_der_private_key();
    for bad in [
        &b""[..],
        &b"\x30"[..],
        &b"\x30\x84\xff\xff\xff\xff"[..],
        &ec[..ec.len() / 2],
    ] {
        assert!(TokenSigner::from_der(SigningAlg::Es256, bad).is_err());
        assert!(TokenSigner::from_der(SigningAlg::Rs256, bad).is_err());
    }
    assert!(
        TokenSigner::from_der(SigningAlg::Rs256, &ec).is_err(),
        "an EC key is no RSA key"
    );
    assert!(
        TokenSigner::from_der(SigningAlg::Es256, &rsa).is_err(),
        "an RSA key is no EC key"
    );
}

#[test]
fn a_sec1_key_without_its_public_point_gets_it_computed() {
    let key = EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap();
    let scalar = key.private_key().to_vec_padded(32).unwrap();
    // SEQUENCE { INTEGER 1, OCTET STRING scalar } — no parameters, no public key.
    let mut sec1 = vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
    sec1.extend(&scalar);
    let parsed = ec_from_sec1(&sec1).unwrap();
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    let group = key.group();
    assert!(parsed
        .public_key()
        .eq(group, key.public_key(), &mut ctx)
        .unwrap());
}

#[test]
fn a_public_point_off_the_curve_is_refused() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let kp = ES256.generate_key_pair().unwrap();
    let mut jwk: serde_json::Value =
        serde_json::from_str(&kp.to_jwk_public_key().to_string()).unwrap();
    assert!(TokenVerifier::from_jwk(SigningAlg::Es256, &jwk).is_ok());
    let mut y = b64.decode(jwk["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    jwk["y"] = b64.encode(y).into();
    assert!(TokenVerifier::from_jwk(SigningAlg::Es256, &jwk).is_err());
}
