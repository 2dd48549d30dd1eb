//! Configuration: `PORTCULLIS_*` environment variables over an optional `portcullis.toml`
//! (or the file named by `PORTCULLIS_CONFIG`), validated into [`Config`] before anything starts.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use domain::secrets::MasterKey;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use store::DatabaseUrl;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("PORTCULLIS_DATABASE_URL: {0}")]
    DatabaseUrl(#[from] store::DatabaseUrlError),
    #[error("PORTCULLIS_BIND `{0}` is not a host:port address")]
    Bind(String),
    #[error(
        "PORTCULLIS_PUBLIC_URL `{0}` must be an http:// or https:// URL without a trailing slash"
    )]
    PublicUrl(String),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error(
        "PORTCULLIS_ENV=production requires PORTCULLIS_MASTER_KEY or PORTCULLIS_MASTER_KEY_FILE"
    )]
    MasterKeyRequired,
}

/// Raw settings as written by the operator; see [`Config`] for their meaning.
#[derive(Debug, Default, Deserialize)]
struct Raw {
    env: Option<String>,
    bind: Option<String>,
    public_url: Option<String>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    master_key: Option<String>,
    master_key_file: Option<PathBuf>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    bootstrap_admin_email: Option<String>,
    bootstrap_admin_password: Option<String>,
    bootstrap_client_secret: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    tls_bind: Option<String>,
    mtls_public_url: Option<String>,
    trusted_proxies: Option<String>,
    client_cert_header: Option<String>,
    log_format: Option<String>,
    workers: Option<usize>,
    request_timeout: Option<u64>,
    max_connections: Option<usize>,
    password_hash_concurrency: Option<usize>,
    cache_ttl: Option<u64>,
    cache_pushed_ttl: Option<u64>,
    cache_tenants: Option<u64>,
    cache_clients: Option<u64>,
    cache_devices: Option<u64>,
    cache_people: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Validated configuration.
#[derive(Debug)]
pub struct Config {
    pub mode: RunMode,
    pub bind: SocketAddr,
    /// Base of every issuer and endpoint URL (`{public_url}/t/{tenant}`).
    pub public_url: String,
    pub database_url: DatabaseUrl,
    pub data_dir: PathBuf,
    pub master_key: MasterKeySource,
    pub smtp_url: Option<SmtpUrl>,
    pub mail_from: String,
    pub bootstrap: BootstrapConfig,
    pub tls: Option<TlsFiles>,
    pub proxy: ProxyConfig,
    pub log_format: LogFormat,
    pub workers: Option<usize>,
    pub limits: Limits,
    /// Entries and lifetimes of the caches in front of the database.
    pub cache: tokens::cache::CacheLimits,
}

/// What one client (or a crowd of them) may take of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The headers, and then the whole body, must arrive within this (each).
    pub request_timeout: std::time::Duration,
    /// Open connections over this get a 503 and are closed.
    pub max_connections: usize,
    /// Password hashes (argon2, ~19 MiB each) running at once.
    pub password_hash_concurrency: usize,
}

#[derive(Debug, Clone)]
pub enum MasterKeySource {
    Value(String),
    File(PathBuf),
    /// Development only: `data/master.key`, created on first start.
    DevFile(PathBuf),
}

/// The HTTPS listener (beside the plain one), which asks clients for a certificate.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA names announced to clients when asking for their certificate (a hint only: each
    /// tenant's trust anchors decide).
    pub client_ca: Option<PathBuf>,
    pub bind: SocketAddr,
    /// Base URL of this listener, advertised as `mtls_endpoint_aliases`.
    pub public_url: String,
}

/// Client certificates forwarded by a TLS-terminating proxy: accepted only from these peers.
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    pub trusted: Vec<std::net::IpAddr>,
    /// The header they put the certificate in (PEM, URL-encoded or not).
    pub header: String,
}

pub struct BootstrapConfig {
    pub admin_email: String,
    pub admin_password: Option<String>,
    pub client_secret: Option<String>,
}

/// Hides the secrets it holds.
/// `PORTCULLIS_SMTP_URL`; it may hold the SMTP password, so it never prints.
pub struct SmtpUrl(pub String);

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpUrl(<redacted>)")
    }
}

impl std::fmt::Debug for BootstrapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapConfig")
            .field("admin_email", &self.admin_email)
            .finish_non_exhaustive()
    }
}

const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_TLS_BIND: &str = "127.0.0.1:8443";
const DEFAULT_DATABASE_URL: &str = "sqlite://data/portcullis.db";

impl Config {
    /// Reads the file (if any) and the environment.
    pub fn load() -> Result<Config, ConfigError> {
        let file = std::env::var_os("PORTCULLIS_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("portcullis.toml"));
        if std::env::var_os("PORTCULLIS_CONFIG").is_some() && !file.is_file() {
            return Err(ConfigError::Invalid(format!(
                "config file {} not found",
                file.display()
            )));
        }
        let raw: Raw = Figment::new()
            .merge(Toml::file(&file))
            .merge(Env::prefixed("PORTCULLIS_").ignore(&["config"]))
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: Raw) -> Result<Config, ConfigError> {
        let cache = cache_limits(&raw)?;
        let mode = match raw.env.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("dev") | Some("development") => RunMode::Development,
            Some("prod") | Some("production") => RunMode::Production,
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "PORTCULLIS_ENV `{other}` must be `development` or `production`"
                )))
            }
        };
        let bind_text = raw.bind.unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| ConfigError::Bind(bind_text.clone()))?;
        let public_url = raw.public_url.unwrap_or_else(|| format!("http://{bind}"));
        let ok_url = (public_url.starts_with("http://") || public_url.starts_with("https://"))
            && !public_url.ends_with('/');
        if !ok_url {
            return Err(ConfigError::PublicUrl(public_url));
        }
        let database_url: DatabaseUrl = raw
            .database_url
            .as_deref()
            .unwrap_or(DEFAULT_DATABASE_URL)
            .parse()?;
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let master_key = match (raw.master_key, raw.master_key_file) {
            (Some(v), _) => MasterKeySource::Value(v),
            (None, Some(f)) => MasterKeySource::File(f),
            (None, None) if mode == RunMode::Production => {
                return Err(ConfigError::MasterKeyRequired)
            }
            (None, None) => MasterKeySource::DevFile(data_dir.join("master.key")),
        };
        let tls = match (raw.tls_cert, raw.tls_key) {
            (Some(cert), Some(key)) => {
                let text = raw.tls_bind.unwrap_or_else(|| DEFAULT_TLS_BIND.to_owned());
                let tls_bind = text
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or_else(|| ConfigError::Bind(text.clone()))?;
                let url = raw
                    .mtls_public_url
                    .unwrap_or_else(|| format!("https://{tls_bind}"));
                if !url.starts_with("https://") || url.ends_with('/') {
                    return Err(ConfigError::Invalid(format!(
                        "PORTCULLIS_MTLS_PUBLIC_URL `{url}` must be an https:// URL without a trailing slash"
                    )));
                }
                Some(TlsFiles {
                    cert,
                    key,
                    client_ca: raw.tls_client_ca,
                    bind: tls_bind,
                    public_url: url,
                })
            }
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY go together".to_owned(),
                ))
            }
        };
        let log_format = match raw.log_format.as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") | Some("text") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "PORTCULLIS_LOG_FORMAT `{other}` must be `json` or `pretty`"
                )))
            }
        };
        let trusted = raw
            .trusted_proxies
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "PORTCULLIS_TRUSTED_PROXIES: `{p}` is not an IP address"
                    ))
                })
            })
            .collect::<Result<Vec<std::net::IpAddr>, _>>()?;
        let proxy = ProxyConfig {
            trusted,
            header: raw
                .client_cert_header
                .unwrap_or_else(|| "X-Client-Cert".to_owned()),
        };
        Ok(Config {
            mode,
            bind,
            public_url,
            database_url,
            data_dir,
            master_key,
            smtp_url: raw.smtp_url.filter(|u| !u.trim().is_empty()).map(SmtpUrl),
            mail_from: raw
                .mail_from
                .unwrap_or_else(|| "Portcullis <no-reply@localhost>".to_owned()),
            bootstrap: BootstrapConfig {
                admin_email: raw
                    .bootstrap_admin_email
                    .unwrap_or_else(|| "admin@localhost".to_owned()),
                admin_password: raw.bootstrap_admin_password,
                client_secret: raw.bootstrap_client_secret,
            },
            tls,
            proxy,
            log_format,
            workers: raw.workers,
            limits: Limits {
                request_timeout: std::time::Duration::from_secs(
                    positive(raw.request_timeout, "REQUEST_TIMEOUT")?.unwrap_or(10),
                ),
                max_connections: positive(raw.max_connections, "MAX_CONNECTIONS")?
                    .unwrap_or(10_000),
                password_hash_concurrency: positive(
                    raw.password_hash_concurrency,
                    "PASSWORD_HASH_CONCURRENCY",
                )?
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            },
            cache,
        })
    }
}

/// `PORTCULLIS_CACHE_*`: lifetimes in seconds, sizes in entries; the defaults of
/// [`tokens::cache::CacheLimits`] otherwise.
fn cache_limits(raw: &Raw) -> Result<tokens::cache::CacheLimits, ConfigError> {
    let d = tokens::cache::CacheLimits::default();
    let secs = |v: Option<u64>, name: &str, default: std::time::Duration| {
        Ok::<_, ConfigError>(positive(v, name)?.map_or(default, std::time::Duration::from_secs))
    };
    Ok(tokens::cache::CacheLimits {
        ttl: secs(raw.cache_ttl, "CACHE_TTL", d.ttl)?,
        pushed_ttl: secs(raw.cache_pushed_ttl, "CACHE_PUSHED_TTL", d.pushed_ttl)?,
        tenants: positive(raw.cache_tenants, "CACHE_TENANTS")?.unwrap_or(d.tenants),
        clients: positive(raw.cache_clients, "CACHE_CLIENTS")?.unwrap_or(d.clients),
        devices: positive(raw.cache_devices, "CACHE_DEVICES")?.unwrap_or(d.devices),
        people: positive(raw.cache_people, "CACHE_PEOPLE")?.unwrap_or(d.people),
        ..d
    })
}

/// A setting that must be at least 1 when given.
fn positive<T: PartialOrd + From<u8>>(v: Option<T>, name: &str) -> Result<Option<T>, ConfigError> {
    match v {
        Some(n) if n < T::from(1) => Err(ConfigError::Invalid(format!(
            "PORTCULLIS_{name} must be at least 1"
        ))),
        other => Ok(other),
    }
}

impl MasterKeySource {
    /// Loads the key; in development creates `data/master.key` (mode 0600) when it is missing.
    /// Returns the key and whether it was just created.
    pub fn load(&self) -> Result<(MasterKey, bool), ConfigError> {
        let bad = |what: String| ConfigError::MasterKey(what);
        match self {
            MasterKeySource::Value(v) => MasterKey::parse(v)
                .map(|k| (k, false))
                .map_err(|e| bad(format!("PORTCULLIS_MASTER_KEY: {e}"))),
            MasterKeySource::File(path) => read_key_file(path).map(|k| (k, false)),
            MasterKeySource::DevFile(path) if path.exists() => {
                read_key_file(path).map(|k| (k, false))
            }
            MasterKeySource::DevFile(path) => {
                let (key, text) = MasterKey::generate().map_err(|e| bad(e.to_string()))?;
                write_private_file(path, text.as_bytes())
                    .map_err(|e| bad(format!("cannot create {}: {e}", path.display())))?;
                Ok((key, true))
            }
        }
    }
}

fn read_key_file(path: &Path) -> Result<MasterKey, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::MasterKey(format!("cannot read {}: {e}", path.display())))?;
    MasterKey::parse(&text).map_err(|e| ConfigError::MasterKey(format!("{}: {e}", path.display())))
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests;
