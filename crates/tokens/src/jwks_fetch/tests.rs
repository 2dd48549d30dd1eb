use super::{check_uri, is_public};

#[test]
fn production_uris_are_https_to_public_hosts() {
    for ok in [
        "https://keys.example.com/jwks.json",
        "https://93.184.216.34/jwks",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/jwks",
    ] {
        assert_eq!(check_uri(ok, true), Ok(()), "{ok}");
    }
    for bad in [
        "http://keys.example.com/jwks.json",
        "https://127.0.0.1/jwks",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/jwks",
        "https://192.168.1.1/jwks",
        "https://100.64.0.1/jwks",
        "https://[::1]/jwks",
        "https://[fd00::1]/jwks",
        "https://[fe80::1]/jwks",
        "https://[::ffff:127.0.0.1]/jwks",
        "https://localhost/jwks",
        "https://metadata.google.internal/computeMetadata/v1/",
        "ftp://keys.example.com/jwks",
    ] {
        assert!(check_uri(bad, true).is_err(), "{bad}");
    }
    // Sandbox tenants may use local and plain-http URLs (development, tests).
    assert_eq!(check_uri("http://127.0.0.1:8000/jwks", false), Ok(()));
    assert!(check_uri("ftp://127.0.0.1/jwks", false).is_err());
}

#[test]
fn public_addresses() {
    assert!(is_public("8.8.8.8".parse().unwrap()));
    assert!(!is_public("172.16.0.1".parse().unwrap()));
    assert!(!is_public("0.0.0.0".parse().unwrap()));
    assert!(!is_public("255.255.255.255".parse().unwrap()));
}
