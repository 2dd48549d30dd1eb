use super::*;

#[test]
fn vocabularies_round_trip_and_reject_unknowns() {
    for m in AuthMethod::ALL {
        assert_eq!(m.as_str().parse::<AuthMethod>().unwrap(), *m);
    }
    let err = "basic".parse::<AuthMethod>().unwrap_err();
    assert!(err.to_string().contains("client_secret_basic"), "{err}");
    assert_eq!(
        serde_json::to_string(&GrantType::MfaOtp).unwrap(),
        format!("\"{}\"", GrantType::MfaOtp.as_str()),
        "the JSON form is the wire name"
    );
}

#[test]
fn slugs_are_checked() {
    assert!("acme-health".parse::<TenantSlug>().is_ok());
    assert!("ab".parse::<TenantSlug>().is_err());
    assert!("Acme".parse::<TenantSlug>().is_err());
    assert!("a".repeat(41).parse::<TenantSlug>().is_err());
    assert!("ok/../x".parse::<TenantSlug>().is_err());
    assert!(serde_json::from_str::<TenantSlug>("\"UPPER\"").is_err());
}
