use super::*;
use josekit::jws::ES256;

#[test]
fn signs_and_verifies_and_rejects_tampering() {
    let kp = ES256.generate_key_pair().unwrap();
    let signer =
        TokenSigner::from_der(crate::keys::SigningAlg::Es256, &kp.to_der_private_key()).unwrap();
    let verifier = ES256.verifier_from_jwk(&kp.to_jwk_public_key()).unwrap();
    let header = encode_header("ES256", "k1", "at+jwt");
    let token = sign(&header, &serde_json::json!({"sub": "a"}), &signer).unwrap();
    let jws = Jws::parse(&token).unwrap();
    assert_eq!(jws.header.kid.as_deref(), Some("k1"));
    assert_eq!(jws.header.typ.as_deref(), Some("at+jwt"));
    jws.verify(&verifier).unwrap();
    let claims: serde_json::Value = jws.claims().unwrap();
    assert_eq!(claims["sub"], "a");

    // josekit's own decoder agrees: the framing is standard.
    let (payload, _) = josekit::jwt::decode_with_verifier(&token, &verifier).unwrap();
    assert_eq!(payload.subject(), Some("a"));

    let forged = token.replacen(".ey", ".eyJzdWIiOiJiIn0.", 1);
    assert!(
        Jws::parse(&forged).is_err() || Jws::parse(&forged).unwrap().verify(&verifier).is_err()
    );
    let other = format!(
        "{}.{}.{}",
        header,
        B64.encode(b"{\"sub\":\"b\"}"),
        token.rsplit('.').next().unwrap()
    );
    assert_eq!(
        Jws::parse(&other).unwrap().verify(&verifier),
        Err(JwsError::BadSignature)
    );
}

#[test]
fn hostile_input_is_an_error_not_a_panic() {
    for t in [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "..",
        "!!.!!.!!",
        "e30.e30.",
        "bm90IGpzb24.e30.AA",
    ] {
        assert!(Jws::parse(t).is_err(), "{t}");
    }
    assert_eq!(
        Jws::parse(&"a".repeat(MAX_JWS_LEN + 1)).unwrap_err(),
        JwsError::TooLarge
    );
    let crit = format!("{}.e30.AA", B64.encode(br#"{"alg":"ES256","crit":["x"]}"#));
    assert_eq!(Jws::parse(&crit).unwrap_err(), JwsError::Critical);
    let ok = format!("{}.bm90IGpzb24.AA", B64.encode(br#"{"alg":"ES256"}"#));
    assert!(Jws::parse(&ok)
        .unwrap()
        .claims::<serde_json::Value>()
        .is_err());
}
