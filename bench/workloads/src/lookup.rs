//! Point lookups on an indexed view, by key, from N concurrent clients.
//!
//! ```sql
//! -- evert: a view with an index (an arrangement keyed by customer)
//! CREATE VIEW customer_totals AS
//!     SELECT customer, count(*) AS n, sum(amount) AS total FROM events GROUP BY customer;
//! CREATE INDEX customer_totals_customer ON customer_totals (customer);
//! -- PostgreSQL: the same view materialized, with a B-tree index on the same key
//! CREATE MATERIALIZED VIEW customer_totals AS …;
//! CREATE INDEX customer_totals_customer ON customer_totals (customer);
//! ```
//!
//! Each client runs `SELECT n, total FROM customer_totals WHERE customer = $1` (a prepared
//! statement, extended protocol) with pseudo-random existing keys, one query at a time,
//! for a fixed duration; every answer must be exactly one row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use evert_bench_common::{db, ms, Csv, Keys, Latencies};
use tokio_postgres::Client;

use crate::data;
use crate::System;

#[derive(Clone, Debug)]
pub struct Config {
    /// Rows in `events`.
    pub rows: u64,
    /// Distinct customers: the view's rows and the lookup keys.
    pub customers: u64,
    /// The concurrency levels to measure.
    pub clients: Vec<usize>,
    /// How long each level runs.
    pub duration: Duration,
}

impl Config {
    pub fn smoke() -> Config {
        Config {
            rows: 5_000,
            customers: 500,
            clients: vec![1, 4],
            duration: Duration::from_millis(300),
        }
    }
}

#[derive(Clone, Debug)]
pub struct LookupResult {
    pub system: System,
    pub clients: usize,
    pub queries: usize,
    pub seconds: f64,
    pub latencies: Latencies,
}

impl LookupResult {
    pub fn qps(&self) -> f64 {
        self.queries as f64 / self.seconds
    }
}

/// Creates the table, loads it and creates the indexed view; returns the setup time.
pub async fn setup(client: &Client, system: System, config: &Config) -> Result<Duration, String> {
    let started = Instant::now();
    if system == System::Postgres {
        client.batch_execute(data::CLEANUP).await.map_err(db)?;
    }
    data::create_schema(client, config.customers).await?;
    data::generate_events(client, config.rows, config.customers).await?;
    let query =
        "SELECT customer, count(*) AS n, sum(amount) AS total FROM events GROUP BY customer";
    let sql = match system {
        System::Evert => format!(
            "CREATE VIEW customer_totals AS {query}; \
             CREATE INDEX customer_totals_customer ON customer_totals (customer);"
        ),
        System::Postgres => format!(
            "CREATE MATERIALIZED VIEW customer_totals AS {query}; \
             CREATE INDEX customer_totals_customer ON customer_totals (customer); ANALYZE;"
        ),
    };
    client.batch_execute(&sql).await.map_err(db)?;
    // Hydrated (evert) once a lookup returns.
    let n = client
        .query("SELECT n FROM customer_totals WHERE customer = 0", &[])
        .await
        .map_err(db)?;
    if n.len() != 1 {
        return Err(format!(
            "{}: {} rows for customer 0",
            system.name(),
            n.len()
        ));
    }
    Ok(started.elapsed())
}

/// Runs `clients` concurrent clients for `duration`; `connect` opens one connection.
pub async fn measure<F, Fut>(
    system: System,
    clients: usize,
    config: &Config,
    connect: F,
) -> Result<LookupResult, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Client, String>>,
{
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(connect().await?);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for (i, client) in connections.into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        let customers = config.customers;
        let duration = config.duration;
        tasks.push(tokio::spawn(async move {
            let statement = client
                .prepare("SELECT n, total FROM customer_totals WHERE customer = $1")
                .await
                .map_err(db)?;
            let mut keys = Keys::new(i as u64 + 1);
            // A few queries to warm up the connection.
            for _ in 0..10 {
                let key = keys.next_below(customers) as i64;
                client.query(&statement, &[&key]).await.map_err(db)?;
            }
            barrier.wait().await;
            let deadline = Instant::now() + duration;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let key = keys.next_below(customers) as i64;
                let started = Instant::now();
                let rows = client.query(&statement, &[&key]).await.map_err(db)?;
                latencies.push(started.elapsed());
                if rows.len() != 1 {
                    return Err(format!("{} rows for customer {key}", rows.len()));
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| format!("client: {e}"))??);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(LookupResult {
        system,
        clients,
        queries: all.len(),
        seconds,
        latencies: Latencies::new(all),
    })
}

pub fn csv(config: &Config, results: &[LookupResult]) -> Csv {
    let mut csv = Csv::new(&[
        "system", "clients", "rows", "queries", "seconds", "qps", "p50_ms", "p99_ms", "max_ms",
    ]);
    for r in results {
        csv.push(vec![
            r.system.name().to_string(),
            r.clients.to_string(),
            config.rows.to_string(),
            r.queries.to_string(),
            format!("{:.3}", r.seconds),
            format!("{:.1}", r.qps()),
            format!("{:.3}", ms(r.latencies.percentile(50.0))),
            format!("{:.3}", ms(r.latencies.percentile(99.0))),
            format!("{:.3}", ms(r.latencies.max())),
        ]);
    }
    csv
}
