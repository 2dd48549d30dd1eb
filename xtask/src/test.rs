//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::interop;
use crate::pg::Postgres;
use crate::process::{self, cargo, describe, exists};
use crate::Result;

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
}

pub fn run(_args: &[String]) -> Result {
    run_step(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_step(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;

    // One PostgreSQL for the whole run: the SQLite pass needs it too, for the dialect test.
    let external = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"));
    let server = match &external {
        Some(_) => None,
        None => Some(Postgres::start()?),
    };
    let pg_url = external
        .clone()
        .unwrap_or_else(|| server.as_ref().map(|s| s.url.clone()).unwrap_or_default());

    // Tests that stop and start a database of their own (outages) find the binaries here.
    if let Ok(bin) = crate::pg::find_bindir() {
        std::env::set_var("PORTCULLIS_TEST_PG_BINDIR", bin);
    }
    let sqlite = suite("SQLite", None, &pg_url);
    let postgres = suite("PostgreSQL", Some(&pg_url), &pg_url);
    drop(server);
    let outcome = |r: Result<u64>, what: &str| match r {
        Ok(n) => Ok(Counts {
            passed: n,
            failed: 1 - n.min(1),
        }),
        Err(e) => Err((
            Counts {
                passed: 0,
                failed: 1,
            },
            format!("{what}: {e}"),
        )),
    };
    let lint = outcome(interop::spectral(), "lint");
    let fuzz = outcome(interop::schemathesis(), "fuzz");
    let browser = outcome(interop::browser(), "browser");
    let oidc = outcome(interop::oidc(), "browser sign-in");
    let portal = outcome(interop::portal(), "portal");
    let authlib = outcome(interop::authlib(), "interop");
    let scale = outcome(crate::scale::run(), "scale");

    println!();
    let mut total = Counts::default();
    for (name, result) in [
        ("SQLite", &sqlite),
        ("PostgreSQL", &postgres),
        ("Interop", &authlib),
        ("Lint", &lint),
        ("Fuzz", &fuzz),
        ("Browser", &browser),
        ("Sign-in", &oidc),
        ("Portal", &portal),
        ("Scale", &scale),
    ] {
        match result {
            Ok(c) | Err((c, _)) => {
                println!("{name:>10}: {} passed, {} failed", c.passed, c.failed);
                total.passed += c.passed;
                total.failed += c.failed;
            }
        }
    }
    println!("{} passed, {} failed", total.passed, total.failed);
    for r in [
        sqlite, postgres, authlib, lint, fuzz, browser, oidc, portal, scale,
    ] {
        r.map_err(|(_, e)| e)?;
    }
    Ok(())
}

fn run_step(cmd: &mut Command) -> Result {
    process::run(cmd)
}

/// Runs the workspace's tests with the given database selection and counts them.
fn suite(
    name: &str,
    database: Option<&str>,
    pg_url: &str,
) -> std::result::Result<Counts, (Counts, String)> {
    println!("\n=== test suite on {name} ===");
    let nextest = exists("cargo-nextest");
    let mut cmd = cargo();
    if nextest {
        cmd.args([
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ]);
    } else {
        cmd.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    }
    cmd.env("PORTCULLIS_TEST_PG_URL", pg_url);
    match database {
        Some(url) => cmd.env("TEST_DATABASE_URL", url),
        None => cmd.env_remove("TEST_DATABASE_URL"),
    };
    let shown = describe(&cmd);
    println!("$ {shown}");
    // Both runners report on stderr (nextest) or stdout (cargo test); read both, echo them.
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| (Counts::default(), format!("cannot run `{shown}`: {e}")))?;
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut counts = Counts::default();
        if let Some(s) = stderr {
            for line in BufReader::new(s).lines().map_while(std::result::Result::ok) {
                eprintln!("{line}");
                count_line(&line, &mut counts);
            }
        }
        counts
    });
    let mut counts = Counts::default();
    if let Some(s) = child.stdout.take() {
        for line in BufReader::new(s).lines().map_while(std::result::Result::ok) {
            println!("{line}");
            count_line(&line, &mut counts);
        }
    }
    let status = child.wait().map_err(|e| (counts, e.to_string()))?;
    let more = err_thread.join().unwrap_or_default();
    counts.passed += more.passed;
    counts.failed += more.failed;
    if status.success() && counts.failed == 0 {
        if counts.passed == 0 {
            return Err((counts, format!("{name}: no test ran")));
        }
        Ok(counts)
    } else {
        Err((counts, format!("the test suite failed on {name}")))
    }
}

/// Reads nextest's `Summary [..] N tests run: P passed, F failed` or cargo test's
/// `test result: ok. P passed; F failed;` lines.
fn count_line(line: &str, counts: &mut Counts) {
    let line = line.trim();
    let number_before = |word: &str| -> Option<u64> {
        let idx = line.find(word)?;
        line[..idx]
            .split_whitespace()
            .last()?
            .trim_start_matches(['(', ','])
            .parse()
            .ok()
    };
    let nextest = line.starts_with("Summary [") && line.contains(" run: ");
    if nextest || line.starts_with("test result: ") {
        counts.passed += number_before(" passed").unwrap_or(0);
        counts.failed += number_before(" failed").unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nextest_and_cargo_test_summaries() {
        let mut c = Counts::default();
        count_line(
            "     Summary [   3.210s] 42 tests run: 40 passed, 2 failed, 0 skipped",
            &mut c,
        );
        count_line(
            "test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured",
            &mut c,
        );
        count_line("test something ... ok", &mut c);
        assert_eq!((c.passed, c.failed), (47, 2));
    }
}
