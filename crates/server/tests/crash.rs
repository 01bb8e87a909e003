//! Crash recovery: the `evert` process is killed with SIGKILL at random moments while
//! writers run. After every restart, every acknowledged write is present, nothing that was
//! not attempted appears, a transaction is either wholly present or wholly absent, and every
//! materialized view equals its query recomputed from the tables.
//!
//! `EVERT_CRASH_CYCLES` sets the number of kill cycles (default 20; run 100+ by hand).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{connect, rows, start, wait_exit, walk};
use rand::{Rng, SeedableRng};
use tokio_postgres::Client;

#[derive(Default)]
struct Ledger {
    /// Rows whose INSERT was acknowledged.
    acked: BTreeSet<(i64, i64)>,
    /// Rows whose INSERT was sent (acknowledged or not).
    attempted: BTreeSet<(i64, i64)>,
    /// Transaction ids whose COMMIT was acknowledged / sent.
    txn_acked: BTreeSet<i64>,
    txn_attempted: BTreeSet<i64>,
}

async fn verify(client: &Client, ledger: &Ledger, cycle: usize) {
    let present: BTreeSet<(i64, i64)> = rows(client, "SELECT writer, seq FROM w")
        .await
        .into_iter()
        .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
        .collect();
    let missing: Vec<_> = ledger.acked.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "cycle {cycle}: {} acknowledged writes lost ({} present): {:?}",
        missing.len(),
        present.len(),
        &missing[..missing.len().min(20)]
    );
    let invented: Vec<_> = present.difference(&ledger.attempted).collect();
    assert!(
        invented.is_empty(),
        "cycle {cycle}: rows nobody wrote: {invented:?}"
    );

    // Transactions are all or nothing: both halves or neither.
    let a: BTreeSet<i64> = rows(client, "SELECT k FROM a")
        .await
        .into_iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    let b: BTreeSet<i64> = rows(client, "SELECT k FROM b")
        .await
        .into_iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    assert_eq!(a, b, "cycle {cycle}: a transaction was half applied");
    let lost: Vec<_> = ledger.txn_acked.difference(&a).collect();
    assert!(
        lost.is_empty(),
        "cycle {cycle}: acknowledged transactions lost: {lost:?} (present: {a:?})"
    );
    assert!(
        a.is_subset(&ledger.txn_attempted),
        "cycle {cycle}: transactions nobody ran"
    );

    // Every view equals its query recomputed from the tables.
    assert_eq!(
        rows(client, "SELECT * FROM per_writer").await,
        rows(
            client,
            "SELECT writer, count(*), max(seq) FROM w GROUP BY writer"
        )
        .await,
        "cycle {cycle}: per_writer differs from its query"
    );
    assert_eq!(
        rows(client, "SELECT * FROM pairs").await,
        rows(client, "SELECT a.k, b.v FROM a JOIN b ON a.k = b.k").await,
        "cycle {cycle}: pairs differs from its query"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let cycles: usize = std::env::var("EVERT_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20);
    let root = std::env::temp_dir().join(format!("evert-crash-{}-{}", std::process::id(), cycles));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let dir: PathBuf = root.join("data");
    let log = root.join("evert.log");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC0FFEE);
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let mut server = start(&dir, &log);
    let client = connect(server.port, Duration::from_secs(30)).await;
    client
        .batch_execute(
            "CREATE TABLE w (writer bigint NOT NULL, seq bigint NOT NULL);
             CREATE TABLE a (k bigint);
             CREATE TABLE b (k bigint, v text);
             CREATE MATERIALIZED VIEW per_writer AS SELECT writer, count(*) AS n, max(seq) AS last FROM w GROUP BY writer;
             CREATE MATERIALIZED VIEW pairs AS SELECT a.k, b.v FROM a JOIN b ON a.k = b.k;",
        )
        .await
        .unwrap();
    let mut next_seq = 0i64;
    let mut next_txn = 0i64;
    for cycle in 0..cycles {
        // Writers: four single-row writers and one transactional writer.
        let mut tasks = Vec::new();
        for writer in 0..4i64 {
            let ledger = Arc::clone(&ledger);
            let port = server.port;
            let start_seq = next_seq;
            tasks.push(tokio::spawn(async move {
                let client = connect(port, Duration::from_secs(10)).await;
                let mut seq = start_seq;
                loop {
                    ledger.lock().unwrap().attempted.insert((writer, seq));
                    match client
                        .execute("INSERT INTO w VALUES ($1, $2)", &[&writer, &seq])
                        .await
                    {
                        Ok(_) => ledger.lock().unwrap().acked.insert((writer, seq)),
                        Err(_) => return,
                    };
                    seq += 1;
                }
            }));
        }
        next_seq += 1_000_000;
        {
            let ledger = Arc::clone(&ledger);
            let port = server.port;
            let start_txn = next_txn;
            tasks.push(tokio::spawn(async move {
                let client = connect(port, Duration::from_secs(10)).await;
                let mut k = start_txn;
                loop {
                    ledger.lock().unwrap().txn_attempted.insert(k);
                    let sql = format!("BEGIN; INSERT INTO a VALUES ({k}); INSERT INTO b VALUES ({k}, 'v{k}'); COMMIT;");
                    match client.batch_execute(&sql).await {
                        Ok(_) => ledger.lock().unwrap().txn_acked.insert(k),
                        Err(_) => return,
                    };
                    k += 1;
                }
            }));
        }
        next_txn += 1_000_000;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
        server.child.kill().expect("SIGKILL evert");
        let _ = server.child.wait();
        for t in tasks {
            let _ = t.await;
        }
        // Restart and check everything.
        server = start(&dir, &log);
        let client = connect(server.port, Duration::from_secs(60)).await;
        let snapshot = std::mem::take(&mut *ledger.lock().unwrap());
        verify(&client, &snapshot, cycle).await;
        *ledger.lock().unwrap() = snapshot;
    }
    let acked = ledger.lock().unwrap().acked.len();
    assert!(
        acked > cycles * 10,
        "writers made too little progress ({acked} acknowledged rows in {cycles} cycles)"
    );
    server.child.kill().unwrap();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&root);
}

/// Damage in the middle of a log must stop start-up with a clear error, not serve data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corruption_mid_log_stops_startup() {
    let root = std::env::temp_dir().join(format!("evert-corrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let dir = root.join("data");
    let log = root.join("evert.log");
    let mut server = start(&dir, &log);
    let client = connect(server.port, Duration::from_secs(30)).await;
    client
        .batch_execute("CREATE TABLE t (k int, v text)")
        .await
        .unwrap();
    for i in 0..20 {
        client
            .batch_execute(&format!(
                "INSERT INTO t VALUES ({i}, 'some text to make the record longer')"
            ))
            .await
            .unwrap();
    }
    server.child.kill().unwrap();
    let _ = server.child.wait();
    // Flip a byte in the middle of the table's segment (not in its last record).
    let mut segments = Vec::new();
    for entry in walk(&dir.join("log").join("collections")) {
        if entry.extension().is_some_and(|e| e == "seg")
            && !entry.to_string_lossy().contains("/s1/")
        {
            segments.push(entry);
        }
    }
    assert_eq!(segments.len(), 1, "{segments:?}");
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&segments[0], &bytes).unwrap();
    let mut server = start(&dir, &log);
    let status = wait_exit(&mut server.child, Duration::from_secs(30))
        .expect("evert must refuse to start on a corrupt log");
    assert!(!status.success());
    let messages = std::fs::read_to_string(&log).unwrap();
    assert!(
        messages.contains("corrupt"),
        "the log should explain the corruption:\n{messages}"
    );
    let _ = std::fs::remove_dir_all(&root);
}
