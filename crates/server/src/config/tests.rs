use super::*;

fn raw() -> Raw {
    Raw::default()
}

#[test]
fn cache_limits_default_and_are_configurable() {
    let c = Config::from_raw(raw()).unwrap();
    assert_eq!(c.cache.ttl.as_secs(), 5);
    assert_eq!(c.cache.pushed_ttl.as_secs(), 300);
    let mut r = raw();
    r.cache_devices = Some(20_000);
    r.cache_pushed_ttl = Some(60);
    let c = Config::from_raw(r).unwrap();
    assert_eq!(
        (c.cache.devices, c.cache.pushed_ttl.as_secs()),
        (20_000, 60)
    );
    let mut r = raw();
    r.cache_ttl = Some(0);
    let e = Config::from_raw(r).unwrap_err().to_string();
    assert!(e.contains("PORTCULLIS_CACHE_TTL"), "{e}");
}

#[test]
fn limits_default_and_refuse_zero() {
    let c = Config::from_raw(raw()).unwrap();
    assert_eq!(c.limits.request_timeout.as_secs(), 10);
    assert_eq!(c.limits.max_connections, 10_000);
    assert!(c.limits.password_hash_concurrency >= 1);
    let mut r = raw();
    r.password_hash_concurrency = Some(0);
    let e = Config::from_raw(r).unwrap_err().to_string();
    assert!(e.contains("PORTCULLIS_PASSWORD_HASH_CONCURRENCY"), "{e}");
}

#[test]
fn defaults_are_a_local_dev_server() {
    let c = Config::from_raw(raw()).unwrap();
    assert_eq!(c.mode, RunMode::Development);
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.public_url, "http://127.0.0.1:8080");
    assert_eq!(c.database_url, DatabaseUrl::sqlite("data/portcullis.db"));
    assert!(matches!(c.master_key, MasterKeySource::DevFile(_)));
}

#[test]
fn production_needs_a_master_key() {
    let r = Raw {
        env: Some("production".into()),
        ..raw()
    };
    assert!(matches!(
        Config::from_raw(r),
        Err(ConfigError::MasterKeyRequired)
    ));
    let r = Raw {
        env: Some("production".into()),
        master_key_file: Some("/k".into()),
        ..raw()
    };
    assert_eq!(Config::from_raw(r).unwrap().mode, RunMode::Production);
}

#[test]
fn bad_values_are_named() {
    let r = Raw {
        database_url: Some("mysql://x".into()),
        ..raw()
    };
    assert!(Config::from_raw(r)
        .unwrap_err()
        .to_string()
        .contains("PORTCULLIS_DATABASE_URL"));
    let r = Raw {
        bind: Some("nonsense".into()),
        ..raw()
    };
    assert!(Config::from_raw(r)
        .unwrap_err()
        .to_string()
        .contains("PORTCULLIS_BIND"));
    let r = Raw {
        public_url: Some("https://x/".into()),
        ..raw()
    };
    assert!(Config::from_raw(r).is_err());
    let r = Raw {
        env: Some("staging".into()),
        ..raw()
    };
    assert!(Config::from_raw(r).is_err());
    let r = Raw {
        tls_cert: Some("c".into()),
        ..raw()
    };
    assert!(Config::from_raw(r).is_err());
}

#[test]
fn dev_master_key_is_created_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/master.key");
    let src = MasterKeySource::DevFile(path.clone());
    let (k1, created) = src.load().unwrap();
    assert!(created);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (k2, created) = src.load().unwrap();
    assert!(!created);
    let h = k1.hash_secret("s").unwrap();
    assert!(k2.verify_secret("s", &h), "the same key is read back");
}

#[test]
fn unreadable_key_file_is_an_error() {
    let src = MasterKeySource::File("/nonexistent/master.key".into());
    let err = src.load().unwrap_err().to_string();
    assert!(err.contains("cannot read /nonexistent/master.key"), "{err}");
}

#[test]
fn tls_listener_and_proxies() {
    let c = Config::from_raw(Raw {
        tls_cert: Some("c.pem".into()),
        tls_key: Some("k.pem".into()),
        trusted_proxies: Some("10.0.0.1, ::1".into()),
        ..raw()
    })
    .unwrap();
    let tls = c.tls.unwrap();
    assert_eq!(tls.bind.to_string(), "127.0.0.1:8443");
    assert_eq!(tls.public_url, "https://127.0.0.1:8443");
    assert_eq!(c.public_url, "http://127.0.0.1:8080", "plain HTTP stays");
    assert_eq!(c.proxy.trusted.len(), 2);
    assert_eq!(c.proxy.header, "X-Client-Cert");
    assert!(Config::from_raw(Raw {
        trusted_proxies: Some("proxy.example".into()),
        ..raw()
    })
    .is_err());
    assert!(Config::from_raw(Raw {
        tls_cert: Some("c.pem".into()),
        tls_key: Some("k.pem".into()),
        mtls_public_url: Some("http://x".into()),
        ..raw()
    })
    .is_err());
}
