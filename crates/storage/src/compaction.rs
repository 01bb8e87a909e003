//! Compaction: replacing a collection's history below `since` by its consolidation.
//!
//! ```text
//!  before:  seg 3 [t1: +a +b] [t2: -a +c]   seg 4 [t3: -b] [t7: +d]
//!  compact(since = t3)
//!  after:   seg 9 [t3: +c] [t7: +d]          (a and b cancelled; t7 > since kept as is)
//! ```
//!
//! Like Kafka's keyed compaction, the log keeps a complete snapshot but not every past
//! version, so a table updated in place stays proportional to its current size rather than
//! to its history. The steps are ordered so that a crash at any point leaves a log that
//! recovers to either the old or the new history, both of which consolidate to the same
//! contents at every time `>= since`:
//!
//! 1. read and verify every committed record of the collection;
//! 2. consolidate the updates at times `<= since` and write them, followed by the later
//!    records unchanged, into new segment files (new file numbers), fsync them and the
//!    directory;
//! 3. append `ReplaceSegments { since, segments }` to the manifest and fsync it — the switch;
//! 4. delete the old files (recovery deletes them too if a crash comes first).
//!
//! Memory: the whole collection is read into memory during compaction.

use evert_repr::{Diff, GlobalId, Row, Timestamp};
use tracing::{info, warn};

use crate::error::StorageError;
use crate::fsutil;
use crate::log::{write_new_segments, CompactionStats, Log};
use crate::manifest::{CollectionMeta, Edit};
use crate::segment::{self, collection_dir, segment_path, UpdateRecord};
use crate::testing::CrashPoint;

pub(crate) fn compact(
    log: &mut Log,
    id: GlobalId,
    since: Timestamp,
) -> Result<CompactionStats, StorageError> {
    let meta = log
        .state
        .collections
        .get(&id)
        .cloned()
        .ok_or(StorageError::UnknownCollection(id))?;
    let records_before = log.update_counts.get(&id).copied().unwrap_or(0);
    let bytes_before = meta.bytes();
    // Capped so that the latest committed state stays readable at `upper - 1`, and so that no
    // update ever lands at a time the upper says has not happened yet.
    let target = since.min(log.state.upper.saturating_sub(1));
    if log.state.upper == 0 || target <= meta.since {
        return Ok(CompactionStats {
            records_before,
            records_after: records_before,
            bytes_before,
            bytes_after: bytes_before,
        });
    }

    // Reading changes nothing, so its failures do not poison the log.
    let records = read_committed(log, id, &meta)?;
    let (snapshot, later) = consolidate(records, target);
    let records_after =
        snapshot.len() as u64 + later.iter().map(|r| r.updates.len() as u64).sum::<u64>();
    let mut framed = Vec::new();
    segment::encode_records(target, &snapshot, &mut framed)?;
    for record in &later {
        segment::encode_records(record.timestamp, &record.updates, &mut framed)?;
    }

    let segments = log.write_guarded(|log| {
        let segments = write_new_segments(log, id, &framed)?;
        log.crash_if(CrashPoint::BeforeCompactionSwitch)?;
        log.commit_edits(vec![Edit::ReplaceSegments {
            id,
            since: target,
            segments: segments.clone(),
        }])?;
        log.crash_if(CrashPoint::BeforeCompactionCleanup)?;
        Ok(segments)
    })?;
    log.update_counts.insert(id, records_after);

    // The switch is durable: the old files are garbage now, and a failure to delete them
    // only delays their deletion until the next open.
    for old in &meta.segments {
        let path = segment_path(&log.root, id, old.file_number);
        if let Err(error) = std::fs::remove_file(&path) {
            warn!(path = %path.display(), %error, "could not delete compacted segment; the next open will");
        }
    }
    if let Err(error) = fsutil::sync_dir(&collection_dir(&log.root, id)) {
        warn!(%error, "could not fsync directory after deleting compacted segments");
    }

    let stats = CompactionStats {
        records_before,
        records_after,
        bytes_before,
        bytes_after: segments.iter().map(|s| s.length).sum(),
    };
    info!(
        collection = %id,
        since = target,
        records_before = stats.records_before,
        records_after = stats.records_after,
        bytes_before = stats.bytes_before,
        bytes_after = stats.bytes_after,
        "compacted collection"
    );
    Ok(stats)
}

/// Reads every committed record of a collection, verifying checksums and rows.
fn read_committed(
    log: &Log,
    id: GlobalId,
    meta: &CollectionMeta,
) -> Result<Vec<UpdateRecord>, StorageError> {
    let mut records = Vec::new();
    for segment in &meta.segments {
        let path = segment_path(&log.root, id, segment.file_number);
        let contents = segment::read_segment(&path, segment.file_number, segment.length)?;
        records.extend(contents.records.into_iter().map(|(_, record)| record));
    }
    Ok(records)
}

/// Splits `records` into the consolidation of everything at times `<= since` (sorted by row,
/// zero sums removed) and the records after `since`, kept in order.
pub(crate) fn consolidate(
    records: Vec<UpdateRecord>,
    since: Timestamp,
) -> (Vec<(Row, Diff)>, Vec<UpdateRecord>) {
    let mut snapshot = Vec::new();
    let mut later = Vec::new();
    for record in records {
        if record.timestamp <= since {
            snapshot.extend(record.updates);
        } else {
            later.push(record);
        }
    }
    snapshot.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut consolidated: Vec<(Row, Diff)> = Vec::with_capacity(snapshot.len());
    for (row, diff) in snapshot {
        match consolidated.last_mut() {
            // Wrapping, as differential dataflow's own diff arithmetic is: only a sum that
            // truly overflows i64 differs from exact arithmetic.
            Some((last, sum)) if *last == row => *sum = sum.wrapping_add(diff),
            _ => consolidated.push((row, diff)),
        }
    }
    consolidated.retain(|(_, diff)| *diff != 0);
    (consolidated, later)
}

#[cfg(test)]
mod tests {
    use evert_repr::Datum;

    use super::*;

    fn row(i: i64) -> Row {
        Row::of(Datum::Int64(i))
    }

    fn record(timestamp: Timestamp, updates: &[(i64, Diff)]) -> UpdateRecord {
        UpdateRecord {
            timestamp,
            updates: updates.iter().map(|&(i, d)| (row(i), d)).collect(),
        }
    }

    #[test]
    fn consolidation_sums_and_cancels() {
        let records = vec![
            record(1, &[(1, 1), (2, 1)]),
            record(2, &[(1, -1), (3, 1), (2, 1)]),
            record(3, &[(2, -1)]),
            record(7, &[(4, 1), (3, -1)]),
        ];
        let (snapshot, later) = consolidate(records, 3);
        assert_eq!(snapshot, vec![(row(2), 1), (row(3), 1)]);
        assert_eq!(later, vec![record(7, &[(4, 1), (3, -1)])]);
    }

    #[test]
    fn consolidation_matches_a_reference_sum() {
        // Pseudo-random updates checked against a BTreeMap fold.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let records: Vec<_> = (0..50)
            .map(|t| UpdateRecord {
                timestamp: t,
                updates: (0..20)
                    .map(|_| (row((next() % 15) as i64), (next() % 5) as i64 - 2))
                    .collect(),
            })
            .collect();
        let mut reference = std::collections::BTreeMap::new();
        for record in records.iter().filter(|r| r.timestamp <= 30) {
            for (row, diff) in &record.updates {
                *reference.entry(row.clone()).or_insert(0) += diff;
            }
        }
        reference.retain(|_, d| *d != 0);
        let (snapshot, later) = consolidate(records, 30);
        assert_eq!(snapshot, reference.into_iter().collect::<Vec<_>>());
        assert_eq!(later.len(), 19);
        assert!(later.iter().all(|r| r.timestamp > 30));
    }
}
