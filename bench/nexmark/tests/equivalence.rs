//! Each hand-written baseline computes what its query's SQL computes: on the same events,
//! its final output equals the contents of evert's materialized view.

use std::path::Path;

use evert_bench_nexmark::{evert, handwritten, queries, Feed, Workload, DEFAULT_EVENTS_PER_SECOND};

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
        let expected = evert::run(exe, query, 2, &workload, Feed::Copy, true)
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

/// The source-fed run sees the same events as the COPY-fed one: on the same events the two
/// views are equal, for a join (q3), an aggregate over windows (q5) and a window join (q8).
#[test]
fn the_source_feeds_evert_the_same_events_as_copy() {
    let exe = Path::new(env!("CARGO_BIN_EXE_evert-bench-nexmark"));
    let workload = Workload {
        events: 25_000,
        batch: 3_000,
        events_per_second: DEFAULT_EVENTS_PER_SECOND,
    };
    for query in ["q3", "q5", "q8"] {
        let source = evert::run(exe, query, 2, &workload, Feed::Source, true)
            .unwrap_or_else(|e| panic!("{query} fed by the source: {e}"));
        let copy = evert::run(exe, query, 2, &workload, Feed::Copy, true)
            .unwrap_or_else(|e| panic!("{query} fed by COPY: {e}"));
        let (source_rows, copy_rows) = (
            normalize(source.rows.expect("rows")),
            normalize(copy.rows.expect("rows")),
        );
        eprintln!(
            "{query}: {} rows; {:?} events before the view",
            copy_rows.len(),
            source.before_view
        );
        assert!(
            !copy_rows.is_empty(),
            "{query}: an empty result checks nothing"
        );
        assert_eq!(
            source_rows, copy_rows,
            "{query}: source-fed and COPY-fed views differ"
        );
        assert!(
            source.before_view.is_some_and(|n| n <= workload.events),
            "{query}: {:?}",
            source.before_view
        );
    }
}
