//! The log's contract when nothing goes wrong: what is committed comes back, in order, and
//! bad requests are refused without touching the disk.

mod common;

use common::*;
use evert_repr::GlobalId;
use evert_storage::{Log, StorageError};

#[test]
fn new_directory_opens_empty() {
    let dir = TestDir::new("new-directory");
    let (log, recovered) = open(dir.config());
    assert_eq!(recovered.upper, 0);
    assert_eq!(log.upper(), 0);
    assert!(recovered.collections.is_empty());
    assert!(recovered.repairs.is_empty());
    assert!(dir.path().join("MANIFEST").is_file());
}

#[test]
fn commits_to_several_collections_round_trip() {
    let dir = TestDir::new("round-trip");
    let (mut log, _) = open(dir.config());
    for id in [U1, U2, S1] {
        log.create_collection(id).unwrap();
    }
    let b10_u1 = vec![(row(1, "one"), 1), (row(2, "two"), 1)];
    let b10_s1 = vec![(row(100, "sys"), 3)];
    let b20_u2 = vec![(row(5, "five"), 1)];
    let b30_u1 = vec![(row(1, "one"), -1), (row(1, "uno"), 1)];
    log.commit(10, &[(U1, b10_u1.clone()), (S1, b10_s1.clone())])
        .unwrap();
    log.commit(20, &[(U2, b20_u2.clone()), (U1, vec![])])
        .unwrap();
    log.commit(30, &[(U1, b30_u1.clone())]).unwrap();
    // A commit with no batches still advances time.
    log.commit(40, &[]).unwrap();
    assert_eq!(log.upper(), 41);
    let bytes_u1 = log.collection_bytes(U1).unwrap();
    drop(log);

    for _ in 0..2 {
        let (log, recovered) = open(dir.config());
        assert_eq!(recovered.upper, 41);
        assert!(recovered.repairs.is_empty(), "{:?}", recovered.repairs);
        assert_eq!(recovered.collections.len(), 3);
        let u1 = &recovered.collections[&U1];
        assert_eq!(u1.since, 0);
        assert_eq!(u1.updates, [at(10, &b10_u1), at(30, &b30_u1)].concat());
        assert_eq!(recovered.collections[&U2].updates, at(20, &b20_u2));
        assert_eq!(recovered.collections[&S1].updates, at(10, &b10_s1));
        assert_eq!(log.collection_bytes(U1), Some(bytes_u1));
    }
}

#[test]
fn collection_bytes_counts_every_segment_file() {
    let dir = TestDir::new("bytes");
    let mut config = dir.config();
    config.segment_bytes = 4096;
    let (mut log, _) = open(config.clone());
    log.create_collection(U1).unwrap();
    let mut expected = Vec::new();
    for t in 1..=60 {
        let batch: Vec<_> = (0..10)
            .map(|k| (row(k, &format!("value {t}")), 1))
            .collect();
        expected.extend(at(t, &batch));
        log.commit(t, &[(U1, batch)]).unwrap();
    }
    let files = segment_files(dir.path(), U1);
    // 60 records of about 350 bytes: at least five 4 KiB segments.
    assert!(
        files.len() >= 5,
        "segments should roll over at 4 KiB, got {}",
        files.len()
    );
    for file in &files {
        assert!(
            file_len(file) <= 4096,
            "{} is {} bytes",
            file.display(),
            file_len(file)
        );
    }
    let on_disk: u64 = files.iter().map(|f| file_len(f)).sum();
    assert_eq!(log.collection_bytes(U1), Some(on_disk));
    assert_eq!(log.collection_bytes(U2), None);
    drop(log);
    let (_, recovered) = open(config);
    assert_eq!(recovered.collections[&U1].updates, expected);
}

#[test]
fn a_batch_larger_than_a_segment_still_commits() {
    let dir = TestDir::new("large-batch");
    let mut config = dir.config();
    config.segment_bytes = 1024;
    let (mut log, _) = open(config.clone());
    log.create_collection(U1).unwrap();
    let big = "x".repeat(3000);
    let batch: Vec<_> = (0..3).map(|k| (row(k, &big), 1)).collect();
    log.commit(1, &[(U1, batch.clone())]).unwrap();
    // The same collection twice in one commit: both batches are kept, in order.
    log.commit(
        2,
        &[(U1, vec![(row(9, "a"), 1)]), (U1, vec![(row(9, "b"), 1)])],
    )
    .unwrap();
    drop(log);
    let (_, recovered) = open(config);
    let expected = [at(1, &batch), at(2, &[(row(9, "a"), 1), (row(9, "b"), 1)])].concat();
    assert_eq!(recovered.collections[&U1].updates, expected);
}

#[test]
fn timestamp_regression_is_rejected_and_harmless() {
    let dir = TestDir::new("regression");
    let (mut log, _) = open(dir.config());
    log.create_collection(U1).unwrap();
    log.commit(10, &[(U1, vec![(row(1, "a"), 1)])]).unwrap();
    for timestamp in [10, 3] {
        let error = log
            .commit(timestamp, &[(U1, vec![(row(2, "b"), 1)])])
            .unwrap_err();
        assert!(
            matches!(error, StorageError::TimestampRegression { timestamp: t, upper: 11 } if t == timestamp),
            "{error}"
        );
    }
    assert!(matches!(
        log.commit(u64::MAX, &[]).unwrap_err(),
        StorageError::TimestampExhausted(u64::MAX)
    ));
    // The rejected commits wrote nothing and the log is still usable.
    log.commit(11, &[(U1, vec![(row(3, "c"), 1)])]).unwrap();
    drop(log);
    let (_, recovered) = open(dir.config());
    assert_eq!(recovered.upper, 12);
    assert_eq!(
        recovered.collections[&U1].updates,
        vec![(row(1, "a"), 10, 1), (row(3, "c"), 11, 1)]
    );
}

#[test]
fn unknown_and_duplicate_collections_are_rejected() {
    let dir = TestDir::new("unknown");
    let (mut log, _) = open(dir.config());
    log.create_collection(U1).unwrap();
    assert!(matches!(
        log.create_collection(U1).unwrap_err(),
        StorageError::CollectionExists(U1)
    ));
    // A commit naming an unknown collection is rejected whole: U1's batch is not written.
    let error = log
        .commit(
            5,
            &[(U1, vec![(row(1, "a"), 1)]), (U2, vec![(row(2, "b"), 1)])],
        )
        .unwrap_err();
    assert!(
        matches!(error, StorageError::UnknownCollection(U2)),
        "{error}"
    );
    assert_eq!(log.upper(), 0);
    assert!(matches!(
        log.drop_collection(U2).unwrap_err(),
        StorageError::UnknownCollection(U2)
    ));
    assert!(matches!(
        log.compact(U2, 1).unwrap_err(),
        StorageError::UnknownCollection(U2)
    ));
    drop(log);
    let (mut log, recovered) = open(dir.config());
    assert!(recovered.collections[&U1].updates.is_empty());
    assert!(matches!(
        log.create_collection(U1).unwrap_err(),
        StorageError::CollectionExists(U1)
    ));
}

#[test]
fn drop_collection_deletes_files_durably() {
    let dir = TestDir::new("drop");
    let (mut log, _) = open(dir.config());
    log.create_collection(U1).unwrap();
    log.create_collection(U2).unwrap();
    log.commit(
        1,
        &[(U1, vec![(row(1, "a"), 1)]), (U2, vec![(row(2, "b"), 1)])],
    )
    .unwrap();
    let u1_dir = dir.path().join("collections").join("u1");
    assert!(!segment_files(dir.path(), U1).is_empty());
    log.drop_collection(U1).unwrap();
    assert!(
        !u1_dir.exists(),
        "the collection's directory should be gone"
    );
    assert_eq!(log.collection_bytes(U1), None);
    assert!(matches!(
        log.commit(2, &[(U1, vec![(row(1, "a"), 1)])]).unwrap_err(),
        StorageError::UnknownCollection(U1)
    ));
    drop(log);

    let (mut log, recovered) = open(dir.config());
    assert!(!recovered.collections.contains_key(&U1));
    assert_eq!(
        recovered.collections[&U2].updates,
        vec![(row(2, "b"), 1, 1)]
    );
    assert!(recovered.repairs.is_empty(), "{:?}", recovered.repairs);
    // The id can be used again and starts empty.
    log.create_collection(U1).unwrap();
    log.commit(3, &[(U1, vec![(row(7, "new"), 1)])]).unwrap();
    drop(log);
    let (_, recovered) = open(dir.config());
    assert_eq!(
        recovered.collections[&U1].updates,
        vec![(row(7, "new"), 3, 1)]
    );
}

#[test]
fn dropping_the_last_collection_leaves_an_openable_log() {
    let dir = TestDir::new("drop-all");
    let (mut log, _) = open(dir.config());
    log.create_collection(GlobalId::Transient(4)).unwrap();
    log.commit(1, &[(GlobalId::Transient(4), vec![(row(1, "a"), 1)])])
        .unwrap();
    log.drop_collection(GlobalId::Transient(4)).unwrap();
    drop(log);
    let (log, recovered) = open(dir.config());
    assert_eq!(recovered.upper, 2);
    assert!(recovered.collections.is_empty());
    assert_eq!(log.upper(), 2);
}

#[test]
fn log_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Log>();
}
