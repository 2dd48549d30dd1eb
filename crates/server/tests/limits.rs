//! The real binary against clients that take more than their share: a burst of sign-ins, a
//! body that stalls, a body announced at a terabyte, more connections than the cap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/binary.rs"]
mod binary;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use binary::Server;
use store::testing::TestDb;

const SECRET: &str = "limits-secret-limits-secret-limits-secret";

fn start(db: &TestDb, dir: &std::path::Path, extra: &[(&str, &str)]) -> Server {
    let mut env: Vec<(&str, String)> = vec![("PORTCULLIS_BOOTSTRAP_CLIENT_SECRET", SECRET.into())];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Server::start_with(dir, db, &env)
}

fn base(server: &Server) -> String {
    format!("http://127.0.0.1:{}", server.port)
}

/// A platform admin token, and a sandbox tenant `slug` created through the admin API.
fn admin_and_tenant(server: &Server, slug: &str) -> String {
    let http = reqwest::blocking::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/t/system/oauth2/token", base(server)))
        .basic_auth("admin", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let resp = http
        .post(format!("{}/admin/v1/tenants", base(server)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"slug": slug, "name": "Limits", "environment": "sandbox"}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().unwrap());
    token
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_burst_of_sign_ins_is_bounded_in_memory_and_the_excess_gets_503() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let server = start(
        &db,
        dir.path(),
        &[("PORTCULLIS_PASSWORD_HASH_CONCURRENCY", "2")],
    );
    admin_and_tenant(&server, "burst");
    let pid = server.child.id();
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let url = format!("{}/t/burst/oauth2/token", base(&server));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let answers: Vec<(u16, bool, serde_json::Value)> = rt.block_on(async {
        let http = reqwest::Client::new();
        let calls = (0..500).map(|i| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let resp = http
                    .post(&url)
                    .form(&[
                        ("grant_type", "password"),
                        ("client_id", "portal"),
                        ("username", &format!("nobody-{i}@burst.example")),
                        ("password", "correct horse battery staple"),
                    ])
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let retry = resp.headers().contains_key("retry-after");
                (status, retry, resp.json().await.unwrap_or_default())
            }
        });
        futures_util::future::join_all(calls).await
    });
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak_mib = peak.load(Ordering::Relaxed) / 1024;
    let refused = answers.iter().filter(|a| a.0 == 503).count();
    let checked = answers.iter().filter(|a| a.0 == 400).count();
    eprintln!(
        "500 concurrent sign-ins: {checked} checked (400), {refused} refused (503); RSS {} MiB \
         before, peak {peak_mib} MiB",
        before / 1024
    );
    for (status, retry, body) in &answers {
        match status {
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            503 => {
                assert_eq!(body["error"], "temporarily_unavailable", "{body}");
                assert!(retry, "a 503 says when to retry");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        refused > 0,
        "with 2 hashes at once, a burst of 500 overflows"
    );
    assert!(checked >= 2, "the gate lets sign-ins through");
    assert!(peak_mib < 200, "peak RSS {peak_mib} MiB");
    // And the server is fine afterwards.
    assert_eq!(server.get("/readyz", None).0, 200);
}

/// Sends `head` (and nothing more), then reads until the server closes the connection.
/// Returns what it answered and how long until it closed.
fn send_and_wait_for_close(port: u16, head: &str) -> (String, Duration) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "still open after {:?} ({e}); got {}",
                start.elapsed(),
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        start.elapsed(),
    )
}

#[test]
fn a_stalled_body_is_answered_408_and_closed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let server = start(&db, dir.path(), &[("PORTCULLIS_REQUEST_TIMEOUT", "2")]);
    let admin = admin_and_tenant(&server, "stall");
    // The token endpoint: 10 of the 100 announced bytes, then silence.
    let (answer, took) = send_and_wait_for_close(
        server.port,
        "POST /t/stall/oauth2/token HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type",
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("invalid_request"), "{answer}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "closed after {took:?}"
    );
    // The admin API (a JSON body behind a valid token): the same, as a problem document.
    let (answer, took) = send_and_wait_for_close(
        server.port,
        &format!(
            "POST /admin/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"slug\":"
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(took < Duration::from_secs(6), "closed after {took:?}");
    // A route that never reads its body answers at once and closes (the body is unread).
    let (answer, took) = send_and_wait_for_close(
        server.port,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
}

#[test]
fn a_body_announced_at_a_terabyte_gets_413_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let server = start(&db, dir.path(), &[]);
    admin_and_tenant(&server, "huge");
    let (answer, took) = send_and_wait_for_close(
        server.port,
        "POST /t/huge/oauth2/token HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000000000\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("invalid_request"), "{answer}");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
}

#[test]
fn connections_over_the_cap_get_a_clear_503() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let server = start(&db, dir.path(), &[("PORTCULLIS_MAX_CONNECTIONS", "8")]);
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (answer, _) =
        send_and_wait_for_close(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many open connections"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after"),
        "{answer}"
    );
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.get("/healthz", None).0, 200);
}
