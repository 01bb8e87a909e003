//! The `evert` binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use tracing::{error, info};

/// evert: an incremental materialized-view SQL engine that speaks PostgreSQL.
#[derive(Parser, Debug)]
#[command(name = "evert", version, about)]
struct Args {
    /// Address for PostgreSQL clients.
    #[arg(long, default_value = "127.0.0.1:6875")]
    listen: SocketAddr,
    /// Address for the HTTP API, metrics and live pages.
    #[arg(long, default_value = "127.0.0.1:6876")]
    http_listen: SocketAddr,
    /// Where the durable log lives.
    #[arg(long, default_value = "./evert-data")]
    data_dir: PathBuf,
    /// Dataflow worker threads (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// How often the clock advances when nothing is written, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    tick_ms: u64,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("evert: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async move {
        let config = evert_server::ServerConfig {
            listen: args.listen,
            http_listen: Some(args.http_listen),
            data_dir: args.data_dir.clone(),
            workers,
            tick: Duration::from_millis(args.tick_ms.max(1)),
            log_compaction_interval: None,
            log_compaction_min_bytes: None,
        };
        info!(data_dir = %args.data_dir.display(), workers, "starting evert");
        let handle = match evert_server::start(config).await {
            Ok(h) => h,
            Err(e) => {
                error!(error = %e, "evert could not start");
                return 1;
            }
        };
        info!(pgwire = %handle.pg_addr, http = ?handle.http_addr, "evert is ready: psql -h {} -p {}", handle.pg_addr.ip(), handle.pg_addr.port());
        wait_for_signal().await;
        info!("shutting down");
        handle.shutdown().await;
        info!("stopped");
        0
    });
    std::process::exit(code);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
