//! Segments: the files that hold a collection's updates.
//!
//! A collection's log is a sequence of segment files in `collections/<id>/`, each named by a
//! file number that is never reused within a directory's life (`00000000000000000007.seg`).
//! Each record holds updates at one timestamp:
//!
//! ```text
//!  payload = kind:u8 (1 = updates) | timestamp:u64 | count:u32 | update*count
//!  update  = diff:i64 | row_length:u32 | row bytes (evert_repr::Row::as_bytes)
//! ```
//!
//! A commit writes one record per collection it touches, or several when its batch is larger
//! than [`RECORD_TARGET_BYTES`], so a collection's timestamps are non-decreasing record to
//! record. Which bytes of a segment are committed is not decided here but by the manifest,
//! which records every segment's committed length (see `manifest.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use evert_repr::{Diff, GlobalId, Row, Timestamp};

use crate::codec::{Decoder, Encoder};
use crate::error::StorageError;
use crate::frame::{self, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES};

/// A batch is split into records of about this many payload bytes, so that no record needs
/// to be buffered whole beyond this size and none approaches the 4 GiB frame limit.
pub(crate) const RECORD_TARGET_BYTES: usize = 1 << 20;

const KIND_UPDATES: u8 = 1;
/// kind + timestamp + count.
const RECORD_HEADER_BYTES: usize = 1 + 8 + 4;
/// diff + row length.
const UPDATE_OVERHEAD_BYTES: usize = 8 + 4;

pub(crate) const COLLECTIONS_DIR: &str = "collections";

/// The directory holding a collection's segments.
pub(crate) fn collection_dir(root: &Path, id: GlobalId) -> PathBuf {
    root.join(COLLECTIONS_DIR).join(id.to_string())
}

pub(crate) fn segment_path(root: &Path, id: GlobalId, file_number: u64) -> PathBuf {
    collection_dir(root, id).join(format!("{file_number:020}.seg"))
}

/// The file number in a segment's file name, or `None` for a name the log did not make.
pub(crate) fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The updates of one record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UpdateRecord {
    pub(crate) timestamp: Timestamp,
    pub(crate) updates: Vec<(Row, Diff)>,
}

/// Encodes `updates` at `timestamp` as framed records appended to `out`, one per
/// [`RECORD_TARGET_BYTES`] of payload (at least one update per record).
pub(crate) fn encode_records(
    timestamp: Timestamp,
    updates: &[(Row, Diff)],
    out: &mut Vec<Vec<u8>>,
) -> Result<(), StorageError> {
    let mut rest = updates;
    while !rest.is_empty() {
        let mut size = RECORD_HEADER_BYTES;
        let mut count = 0;
        for (row, _) in rest {
            let update_size = UPDATE_OVERHEAD_BYTES + row.byte_len();
            if count > 0 && size + update_size > RECORD_TARGET_BYTES {
                break;
            }
            if row.byte_len() > u32::MAX as usize {
                return Err(StorageError::RecordTooLarge {
                    bytes: row.byte_len(),
                });
            }
            size += update_size;
            count += 1;
        }
        let (chunk, tail) = rest.split_at(count);
        rest = tail;
        let mut payload = Encoder {
            bytes: Vec::with_capacity(size),
        };
        payload.u8(KIND_UPDATES);
        payload.u64(timestamp);
        payload.u32(u32::try_from(count).expect("a record's count is bounded by its size"));
        for (row, diff) in chunk {
            payload.i64(*diff);
            payload.bytes(row.as_bytes());
        }
        let mut framed = Vec::with_capacity(FRAME_HEADER_BYTES + payload.bytes.len());
        frame::append_frame(&mut framed, &payload.bytes)?;
        out.push(framed);
    }
    Ok(())
}

/// Decodes a record payload whose checksum has been verified, validating every row.
pub(crate) fn decode_record(payload: &[u8]) -> Result<UpdateRecord, String> {
    let mut d = Decoder::new(payload);
    let kind = d.u8()?;
    if kind != KIND_UPDATES {
        return Err(format!("unknown segment record kind {kind}"));
    }
    let timestamp = d.u64()?;
    let count = d.count(UPDATE_OVERHEAD_BYTES)?;
    let mut updates = Vec::with_capacity(count);
    for i in 0..count {
        let diff = d.i64()?;
        let bytes = d.bytes()?;
        let row = Row::from_bytes_checked(bytes).map_err(|e| format!("update {i}: {e}"))?;
        updates.push((row, diff));
    }
    d.finish()?;
    Ok(UpdateRecord { timestamp, updates })
}

/// A segment read from disk.
pub(crate) struct SegmentContents {
    /// The records in its committed prefix, all verified, each with its offset in the file.
    pub(crate) records: Vec<(u64, UpdateRecord)>,
    /// The bytes past the committed length (left by a commit that never reached the manifest).
    pub(crate) uncommitted: Vec<u8>,
}

/// Reads a segment and verifies its header and every record of its first `committed_len`
/// bytes. Any damage there is corruption: those bytes were fsynced before the manifest said
/// they were committed, so no crash can have torn them.
pub(crate) fn read_segment(
    path: &Path,
    file_number: u64,
    committed_len: u64,
) -> Result<SegmentContents, StorageError> {
    let mut bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StorageError::corrupt(
                path,
                0,
                "segment file named by the manifest is missing",
            ));
        }
        Err(e) => return Err(StorageError::io("read segment", path)(e)),
    };
    let file_len = bytes.len() as u64;
    if file_len < committed_len {
        return Err(StorageError::corrupt(
            path,
            file_len,
            format!("file ends at byte {file_len} but the manifest says {committed_len} bytes are committed"),
        ));
    }
    frame::check_segment_header(&bytes, file_number)
        .map_err(|reason| StorageError::corrupt(path, 0, reason))?;
    let committed_len = usize::try_from(committed_len).expect("checked against the file's length");
    let uncommitted = bytes.split_off(committed_len);
    let scan = frame::scan(&bytes[SEGMENT_HEADER_BYTES..], SEGMENT_HEADER_BYTES as u64);
    if let Some(damage) = scan.damage {
        return Err(StorageError::corrupt(
            path,
            damage.offset,
            format!("{} in committed data", damage.reason),
        ));
    }
    let mut records = Vec::with_capacity(scan.frames.len());
    for frame in scan.frames {
        let record = decode_record(frame.payload)
            .map_err(|reason| StorageError::corrupt(path, frame.offset, reason))?;
        records.push((frame.offset, record));
    }
    Ok(SegmentContents {
        records,
        uncommitted,
    })
}

#[cfg(test)]
mod tests {
    use evert_repr::Datum;

    use super::*;

    fn row(i: i64, text: &str) -> Row {
        Row::pack_slice(&[Datum::Int64(i), Datum::String(text)])
    }

    fn decode_all(framed: &[Vec<u8>]) -> Vec<UpdateRecord> {
        framed
            .iter()
            .map(|bytes| {
                let scan = frame::scan(bytes, 0);
                assert!(scan.damage.is_none());
                assert_eq!(scan.frames.len(), 1);
                decode_record(scan.frames[0].payload).unwrap()
            })
            .collect()
    }

    #[test]
    fn records_round_trip() {
        let updates = vec![(row(1, "a"), 1), (row(2, "b"), -3), (Row::default(), 7)];
        let mut out = Vec::new();
        encode_records(42, &updates, &mut out).unwrap();
        assert_eq!(
            decode_all(&out),
            vec![UpdateRecord {
                timestamp: 42,
                updates
            }]
        );
    }

    #[test]
    fn large_batches_split_into_bounded_records() {
        let text = "x".repeat(1000);
        let updates: Vec<_> = (0..3000).map(|i| (row(i, &text), 1)).collect();
        let mut out = Vec::new();
        encode_records(5, &updates, &mut out).unwrap();
        assert!(out.len() >= 3, "{} records", out.len());
        assert!(out
            .iter()
            .all(|r| r.len() <= FRAME_HEADER_BYTES + RECORD_TARGET_BYTES));
        let decoded = decode_all(&out);
        assert!(decoded.iter().all(|r| r.timestamp == 5));
        let all: Vec<_> = decoded.into_iter().flat_map(|r| r.updates).collect();
        assert_eq!(all, updates);
    }

    #[test]
    fn malformed_payloads_are_rejected() {
        let mut out = Vec::new();
        encode_records(1, &[(row(1, "a"), 1)], &mut out).unwrap();
        let payload = &out[0][FRAME_HEADER_BYTES..];
        let mut wrong_kind = payload.to_vec();
        wrong_kind[0] = 9;
        assert!(decode_record(&wrong_kind).unwrap_err().contains("kind"));
        let mut trailing = payload.to_vec();
        trailing.push(0);
        assert!(decode_record(&trailing).unwrap_err().contains("trailing"));
        // An invalid datum tag inside the row: a checksum would not catch an encoder bug.
        let mut bad_row = payload.to_vec();
        let row_start = RECORD_HEADER_BYTES + UPDATE_OVERHEAD_BYTES;
        bad_row[row_start] = 200;
        assert!(decode_record(&bad_row).unwrap_err().contains("update 0"));
    }

    #[test]
    fn segment_file_names() {
        assert_eq!(
            parse_segment_file_name("00000000000000000042.seg"),
            Some(42)
        );
        assert_eq!(parse_segment_file_name("42.seg"), None);
        assert_eq!(parse_segment_file_name("0000000000000000004x.seg"), None);
        assert_eq!(parse_segment_file_name("00000000000000000042.tmp"), None);
        let path = segment_path(Path::new("/d"), GlobalId::User(3), 42);
        assert_eq!(
            path,
            Path::new("/d/collections/u3/00000000000000000042.seg")
        );
    }
}
