//! The rules of the authorization request, one test per rule.

use super::*;

fn uris(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_redirect_uri_must_match_exactly() {
    let r = uris(&["https://app.example/cb"]);
    assert!(redirect_allowed(&r, "https://app.example/cb"));
    for bad in [
        "https://app.example/cb/",
        "https://app.example/cb?x=1",
        "https://app.example/CB",
        "https://app.example:443/cb",
        "http://app.example/cb",
        "https://evil.example/cb",
    ] {
        assert!(!redirect_allowed(&r, bad), "{bad}");
    }
}

#[test]
fn a_loopback_redirect_uri_may_use_any_port() {
    let r = uris(&["http://127.0.0.1/callback", "http://[::1]:8000/cb"]);
    assert!(redirect_allowed(&r, "http://127.0.0.1:53021/callback"));
    assert!(redirect_allowed(&r, "http://127.0.0.1/callback"));
    assert!(redirect_allowed(&r, "http://[::1]:1234/cb"));
    assert!(!redirect_allowed(&r, "http://127.0.0.1:53021/other"));
    assert!(!redirect_allowed(&r, "http://localhost:53021/callback"));
    assert!(!redirect_allowed(&r, "http://127.0.0.2:53021/callback"));
    // Not loopback: the port is part of the exact match.
    let r = uris(&["https://app.example:8443/cb"]);
    assert!(!redirect_allowed(&r, "https://app.example:9443/cb"));
}

#[test]
fn pkce_s256_matches_the_rfc_7636_example() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    assert!(valid_verifier(verifier));
    assert!(valid_challenge(challenge));
    assert!(pkce_matches(verifier, challenge));
    assert!(!pkce_matches(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
        challenge
    ));
    // `plain` would compare the verifier itself: never accepted.
    assert!(!pkce_matches(verifier, verifier));
    // A stored challenge of another length is a mismatch, not a panic.
    assert!(!pkce_matches(verifier, "short"));
    assert!(!pkce_matches(verifier, &format!("{challenge}x")));
}

#[test]
fn verifiers_and_challenges_have_their_rfc_shapes() {
    assert!(!valid_verifier("short"));
    assert!(!valid_verifier(&"a".repeat(129)));
    assert!(!valid_verifier(&format!("{}+", "a".repeat(50))));
    assert!(!valid_challenge("abc"));
    assert!(!valid_challenge(&format!("{}=", "a".repeat(42))));
}
