//! Compaction: updating the same rows over and over keeps the data directory proportional
//! to the live data, and a restart replays only the compacted log.

use std::path::Path;
use std::time::Duration;

use evert_sqllogictest::{run_simple, TempDir, TestServer};
use sqllogictest::DBOutput;

const ROWS: usize = 1_000;
const ROUNDS: usize = 1_000;

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                total += dir_bytes(&p);
            } else if let Ok(m) = e.metadata() {
                total += m.len();
            }
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updating_the_same_rows_keeps_the_log_small() {
    let server = TestServer::start_in(TempDir::new("evert-compaction")).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE t (k int, v bigint, pad text) WITH (RETAIN HISTORY FOR '0s');
             INSERT INTO t SELECT g, 0, repeat('x', 100) FROM generate_series(1, {ROWS}) AS g;
             CREATE MATERIALIZED VIEW s AS SELECT count(*) AS n, sum(v) AS total FROM t;"
        ))
        .await
        .unwrap();
    let data = server.dir.0.join("data");
    let live_estimate = dir_bytes(&data);
    // One million row updates: every row, a thousand times.
    let mut peak = 0;
    for round in 0..ROUNDS {
        client
            .batch_execute("UPDATE t SET v = v + 1")
            .await
            .unwrap();
        if round % 50 == 0 {
            peak = peak.max(dir_bytes(&data));
        }
    }
    let DBOutput::Rows { rows, .. } = run_simple(&client, "SELECT n, total FROM s").await.unwrap()
    else {
        panic!("rows")
    };
    assert_eq!(
        rows,
        vec![vec![ROWS.to_string(), (ROWS * ROUNDS).to_string()]]
    );
    // Give the compactor a moment, then measure.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let settled = dir_bytes(&data);
    peak = peak.max(settled);
    // Without compaction the log would hold 2 million updates (over 200 MB). With no
    // retention window asked for, only the changes since the last compaction are extra.
    let bound = 8 * live_estimate.max(200_000);
    assert!(peak < bound, "data directory peaked at {peak} bytes; live data is about {live_estimate} bytes (bound {bound})");
    eprintln!("live ~{live_estimate} B, peak {peak} B, settled {settled} B");

    drop(client);
    let dir = server.stop_keep().await;
    let server = TestServer::start_in(dir).await;
    let replayed = server
        .handle
        .as_ref()
        .unwrap()
        .adapter
        .metrics()
        .rows_replayed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        replayed < (ROWS * 20) as u64,
        "restart replayed {replayed} updates; the compacted log should hold about {ROWS}"
    );
    let client = server.connect().await;
    let DBOutput::Rows { rows, .. } = run_simple(&client, "SELECT n, total FROM s").await.unwrap()
    else {
        panic!("rows")
    };
    assert_eq!(
        rows,
        vec![vec![ROWS.to_string(), (ROWS * ROUNDS).to_string()]]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn default_retention_settles_once_writes_stop() {
    // With the default one-second window, history written in the last second is kept; once
    // writes stop and the window passes, the log shrinks back to about the live data.
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE t (k int, v bigint, pad text); INSERT INTO t SELECT g, 0, repeat('x', 100) FROM generate_series(1, 1000) AS g;")
        .await
        .unwrap();
    let data = server.dir.0.join("data");
    let live_estimate = dir_bytes(&data);
    for _ in 0..100 {
        client
            .batch_execute("UPDATE t SET v = v + 1")
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut size = dir_bytes(&data);
    while size > 4 * live_estimate.max(200_000) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        size = dir_bytes(&data);
    }
    assert!(
        size <= 4 * live_estimate.max(200_000),
        "log did not settle: {size} bytes for about {live_estimate} live"
    );
    // ALTER changes the window, durably.
    client
        .batch_execute("ALTER TABLE t SET (RETAIN HISTORY FOR '1h')")
        .await
        .unwrap();
    let DBOutput::Rows { rows, .. } = run_simple(&client, "SHOW CREATE TABLE t").await.unwrap()
    else {
        panic!("rows")
    };
    assert!(rows[0][1].contains("RETAIN HISTORY FOR '1h'"), "{rows:?}");
    server.stop().await;
}
