//! View creation: the time from `CREATE MATERIALIZED VIEW` until the view answers a read,
//! for each of [`data::VIEWS`], on empty inputs and on loaded inputs.
//!
//! In evert the statement returns once the dataflow is installed and a read waits for it to
//! hydrate, so the time is statement + first read. PostgreSQL computes the whole view inside
//! the statement; the same read follows it.

use std::time::{Duration, Instant};

use evert_bench_common::{db, Csv};
use tokio_postgres::Client;

use crate::data;
use crate::System;

#[derive(Clone, Debug)]
pub struct Config {
    /// Rows in `events` for the loaded case.
    pub rows: u64,
    pub customers: u64,
}

impl Config {
    pub fn smoke() -> Config {
        Config {
            rows: 5_000,
            customers: 500,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CreateResult {
    pub system: System,
    pub view: &'static str,
    /// Rows in `events` when the view was created.
    pub input_rows: u64,
    pub time: Duration,
}

/// Creates the schema; `customers` is loaded, `events` is empty.
pub async fn setup(client: &Client, system: System, config: &Config) -> Result<(), String> {
    if system == System::Postgres {
        client.batch_execute(data::CLEANUP).await.map_err(db)?;
    }
    data::create_schema(client, config.customers).await
}

/// Times the creation of every view, named with `suffix`, on the current contents.
pub async fn measure(
    client: &Client,
    system: System,
    input_rows: u64,
    suffix: &str,
) -> Result<Vec<CreateResult>, String> {
    let mut results = Vec::new();
    for (name, query) in data::VIEWS {
        let started = Instant::now();
        client
            .batch_execute(&data::create_view(name, query, suffix))
            .await
            .map_err(db)?;
        client
            .query(&format!("SELECT * FROM {name}{suffix} LIMIT 1"), &[])
            .await
            .map_err(db)?;
        results.push(CreateResult {
            system,
            view: name,
            input_rows,
            time: started.elapsed(),
        });
    }
    Ok(results)
}

/// The whole workload against one system: views on empty inputs, then load `rows` rows,
/// then the same views again.
pub async fn run(
    client: &Client,
    system: System,
    config: &Config,
) -> Result<Vec<CreateResult>, String> {
    setup(client, system, config).await?;
    let mut results = measure(client, system, 0, "_empty").await?;
    // Not maintained during the load.
    for (name, _) in data::VIEWS {
        client
            .batch_execute(&format!("DROP MATERIALIZED VIEW {name}_empty"))
            .await
            .map_err(db)?;
    }
    data::generate_events(client, config.rows, config.customers).await?;
    if system == System::Postgres {
        client.batch_execute("ANALYZE").await.map_err(db)?;
    }
    if data::count_events(client).await? != config.rows {
        return Err("the load is incomplete".into());
    }
    results.extend(measure(client, system, config.rows, "_loaded").await?);
    Ok(results)
}

pub fn csv(results: &[CreateResult]) -> Csv {
    let mut csv = Csv::new(&["system", "view", "input_rows", "seconds"]);
    for r in results {
        csv.push(vec![
            r.system.name().to_string(),
            r.view.to_string(),
            r.input_rows.to_string(),
            format!("{:.4}", r.time.as_secs_f64()),
        ]);
    }
    csv
}
