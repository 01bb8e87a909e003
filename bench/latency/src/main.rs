//! `cargo run -p evert-bench-latency --release -- --rows 1000000`: see the library's docs.

use clap::Parser;
use evert_bench_latency::{run, Config};

/// Write-to-subscriber latency under a join + aggregate view (docs/benchmarks.md).
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
    /// A tiny run that takes seconds (overrides the sizes).
    #[arg(long)]
    smoke: bool,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
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
    match run(&config).await {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::exit(1);
        }
    }
}
