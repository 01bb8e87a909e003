//! # Serving, ingest and view-creation benchmarks
//!
//! Three measurements of evert next to PostgreSQL 15, each run by the same program against
//! both systems in the same run, over the same wire protocol with the same client
//! (`tokio-postgres`):
//!
//! - [`lookup`]: point lookups on an indexed view, by key, from N concurrent clients: QPS
//!   and latency percentiles. PostgreSQL answers from a materialized view with a B-tree
//!   index on the same key.
//! - [`ingest`]: rows/s through `COPY … FROM STDIN` and through batched multi-row
//!   `INSERT`s into a table that feeds three materialized views. PostgreSQL loads the same
//!   rows into the same table (it has no views to maintain).
//! - [`create`]: the time to create (and hydrate) materialized views on empty inputs and
//!   on loaded tables; PostgreSQL's `CREATE MATERIALIZED VIEW` on the same data.

pub mod create;
pub mod data;
pub mod ingest;
pub mod lookup;

/// Which system a client is talking to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    Evert,
    Postgres,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::Evert => "evert",
            System::Postgres => "postgres",
        }
    }
}

use evert_bench_common::{Evert, Postgres};

/// Lookups against evert, then PostgreSQL (when given), at every concurrency level.
pub async fn run_lookup(
    config: &lookup::Config,
    workers: usize,
    pg: Option<&Postgres>,
) -> Result<Vec<lookup::LookupResult>, String> {
    let mut results = Vec::new();
    let server = Evert::start(workers).await?;
    let client = server.connect().await?;
    let setup = lookup::setup(&client, System::Evert, config).await?;
    println!("evert: loaded and indexed in {setup:.1?}");
    for &clients in &config.clients {
        let r = lookup::measure(System::Evert, clients, config, || server.connect()).await?;
        println!(
            "evert: {clients} clients: {:.0} queries/s, {}",
            r.qps(),
            r.latencies.summary()
        );
        results.push(r);
    }
    drop(client);
    server.stop().await;
    if let Some(pg) = pg {
        let client = pg.connect().await?;
        let setup = lookup::setup(&client, System::Postgres, config).await?;
        println!("PostgreSQL: loaded and indexed in {setup:.1?}");
        for &clients in &config.clients {
            let r = lookup::measure(System::Postgres, clients, config, || pg.connect()).await?;
            println!(
                "PostgreSQL: {clients} clients: {:.0} queries/s, {}",
                r.qps(),
                r.latencies.summary()
            );
            results.push(r);
        }
        client
            .batch_execute(data::CLEANUP)
            .await
            .map_err(evert_bench_common::db)?;
    }
    Ok(results)
}

/// Ingest by COPY and by batched INSERT, into evert (a fresh server for each) and then
/// PostgreSQL (when given).
pub async fn run_ingest(
    config: &ingest::Config,
    workers: usize,
    pg: Option<&Postgres>,
) -> Result<Vec<ingest::IngestResult>, String> {
    let mut results = Vec::new();
    for method in [ingest::Method::Copy, ingest::Method::Insert] {
        let server = Evert::start(workers).await?;
        let client = server.connect().await?;
        ingest::setup(&client, System::Evert, config).await?;
        let r = ingest::measure(&client, System::Evert, method, config).await?;
        println!(
            "evert: {} {} rows: acknowledged {:.0} rows/s, visible in 3 views {:.0} rows/s",
            method.name(),
            r.rows,
            r.acknowledged_rows_per_second(),
            r.visible_rows_per_second().unwrap_or(0.0)
        );
        results.push(r);
        drop(client);
        server.stop().await;
    }
    if let Some(pg) = pg {
        let client = pg.connect().await?;
        for method in [ingest::Method::Copy, ingest::Method::Insert] {
            ingest::setup(&client, System::Postgres, config).await?;
            let r = ingest::measure(&client, System::Postgres, method, config).await?;
            println!(
                "PostgreSQL: {} {} rows: {:.0} rows/s",
                method.name(),
                r.rows,
                r.acknowledged_rows_per_second()
            );
            results.push(r);
        }
        client
            .batch_execute(data::CLEANUP)
            .await
            .map_err(evert_bench_common::db)?;
    }
    Ok(results)
}

/// View creation in evert and then PostgreSQL (when given).
pub async fn run_create(
    config: &create::Config,
    workers: usize,
    pg: Option<&Postgres>,
) -> Result<Vec<create::CreateResult>, String> {
    let server = Evert::start(workers).await?;
    let client = server.connect().await?;
    let mut results = create::run(&client, System::Evert, config).await?;
    drop(client);
    server.stop().await;
    if let Some(pg) = pg {
        let client = pg.connect().await?;
        results.extend(create::run(&client, System::Postgres, config).await?);
        client
            .batch_execute(data::CLEANUP)
            .await
            .map_err(evert_bench_common::db)?;
    }
    for r in &results {
        println!(
            "{}: CREATE MATERIALIZED VIEW {} on {} rows: {:.1} ms",
            r.system.name(),
            r.view,
            r.input_rows,
            r.time.as_secs_f64() * 1000.0
        );
    }
    Ok(results)
}
