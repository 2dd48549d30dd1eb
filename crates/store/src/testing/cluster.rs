//! A PostgreSQL server of a test's own, for tests that stop and start the database under a
//! running Portcullis (the shared test server cannot be stopped under the other tests).
//!
//! The binaries come from `PORTCULLIS_TEST_PG_BINDIR` (set by `cargo xtask test`, which found
//! or installed them), else `pg_config --bindir`. `initdb` refuses to run as root, so as root
//! every tool runs as `postgres`. Every step reports what failed; the test decides.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

pub struct PgCluster {
    /// `postgres://postgres@127.0.0.1:{port}/postgres`.
    pub admin_url: String,
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn bindir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PORTCULLIS_TEST_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .map_err(|e| format!("PORTCULLIS_TEST_PG_BINDIR is unset and pg_config fails: {e}"))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

impl PgCluster {
    /// initdb into a temporary directory and start on a free loopback port.
    pub fn start() -> Result<PgCluster, String> {
        let as_postgres = is_root();
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err("chown of the cluster directory failed".into());
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("free port: {e}"))?
            .port();
        let cluster = PgCluster {
            admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin: bindir()?,
            dir,
            port,
            as_postgres,
        };
        let data = cluster.data();
        cluster.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        cluster.resume()?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn tool(&self, name: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(name)
            .args(args)
            .output()
            .map_err(|e| format!("{name}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{name} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn resume(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &opts,
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// Stops the server the way an operator restarting it would (`-m fast`: sessions are
    /// ended, the server shuts down cleanly).
    pub fn stop(&self) -> Result<(), String> {
        self.tool("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"])
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}
