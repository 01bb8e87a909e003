//! Crashes and damage: what a crash can leave is repaired, anything else is refused.

mod common;

use std::fs;

use common::*;
use evert_repr::Diff;
use evert_storage::testing::CrashPoint;
use evert_storage::{Log, StorageError};

/// Two collections with one committed commit at 1, then a commit at 2 to both that "crashes"
/// after its segment records are fsynced but before the manifest's `Upper`.
fn crash_mid_commit(dir: &TestDir) -> Vec<(evert_repr::Row, Diff)> {
    let (mut log, _) = open(dir.config());
    log.create_collection(U1).unwrap();
    log.create_collection(U2).unwrap();
    let first = vec![(row(1, "committed"), 1)];
    log.commit(1, &[(U1, first.clone()), (U2, first.clone())])
        .unwrap();
    let lengths: Vec<u64> = [U1, U2]
        .iter()
        .map(|id| file_len(segment_files(dir.path(), *id).last().unwrap()))
        .collect();

    log.inject_crash(CrashPoint::BeforeManifestCommit);
    let lost = vec![(row(2, "lost"), 1), (row(1, "committed"), -1)];
    let error = log
        .commit(2, &[(U1, lost.clone()), (U2, lost)])
        .unwrap_err();
    assert!(matches!(error, StorageError::SimulatedCrash(_)), "{error}");
    // After a failed write the log refuses to go on with a state it cannot vouch for.
    assert!(matches!(
        log.commit(3, &[]).unwrap_err(),
        StorageError::Poisoned
    ));
    drop(log);
    // The records really are on disk: only the manifest decides they do not count.
    for (id, before) in [U1, U2].iter().zip(lengths) {
        assert!(file_len(segment_files(dir.path(), *id).last().unwrap()) > before);
    }
    first
}

#[test]
fn a_commit_without_its_manifest_record_is_invisible_everywhere() {
    let dir = TestDir::new("atomicity");
    let first = crash_mid_commit(&dir);

    let (mut log, recovered) = open(dir.config());
    assert_eq!(recovered.upper, 2);
    for id in [U1, U2] {
        assert_eq!(recovered.collections[&id].updates, at(1, &first), "{id}");
    }
    assert_eq!(recovered.repairs.len(), 2, "{:?}", recovered.repairs);
    assert!(recovered.repairs.iter().all(|r| r.contains("uncommitted")));
    // The lost commit's timestamp is free again, and later commits land normally.
    log.commit(2, &[(U2, vec![(row(3, "after"), 1)])]).unwrap();
    log.commit(5, &[(U1, vec![(row(4, "later"), 1)])]).unwrap();
    drop(log);

    let (_, recovered) = open(dir.config());
    assert!(recovered.repairs.is_empty(), "{:?}", recovered.repairs);
    assert_eq!(recovered.upper, 6);
    assert_eq!(
        recovered.collections[&U1].updates,
        vec![(row(1, "committed"), 1, 1), (row(4, "later"), 5, 1)]
    );
    assert_eq!(
        recovered.collections[&U2].updates,
        vec![(row(1, "committed"), 1, 1), (row(3, "after"), 2, 1)]
    );
}

#[test]
fn a_torn_uncommitted_record_is_truncated() {
    let dir = TestDir::new("torn-segment-tail");
    let first = crash_mid_commit(&dir);
    // The crash also tore the record: its last bytes never reached the disk.
    let u1_segment = segment_files(dir.path(), U1).pop().unwrap();
    truncate_by(&u1_segment, 5);
    // And U2's uncommitted record has a bad checksum.
    let u2_segment = segment_files(dir.path(), U2).pop().unwrap();
    flip_byte(&u2_segment, file_len(&u2_segment) - 1);

    let (_, recovered) = open(dir.config());
    assert_eq!(recovered.upper, 2);
    assert_eq!(recovered.collections[&U1].updates, at(1, &first));
    assert_eq!(recovered.collections[&U2].updates, at(1, &first));
    assert!(
        recovered.repairs.iter().any(|r| r.contains("torn record")),
        "{:?}",
        recovered.repairs
    );
    assert!(
        recovered
            .repairs
            .iter()
            .any(|r| r.contains("checksum mismatch")),
        "{:?}",
        recovered.repairs
    );
    // The files were cut back: a second open has nothing to repair.
    let (_, again) = open(dir.config());
    assert!(again.repairs.is_empty(), "{:?}", again.repairs);
}

#[test]
fn a_torn_manifest_tail_is_truncated_with_its_commit() {
    for damage in ["truncate", "checksum"] {
        let dir = TestDir::new(&format!("torn-manifest-{damage}"));
        let (mut log, _) = open(dir.config());
        log.create_collection(U1).unwrap();
        log.commit(1, &[(U1, vec![(row(1, "a"), 1)])]).unwrap();
        log.commit(2, &[(U1, vec![(row(2, "b"), 1)])]).unwrap();
        drop(log);
        // The last manifest append is the one a crash interrupts: commit 2's record.
        let manifest = dir.path().join("MANIFEST");
        match damage {
            "truncate" => truncate_by(&manifest, 3),
            _ => flip_byte(&manifest, file_len(&manifest) - 2),
        }

        let (mut log, recovered) = open(dir.config());
        assert_eq!(recovered.upper, 2, "{damage}");
        assert_eq!(
            recovered.collections[&U1].updates,
            vec![(row(1, "a"), 1, 1)]
        );
        assert!(
            recovered
                .repairs
                .iter()
                .any(|r| r.contains("torn manifest record")),
            "{:?}",
            recovered.repairs
        );
        // Commit 2's segment record lost its commit with the manifest record, and went too.
        assert!(
            recovered.repairs.iter().any(|r| r.contains("uncommitted")),
            "{:?}",
            recovered.repairs
        );
        log.commit(2, &[(U1, vec![(row(3, "c"), 1)])]).unwrap();
        drop(log);
        let (_, recovered) = open(dir.config());
        assert!(recovered.repairs.is_empty());
        assert_eq!(
            recovered.collections[&U1].updates,
            vec![(row(1, "a"), 1, 1), (row(3, "c"), 2, 1)]
        );
    }
}

fn commits(dir: &TestDir, segment_bytes: u64, count: u64) {
    let mut config = dir.config();
    config.segment_bytes = segment_bytes;
    let (mut log, _) = open(config);
    log.create_collection(U1).unwrap();
    for t in 1..=count {
        log.commit(t, &[(U1, vec![(row(t as i64, "some value"), 1)])])
            .unwrap();
    }
}

fn expect_corrupt(dir: &TestDir, expected_file: &std::path::Path, expected_offset: Option<u64>) {
    let before = fs::read(expected_file).unwrap();
    match Log::open(dir.config()) {
        Err(StorageError::Corrupt {
            file,
            offset,
            reason,
        }) => {
            assert_eq!(file, expected_file, "{reason}");
            if let Some(expected) = expected_offset {
                assert_eq!(offset, expected, "{reason}");
            }
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok(_) => panic!("a corrupt log must not open"),
    }
    // Recovery does not "repair" a directory it refused.
    assert_eq!(fs::read(expected_file).unwrap(), before);
}

#[test]
fn corruption_in_an_early_record_fails_open() {
    let dir = TestDir::new("mid-log-corruption");
    commits(&dir, 64 << 20, 5);
    let segment = segment_files(dir.path(), U1).pop().unwrap();
    // The first record starts right after the 24-byte header; flip a byte of its payload.
    flip_byte(&segment, 24 + 8 + 3);
    expect_corrupt(&dir, &segment, Some(24));
}

#[test]
fn damage_to_the_last_committed_record_fails_open() {
    // Its manifest record says it is committed, so it was fsynced before the commit returned:
    // a crash cannot have torn it, and cutting it off would drop an acknowledged write.
    let dir = TestDir::new("committed-tail");
    commits(&dir, 64 << 20, 3);
    let segment = segment_files(dir.path(), U1).pop().unwrap();
    flip_byte(&segment, file_len(&segment) - 1);
    expect_corrupt(&dir, &segment, None);

    let dir = TestDir::new("committed-tail-cut");
    commits(&dir, 64 << 20, 3);
    let segment = segment_files(dir.path(), U1).pop().unwrap();
    truncate_by(&segment, 4);
    expect_corrupt(&dir, &segment, None);
}

#[test]
fn corruption_in_a_sealed_segment_fails_open() {
    let dir = TestDir::new("sealed-corruption");
    commits(&dir, 200, 20);
    let files = segment_files(dir.path(), U1);
    assert!(files.len() > 3, "{} segments", files.len());
    // The last byte of the first segment: its final record, but not the log's tail.
    flip_byte(&files[0], file_len(&files[0]) - 1);
    expect_corrupt(&dir, &files[0], None);
}

#[test]
fn corruption_in_the_manifest_fails_open() {
    let dir = TestDir::new("manifest-corruption");
    commits(&dir, 64 << 20, 5);
    let manifest = dir.path().join("MANIFEST");
    // The first record (the empty snapshot written at creation) starts after the 16-byte header.
    flip_byte(&manifest, 16 + 9);
    expect_corrupt(&dir, &manifest, Some(16));

    let dir = TestDir::new("manifest-header");
    commits(&dir, 64 << 20, 1);
    let manifest = dir.path().join("MANIFEST");
    flip_byte(&manifest, 2);
    expect_corrupt(&dir, &manifest, Some(0));
}

#[test]
fn a_missing_segment_fails_open() {
    let dir = TestDir::new("missing-segment");
    commits(&dir, 200, 10);
    let files = segment_files(dir.path(), U1);
    fs::remove_file(&files[1]).unwrap();
    match Log::open(dir.config()) {
        Err(StorageError::Corrupt { file, reason, .. }) => {
            assert_eq!(file, files[1]);
            assert!(reason.contains("missing"), "{reason}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_missing_manifest_with_data_fails_open() {
    let dir = TestDir::new("missing-manifest");
    commits(&dir, 64 << 20, 2);
    fs::remove_file(dir.path().join("MANIFEST")).unwrap();
    match Log::open(dir.config()) {
        Err(StorageError::Corrupt { reason, .. }) => {
            assert!(reason.contains("missing"), "{reason}")
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
    }
    // Nothing was deleted in the attempt.
    assert!(!segment_files(dir.path(), U1).is_empty());
}

#[test]
fn the_manifest_is_rewritten_and_stays_small() {
    let dir = TestDir::new("manifest-rewrite");
    let (mut log, _) = open(dir.config());
    log.set_manifest_rewrite_bytes(2048);
    log.create_collection(U1).unwrap();
    log.create_collection(U2).unwrap();
    let mut expected = Vec::new();
    for t in 1..=500 {
        let batch = vec![(row(t as i64, "v"), 1)];
        expected.extend(at(t, &batch));
        log.commit(t, &[(U1, batch.clone()), (U2, batch)]).unwrap();
    }
    let manifest = dir.path().join("MANIFEST");
    // 500 commits of ~70 manifest bytes each would be ~35 KB without rewrites.
    assert!(
        file_len(&manifest) <= 4096,
        "manifest is {} bytes",
        file_len(&manifest)
    );
    drop(log);
    let (_, recovered) = open(dir.config());
    assert_eq!(recovered.upper, 501);
    assert!(recovered.repairs.is_empty(), "{:?}", recovered.repairs);
    assert_eq!(recovered.collections[&U1].updates, expected);
    assert_eq!(recovered.collections[&U2].updates, expected);
}

#[test]
fn a_crash_during_a_manifest_rewrite_loses_nothing() {
    let dir = TestDir::new("manifest-rewrite-crash");
    let (mut log, _) = open(dir.config());
    log.set_manifest_rewrite_bytes(512);
    log.create_collection(U1).unwrap();
    let mut t = 0;
    let mut expected = Vec::new();
    log.inject_crash(CrashPoint::BeforeManifestRename);
    let error = loop {
        t += 1;
        let batch = vec![(row(t as i64, "v"), 1)];
        match log.commit(t, &[(U1, batch.clone())]) {
            Ok(()) => expected.extend(at(t, &batch)),
            Err(error) => break error,
        }
        assert!(t < 1000, "the rewrite should have happened");
    };
    assert!(matches!(
        error,
        StorageError::SimulatedCrash(CrashPoint::BeforeManifestRename)
    ));
    drop(log);
    assert!(dir.path().join("MANIFEST.tmp").exists());
    let (_, recovered) = open(dir.config());
    assert!(!dir.path().join("MANIFEST.tmp").exists());
    assert!(
        recovered
            .repairs
            .iter()
            .any(|r| r.contains("manifest rewrite")),
        "{:?}",
        recovered.repairs
    );
    assert_eq!(recovered.upper, t);
    assert_eq!(recovered.collections[&U1].updates, expected);
}

#[test]
fn a_manifest_grown_before_a_restart_is_still_rewritten() {
    let dir = TestDir::new("manifest-rewrite-restart");
    let (mut log, _) = open(dir.config());
    log.create_collection(U1).unwrap();
    for t in 1..=300 {
        log.commit(t, &[(U1, vec![(row(t as i64, "v"), 1)])])
            .unwrap();
    }
    drop(log);
    let manifest = dir.path().join("MANIFEST");
    let grown = file_len(&manifest);
    assert!(grown > 8192, "manifest is only {grown} bytes");

    // The history is measured against the snapshot the file starts with, not against the
    // size the file had when it was opened.
    let (mut log, _) = open(dir.config());
    log.set_manifest_rewrite_bytes(4096);
    log.commit(301, &[(U1, vec![(row(301, "v"), 1)])]).unwrap();
    assert!(
        file_len(&manifest) < 1024,
        "manifest is {} bytes",
        file_len(&manifest)
    );
    drop(log);
    let (_, recovered) = open(dir.config());
    assert_eq!(recovered.upper, 302);
    assert_eq!(recovered.collections[&U1].updates.len(), 301);
}
