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
    _dir: TempDir,
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
            _dir: TempDir(dir),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the server did not start listening within 30 s".into())
    }
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

/// `cargo xtask test`'s interop step: Authlib against the debug binary the suite built.
pub fn authlib() -> Result<u64> {
    println!("\n=== interop: Python Authlib against the live server ===");
    let python = venv(&["authlib>=1.3,<2", "requests>=2.31,<3"])?;
    let binary = root().join("target").join("debug").join("portcullis");
    if !binary.is_file() {
        run(crate::process::cargo().args(["build", "--package", "portcullis-server"]))?;
    }
    let secret = "interop-secret-interop-secret-interop-secret";
    let server = LiveServer::start(&binary, secret, &[])?;
    let out = output(
        Command::new(&python)
            .arg(
                root()
                    .join("xtask")
                    .join("interop")
                    .join("authlib_client.py"),
            )
            .env("PORTCULLIS_URL", &server.url)
            .env("CLIENT_SECRET", secret),
    )?;
    let text = String::from_utf8_lossy(&out);
    print!("{text}");
    drop(server);
    Ok(if text.contains("checks passed") { 1 } else { 0 })
}
