//! Ingest: rows/s into a table that feeds three materialized views ([`data::VIEWS`]).
//!
//! Two methods, each from one client: `COPY events FROM STDIN` (text format, `chunk` rows
//! per COPY statement) and multi-row `INSERT INTO events VALUES …` (`batch` rows per
//! statement). For evert, two rates: *acknowledged* (the last statement returned, so every
//! row is durable) and *visible* (a read of every view reflects every row, i.e. the views
//! have caught up). PostgreSQL loads the same rows into the same table, which has no views
//! to maintain (a PostgreSQL materialized view is not maintained on write).

use std::time::{Duration, Instant};

use evert_bench_common::{db, Csv};
use tokio_postgres::Client;

use crate::data;
use crate::System;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Copy,
    Insert,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Copy => "copy",
            Method::Insert => "insert",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Rows loaded with COPY.
    pub copy_rows: u64,
    /// Rows loaded with batched INSERTs.
    pub insert_rows: u64,
    /// Rows per COPY statement.
    pub chunk: u64,
    /// Rows per INSERT statement.
    pub batch: u64,
    pub customers: u64,
}

impl Config {
    pub fn smoke() -> Config {
        Config {
            copy_rows: 5_000,
            insert_rows: 2_000,
            chunk: 2_000,
            batch: 500,
            customers: 500,
        }
    }

    pub fn rows(&self, method: Method) -> u64 {
        match method {
            Method::Copy => self.copy_rows,
            Method::Insert => self.insert_rows,
        }
    }
}

#[derive(Clone, Debug)]
pub struct IngestResult {
    pub system: System,
    pub method: Method,
    pub rows: u64,
    /// Until the last statement was acknowledged.
    pub acknowledged: Duration,
    /// Until every view reflected every row (evert only).
    pub visible: Option<Duration>,
}

impl IngestResult {
    pub fn acknowledged_rows_per_second(&self) -> f64 {
        self.rows as f64 / self.acknowledged.as_secs_f64()
    }
    pub fn visible_rows_per_second(&self) -> Option<f64> {
        self.visible.map(|v| self.rows as f64 / v.as_secs_f64())
    }
}

/// Creates the schema (and, in evert, the three views over the empty table).
pub async fn setup(client: &Client, system: System, config: &Config) -> Result<(), String> {
    if system == System::Postgres {
        client.batch_execute(data::CLEANUP).await.map_err(db)?;
    }
    data::create_schema(client, config.customers).await?;
    if system == System::Evert {
        for (name, query) in data::VIEWS {
            client
                .batch_execute(&data::create_view(name, query, ""))
                .await
                .map_err(db)?;
        }
    }
    Ok(())
}

/// Loads the rows with `method` into a table set up by [`setup`] and times it.
pub async fn measure(
    client: &Client,
    system: System,
    method: Method,
    config: &Config,
) -> Result<IngestResult, String> {
    let rows = config.rows(method);
    let started = Instant::now();
    match method {
        Method::Copy => data::copy_events(client, 0, rows, config.chunk, config.customers).await?,
        Method::Insert => {
            data::insert_events(client, 0, rows, config.batch, config.customers).await?
        }
    }
    let acknowledged = started.elapsed();
    let visible = if system == System::Evert {
        // Each read waits until its view has caught up with the session's writes.
        let n: i64 = client
            .query_one("SELECT sum(n)::bigint FROM by_customer", &[])
            .await
            .map_err(db)?
            .get(0);
        let m: i64 = client
            .query_one("SELECT sum(n)::bigint FROM by_region", &[])
            .await
            .map_err(db)?
            .get(0);
        let large: i64 = client
            .query_one("SELECT count(*) FROM large", &[])
            .await
            .map_err(db)?
            .get(0);
        let expected_large = (0..rows).filter(|i| i % 100 >= 90).count() as i64;
        if n as u64 != rows || m as u64 != rows || large != expected_large {
            return Err(format!(
                "views hold {n}, {m} and {large} rows after loading {rows}"
            ));
        }
        Some(started.elapsed())
    } else {
        None
    };
    let n = data::count_events(client).await?;
    if n != rows {
        return Err(format!("{}: {n} rows after loading {rows}", system.name()));
    }
    Ok(IngestResult {
        system,
        method,
        rows,
        acknowledged,
        visible,
    })
}

pub fn csv(results: &[IngestResult]) -> Csv {
    let mut csv = Csv::new(&[
        "system",
        "method",
        "rows",
        "acknowledged_s",
        "acknowledged_rows_per_s",
        "visible_s",
        "visible_rows_per_s",
    ]);
    for r in results {
        csv.push(vec![
            r.system.name().to_string(),
            r.method.name().to_string(),
            r.rows.to_string(),
            format!("{:.3}", r.acknowledged.as_secs_f64()),
            format!("{:.0}", r.acknowledged_rows_per_second()),
            r.visible
                .map(|v| format!("{:.3}", v.as_secs_f64()))
                .unwrap_or_default(),
            r.visible_rows_per_second()
                .map(|v| format!("{v:.0}"))
                .unwrap_or_default(),
        ]);
    }
    csv
}
