//! # What evert's benchmarks share
//!
//! - [`Evert`]: an evert server started in this process with the `evert` binary's defaults
//!   (1 s tick, default log compaction) in a fresh data directory;
//! - [`Postgres`]: the baseline, either a server given by a connection string (`--pg`) or a
//!   throwaway PostgreSQL 15 started for the run with its default durability settings
//!   (the oracle's [`PgServer`], so a smoke test exercises the baseline too);
//! - [`Latencies`]: sorted samples and their percentiles;
//! - [`Csv`]: a result table written under `bench/results/`, which `bench/plot.py` draws.
//!
//! Every benchmark reports evert next to PostgreSQL measured by the same program in the
//! same run; see docs/benchmarks.md.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use evert_sqllogictest::pgserver::{PgServer, DEFAULT_BIN_DIR};
pub use evert_sqllogictest::TempDir;
use tokio_postgres::{Client, NoTls};

/// An evert server running in this process.
pub struct Evert {
    handle: Option<evert_server::ServerHandle>,
    _dir: TempDir,
}

impl Evert {
    /// Starts a server with `workers` dataflow workers and the binary's defaults otherwise.
    pub async fn start(workers: usize) -> Result<Evert, String> {
        let dir = TempDir::new("evert-bench");
        let handle = evert_server::start(evert_server::ServerConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            http_listen: Some("127.0.0.1:0".parse().expect("address")),
            data_dir: dir.0.join("data"),
            workers,
            tick: Duration::from_millis(1000),
            log_compaction_interval: None,
            log_compaction_min_bytes: None,
        })
        .await
        .map_err(|e| format!("evert did not start: {e:?}"))?;
        Ok(Evert {
            handle: Some(handle),
            _dir: dir,
        })
    }

    pub fn handle(&self) -> &evert_server::ServerHandle {
        self.handle.as_ref().expect("running")
    }

    pub fn pg_addr(&self) -> SocketAddr {
        self.handle().pg_addr
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.handle().http_addr
    }

    /// A `tokio-postgres` connection string for this server.
    pub fn conninfo(&self) -> String {
        let addr = self.pg_addr();
        format!(
            "host={} port={} user=evert dbname=materialize",
            addr.ip(),
            addr.port()
        )
    }

    pub async fn connect(&self) -> Result<Client, String> {
        connect(&self.conninfo()).await
    }

    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

/// The PostgreSQL baseline of a run.
pub enum Postgres {
    /// A server the caller named (e.g. `host=/tmp/pgref port=5499 user=postgres`).
    External(String),
    /// A server started for this run, stopped when dropped.
    Throwaway(PgServer),
}

impl Postgres {
    /// The server `conninfo` names, or else a throwaway PostgreSQL 15 when its binaries are
    /// installed (`/usr/lib/postgresql/15/bin`, as CI installs them), or else `None`.
    pub fn open(conninfo: Option<&str>) -> Result<Option<Postgres>, String> {
        if let Some(c) = conninfo {
            return Ok(Some(Postgres::External(c.to_string())));
        }
        let bin = Path::new(DEFAULT_BIN_DIR);
        if !PgServer::available(bin) {
            return Ok(None);
        }
        PgServer::start_with(bin, true).map(|s| Some(Postgres::Throwaway(s)))
    }

    pub fn conninfo(&self) -> String {
        match self {
            Postgres::External(c) => c.clone(),
            Postgres::Throwaway(s) => s.connection_string("postgres"),
        }
    }

    pub async fn connect(&self) -> Result<Client, String> {
        connect(&self.conninfo()).await
    }

    /// `SELECT version()`, for the record.
    pub async fn version(&self) -> Result<String, String> {
        let client = self.connect().await?;
        let row = client
            .query_one("SELECT version()", &[])
            .await
            .map_err(db)?;
        Ok(row.get(0))
    }
}

/// Connects a `tokio-postgres` client (to evert or PostgreSQL) and drives its connection.
pub async fn connect(conninfo: &str) -> Result<Client, String> {
    let (client, connection) = tokio_postgres::connect(conninfo, NoTls)
        .await
        .map_err(|e| format!("connect ({conninfo}): {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A database error with its SQLSTATE (`tokio_postgres::Error` displays as "db error").
pub fn db(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.code().code(), d.message()),
        None => e.to_string(),
    }
}

/// Latency samples, sorted.
#[derive(Clone, Debug, Default)]
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Latencies {
        samples.sort();
        Latencies(samples)
    }

    /// The nearest-rank percentile (`p` in 0..=100).
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

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `p50=… p99=… max=…` in milliseconds.
    pub fn summary(&self) -> String {
        format!(
            "n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
            self.len(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.max())
        )
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A table of results, written as CSV (values are numbers or plain words; none is quoted).
pub struct Csv {
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn new(columns: &[&'static str]) -> Csv {
        Csv {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "a CSV row of the wrong width"
        );
        assert!(
            row.iter().all(|v| !v.contains([',', '"', '\n'])),
            "CSV values are not quoted: {row:?}"
        );
        self.rows.push(row);
    }

    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    pub fn to_text(&self) -> String {
        let mut out = self.columns.join(",");
        out.push('\n');
        for row in &self.rows {
            let _ = writeln!(out, "{}", row.join(","));
        }
        out
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, self.to_text()).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// `bench/results/<name>.csv` in this workspace: where `bench/plot.py` looks.
pub fn default_csv_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("results")
        .join(format!("{name}.csv"))
}

/// Where a benchmark writes its CSV: `--csv PATH` if given; else `bench/results/<name>.csv`
/// for a real run; nowhere for a smoke run (which must not overwrite real results).
pub fn csv_path(explicit: Option<PathBuf>, name: &str, smoke: bool) -> Option<PathBuf> {
    explicit.or_else(|| (!smoke).then(|| default_csv_path(name)))
}

/// A deterministic pseudo-random sequence (SplitMix64), so every system gets the same keys.
pub struct Keys(u64);

impl Keys {
    pub fn new(seed: u64) -> Keys {
        Keys(seed)
    }

    /// The next value in `0..bound`.
    pub fn next_below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        z % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latencies::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(l.percentile(50.0), Duration::from_millis(50));
        assert_eq!(l.percentile(99.0), Duration::from_millis(99));
        assert_eq!(l.max(), Duration::from_millis(100));
        assert_eq!(Latencies::default().percentile(50.0), Duration::ZERO);
    }

    #[test]
    fn csv_text_has_a_header_and_rows() {
        let mut csv = Csv::new(&["system", "value"]);
        csv.push(vec!["evert".into(), "1.5".into()]);
        assert_eq!(csv.to_text(), "system,value\nevert,1.5\n");
    }

    #[test]
    fn keys_stay_below_their_bound() {
        let mut k = Keys::new(7);
        assert!((0..1000).all(|_| k.next_below(10) < 10));
    }
}
