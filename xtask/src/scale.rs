//! `cargo xtask scale` (also a step of `cargo xtask test`): two replicas of the debug build on a
//! PostgreSQL of their own, behind HAProxy from Debian with health checks on `/readyz`, and
//! what users of such a set-up rely on, proved through it:
//! - a write on one replica holds on the other within 1 s (pushed by LISTEN/NOTIFY);
//! - a replica killed with SIGKILL under load loses no acknowledged write, no accepted client
//!   assertion (`jti`) is accepted again, no rotated refresh token works again, and only the
//!   requests in flight to it fail;
//! - PostgreSQL stopped and started under load gives 200 or 503 (never a 500, never a 401 for
//!   good credentials), and both replicas recover without a restart.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::bench::{rsa_client_key, sign_rs256};
use crate::interop::{debug_binary, TempDir};
use crate::pg::{free_port, Postgres};
use crate::process::{self, exists, is_root};
use crate::Result;

const SECRET: &str = crate::bench::ADMIN_SECRET;
/// A fixed master key (hex): both replicas must unseal the same keys.
pub const MASTER_KEY: &str = "5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5ca1";

/// An HTTP answer: status and body. Status 0: no answer (refused, reset, timed out).
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Value,
}

/// One request on its own connection (so a killed replica fails only what it had in flight).
fn http(port: u16, method: &str, path: &str, headers: &[(&str, String)], body: &str) -> Reply {
    let attempt = || -> std::io::Result<Reply> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            let _ = write!(req, "{k}: {v}\r\n");
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let payload = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        Ok(Reply {
            status,
            body: serde_json::from_str(&payload).unwrap_or(Value::Null),
        })
    };
    attempt().unwrap_or(Reply {
        status: 0,
        body: Value::Null,
    })
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn form(port: u16, path: &str, auth: Option<String>, body: &str) -> Reply {
    let mut headers = vec![(
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    http(port, "POST", path, &headers, body)
}

fn basic(id: &str, secret: &str) -> Option<String> {
    Some(format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:{secret}"))
    ))
}

/// Polls `check` every 10 ms for up to `limit`; how long it took to hold.
fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// One replica process.
pub struct Replica {
    pub port: u16,
    child: Option<Child>,
    binary: PathBuf,
    dir: PathBuf,
    database: String,
    public_url: String,
}

impl Replica {
    pub fn start(
        binary: &Path,
        dir: &Path,
        name: &str,
        database: &str,
        public_url: &str,
    ) -> Result<Replica> {
        let mut r = Replica {
            port: free_port()?,
            child: None,
            binary: binary.to_owned(),
            dir: dir.join(name),
            database: database.to_owned(),
            public_url: public_url.to_owned(),
        };
        r.spawn()?;
        Ok(r)
    }

    fn spawn(&mut self) -> Result {
        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(self.dir.join("server.log")).map_err(|e| e.to_string())?;
        let child = Command::new(&self.binary)
            .current_dir(&self.dir)
            .env("PORTCULLIS_DATABASE_URL", &self.database)
            .env("PORTCULLIS_BIND", format!("127.0.0.1:{}", self.port))
            .env("PORTCULLIS_PUBLIC_URL", &self.public_url)
            .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
            .env("PORTCULLIS_BOOTSTRAP_CLIENT_SECRET", SECRET)
            .env("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", SECRET)
            .env("PORTCULLIS_DATA_DIR", self.dir.join("data"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let pushed = within(Duration::from_secs(60), || {
            http(self.port, "GET", "/readyz", &[], "").body["changes"] == "pushed"
        });
        pushed.map(|_| ()).ok_or_else(|| {
            format!(
                "replica on port {} not ready with pushed changes in 60 s; its log: {}",
                self.port,
                std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
            )
        })
    }

    pub fn peak_rss_mb(&self) -> u64 {
        self.child
            .as_ref()
            .map_or(0, |c| crate::bench::peak_rss_mb(c.id()))
    }

    /// SIGKILL: no shutdown, no goodbye.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

pub struct HaProxy(Child);

impl HaProxy {
    pub fn start(dir: &Path, port: u16, backends: [u16; 2]) -> Result<HaProxy> {
        // Retries only on a failed connection (the request was not sent), so a write is never
        // sent twice; health checks every 300 ms, out after 2 failures.
        let config = format!(
            "global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
  retry-on conn-failure
frontend portcullis
  bind 127.0.0.1:{port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 300ms fall 2 rise 2
  server r1 127.0.0.1:{} check
  server r2 127.0.0.1:{} check
",
            backends[0], backends[1]
        );
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, config).map_err(|e| e.to_string())?;
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start haproxy: {e}"))?;
        let proxy = HaProxy(child);
        within(Duration::from_secs(10), || {
            http(port, "GET", "/readyz", &[], "").status == 200
        })
        .ok_or("haproxy did not serve /readyz within 10 s")?;
        Ok(proxy)
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn ensure_haproxy() -> Result {
    if exists("haproxy") {
        return Ok(());
    }
    if is_root() && exists("apt-get") {
        let _ = process::run(Command::new("apt-get").args(["update", "-qq"]));
        process::run(Command::new("apt-get").args(["install", "-y", "-qq", "haproxy"]))?;
        if exists("haproxy") {
            return Ok(());
        }
    }
    Err("haproxy is not installed (apt-get install haproxy)".into())
}

/// The checks' outcomes, printed as they come.
#[derive(Default)]
struct Checks {
    passed: u64,
    failed: Vec<String>,
}

impl Checks {
    fn check(&mut self, name: &str, ok: bool, detail: String) {
        println!("  {} {name}: {detail}", if ok { "✓" } else { "✗" });
        if ok {
            self.passed += 1;
        } else {
            self.failed.push(format!("{name}: {detail}"));
        }
    }
}

/// The admin API of `port` as the platform admin.
struct Admin {
    token: String,
}

impl Admin {
    fn new(port: u16) -> Result<Admin> {
        let r = form(
            port,
            "/t/system/oauth2/token",
            basic("admin", SECRET),
            "grant_type=client_credentials",
        );
        let token = r.body["access_token"]
            .as_str()
            .ok_or_else(|| format!("no admin token: {} {}", r.status, r.body))?;
        Ok(Admin {
            token: token.to_owned(),
        })
    }

    fn call(&self, port: u16, method: &str, path: &str, body: Option<Value>) -> Reply {
        let mut headers = vec![("Authorization", format!("Bearer {}", self.token))];
        if body.is_some() {
            headers.push(("Content-Type", "application/json".to_owned()));
            headers.push(("If-Match", "\"1\"".to_owned()));
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        http(port, method, path, &headers, &text)
    }

    fn created(&self, port: u16, path: &str, body: Value) -> Result<Value> {
        let r = self.call(port, "POST", path, Some(body));
        if r.status == 201 {
            Ok(r.body)
        } else {
            Err(format!("POST {path}: {} {}", r.status, r.body))
        }
    }
}

const TOKEN: &str = "/t/scale/oauth2/token";

pub fn run() -> Result<u64> {
    ensure_haproxy()?;
    let binary = debug_binary()?;
    let pg = Postgres::start()?;
    let dir =
        TempDir(std::env::temp_dir().join(format!("portcullis-scale-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).map_err(|e| e.to_string())?;
    let lb = free_port()?;
    let public_url = format!("http://127.0.0.1:{lb}");
    // The first start migrates and bootstraps; the second finds both done.
    let mut r1 = Replica::start(&binary, &dir.0, "r1", &pg.url, &public_url)?;
    let r2 = Replica::start(&binary, &dir.0, "r2", &pg.url, &public_url)?;
    let _proxy = HaProxy::start(&dir.0, lb, [r1.port, r2.port])?;
    println!(
        "two replicas ({}, {}) on {} behind HAProxy at {public_url}",
        r1.port, r2.port, pg.url
    );
    let admin = Admin::new(lb)?;
    admin.created(
        lb,
        "/admin/v1/tenants",
        json!({"slug": "scale", "name": "Scale", "environment": "sandbox"}),
    )?;
    let mut checks = Checks::default();
    propagation(&mut checks, &admin, r1.port, r2.port)?;
    failover(&mut checks, &admin, lb, &mut r1, r2.port)?;
    r1.spawn()?;
    outage(&mut checks, &admin, lb, &pg, [r1.port, r2.port])?;
    if checks.failed.is_empty() {
        Ok(checks.passed)
    } else {
        Err(format!(
            "{} of {} scale checks failed: {}",
            checks.failed.len(),
            checks.failed.len() as u64 + checks.passed,
            checks.failed.join("; ")
        ))
    }
}

/// A client of the scale tenant, created on `port`; its secret.
fn client(admin: &Admin, port: u16, id: &str, extra: Value) -> Result<String> {
    let mut body = json!({"name": id, "client_id": id, "auth_method": "client_secret_basic",
        "grant_types": ["client_credentials"], "scopes": ["read"]});
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    let created = admin.created(port, "/admin/v1/tenants/scale/clients", body)?;
    Ok(created["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

fn propagation(checks: &mut Checks, admin: &Admin, a: u16, b: u16) -> Result {
    println!("a write on one replica, seen on the other:");
    let token = |secret: &str| {
        form(
            b,
            TOKEN,
            basic("late", secret),
            "grant_type=client_credentials",
        )
        .status
    };
    // B looks the client up before it exists, and caches that it does not.
    let before = token("not-yet");
    let secret = client(admin, a, "late", json!({}))?;
    let created = within(Duration::from_secs(3), || token(&secret) == 200);
    checks.check(
        "a client created on one replica authenticates on the other within 1 s",
        before == 401 && created.is_some_and(|t| t <= Duration::from_secs(1)),
        format!("before: {before}, after {created:?}"),
    );
    let r = admin.call(
        a,
        "PATCH",
        "/admin/v1/tenants/scale/clients/late",
        Some(json!({"disabled": true})),
    );
    let disabled = within(Duration::from_secs(3), || token(&secret) == 401);
    checks.check(
        "a client disabled on one replica is refused on the other within 1 s",
        r.status == 200 && disabled.is_some_and(|t| t <= Duration::from_secs(1)),
        format!("PATCH {}, refused after {disabled:?}", r.status),
    );
    Ok(())
}

/// What the load threads saw.
#[derive(Default)]
struct Seen {
    /// Requests that got no answer or a 5xx, with when (since the load began).
    failures: Vec<(Duration, String)>,
    /// Organizations whose creation was acknowledged (201).
    written: Vec<String>,
    /// Client assertions accepted (200).
    accepted: Vec<String>,
    /// Refresh tokens whose rotation was acknowledged: used, must never work again.
    rotated: Vec<String>,
    requests: u64,
}

fn failover(checks: &mut Checks, admin: &Admin, lb: u16, r1: &mut Replica, r2: u16) -> Result {
    println!("a replica killed with SIGKILL under load:");
    let loader = client(
        admin,
        lb,
        "loader",
        json!({"grant_types": ["client_credentials", "refresh_token"]}),
    )?;
    let (jwk, key) = rsa_client_key()?;
    admin.created(
        lb,
        "/admin/v1/tenants/scale/clients",
        json!({"name": "signer", "client_id": "signer", "auth_method": "private_key_jwt",
               "grant_types": ["client_credentials"], "scopes": ["read"], "jwks": {"keys": [jwk]}}),
    )?;
    let aud = format!("http://127.0.0.1:{lb}{TOKEN}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let assertions: Vec<String> = (0..8000)
        .map(|i| {
            sign_rs256(
                &key,
                &format!(
                    r#"{{"iss":"signer","sub":"signer","aud":"{aud}","iat":{now},"exp":{},"jti":"scale-{i}"}}"#,
                    now + 240
                ),
            )
        })
        .collect::<Result<_>>()?;
    let assertions = Arc::new(Mutex::new(assertions));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let record = move |seen: &Arc<Mutex<Seen>>, r: &Reply, what: &str| {
        let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
        s.requests += 1;
        if r.status == 0 || r.status >= 500 {
            s.failures
                .push((start.elapsed(), format!("{what}: {}", r.status)));
        }
    };
    let mut threads = Vec::new();
    for w in 0..2 {
        let (seen, stop) = (seen.clone(), stop.clone());
        let token = admin.token.clone();
        threads.push(std::thread::spawn(move || {
            let admin = Admin { token };
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = admin.call(
                    lb,
                    "POST",
                    "/admin/v1/tenants/scale/organizations",
                    Some(json!({"kind": "other", "name": format!("w{w}-{i}")})),
                );
                record(&seen, &r, "write");
                if r.status == 201 {
                    if let Some(id) = r.body["id"].as_str() {
                        seen.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .written
                            .push(id.to_owned());
                    }
                }
                i += 1;
            }
        }));
    }
    for _ in 0..2 {
        let (seen, stop, assertions) = (seen.clone(), stop.clone(), assertions.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Some(a) = assertions.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                let r = form(
                    lb,
                    TOKEN,
                    None,
                    &format!("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}"),
                );
                record(&seen, &r, "assertion");
                if r.status == 200 {
                    seen.lock().unwrap_or_else(|p| p.into_inner()).accepted.push(a);
                }
            }
        }));
    }
    for _ in 0..2 {
        let (seen, stop, loader) = (seen.clone(), stop.clone(), loader.clone());
        threads.push(std::thread::spawn(move || {
            let first = form(
                lb,
                TOKEN,
                basic("loader", &loader),
                "grant_type=client_credentials",
            );
            let Some(mut current) = first.body["refresh_token"].as_str().map(str::to_owned) else {
                return;
            };
            while !stop.load(Ordering::Relaxed) {
                let r = form(
                    lb,
                    TOKEN,
                    basic("loader", &loader),
                    &format!("grant_type=refresh_token&refresh_token={current}"),
                );
                record(&seen, &r, "rotation");
                match r.body["refresh_token"].as_str() {
                    Some(next) if r.status == 200 => {
                        let used = std::mem::replace(&mut current, next.to_owned());
                        seen.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .rotated
                            .push(used);
                    }
                    // Lost in flight: whether it rotated is unknown, so this chain ends here
                    // (sending it again would rightly end its family).
                    _ => break,
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    let killed_at = start.elapsed();
    r1.kill();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
    let concurrency = 6;
    let window = Duration::from_millis(1500);
    let late: Vec<&(Duration, String)> = seen
        .failures
        .iter()
        .filter(|(at, _)| *at < killed_at || *at > killed_at + window)
        .collect();
    checks.check(
        "only requests in flight to the killed replica fail",
        seen.failures.len() <= concurrency && late.is_empty() && seen.requests > 100,
        format!(
            "{} requests, {} failed ({:?}), none outside the {} ms after the kill: {}",
            seen.requests,
            seen.failures.len(),
            seen.failures
                .iter()
                .map(|(_, w)| w.as_str())
                .collect::<Vec<_>>(),
            window.as_millis(),
            late.is_empty()
        ),
    );
    let lost: Vec<&String> = seen
        .written
        .iter()
        .filter(|id| {
            admin
                .call(
                    r2,
                    "GET",
                    &format!("/admin/v1/tenants/scale/organizations/{id}"),
                    None,
                )
                .status
                != 200
        })
        .collect();
    checks.check(
        "no acknowledged write is lost",
        lost.is_empty() && !seen.written.is_empty(),
        format!(
            "{} acknowledged, {} missing",
            seen.written.len(),
            lost.len()
        ),
    );
    let replayed = seen
        .accepted
        .iter()
        .filter(|a| {
            form(
                lb,
                TOKEN,
                None,
                &format!("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}"),
            )
            .status
                == 200
        })
        .count();
    checks.check(
        "no accepted jti is accepted again",
        replayed == 0 && !seen.accepted.is_empty(),
        format!(
            "{} accepted, {replayed} accepted again",
            seen.accepted.len()
        ),
    );
    let reused = seen
        .rotated
        .iter()
        .filter(|t| {
            form(
                lb,
                TOKEN,
                basic("loader", &loader),
                &format!("grant_type=refresh_token&refresh_token={t}"),
            )
            .status
                == 200
        })
        .count();
    checks.check(
        "no rotated refresh token works again",
        reused == 0 && !seen.rotated.is_empty(),
        format!("{} rotated, {reused} worked again", seen.rotated.len()),
    );
    Ok(())
}

fn outage(
    checks: &mut Checks,
    admin: &Admin,
    lb: u16,
    pg: &Postgres,
    replicas: [u16; 2],
) -> Result {
    println!("PostgreSQL stopped and started under load:");
    let secret = client(admin, lb, "steady", json!({}))?;
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for n in 0..4 {
        let (statuses, stop, secret) = (statuses.clone(), stop.clone(), secret.clone());
        let token = admin.token.clone();
        threads.push(std::thread::spawn(move || {
            let admin = Admin { token };
            while !stop.load(Ordering::Relaxed) {
                let r = if n % 2 == 0 {
                    form(
                        lb,
                        TOKEN,
                        basic("steady", &secret),
                        "grant_type=client_credentials",
                    )
                } else {
                    admin.call(lb, "GET", "/admin/v1/tenants/scale/clients?limit=5", None)
                };
                *statuses
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(r.status)
                    .or_default() += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    pg.halt()?;
    std::thread::sleep(Duration::from_secs(3));
    pg.resume()?;
    let resumed = Instant::now();
    let recovered = within(Duration::from_secs(30), || {
        replicas.iter().all(|&p| {
            http(p, "GET", "/readyz", &[], "").body["changes"] == "pushed"
                && admin
                    .call(p, "GET", "/admin/v1/tenants/scale/clients?limit=1", None)
                    .status
                    == 200
                && form(
                    p,
                    TOKEN,
                    basic("steady", &secret),
                    "grant_type=client_credentials",
                )
                .status
                    == 200
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let statuses = statuses.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let unexpected: Vec<(&u16, &u64)> = statuses
        .iter()
        .filter(|(s, _)| !matches!(**s, 200 | 503))
        .collect();
    checks.check(
        "while the database is down: 200 or 503 only, never a 500 or a 401",
        unexpected.is_empty() && statuses.get(&503).is_some_and(|n| *n > 0),
        format!("statuses seen {statuses:?}"),
    );
    checks.check(
        "both replicas recover without a restart",
        recovered.is_some(),
        format!(
            "serving again {:?} after PostgreSQL came back (listener reconnected, reads, tokens)",
            recovered.map(|_| resumed.elapsed())
        ),
    );
    Ok(())
}
