//! # evert-server: start-up and shutdown
//!
//! [`start`] opens the adapter (replaying the log), then binds the PostgreSQL and HTTP
//! listeners; [`ServerHandle::shutdown`] stops accepting connections and stops the
//! workers. The `evert` binary is a thin wrapper around these; tests start servers
//! in-process the same way.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use evert_adapter::{Adapter, AdapterConfig, AdapterError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub workers: usize,
    pub tick: Duration,
    /// Overrides of the adapter's defaults (tests make compaction eager).
    pub log_compaction_interval: Option<Duration>,
    pub log_compaction_min_bytes: Option<u64>,
}

impl ServerConfig {
    /// A server on ephemeral loopback ports (for tests).
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            http_listen: Some("127.0.0.1:0".parse().expect("valid address")),
            data_dir: data_dir.into(),
            workers: 2,
            tick: Duration::from_millis(100),
            log_compaction_interval: Some(Duration::from_millis(200)),
            log_compaction_min_bytes: Some(64 * 1024),
        }
    }
}

pub struct ServerHandle {
    pub pg_addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    pub adapter: Adapter,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug)]
pub enum StartError {
    Adapter(AdapterError),
    Bind(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Adapter(e) => write!(f, "{e}"),
            StartError::Bind(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for StartError {}

/// Starts a server: recovers the data directory, then listens.
pub async fn start(config: ServerConfig) -> Result<ServerHandle, StartError> {
    let mut adapter_config = AdapterConfig::new(config.data_dir.clone(), config.workers);
    adapter_config.tick = config.tick;
    if let Some(i) = config.log_compaction_interval {
        adapter_config.log_compaction_interval = i;
    }
    if let Some(b) = config.log_compaction_min_bytes {
        adapter_config.log_compaction_min_bytes = b;
    }
    let adapter = Adapter::start(adapter_config)
        .await
        .map_err(StartError::Adapter)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Bind(format!("cannot listen on {}: {e}", config.listen)))?;
    let pg_addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(e.to_string()))?;
    let (shutdown, watch_rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(evert_pgwire::serve(
        listener,
        adapter.clone(),
        watch_rx.clone(),
    ))];
    let mut http_addr = None;
    if let Some(addr) = config.http_listen {
        let http = TcpListener::bind(addr)
            .await
            .map_err(|e| StartError::Bind(format!("cannot listen on {addr}: {e}")))?;
        http_addr = Some(
            http.local_addr()
                .map_err(|e| StartError::Bind(e.to_string()))?,
        );
        tasks.push(tokio::spawn(evert_http::serve(
            http,
            adapter.clone(),
            watch_rx,
        )));
    }
    Ok(ServerHandle {
        pg_addr,
        http_addr,
        adapter,
        shutdown,
        tasks,
    })
}

impl ServerHandle {
    /// Stops listening and stops the dataflow workers. Acknowledged writes are durable.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.adapter.shutdown().await;
    }
}
