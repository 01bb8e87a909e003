//! # Durable-log benchmarks
//!
//! Two measurements of the log that every write goes through (issue 4), each reported next
//! to a baseline run in the same process on the same machine:
//!
//! - [`group_commit`]: acknowledged single-row `INSERT`s per second with 1, 8 and 64
//!   concurrent clients. Every acknowledgement waits for an fsync; concurrent writers share
//!   them. Baseline: the same client loop against PostgreSQL (`synchronous_commit = on`, its
//!   default), when a connection string is given.
//! - [`replay`]: the rate at which a restart rebuilds tables and views from the log
//!   (rows/s), against the rate at which the storage layer alone reads the same log
//!   ([`evert_storage::Log::open`]): the difference is the cost of hydrating dataflows.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evert_sqllogictest::{connect, TempDir, TestServer};
use tokio_postgres::{Client, NoTls};

/// One group-commit measurement.
#[derive(Debug, Clone)]
pub struct CommitResult {
    pub clients: usize,
    pub writes: u64,
    pub seconds: f64,
    /// Log commits (fsync groups); `None` for the PostgreSQL baseline.
    pub commits: Option<u64>,
}

impl CommitResult {
    pub fn writes_per_second(&self) -> f64 {
        self.writes as f64 / self.seconds
    }
}

/// Runs `clients` concurrent writers for `duration` against one client factory.
async fn write_loop<F, Fut>(clients: usize, duration: Duration, connect_one: F) -> (u64, f64)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Client>,
{
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(connect_one().await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, client) in connections.into_iter().enumerate() {
        let stop = Arc::clone(&stop);
        let written = Arc::clone(&written);
        tasks.push(tokio::spawn(async move {
            let statement = client
                .prepare("INSERT INTO bench_w VALUES ($1, $2)")
                .await
                .expect("prepare");
            let mut seq = 0i64;
            while !stop.load(Ordering::Relaxed) {
                client
                    .execute(&statement, &[&(i as i64), &seq])
                    .await
                    .expect("insert");
                written.fetch_add(1, Ordering::Relaxed);
                seq += 1;
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("writer");
    }
    (
        written.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

/// Acknowledged writes/s into evert with `clients` concurrent writers.
pub async fn group_commit(clients: usize, duration: Duration) -> CommitResult {
    let server = TestServer::start().await;
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE TABLE bench_w (client bigint, seq bigint); CREATE MATERIALIZED VIEW bench_wc AS SELECT client, count(*) FROM bench_w GROUP BY client;")
        .await
        .expect("setup");
    let metrics = server.handle.as_ref().expect("running").adapter.metrics();
    let commits_before = metrics.commits.load(Ordering::Relaxed);
    let port = server.port();
    let (writes, seconds) = write_loop(clients, duration, || connect(port)).await;
    let commits = metrics.commits.load(Ordering::Relaxed) - commits_before;
    // Every acknowledged write is in the view.
    let total: i64 = setup
        .query_one("SELECT sum(count)::bigint FROM bench_wc", &[])
        .await
        .expect("read view")
        .get(0);
    assert_eq!(
        total as u64, writes,
        "every acknowledged write must be in the view"
    );
    server.stop().await;
    CommitResult {
        clients,
        writes,
        seconds,
        commits: Some(commits),
    }
}

/// The same writers against PostgreSQL (`conninfo`, e.g. `host=/tmp/pgref port=5499 user=postgres`).
pub async fn group_commit_postgres(
    conninfo: &str,
    clients: usize,
    duration: Duration,
) -> CommitResult {
    let conninfo = conninfo.to_string();
    let pg = |c: String| async move {
        let (client, connection) = tokio_postgres::connect(&c, NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    };
    let setup = pg(conninfo.clone()).await;
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS bench_w; CREATE TABLE bench_w (client bigint, seq bigint);",
        )
        .await
        .expect("setup PostgreSQL");
    let (writes, seconds) = write_loop(clients, duration, || pg(conninfo.clone())).await;
    setup
        .batch_execute("DROP TABLE bench_w")
        .await
        .expect("cleanup");
    CommitResult {
        clients,
        writes,
        seconds,
        commits: None,
    }
}

/// One replay measurement.
#[derive(Debug, Clone)]
pub struct ReplayResult {
    pub rows: u64,
    /// `Log::open` alone: read and verify every segment.
    pub log_open: Duration,
    /// A whole server restart: open the log, rebuild every table and view, answer a query.
    pub restart: Duration,
    pub rows_replayed: u64,
}

impl ReplayResult {
    pub fn log_rows_per_second(&self) -> f64 {
        self.rows_replayed as f64 / self.log_open.as_secs_f64()
    }
    pub fn restart_rows_per_second(&self) -> f64 {
        self.rows_replayed as f64 / self.restart.as_secs_f64()
    }
}

/// Loads `rows` rows (and two views over them), stops, and measures the restart.
pub async fn replay(rows: u64) -> ReplayResult {
    let dir = TempDir::new("evert-bench-replay");
    let server = TestServer::start_in(dir).await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE r (k bigint, v bigint, note text);
             CREATE MATERIALIZED VIEW r_by_k AS SELECT k % 100 AS g, count(*), sum(v) FROM r GROUP BY k % 100;
             CREATE INDEX r_k ON r (k);",
        )
        .await
        .expect("setup");
    // Batches of 100k rows keep each statement's memory bounded.
    let mut loaded = 0;
    while loaded < rows {
        let n = (rows - loaded).min(100_000);
        client
            .batch_execute(&format!(
                "INSERT INTO r SELECT g, g * 7, 'row ' || g::text FROM generate_series({}, {}) AS g",
                loaded + 1,
                loaded + n
            ))
            .await
            .expect("load");
        loaded += n;
    }
    drop(client);
    let dir = server.stop_keep().await;

    // Baseline: the storage layer reading the same log.
    let started = Instant::now();
    let (mut log, recovered) = evert_storage::Log::open(evert_storage::LogConfig::new(
        dir.0.join("data").join("log"),
    ))
    .expect("open log");
    let log_open = started.elapsed();
    drop(recovered);
    log.close();
    drop(log);

    let started = Instant::now();
    let server = TestServer::start_in(dir).await;
    let client = server.connect().await;
    let count: i64 = client
        .query_one("SELECT sum(count)::bigint FROM r_by_k", &[])
        .await
        .expect("query")
        .get(0);
    let restart = started.elapsed();
    assert_eq!(count as u64, rows, "the restarted view must hold every row");
    let rows_replayed = server
        .handle
        .as_ref()
        .expect("running")
        .adapter
        .metrics()
        .rows_replayed
        .load(Ordering::Relaxed);
    server.stop().await;
    ReplayResult {
        rows,
        log_open,
        restart,
        rows_replayed,
    }
}
