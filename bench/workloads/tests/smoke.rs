//! Every workload in miniature, so that `cargo test --workspace` keeps them compiling and
//! running; the PostgreSQL baseline runs too where PostgreSQL 15 is installed (as in CI).

use evert_bench_common::Postgres;
use evert_bench_workloads::{create, ingest, lookup, run_create, run_ingest, run_lookup, System};

fn postgres() -> Option<Postgres> {
    let pg = Postgres::open(None).expect("PostgreSQL starts");
    if pg.is_none() {
        eprintln!("PostgreSQL 15 is not installed: the baseline is not exercised");
    }
    pg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lookup_smoke() {
    let pg = postgres();
    let config = lookup::Config::smoke();
    let results = run_lookup(&config, 2, pg.as_ref()).await.expect("runs");
    let systems = 1 + usize::from(pg.is_some());
    assert_eq!(results.len(), config.clients.len() * systems);
    for r in &results {
        assert!(r.queries > 0, "{r:?}");
        assert!(r.latencies.percentile(50.0) <= r.latencies.percentile(99.0));
    }
    assert_eq!(lookup::csv(&config, &results).rows().len(), results.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingest_smoke() {
    let pg = postgres();
    let config = ingest::Config::smoke();
    let results = run_ingest(&config, 2, pg.as_ref()).await.expect("runs");
    assert_eq!(results.len(), 2 * (1 + usize::from(pg.is_some())));
    for r in &results {
        assert_eq!(r.rows, config.rows(r.method));
        // Views are checked inside `measure`; evert reports when they caught up.
        assert_eq!(r.visible.is_some(), r.system == System::Evert);
        if let Some(v) = r.visible {
            assert!(v >= r.acknowledged);
        }
    }
    assert_eq!(ingest::csv(&results).rows().len(), results.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_smoke() {
    let pg = postgres();
    let config = create::Config::smoke();
    let results = run_create(&config, 2, pg.as_ref()).await.expect("runs");
    // Three views, empty and loaded, per system.
    assert_eq!(results.len(), 6 * (1 + usize::from(pg.is_some())));
    assert_eq!(create::csv(&results).rows().len(), results.len());
}
