//! # Write-to-subscriber latency
//!
//! Starts evert in this process, loads a fact table of `rows` rows and a small dimension
//! table, and maintains a join + aggregate materialized view over them:
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
//!
//! ## The PostgreSQL baseline
//!
//! The same tables, data and view in PostgreSQL, the view as a `MATERIALIZED VIEW`. The
//! same writer inserts the same rows at the same rate; a second connection runs
//! `REFRESH MATERIALIZED VIEW totals` in a loop, each refresh covering every write
//! acknowledged before it started (an update batch). A write's latency is the time from
//! its acknowledgement to the end of the first refresh that started after it: the moment
//! a reader could first see it. (PostgreSQL cannot push changes, so this favours it: a
//! real client would also have to poll.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use evert_bench_common::{db, ms, Csv, Evert, Latencies, Postgres};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_postgres::Client;
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

/// evert's side of a run.
#[derive(Clone, Debug)]
pub struct Report {
    pub load: Duration,
    pub view: Duration,
    pub writes: usize,
    pub write_duration: Duration,
    pub pgwire: Latencies,
    pub websocket: Latencies,
}

/// PostgreSQL's side of a run.
#[derive(Clone, Debug)]
pub struct PostgresReport {
    pub load: Duration,
    pub view: Duration,
    pub writes: usize,
    pub refreshes: usize,
    /// Mean duration of one `REFRESH MATERIALIZED VIEW`.
    pub mean_refresh: Duration,
    pub latencies: Latencies,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "evert: load {:.1?}; view created in {:.1?}; {} single-row writes in {:.1?}",
            self.load, self.view, self.writes, self.write_duration
        )?;
        writeln!(f, "  pgwire SUBSCRIBE:    {}", self.pgwire.summary())?;
        writeln!(f, "  WebSocket SUBSCRIBE: {}", self.websocket.summary())
    }
}

impl std::fmt::Display for PostgresReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "PostgreSQL: load {:.1?}; view created in {:.1?}; {} writes, {} refreshes of {:.1} ms on average",
            self.load,
            self.view,
            self.writes,
            self.refreshes,
            ms(self.mean_refresh)
        )?;
        writeln!(
            f,
            "  REFRESH MATERIALIZED VIEW: {}",
            self.latencies.summary()
        )
    }
}

/// The rows of `bench/results/latency.csv`.
pub fn csv(config: &Config, evert: &Report, postgres: Option<&PostgresReport>) -> Csv {
    let mut csv = Csv::new(&[
        "rows", "system", "writes", "load_s", "view_s", "p50_ms", "p99_ms", "max_ms",
    ]);
    let mut push = |system: &str, load: Duration, view: Duration, l: &Latencies| {
        csv.push(vec![
            config.rows.to_string(),
            system.to_string(),
            l.len().to_string(),
            format!("{:.3}", load.as_secs_f64()),
            format!("{:.3}", view.as_secs_f64()),
            format!("{:.3}", ms(l.percentile(50.0))),
            format!("{:.3}", ms(l.percentile(99.0))),
            format!("{:.3}", ms(l.max())),
        ])
    };
    push("evert-pgwire", evert.load, evert.view, &evert.pgwire);
    push("evert-websocket", evert.load, evert.view, &evert.websocket);
    if let Some(p) = postgres {
        push("postgres-refresh", p.load, p.view, &p.latencies);
    }
    csv
}

/// Runs evert's side against a fresh in-process server.
pub async fn run(config: &Config) -> Result<Report, String> {
    let server = Evert::start(config.workers).await?;
    let result = measure(config, &server).await;
    server.stop().await;
    result
}

/// The tables and the view, in SQL both systems accept.
const SCHEMA: &str = "CREATE TABLE dims (grp int, region text); \
                      CREATE TABLE facts (id bigint, grp int, amount int);";
const VIEW: &str = "CREATE MATERIALIZED VIEW totals AS \
                    SELECT d.region, count(*) AS n, sum(f.amount) AS total \
                    FROM facts f JOIN dims d ON f.grp = d.grp GROUP BY d.region";

/// Loads both tables, in chunks so that no statement holds every row at once.
async fn load(client: &Client, config: &Config) -> Result<Duration, String> {
    let started = Instant::now();
    client
        .batch_execute(&format!(
            "INSERT INTO dims SELECT g, 'region ' || (g % {regions}) FROM generate_series(0, {last_group}) AS g",
            regions = config.regions,
            last_group = config.groups - 1,
        ))
        .await
        .map_err(db)?;
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
    Ok(started.elapsed())
}

/// The k-th write: the same rows in both systems.
fn write_params(config: &Config, k: i64) -> (i64, i32, i32) {
    (
        config.rows as i64 + 1 + k,
        (k % config.groups as i64) as i32,
        1,
    )
}

async fn measure(config: &Config, server: &Evert) -> Result<Report, String> {
    let client = server.connect().await?;
    client.batch_execute(SCHEMA).await.map_err(db)?;
    let load = load(&client, config).await?;
    let started = Instant::now();
    client.batch_execute(VIEW).await.map_err(db)?;
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
    let pg_reader = server.connect().await?;
    let pg_stream = pg_reader
        .copy_out("COPY (SUBSCRIBE totals WITH (SNAPSHOT = false)) TO STDOUT")
        .await
        .map_err(db)?;
    let pg_task = tokio::spawn(follow_pgwire(Box::pin(pg_stream), pg_tx));
    let http_addr = server.http_addr().ok_or("no HTTP listener")?;
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

    let started = Instant::now();
    let acknowledged = write_steadily(&client, config, None).await?;
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

/// The writer: one row at a time at a steady rate, each waiting for its acknowledgement.
/// Returns the acknowledgement instants; also appends them to `shared` as they happen.
async fn write_steadily(
    client: &Client,
    config: &Config,
    shared: Option<&Mutex<Vec<Instant>>>,
) -> Result<Vec<Instant>, String> {
    let insert = client
        .prepare("INSERT INTO facts VALUES ($1, $2, $3)")
        .await
        .map_err(db)?;
    let mut acknowledged = Vec::with_capacity(config.writes as usize);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / config.rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for k in 0..config.writes as i64 {
        ticker.tick().await;
        let (id, grp, amount) = write_params(config, k);
        client
            .execute(&insert, &[&id, &grp, &amount])
            .await
            .map_err(db)?;
        let at = Instant::now();
        acknowledged.push(at);
        if let Some(shared) = shared {
            shared.lock().expect("acks").push(at);
        }
    }
    Ok(acknowledged)
}

/// Runs PostgreSQL's side: the same tables, data, view and writes, with the view refreshed
/// in a loop (see the crate docs). Leaves no tables behind in the server.
pub async fn run_postgres(config: &Config, pg: &Postgres) -> Result<PostgresReport, String> {
    let client = pg.connect().await?;
    let cleanup = "DROP MATERIALIZED VIEW IF EXISTS totals; DROP TABLE IF EXISTS facts; DROP TABLE IF EXISTS dims;";
    client.batch_execute(cleanup).await.map_err(db)?;
    let result = measure_postgres(config, pg, &client).await;
    client.batch_execute(cleanup).await.map_err(db)?;
    result
}

async fn measure_postgres(
    config: &Config,
    pg: &Postgres,
    client: &Client,
) -> Result<PostgresReport, String> {
    client.batch_execute(SCHEMA).await.map_err(db)?;
    let load = load(client, config).await?;
    client.batch_execute("ANALYZE").await.map_err(db)?;
    let started = Instant::now();
    client.batch_execute(VIEW).await.map_err(db)?;
    let view = started.elapsed();

    let acks: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let refresher = pg.connect().await?;
    let writes = config.writes as usize;
    let refresh_acks = Arc::clone(&acks);
    // Each refresh covers the writes acknowledged before it started.
    let refresh_task = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(writes);
        let mut refreshes = 0usize;
        let mut refresh_time = Duration::ZERO;
        let deadline = Instant::now() + Duration::from_secs(3600);
        while latencies.len() < writes && Instant::now() < deadline {
            let covered: Vec<Instant> = {
                let acks = refresh_acks.lock().expect("acks");
                acks[latencies.len()..].to_vec()
            };
            if covered.is_empty() {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            let started = Instant::now();
            refresher
                .batch_execute("REFRESH MATERIALIZED VIEW totals")
                .await
                .map_err(db)?;
            let done = Instant::now();
            refreshes += 1;
            refresh_time += done - started;
            latencies.extend(covered.iter().map(|ack| done - *ack));
        }
        Ok::<_, String>((latencies, refreshes, refresh_time))
    });
    write_steadily(client, config, Some(&acks)).await?;
    let (latencies, refreshes, refresh_time) = refresh_task
        .await
        .map_err(|e| format!("refresher: {e}"))??;
    if latencies.len() != writes {
        return Err(format!(
            "PostgreSQL: {} of {writes} writes refreshed",
            latencies.len()
        ));
    }
    // The view holds every write.
    let n: i64 = client
        .query_one("SELECT sum(n)::bigint FROM totals", &[])
        .await
        .map_err(db)?
        .get(0);
    if n as u64 != config.rows + writes as u64 {
        return Err(format!("PostgreSQL's view counts {n} rows"));
    }
    Ok(PostgresReport {
        load,
        view,
        writes,
        refreshes,
        mean_refresh: refresh_time / refreshes.max(1) as u32,
        latencies: Latencies::new(latencies),
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
    Ok(Latencies::new(
        first_seen
            .values()
            .zip(acknowledged)
            .map(|(arrived, acked)| arrived.saturating_duration_since(*acked))
            .collect(),
    ))
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
