//! Interoperability: an unmodified standard OAuth client library (Python Authlib, from PyPI,
//! in a virtualenv under target/) against the real server binary.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{output, run};
use crate::{root, Result};

/// A Python virtualenv with the given requirements, created once and reused.
pub fn venv(requirements: &[&str]) -> Result<PathBuf> {
    let dir = root().join("target").join("xtask-venv");
    let python = dir.join("bin").join("python");
    if !python.is_file() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&dir))?;
    }
    let stamp = dir.join(format!(
        "requirements-{}.ok",
        requirements.join("_").replace(['=', '<', '>', '/'], "-")
    ));
    if !stamp.is_file() {
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(requirements))?;
        std::fs::write(&stamp, b"").map_err(|e| e.to_string())?;
    }
    Ok(python)
}

/// The server binary on a fresh SQLite database and a free port, stopped on drop.
pub struct LiveServer {
    pub url: String,
    child: std::process::Child,
    pub dir: TempDir,
}

pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl LiveServer {
    pub fn start(
        binary: &std::path::Path,
        client_secret: &str,
        extra_env: &[(&str, &str)],
    ) -> Result<LiveServer> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir =
            std::env::temp_dir().join(format!("portcullis-live-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let url = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new(binary);
        cmd.current_dir(&dir)
            .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
            .env("PORTCULLIS_PUBLIC_URL", &url)
            .env("PORTCULLIS_BOOTSTRAP_CLIENT_SECRET", client_secret)
            .env("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", client_secret)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let server = LiveServer {
            url,
            child,
            dir: TempDir(dir),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http_get_ok(port, "/readyz") {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the server did not start listening within 30 s".into())
    }
}

/// Whether `GET path` answers 200 (the port accepts connections before the server serves).
pub fn http_get_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    s.read(&mut buf)
        .map(|n| buf[..n].starts_with(b"HTTP/1.1 200"))
        .unwrap_or(false)
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

const REQUIREMENTS: [&str; 4] = [
    "authlib>=1.3,<2",
    "requests>=2.31,<3",
    "schemathesis>=4,<5",
    // The examples check; named here, not left to schemathesis's own dependencies.
    "jsonschema>=4.18,<5",
];

/// npm packages for the lint and browser steps, installed once under target/xtask-node.
fn node_modules() -> Result<PathBuf> {
    let prefix = root().join("target").join("xtask-node");
    let modules = prefix.join("node_modules");
    let wanted = [
        ("@stoplight/spectral-cli@6", "@stoplight/spectral-cli"),
        ("playwright-core@1", "playwright-core"),
        ("axe-core@4", "axe-core"),
        ("openid-client@5", "openid-client"),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(_, dir)| !modules.join(dir).is_dir())
        .map(|(spec, _)| *spec)
        .collect();
    if !missing.is_empty() {
        std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
        run(Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .args(&missing))?;
    }
    Ok(prefix)
}

/// Debian's Chromium, installed when missing.
fn chromium() -> Result {
    if !std::path::Path::new("/usr/bin/chromium").is_file() {
        if !crate::process::is_root() {
            return Err("Chromium is not installed (apt-get install chromium)".into());
        }
        let _ = run(Command::new("apt-get").args(["update", "-qq"]));
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(())
}

/// Swagger UI in Debian's Chromium (installed when missing), driven by playwright-core: tags
/// render, Authorize takes a bearer token, Try it out on GET /admin/v1/tenants answers 200.
/// Leaves target/swagger-ui.png.
pub fn browser() -> Result<u64> {
    println!("\n=== browser: Swagger UI in headless Chromium ===");
    chromium()?;
    let prefix = node_modules()?;
    // ES modules resolve packages from their own location, so the script runs from there.
    let script = prefix.join("swagger_ui.mjs");
    std::fs::copy(
        root().join("xtask").join("interop").join("swagger_ui.mjs"),
        &script,
    )
    .map_err(|e| e.to_string())?;
    let secret = "browser-secret-browser-secret-browser-00";
    let server = LiveServer::start(&debug_binary()?, secret, &[])?;
    let shot = root().join("target").join("swagger-ui.png");
    let status = Command::new("node")
        .arg(&script)
        .env("PORTCULLIS_URL", &server.url)
        .env("CLIENT_SECRET", secret)
        .env("SCREENSHOT", &shot)
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    drop(server);
    if status.success() {
        println!("screenshot: {}", shot.display());
        Ok(1)
    } else {
        Err("the Swagger UI check failed (see above)".into())
    }
}

/// The committed spec through Spectral's `oas` ruleset (npm, under target/), then every example
/// against its schema; errors fail.
pub fn spectral() -> Result<u64> {
    println!("\n=== lint: Spectral (oas ruleset) on openapi/openapi.json ===");
    let cli = node_modules()?
        .join("node_modules")
        .join(".bin")
        .join("spectral");
    let status = Command::new(&cli)
        .arg("lint")
        .arg(root().join("openapi").join("openapi.json"))
        .arg("--ruleset")
        .arg(root().join("openapi").join(".spectral.yaml"))
        .args(["--fail-severity", "error", "--format", "text"])
        .status()
        .map_err(|e| format!("cannot run spectral: {e}"))?;
    if !status.success() {
        return Err("the spec has Spectral errors (see above)".into());
    }
    // Spectral does not check that examples fit their schemas; this does (JSON Schema 2020-12).
    let python = venv(&REQUIREMENTS)?;
    let status = Command::new(&python)
        .arg(root().join("xtask").join("interop").join("examples.py"))
        .arg(root().join("openapi").join("openapi.json"))
        .status()
        .map_err(|e| format!("cannot run the examples check: {e}"))?;
    if status.success() {
        Ok(1)
    } else {
        Err("some examples of the spec do not fit their schemas (see above)".into())
    }
}

/// The debug server binary the suite built (built here when missing).
pub fn debug_binary() -> Result<PathBuf> {
    let binary = root().join("target").join("debug").join("portcullis");
    if !binary.is_file() {
        run(crate::process::cargo().args(["build", "--package", "portcullis-server"]))?;
    }
    Ok(binary)
}

/// `cargo xtask test`'s fuzzing step: schemathesis over every operation of the live server,
/// the account API as a signed-in person.
pub fn schemathesis() -> Result<u64> {
    println!("\n=== fuzz: schemathesis against the live server ===");
    let python = venv(&REQUIREMENTS)?;
    let secret = "fuzz-secret-fuzz-secret-fuzz-secret-fuzz";
    let server = LiveServer::start(&debug_binary()?, secret, &[])?;
    let status = Command::new(&python)
        .arg(root().join("xtask").join("interop").join("fuzz.py"))
        .env("PORTCULLIS_URL", &server.url)
        .env("CLIENT_SECRET", secret)
        // Without PORTCULLIS_SMTP_URL the sign-in codes land here, where the script reads one.
        .env("OUTBOX", server.dir.0.join("data").join("outbox"))
        .status()
        .map_err(|e| e.to_string())?;
    drop(server);
    if status.success() {
        Ok(1)
    } else {
        Err("schemathesis found failures (see above)".into())
    }
}

/// `cargo xtask test`'s interop step: Authlib against the debug binary the suite built.
pub fn authlib() -> Result<u64> {
    println!("\n=== interop: Python Authlib against the live server ===");
    let python = venv(&REQUIREMENTS)?;
    let binary = debug_binary()?;
    let secret = "interop-secret-interop-secret-interop-secret";
    let script = root()
        .join("xtask")
        .join("interop")
        .join("authlib_client.py");
    let server = LiveServer::start(&binary, secret, &[])?;
    // A private_key_jwt client whose key Authlib made, registered with the operator CLI.
    output(
        Command::new(&python)
            .arg(&script)
            .arg("genkey")
            .arg(&server.dir.0),
    )?;
    output(
        Command::new(&binary)
            .current_dir(&server.dir.0)
            .args([
                "client",
                "add",
                "--tenant",
                "system",
                "--client-id",
                "interop-jwt",
            ])
            .args([
                "--auth",
                "private_key_jwt",
                "--jwks-file",
                "jwks.json",
                "--scopes",
                "read",
            ]),
    )?;
    let out = output(
        Command::new(&python)
            .arg(&script)
            .env("PORTCULLIS_URL", &server.url)
            .env("CLIENT_SECRET", secret)
            .env("JWT_CLIENT_ID", "interop-jwt")
            .env("JWT_PRIVATE_KEY", server.dir.0.join("private.pem")),
    )?;
    let text = String::from_utf8_lossy(&out);
    print!("{text}");
    drop(server);
    Ok(if text.contains("checks passed") { 1 } else { 0 })
}

/// A real SMTP server on loopback for the live server's mail: each message is written to
/// `dir/N.eml`, where the browser script reads the emailed code.
struct MailSink {
    port: u16,
    dir: TempDir,
}

impl MailSink {
    fn start() -> Result<MailSink> {
        use std::io::{BufRead, BufReader, Write};
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let dir =
            std::env::temp_dir().join(format!("portcullis-mail-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let out = dir.clone();
        std::thread::spawn(move || {
            let mut n = 0u32;
            for stream in listener.incoming().flatten() {
                let mut w = match stream.try_clone() {
                    Ok(w) => w,
                    Err(_) => continue,
                };
                let mut r = BufReader::new(stream);
                let _ = w.write_all(b"220 sink ESMTP\r\n");
                let mut line = String::new();
                let mut data: Option<String> = None;
                loop {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(body) = data.as_mut() {
                        if line == ".\r\n" {
                            n += 1;
                            let _ =
                                std::fs::write(out.join(format!("{n:04}.eml")), body.as_bytes());
                            data = None;
                            let _ = w.write_all(b"250 queued\r\n");
                        } else {
                            body.push_str(line.strip_prefix('.').unwrap_or(&line));
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n");
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = w.write_all(reply);
                }
            }
        });
        Ok(MailSink {
            port,
            dir: TempDir(dir),
        })
    }
}

/// The vendor portal in Chromium with the real SMTP server: integrations made, revealed once,
/// rotated, a generated key used, an enrollment approved and revoked, an integration deleted.
/// axe-core on every page; screenshots in target/portal/.
pub fn portal() -> Result<u64> {
    println!("\n=== browser: the vendor portal ===");
    chromium()?;
    let prefix = node_modules()?;
    let script = prefix.join("portal_flow.mjs");
    std::fs::copy(
        root().join("xtask").join("interop").join("portal_flow.mjs"),
        &script,
    )
    .map_err(|e| e.to_string())?;
    let mail = MailSink::start()?;
    let secret = "portal-secret-portal-secret-portal-secret-0";
    let smtp = format!("smtp://127.0.0.1:{}", mail.port);
    let server = LiveServer::start(&debug_binary()?, secret, &[("PORTCULLIS_SMTP_URL", &smtp)])?;
    let status = Command::new("node")
        .arg(&script)
        .env("PORTCULLIS_URL", &server.url)
        .env("CLIENT_SECRET", secret)
        .env("MAIL_DIR", &mail.dir.0)
        // The test clock: the script ages the session's sign-in in the live database to see
        // the step-up prompt, instead of waiting 10 minutes.
        .env("DB_PATH", server.dir.0.join("data").join("portcullis.db"))
        .env("SHOTS", root().join("target"))
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    drop(server);
    if status.success() {
        Ok(1)
    } else {
        Err("the portal check failed (see above)".into())
    }
}

/// People in a real browser with real relying-party libraries: Authlib (Python) and
/// openid-client (node) each run the authorization code flow with PKCE while Chromium signs in
/// (the code read from the SMTP server), consents and lands on the library's loopback redirect
/// URI; then the person revokes the app on the connected-apps page and the library's token is
/// inactive and its refresh refused. Every page passes axe-core; screenshots in target/.
pub fn oidc() -> Result<u64> {
    println!(
        "\n=== browser: sign-in, consent and connected apps with Authlib and openid-client ==="
    );
    chromium()?;
    let prefix = node_modules()?;
    let python = venv(&REQUIREMENTS)?;
    let script = prefix.join("oidc_flow.mjs");
    std::fs::copy(
        root().join("xtask").join("interop").join("oidc_flow.mjs"),
        &script,
    )
    .map_err(|e| e.to_string())?;
    let mail = MailSink::start()?;
    let secret = "oidc-secret-oidc-secret-oidc-secret-oidc-00";
    let smtp = format!("smtp://127.0.0.1:{}", mail.port);
    let server = LiveServer::start(&debug_binary()?, secret, &[("PORTCULLIS_SMTP_URL", &smtp)])?;
    let status = Command::new("node")
        .arg(&script)
        .env("PORTCULLIS_URL", &server.url)
        .env("CLIENT_SECRET", secret)
        .env("MAIL_DIR", &mail.dir.0)
        .env("PYTHON", &python)
        .env(
            "AUTHLIB",
            root().join("xtask").join("interop").join("authlib_code.py"),
        )
        .env("SHOTS", root().join("target"))
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    drop(server);
    if status.success() {
        Ok(1)
    } else {
        Err("the sign-in and consent check failed (see above)".into())
    }
}
