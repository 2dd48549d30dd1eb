//! The assertion rules of RFC 7523 and the client key rules, one test per rule.

use super::{check_client_jwk, check_lifetime, AssertionClaims, MAX_ASSERTION_LIFETIME, SKEW_SECS};

const NOW: i64 = 1_800_000_000;

fn claims(exp: Option<i64>, iat: Option<i64>, nbf: Option<i64>) -> AssertionClaims {
    AssertionClaims {
        iss: None,
        sub: None,
        aud: None,
        exp: exp.map(|t| t as f64),
        iat: iat.map(|t| t as f64),
        nbf: nbf.map(|t| t as f64),
        jti: None,
    }
}

fn refused(c: AssertionClaims) -> String {
    check_lifetime(&c, NOW)
        .unwrap_err()
        .description
        .into_owned()
}

#[test]
fn exp_is_required_and_not_past() {
    assert!(refused(claims(None, Some(NOW), None)).contains("`exp` is required"));
    assert!(refused(claims(Some(NOW - SKEW_SECS), None, None)).contains("expired"));
    // Within the skew, a just-expired assertion still counts.
    assert_eq!(
        check_lifetime(&claims(Some(NOW - 1), None, None), NOW).unwrap(),
        NOW - 1
    );
}

#[test]
fn an_assertion_lives_five_minutes_at_most() {
    let long = NOW + MAX_ASSERTION_LIFETIME + SKEW_SECS + 1;
    assert!(refused(claims(Some(long), Some(NOW), None)).contains("at most 5 minutes"));
    assert!(refused(claims(Some(long), None, None)).contains("at most 5 minutes"));
    let ok = NOW + MAX_ASSERTION_LIFETIME;
    assert_eq!(
        check_lifetime(&claims(Some(ok), Some(NOW), None), NOW).unwrap(),
        ok
    );
}

#[test]
fn iat_and_nbf_are_not_in_the_future() {
    let later = NOW + SKEW_SECS + 10;
    assert!(refused(claims(Some(later + 60), Some(later), None)).contains("`iat`"));
    assert!(refused(claims(Some(NOW + 60), Some(NOW), Some(later))).contains("`nbf`"));
}

#[test]
fn client_keys_must_be_usable_public_keys() {
    let jwk =
        |v: serde_json::Value| josekit::jwk::Jwk::from_map(v.as_object().unwrap().clone()).unwrap();
    let bad_rsa = jwk(serde_json::json!({"kty": "RSA", "n": "!!", "e": "AQAB"}));
    assert!(check_client_jwk(&bad_rsa).is_err());
    let unknown = jwk(serde_json::json!({"kty": "XYZ"}));
    assert!(check_client_jwk(&unknown)
        .unwrap_err()
        .contains("unsupported key type"));
    let good = josekit::jws::ES256
        .generate_key_pair()
        .unwrap()
        .to_jwk_public_key();
    assert_eq!(check_client_jwk(&good), Ok(()));
}
