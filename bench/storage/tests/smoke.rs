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
