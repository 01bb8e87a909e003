//! `evert-oracle`: random views maintained by evert, compared with PostgreSQL 15 after every
//! batch of random changes; mismatches are minimized and printed as `.slt` tests.
//!
//! ```text
//! evert-oracle [--seed N] [--cases N] [--views N] [--batches N] [--changes N]
//!              [--minimize-secs N] [--postgres CONNSTR] [--verbose]
//! ```
//! Without `--postgres` it starts its own PostgreSQL from /usr/lib/postgresql/15/bin.

use std::time::{Duration, Instant};

use evert_sqllogictest::oracle::{self, Config};
use evert_sqllogictest::pgserver::{PgServer, DEFAULT_BIN_DIR};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = Config::default();
    let mut postgres: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let number = |i: usize| -> u64 {
            args.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| {
                    eprintln!("{} takes a number", args[i]);
                    std::process::exit(2)
                })
        };
        match args[i].as_str() {
            "--seed" => config.seed = number(i),
            "--cases" => config.cases = number(i) as usize,
            "--views" => config.views_per_case = number(i) as usize,
            "--batches" => config.batches = number(i) as usize,
            "--changes" => config.changes_per_batch = number(i) as usize,
            "--minimize-secs" => config.minimize_for = Duration::from_secs(number(i)),
            "--postgres" => {
                postgres = args.get(i + 1).cloned();
            }
            "--verbose" => {
                config.verbose = true;
                i += 1;
                continue;
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2)
            }
        }
        i += 2;
    }
    let started = Instant::now();
    let (mut server, pg) = match postgres {
        Some(conn) => {
            let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    eprintln!("connect to postgres: {e}");
                    std::process::exit(2)
                });
            tokio::spawn(async move {
                let _ = connection.await;
            });
            (None, client)
        }
        None => {
            let server =
                PgServer::start(std::path::Path::new(DEFAULT_BIN_DIR)).unwrap_or_else(|e| {
                    eprintln!("cannot start postgres: {e}");
                    std::process::exit(2)
                });
            let client = server.connect("postgres").await.unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(2)
            });
            (Some(server), client)
        }
    };
    let evert = evert_sqllogictest::TestServer::start().await;
    let client = evert.connect().await;
    let report = oracle::run(&client, &pg, &config).await;
    println!("{}", report.summary());
    println!(
        "seed {} cases {} in {:.0}s",
        config.seed,
        config.cases,
        started.elapsed().as_secs_f64()
    );
    drop(client);
    evert.stop().await;
    // `exit` runs no destructors: stop the PostgreSQL this run started here.
    drop(pg);
    if let Some(server) = server.as_mut() {
        server.stop();
    }
    std::process::exit(if report.mismatches.is_empty() { 0 } else { 1 });
}
