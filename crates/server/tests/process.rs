//! The real `portcullis` binary: start-up failures, restarts, logs and graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;

use store::testing::TestDb;
use store::DatabaseUrl;

#[path = "common/pki.rs"]
#[allow(dead_code)]
mod pki;

#[path = "common/binary.rs"]
mod binary;
use binary::*;

#[test]
fn serves_restarts_without_recreating_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();

    let first = Server::start(dir.path(), &db);
    assert!(first.stderr.contains("First start"), "{}", first.stderr);
    assert!(
        first.stderr.contains("password: "),
        "generated password shown once"
    );
    assert!(
        first.stderr.contains("/swagger-ui/"),
        "says where Swagger UI is"
    );
    assert_eq!(first.get("/healthz", None).0, 200);
    assert_eq!(first.get("/readyz", Some("trace-me-42")).0, 200);
    let (status, html) = first.get("/swagger-ui/", None);
    assert_eq!(status, 200);
    assert!(html.contains("swagger-ui-bundle.js"));
    let (status, js) = first.get("/swagger-ui/swagger-ui-bundle.js", None);
    assert_eq!(status, 200);
    assert!(
        js.len() > 100_000,
        "the Swagger UI bundle comes from the binary"
    );
    let (status, spec) = first.get("/openapi.json", None);
    assert_eq!(status, 200);
    assert!(spec.contains("\"/readyz\""));
    let banner = first.stderr.clone();
    let (status, log) = first.terminate();
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");

    let secret = banner
        .split("secret: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let password = banner
        .split("password: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(
        !log.contains(secret) && !log.contains(password),
        "secrets never logged"
    );
    let traced: Vec<&str> = log.lines().filter(|l| l.contains("trace-me-42")).collect();
    assert!(
        !traced.is_empty(),
        "the request id is on the request's log lines"
    );
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string());
    }
    let access: serde_json::Value = serde_json::from_str(traced[0]).unwrap();
    assert_eq!(access["span"]["request_id"], "trace-me-42");
    assert_eq!(access["status"], 200);

    let second = Server::start(dir.path(), &db);
    assert!(
        !second.stderr.contains("First start"),
        "a restart creates nothing: {}",
        second.stderr
    );
    assert_eq!(second.get("/readyz", None).0, 200);
    let (status, _) = second.terminate();
    assert!(status.success());
    if let DatabaseUrl::Sqlite(_) = db.url {
        // The default data directory of a development start holds the generated master key.
        assert!(dir.path().join("data/master.key").is_file());
    }
}

#[test]
fn a_bad_database_url_is_one_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = command(dir.path());
    c.env("PORTCULLIS_DATABASE_URL", "mysql://nope");
    let err = fails(c);
    assert!(err.contains("PORTCULLIS_DATABASE_URL"), "{err}");

    let mut c = command(dir.path());
    c.env(
        "PORTCULLIS_DATABASE_URL",
        format!("postgres://nobody@127.0.0.1:{}/x", free_port()),
    );
    let err = fails(c);
    assert!(err.contains("database postgres://nobody"), "{err}");
}

#[test]
fn an_unreadable_master_key_is_one_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = command(dir.path());
    c.env("PORTCULLIS_MASTER_KEY_FILE", dir.path().join("missing.key"));
    let err = fails(c);
    assert!(err.contains("missing.key"), "{err}");

    std::fs::write(dir.path().join("short.key"), "abc").unwrap();
    let mut c = command(dir.path());
    c.env("PORTCULLIS_MASTER_KEY_FILE", dir.path().join("short.key"));
    fails(c);

    let mut c = command(dir.path());
    c.env("PORTCULLIS_ENV", "production");
    let err = fails(c);
    assert!(err.contains("MASTER_KEY"), "{err}");
}

#[test]
fn an_unbindable_address_is_one_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut c = command(dir.path());
    c.env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_DATABASE_URL", url_text(&db.url));
    let err = fails(c);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn migrate_and_openapi_commands() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let out = command(dir.path())
        .arg("migrate")
        .env("PORTCULLIS_DATABASE_URL", url_text(&db.url))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let first = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        first.starts_with("applied ") && !first.starts_with("applied 0 "),
        "{first}"
    );
    let again = command(dir.path())
        .arg("migrate")
        .env("PORTCULLIS_DATABASE_URL", url_text(&db.url))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("applied 0 migration"));

    let out = command(dir.path()).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");

    let out = command(dir.path()).arg("frobnicate").output().unwrap();
    assert!(!out.status.success());
}

/// With a certificate and key, the binary serves HTTPS beside plain HTTP: TLS 1.3 when the
/// client can, 1.2 at least, never older.
#[test]
fn serves_https_beside_http_tls_1_2_at_least() {
    use openssl::ssl::{SslConnector, SslMethod, SslVersion};
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let root = pki::root("Process test CA");
    let cert = pki::server(&root);
    std::fs::write(dir.path().join("cert.pem"), cert.chain_pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.key_pem()).unwrap();
    let tls_port = free_port();
    let files = [
        ("PORTCULLIS_TLS_CERT", "cert.pem".to_owned()),
        ("PORTCULLIS_TLS_KEY", "key.pem".to_owned()),
        ("PORTCULLIS_TLS_BIND", format!("127.0.0.1:{tls_port}")),
    ];
    let server = Server::start_with(dir.path(), &db, &files);
    assert_eq!(server.get("/healthz", None).0, 200, "plain HTTP stays");
    let https = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(root.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = https
        .get(format!("https://127.0.0.1:{tls_port}/healthz"))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let handshake = |max: Option<SslVersion>| {
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        b.set_verify(openssl::ssl::SslVerifyMode::NONE);
        b.set_min_proto_version(None).unwrap();
        b.set_max_proto_version(max).unwrap();
        // Let the client offer old versions at all (OpenSSL's default level forbids them).
        b.set_cipher_list("DEFAULT:@SECLEVEL=0").unwrap();
        let tcp = std::net::TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
        b.build()
            .configure()
            .unwrap()
            .connect("localhost", tcp)
            .map(|s| s.ssl().version_str().to_owned())
    };
    assert_eq!(handshake(None).unwrap(), "TLSv1.3");
    assert_eq!(handshake(Some(SslVersion::TLS1_2)).unwrap(), "TLSv1.2");
    assert!(
        handshake(Some(SslVersion::TLS1_1)).is_err(),
        "TLS 1.1 refused"
    );
    let (status, _) = server.terminate();
    assert!(status.success());

    // A certificate that cannot be read: one line, no start.
    let mut c = command(dir.path());
    c.env("PORTCULLIS_DATABASE_URL", url_text(&db.url))
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{}", free_port()))
        .env("PORTCULLIS_TLS_CERT", "missing.pem")
        .env("PORTCULLIS_TLS_KEY", "key.pem")
        .env("PORTCULLIS_TLS_BIND", format!("127.0.0.1:{}", free_port()));
    let err = fails(c);
    assert!(err.contains("TLS certificate missing.pem"), "{err}");
}

/// The platform admin printed on the first start signs in through the system tenant's
/// `portal` client, with the emailed code (development: the outbox).
#[test]
fn the_printed_platform_admin_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let server = Server::start(dir.path(), &db);
    let password = server
        .stderr
        .split("password: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let http = reqwest::blocking::Client::new();
    let token_url = format!("http://127.0.0.1:{}/t/system/oauth2/token", server.port);
    let resp = http
        .post(&token_url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", "portal"),
            ("username", "admin@localhost"),
            ("password", &password),
        ])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["error"], "mfa_required", "{body}");
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
    let outbox = dir.path().join("data/outbox");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .next()
        .expect("the code went to the outbox");
    let subject = mail.lines().find(|l| l.starts_with("Subject:")).unwrap();
    let code: String = subject
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    let resp = http
        .post(&token_url)
        .form(&[
            (
                "grant_type",
                "urn:portcullis:params:oauth:grant-type:mfa-otp",
            ),
            ("client_id", "portal"),
            ("mfa_token", &mfa_token),
            ("otp", &code),
        ])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().unwrap();
    let access = body["access_token"].as_str().unwrap();
    let me: serde_json::Value = http
        .get(format!("http://127.0.0.1:{}/account/me", server.port))
        .bearer_auth(access)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["email"], "admin@localhost", "{me}");
    assert_eq!(me["tenant_roles"], serde_json::json!(["platform_admin"]));
}
