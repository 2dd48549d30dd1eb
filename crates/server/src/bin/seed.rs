//! `portcullis-seed`: fills a database, in bulk and through the store (not the HTTP API), with
//! many tenants, clients and devices, for `cargo xtask bench --scale`. Benchmark tooling: the
//! server never runs it.
//!
//! usage: portcullis-seed <database-url> <tenants> <clients> <devices> <sample.json>
//!
//! The master key comes from `PORTCULLIS_MASTER_KEY`. Tenants are sandbox tenants `t00000`…,
//! each with an RS256 and an ES256 key (RSA material reused from a small pool so seeding takes
//! seconds, each sealed under its own key id), one organization and its share of the clients
//! (`c0`…, ES256 tokens; client `cN` of tenant `tXXXXX` with secret `{SECRET}.tXXXXX.cN`; secret hashes are
//! unique) and devices (device secrets are not used by the benchmark). Tenant `t00000` gets a tenth of the devices
//! (at most 100,000) in its organization, so device pages can be read at a deep cursor. The
//! sample file names what the benchmark asks for.

use std::process::ExitCode;
use std::time::Instant;

use domain::ids;
use domain::model::{Environment, KeyState, OrganizationKind, SigningAlg};
use domain::now_unix;
use domain::secrets::MasterKey;
use domain::tenant_settings::TenantSettings;
use registry::clients::NewClient;
use store::repo::clients::{ClientRow, ClientSecretRow};
use store::repo::devices::DeviceRow;
use store::repo::organizations::OrganizationRow;
use store::repo::signing_keys::SigningKeyRow;
use store::repo::tenants::TenantRow;
use store::{DatabaseUrl, PoolOptions, Store};

const SECRET: &str = "bench-scale-client-secret-bench-scale-0";
/// Tenants written per transaction.
const TENANTS_PER_TX: usize = 100;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-seed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, tenants, clients, devices, out] = args.as_slice() else {
        return Err(
            "usage: portcullis-seed <database-url> <tenants> <clients> <devices> <sample.json>"
                .into(),
        );
    };
    let number = |s: &str| s.parse::<usize>().map_err(|e| format!("`{s}`: {e}"));
    let (tenants, clients, devices) = (number(tenants)?, number(clients)?, number(devices)?);
    if tenants == 0 {
        return Err("at least one tenant".into());
    }
    let url: DatabaseUrl = url.parse().map_err(|e| format!("{e}"))?;
    let key = std::env::var("PORTCULLIS_MASTER_KEY")
        .map_err(|_| "PORTCULLIS_MASTER_KEY is not set".to_owned())?;
    let master = MasterKey::parse(&key).map_err(|e| e.to_string())?;
    let store =
        Store::open(&url, PoolOptions::for_backend(url.backend())).map_err(|e| e.to_string())?;
    let started = Instant::now();

    // RSA generation is the slow part (tens of ms a key): a pool, each use sealed anew.
    let pool: Vec<(Vec<u8>, serde_json::Value)> = (0..8)
        .map(|_| {
            let row = tokens::keys::generate("pool", SigningAlg::Rs256, KeyState::Active, &master)
                .map_err(|e| e.to_string())?;
            let der = master
                .open(&row.private_key_sealed, row.id.as_bytes())
                .map_err(|e| e.to_string())?;
            let jwk: serde_json::Value =
                serde_json::from_str(&row.public_jwk).map_err(|e| e.to_string())?;
            Ok::<_, String>((der, jwk))
        })
        .collect::<Result<_, _>>()?;
    let device_secret_hash = master.hash_secret(SECRET).map_err(|e| e.to_string())?;
    let big = (devices / 10).min(100_000).min(devices);
    let rest_per_tenant = if tenants > 1 {
        (devices - big) / (tenants - 1)
    } else {
        0
    };
    let big = if tenants == 1 { devices } else { big };
    let clients_per_tenant = (clients / tenants).max(1);
    let mut sample_tenants = Vec::with_capacity(tenants);
    let mut sample_devices = Vec::new();
    let mut written = (0usize, 0usize);

    for first in (0..tenants).step_by(TENANTS_PER_TX) {
        let now = now_unix();
        let (mut t_rows, mut k_rows, mut o_rows) = (Vec::new(), Vec::new(), Vec::new());
        let (mut c_rows, mut s_rows, mut d_rows): (
            Vec<ClientRow>,
            Vec<ClientSecretRow>,
            Vec<DeviceRow>,
        ) = (Vec::new(), Vec::new(), Vec::new());
        for t in first..(first + TENANTS_PER_TX).min(tenants) {
            let tenant = TenantRow {
                id: ids::new_id(),
                slug: format!("t{t:05}"),
                name: format!("Tenant {t}"),
                environment: Environment::Sandbox,
                settings: TenantSettings::default(),
                disabled: false,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let (der, jwk) = &pool[t % pool.len()];
            let rsa = reseal(&master, &tenant.id, der, jwk)?;
            let ec =
                tokens::keys::generate(&tenant.id, SigningAlg::Es256, KeyState::Active, &master)
                    .map_err(|e| e.to_string())?;
            let org = OrganizationRow {
                id: ids::new_organization_id(OrganizationKind::Other),
                tenant_id: tenant.id.clone(),
                kind: OrganizationKind::Other,
                name: "Devices".into(),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            for c in 0..clients_per_tenant {
                let mut new = NewClient::machine(&format!("c{c}"), &["read"]);
                new.client_id = Some(format!("c{c}"));
                // ES256: signing costs little, so what the tenancy costs shows.
                new.access_token_alg = SigningAlg::Es256;
                let row = new.into_row(&tenant.id, now);
                let secret = format!("{SECRET}.{}.c{c}", tenant.slug);
                s_rows.push(ClientSecretRow {
                    id: ids::new_id(),
                    client_pk: row.id.clone(),
                    secret_hash: master.hash_secret(&secret).map_err(|e| e.to_string())?,
                    created_at: now,
                    expires_at: None,
                });
                c_rows.push(row);
            }
            let count = if t == 0 { big } else { rest_per_tenant };
            for d in 0..count {
                let row = DeviceRow {
                    id: ids::new_id(),
                    tenant_id: tenant.id.clone(),
                    organization_id: org.id.clone(),
                    name: format!("d{d}"),
                    secret_hash: Some(device_secret_hash.clone()),
                    cert_thumbprint: None,
                    token_version: 1,
                    disabled: false,
                    failed_auth_count: 0,
                    locked_until: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                    token_kid: Some(rsa.id.clone()),
                };
                if d == 0 && sample_devices.len() < 2_000 {
                    sample_devices.push(serde_json::json!([tenant.slug, org.id, row.id]));
                }
                d_rows.push(row);
            }
            sample_tenants.push(serde_json::json!([tenant.slug, tenant.id, org.id]));
            k_rows.push(rsa);
            k_rows.push(ec);
            t_rows.push(tenant);
            o_rows.push(org);
        }
        written.0 += c_rows.len();
        written.1 += d_rows.len();
        store
            .transaction_blocking(move |c| {
                for t in &t_rows {
                    store::repo::tenants::insert(c, t)?;
                }
                for k in &k_rows {
                    store::repo::signing_keys::insert(c, k)?;
                }
                for o in &o_rows {
                    store::repo::organizations::insert(c, o)?;
                }
                // One prepared statement each, many rows per transaction: fast enough on both
                // backends (diesel's multi-connection type has no multi-row INSERT).
                for row in &c_rows {
                    store::repo::clients::insert(c, row)?;
                }
                for row in &s_rows {
                    store::repo::clients::insert_secret(c, row)?;
                }
                d_rows
                    .iter()
                    .try_for_each(|row| store::repo::devices::insert(c, row))
            })
            .map_err(|e| e.to_string())?;
        if (first / TENANTS_PER_TX) % 10 == 0 {
            eprintln!(
                "  {} tenants, {} clients, {} devices ({:.0} s)",
                (first + TENANTS_PER_TX).min(tenants),
                written.0,
                written.1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    if url.backend() == store::Backend::Postgres {
        // Vacuumed and analysed now, so autovacuum's pass over a million new rows does not run
        // during the measurement.
        store.vacuum_analyze().map_err(|e| e.to_string())?;
    }
    let sample = serde_json::json!({
        "secret": SECRET,
        "clients_per_tenant": clients_per_tenant,
        "tenants": sample_tenants,
        "devices": sample_devices,
        "big_organization_devices": big,
    });
    std::fs::write(out, sample.to_string()).map_err(|e| format!("{out}: {e}"))?;
    println!(
        "seeded {tenants} tenants, {} clients, {} devices in {:.1} s",
        written.0,
        written.1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An active RS256 key of `tenant_id` with the pooled material: its own key id, sealed under it.
fn reseal(
    master: &MasterKey,
    tenant_id: &str,
    der: &[u8],
    jwk: &serde_json::Value,
) -> Result<SigningKeyRow, String> {
    let kid = ids::new_id();
    let mut jwk = jwk.clone();
    jwk["kid"] = kid.clone().into();
    let now = now_unix();
    Ok(SigningKeyRow {
        private_key_sealed: master
            .seal(der, kid.as_bytes())
            .map_err(|e| e.to_string())?,
        id: kid,
        tenant_id: tenant_id.to_owned(),
        alg: SigningAlg::Rs256,
        state: KeyState::Active,
        public_jwk: jwk.to_string(),
        created_at: now,
        activated_at: Some(now),
        retired_at: None,
    })
}
