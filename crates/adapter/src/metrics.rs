//! Counters the server reports (the HTTP `/metrics` endpoint renders them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Metrics {
    pub connections: AtomicI64,
    pub subscribers: AtomicI64,
    pub rows_ingested: AtomicU64,
    pub commits: AtomicU64,
    pub commit_requests: AtomicU64,
    pub commit_micros: AtomicU64,
    /// Updates replayed from the log at start-up.
    pub rows_replayed: AtomicU64,
    statements: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn record_commit(&self, requests: u64, rows: u64, elapsed: Duration) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_requests.fetch_add(requests, Ordering::Relaxed);
        self.rows_ingested.fetch_add(rows, Ordering::Relaxed);
        self.commit_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn record_statement(&self, kind: &'static str) {
        if let Ok(mut s) = self.statements.lock() {
            *s.entry(kind).or_insert(0) += 1;
        }
    }

    pub fn statements(&self) -> BTreeMap<&'static str, u64> {
        self.statements
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}
