//! Running the real `evert` binary as a child process, for tests that kill it.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// SIGKILL: no shutdown, no flush, nothing but what is already on disk survives.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL evert");
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// A failing test must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `evert` on `dir` (two workers, a 50 ms tick), appending its log to `log`.
pub fn start(dir: &Path, log: &Path) -> Server {
    let port = free_port();
    let http = free_port();
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_evert"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--http-listen",
            &format!("127.0.0.1:{http}"),
        ])
        .args(["--workers", "2", "--tick-ms", "50", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("start evert");
    Server { child, port }
}

pub async fn connect(port: u16, within: Duration) -> Client {
    let deadline = Instant::now() + within;
    loop {
        let config =
            format!("host=127.0.0.1 port={port} user=evert dbname=materialize connect_timeout=2");
        match tokio_postgres::connect(&config, NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                return client;
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("evert did not come up on port {port}: {e}"),
        }
    }
}

/// The rows of `sql` as text (NULL as "NULL"), as a set.
pub async fn rows(client: &impl tokio_postgres::GenericClient, sql: &str) -> BTreeSet<Vec<String>> {
    row_list(client, sql).await.into_iter().collect()
}

/// The rows of `sql` as text (NULL as "NULL"), in the order they came.
pub async fn row_list(client: &impl tokio_postgres::GenericClient, sql: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for m in client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
    {
        if let SimpleQueryMessage::Row(r) = m {
            out.push(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect(),
            );
        }
    }
    out
}

/// An error's server message (tokio-postgres displays just "db error").
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

pub fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}
