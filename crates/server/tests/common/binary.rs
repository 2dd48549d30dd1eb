//! The real `portcullis` binary, started on a free port for tests from outside.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use store::testing::TestDb;
use store::DatabaseUrl;

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn url_text(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

pub fn command(dir: &std::path::Path) -> Command {
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
pub fn fails(mut c: Command) -> String {
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

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub stderr: String,
    /// Reads the JSON log as it comes, so that a busy server never blocks on a full pipe.
    log: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    pub fn start(dir: &std::path::Path, db: &TestDb) -> Server {
        Server::start_with(dir, db, &[])
    }

    pub fn start_with(dir: &std::path::Path, db: &TestDb, extra: &[(&str, String)]) -> Server {
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
        let mut stdout = child.stdout.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            out
        });
        Server {
            child,
            port,
            stderr,
            log: Some(log),
        }
    }

    pub fn get(&self, path: &str, request_id: Option<&str>) -> (u16, String) {
        let client = reqwest::blocking::Client::new();
        let mut req = client.get(format!("http://127.0.0.1:{}{path}", self.port));
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        let resp = req.send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    }

    /// SIGTERM, then the exit status and everything written to stdout (the JSON log).
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
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
        let out = self.log.take().unwrap().join().unwrap();
        (status, out)
    }
}

/// A test that fails (or does not terminate its server) leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
