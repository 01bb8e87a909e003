//! The manifest: the log of the log.
//!
//! `MANIFEST` is an append-only file of records (framed as in `frame.rs`), each a list of
//! [`Edit`]s applied together. Replaying the edits in order yields a [`ManifestState`]: which
//! collections exist, each one's `since` and segments with their *committed lengths*, and the
//! global `upper`. A record's edits take effect atomically, because a record is intact or it
//! is not; an operation is durable exactly when its record has been fsynced.
//!
//! A commit's record carries, for each collection it wrote, the new committed length of the
//! segment it appended to (and any segment it rolled over to), followed by `Upper`. Recovery
//! therefore knows byte-exactly which segment bytes were committed: bytes past a segment's
//! committed length belong to a commit whose manifest record never became durable, and are
//! cut off. That is what makes a commit atomic across collections.
//!
//! When the file grows past a threshold it is rewritten as a snapshot: one record holding the
//! whole state, written to `MANIFEST.tmp`, fsynced, renamed over `MANIFEST`, and the directory
//! fsynced. A crash at any point leaves either the old or the new manifest, both complete.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use evert_repr::{GlobalId, Timestamp};

use crate::codec::{Decoder, Encoder};
use crate::error::StorageError;
use crate::frame::{self, MANIFEST_HEADER_BYTES, SEGMENT_HEADER_BYTES};
use crate::fsutil;

pub(crate) const MANIFEST_FILE: &str = "MANIFEST";
pub(crate) const MANIFEST_TMP_FILE: &str = "MANIFEST.tmp";

/// One change to the log's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Edit {
    /// A collection exists from now on, with since 0 and no segments.
    CreateCollection { id: GlobalId },
    /// A collection and all its segments are gone.
    DropCollection { id: GlobalId },
    /// A new segment becomes the collection's active (last) segment, `length` bytes committed.
    AddSegment {
        id: GlobalId,
        file_number: u64,
        length: u64,
    },
    /// The committed length of the collection's active segment grows to `length`.
    SetLength {
        id: GlobalId,
        file_number: u64,
        length: u64,
    },
    /// Compaction: the collection's segments are now exactly these, and its since this.
    ReplaceSegments {
        id: GlobalId,
        since: Timestamp,
        segments: Vec<SegmentMeta>,
    },
    /// Every commit at a timestamp below `upper` is durable.
    Upper { upper: Timestamp },
}

const TAG_CREATE: u8 = 1;
const TAG_DROP: u8 = 2;
const TAG_ADD_SEGMENT: u8 = 3;
const TAG_SET_LENGTH: u8 = 4;
const TAG_REPLACE_SEGMENTS: u8 = 5;
const TAG_UPPER: u8 = 6;

/// A segment as the manifest knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    pub(crate) file_number: u64,
    /// Committed bytes, header included.
    pub(crate) length: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CollectionMeta {
    pub(crate) since: Timestamp,
    /// Oldest first; the last one is the active segment that commits append to.
    pub(crate) segments: Vec<SegmentMeta>,
}

impl CollectionMeta {
    pub(crate) fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.length).sum()
    }
}

/// What replaying the manifest yields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ManifestState {
    pub(crate) upper: Timestamp,
    pub(crate) collections: BTreeMap<GlobalId, CollectionMeta>,
}

impl ManifestState {
    /// Applies one edit, refusing any that could not have come from a correct log: the
    /// manifest is replayed on every open, so nonsense must stop recovery, not be absorbed.
    pub(crate) fn apply(&mut self, edit: &Edit) -> Result<(), String> {
        match edit {
            Edit::CreateCollection { id } => {
                if self.collections.contains_key(id) {
                    return Err(format!("collection {id} created twice"));
                }
                self.collections.insert(*id, CollectionMeta::default());
            }
            Edit::DropCollection { id } => {
                if self.collections.remove(id).is_none() {
                    return Err(format!("drop of unknown collection {id}"));
                }
            }
            Edit::AddSegment {
                id,
                file_number,
                length,
            } => {
                let collection = self.collection_mut(*id)?;
                if collection
                    .segments
                    .iter()
                    .any(|s| s.file_number >= *file_number)
                {
                    return Err(format!(
                        "segment {file_number} of {id} is not newer than its predecessors"
                    ));
                }
                check_segment_length(*length)?;
                collection.segments.push(SegmentMeta {
                    file_number: *file_number,
                    length: *length,
                });
            }
            Edit::SetLength {
                id,
                file_number,
                length,
            } => {
                let collection = self.collection_mut(*id)?;
                let Some(active) = collection.segments.last_mut() else {
                    return Err(format!("length set for {id}, which has no segments"));
                };
                if active.file_number != *file_number {
                    return Err(format!(
                        "length set for segment {file_number} of {id}, whose active segment is {}",
                        active.file_number
                    ));
                }
                if *length < active.length {
                    return Err(format!(
                        "committed length of segment {file_number} shrinks from {} to {length}",
                        active.length
                    ));
                }
                active.length = *length;
            }
            Edit::ReplaceSegments {
                id,
                since,
                segments,
            } => {
                let collection = self.collection_mut(*id)?;
                if *since < collection.since {
                    return Err(format!(
                        "since of {id} goes back from {} to {since}",
                        collection.since
                    ));
                }
                if segments.is_empty() {
                    return Err(format!("segments of {id} replaced by none"));
                }
                for pair in segments.windows(2) {
                    if pair[0].file_number >= pair[1].file_number {
                        return Err(format!("segments of {id} are not in file number order"));
                    }
                }
                for segment in segments {
                    check_segment_length(segment.length)?;
                }
                collection.since = *since;
                collection.segments = segments.clone();
            }
            Edit::Upper { upper } => {
                if *upper < self.upper {
                    return Err(format!("upper goes back from {} to {upper}", self.upper));
                }
                self.upper = *upper;
            }
        }
        Ok(())
    }

    fn collection_mut(&mut self, id: GlobalId) -> Result<&mut CollectionMeta, String> {
        self.collections
            .get_mut(&id)
            .ok_or_else(|| format!("edit names unknown collection {id}"))
    }

    /// The edits that recreate this state from nothing: the body of a manifest snapshot.
    pub(crate) fn snapshot_edits(&self) -> Vec<Edit> {
        let mut edits = vec![Edit::Upper { upper: self.upper }];
        for (id, collection) in &self.collections {
            edits.push(Edit::CreateCollection { id: *id });
            // A live collection always has an active segment; the check is for robustness.
            if !collection.segments.is_empty() {
                edits.push(Edit::ReplaceSegments {
                    id: *id,
                    since: collection.since,
                    segments: collection.segments.clone(),
                });
            }
        }
        edits
    }

    /// The largest file number the state refers to.
    pub(crate) fn max_file_number(&self) -> Option<u64> {
        self.collections
            .values()
            .flat_map(|c| c.segments.iter().map(|s| s.file_number))
            .max()
    }
}

fn check_segment_length(length: u64) -> Result<(), String> {
    if length < SEGMENT_HEADER_BYTES as u64 {
        return Err(format!(
            "segment length {length} is shorter than a segment header"
        ));
    }
    Ok(())
}

pub(crate) fn encode_edits(edits: &[Edit]) -> Vec<u8> {
    let mut e = Encoder::default();
    e.u32(u32::try_from(edits.len()).expect("fewer than 2^32 edits per record"));
    for edit in edits {
        match edit {
            Edit::CreateCollection { id } => {
                e.u8(TAG_CREATE);
                e.global_id(*id);
            }
            Edit::DropCollection { id } => {
                e.u8(TAG_DROP);
                e.global_id(*id);
            }
            Edit::AddSegment {
                id,
                file_number,
                length,
            } => {
                e.u8(TAG_ADD_SEGMENT);
                e.global_id(*id);
                e.u64(*file_number);
                e.u64(*length);
            }
            Edit::SetLength {
                id,
                file_number,
                length,
            } => {
                e.u8(TAG_SET_LENGTH);
                e.global_id(*id);
                e.u64(*file_number);
                e.u64(*length);
            }
            Edit::ReplaceSegments {
                id,
                since,
                segments,
            } => {
                e.u8(TAG_REPLACE_SEGMENTS);
                e.global_id(*id);
                e.u64(*since);
                e.u32(u32::try_from(segments.len()).expect("fewer than 2^32 segments"));
                for segment in segments {
                    e.u64(segment.file_number);
                    e.u64(segment.length);
                }
            }
            Edit::Upper { upper } => {
                e.u8(TAG_UPPER);
                e.u64(*upper);
            }
        }
    }
    e.bytes
}

pub(crate) fn decode_edits(payload: &[u8]) -> Result<Vec<Edit>, String> {
    let mut d = Decoder::new(payload);
    // The smallest edit is a tag and an 8-byte upper.
    let count = d.count(9)?;
    let mut edits = Vec::with_capacity(count);
    for _ in 0..count {
        let edit = match d.u8()? {
            TAG_CREATE => Edit::CreateCollection { id: d.global_id()? },
            TAG_DROP => Edit::DropCollection { id: d.global_id()? },
            TAG_ADD_SEGMENT => Edit::AddSegment {
                id: d.global_id()?,
                file_number: d.u64()?,
                length: d.u64()?,
            },
            TAG_SET_LENGTH => Edit::SetLength {
                id: d.global_id()?,
                file_number: d.u64()?,
                length: d.u64()?,
            },
            TAG_REPLACE_SEGMENTS => {
                let id = d.global_id()?;
                let since = d.u64()?;
                let n = d.count(16)?;
                let mut segments = Vec::with_capacity(n);
                for _ in 0..n {
                    segments.push(SegmentMeta {
                        file_number: d.u64()?,
                        length: d.u64()?,
                    });
                }
                Edit::ReplaceSegments {
                    id,
                    since,
                    segments,
                }
            }
            TAG_UPPER => Edit::Upper { upper: d.u64()? },
            other => return Err(format!("unknown manifest edit tag {other}")),
        };
        edits.push(edit);
    }
    d.finish()?;
    Ok(edits)
}

/// The result of reading a manifest file. Nothing on disk has been changed yet: recovery
/// checks every file before it repairs any.
pub(crate) struct ManifestRead {
    pub(crate) state: ManifestState,
    /// Where the intact records end; the file is cut here before anything is appended.
    pub(crate) valid_len: u64,
    /// Where the first record ends. A manifest always begins with a snapshot of the state
    /// (see [`write_snapshot`]), so this is the size the history is measured against.
    pub(crate) snapshot_len: u64,
    /// Set when a torn or checksum-failing record at the end must be cut off.
    pub(crate) torn_tail: Option<String>,
}

/// Reads and replays `MANIFEST`. Damage at the very end is a torn append (the operation it
/// described never returned success) and is reported for truncation; damage anywhere else,
/// or an edit that does not apply, is corruption.
pub(crate) fn read(path: &Path) -> Result<ManifestRead, StorageError> {
    let bytes = fs::read(path).map_err(StorageError::io("read manifest", path))?;
    frame::check_manifest_header(&bytes)
        .map_err(|reason| StorageError::corrupt(path, 0, reason))?;
    let scan = frame::scan(
        &bytes[MANIFEST_HEADER_BYTES..],
        MANIFEST_HEADER_BYTES as u64,
    );
    let torn_tail = match scan.damage {
        Some(damage) if damage.at_tail => Some(format!(
            "truncated torn manifest record at byte {} of {} ({}; {} bytes dropped)",
            damage.offset,
            path.display(),
            damage.reason,
            bytes.len() as u64 - damage.offset
        )),
        Some(damage) => {
            return Err(StorageError::corrupt(
                path,
                damage.offset,
                format!("{}, followed by more data", damage.reason),
            ))
        }
        None => None,
    };
    let snapshot_len = scan
        .frames
        .first()
        .map_or(MANIFEST_HEADER_BYTES as u64, |f| {
            f.offset + (frame::FRAME_HEADER_BYTES + f.payload.len()) as u64
        });
    let mut state = ManifestState::default();
    for frame in scan.frames {
        let edits = decode_edits(frame.payload)
            .map_err(|reason| StorageError::corrupt(path, frame.offset, reason))?;
        for edit in &edits {
            state
                .apply(edit)
                .map_err(|reason| StorageError::corrupt(path, frame.offset, reason))?;
        }
    }
    Ok(ManifestRead {
        state,
        valid_len: scan.valid_end,
        snapshot_len,
        torn_tail,
    })
}

/// The open manifest, positioned for appending.
#[derive(Debug)]
pub(crate) struct ManifestFile {
    path: PathBuf,
    file: File,
    /// Bytes written and fsynced so far.
    len: u64,
    /// Length right after the last rewrite: the size of the snapshot itself.
    snapshot_len: u64,
}

impl ManifestFile {
    /// Opens an existing, already recovered manifest whose intact prefix is `len` bytes, the
    /// first `snapshot_len` of them its opening snapshot.
    pub(crate) fn open(path: PathBuf, len: u64, snapshot_len: u64) -> Result<Self, StorageError> {
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(StorageError::io("open manifest", &path))?;
        file.seek(SeekFrom::Start(len))
            .map_err(StorageError::io("seek in manifest", &path))?;
        Ok(ManifestFile {
            path,
            file,
            len,
            snapshot_len,
        })
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// True when the file holds so much history that replaying it slows recovery: it is past
    /// `threshold` bytes and more than twice its last snapshot (so a large catalog whose
    /// snapshot alone exceeds the threshold is not rewritten on every operation).
    pub(crate) fn wants_rewrite(&self, threshold: u64) -> bool {
        self.len > threshold && self.len > self.snapshot_len.saturating_mul(2)
    }

    /// Appends one record of edits and fsyncs it. When this returns, the edits are durable.
    pub(crate) fn append(&mut self, edits: &[Edit]) -> Result<(), StorageError> {
        let mut framed = Vec::new();
        frame::append_frame(&mut framed, &encode_edits(edits))?;
        self.file
            .write_all(&framed)
            .map_err(StorageError::io("append to manifest", &self.path))?;
        self.file
            .sync_data()
            .map_err(StorageError::io("fsync manifest", &self.path))?;
        self.len += framed.len() as u64;
        Ok(())
    }
}

/// Writes a complete manifest holding `state` to `MANIFEST.tmp` and fsyncs it. The caller
/// renames it into place with [`install`].
pub(crate) fn write_snapshot(
    root: &Path,
    state: &ManifestState,
) -> Result<(File, u64), StorageError> {
    let tmp = root.join(MANIFEST_TMP_FILE);
    let mut bytes = frame::manifest_header().to_vec();
    let edits = state.snapshot_edits();
    frame::append_frame(&mut bytes, &encode_edits(&edits))?;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(StorageError::io("create", &tmp))?;
    file.write_all(&bytes)
        .map_err(StorageError::io("write", &tmp))?;
    file.sync_all().map_err(StorageError::io("fsync", &tmp))?;
    Ok((file, bytes.len() as u64))
}

/// Atomically replaces `MANIFEST` with the snapshot [`write_snapshot`] wrote, returning the
/// new manifest open for appending.
pub(crate) fn install(root: &Path, file: File, len: u64) -> Result<ManifestFile, StorageError> {
    let tmp = root.join(MANIFEST_TMP_FILE);
    let path = root.join(MANIFEST_FILE);
    fs::rename(&tmp, &path).map_err(StorageError::io(
        "rename manifest snapshot into place",
        &tmp,
    ))?;
    // The rename is durable only once the directory entry is.
    fsutil::sync_dir(root)?;
    let mut file = file;
    file.seek(SeekFrom::Start(len))
        .map_err(StorageError::io("seek in manifest", &path))?;
    Ok(ManifestFile {
        path,
        file,
        len,
        snapshot_len: len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_edits() -> Vec<Edit> {
        let id = GlobalId::User(4);
        vec![
            Edit::CreateCollection { id },
            Edit::AddSegment {
                id,
                file_number: 1,
                length: 24,
            },
            Edit::SetLength {
                id,
                file_number: 1,
                length: 100,
            },
            Edit::AddSegment {
                id,
                file_number: 2,
                length: 50,
            },
            Edit::Upper { upper: 11 },
            Edit::ReplaceSegments {
                id,
                since: 10,
                segments: vec![SegmentMeta {
                    file_number: 3,
                    length: 70,
                }],
            },
            Edit::CreateCollection {
                id: GlobalId::System(1),
            },
            Edit::DropCollection {
                id: GlobalId::System(1),
            },
        ]
    }

    #[test]
    fn edits_round_trip_and_apply() {
        let edits = all_edits();
        let decoded = decode_edits(&encode_edits(&edits)).unwrap();
        assert_eq!(decoded, edits);
        let mut state = ManifestState::default();
        for edit in &decoded {
            state.apply(edit).unwrap();
        }
        assert_eq!(state.upper, 11);
        assert_eq!(state.collections.len(), 1);
        let meta = &state.collections[&GlobalId::User(4)];
        assert_eq!(meta.since, 10);
        assert_eq!(
            meta.segments,
            vec![SegmentMeta {
                file_number: 3,
                length: 70
            }]
        );
        assert_eq!(state.max_file_number(), Some(3));
    }

    #[test]
    fn snapshot_recreates_state() {
        let mut state = ManifestState::default();
        for edit in &all_edits()[..5] {
            state.apply(edit).unwrap();
        }
        let mut replayed = ManifestState::default();
        for edit in decode_edits(&encode_edits(&state.snapshot_edits())).unwrap() {
            replayed.apply(&edit).unwrap();
        }
        assert_eq!(replayed, state);
    }

    #[test]
    fn impossible_edits_are_refused() {
        let id = GlobalId::User(1);
        let mut state = ManifestState::default();
        assert!(state.apply(&Edit::DropCollection { id }).is_err());
        state.apply(&Edit::CreateCollection { id }).unwrap();
        assert!(state.apply(&Edit::CreateCollection { id }).is_err());
        assert!(state
            .apply(&Edit::SetLength {
                id,
                file_number: 1,
                length: 30
            })
            .is_err());
        state
            .apply(&Edit::AddSegment {
                id,
                file_number: 5,
                length: 30,
            })
            .unwrap();
        // Shrinking committed data, or naming a segment that is not the active one.
        assert!(state
            .apply(&Edit::SetLength {
                id,
                file_number: 5,
                length: 29
            })
            .is_err());
        assert!(state
            .apply(&Edit::SetLength {
                id,
                file_number: 4,
                length: 40
            })
            .is_err());
        assert!(state
            .apply(&Edit::AddSegment {
                id,
                file_number: 5,
                length: 30
            })
            .is_err());
        state.apply(&Edit::Upper { upper: 9 }).unwrap();
        assert!(state.apply(&Edit::Upper { upper: 8 }).is_err());
        let mut bad_tag = encode_edits(&[Edit::Upper { upper: 1 }]);
        bad_tag[4] = 99;
        assert!(decode_edits(&bad_tag).is_err());
    }
}
