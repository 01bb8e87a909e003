//! `GET /metrics`: the adapter's counters and the HTTP layer's own, in Prometheus' text
//! exposition format (version 0.0.4).
//!
//! | metric | type | what |
//! |---|---|---|
//! | `evert_connections` | gauge | open sessions, PostgreSQL and HTTP |
//! | `evert_statements_total{kind}` | counter | statements executed, by kind |
//! | `evert_subscribers` | gauge | running SUBSCRIBE dataflows, over any protocol |
//! | `evert_rows_ingested_total` | counter | rows inserted or deleted by committed writes |
//! | `evert_commits_total` | counter | group commits (one log fsync each) |
//! | `evert_commit_requests_total` | counter | write requests those commits carried |
//! | `evert_commit_latency_seconds` | summary | `_sum` and `_count` of group commit durations |
//! | `evert_frontier_lag_milliseconds{name}` | gauge | per materialized view and index: applied timestamp minus its upper frontier |
//! | `evert_http_connections` | gauge | open HTTP connections |
//! | `evert_http_requests_total{endpoint}` | counter | HTTP requests, by endpoint |
//! | `evert_http_subscribers{transport}` | gauge | streams open over `sse` and `ws` |
//! | `evert_http_stream_ends_total{transport,reason}` | counter | how streams ended: `complete`, `failed`, `fell_behind`, `shutdown`, `client_closed` |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use evert_adapter::Adapter;

use crate::stream::End;

/// How long `/metrics` waits for the workers to report frontiers before leaving the lags out.
const FRONTIER_TIMEOUT: Duration = Duration::from_secs(2);

/// Counters the HTTP layer keeps itself.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    pub connections: AtomicI64,
    requests: Mutex<BTreeMap<&'static str, u64>>,
    sse_subscribers: AtomicI64,
    ws_subscribers: AtomicI64,
    stream_ends: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl HttpMetrics {
    pub fn record_request(&self, endpoint: &'static str) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry(endpoint).or_insert(0) += 1;
        }
    }

    pub fn record_end(&self, transport: &'static str, end: End) {
        let reason = match end {
            End::Complete => "complete",
            End::Failed => "failed",
            End::FellBehind => "fell_behind",
            End::Shutdown => "shutdown",
            End::ClientClosed => "client_closed",
        };
        if let Ok(mut e) = self.stream_ends.lock() {
            *e.entry((transport, reason)).or_insert(0) += 1;
        }
    }

    pub fn subscribers(&self, transport: &str) -> &AtomicI64 {
        if transport == "ws" {
            &self.ws_subscribers
        } else {
            &self.sse_subscribers
        }
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The exposition text.
pub async fn render(adapter: &Adapter, http: &HttpMetrics) -> String {
    let metrics = adapter.metrics();
    let mut out = String::new();

    header(
        &mut out,
        "evert_connections",
        "gauge",
        "Open sessions (PostgreSQL and HTTP clients).",
    );
    let _ = writeln!(
        out,
        "evert_connections {}",
        metrics.connections.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "evert_statements_total",
        "counter",
        "Statements executed, by kind.",
    );
    for (kind, count) in metrics.statements() {
        let _ = writeln!(
            out,
            "evert_statements_total{{kind=\"{}\"}} {count}",
            label(kind)
        );
    }

    header(
        &mut out,
        "evert_subscribers",
        "gauge",
        "Running subscriptions (SUBSCRIBE over any protocol, and cursors over subscriptions).",
    );
    let _ = writeln!(
        out,
        "evert_subscribers {}",
        metrics.subscribers.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "evert_rows_ingested_total",
        "counter",
        "Rows inserted or deleted by committed writes (an updated row counts twice).",
    );
    let _ = writeln!(
        out,
        "evert_rows_ingested_total {}",
        metrics.rows_ingested.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "evert_commits_total",
        "counter",
        "Group commits (one fsync of the log each).",
    );
    let _ = writeln!(
        out,
        "evert_commits_total {}",
        metrics.commits.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "evert_commit_requests_total",
        "counter",
        "Write requests committed (concurrent writers share a group commit).",
    );
    let _ = writeln!(
        out,
        "evert_commit_requests_total {}",
        metrics.commit_requests.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "evert_commit_latency_seconds",
        "summary",
        "Duration of group commits, from the first request to durability.",
    );
    let micros = metrics.commit_micros.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "evert_commit_latency_seconds_sum {}",
        micros as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "evert_commit_latency_seconds_count {}",
        metrics.commits.load(Ordering::Relaxed)
    );

    let lags = tokio::time::timeout(FRONTIER_TIMEOUT, adapter.frontier_lags()).await;
    header(
        &mut out,
        "evert_frontier_lag_milliseconds",
        "gauge",
        "How far each materialized view's and index's upper frontier trails the applied timestamp.",
    );
    match lags {
        Ok(lags) => {
            for (name, lag) in lags {
                let _ = writeln!(
                    out,
                    "evert_frontier_lag_milliseconds{{name=\"{}\"}} {lag}",
                    label(&name)
                );
            }
        }
        Err(_) => out.push_str("# the workers did not report frontiers in time\n"),
    }

    header(
        &mut out,
        "evert_http_connections",
        "gauge",
        "Open HTTP connections.",
    );
    let _ = writeln!(
        out,
        "evert_http_connections {}",
        http.connections.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "evert_http_requests_total",
        "counter",
        "HTTP requests, by endpoint.",
    );
    if let Ok(requests) = http.requests.lock() {
        for (endpoint, count) in requests.iter() {
            let _ = writeln!(
                out,
                "evert_http_requests_total{{endpoint=\"{}\"}} {count}",
                label(endpoint)
            );
        }
    }

    header(
        &mut out,
        "evert_http_subscribers",
        "gauge",
        "Subscriptions streaming over HTTP, by transport.",
    );
    for transport in ["sse", "ws"] {
        let _ = writeln!(
            out,
            "evert_http_subscribers{{transport=\"{transport}\"}} {}",
            http.subscribers(transport).load(Ordering::Relaxed)
        );
    }

    header(
        &mut out,
        "evert_http_stream_ends_total",
        "counter",
        "HTTP subscription streams that ended, by transport and reason.",
    );
    if let Ok(ends) = http.stream_ends.lock() {
        for ((transport, reason), count) in ends.iter() {
            let _ = writeln!(out, "evert_http_stream_ends_total{{transport=\"{transport}\",reason=\"{reason}\"}} {count}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
