//! Each hand-written baseline computes what its query's SQL computes: on the same events,
//! its final output equals the contents of evert's materialized view.

use std::path::Path;

use evert_bench_nexmark::{evert, handwritten, queries, Workload};

/// Numbers with a fractional part are compared rounded to 6 decimals: evert's numeric
/// averages carry PostgreSQL's result scale, the baselines' their own.
fn normalize(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|field| match field.parse::<f64>() {
                    Ok(v) if field.contains('.') => format!("{v:.6}"),
                    _ => field,
                })
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn handwritten_baselines_equal_evert_views() {
    let exe = Path::new(env!("CARGO_BIN_EXE_evert-bench-nexmark"));
    // 100 events per second of event time: 6,000 events span a minute, six 10 s windows
    // and thirty 2 s hops, with people, auctions and bids spread across them.
    let workload = Workload {
        events: 6_000,
        batch: 700,
        events_per_second: 100,
    };
    for query in queries::HANDWRITTEN {
        let expected = evert::run(exe, query, 2, &workload, true)
            .unwrap_or_else(|e| panic!("{query} in evert: {e}"))
            .rows
            .expect("rows");
        let actual = handwritten::run(query, 2, &workload, true)
            .unwrap_or_else(|e| panic!("{query} hand-written: {e}"))
            .rows
            .expect("rows");
        let (expected, actual) = (normalize(expected), normalize(actual));
        eprintln!("{query}: {} rows", expected.len());
        assert!(
            !expected.is_empty(),
            "{query}: an empty result checks nothing"
        );
        if expected != actual {
            let missing: Vec<_> = expected
                .iter()
                .filter(|r| !actual.contains(r))
                .take(5)
                .collect();
            let extra: Vec<_> = actual
                .iter()
                .filter(|r| !expected.contains(r))
                .take(5)
                .collect();
            panic!(
                "{query}: evert has {} rows, the baseline {}; in evert only: {missing:?}; in the baseline only: {extra:?}",
                expected.len(),
                actual.len()
            );
        }
    }
}
