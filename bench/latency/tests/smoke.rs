//! The benchmark in miniature, so that `cargo test --workspace` keeps it working.

use std::time::Duration;

use evert_bench_latency::{run, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn smoke_run_measures_every_write_on_both_transports() {
    let config = Config::smoke();
    let report = run(&config).await.expect("the benchmark runs");
    eprint!("{report}");
    assert_eq!(report.writes, config.writes as usize);
    for latencies in [&report.pgwire, &report.websocket] {
        assert_eq!(
            latencies.0.len(),
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
}
