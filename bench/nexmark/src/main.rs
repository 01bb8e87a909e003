//! `cargo run -p evert-bench-nexmark --release -- --events 100000`: see the library's docs
//! and `bench/nexmark/README.md`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use evert_bench_nexmark::{evert, handwritten, queries, Config, Feed, Workload};

/// Nexmark q0–q22 in evert, with hand-written differential baselines (docs/benchmarks.md).
#[derive(Parser)]
struct Args {
    /// Queries to run (comma-separated names such as q0,q5; default: all 23).
    #[arg(long, value_delimiter = ',')]
    queries: Vec<String>,
    /// Worker counts (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    workers: Vec<usize>,
    /// Events per run (the default keeps the whole run near ten minutes on 2 cores).
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Events per write (a COPY round in evert, a timestamp in the baselines).
    #[arg(long, default_value_t = 10_000)]
    batch: u64,
    /// The generator's event-time rate (events per second of date_time).
    #[arg(long, default_value_t = default_rate())]
    events_per_second: u64,
    /// How evert gets the events: `source` (its NEXMARK load generator, in the server) or
    /// `copy` (COPY FROM STDIN from this process).
    #[arg(long, default_value = "source", value_parser = Feed::parse)]
    feed: Feed,
    /// Skip the hand-written baselines.
    #[arg(long)]
    no_handwritten: bool,
    /// Where to write the CSV (default: bench/results/nexmark.csv; none for --smoke).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// A tiny run of every query that takes seconds (overrides the sizes).
    #[arg(long)]
    smoke: bool,
    #[command(subcommand)]
    child: Option<Child>,
}

/// The child processes the benchmark starts (not meant to be run by hand).
#[derive(Subcommand)]
enum Child {
    /// Run evert in this process until stdin closes; prints `listening <addr>`.
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        workers: usize,
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Run one hand-written baseline; prints `<seconds> <peak_rss_mb>`.
    #[command(hide = true)]
    Handwritten {
        #[arg(long)]
        query: String,
        #[arg(long)]
        workers: usize,
        #[arg(long)]
        events: u64,
        #[arg(long)]
        batch: u64,
        #[arg(long)]
        events_per_second: u64,
    },
}

fn default_rate() -> u64 {
    evert_bench_nexmark::DEFAULT_EVENTS_PER_SECOND
}

fn main() {
    let args = Args::parse();
    match args.child {
        Some(Child::Serve { workers, data_dir }) => {
            if let Err(e) = evert::serve(workers, data_dir) {
                eprintln!("serve: {e}");
                std::process::exit(1);
            }
            return;
        }
        Some(Child::Handwritten {
            query,
            workers,
            events,
            batch,
            events_per_second,
        }) => {
            let workload = Workload {
                events,
                batch,
                events_per_second,
            };
            match handwritten::run(&query, workers, &workload, false) {
                Ok(run) => {
                    let peak = evert::peak_rss_mb(std::process::id()).unwrap_or(f64::NAN);
                    println!("{:.6} {:.1}", run.elapsed.as_secs_f64(), peak);
                }
                Err(e) => {
                    eprintln!("handwritten: {e}");
                    std::process::exit(1);
                }
            }
            return;
        }
        None => {}
    }

    let config = if args.smoke {
        Config {
            feed: args.feed,
            ..Config::smoke()
        }
    } else {
        Config {
            queries: if args.queries.is_empty() {
                queries::QUERIES
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .collect()
            } else {
                args.queries
            },
            workers: args.workers,
            workload: Workload {
                events: args.events,
                batch: args.batch,
                events_per_second: args.events_per_second,
            },
            feed: args.feed,
            handwritten: !args.no_handwritten,
        }
    };
    println!("{config:?}");
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("cannot find this binary: {e}");
            std::process::exit(1);
        }
    };
    let result = evert_bench_nexmark::run(&config, &exe, |m| {
        let snapshot = m
            .before_view
            .map(|n| format!(" ({n} events before the view)"))
            .unwrap_or_default();
        println!(
            "{:>4} {:>11} workers={} events={} {:.2}s {:.0} events/s peak {:.0} MiB{snapshot}",
            m.query,
            m.system,
            m.workers,
            m.events,
            m.seconds,
            m.events_per_second(),
            m.peak_rss_mb
        );
    });
    let measurements = match result {
        Ok(m) => m,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", evert_bench_nexmark::table(&measurements));
    // A smoke run's numbers mean nothing: it writes a CSV only when asked to.
    let path = match (args.csv, args.smoke) {
        (Some(path), _) => path,
        (None, true) => return,
        (None, false) => evert_bench_nexmark::default_csv_path(),
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, evert_bench_nexmark::csv(&measurements)) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
