//! Restart: after a stop and start on the same data directory, every table, view, index
//! and materialized view is back with the same contents, and keeps being maintained.

use evert_sqllogictest::{run_simple, TempDir, TestServer};
use sqllogictest::DBOutput;

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<String>> {
    match run_simple(client, sql).await.unwrap() {
        DBOutput::Rows { mut rows, .. } => {
            rows.sort();
            rows
        }
        _ => panic!("{sql} returned no rows"),
    }
}

const QUERIES: &[&str] = &[
    "SELECT * FROM t",
    "SELECT * FROM totals",
    "SELECT * FROM big",
    "SELECT * FROM joined",
    "SELECT k FROM t WHERE v = 'b'",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everything_survives_a_restart() {
    let server = TestServer::start_in(TempDir::new("evert-restart")).await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE t (k int NOT NULL, v text, x numeric(6,2) DEFAULT 1.5);
             CREATE TABLE u (k int, w text);
             INSERT INTO t (k, v) VALUES (1, 'a'), (2, 'b'), (3, 'b');
             INSERT INTO u VALUES (1, 'one'), (3, 'three');
             UPDATE t SET x = 7 WHERE k = 3;
             DELETE FROM u WHERE k = 1;
             CREATE MATERIALIZED VIEW totals AS SELECT v, count(*) AS n, sum(x) AS s FROM t GROUP BY v;
             CREATE VIEW big AS SELECT * FROM t WHERE x > 2;
             CREATE MATERIALIZED VIEW joined AS SELECT t.k, u.w FROM t JOIN u ON t.k = u.k;
             CREATE INDEX t_v ON t (v);",
        )
        .await
        .unwrap();
    let mut before = Vec::new();
    for q in QUERIES {
        before.push(rows(&client, q).await);
    }
    assert_eq!(
        before[1],
        vec![
            vec!["a".to_string(), "1".into(), "1.50".into()],
            vec!["b".into(), "2".into(), "8.50".into()]
        ]
    );
    drop(client);
    let dir = server.stop_keep().await;

    let server = TestServer::start_in(dir).await;
    let client = server.connect().await;
    for (q, expected) in QUERIES.iter().zip(&before) {
        assert_eq!(&rows(&client, q).await, expected, "{q} after restart");
    }
    let indexes = rows(&client, "SHOW INDEXES").await;
    assert_eq!(
        indexes,
        vec![vec!["t_v".to_string(), "t".into(), "{v}".into()]]
    );
    // Views are still maintained after the restart.
    client
        .batch_execute("INSERT INTO t (k, v) VALUES (4, 'a'); INSERT INTO u VALUES (4, 'four');")
        .await
        .unwrap();
    assert_eq!(
        rows(&client, "SELECT * FROM totals").await[0],
        vec!["a".to_string(), "2".into(), "3.00".into()]
    );
    assert!(rows(&client, "SELECT * FROM joined")
        .await
        .contains(&vec!["4".to_string(), "four".into()]));
    // And a second restart sees the writes made after the first.
    drop(client);
    let dir = server.stop_keep().await;
    let server = TestServer::start_in(dir).await;
    let client = server.connect().await;
    assert_eq!(
        rows(&client, "SELECT count(*) FROM t").await,
        vec![vec!["4".to_string()]]
    );
    server.stop().await;
}

/// A unique index is a constraint that must survive a restart, and DROP INDEX after the
/// restart removes it (durably).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unique_index_survives_a_restart() {
    let server = TestServer::start_in(TempDir::new("evert-restart-unique")).await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE t (a int, b text);
             INSERT INTO t VALUES (1, 'x'), (2, 'y'), (NULL, 'z');
             CREATE UNIQUE INDEX t_a ON t (a);
             CREATE UNIQUE INDEX ON t (b);",
        )
        .await
        .unwrap();
    drop(client);
    let dir = server.stop_keep().await;

    let server = TestServer::start_in(dir).await;
    let client = server.connect().await;
    let err = client
        .batch_execute("INSERT INTO t VALUES (1, 'w')")
        .await
        .expect_err("the unique index is enforced after a restart");
    let db = err.as_db_error().expect("a database error");
    assert_eq!(db.code().code(), "23505");
    assert_eq!(
        db.message(),
        "duplicate key value violates unique constraint \"t_a\""
    );
    assert_eq!(db.detail(), Some("Key (a)=(1) already exists."));
    let err = client
        .batch_execute("INSERT INTO t VALUES (3, 'x')")
        .await
        .expect_err("the unnamed unique index keeps its name and is enforced");
    assert_eq!(
        err.as_db_error().map(|d| d.message().to_string()),
        Some("duplicate key value violates unique constraint \"t_b_idx\"".to_string())
    );
    client
        .batch_execute("INSERT INTO t VALUES (NULL, 'w'); DROP INDEX t_a;")
        .await
        .unwrap();
    drop(client);
    let dir = server.stop_keep().await;

    // The dropped index stays dropped; the other is still enforced.
    let server = TestServer::start_in(dir).await;
    let client = server.connect().await;
    client
        .batch_execute("INSERT INTO t VALUES (1, 'v')")
        .await
        .unwrap();
    assert!(client
        .batch_execute("INSERT INTO t VALUES (5, 'v')")
        .await
        .is_err());
    assert_eq!(
        rows(&client, "SELECT a, b FROM t WHERE a = 1").await,
        vec![
            vec!["1".to_string(), "v".into()],
            vec!["1".to_string(), "x".into()]
        ]
    );
    server.stop().await;
}
