//! A throwaway PostgreSQL 15 server for the oracle: `initdb` into a temp dir, `pg_ctl start`
//! listening only on a Unix socket in that dir, `pg_ctl stop` when dropped.
//!
//! `initdb` refuses to run as root, so when this process is root the server's files belong to
//! the `postgres` user and its commands run through `runuser -u postgres` (or `su postgres`).

use std::path::{Path, PathBuf};
use std::process::Command;

use tokio_postgres::{Client, NoTls};

use crate::TempDir;

/// Where the Debian package puts the PostgreSQL 15 binaries.
pub const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

pub struct PgServer {
    dir: TempDir,
    bin: PathBuf,
    as_postgres: bool,
    port: u16,
    running: bool,
}

impl PgServer {
    /// Whether the PostgreSQL binaries are there to start a server.
    pub fn available(bin: &Path) -> bool {
        bin.join("initdb").exists() && bin.join("pg_ctl").exists()
    }

    /// Creates a cluster (C locale, trust authentication) and starts it, without durability
    /// (`fsync`, `synchronous_commit` and `full_page_writes` off): the oracle only compares
    /// answers.
    pub fn start(bin: &Path) -> Result<PgServer, String> {
        PgServer::start_with(bin, false)
    }

    /// Like [`PgServer::start`]; with `durable`, PostgreSQL's default durability settings are
    /// kept (a commit waits for its WAL flush), as a benchmark's baseline needs.
    pub fn start_with(bin: &Path, durable: bool) -> Result<PgServer, String> {
        let dir = TempDir::new("evert-oracle-pg");
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir.0))?;
        }
        let port = free_port();
        let mut server = PgServer {
            dir,
            bin: bin.to_path_buf(),
            as_postgres,
            port,
            running: false,
        };
        let data = server.data_dir();
        server.pg_command(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let durability = if durable {
            ""
        } else {
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        };
        let options = format!(
            "-p {port} -k {} -c listen_addresses=''{durability} -c TimeZone=UTC",
            server.dir.0.display()
        );
        let log = server.dir.0.join("log").display().to_string();
        server.pg_command(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        )?;
        server.running = true;
        Ok(server)
    }

    fn data_dir(&self) -> String {
        self.dir.0.join("data").display().to_string()
    }

    fn pg_command(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            if Path::new("/usr/sbin/runuser").exists() || Path::new("/sbin/runuser").exists() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&path).args(args);
                c
            } else {
                let quoted: Vec<String> = std::iter::once(path.display().to_string())
                    .chain(args.iter().map(|a| a.to_string()))
                    .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
                    .collect();
                let mut c = Command::new("su");
                c.args(["postgres", "-c", &quoted.join(" ")]);
                c
            }
        } else {
            let mut c = Command::new(&path);
            c.args(args);
            c
        };
        run(&mut command)
    }

    /// A connection string for `tokio-postgres` (Unix socket in the temp dir).
    pub fn connection_string(&self, database: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={database}",
            self.dir.0.display(),
            self.port
        )
    }

    pub async fn connect(&self, database: &str) -> Result<Client, String> {
        let (client, connection) =
            tokio_postgres::connect(&self.connection_string(database), NoTls)
                .await
                .map_err(|e| format!("connect to postgres: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            let data = self.data_dir();
            let _ = self.pg_command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(55432)
}
