//! `cargo run -p evert-bench-latency --release -- --rows 1000000 [--pg CONNINFO]`: see the
//! library's docs.

use std::path::PathBuf;

use clap::Parser;
use evert_bench_common::{csv_path, Postgres};
use evert_bench_latency::{csv, run, run_postgres, Config};

/// Write-to-subscriber latency under a join + aggregate view, against PostgreSQL's
/// REFRESH MATERIALIZED VIEW (docs/benchmarks.md).
#[derive(Parser)]
struct Args {
    /// Rows in the fact table.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rows in the dimension table.
    #[arg(long, default_value_t = 10_000)]
    groups: u64,
    /// Groups of the view.
    #[arg(long, default_value_t = 100)]
    regions: u64,
    /// Single-row writes per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Writes to measure.
    #[arg(long, default_value_t = 1000)]
    writes: u32,
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
    /// Where to write the CSV (default: bench/results/latency.csv; none with --smoke).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// A tiny run that takes seconds (overrides the sizes).
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
    let config = if args.smoke {
        Config::smoke()
    } else {
        Config {
            rows: args.rows,
            groups: args.groups,
            regions: args.regions,
            rate: args.rate,
            writes: args.writes,
            workers: args.workers,
        }
    };
    println!("{config:?}");
    let report = run(&config).await?;
    print!("{report}");
    let pg = if args.no_pg {
        None
    } else {
        Postgres::open(args.pg.as_deref())?
    };
    let pg_report = match &pg {
        Some(pg) => {
            println!("{}", pg.version().await?);
            let r = run_postgres(&config, pg).await?;
            print!("{r}");
            Some(r)
        }
        None => {
            println!("PostgreSQL: skipped (--no-pg, or no PostgreSQL 15 installed)");
            None
        }
    };
    if let Some(path) = csv_path(args.csv, "latency", args.smoke) {
        csv(&config, &report, pg_report.as_ref()).write(&path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
