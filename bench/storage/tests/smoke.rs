//! Keeps the storage benchmarks compiling and running (tiny sizes; no timing asserted).

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_smoke() {
    let r = evert_bench_storage::group_commit(8, Duration::from_millis(300)).await;
    assert!(r.writes > 0, "writers made progress");
    let commits = r.commits.expect("evert reports commits");
    assert!(
        commits > 0 && commits <= r.writes,
        "{commits} commits for {} writes",
        r.writes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_smoke() {
    let r = evert_bench_storage::replay(3_000).await;
    assert!(
        r.rows_replayed >= 3_000,
        "replayed {} updates for 3000 rows",
        r.rows_replayed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_postgres_smoke() {
    let Some(pg) = evert_bench_common::Postgres::open(None).expect("PostgreSQL starts") else {
        eprintln!("PostgreSQL 15 is not installed: the baseline is not exercised");
        return;
    };
    let r =
        evert_bench_storage::group_commit_postgres(&pg.conninfo(), 8, Duration::from_millis(300))
            .await;
    assert!(r.writes > 0, "writers made progress");
    assert!(r.commits.is_none());
}
