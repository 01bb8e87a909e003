//! The benchmark in miniature (`--smoke`), so that `cargo test --workspace` keeps every
//! query planning and running in evert and every baseline running.

use std::path::Path;

use evert_bench_nexmark::{csv, queries, run, Config};

#[test]
fn smoke_run_measures_every_query_and_baseline() {
    let config = Config::smoke();
    let exe = Path::new(env!("CARGO_BIN_EXE_evert-bench-nexmark"));
    let measurements = run(&config, exe, |m| {
        eprintln!(
            "{} {} workers={} {:.2}s peak {:.0} MiB",
            m.query, m.system, m.workers, m.seconds, m.peak_rss_mb
        )
    })
    .expect("every query runs");
    let evert = measurements.iter().filter(|m| m.system == "evert").count();
    let handwritten = measurements
        .iter()
        .filter(|m| m.system == "handwritten")
        .count();
    assert_eq!(evert, queries::QUERIES.len() * config.workers.len());
    assert_eq!(
        handwritten,
        queries::HANDWRITTEN.len() * config.workers.len()
    );
    for m in &measurements {
        assert!(m.seconds > 0.0, "{m:?}");
        // Source-fed runs report the offset when the view was created; baselines do not.
        assert_eq!(m.before_view.is_some(), m.system == "evert", "{m:?}");
        assert!(m.peak_rss_mb > 1.0 && m.peak_rss_mb.is_finite(), "{m:?}");
    }
    let text = csv(&measurements);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("query,system,workers,events,seconds,events_per_s,peak_rss_mb,before_view")
    );
    assert_eq!(lines.count(), measurements.len());
}
