//! Prometheus metrics: requests and their latency per endpoint family and status class, and
//! tokens issued per grant. Fixed label sets held in atomics, so recording costs a few relaxed
//! increments and no lock or allocation on the token path.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use domain::model::GrantType;

/// Which part of the API a request went to: a bounded label (unlike the raw path), given by the
/// server's route classifier (`Edge::classify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Introspect,
    Revoke,
    Jwks,
    Discovery,
    Whoami,
    Admin,
    Account,
    Ops,
    Docs,
    Other,
}

impl Endpoint {
    const ALL: [Endpoint; 11] = [
        Endpoint::Token,
        Endpoint::Introspect,
        Endpoint::Revoke,
        Endpoint::Jwks,
        Endpoint::Discovery,
        Endpoint::Whoami,
        Endpoint::Admin,
        Endpoint::Account,
        Endpoint::Ops,
        Endpoint::Docs,
        Endpoint::Other,
    ];

    fn name(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::Introspect => "introspect",
            Endpoint::Revoke => "revoke",
            Endpoint::Jwks => "jwks",
            Endpoint::Discovery => "discovery",
            Endpoint::Whoami => "whoami",
            Endpoint::Admin => "admin",
            Endpoint::Account => "account",
            Endpoint::Ops => "ops",
            Endpoint::Docs => "docs",
            Endpoint::Other => "other",
        }
    }

    /// Whether the family answers in the OAuth dialect (RFC 6749 errors), not problems.
    pub fn is_oauth(self) -> bool {
        matches!(
            self,
            Endpoint::Token
                | Endpoint::Introspect
                | Endpoint::Revoke
                | Endpoint::Jwks
                | Endpoint::Discovery
        )
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const E: usize = Endpoint::ALL.len();

struct Histogram {
    /// Cumulative counts per bucket (`le`), then `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

pub struct Metrics {
    requests: [[AtomicU64; CLASSES.len()]; E],
    latency: [Histogram; E],
    tokens: [AtomicU64; GrantType::ALL.len()],
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ROW: [AtomicU64; CLASSES.len()] = [ZERO; CLASSES.len()];
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Histogram = Histogram {
    buckets: [ZERO; BUCKETS.len() + 1],
    sum_micros: ZERO,
};

/// The process's metrics.
pub static METRICS: Metrics = Metrics {
    requests: [ROW; E],
    latency: [EMPTY; E],
    tokens: [ZERO; GrantType::ALL.len()],
};

impl Metrics {
    pub fn record_request(&self, endpoint: Endpoint, status: u16, elapsed: Duration) {
        let e = endpoint as usize;
        let class = (usize::from(status / 100)).clamp(1, 5) - 1;
        self.requests[e][class].fetch_add(1, Relaxed);
        let h = &self.latency[e];
        let secs = elapsed.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.buckets[i].fetch_add(1, Relaxed);
            }
        }
        h.buckets[BUCKETS.len()].fetch_add(1, Relaxed);
        h.sum_micros.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    pub fn record_token(&self, grant: GrantType) {
        if let Some(i) = GrantType::ALL.iter().position(|g| *g == grant) {
            self.tokens[i].fetch_add(1, Relaxed);
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        out.push_str("# HELP portcullis_http_requests_total HTTP requests by endpoint family and status class.\n");
        out.push_str("# TYPE portcullis_http_requests_total counter\n");
        for e in Endpoint::ALL {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = self.requests[e as usize][c].load(Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "portcullis_http_requests_total{{endpoint=\"{}\",status=\"{class}\"}} {n}",
                        e.name()
                    );
                }
            }
        }
        out.push_str(
            "# HELP portcullis_http_request_duration_seconds Time to answer, by endpoint family.\n",
        );
        out.push_str("# TYPE portcullis_http_request_duration_seconds histogram\n");
        for e in Endpoint::ALL {
            let h = &self.latency[e as usize];
            let count = h.buckets[BUCKETS.len()].load(Relaxed);
            if count == 0 {
                continue;
            }
            let name = e.name();
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "portcullis_http_request_duration_seconds_bucket{{endpoint=\"{name}\",le=\"{le}\"}} {}",
                    h.buckets[i].load(Relaxed)
                );
            }
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_bucket{{endpoint=\"{name}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_sum{{endpoint=\"{name}\"}} {}",
                h.sum_micros.load(Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_count{{endpoint=\"{name}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP portcullis_tokens_issued_total Access tokens issued, by grant type.\n",
        );
        out.push_str("# TYPE portcullis_tokens_issued_total counter\n");
        for (i, g) in GrantType::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "portcullis_tokens_issued_total{{grant_type=\"{}\"}} {}",
                g.as_str(),
                self.tokens[i].load(Relaxed)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests;
