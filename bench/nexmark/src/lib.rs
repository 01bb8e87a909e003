//! # The Nexmark benchmark
//!
//! Nexmark's 23 queries (q0–q22, from the corpus in RisingWave's PostgreSQL dialect, adapted
//! to evert's where needed: `bench/nexmark/README.md` lists every change) run as evert
//! materialized views over the `person`, `auction` and `bid` relations, fed by the Nexmark
//! event generator of `evert_connectors::nexmark` — inside the server, through
//! `CREATE SOURCE … FROM LOAD GENERATOR NEXMARK` ([`Feed::Source`]), or from this process by
//! `COPY` ([`Feed::Copy`]). For each query and each worker count the benchmark measures
//! sustained throughput — a fixed number of events, produced as fast as evert absorbs them,
//! divided by the time until the view has caught up with the last one — and the server's
//! peak resident memory.
//!
//! Eight queries (q0–q5, q7, q8) also have hand-written timely/differential programs
//! ([`handwritten`]) fed by the same generator: their throughput is the ceiling, and
//! evert's as a fraction of it is what the SQL layer (and the database around it: the
//! durable log, row encoding, and with the COPY feed the wire protocol) costs.
//!
//! ```text
//!  evert (child process): NEXMARK source ─▶ log ─▶ tables ─▶ view   (EXPLAIN TIMESTAMP: caught up?)
//!  Generator ──rows──▶ COPY … FROM STDIN ──▶ evert (child process)    (--feed copy)
//!  Generator ──events──▶ hand-written dataflow (child process) ─▶ arranged result (probe)
//! ```
//!
//! Every run is its own child process (this binary's hidden `serve` and `handwritten`
//! subcommands) so that its peak memory (`VmHWM`) is that run's alone.

pub mod evert;
pub mod handwritten;
pub mod queries;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use evert_connectors::nexmark::NexmarkConfig;
pub use evert_connectors::nexmark::DEFAULT_EVENTS_PER_SECOND;

/// The events of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Events per run.
    pub events: u64,
    /// Events per write (per `COPY` round in evert, per timestamp in the baselines).
    pub batch: u64,
    /// The generator's event-time rate (events per second of `date_time`): with the
    /// default 10,000, a million events span 100 s of event time, ten 10 s windows.
    pub events_per_second: u64,
}

impl Workload {
    /// The generator configuration both evert and the baselines read.
    pub fn generator_config(&self, first_event: u64, event_count: u64) -> NexmarkConfig {
        NexmarkConfig {
            first_event,
            event_count: Some(event_count),
            events_per_second: self.events_per_second,
            ..Default::default()
        }
    }
}

/// How the events reach evert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// `CREATE SOURCE nexmark FROM LOAD GENERATOR NEXMARK (TICK INTERVAL '0', BATCH SIZE b,
    /// UP TO n) FOR ALL TABLES`: the server generates the events itself, as fast as the
    /// dataflow absorbs them, and commits each batch to its log (the source runs at the
    /// generator's default event-time rate only).
    Source,
    /// `COPY … FROM STDIN` of the generator's rows, written by this process over pgwire.
    Copy,
}

impl Feed {
    pub fn parse(text: &str) -> Result<Feed, String> {
        match text {
            "source" => Ok(Feed::Source),
            "copy" => Ok(Feed::Copy),
            _ => Err(format!("unknown feed {text:?} (expected source or copy)")),
        }
    }

    /// The `system` column of the CSV.
    pub fn system(self) -> &'static str {
        match self {
            Feed::Source => "evert",
            Feed::Copy => "evert-copy",
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Query names (`q0` … `q22`).
    pub queries: Vec<String>,
    /// Worker counts to run each query with.
    pub workers: Vec<usize>,
    pub workload: Workload,
    /// How evert is fed.
    pub feed: Feed,
    /// Whether to run the hand-written baselines (for the queries that have one).
    pub handwritten: bool,
}

impl Config {
    /// A run of every query that takes seconds, for `cargo test`.
    pub fn smoke() -> Config {
        Config {
            queries: queries::QUERIES
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            workers: vec![1, 2],
            workload: Workload {
                events: 2_000,
                batch: 1_000,
                events_per_second: DEFAULT_EVENTS_PER_SECOND,
            },
            feed: Feed::Source,
            handwritten: true,
        }
    }
}

/// One row of `bench/results/nexmark.csv`.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub query: String,
    /// `evert` (fed by the source), `evert-copy` (fed by COPY) or `handwritten`.
    pub system: &'static str,
    pub workers: usize,
    pub events: u64,
    pub seconds: f64,
    pub peak_rss_mb: f64,
    /// Source-fed runs: at most this many events were in the log before the view was
    /// installed, and reached it as its initial snapshot rather than incrementally.
    pub before_view: Option<u64>,
}

impl Measurement {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

/// Runs every configured query and baseline; `exe` is this benchmark's binary (its hidden
/// subcommands start the child processes). `progress` sees each measurement as it is made.
pub fn run(
    config: &Config,
    exe: &Path,
    mut progress: impl FnMut(&Measurement),
) -> Result<Vec<Measurement>, String> {
    let mut measurements = Vec::new();
    for query in &config.queries {
        for &workers in &config.workers {
            let run = evert::run(exe, query, workers, &config.workload, config.feed, false)
                .map_err(|e| format!("{query} in evert with {workers} workers: {e}"))?;
            let m = Measurement {
                query: query.clone(),
                system: config.feed.system(),
                workers,
                events: config.workload.events,
                seconds: run.elapsed.as_secs_f64(),
                peak_rss_mb: run.peak_rss_mb,
                before_view: run.before_view,
            };
            progress(&m);
            measurements.push(m);
            if config.handwritten && queries::HANDWRITTEN.contains(&query.as_str()) {
                let m = run_handwritten_child(exe, query, workers, &config.workload)
                    .map_err(|e| format!("{query} hand-written with {workers} workers: {e}"))?;
                progress(&m);
                measurements.push(m);
            }
        }
    }
    Ok(measurements)
}

/// Runs a baseline in a child process (`<exe> handwritten …`), which prints
/// `seconds peak_rss_mb` as its last line.
fn run_handwritten_child(
    exe: &Path,
    query: &str,
    workers: usize,
    workload: &Workload,
) -> Result<Measurement, String> {
    let output = Command::new(exe)
        .args(["handwritten", "--query", query])
        .args(["--workers", &workers.to_string()])
        .args(["--events", &workload.events.to_string()])
        .args(["--batch", &workload.batch.to_string()])
        .args([
            "--events-per-second",
            &workload.events_per_second.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "exit {}: {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let last = stdout.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace().map(str::parse::<f64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(seconds)), Some(Ok(peak_rss_mb))) => Ok(Measurement {
            query: query.to_string(),
            system: "handwritten",
            workers,
            events: workload.events,
            seconds,
            peak_rss_mb,
            before_view: None,
        }),
        _ => Err(format!("unexpected output: {stdout:?}")),
    }
}

/// The CSV the plots read:
/// `query,system,workers,events,seconds,events_per_s,peak_rss_mb,before_view`.
pub fn csv(measurements: &[Measurement]) -> String {
    let mut out =
        String::from("query,system,workers,events,seconds,events_per_s,peak_rss_mb,before_view\n");
    for m in measurements {
        let _ = writeln!(
            out,
            "{},{},{},{},{:.3},{:.0},{:.1},{}",
            m.query,
            m.system,
            m.workers,
            m.events,
            m.seconds,
            m.events_per_second(),
            m.peak_rss_mb,
            m.before_view.map(|n| n.to_string()).unwrap_or_default()
        );
    }
    out
}

/// A table for people: per query and worker count, evert's and the baseline's throughput,
/// their ratio, and peak memory.
pub fn table(measurements: &[Measurement]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| query | workers | evert events/s | evert peak MiB | hand-written events/s | hand-written peak MiB | evert / hand-written |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for m in measurements.iter().filter(|m| m.system != "handwritten") {
        let baseline = measurements
            .iter()
            .find(|b| b.system == "handwritten" && b.query == m.query && b.workers == m.workers);
        let (hw_rate, hw_mem, ratio) = match baseline {
            Some(b) => (
                format!("{:.0}", b.events_per_second()),
                format!("{:.0}", b.peak_rss_mb),
                format!("{:.3}", m.events_per_second() / b.events_per_second()),
            ),
            None => ("".into(), "".into(), "".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {hw_rate} | {hw_mem} | {ratio} |",
            m.query,
            m.workers,
            m.events_per_second(),
            m.peak_rss_mb
        );
    }
    out
}

/// Where the CSV goes: `bench/results/nexmark.csv` in the workspace.
pub fn default_csv_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/nexmark.csv")
}
