//! A throw-away PostgreSQL server for the test suite: initdb into a temporary directory, start
//! on a free loopback port, stop and delete on drop (also when the tests fail).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use crate::process::{is_root, output, run};
use crate::Result;

pub struct Postgres {
    pub url: String,
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
    /// Server options, for a restart on the same port.
    opts: String,
}

/// Each server of this process gets its own directory.
static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Postgres {
    pub fn start() -> Result<Postgres> {
        let bin = find_bindir()?;
        let as_postgres = is_root();
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("portcullis-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let mut pg = Postgres {
            url: String::new(),
            bin,
            dir,
            as_postgres,
            opts: String::new(),
        };
        if as_postgres {
            // initdb refuses to run as root.
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir))?;
        }
        let data = pg.dir.join("data");
        output(pg.command("initdb").arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]))?;
        let port = free_port()?;
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB",
            pg.dir.display()
        );
        pg.opts = opts;
        pg.resume()?;
        pg.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        println!("PostgreSQL ({}) running at {}", pg.bin.display(), pg.url);
        Ok(pg)
    }

    /// Starts the server again (after [`Postgres::halt`]), on the same port and data.
    pub fn resume(&self) -> Result {
        output(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-o", &self.opts, "-l"])
                .arg(self.dir.join("server.log"))
                .args(["-w", "-t", "60", "start"]),
        )
        .map(|_| ())
        .map_err(|e| format!("{e}\nserver log: {}", self.log()))
    }

    /// Stops the server (`-m fast`: sessions are ended, as in a restart or a failover).
    pub fn halt(&self) -> Result {
        output(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "fast", "-w", "stop"]),
        )
        .map(|_| ())
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin; installs Debian's server
/// package when none is there and we may.
pub fn find_bindir() -> Result<PathBuf> {
    let found = || -> Option<PathBuf> {
        let from_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        let mut candidates: Vec<PathBuf> = from_config.into_iter().collect();
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
            .unwrap_or_default();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
        candidates
            .into_iter()
            .find(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
    };
    if let Some(b) = found() {
        return Ok(b);
    }
    if is_root() {
        println!("PostgreSQL server binaries not found; installing Debian's postgresql package");
        let _ = run(Command::new("apt-get").args(["update", "-qq"]));
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "postgresql",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        if let Some(b) = found() {
            return Ok(b);
        }
    }
    Err(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL 15 or set \
         TEST_DATABASE_URL to a postgres:// URL"
            .into(),
    )
}

/// A port nobody listens on now (loopback).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// `cargo xtask pg`: a server for local work, until Ctrl-C.
pub fn serve_forever() -> Result {
    let pg = Postgres::start()?;
    println!("export TEST_DATABASE_URL={}", pg.url);
    println!("(Ctrl-C stops and deletes it)");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        let _keep = &pg;
    }
}
