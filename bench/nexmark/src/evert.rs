//! Driving evert: a child process per run, fed Nexmark events by its own load-generator
//! source or by `COPY … FROM STDIN`.
//!
//! Each run starts a fresh server in its own process (this binary's hidden `serve`
//! subcommand, which starts `evert_server` exactly as the `evert` binary does) so that the
//! peak resident memory of that one query can be read from `/proc/<pid>/status` (`VmHWM`)
//! before the process is stopped.
//!
//! A source-fed run ([`Feed::Source`]): run the query's side tables (q13's `side_input`),
//! start the clock, `CREATE SOURCE nexmark FROM LOAD GENERATOR NEXMARK (TICK INTERVAL '0',
//! BATCH SIZE batch, UP TO events) FOR ALL TABLES`, which creates `person`, `auction` and
//! `bid` and starts producing at once, then create the query's view. The events the source
//! committed before the view existed reach the view as its snapshot; the offset read right
//! after the view is created bounds how many (reported as `before_view`). The clock stops
//! when the source has committed its last batch (`nexmark_progress` reads `events`, at
//! query timestamp `T`) and the view's write frontier has passed `T`.
//!
//! A COPY-fed run ([`Feed::Copy`]): create the three tables, create the query's view, then
//! write `events` events in batches of `batch` events (three `COPY` statements per batch,
//! one per relation, each its own commit). Events are generated and formatted by a second
//! thread while the previous batch is being written. The clock stops when the view has
//! caught up with the last write: the last write's timestamp `T` is the query timestamp of
//! a read of `bid` (reads see their own writes), and the view has caught up when its write
//! frontier (from `EXPLAIN TIMESTAMP`) has passed `T`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use evert_connectors::nexmark::{event_row, Generator, NexmarkTable};
use futures::SinkExt;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::{queries, Feed, Workload, DEFAULT_EVENTS_PER_SECOND};

/// One measured run of a query in evert.
#[derive(Clone, Debug)]
pub struct EvertRun {
    pub elapsed: Duration,
    pub peak_rss_mb: f64,
    /// Source-fed runs: the source's offset right after the view was created.
    pub before_view: Option<u64>,
    /// The view's contents after the run, as text, when asked for.
    pub rows: Option<Vec<Vec<String>>>,
}

/// A running evert child process and its data directory (removed on drop).
struct ServerProcess {
    child: Child,
    data_dir: PathBuf,
    pg_addr: String,
}

impl ServerProcess {
    fn start(exe: &Path, workers: usize) -> Result<ServerProcess, String> {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let data_dir = std::env::temp_dir().join(format!(
            "evert-nexmark-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--workers")
            .arg(workers.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("reading the server's address: {e}"))?;
        let pg_addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))?
            .to_string();
        Ok(ServerProcess {
            child,
            data_dir,
            pg_addr,
        })
    }

    /// `VmHWM` (peak resident set) of the server process, in MiB.
    fn peak_rss_mb(&self) -> f64 {
        peak_rss_mb(self.child.id()).unwrap_or(f64::NAN)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin asks the server to shut down; kill it if it takes too long.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// `VmHWM` of a process, in MiB.
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The body of the hidden `serve` subcommand: evert in this process until stdin closes.
pub fn serve(workers: usize, data_dir: PathBuf) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let server = evert_server::start(evert_server::ServerConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            http_listen: None,
            data_dir,
            workers,
            tick: Duration::from_millis(1000),
            log_compaction_interval: None,
            log_compaction_min_bytes: None,
        })
        .await
        .map_err(|e| format!("evert did not start: {e:?}"))?;
        println!("listening {}", server.pg_addr);
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        // Wait for the parent to close stdin (or to exit).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        })
        .await
        .map_err(|e| e.to_string())?;
        server.shutdown().await;
        Ok(())
    })
}

/// Runs `query` in a fresh evert with `workers` dataflow workers over `events` events.
pub fn run(
    exe: &Path,
    query: &str,
    workers: usize,
    workload: &Workload,
    feed: Feed,
    collect_rows: bool,
) -> Result<EvertRun, String> {
    if feed == Feed::Source && workload.events_per_second != DEFAULT_EVENTS_PER_SECOND {
        return Err(format!(
            "the NEXMARK source generates {DEFAULT_EVENTS_PER_SECOND} events per second of \
             event time; use the COPY feed for another rate"
        ));
    }
    let server = ServerProcess::start(exe, workers)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        match feed {
            Feed::Source => drive_source(&server.pg_addr, query, *workload, collect_rows).await,
            Feed::Copy => drive_copy(&server.pg_addr, query, *workload, collect_rows).await,
        }
    });
    let peak_rss_mb = server.peak_rss_mb();
    drop(server);
    let (elapsed, before_view, rows) = result?;
    Ok(EvertRun {
        elapsed,
        peak_rss_mb,
        before_view,
        rows,
    })
}

/// What a drive returns: the time until the view caught up, the source's offset when the
/// view was created (source feed), and the view's rows (when asked for).
type Driven = (Duration, Option<u64>, Option<Vec<Vec<String>>>);

/// A query's SQL split into what must exist before the events flow (q13's side table and
/// its rows) and the view itself, which starts at the first `CREATE MATERIALIZED VIEW`.
fn split_view(sql: &str) -> (&str, &str) {
    let at = sql
        .match_indices("CREATE MATERIALIZED VIEW")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || sql[..i].ends_with('\n'))
        .unwrap_or(0);
    sql.split_at(at)
}

async fn drive_source(
    addr: &str,
    query: &str,
    workload: Workload,
    collect_rows: bool,
) -> Result<Driven, String> {
    let client = connect(addr).await?;
    let sql = queries::sql(query).ok_or_else(|| format!("no query {query}"))?;
    let (prelude, view_sql) = split_view(sql);
    if !prelude.trim().is_empty() {
        client
            .batch_execute(prelude)
            .await
            .map_err(|e| db_error(query, e))?;
    }
    let start = Instant::now();
    client
        .batch_execute(&format!(
            "CREATE SOURCE nexmark FROM LOAD GENERATOR NEXMARK \
             (TICK INTERVAL '0', BATCH SIZE {}, UP TO {}) FOR ALL TABLES",
            workload.batch, workload.events
        ))
        .await
        .map_err(|e| db_error("create source", e))?;
    client
        .batch_execute(view_sql)
        .await
        .map_err(|e| db_error(query, e))?;
    let before_view = source_offset(&client).await?;
    while source_offset(&client).await? < workload.events {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let last_write = query_timestamp(&client, "SELECT * FROM nexmark_progress").await?;
    let elapsed = wait_for_view(&client, query, last_write, start).await?;
    let rows = view_rows(&client, query, collect_rows).await?;
    Ok((elapsed, Some(before_view), rows))
}

/// The offset the NEXMARK source has committed (0 before its first batch).
async fn source_offset(client: &Client) -> Result<u64, String> {
    let rows = select_text(client, "SELECT \"offset\" FROM nexmark_progress").await?;
    match rows.first().and_then(|r| r.first()) {
        None => Ok(0),
        Some(text) => text
            .parse()
            .map_err(|_| format!("unexpected offset {text:?}")),
    }
}

/// Waits until the query's view has absorbed every write up to `last_write`; returns the
/// time since `start`.
async fn wait_for_view(
    client: &Client,
    query: &str,
    last_write: u64,
    start: Instant,
) -> Result<Duration, String> {
    let view = queries::view_name(query);
    loop {
        let frontier = write_frontier(client, &format!("SELECT * FROM {view}")).await?;
        if frontier > last_write {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn view_rows(
    client: &Client,
    query: &str,
    collect_rows: bool,
) -> Result<Option<Vec<Vec<String>>>, String> {
    if !collect_rows {
        return Ok(None);
    }
    let view = queries::view_name(query);
    Ok(Some(
        select_text(client, &format!("SELECT * FROM {view}")).await?,
    ))
}

async fn connect(addr: &str) -> Result<Client, String> {
    let (host, port) = addr.rsplit_once(':').ok_or("bad address")?;
    let config = format!("host={host} port={port} user=evert dbname=materialize");
    let (client, connection) = tokio_postgres::connect(&config, NoTls)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn db_error(context: &str, e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{context}: {} ({})", db.message(), db.code().code()),
        None => format!("{context}: {e}"),
    }
}

/// One batch of events as `COPY` text, per relation.
type CopyBatch = [String; 3];

async fn drive_copy(
    addr: &str,
    query: &str,
    workload: Workload,
    collect_rows: bool,
) -> Result<Driven, String> {
    let client = connect(addr).await?;
    let sql = queries::sql(query).ok_or_else(|| format!("no query {query}"))?;
    client
        .batch_execute(queries::SCHEMA)
        .await
        .map_err(|e| db_error("schema", e))?;
    client
        .batch_execute(sql)
        .await
        .map_err(|e| db_error(query, e))?;

    // Events are generated and formatted on another thread, two batches ahead.
    let (sender, receiver) = mpsc::sync_channel::<CopyBatch>(2);
    let generator = std::thread::spawn(move || {
        let mut generator = Generator::new(&workload.generator_config(0, workload.events));
        loop {
            let mut texts: CopyBatch = Default::default();
            let mut produced = 0;
            while produced < workload.batch {
                let Some(event) = generator.next_event() else {
                    break;
                };
                let (table, row) = event_row(&event);
                append_copy_text(&mut texts[table.index()], &row);
                produced += 1;
            }
            if produced == 0 || sender.send(texts).is_err() {
                break;
            }
        }
    });

    let start = Instant::now();
    let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
    loop {
        let receiver = receiver.clone();
        let next = tokio::task::spawn_blocking(move || receiver.lock().expect("lock").recv())
            .await
            .map_err(|e| e.to_string())?;
        let Ok(texts) = next else { break };
        for table in NexmarkTable::ALL {
            let text = &texts[table.index()];
            if text.is_empty() {
                continue;
            }
            let statement = format!("COPY {} FROM STDIN", table.name());
            let sink = client
                .copy_in::<_, Bytes>(statement.as_str())
                .await
                .map_err(|e| db_error("copy", e))?;
            futures::pin_mut!(sink);
            sink.send(Bytes::copy_from_slice(text.as_bytes()))
                .await
                .map_err(|e| db_error("copy data", e))?;
            sink.finish().await.map_err(|e| db_error("copy end", e))?;
        }
    }
    generator.join().map_err(|_| "the generator panicked")?;

    let last_write = query_timestamp(&client, "SELECT * FROM bid").await?;
    let elapsed = wait_for_view(&client, query, last_write, start).await?;
    let rows = view_rows(&client, query, collect_rows).await?;
    Ok((elapsed, None, rows))
}

/// Appends a row in `COPY`'s text format (tab-separated, `\N` for NULL, backslash escapes).
fn append_copy_text(out: &mut String, row: &evert_repr::Row) {
    use std::fmt::Write as _;
    let mut first = true;
    for datum in row.iter() {
        if !first {
            out.push('\t');
        }
        first = false;
        if datum.is_null() {
            out.push_str("\\N");
            continue;
        }
        let start = out.len();
        let _ = write!(out, "{datum}");
        if out[start..].contains(['\\', '\t', '\n', '\r']) {
            let text: String = out.split_off(start);
            for c in text.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
    out.push('\n');
}

async fn explain_timestamp(client: &Client, select: &str) -> Result<String, String> {
    let rows = select_text(client, &format!("EXPLAIN TIMESTAMP FOR {select}")).await?;
    Ok(rows.into_iter().flatten().collect::<Vec<_>>().join("\n"))
}

fn number_after(text: &str, label: &str) -> Result<u64, String> {
    let at = text
        .find(label)
        .ok_or_else(|| format!("no {label:?} in {text:?}"))?;
    let digits: String = text[at + label.len()..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits
        .parse()
        .map_err(|_| format!("no number after {label:?} in {text:?}"))
}

async fn query_timestamp(client: &Client, select: &str) -> Result<u64, String> {
    number_after(
        &explain_timestamp(client, select).await?,
        "query timestamp:",
    )
}

async fn write_frontier(client: &Client, select: &str) -> Result<u64, String> {
    number_after(&explain_timestamp(client, select).await?, "write frontier:")
}

/// Runs a query with the simple protocol and returns its rows as text (`NULL` for NULL).
pub async fn select_text(client: &Client, sql: &str) -> Result<Vec<Vec<String>>, String> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| db_error(sql, e))?;
    let mut rows = Vec::new();
    for message in messages {
        if let SimpleQueryMessage::Row(row) = message {
            rows.push(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or("NULL").to_string())
                    .collect(),
            );
        }
    }
    Ok(rows)
}
