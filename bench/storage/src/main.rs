//! `evert-bench-storage [--smoke] [--seconds S] [--rows N] [--pg CONNINFO | --no-pg] [--csv PATH]`
//!
//! Prints group-commit throughput for 1, 8 and 64 clients (with PostgreSQL alongside: the
//! server `--pg` names, or a throwaway one) and the restart replay rate, as Markdown
//! tables, and writes them to `bench/results/storage.csv` (not in a smoke run, unless
//! `--csv` is given).

use std::time::Duration;

use evert_bench_common::{csv_path, Csv};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let smoke = args.iter().any(|a| a == "--smoke");
    let seconds: f64 = value("--seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(if smoke { 0.3 } else { 5.0 });
    let rows: u64 = value("--rows")
        .and_then(|s| s.parse().ok())
        .unwrap_or(if smoke { 2_000 } else { 1_000_000 });
    // The baseline: the server `--pg` names, or else a throwaway PostgreSQL 15 (default
    // durability settings) when one is installed; `--no-pg` skips it.
    let pg_server = if args.iter().any(|a| a == "--no-pg") {
        None
    } else {
        match evert_bench_common::Postgres::open(value("--pg").as_deref()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("PostgreSQL: {e}");
                std::process::exit(1);
            }
        }
    };
    let pg = pg_server.as_ref().map(|p| p.conninfo());
    let duration = Duration::from_secs_f64(seconds);
    let mut csv = Csv::new(&[
        "benchmark",
        "system",
        "clients",
        "count",
        "seconds",
        "per_s",
    ]);

    println!("## Group commit: acknowledged single-row INSERTs/s ({seconds} s per run)\n");
    println!("| clients | evert writes/s | writes per fsync | PostgreSQL writes/s | evert / PostgreSQL |");
    println!("|---:|---:|---:|---:|---:|");
    for clients in [1, 8, 64] {
        let e = evert_bench_storage::group_commit(clients, duration).await;
        let per_fsync = e.writes as f64 / e.commits.unwrap_or(1).max(1) as f64;
        csv.push(vec![
            "group_commit".into(),
            "evert".into(),
            clients.to_string(),
            e.writes.to_string(),
            format!("{:.3}", e.seconds),
            format!("{:.1}", e.writes_per_second()),
        ]);
        let (p, ratio) = match &pg {
            Some(conninfo) => {
                let p =
                    evert_bench_storage::group_commit_postgres(conninfo, clients, duration).await;
                csv.push(vec![
                    "group_commit".into(),
                    "postgres".into(),
                    clients.to_string(),
                    p.writes.to_string(),
                    format!("{:.3}", p.seconds),
                    format!("{:.1}", p.writes_per_second()),
                ]);
                (
                    format!("{:.0}", p.writes_per_second()),
                    format!("{:.2}", e.writes_per_second() / p.writes_per_second()),
                )
            }
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "| {clients} | {:.0} | {per_fsync:.1} | {p} | {ratio} |",
            e.writes_per_second()
        );
    }

    println!("\n## Restart replay ({rows} rows, one table, an index and a materialized view)\n");
    let r = evert_bench_storage::replay(rows).await;
    println!("| updates replayed | Log::open (read + verify) | restart to first answer | log rows/s | restart rows/s | restart / log |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {:.3} s | {:.3} s | {:.0} | {:.0} | {:.2} |",
        r.rows_replayed,
        r.log_open.as_secs_f64(),
        r.restart.as_secs_f64(),
        r.log_rows_per_second(),
        r.restart_rows_per_second(),
        r.restart.as_secs_f64() / r.log_open.as_secs_f64()
    );
    for (system, time) in [("evert-log-open", r.log_open), ("evert-restart", r.restart)] {
        csv.push(vec![
            "replay".into(),
            system.into(),
            String::new(),
            r.rows_replayed.to_string(),
            format!("{:.3}", time.as_secs_f64()),
            format!("{:.0}", r.rows_replayed as f64 / time.as_secs_f64()),
        ]);
    }
    if let Some(path) = csv_path(value("--csv").map(Into::into), "storage", smoke) {
        if let Err(e) = csv.write(&path) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        println!("\nwrote {}", path.display());
    }
}
