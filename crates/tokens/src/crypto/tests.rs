use super::*;
use josekit::jws::ES256;

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
