//! psql's backslash commands against evert, through the real `psql` binary: each command
//! sends its own catalog queries (pg_catalog.slt replays those of `\d`, `\du` and `\df`
//! captured with `psql -E`); here the whole round trip, including psql's own formatting of
//! the results, must give what a user of PostgreSQL 15 would see.
//!
//! Needs `psql` on the PATH; without it the test says so and passes.

use std::process::Command;

use evert_sqllogictest::TestServer;

/// Runs one psql command (unaligned output, no psqlrc) and returns its standard output.
fn psql(port: u16, command: &str) -> String {
    let output = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "evert",
            "-d",
            "materialize",
            "-c",
            command,
        ])
        .output()
        .expect("run psql");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "psql -c '{command}' failed ({}):\n{stderr}",
        output.status
    );
    String::from_utf8(output.stdout).expect("psql output is UTF-8")
}

fn have_psql() -> bool {
    Command::new("psql")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backslash_commands() {
    if !have_psql() {
        eprintln!("psql is not installed: skipping the psql backslash-command test");
        return;
    }
    let server = TestServer::start().await;
    let port = server.port();
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE psql_t (a int NOT NULL, b text);
             CREATE MATERIALIZED VIEW psql_mv AS SELECT a FROM psql_t;",
        )
        .await
        .unwrap();
    // Port and server stay alive while the blocking psql runs on another thread.
    let run = |command: &'static str| tokio::task::spawn_blocking(move || psql(port, command));

    assert_eq!(
        run("\\du").await.unwrap(),
        "List of roles\n\
         Role name|Attributes|Member of\n\
         evert|Superuser, Create role, Create DB, Bypass RLS|{}\n"
    );
    assert_eq!(
        run("\\dg").await.unwrap(),
        "List of roles\n\
         Role name|Attributes|Member of\n\
         evert|Superuser, Create role, Create DB, Bypass RLS|{}\n"
    );
    assert_eq!(
        run("\\df").await.unwrap(),
        "List of functions\n\
         Schema|Name|Result data type|Argument data types|Type\n\
         (0 rows)\n"
    );
    assert_eq!(
        run("\\df+ abs").await.unwrap(),
        "List of functions\n\
         Schema|Name|Result data type|Argument data types|Type|Volatility|Parallel|Owner|Security|Access privileges|Language|Source code|Description\n\
         (0 rows)\n"
    );
    assert_eq!(
        run("\\dt psql_*").await.unwrap(),
        "List of relations\n\
         Schema|Name|Type|Owner\n\
         public|psql_t|table|evert\n\
         (1 row)\n"
    );
    assert_eq!(
        run("\\dm").await.unwrap(),
        "List of relations\n\
         Schema|Name|Type|Owner\n\
         public|psql_mv|materialized view|evert\n\
         (1 row)\n"
    );
    server.stop().await;
}
