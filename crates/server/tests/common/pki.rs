//! A PKI made in code for the mutual-TLS tests: roots, intermediates, leaves (valid, expired,
//! self-signed), and a server certificate for 127.0.0.1.

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
    /// Certificates between this one and its root (for a leaf: the intermediates).
    pub chain: Vec<X509>,
}

impl Issued {
    pub fn pem(&self) -> String {
        String::from_utf8(self.cert.to_pem().unwrap()).unwrap()
    }

    /// This certificate and its intermediates, leaf first (what a client sends).
    pub fn chain_pem(&self) -> String {
        let mut pem = self.pem();
        for c in &self.chain {
            pem.push_str(&String::from_utf8(c.to_pem().unwrap()).unwrap());
        }
        pem
    }

    pub fn key_pem(&self) -> String {
        String::from_utf8(self.key.private_key_to_pem_pkcs8().unwrap()).unwrap()
    }

    pub fn thumbprint(&self) -> String {
        domain::certs::thumbprint_of_der(&self.cert.to_der().unwrap())
    }

    /// An identity for reqwest (native-tls): the chain and the key.
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pkcs8_pem(self.chain_pem().as_bytes(), self.key_pem().as_bytes())
            .unwrap()
    }
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

pub struct Spec<'a> {
    /// `(attribute, value)` pairs, most general first (C, O, CN).
    pub subject: &'a [(&'a str, &'a str)],
    pub ca: bool,
    /// Validity, in days relative to now.
    pub days: (i64, i64),
    pub dns: &'a [&'a str],
    pub ip: &'a [&'a str],
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Spec {
            subject: &[],
            ca: false,
            days: (-1, 365),
            dns: &[],
            ip: &[],
        }
    }
}

pub fn issue(spec: Spec<'_>, issuer: Option<&Issued>) -> Issued {
    let key = key();
    let mut name = X509NameBuilder::new().unwrap();
    for (k, v) in spec.subject {
        name.append_entry_by_text(k, v).unwrap();
    }
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(120, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&*name, |i| i.cert.subject_name()))
        .unwrap();
    b.set_pubkey(&key).unwrap();
    let now = domain::now_unix();
    b.set_not_before(&Asn1Time::from_unix(now + spec.days.0 * 86400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + spec.days.1 * 86400).unwrap())
        .unwrap();
    if spec.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
    } else {
        b.append_extension(BasicConstraints::new().build().unwrap())
            .unwrap();
        b.append_extension(
            ExtendedKeyUsage::new()
                .client_auth()
                .server_auth()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    if !spec.dns.is_empty() || !spec.ip.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for d in spec.dns {
            san.dns(d);
        }
        for i in spec.ip {
            san.ip(i);
        }
        let ctx = b.x509v3_context(issuer.map(|i| &*i.cert), None);
        let ext = san.build(&ctx).unwrap();
        b.append_extension(ext).unwrap();
    }
    b.sign(issuer.map_or(&key, |i| &i.key), MessageDigest::sha256())
        .unwrap();
    let chain = match issuer {
        // Everything from the issuer up, except the root.
        Some(i)
            if !i.chain.is_empty()
                || i.cert.issued(&i.cert) != openssl::x509::X509VerifyResult::OK =>
        {
            let mut c = vec![i.cert.clone()];
            c.extend(i.chain.iter().cloned());
            c
        }
        _ => Vec::new(),
    };
    Issued {
        cert: b.build(),
        key,
        chain,
    }
}

pub fn root(cn: &str) -> Issued {
    issue(
        Spec {
            subject: &[("C", "US"), ("O", "Test PKI"), ("CN", cn)],
            ca: true,
            days: (-1, 3650),
            ..Spec::default()
        },
        None,
    )
}

pub fn intermediate(cn: &str, root: &Issued) -> Issued {
    issue(
        Spec {
            subject: &[("C", "US"), ("O", "Test PKI"), ("CN", cn)],
            ca: true,
            days: (-1, 1825),
            ..Spec::default()
        },
        Some(root),
    )
}

pub fn leaf(cn: &str, issuer: &Issued) -> Issued {
    issue(
        Spec {
            subject: &[("C", "US"), ("O", "Acme"), ("CN", cn)],
            ..Spec::default()
        },
        Some(issuer),
    )
}

pub fn expired_leaf(cn: &str, issuer: &Issued) -> Issued {
    issue(
        Spec {
            subject: &[("C", "US"), ("O", "Acme"), ("CN", cn)],
            days: (-60, -1),
            ..Spec::default()
        },
        Some(issuer),
    )
}

pub fn self_signed(cn: &str) -> Issued {
    issue(
        Spec {
            subject: &[("C", "US"), ("O", "Acme"), ("CN", cn)],
            ..Spec::default()
        },
        None,
    )
}

/// The server's certificate: 127.0.0.1 and localhost.
pub fn server(issuer: &Issued) -> Issued {
    issue(
        Spec {
            subject: &[("CN", "localhost")],
            dns: &["localhost"],
            ip: &["127.0.0.1"],
            ..Spec::default()
        },
        Some(issuer),
    )
}
