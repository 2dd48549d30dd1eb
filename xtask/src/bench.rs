//! `cargo xtask bench`: the release server on loopback with SQLite, driven by wrk at a fixed
//! connection count for a fixed time, per scenario: requests/s, p50, p99, errors — beside the
//! machine's raw signing rate (`openssl speed`) for the same algorithm.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Signer;

use crate::interop::{http_get_ok, TempDir};
use crate::process::{cargo, exists, is_root, output, run};
use crate::{root, Result};

const CONNECTIONS: u32 = 32;
pub const ADMIN_SECRET: &str = "bench-secret-bench-secret-bench-secret-0";

struct Scenario {
    name: &'static str,
    path: String,
    script: String,
    openssl: Option<(&'static str, f64)>,
    /// Sends a fresh signed assertion per request: how each is signed, and the form around it.
    fresh: Option<Fresh>,
}

/// Assertions signed ahead of a run, each with its own `jti`; how many is decided from the
/// warm-up's rate, so the run cannot run out (a replay would be refused in microseconds and
/// inflate the rate).
struct Fresh {
    /// The claims of the assertion with this `jti`, `exp` included.
    claims: Box<dyn Fn(&str) -> String + Sync>,
    /// The form, up to the assertion.
    body: &'static str,
}

pub struct Outcome {
    pub rps: f64,
    pub p50: String,
    pub p99: String,
    pub errors: u64,
    pub requests: u64,
}

pub fn run_bench(args: &[String]) -> Result {
    let seconds: u64 = args
        .iter()
        .find_map(|a| a.strip_prefix("--seconds="))
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    if args.iter().any(|a| a == "--scale") {
        return crate::bench_scale::run_scale(args, seconds);
    }
    ensure_wrk()?;
    run(cargo().args([
        "build",
        "--release",
        "--locked",
        "--package",
        "portcullis-server",
    ]))?;
    let binary = root().join("target/release/portcullis");
    let dir =
        TempDir(std::env::temp_dir().join(format!("portcullis-bench-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).map_err(|e| e.to_string())?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let base = format!("http://127.0.0.1:{port}");

    // First start bootstraps; clients are added offline; the second start is timed.
    drop(Server::start(&binary, &dir.0, port)?);
    let (rsa_jwk, rsa_key) = rsa_client_key()?;
    std::fs::write(
        dir.0.join("jwks.json"),
        serde_json::json!({ "keys": [rsa_jwk] }).to_string(),
    )
    .map_err(|e| e.to_string())?;
    let mut secrets = std::collections::HashMap::new();
    for (id, extra) in [
        ("bench-rs256", vec!["--alg", "RS256"]),
        ("bench-es256", vec!["--alg", "ES256"]),
        (
            "bench-jwt",
            vec![
                "--alg",
                "ES256",
                "--auth",
                "private_key_jwt",
                "--jwks-file",
                "jwks.json",
            ],
        ),
    ] {
        let mut cmd = server_command(&binary, &dir.0, port);
        cmd.args([
            "client",
            "add",
            "--tenant",
            "system",
            "--client-id",
            id,
            "--scopes",
            "read",
        ])
        .args(extra);
        let out: serde_json::Value =
            serde_json::from_slice(&output(&mut cmd)?).map_err(|e| e.to_string())?;
        secrets.insert(
            id,
            out["client_secret"].as_str().unwrap_or_default().to_owned(),
        );
    }
    let started = Instant::now();
    let server = Server::start(&binary, &dir.0, port)?;
    let ready = started.elapsed();

    let token_path = "/t/system/oauth2/token";
    let token_url = format!("{base}{token_path}");
    let jwks_port = serve_jwks(serde_json::json!({ "keys": [rsa_jwk] }).to_string())?;
    let external_iss = format!("http://127.0.0.1:{jwks_port}");
    federation_setup(&base, &external_iss)?;
    // iat and exp when signed: assertions are signed just before their run.
    let external_token = move |sub: &str, jti: &str| {
        let now = unix_now();
        format!(
            r#"{{"iss":"{external_iss}","sub":"{sub}","aud":"bench","iat":{now},"exp":{},"jti":"{jti}"}}"#,
            now + 290
        )
    };
    let reused = sign_rs256(
        &rsa_key,
        &external_token("system:serviceaccount:bench:reused", "reused"),
    )?;

    let introspected = fetch_token(&base, "bench-rs256", &secrets["bench-rs256"])?;
    let basic = |id: &str, secret: &str| STANDARD.encode(format!("{id}:{secret}"));
    let scenarios = [
        Scenario {
            name: "client_credentials, secret_basic, RS256",
            path: token_path.into(),
            script: static_post(
                "grant_type=client_credentials",
                &basic("bench-rs256", &secrets["bench-rs256"]),
            ),
            openssl: Some(("rsa2048", openssl_speed("rsa2048", "rsa 2048 bits")?)),
            fresh: None,
        },
        Scenario {
            name: "client_credentials, secret_basic, ES256",
            path: token_path.into(),
            script: static_post(
                "grant_type=client_credentials",
                &basic("bench-es256", &secrets["bench-es256"]),
            ),
            openssl: Some(("ecdsap256", openssl_speed("ecdsap256", "ecdsa (nistp256)")?)),
            fresh: None,
        },
        Scenario {
            name: "private_key_jwt (RS256 assertion, fresh jti), ES256",
            path: token_path.into(),
            script: String::new(),
            openssl: None,
            fresh: Some(Fresh {
                claims: Box::new(move |jti| {
                    let now = unix_now();
                    format!(
                        r#"{{"iss":"bench-jwt","sub":"bench-jwt","aud":"{token_url}","iat":{now},"exp":{},"jti":"{jti}"}}"#,
                        now + 290
                    )
                }),
                body: "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=",
            }),
        },
        Scenario {
            name: "JWT bearer, external RS256 token, single use, ES256",
            path: "/t/bench-fed/oauth2/token".into(),
            script: String::new(),
            openssl: None,
            fresh: Some(Fresh {
                claims: Box::new(move |jti| external_token("system:serviceaccount:bench:w", jti)),
                body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=",
            }),
        },
        Scenario {
            name: "JWT bearer, external RS256 token reused, ES256",
            path: "/t/bench-fed/oauth2/token".into(),
            script: static_form(&format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={reused}"
            )),
            openssl: None,
            fresh: None,
        },
        Scenario {
            name: "introspection of an RS256 access token",
            path: "/t/system/oauth2/introspect".into(),
            script: static_post(
                &format!("token={introspected}"),
                &basic("admin", ADMIN_SECRET),
            ),
            openssl: None,
            fresh: None,
        },
    ];

    let mut report = String::new();
    let _ = writeln!(report, "\nPortcullis benchmark: wrk, {CONNECTIONS} connections, {seconds} s per scenario, SQLite, release build, RUST_LOG=warn");
    let _ = writeln!(
        report,
        "ready to serve after start on an existing database: {} ms",
        ready.as_millis()
    );
    let _ = writeln!(
        report,
        "{:<55} {:>10} {:>9} {:>9} {:>7}   openssl sign/s (2 procs)",
        "scenario", "req/s", "p50", "p99", "errors"
    );
    for (n, s) in scenarios.iter().enumerate() {
        let script_path = dir.0.join("scenario.lua");
        let file = dir.0.join("assertions.txt");
        // A short warm-up fills caches and connection pools.
        let o = match &s.fresh {
            None => {
                std::fs::write(&script_path, &s.script).map_err(|e| e.to_string())?;
                let _ = wrk(&base, &s.path, &script_path, 2, "warmup");
                wrk(&base, &s.path, &script_path, seconds, "run")?
            }
            Some(fresh) => {
                std::fs::write(&script_path, assertion_post(&file, fresh.body))
                    .map_err(|e| e.to_string())?;
                sign_assertions(
                    &rsa_key,
                    WARMUP_ASSERTIONS,
                    &file,
                    &format!("w{n}"),
                    &*fresh.claims,
                )?;
                let warm = wrk(&base, &s.path, &script_path, 2, "warmup")?;
                // Half as many again as the warm-up's pace of accepted requests needs; twice
                // that if the warm-up ran out, since its true pace is then unknown.
                let accepted = warm.requests.saturating_sub(warm.errors) as usize;
                let spare = if warm.errors > 0 { 2 } else { 1 };
                let needed = accepted * spare * seconds as usize * 3 / 4 + 1000;
                println!("{}: signing {needed} fresh assertions ...", s.name);
                sign_assertions(&rsa_key, needed, &file, &format!("r{n}"), &*fresh.claims)?;
                wrk(&base, &s.path, &script_path, seconds, "run")?
            }
        };
        let ratio = s
            .openssl
            .map(|(alg, rate)| format!("{alg} {rate:.0}  → {:.0} %", 100.0 * o.rps / rate))
            .unwrap_or_default();
        if o.errors > 0 {
            // A rate that counts refusals measures nothing.
            let _ = writeln!(
                report,
                "{:<55} INVALID: {} of {} requests failed",
                s.name, o.errors, o.requests
            );
        } else {
            let _ = writeln!(
                report,
                "{:<55} {:>10.0} {:>9} {:>9} {:>7}   {ratio}",
                s.name, o.rps, o.p50, o.p99, o.errors
            );
        }
    }
    let _ = writeln!(
        report,
        "peak resident memory of the server: {} MB",
        server.peak_rss_mb()
    );
    drop(server);
    print!("{report}");
    std::fs::write(root().join("target/bench-report.txt"), report).map_err(|e| e.to_string())?;
    Ok(())
}

pub fn ensure_wrk() -> Result {
    if exists("wrk") {
        return Ok(());
    }
    if is_root() {
        let _ = run(Command::new("apt-get").args(["update", "-qq"]));
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        return Ok(());
    }
    Err("wrk is not installed (apt-get install wrk)".into())
}

fn server_command(binary: &Path, dir: &Path, port: u16) -> Command {
    let mut c = Command::new(binary);
    c.current_dir(dir)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("PORTCULLIS_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET)
        .env("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_SECRET)
        .env("RUST_LOG", "warn");
    c
}

pub struct Server {
    child: std::process::Child,
}

impl Server {
    fn start(binary: &Path, dir: &Path, port: u16) -> Result<Server> {
        Self::start_with(binary, dir, port, &[])
    }

    /// With more environment (the database, the master key).
    pub fn start_with(
        binary: &Path,
        dir: &Path,
        port: u16,
        env: &[(&str, &str)],
    ) -> Result<Server> {
        // `PORTCULLIS_BENCH_LOG=<filter>` keeps the server's log in target/bench-server.log.
        let log = match std::env::var("PORTCULLIS_BENCH_LOG") {
            Ok(_) => std::fs::File::create(root().join("target/bench-server.log"))
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null()),
            Err(_) => std::process::Stdio::null(),
        };
        let mut cmd = server_command(binary, dir, port);
        cmd.envs(env.iter().copied());
        if let Ok(filter) = std::env::var("PORTCULLIS_BENCH_LOG") {
            cmd.env("RUST_LOG", filter);
        }
        let child = cmd
            .stdout(log)
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let server = Server { child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http_get_ok(port, "/readyz") {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Err("server not ready within 30 s".into())
    }

    pub fn peak_rss_mb(&self) -> u64 {
        peak_rss_mb(self.child.id())
    }
}

/// The peak resident memory (VmHWM) of process `pid`, in MB.
pub fn peak_rss_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn fetch_token(base: &str, id: &str, secret: &str) -> Result<String> {
    fetch_token_at(base, "system", id, secret)
}

/// A client_credentials access token of `id` at `tenant`.
pub fn fetch_token_at(base: &str, tenant: &str, id: &str, secret: &str) -> Result<String> {
    let out = output(Command::new("curl").args([
        "-sf",
        "-u",
        &format!("{id}:{secret}"),
        "-d",
        "grant_type=client_credentials",
        &format!("{base}/t/{tenant}/oauth2/token"),
    ]))?;
    let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    v["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no access token".into())
}

pub fn rsa_client_key() -> Result<(serde_json::Value, PKey<openssl::pkey::Private>)> {
    let rsa = Rsa::generate(2048).map_err(|e| e.to_string())?;
    let jwk = serde_json::json!({
        "kty": "RSA", "kid": "bench", "alg": "RS256", "use": "sig",
        "n": B64.encode(rsa.n().to_vec()), "e": B64.encode(rsa.e().to_vec()),
    });
    Ok((jwk, PKey::from_rsa(rsa).map_err(|e| e.to_string())?))
}

/// Assertions signed for a warm-up (2 s); its pace sizes the run's.
const WARMUP_ASSERTIONS: usize = 20_000;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A compact JWS (RS256, kid `bench`) of `claims`.
pub fn sign_rs256(key: &PKey<openssl::pkey::Private>, claims: &str) -> Result<String> {
    let header = B64.encode(r#"{"alg":"RS256","kid":"bench","typ":"JWT"}"#);
    let input = format!("{header}.{}", B64.encode(claims));
    let sig = Signer::new(MessageDigest::sha256(), key)
        .and_then(|mut s| s.sign_oneshot_to_vec(input.as_bytes()))
        .map_err(|e| e.to_string())?;
    Ok(format!("{input}.{}", B64.encode(sig)))
}

/// `n` assertions, one per line, each with its own jti (`{prefix}-{i}`), signed on both cores.
fn sign_assertions(
    key: &PKey<openssl::pkey::Private>,
    n: usize,
    file: &Path,
    prefix: &str,
    claims: &(dyn Fn(&str) -> String + Sync),
) -> Result {
    let threads = 2;
    let chunks: Vec<Result<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut out = String::new();
                    for i in (t..n).step_by(threads) {
                        let jws = sign_rs256(key, &claims(&format!("{prefix}-{i}")))?;
                        let _ = writeln!(out, "{jws}");
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a signing thread panicked".into()))
            })
            .collect()
    });
    let text: String = chunks.into_iter().collect::<Result<Vec<_>>>()?.concat();
    std::fs::write(file, text).map_err(|e| e.to_string())
}

/// Serves `jwks` at any path on a loopback port (the external issuer's keys).
fn serve_jwks(jwks: String) -> Result<u16> {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{jwks}",
                jwks.len()
            );
        }
    });
    Ok(port)
}

/// A sandbox tenant `bench-fed` with a client `workload` and a trusted issuer (`iss`) whose
/// tokens for `bench` are the workload's: single use, except the subject `…:reused`.
fn federation_setup(base: &str, iss: &str) -> Result {
    let admin = fetch_token(base, "admin", ADMIN_SECRET)?;
    let post = |path: &str, body: serde_json::Value| -> Result {
        output(Command::new("curl").args([
            "-sSf",
            "-H",
            &format!("Authorization: Bearer {admin}"),
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
            &format!("{base}{path}"),
        ]))
        .map(|_| ())
    };
    post(
        "/admin/v1/tenants",
        serde_json::json!({"slug": "bench-fed", "name": "Bench federation", "environment": "sandbox"}),
    )?;
    post(
        "/admin/v1/tenants/bench-fed/clients",
        serde_json::json!({"name": "Workload", "client_id": "workload", "auth_method": "client_secret_basic",
                           "grant_types": ["client_credentials"], "scopes": ["read"], "access_token_alg": "ES256"}),
    )?;
    let target = serde_json::json!({"client": {"client_id": "workload"}});
    post(
        "/admin/v1/tenants/bench-fed/trusted-issuers",
        serde_json::json!({"issuer": iss, "jwks_uri": format!("{iss}/jwks"), "audiences": ["bench"],
        "max_lifetime": 900, "algorithms": ["RS256"],
        "rules": [
            {"name": "reused", "when": [{"claim": "sub", "value": "*:reused"}], "target": target},
            {"name": "single use", "when": [{"claim": "sub", "value": "system:serviceaccount:*"}],
             "target": target, "single_use": true}
        ]}),
    )
}

/// A form without client authentication.
fn static_form(body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.body = \"{body}\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n"
    )
}

fn static_post(body: &str, basic: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.body = \"{body}\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.headers[\"Authorization\"] = \"Basic {basic}\"\n"
    )
}

/// Each wrk thread takes every other line of the file, so no assertion is sent twice.
fn assertion_post(file: &Path, body: &str) -> String {
    format!(
        r#"local counter = 0
local threads = {{}}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  warmup = args[1] == "warmup"
  lines = {{}}
  local n = 0
  for line in io.lines("{}") do
    if n % 2 == id then table.insert(lines, line) end
    n = n + 1
  end
  i = 0
end
function request()
  i = i + 1
  local a
  if warmup then a = lines[#lines - i] else a = lines[i] end
  a = a or lines[1]
  return wrk.format("POST", nil, {{["Content-Type"] = "application/x-www-form-urlencoded"}},
    "{}" .. a)
end
"#,
        file.display(),
        body
    )
}

pub fn wrk(base: &str, path: &str, script: &Path, seconds: u64, phase: &str) -> Result<Outcome> {
    let out = output(
        Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{CONNECTIONS}"),
                &format!("-d{seconds}s"),
                "--latency",
                "-s",
            ])
            .arg(script)
            .arg(format!("{base}{path}"))
            .args(["--", phase]),
    )?;
    let text = String::from_utf8_lossy(&out);
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let p50 = field("50%").unwrap_or_default();
    let p99 = field("99%").unwrap_or_default();
    let non2xx: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let socket: u64 = field("Socket errors:")
        .map(|v| {
            v.split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Ok(Outcome {
        rps,
        p50,
        p99,
        errors: non2xx + socket,
        requests,
    })
}

/// `openssl speed -multi 2`: signatures per second on both cores.
fn openssl_speed(alg: &str, label: &str) -> Result<f64> {
    let out = output(Command::new("openssl").args(["speed", "-seconds", "3", "-multi", "2", alg]))?;
    let text = String::from_utf8_lossy(&out);
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains(label))
        .ok_or_else(|| format!("no `{label}` in openssl speed output"))?;
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // … sign(s) verify(s) sign/s verify/s: the sign rate is the second to last number.
    numbers
        .len()
        .checked_sub(2)
        .and_then(|i| numbers.get(i).copied())
        .ok_or_else(|| "cannot parse openssl speed".into())
}
