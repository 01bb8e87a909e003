//! Concurrent writers: N clients insert at once; every acknowledged row is in the table and
//! the materialized view counts exactly what each client wrote. Group commit shares fsyncs.

use evert_sqllogictest::{run_simple, TestServer};
use sqllogictest::DBOutput;

const CLIENTS: usize = 8;
const ROWS_PER_CLIENT: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_all_land() {
    let server = TestServer::start().await;
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE TABLE w (client int, i int); CREATE MATERIALIZED VIEW per_client AS SELECT client, count(*) AS n, sum(i) AS s FROM w GROUP BY client;")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let port = server.port();
        tasks.push(tokio::spawn(async move {
            let client = evert_sqllogictest::connect(port).await;
            for i in 0..ROWS_PER_CLIENT {
                client
                    .execute("INSERT INTO w VALUES ($1, $2)", &[&(c as i32), &(i as i32)])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let expected_sum = (ROWS_PER_CLIENT * (ROWS_PER_CLIENT - 1) / 2).to_string();
    let DBOutput::Rows { mut rows, .. } = run_simple(&setup, "SELECT client, n, s FROM per_client")
        .await
        .unwrap()
    else {
        panic!("rows")
    };
    rows.sort_by_key(|r| r[0].parse::<i32>().unwrap());
    assert_eq!(rows.len(), CLIENTS);
    for (c, row) in rows.iter().enumerate() {
        assert_eq!(
            row,
            &vec![
                c.to_string(),
                ROWS_PER_CLIENT.to_string(),
                expected_sum.clone()
            ]
        );
    }
    // Concurrent inserts shared commits: fewer fsync groups than statements.
    let metrics = server.handle.as_ref().unwrap().adapter.metrics();
    let commits = metrics.commits.load(std::sync::atomic::Ordering::Relaxed);
    let requests = metrics
        .commit_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(requests as usize >= CLIENTS * ROWS_PER_CLIENT);
    assert!(
        commits < requests,
        "group commit should batch concurrent writers: {commits} commits for {requests} requests"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_never_double_count() {
    // Read-modify-write statements serialize: each increments a counter exactly once.
    let server = TestServer::start().await;
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE TABLE c (id int, n int); INSERT INTO c VALUES (1, 0);")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let port = server.port();
        tasks.push(tokio::spawn(async move {
            let client = evert_sqllogictest::connect(port).await;
            for _ in 0..20 {
                client
                    .batch_execute("UPDATE c SET n = n + 1 WHERE id = 1")
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let DBOutput::Rows { rows, .. } = run_simple(&setup, "SELECT id, n FROM c").await.unwrap()
    else {
        panic!("rows")
    };
    assert_eq!(rows, vec![vec!["1".to_string(), "80".to_string()]]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn views_created_while_writers_run_are_correct() {
    // CREATE MATERIALIZED VIEW starts from a consistent snapshot of the log and then follows
    // it; writers keep writing throughout (they wait only for the statement itself).
    let server = TestServer::start().await;
    let setup = server.connect().await;
    setup.batch_execute("CREATE TABLE ev (k int, v int); INSERT INTO ev SELECT g % 10, g FROM generate_series(1, 2000) AS g;").await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let port = server.port();
        let stop = std::sync::Arc::clone(&stop);
        writers.push(tokio::spawn(async move {
            let client = evert_sqllogictest::connect(port).await;
            let mut written = 0;
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                client
                    .execute(
                        "INSERT INTO ev VALUES ($1, $2)",
                        &[&(w * 1000 + i % 10), &i],
                    )
                    .await
                    .unwrap();
                if i % 7 == 0 {
                    client
                        .execute(
                            "DELETE FROM ev WHERE k = $1 AND v = $2",
                            &[&(w * 1000 + i % 10), &(i - 7)],
                        )
                        .await
                        .unwrap();
                }
                written += 1;
                i += 1;
            }
            written
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    setup
        .batch_execute("CREATE MATERIALIZED VIEW stats AS SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM ev GROUP BY k")
        .await
        .unwrap();
    let ddl = started.elapsed();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for w in writers {
        total += w.await.unwrap();
    }
    assert!(total > 0, "writers made progress");
    let view = run_simple(&setup, "SELECT * FROM stats").await.unwrap();
    let query = run_simple(
        &setup,
        "SELECT k, count(*), sum(v), min(v), max(v) FROM ev GROUP BY k",
    )
    .await
    .unwrap();
    let (DBOutput::Rows { rows: mut a, .. }, DBOutput::Rows { rows: mut b, .. }) = (view, query)
    else {
        panic!("rows")
    };
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "the view must equal its query recomputed from the table"
    );
    assert!(a.len() >= 10);
    eprintln!("CREATE MATERIALIZED VIEW took {ddl:?} while {total} writes ran");
    server.stop().await;
}

/// A transaction that wrote to a table before another session made a unique index on it:
/// its COMMIT checks the new constraint, so the duplicate it holds is refused (PostgreSQL
/// would have made the CREATE INDEX wait for the transaction instead; either way the table
/// never holds a duplicate key).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_checks_a_unique_index_created_meanwhile() {
    let server = TestServer::start().await;
    let first = server.connect().await;
    let second = server.connect().await;
    first
        .batch_execute("CREATE TABLE d (k int); INSERT INTO d VALUES (1)")
        .await
        .unwrap();
    first
        .batch_execute("BEGIN; INSERT INTO d VALUES (1), (2)")
        .await
        .unwrap();
    // The table has no duplicate yet: the transaction's rows are not committed.
    second
        .batch_execute("CREATE UNIQUE INDEX d_k ON d (k)")
        .await
        .unwrap();
    let err = first
        .batch_execute("COMMIT")
        .await
        .expect_err("the transaction's duplicate is refused at COMMIT");
    assert_eq!(err.as_db_error().map(|e| e.code().code()), Some("23505"));
    match run_simple(&second, "SELECT count(*) FROM d").await.unwrap() {
        DBOutput::Rows { rows, .. } => assert_eq!(rows, vec![vec!["1".to_string()]]),
        _ => panic!("SELECT returned no rows"),
    }
    // The session is usable afterwards.
    first
        .batch_execute("INSERT INTO d VALUES (2)")
        .await
        .unwrap();
    server.stop().await;
}
