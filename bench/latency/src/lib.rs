//! # Write-to-subscriber latency
//!
//! Starts evert in this process (as the tests do), loads a fact table of `rows` rows and a
//! small dimension table, and maintains a join + aggregate materialized view over them:
//!
//! ```sql
//! CREATE MATERIALIZED VIEW totals AS
//!     SELECT d.region, count(*) AS n, sum(f.amount) AS total
//!     FROM facts f JOIN dims d ON f.grp = d.grp GROUP BY d.region
//! ```
//!
//! Two subscribers follow the view without its snapshot — one over pgwire
//! (`COPY (SUBSCRIBE totals WITH (SNAPSHOT = false)) TO STDOUT`), one over WebSocket
//! (`/api/ws`) — while one client inserts single rows into `facts` at a steady rate, each
//! waiting for its acknowledgement. Every write changes one region's aggregate, so it
//! reaches each subscriber as the changes at one new timestamp. Writes are sequential and
//! nothing else writes, so the k-th timestamp a subscriber sees belongs to the k-th write.
//! Latency is the time from the write's acknowledgement (`INSERT` returned to the writer)
//! to the first change of that timestamp arriving at the subscriber; a change that arrives
//! before the writer has seen its acknowledgement counts as zero.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_postgres::NoTls;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Debug)]
pub struct Config {
    /// Rows in the fact table.
    pub rows: u64,
    /// Rows in the dimension table (the join's other side).
    pub groups: u64,
    /// Regions: the view's groups.
    pub regions: u64,
    /// Single-row writes per second.
    pub rate: u32,
    /// How many writes to measure.
    pub writes: u32,
    /// Dataflow worker threads.
    pub workers: usize,
}

impl Config {
    /// A run that takes a few seconds, for `cargo test`.
    pub fn smoke() -> Config {
        Config {
            rows: 2_000,
            groups: 100,
            regions: 10,
            rate: 50,
            writes: 40,
            workers: 2,
        }
    }
}

/// Latencies of one subscriber, sorted.
#[derive(Clone, Debug)]
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    pub fn percentile(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub load: Duration,
    pub view: Duration,
    pub writes: usize,
    pub write_duration: Duration,
    pub pgwire: Latencies,
    pub websocket: Latencies,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "load: {:.1?}; view created in {:.1?}",
            self.load, self.view
        )?;
        writeln!(
            f,
            "{} single-row writes in {:.1?}",
            self.writes, self.write_duration
        )?;
        for (name, l) in [("pgwire", &self.pgwire), ("websocket", &self.websocket)] {
            writeln!(
                f,
                "{name:>9}: n={} p50={:.2?} p99={:.2?} max={:.2?}",
                l.0.len(),
                l.percentile(50.0),
                l.percentile(99.0),
                l.max()
            )?;
        }
        Ok(())
    }
}

/// Runs the benchmark against a fresh server in a temporary data directory.
pub async fn run(config: &Config) -> Result<Report, String> {
    let dir = TempDir::new();
    let result = run_in(config, dir.0.join("data")).await;
    drop(dir);
    result
}

async fn run_in(config: &Config, data_dir: PathBuf) -> Result<Report, String> {
    let server = evert_server::start(evert_server::ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        http_listen: Some("127.0.0.1:0".parse().expect("address")),
        data_dir,
        workers: config.workers,
        tick: Duration::from_millis(1000),
        log_compaction_interval: None,
        log_compaction_min_bytes: None,
    })
    .await
    .map_err(|e| format!("evert did not start: {e:?}"))?;
    let pg_addr = server.pg_addr;
    let http_addr = server.http_addr.ok_or("no HTTP listener")?;
    let result = measure(config, pg_addr, http_addr).await;
    server.shutdown().await;
    result
}

async fn connect(addr: SocketAddr) -> Result<tokio_postgres::Client, String> {
    let config = format!(
        "host={} port={} user=evert dbname=materialize",
        addr.ip(),
        addr.port()
    );
    let (client, connection) = tokio_postgres::connect(&config, NoTls)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn db(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.code().code(), d.message()),
        None => e.to_string(),
    }
}

async fn measure(
    config: &Config,
    pg_addr: SocketAddr,
    http_addr: SocketAddr,
) -> Result<Report, String> {
    let client = connect(pg_addr).await?;
    client
        .batch_execute(
            "CREATE TABLE dims (grp int, region text); \
             CREATE TABLE facts (id bigint, grp int, amount int);",
        )
        .await
        .map_err(db)?;
    let started = Instant::now();
    client
        .batch_execute(&format!(
            "INSERT INTO dims SELECT g, 'region ' || (g % {regions}) FROM generate_series(0, {last_group}) AS g",
            regions = config.regions,
            last_group = config.groups - 1,
        ))
        .await
        .map_err(db)?;
    // In chunks, so no single statement holds every row at once.
    const CHUNK: u64 = 100_000;
    let mut next = 1;
    while next <= config.rows {
        let last = (next + CHUNK - 1).min(config.rows);
        client
            .batch_execute(&format!(
                "INSERT INTO facts SELECT g, (g % {groups})::int, (g % 97)::int FROM generate_series({next}::bigint, {last}::bigint) AS g",
                groups = config.groups,
            ))
            .await
            .map_err(db)?;
        next = last + 1;
    }
    let load = started.elapsed();
    let started = Instant::now();
    client
        .batch_execute(
            "CREATE MATERIALIZED VIEW totals AS \
             SELECT d.region, count(*) AS n, sum(f.amount) AS total \
             FROM facts f JOIN dims d ON f.grp = d.grp GROUP BY d.region",
        )
        .await
        .map_err(db)?;
    // The view is hydrated once a read of it returns.
    let regions: i64 = client
        .query_one("SELECT count(*) FROM totals", &[])
        .await
        .map_err(db)?
        .get(0);
    if regions as u64 != config.regions.min(config.groups) {
        return Err(format!("the view has {regions} regions"));
    }
    let view = started.elapsed();

    // The subscribers report (timestamp, arrival) for each new timestamp they see.
    let (pg_tx, pg_rx) = mpsc::unbounded_channel();
    let (ws_tx, ws_rx) = mpsc::unbounded_channel();
    let pg_reader = connect(pg_addr).await?;
    let pg_stream = pg_reader
        .copy_out("COPY (SUBSCRIBE totals WITH (SNAPSHOT = false)) TO STDOUT")
        .await
        .map_err(db)?;
    let pg_task = tokio::spawn(follow_pgwire(Box::pin(pg_stream), pg_tx));
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{http_addr}/api/ws"))
        .await
        .map_err(|e| format!("WebSocket: {e}"))?;
    ws.send(Message::Text(
        r#"{"subscribe": "totals", "snapshot": false}"#.into(),
    ))
    .await
    .map_err(|e| format!("WebSocket: {e}"))?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("columns") => {}
        other => return Err(format!("WebSocket: expected the columns, got {other:?}")),
    }
    let ws_task = tokio::spawn(follow_websocket(ws, ws_tx));

    // The writer: one row at a time, at a steady rate.
    let insert = client
        .prepare("INSERT INTO facts VALUES ($1, $2, $3)")
        .await
        .map_err(db)?;
    let mut acknowledged = Vec::with_capacity(config.writes as usize);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / config.rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    for k in 0..config.writes as i64 {
        ticker.tick().await;
        let id = config.rows as i64 + 1 + k;
        let grp = (k % config.groups as i64) as i32;
        client
            .execute(&insert, &[&id, &grp, &1i32])
            .await
            .map_err(db)?;
        acknowledged.push(Instant::now());
    }
    let write_duration = started.elapsed();

    let pgwire = collect(pg_rx, &acknowledged, "pgwire").await?;
    let websocket = collect(ws_rx, &acknowledged, "websocket").await?;
    pg_task.abort();
    ws_task.abort();
    Ok(Report {
        load,
        view,
        writes: acknowledged.len(),
        write_duration,
        pgwire,
        websocket,
    })
}

/// Pairs the k-th new timestamp with the k-th write; waits up to 30 s for the last ones.
async fn collect(
    mut arrivals: mpsc::UnboundedReceiver<(u64, Instant)>,
    acknowledged: &[Instant],
    name: &str,
) -> Result<Latencies, String> {
    let mut first_seen: BTreeMap<u64, Instant> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while first_seen.len() < acknowledged.len() {
        match tokio::time::timeout_at(deadline.into(), arrivals.recv()).await {
            Ok(Some((timestamp, at))) => {
                first_seen.entry(timestamp).or_insert(at);
            }
            Ok(None) => return Err(format!("{name}: the subscription ended")),
            Err(_) => {
                return Err(format!(
                    "{name}: only {} of {} writes arrived",
                    first_seen.len(),
                    acknowledged.len()
                ))
            }
        }
    }
    if first_seen.len() != acknowledged.len() {
        return Err(format!("{name}: more timestamps than writes"));
    }
    let mut latencies: Vec<Duration> = first_seen
        .values()
        .zip(acknowledged)
        .map(|(arrived, acked)| arrived.saturating_duration_since(*acked))
        .collect();
    latencies.sort();
    Ok(Latencies(latencies))
}

async fn follow_pgwire(
    mut stream: std::pin::Pin<Box<tokio_postgres::CopyOutStream>>,
    arrivals: mpsc::UnboundedSender<(u64, Instant)>,
) {
    while let Some(Ok(chunk)) = stream.next().await {
        let at = Instant::now();
        for line in String::from_utf8_lossy(&chunk).lines() {
            if let Some(Ok(timestamp)) = line.split('\t').next().map(str::parse::<u64>) {
                let _ = arrivals.send((timestamp, at));
            }
        }
    }
}

async fn follow_websocket<S>(mut ws: S, arrivals: mpsc::UnboundedSender<(u64, Instant)>)
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(Ok(message)) = ws.next().await {
        let at = Instant::now();
        if let Message::Text(text) = message {
            let value: serde_json::Value = match serde_json::from_str(text.as_str()) {
                Ok(v) => v,
                Err(_) => continue,
            };
            if let Some(Ok(timestamp)) = value["timestamp"].as_str().map(str::parse::<u64>) {
                let _ = arrivals.send((timestamp, at));
            }
        }
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("evert-bench-{}-{nanos}", std::process::id()));
        let _ = std::fs::create_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
