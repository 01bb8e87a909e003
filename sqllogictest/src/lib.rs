//! # evert-sqllogictest: the SQL test harness
//!
//! Runs `.slt` files against an evert server started in this process, through the same
//! PostgreSQL wire protocol every client uses (`tokio-postgres`, simple query protocol, so
//! values arrive in PostgreSQL's text format exactly as psql would show them).
//!
//! - [`TestServer`] starts a server on free loopback ports with a fresh data directory;
//! - [`EvertDb`] is the sqllogictest connection: rows as text, `NULL` for NULL, `(empty)` for
//!   the empty string, and errors carrying their SQLSTATE so files can write
//!   `statement error (42P01)` as well as `statement error relation .* does not exist`;
//! - [`run_file`] runs one file against a fresh server;
//! - [`corpus`] runs the SQLite sqllogictest corpus, directly and as maintained views;
//! - [`oracle`] compares random views with PostgreSQL 15 ([`pgserver`] starts one).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

pub mod corpus;
pub mod oracle;
pub mod pgserver;

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{n}-{}",
            std::process::id(),
            evert_nanos()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

fn evert_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An evert server running in this process.
pub struct TestServer {
    pub handle: Option<evert_server::ServerHandle>,
    pub dir: TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_in(TempDir::new("evert-test")).await
    }

    /// Starts a server whose data lives in `dir` (which may hold an earlier server's data).
    pub async fn start_in(dir: TempDir) -> TestServer {
        let handle = evert_server::start(evert_server::ServerConfig::for_tests(dir.0.join("data")))
            .await
            .expect("evert starts");
        TestServer {
            handle: Some(handle),
            dir,
        }
    }

    /// Stops the server and keeps its data directory for a restart.
    pub async fn stop_keep(mut self) -> TempDir {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
        let path = self.dir.0.clone();
        std::mem::forget(self.dir);
        TempDir(path)
    }

    pub fn port(&self) -> u16 {
        self.handle.as_ref().expect("running").pg_addr.port()
    }

    pub async fn connect(&self) -> Client {
        connect(self.port()).await
    }

    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

/// Connects a `tokio-postgres` client to a local server.
pub async fn connect(port: u16) -> Client {
    let config =
        format!("host=127.0.0.1 port={port} user=evert dbname=materialize connect_timeout=10");
    let (client, connection) = tokio_postgres::connect(&config, NoTls)
        .await
        .expect("connect to evert");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A PostgreSQL error as the harness shows it: the server's message, and its SQLSTATE.
#[derive(Debug)]
pub struct DbError {
    pub message: String,
    pub sqlstate: Option<String>,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            // The DETAIL follows the message on its own line, so that `statement error`
            // regexes can check it too.
            Some(db) => DbError {
                message: match db.detail() {
                    Some(detail) => format!("{}\nDETAIL: {detail}", db.message()),
                    None => db.message().to_string(),
                },
                sqlstate: Some(db.code().code().to_string()),
            },
            None => DbError {
                message: e.to_string(),
                sqlstate: None,
            },
        }
    }
}

/// A sqllogictest connection to evert.
pub struct EvertDb {
    pub client: Client,
    pub engine: &'static str,
}

/// Runs a statement with the simple query protocol and returns its output as text.
pub async fn run_simple(
    client: &Client,
    sql: &str,
) -> Result<DBOutput<DefaultColumnType>, DbError> {
    let messages = client.simple_query(sql).await?;
    let mut rows = Vec::new();
    let mut columns = None;
    let mut count = 0;
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(cols) => columns = Some(cols.len()),
            SimpleQueryMessage::Row(row) => {
                let mut out = Vec::with_capacity(row.len());
                for i in 0..row.len() {
                    out.push(match row.get(i) {
                        None => "NULL".to_string(),
                        Some("") => "(empty)".to_string(),
                        Some(v) => v.to_string(),
                    });
                }
                rows.push(out);
            }
            SimpleQueryMessage::CommandComplete(n) => count = n,
            _ => {}
        }
    }
    match columns {
        Some(n) => Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; n],
            rows,
        }),
        None => Ok(DBOutput::StatementComplete(count)),
    }
}

#[async_trait]
impl AsyncDB for EvertDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        run_simple(&self.client, sql).await
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        self.engine
    }

    async fn sleep(dur: Duration) {
        tokio::time::sleep(dur).await;
    }

    fn error_sql_state(err: &Self::Error) -> Option<String> {
        err.sqlstate.clone()
    }
}

/// Runs one `.slt` file against a fresh server.
pub async fn run_file(path: &Path) -> Result<(), String> {
    let server = TestServer::start().await;
    let port = server.port();
    let mut runner = sqllogictest::Runner::new(move || async move {
        Ok::<_, DbError>(EvertDb {
            client: connect(port).await,
            engine: "evert",
        })
    });
    runner.add_label("evert");
    let result = runner
        .run_file_async(path)
        .await
        .map_err(|e| e.display(true).to_string());
    server.stop().await;
    result
}

/// Rewrites a file's expected output with what evert returns (for new tests; review the diff).
pub async fn rewrite_file(path: &Path) -> Result<(), String> {
    let server = TestServer::start().await;
    let port = server.port();
    let mut runner = sqllogictest::Runner::new(move || async move {
        Ok::<_, DbError>(EvertDb {
            client: connect(port).await,
            engine: "evert",
        })
    });
    runner.add_label("evert");
    let result = runner
        .update_test_file(
            path,
            " ",
            sqllogictest::default_validator,
            sqllogictest::default_normalizer,
            sqllogictest::default_column_validator,
        )
        .await
        .map_err(|e| e.to_string());
    server.stop().await;
    result
}

/// Every `.slt` file under a directory, sorted.
pub fn slt_files(dir: &Path) -> Vec<PathBuf> {
    files_with_extension(dir, "slt")
}

/// Every file named `*.<extension>` under a directory (recursively), sorted.
pub fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == extension) {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
}
