//! The real `portcullis` binary: start-up failures, restarts, logs and graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use store::testing::TestDb;
use store::DatabaseUrl;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

#[path = "common/pki.rs"]
#[allow(dead_code)]
mod pki;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn url_text(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

fn command(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("PORTCULLIS_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

/// Runs to completion, expecting a start-up failure; returns stderr.
fn fails(mut c: Command) -> String {
    let out = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success(),
        "expected failure, got {:?}: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one readable line: {stderr}"
    );
    assert!(stderr.starts_with("portcullis: error: "), "{stderr}");
    stderr
}

struct Server {
    child: Child,
    port: u16,
    stderr: String,
}

impl Server {
    fn start(dir: &std::path::Path, db: &TestDb) -> Server {
        Server::start_with(dir, db, &[])
    }

    fn start_with(dir: &std::path::Path, db: &TestDb, extra: &[(&str, String)]) -> Server {
        let port = free_port();
        let mut c = command(dir);
        for (k, v) in extra {
            c.env(k, v);
        }
        let mut child = c
            .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
            .env("PORTCULLIS_DATABASE_URL", url_text(&db.url))
            .env("PORTCULLIS_WORKERS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The banner and the "listening" line come on stderr before serving.
        let mut stderr = String::new();
        let mut reader = BufReader::new(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            stderr.push_str(&line);
            if line.contains("listening on") {
                break;
            }
        }
        assert!(
            stderr.contains("listening on"),
            "server did not start: {stderr}"
        );
        Server {
            child,
            port,
            stderr,
        }
    }

    fn get(&self, path: &str, request_id: Option<&str>) -> (u16, String) {
        let client = reqwest::blocking::Client::new();
        let mut req = client.get(format!("http://127.0.0.1:{}{path}", self.port));
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        let resp = req.send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    }

    /// SIGTERM, then the exit status and everything written to stdout (the JSON log).
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        (status, out)
    }
}

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
