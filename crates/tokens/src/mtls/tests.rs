use super::*;
use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509Builder, X509NameBuilder};

fn self_signed(cn: &str, days_from: i64, days_to: i64) -> X509 {
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("C", "US").unwrap();
    name.append_entry_by_text("O", "Acme, Inc.").unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    let now = domain::now_unix();
    b.set_not_before(&Asn1Time::from_unix(now + days_from * 86400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + days_to * 86400).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("client.acme.example")
        .ip("10.0.0.7")
        .email("ops@acme.example")
        .uri("https://acme.example/client")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    b.build()
}

#[test]
fn subject_and_san_rules_of_rfc8705() {
    let c = ClientCert::new(self_signed("client-1", -1, 30), vec![]).unwrap();
    assert!(c.subject_matches("CN=client-1,O=Acme\\, Inc.,C=US"));
    assert!(c.subject_matches("cn=CLIENT-1, o=acme\\, inc., c=us"));
    assert!(!c.subject_matches("CN=client-2,O=Acme\\, Inc.,C=US"));
    assert!(
        !c.subject_matches("CN=client-1"),
        "every attribute must match"
    );
    assert!(!c.subject_matches("not a dn"));
    assert!(c.san_matches(SanKind::Dns, "CLIENT.acme.example"));
    assert!(c.san_matches(SanKind::Ip, "10.0.0.7"));
    assert!(!c.san_matches(SanKind::Ip, "10.0.0.8"));
    assert!(c.san_matches(SanKind::Email, "ops@acme.example"));
    assert!(c.san_matches(SanKind::Uri, "https://acme.example/client"));
    assert!(!c.san_matches(SanKind::Dns, "other.example"));
}

#[test]
fn validity_and_self_signed_are_told_apart() {
    let ok = ClientCert::new(self_signed("a", -1, 30), vec![]).unwrap();
    assert!(ok.is_self_signed());
    assert_eq!(ok.check_validity(), Ok(()));
    let old = ClientCert::new(self_signed("a", -30, -1), vec![]).unwrap();
    assert_eq!(old.check_validity(), Err(CertProblem::Expired));
    let early = ClientCert::new(self_signed("a", 2, 30), vec![]).unwrap();
    assert_eq!(early.check_validity(), Err(CertProblem::NotYetValid));
    let anchors = Anchors::from_pems([]).unwrap();
    assert_eq!(anchors.verify(&ok), Err(CertProblem::SelfSigned));
}

#[test]
fn forwarded_certificates_parse_plain_or_url_encoded() {
    let cert = self_signed("fwd", -1, 30);
    let pem = String::from_utf8(cert.to_pem().unwrap()).unwrap();
    let plain = ClientCert::from_forwarded(&pem).unwrap();
    // As nginx's $ssl_client_escaped_cert: spaces, newlines, `+`, `/` and `=` percent-encoded.
    let escaped = pem
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('\n', "%0A")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let decoded = ClientCert::from_forwarded(&escaped).unwrap();
    assert_eq!(plain.thumbprint, decoded.thumbprint);
    assert!(ClientCert::from_forwarded("garbage").is_none());
}
