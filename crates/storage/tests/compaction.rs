//! Compaction keeps a complete snapshot and drops superseded history, crash-safely.

mod common;

use std::collections::BTreeMap;

use common::*;
use evert_repr::{Row, Timestamp};
use evert_storage::testing::CrashPoint;
use evert_storage::StorageError;

fn value_row(key: i64, version: u64) -> Row {
    row(key, &format!("value version {version}"))
}

#[test]
fn compacting_a_rewritten_table_leaves_one_snapshot() {
    let dir = TestDir::new("compaction-size");
    let mut config = dir.config();
    config.segment_bytes = 256 << 10;
    let (mut log, _) = open(config.clone());
    log.create_collection(U1).unwrap();
    log.create_collection(U2).unwrap();
    log.commit(
        1,
        &[(U1, (0..1000).map(|k| (value_row(k, 0), 1)).collect())],
    )
    .unwrap();
    log.commit(2, &[(U2, vec![(row(1, "bystander"), 1)])])
        .unwrap();
    // 200 commits, each replacing every row's value.
    for version in 1..=200u64 {
        let batch = (0..1000)
            .flat_map(|k| [(value_row(k, version - 1), -1), (value_row(k, version), 1)])
            .collect();
        log.commit(2 + version, &[(U1, batch)]).unwrap();
    }
    let latest: Timestamp = 202;
    let bytes_before = log.collection_bytes(U1).unwrap();
    assert!(segment_files(dir.path(), U1).len() > 10);

    let stats = log.compact(U1, latest).unwrap();
    let snapshot: Vec<Row> = (0..1000).map(|k| value_row(k, 200)).collect();
    // What one snapshot costs at minimum: each row plus its diff and length.
    let snapshot_bytes: u64 = snapshot.iter().map(|r| r.byte_len() as u64 + 12).sum();
    assert_eq!(stats.records_before, 1000 + 200 * 2000);
    assert_eq!(stats.records_after, 1000);
    assert_eq!(stats.bytes_before, bytes_before);
    assert_eq!(Some(stats.bytes_after), log.collection_bytes(U1));
    assert!(
        stats.bytes_after <= snapshot_bytes + 1024,
        "{} bytes after compaction for a {snapshot_bytes}-byte snapshot",
        stats.bytes_after
    );
    assert!(stats.bytes_before > 300 * stats.bytes_after);
    // The old segments are gone from disk.
    let files = segment_files(dir.path(), U1);
    assert_eq!(
        files.iter().map(|f| file_len(f)).sum::<u64>(),
        stats.bytes_after
    );
    assert_eq!(files.len(), 1);
    drop(log);

    let (mut log, recovered) = open(config.clone());
    assert!(recovered.repairs.is_empty(), "{:?}", recovered.repairs);
    let u1 = &recovered.collections[&U1];
    assert_eq!(u1.since, latest);
    let mut expected: Vec<_> = snapshot.iter().map(|r| (r.clone(), latest, 1)).collect();
    expected.sort();
    assert_eq!(u1.updates, expected);
    assert_eq!(
        recovered.collections[&U2].updates,
        vec![(row(1, "bystander"), 2, 1)]
    );
    assert_eq!(recovered.collections[&U2].since, 0);

    // The compacted collection takes new commits as usual.
    log.commit(203, &[(U1, vec![(value_row(0, 200), -1)])])
        .unwrap();
    drop(log);
    let (_, recovered) = open(config);
    let contents = accumulate(&recovered.collections[&U1].updates, 203);
    assert_eq!(contents.len(), 999);
    assert!(!contents.contains_key(&value_row(0, 200)));
}

/// Ten commits: time t inserts row t, and even times also delete row t - 1.
fn history(log: &mut evert_storage::Log) -> Vec<(Row, Timestamp, i64)> {
    let mut all = Vec::new();
    for t in 1..=10u64 {
        let mut batch = vec![(row(t as i64, "x"), 1)];
        if t % 2 == 0 {
            batch.push((row(t as i64 - 1, "x"), -1));
        }
        all.extend(at(t, &batch));
        log.commit(t, &[(U1, batch)]).unwrap();
    }
    all
}

fn contents_by_time(
    updates: &[(Row, Timestamp, i64)],
    times: std::ops::RangeInclusive<Timestamp>,
) -> BTreeMap<Timestamp, BTreeMap<Row, i64>> {
    times.map(|t| (t, accumulate(updates, t))).collect()
}

#[test]
fn compaction_preserves_contents_at_and_after_since() {
    let dir = TestDir::new("compaction-semantics");
    let (mut log, _) = open(dir.config());
    log.create_collection(U1).unwrap();
    let original = history(&mut log);

    let stats = log.compact(U1, 5).unwrap();
    assert_eq!(stats.records_before, 15);
    // Rows 1 and 3 were inserted and deleted by time 5, leaving 2, 4 and 5; the eight
    // updates after 5 are kept as they were.
    assert_eq!(stats.records_after, 3 + 8);
    drop(log);
    let (mut log, recovered) = open(dir.config());
    let u1 = &recovered.collections[&U1];
    assert_eq!(u1.since, 5);
    assert!(u1.updates.iter().all(|(_, t, _)| *t >= 5));
    assert_eq!(
        u1.updates[..3],
        at(5, &[(row(2, "x"), 1), (row(4, "x"), 1), (row(5, "x"), 1)])
    );
    assert_eq!(
        contents_by_time(&u1.updates, 5..=10),
        contents_by_time(&original, 5..=10)
    );

    // A smaller since is a no-op.
    let stats = log.compact(U1, 3).unwrap();
    assert_eq!(stats.records_before, stats.records_after);
    assert_eq!(stats.bytes_before, stats.bytes_after);
    // A since past the last commit stops at it, so the latest state stays readable.
    log.compact(U1, 1_000).unwrap();
    drop(log);
    let (_, recovered) = open(dir.config());
    let u1 = &recovered.collections[&U1];
    assert_eq!(u1.since, 10);
    let survivors: Vec<_> = [2, 4, 6, 8, 10].iter().map(|&k| (row(k, "x"), 1)).collect();
    assert_eq!(u1.updates, at(10, &survivors));
}

#[test]
fn compacting_an_empty_or_cancelled_collection() {
    let dir = TestDir::new("compaction-empty");
    let (mut log, _) = open(dir.config());
    log.create_collection(U1).unwrap();
    log.create_collection(U2).unwrap();
    // Nothing committed yet: nothing to do.
    assert_eq!(log.compact(U1, 10).unwrap().records_after, 0);
    log.commit(1, &[(U1, vec![(row(1, "a"), 1)])]).unwrap();
    log.commit(2, &[(U1, vec![(row(1, "a"), -1)])]).unwrap();
    let stats = log.compact(U1, 2).unwrap();
    assert_eq!((stats.records_before, stats.records_after), (2, 0));
    log.compact(U2, 2).unwrap();
    log.commit(
        3,
        &[(U1, vec![(row(2, "b"), 1)]), (U2, vec![(row(3, "c"), 1)])],
    )
    .unwrap();
    drop(log);
    let (_, recovered) = open(dir.config());
    assert_eq!(
        recovered.collections[&U1].updates,
        vec![(row(2, "b"), 3, 1)]
    );
    assert_eq!(
        recovered.collections[&U2].updates,
        vec![(row(3, "c"), 3, 1)]
    );
    assert_eq!(recovered.collections[&U2].since, 2);
}

#[test]
fn a_crash_before_the_switch_keeps_the_old_history() {
    let dir = TestDir::new("compaction-crash-before");
    let mut config = dir.config();
    config.segment_bytes = 300;
    let (mut log, _) = open(config.clone());
    log.create_collection(U1).unwrap();
    let original = history(&mut log);
    let old_files = segment_files(dir.path(), U1);
    log.inject_crash(CrashPoint::BeforeCompactionSwitch);
    let error = log.compact(U1, 8).unwrap_err();
    assert!(matches!(error, StorageError::SimulatedCrash(_)), "{error}");
    drop(log);
    assert!(segment_files(dir.path(), U1).len() > old_files.len());

    let (_, recovered) = open(config);
    assert_eq!(recovered.collections[&U1].since, 0);
    assert_eq!(recovered.collections[&U1].updates, original);
    assert!(
        recovered
            .repairs
            .iter()
            .any(|r| r.contains("orphaned segment")),
        "{:?}",
        recovered.repairs
    );
    assert_eq!(segment_files(dir.path(), U1), old_files);
}

#[test]
fn a_crash_after_the_switch_keeps_the_new_history() {
    let dir = TestDir::new("compaction-crash-after");
    let mut config = dir.config();
    config.segment_bytes = 300;
    let (mut log, _) = open(config.clone());
    log.create_collection(U1).unwrap();
    let original = history(&mut log);
    let old_files = segment_files(dir.path(), U1);
    log.inject_crash(CrashPoint::BeforeCompactionCleanup);
    assert!(log.compact(U1, 8).is_err());
    drop(log);

    let (mut log, recovered) = open(config.clone());
    let u1 = &recovered.collections[&U1];
    assert_eq!(u1.since, 8);
    assert_eq!(
        contents_by_time(&u1.updates, 8..=10),
        contents_by_time(&original, 8..=10)
    );
    assert!(
        recovered
            .repairs
            .iter()
            .any(|r| r.contains("orphaned segment")),
        "{:?}",
        recovered.repairs
    );
    let files = segment_files(dir.path(), U1);
    assert!(files.iter().all(|f| !old_files.contains(f)));
    // New files get new numbers, never an orphan's.
    log.commit(11, &[(U1, vec![(row(11, "x"), 1)])]).unwrap();
    log.compact(U1, 11).unwrap();
    drop(log);
    let (_, recovered) = open(config);
    assert!(recovered.repairs.is_empty(), "{:?}", recovered.repairs);
    let survivors: Vec<_> = [2, 4, 6, 8, 10, 11]
        .iter()
        .map(|&k| (row(k, "x"), 1))
        .collect();
    assert_eq!(recovered.collections[&U1].updates, at(11, &survivors));
}
