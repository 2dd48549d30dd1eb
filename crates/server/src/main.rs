//! `portcullis` — the server binary.

use std::process::ExitCode;

/// jemalloc for Rust's allocations and, unprefixed, for OpenSSL's: with glibc's malloc, a heap
/// fragmented by a churning cache of 10,000 tenants made `malloc` 16 % of the warm token path.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use portcullis_server::config::Config;

const USAGE: &str =
    "usage: portcullis [serve | migrate | migrate-to postgres://… | client add … | openapi | --version | --help]

  serve       run the server (default)
  migrate     apply pending database migrations and exit
  migrate-to  copy this SQLite database (it may be in use) into an empty PostgreSQL database,
              from one snapshot, and verify the row counts; then point PORTCULLIS_DATABASE_URL
              at the new database
  client add  create an OAuth client and print it with its secret (once)
  openapi     print the OpenAPI document

Configuration: PORTCULLIS_* environment variables over an optional portcullis.toml.";

fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        None | Some("serve") => serve(),
        Some("migrate") => Config::load().map_err(|e| e.to_string()).and_then(|c| {
            portcullis_server::migrate(&c)
                .map(|n| println!("applied {n} migration(s) to {}", c.database_url))
                .map_err(|e| e.to_string())
        }),
        Some("migrate-to") => match std::env::args().nth(2) {
            Some(target) => Config::load()
                .map_err(|e| e.to_string())
                .and_then(|c| portcullis_server::migrate_to(&c, &target)),
            None => Err(format!("migrate-to needs the target database URL\n{USAGE}")),
        },
        Some("client") => {
            portcullis_server::cli::client(&std::env::args().skip(2).collect::<Vec<_>>())
        }
        Some("openapi") => portcullis_server::openapi::spec_json()
            .map(|s| print!("{s}"))
            .map_err(|e| e.to_string()),
        Some("--version" | "-V") => {
            println!("portcullis {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One readable line: multi-line driver messages are folded.
            let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("portcullis: error: {line}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> Result<(), String> {
    let config = Config::load().map_err(|e| e.to_string())?;
    actix_web::rt::System::new()
        .block_on(portcullis_server::serve(config))
        .map_err(|e| e.to_string())
}
