//! `evert-bench-workloads [lookup|ingest|create|all] [--rows N] [--pg CONNINFO] [--smoke]`:
//! see the library's docs. Writes `lookup.csv`, `ingest.csv` and `create.csv` under
//! `bench/results/` (or `--results DIR`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use evert_bench_common::{default_csv_path, Postgres};
use evert_bench_workloads::{create, ingest, lookup, run_create, run_ingest, run_lookup};

/// Point lookups, ingest and view creation, each against PostgreSQL (docs/benchmarks.md).
#[derive(Parser)]
struct Args {
    /// Which workload: lookup, ingest, create or all.
    #[arg(default_value = "all")]
    workload: String,
    /// Rows in `events` (lookup, create, and ingest by COPY).
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rows ingested by batched INSERT.
    #[arg(long, default_value_t = 200_000)]
    insert_rows: u64,
    /// Rows per INSERT statement.
    #[arg(long, default_value_t = 1_000)]
    batch: u64,
    /// Rows per COPY statement.
    #[arg(long, default_value_t = 100_000)]
    chunk: u64,
    /// Concurrent lookup clients, comma-separated.
    #[arg(long, default_value = "1,4,16")]
    clients: String,
    /// Seconds per lookup concurrency level.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Dataflow worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// The PostgreSQL baseline's connection string; without it a throwaway PostgreSQL 15
    /// is started (when installed).
    #[arg(long)]
    pg: Option<String>,
    /// Skip the PostgreSQL baseline.
    #[arg(long)]
    no_pg: bool,
    /// Directory for the CSVs (default: bench/results; none with --smoke).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Tiny sizes, seconds in all.
    #[arg(long)]
    smoke: bool,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = main_inner(args).await {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

async fn main_inner(args: Args) -> Result<(), String> {
    let (lookup_config, ingest_config, create_config) = if args.smoke {
        (
            lookup::Config::smoke(),
            ingest::Config::smoke(),
            create::Config::smoke(),
        )
    } else {
        let customers = (args.rows / 10).max(1);
        let clients = args
            .clients
            .split(',')
            .map(|c| {
                c.trim()
                    .parse::<usize>()
                    .map_err(|e| format!("--clients: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        (
            lookup::Config {
                rows: args.rows,
                customers,
                clients,
                duration: Duration::from_secs_f64(args.seconds),
            },
            ingest::Config {
                copy_rows: args.rows,
                insert_rows: args.insert_rows,
                chunk: args.chunk,
                batch: args.batch,
                customers,
            },
            create::Config {
                rows: args.rows,
                customers,
            },
        )
    };
    let pg = if args.no_pg {
        None
    } else {
        Postgres::open(args.pg.as_deref())?
    };
    match &pg {
        Some(pg) => println!("baseline: {}", pg.version().await?),
        None => println!("PostgreSQL: skipped"),
    }
    let csv_path = |name: &str| match &args.results {
        Some(dir) => Some(dir.join(format!("{name}.csv"))),
        None => (!args.smoke).then(|| default_csv_path(name)),
    };
    let all = args.workload == "all";
    let mut ran = false;
    if all || args.workload == "lookup" {
        println!("\n## Point lookups\n{lookup_config:?}");
        let r = run_lookup(&lookup_config, args.workers, pg.as_ref()).await?;
        if let Some(path) = csv_path("lookup") {
            lookup::csv(&lookup_config, &r).write(&path)?;
        }
        ran = true;
    }
    if all || args.workload == "ingest" {
        println!("\n## Ingest\n{ingest_config:?}");
        let r = run_ingest(&ingest_config, args.workers, pg.as_ref()).await?;
        if let Some(path) = csv_path("ingest") {
            ingest::csv(&r).write(&path)?;
        }
        ran = true;
    }
    if all || args.workload == "create" {
        println!("\n## View creation\n{create_config:?}");
        let r = run_create(&create_config, args.workers, pg.as_ref()).await?;
        if let Some(path) = csv_path("create") {
            create::csv(&r).write(&path)?;
        }
        ran = true;
    }
    if !ran {
        return Err(format!("unknown workload {}", args.workload));
    }
    Ok(())
}
