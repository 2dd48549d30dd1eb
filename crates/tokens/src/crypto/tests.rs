use super::*;
use josekit::jws::ES256;

/// Our low-level signatures verify with josekit (standard JWS), and josekit's with ours.
#[test]
fn interoperates_with_josekit_both_ways() {
    for alg in SigningAlg::ALL {
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
    let kp = RS256.generate_key_pair(1024).unwrap();
    let jwk: serde_json::Value = serde_json::from_str(&kp.to_jwk_public_key().to_string()).unwrap();
    assert!(TokenVerifier::from_jwk(SigningAlg::Rs256, &jwk).is_err());
}
