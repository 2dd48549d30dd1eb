//! `cargo xtask bench --scale`: the release server on SQLite seeded in bulk (`portcullis-seed`)
//! with 10,000 tenants, 100,000 clients and 1,000,000 devices, measured beside the same
//! scenarios on a database of one tenant: client_credentials over clients drawn at random
//! across all tenants (cold caches) and over a warm set, introspection, a device token at
//! `/whoami`, admin list pages at the first and at a deep cursor, and the server's peak RSS.
//! Each figure is printed with its ratio to the one-tenant figure and the target it must meet.
//!
//! Then the large database again on PostgreSQL, served by two replicas behind HAProxy, beside
//! the one SQLite replica (`--sqlite-only` skips it).
//!
//! `--tenants=N --clients=N --devices=N` shrink the large database (for a quick look).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::bench::{ensure_wrk, fetch_token_at, wrk, Outcome, Server, ADMIN_SECRET};
use crate::interop::TempDir;
use crate::pg::Postgres;
use crate::process::{cargo, output, run};
use crate::scale::{HaProxy, Replica, MASTER_KEY};
use crate::{root, Result};

/// One database size and what was measured on it.
struct Run {
    label: String,
    figures: Vec<(&'static str, Outcome)>,
    rss_mb: u64,
    seed_secs: f64,
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("--{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn run_scale(args: &[String], seconds: u64) -> Result {
    ensure_wrk()?;
    run(cargo().args([
        "build",
        "--release",
        "--locked",
        "--package",
        "portcullis-server",
    ]))?;
    let bin = root().join("target/release");
    let large = (
        arg(args, "tenants", 10_000),
        arg(args, "clients", 100_000),
        arg(args, "devices", 1_000_000),
    );
    let small = measure(&bin, (1, 10, 100), seconds, Setup::Sqlite)?;
    let big = measure(&bin, large, seconds, Setup::Sqlite)?;
    let mut report = table(&small, &big);
    if !args.iter().any(|a| a == "--sqlite-only") {
        crate::scale::ensure_haproxy()?;
        let replicas = measure(&bin, large, seconds, Setup::Replicas)?;
        report.push_str(&replicas_table(&big, &replicas));
    }
    print!("{report}");
    std::fs::write(root().join("target/bench-scale-report.txt"), report).map_err(|e| e.to_string())
}

/// Where the measured database lives and what serves it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// One replica on SQLite.
    Sqlite,
    /// Two replicas on PostgreSQL behind HAProxy.
    Replicas,
}

/// What serves the measured database; dropped after the measure.
enum Serving {
    One(Server),
    Two(Box<Replicas>),
}

struct Replicas {
    replicas: [Replica; 2],
    _proxy: HaProxy,
    _pg: Postgres,
}

impl Serving {
    fn peak_rss_mb(&self) -> u64 {
        match self {
            Serving::One(s) => s.peak_rss_mb(),
            Serving::Two(two) => two
                .replicas
                .iter()
                .map(Replica::peak_rss_mb)
                .max()
                .unwrap_or(0),
        }
    }
}

fn measure(
    bin: &Path,
    (tenants, clients, devices): (usize, usize, usize),
    seconds: u64,
    setup: Setup,
) -> Result<Run> {
    let label = match setup {
        Setup::Sqlite => format!("{tenants} tenants / {clients} clients / {devices} devices, SQLite"),
        Setup::Replicas => format!(
            "{tenants} tenants / {clients} clients / {devices} devices, PostgreSQL, 2 replicas behind HAProxy"
        ),
    };
    println!("\n=== {label} ===");
    let dir = TempDir(std::env::temp_dir().join(format!(
        "portcullis-bench-scale-{}-{tenants}-{}",
        std::process::id(),
        setup as u8
    )));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).map_err(|e| e.to_string())?;
    let pg = match setup {
        Setup::Sqlite => None,
        Setup::Replicas => Some(Postgres::start()?),
    };
    let database = match &pg {
        None => format!("sqlite://{}/portcullis.db", dir.0.display()),
        Some(pg) => pg.url.clone(),
    };
    let sample_file = dir.0.join("sample.json");
    let seeded = std::time::Instant::now();
    run(Command::new(bin.join("portcullis-seed"))
        .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
        .arg(&database)
        .arg(tenants.to_string())
        .arg(clients.to_string())
        .arg(devices.to_string())
        .arg(&sample_file))?;
    let seed_secs = seeded.elapsed().as_secs_f64();
    let sample: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sample_file).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let port = crate::pg::free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let server = match pg {
        None => Serving::One(Server::start_with(
            &bin.join("portcullis"),
            &dir.0,
            port,
            &[
                ("PORTCULLIS_DATABASE_URL", &database),
                ("PORTCULLIS_MASTER_KEY", MASTER_KEY),
            ],
        )?),
        Some(pg) => {
            let binary = bin.join("portcullis");
            let a = Replica::start(&binary, &dir.0, "r1", &database, &base)?;
            let b = Replica::start(&binary, &dir.0, "r2", &database, &base)?;
            let proxy = HaProxy::start(&dir.0, port, [a.port, b.port])?;
            Serving::Two(Box::new(Replicas {
                replicas: [a, b],
                _proxy: proxy,
                _pg: pg,
            }))
        }
    };
    let admin = fetch_token_at(&base, "system", "admin", ADMIN_SECRET)?;
    let secret = sample["secret"].as_str().unwrap_or_default();
    let per_tenant = sample["clients_per_tenant"].as_u64().unwrap_or(1) as usize;
    let tenants_list = sample["tenants"].as_array().cloned().unwrap_or_default();

    // Every client, for draws across all tenants; the first thousand for the warm set.
    let mut all = String::new();
    for t in &tenants_list {
        let slug = t[0].as_str().unwrap_or_default();
        for c in 0..per_tenant {
            let auth = STANDARD.encode(format!("c{c}:{secret}.{slug}.c{c}"));
            let _ = writeln!(
                all,
                "POST\t/t/{slug}/oauth2/token\tBasic {auth}\tgrant_type=client_credentials"
            );
        }
    }
    let warm: String = all.lines().take(1000).map(|l| format!("{l}\n")).collect();
    let files = [("all", all), ("warm", warm)];
    for (name, text) in &files {
        std::fs::write(dir.0.join(format!("{name}.txt")), text).map_err(|e| e.to_string())?;
    }

    // Introspection of real tokens: 300 clients across the tenants, each introspecting its own.
    let mut introspect = String::new();
    let step = (tenants_list.len() / 300).max(1);
    for t in tenants_list.iter().step_by(step).take(300) {
        let slug = t[0].as_str().unwrap_or_default();
        let own = format!("{secret}.{slug}.c0");
        let token = fetch_token_at(&base, slug, "c0", &own)?;
        let auth = STANDARD.encode(format!("c0:{own}"));
        let _ = writeln!(
            introspect,
            "POST\t/t/{slug}/oauth2/introspect\tBasic {auth}\ttoken={token}"
        );
    }
    std::fs::write(dir.0.join("introspect.txt"), introspect).map_err(|e| e.to_string())?;

    // Device tokens: re-issued through the admin API for sampled devices.
    let mut whoami = String::new();
    for d in sample["devices"].as_array().into_iter().flatten().take(200) {
        let (slug, org, id) = (
            d[0].as_str().unwrap_or_default(),
            d[1].as_str().unwrap_or_default(),
            d[2].as_str().unwrap_or_default(),
        );
        let out = curl_json(
            &admin,
            "POST",
            &format!("{base}/admin/v1/tenants/{slug}/organizations/{org}/devices/{id}/token"),
        )?;
        let token = out["device_token"].as_str().ok_or("no device token")?;
        let _ = writeln!(whoami, "GET\t/t/{slug}/whoami\tBearer {token}\t");
    }
    std::fs::write(dir.0.join("whoami.txt"), whoami).map_err(|e| e.to_string())?;

    // Admin pages: the first, and the last full page reached by following the cursors.
    let first_tenants = format!("{base}/admin/v1/tenants?limit=50");
    let deep_tenants = deepest(&admin, &first_tenants)?;
    let big = &tenants_list[0];
    let devices_path = format!(
        "/admin/v1/tenants/{}/organizations/{}/devices?limit=100",
        big[0].as_str().unwrap_or_default(),
        big[2].as_str().unwrap_or_default()
    );
    let deep_devices = deepest(&admin, &format!("{base}{devices_path}"))?;
    let admin_line =
        |url: &str| format!("GET\t{}\tBearer {admin}\t\n", url.trim_start_matches(&base));
    for (name, url) in [
        ("tenants-first", first_tenants.clone()),
        ("tenants-deep", deep_tenants),
        ("devices-first", format!("{base}{devices_path}")),
        ("devices-deep", deep_devices),
    ] {
        std::fs::write(dir.0.join(format!("{name}.txt")), admin_line(&url))
            .map_err(|e| e.to_string())?;
    }

    let scenarios: [(&'static str, &str); 8] = [
        ("token, clients across all tenants (cold)", "all"),
        ("token, 1,000 clients (warm)", "warm"),
        ("introspection", "introspect"),
        ("device token at /whoami", "whoami"),
        ("admin: tenants, first page", "tenants-first"),
        ("admin: tenants, deep cursor", "tenants-deep"),
        ("admin: devices, first page", "devices-first"),
        ("admin: devices, deep cursor", "devices-deep"),
    ];
    let mut figures = Vec::new();
    for (name, file) in scenarios {
        let script = dir.0.join(format!("{file}.lua"));
        std::fs::write(&script, lines_script(&dir.0.join(format!("{file}.txt"))))
            .map_err(|e| e.to_string())?;
        // The cold scenario is measured without warm-up: the cache must not have seen them.
        if file != "all" {
            let _ = wrk(&base, "/", &script, 2, "warmup");
        }
        let o = wrk(&base, "/", &script, seconds, "run")?;
        println!(
            "  {name}: {:.0} req/s, p50 {}, p99 {}, errors {}",
            o.rps, o.p50, o.p99, o.errors
        );
        figures.push((name, o));
    }
    Ok(Run {
        label,
        figures,
        rss_mb: server.peak_rss_mb(),
        seed_secs,
    })
}

/// The URL of the last page, reached by following `next_cursor` from `first`.
fn deepest(token: &str, first: &str) -> Result<String> {
    let mut url = first.to_owned();
    loop {
        let page = curl_json(token, "GET", &url)?;
        let Some(cursor) = page["next_cursor"].as_str() else {
            return Ok(url);
        };
        url = format!("{first}&cursor={cursor}");
    }
}

fn curl_json(token: &str, method: &str, url: &str) -> Result<serde_json::Value> {
    let out = output(Command::new("curl").args([
        "-sSf",
        "-X",
        method,
        "-H",
        &format!("Authorization: Bearer {token}"),
        url,
    ]))?;
    serde_json::from_slice(&out).map_err(|e| e.to_string())
}

/// A wrk script that sends a random line of `file` (method, path, Authorization, form body).
fn lines_script(file: &Path) -> String {
    format!(
        r#"local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  lines = {{}}
  for line in io.lines("{}") do
    local m, p, a, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
    table.insert(lines, {{m, p, a, b}})
  end
  math.randomseed(os.time() * 7 + id * 7919)
end
function request()
  local l = lines[math.random(#lines)]
  local h = {{["Authorization"] = l[3]}}
  local body = nil
  if l[4] ~= "" then
    h["Content-Type"] = "application/x-www-form-urlencoded"
    body = l[4]
  end
  return wrk.format(l[1], l[2], h, body)
end
"#,
        file.display()
    )
}

/// Milliseconds of a wrk latency figure (`812.00us`, `1.23ms`, `1.01s`).
fn millis(text: &str) -> f64 {
    let t = text.trim();
    let (number, factor) = if let Some(v) = t.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = t.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = t.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (t, 1.0)
    };
    number
        .parse::<f64>()
        .map(|n| n * factor)
        .unwrap_or(f64::NAN)
}

fn table(small: &Run, big: &Run) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "\nPortcullis scale benchmark: release build, SQLite, wrk 2 threads / 32 connections\n\
         A: {} (seeded in {:.1} s)\nB: {} (seeded in {:.1} s)\n",
        small.label, small.seed_secs, big.label, big.seed_secs
    );
    let _ = writeln!(
        r,
        "{:<42} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7}  target",
        "scenario", "A req/s", "A p50", "A p99", "B req/s", "B p50", "B p99", "rps B/A", "p99 B/A"
    );
    for ((name, a), (_, b)) in small.figures.iter().zip(&big.figures) {
        let (rps, p99) = (b.rps / a.rps, millis(&b.p99) / millis(&a.p99));
        let target = match *name {
            "token, 1,000 clients (warm)" => {
                let met = rps >= 0.8 && p99 <= 1.2;
                format!(
                    "≥ 80 % and p99 ≤ 1.2×: {}",
                    if met { "met" } else { "NOT met" }
                )
            }
            "token, clients across all tenants (cold)" => {
                let met = millis(&b.p99) <= 10.0;
                format!("B p99 ≤ 10 ms: {}", if met { "met" } else { "NOT met" })
            }
            n if n.starts_with("admin") => {
                let met = millis(&b.p99) <= 20.0;
                format!("B p99 ≤ 20 ms: {}", if met { "met" } else { "NOT met" })
            }
            _ => String::new(),
        };
        let invalid = |o: &Outcome| {
            if o.errors > 0 {
                format!(" ({} errors: INVALID)", o.errors)
            } else {
                String::new()
            }
        };
        let _ = writeln!(
            r,
            "{name:<42} {:>9.0} {:>9} {:>9} {:>9.0} {:>9} {:>9} {:>7.2} {:>7.2}  {target}{}{}",
            a.rps,
            a.p50,
            a.p99,
            b.rps,
            b.p50,
            b.p99,
            rps,
            p99,
            invalid(a),
            invalid(b)
        );
    }
    let _ = writeln!(
        r,
        "peak RSS of the server: A {} MB, B {} MB (target B ≤ 300 MB: {})",
        small.rss_mb,
        big.rss_mb,
        if big.rss_mb <= 300 { "met" } else { "NOT met" }
    );
    r
}

/// Two replicas on PostgreSQL behind HAProxy beside one replica on SQLite, same database size.
fn replicas_table(sqlite: &Run, replicas: &Run) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "\nC: {} (seeded in {:.1} s), beside B",
        replicas.label, replicas.seed_secs
    );
    let _ = writeln!(
        r,
        "{:<42} {:>9} {:>9} {:>9} {:>7}  target",
        "scenario", "C req/s", "C p50", "C p99", "rps C/B"
    );
    for ((name, b), (_, c)) in sqlite.figures.iter().zip(&replicas.figures) {
        let ratio = c.rps / b.rps;
        let target = if *name == "token, 1,000 clients (warm)" {
            format!(
                "≥ 80 % of one SQLite replica: {}",
                if ratio >= 0.8 { "met" } else { "NOT met" }
            )
        } else {
            String::new()
        };
        let errors = if c.errors > 0 {
            format!(" ({} errors: INVALID)", c.errors)
        } else {
            String::new()
        };
        let _ = writeln!(
            r,
            "{name:<42} {:>9.0} {:>9} {:>9} {:>7.2}  {target}{errors}",
            c.rps, c.p50, c.p99, ratio
        );
    }
    let _ = writeln!(r, "peak RSS of a replica: {} MB", replicas.rss_mb);
    r
}
