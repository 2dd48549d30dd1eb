//! The Portcullis server: configuration, wiring of every crate, start-up and the CLI commands.

pub mod app;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod openapi;
pub mod ops;
pub mod routes;
pub mod telemetry;
pub mod tls;

use std::time::Duration;

use actix_web::HttpServer;
use store::{PoolOptions, Store, StoreError};

use crate::app::AppState;
use crate::config::{Config, ConfigError};

/// Why the server did not start; each is printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database {url}: {source}")]
    Store { url: String, source: StoreError },
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Mail(#[from] integrations::mail::MailError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// The mailer the configuration asks for: SMTP, else the development outbox in `data/outbox`.
pub fn mailer(config: &Config) -> Result<integrations::mail::Mailer, StartupError> {
    use integrations::mail::Mailer;
    Ok(match &config.smtp_url {
        Some(url) => Mailer::smtp(&url.0, &config.mail_from)?,
        None => {
            let dir = config.data_dir.join("outbox");
            if config.mode == config::RunMode::Production {
                tracing::warn!(dir = %dir.display(), "PORTCULLIS_SMTP_URL is not set: sign-in codes are written to files, not sent");
            }
            Mailer::outbox(dir, &config.mail_from)?
        }
    })
}

/// Opens the database (running migrations), returning the store.
pub fn open_store(config: &Config) -> Result<Store, StartupError> {
    let url = &config.database_url;
    Store::open(url, PoolOptions::for_backend(url.backend())).map_err(|source| {
        StartupError::Store {
            url: url.to_string(),
            source,
        }
    })
}

/// `portcullis migrate`: applies pending migrations and reports how many ran.
pub fn migrate(config: &Config) -> Result<usize, StartupError> {
    let url = &config.database_url;
    let wrap = |source| StartupError::Store {
        url: url.to_string(),
        source,
    };
    let mut conn = store::establish(url).map_err(|e| wrap(e.into()))?;
    store::migrate(&mut conn).map_err(wrap)
}

/// `portcullis migrate-to postgres://…`: copies the configured SQLite database into an empty
/// PostgreSQL database (one snapshot, verified row counts), printing each table.
pub fn migrate_to(config: &Config, target: &str) -> Result<(), String> {
    let target: store::DatabaseUrl = target.parse().map_err(|e| format!("{e}"))?;
    let started = std::time::Instant::now();
    let copied = store::transfer::copy(&config.database_url, &target, |table, rows| {
        println!("{table:<28} {rows:>10} rows");
    })
    .map_err(|e| e.to_string())?;
    let total: i64 = copied.iter().map(|(_, n)| n).sum();
    println!(
        "copied {total} rows in {} tables from {} to {target} in {:.1} s; row counts verified",
        copied.len(),
        config.database_url,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `portcullis serve`: everything from configuration to graceful shutdown on SIGTERM/SIGINT.
pub async fn serve(config: Config) -> Result<(), StartupError> {
    telemetry::init(config.log_format);
    let (master_key, created) = config.master_key.load()?;
    if created {
        tracing::warn!(path = %config.data_dir.join("master.key").display(),
            "generated a new master key for development; back it up, it seals all keys and secrets");
    }
    let store = open_store(&config)?;
    let mailer = mailer(&config)?;
    let limits = config.limits;
    let gate = tokens::password_gate::PasswordGate::new(
        limits.password_hash_concurrency,
        Duration::from_secs(1),
    );
    let mut state = AppState::with_gate(
        store,
        master_key,
        config.public_url.clone(),
        mailer,
        gate,
        config.cache,
    )
    .with_mtls(&config);
    state.listen_for_changes();
    state.edge.body_timeout = limits.request_timeout;
    let factory_state = state.clone();
    let (soft_cap, hard_cap) = connection_caps(limits.max_connections);
    let cap = http::ConnectionCap::new(soft_cap);
    let workers = config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut server = HttpServer::new(move || app::build(&factory_state))
        .on_connect(move |conn, ext| {
            tls::on_connect(conn, ext);
            cap.on_connect(ext);
        })
        // actix counts per worker; this backstop keeps accepted sockets under the descriptor
        // limit, leaving room above the soft cap for the connections that get its 503.
        .max_connections(hard_cap.div_ceil(workers).max(1))
        .shutdown_timeout(30)
        .client_request_timeout(limits.request_timeout)
        .bind(config.bind)
        .map_err(|source| StartupError::Bind {
            addr: config.bind.to_string(),
            source,
        })?;
    if let Some(files) = &config.tls {
        server = server
            .bind_openssl(files.bind, tls::acceptor(files)?)
            .map_err(|source| StartupError::Bind {
                addr: files.bind.to_string(),
                source,
            })?;
    }
    if let Some(n) = config.workers {
        server = server.workers(n);
    }
    // After binding, so that a start that cannot serve creates nothing.
    if let Some(b) = bootstrap::run(
        &state.store,
        &state.master_key,
        &config.bootstrap,
        config.mode,
    )
    .await?
    {
        tracing::info!(admin = %b.admin_email, "bootstrapped the system tenant");
        print_bootstrap_banner(&b);
    }
    tracing::info!(bind = %config.bind, public_url = %config.public_url,
        tls_bind = ?config.tls.as_ref().map(|t| t.bind), "listening");
    eprintln!(
        "Portcullis listening on {} — Swagger UI: {}/swagger-ui/",
        config.bind, config.public_url
    );
    server.run().await?;
    tracing::info!("stopped");
    Ok(())
}

/// The connection cap (over it: a 503 and close) and the hard limit of accepted sockets, both
/// kept under this process's descriptor limit (with room for the database, files and logs).
fn connection_caps(configured: usize) -> (usize, usize) {
    let fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    let hard = fds.saturating_sub(256).max(16);
    let soft = configured.min(hard * 3 / 4).max(1);
    if soft < configured {
        tracing::warn!(
            configured,
            soft,
            fds,
            "PORTCULLIS_MAX_CONNECTIONS lowered to fit the descriptor limit"
        );
    }
    (soft, hard)
}

/// Generated credentials go to the terminal once, never to the log.
fn print_bootstrap_banner(b: &bootstrap::Bootstrapped) {
    let mut lines = vec!["First start: created the `system` tenant.".to_owned()];
    match &b.generated_password {
        Some(p) => lines.push(format!(
            "  platform admin   {}  password: {p}",
            b.admin_email
        )),
        None => lines.push(format!(
            "  platform admin   {}  (password from configuration)",
            b.admin_email
        )),
    }
    match &b.generated_client_secret {
        Some(s) => lines.push(format!(
            "  admin client     id: {}  secret: {s}",
            bootstrap::ADMIN_CLIENT_ID
        )),
        None => lines.push(format!(
            "  admin client     id: {}  (secret from configuration)",
            bootstrap::ADMIN_CLIENT_ID
        )),
    }
    if b.generated_password.is_some() || b.generated_client_secret.is_some() {
        lines.push("  These are shown once and stored only as hashes: keep them now.".to_owned());
    }
    eprintln!("{}", lines.join("\n"));
}
