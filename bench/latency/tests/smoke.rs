//! The benchmark in miniature, so that `cargo test --workspace` keeps it working; the
//! PostgreSQL baseline runs too where PostgreSQL 15 is installed (as in CI).

use std::time::Duration;

use evert_bench_common::Postgres;
use evert_bench_latency::{csv, run, run_postgres, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn smoke_run_measures_every_write_on_both_transports_and_in_postgres() {
    let config = Config::smoke();
    let report = run(&config).await.expect("the benchmark runs");
    eprint!("{report}");
    assert_eq!(report.writes, config.writes as usize);
    for latencies in [&report.pgwire, &report.websocket] {
        assert_eq!(
            latencies.len(),
            config.writes as usize,
            "every write arrived once"
        );
        assert!(latencies.percentile(50.0) <= latencies.percentile(99.0));
        assert!(latencies.percentile(99.0) <= latencies.max());
        assert!(
            latencies.max() < Duration::from_secs(5),
            "a change took {:?}",
            latencies.max()
        );
    }

    let pg = Postgres::open(None).expect("PostgreSQL starts");
    let pg_report = match &pg {
        Some(pg) => {
            let r = run_postgres(&config, pg).await.expect("the baseline runs");
            eprint!("{r}");
            assert_eq!(r.latencies.len(), config.writes as usize);
            assert!(r.refreshes >= 1 && r.refreshes <= config.writes as usize);
            Some(r)
        }
        None => {
            eprintln!("PostgreSQL 15 is not installed: the baseline is not exercised");
            None
        }
    };
    let table = csv(&config, &report, pg_report.as_ref());
    assert_eq!(table.rows().len(), 2 + usize::from(pg_report.is_some()));
}
