//! [`Log`]: the public face of the crate, and the write paths (create, commit, drop).
//!
//! Every mutating operation follows the same shape:
//!
//! 1. validate the request against the in-memory [`ManifestState`] (unknown collection,
//!    timestamp regression, …) and encode what it will write, so that a bad request fails
//!    before any byte reaches disk and leaves the log usable;
//! 2. write and fsync data files that nothing names yet (new segments, appended records);
//! 3. append one manifest record naming them and fsync it: the operation's commit point;
//! 4. apply the same edits to the in-memory state, using the very code recovery replays.
//!
//! A failure in steps 2–3 poisons the `Log` (see [`StorageError::Poisoned`]): the files may
//! hold bytes the in-memory state does not describe, and only recovery may decide what they
//! mean. Because step 4 reuses [`ManifestState::apply`], what a running log believes and what
//! a restarted one recovers cannot drift apart.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use evert_repr::{Diff, GlobalId, Row, Timestamp};
use tracing::{debug, info, warn};

use crate::error::StorageError;
use crate::frame::{self, SEGMENT_HEADER_BYTES};
use crate::fsutil;
use crate::manifest::{self, Edit, ManifestFile, ManifestState, SegmentMeta};
use crate::segment::{self, collection_dir, segment_path};
use crate::testing::CrashPoint;

/// Segments roll over once they would grow past this many bytes.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// The manifest is rewritten as a snapshot once its history passes this many bytes.
pub(crate) const DEFAULT_MANIFEST_REWRITE_BYTES: u64 = 4 << 20;

/// Where the log lives and how it cuts its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// The data directory; created if missing.
    pub dir: PathBuf,
    /// A segment is closed and a new one started when appending a record would take it past
    /// this size (a segment always takes at least one record, however large).
    pub segment_bytes: u64,
}

impl LogConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LogConfig {
            dir: dir.into(),
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        }
    }
}

/// What [`Log::open`] found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// 1 + the greatest committed timestamp (0 for a new directory).
    pub upper: Timestamp,
    pub collections: BTreeMap<GlobalId, RecoveredCollection>,
    /// Human-readable notes about repairs made (torn tails cut off, orphaned files deleted).
    pub repairs: Vec<String>,
}

/// One collection's recovered contents.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredCollection {
    pub since: Timestamp,
    /// Every committed update, in commit order (times < since already advanced to since).
    pub updates: Vec<(Row, Timestamp, Diff)>,
}

/// What a [`Log::compact`] call did. "Records" count updates `(row, timestamp, diff)`, not
/// framed log records; bytes are the collection's segment files, headers included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionStats {
    pub records_before: u64,
    pub records_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// The durable log of every collection. See the crate documentation for the format and the
/// commit protocol.
///
/// A `Log` owns its directory: two `Log`s must never be open on the same directory at once
/// (nothing on disk enforces this). It starts no threads and buffers nothing across calls,
/// so dropping it at any moment, including after an error, loses nothing that was
/// acknowledged.
#[derive(Debug)]
pub struct Log {
    pub(crate) root: PathBuf,
    pub(crate) segment_bytes: u64,
    pub(crate) manifest_rewrite_bytes: u64,
    /// The committed state, exactly as replaying the manifest would produce it.
    pub(crate) state: ManifestState,
    pub(crate) manifest: ManifestFile,
    /// Updates stored per collection, for [`CompactionStats`].
    pub(crate) update_counts: BTreeMap<GlobalId, u64>,
    /// File numbers are never reused, so a file left over from a crashed operation can never
    /// be mistaken for a live one.
    pub(crate) next_file_number: u64,
    pub(crate) poisoned: bool,
    /// Set by [`Log::close`]: every later operation is refused.
    pub(crate) closed: bool,
    /// Held open while the log is: the exclusive lock on the directory.
    pub(crate) lock: Option<std::fs::File>,
    pub(crate) crash_point: Option<CrashPoint>,
}

/// The file whose exclusive lock marks a data directory as in use.
pub(crate) const LOCK_FILE: &str = "LOCK";

impl Log {
    /// Opens or creates the data directory and recovers its state.
    pub fn open(config: LogConfig) -> Result<(Log, Recovered), StorageError> {
        crate::recovery::open(config)
    }

    /// Makes a collection known (durably). Creating an existing id is an error.
    pub fn create_collection(&mut self, id: GlobalId) -> Result<(), StorageError> {
        self.check_usable()?;
        if self.state.collections.contains_key(&id) {
            return Err(StorageError::CollectionExists(id));
        }
        self.write_guarded(|log| {
            log.maybe_rewrite_manifest()?;
            let dir = collection_dir(&log.root, id);
            fsutil::ensure_dir(&dir)?;
            let file_number = log.allocate_file_number();
            create_segment_file(
                &segment_path(&log.root, id, file_number),
                &frame::segment_header(file_number),
            )?;
            fsutil::sync_dir(&dir)?;
            log.commit_edits(vec![
                Edit::CreateCollection { id },
                Edit::AddSegment {
                    id,
                    file_number,
                    length: SEGMENT_HEADER_BYTES as u64,
                },
            ])
        })?;
        self.update_counts.insert(id, 0);
        info!(collection = %id, "created collection");
        Ok(())
    }

    /// Forgets a collection durably and deletes its files.
    ///
    /// The drop is durable once the manifest says so; deleting the files afterwards is
    /// cleanup, so a failure there is logged rather than returned, and the next
    /// [`Log::open`] deletes whatever is left.
    pub fn drop_collection(&mut self, id: GlobalId) -> Result<(), StorageError> {
        self.check_usable()?;
        if !self.state.collections.contains_key(&id) {
            return Err(StorageError::UnknownCollection(id));
        }
        self.write_guarded(|log| {
            log.maybe_rewrite_manifest()?;
            log.commit_edits(vec![Edit::DropCollection { id }])
        })?;
        self.update_counts.remove(&id);
        let dir = collection_dir(&self.root, id);
        let removed = fs::remove_dir_all(&dir)
            .map_err(StorageError::io("remove collection directory", &dir))
            .and_then(|()| fsutil::sync_dir(&self.root.join(segment::COLLECTIONS_DIR)));
        if let Err(error) = removed {
            warn!(collection = %id, %error, "dropped collection but could not delete its files; the next open will");
        }
        info!(collection = %id, "dropped collection");
        Ok(())
    }

    /// Durably appends one commit: every batch at `timestamp`. Returns only after fsync.
    ///
    /// Atomic across collections: after a crash, recovery shows all of a commit or none of
    /// it. `timestamp` must be greater than every earlier commit's. A commit with no batches
    /// still advances the upper.
    pub fn commit(
        &mut self,
        timestamp: Timestamp,
        batches: &[(GlobalId, Vec<(Row, Diff)>)],
    ) -> Result<(), StorageError> {
        self.check_usable()?;
        if timestamp < self.state.upper {
            return Err(StorageError::TimestampRegression {
                timestamp,
                upper: self.state.upper,
            });
        }
        let upper = timestamp
            .checked_add(1)
            .ok_or(StorageError::TimestampExhausted(timestamp))?;
        // Encode before writing anything, so that an unknown collection or an oversized
        // update rejects the whole commit with the log untouched.
        let mut encoded: Vec<(GlobalId, Vec<Vec<u8>>, u64)> = Vec::new();
        for (id, updates) in batches {
            if !self.state.collections.contains_key(id) {
                return Err(StorageError::UnknownCollection(*id));
            }
            if updates.is_empty() {
                continue;
            }
            let position = match encoded.iter().position(|(other, _, _)| other == id) {
                Some(position) => position,
                None => {
                    encoded.push((*id, Vec::new(), 0));
                    encoded.len() - 1
                }
            };
            let (_, records, count) = &mut encoded[position];
            segment::encode_records(timestamp, updates, records)?;
            *count += updates.len() as u64;
        }
        self.write_guarded(|log| {
            log.maybe_rewrite_manifest()?;
            let mut edits = Vec::new();
            for (id, records, _) in &encoded {
                log.append_to_collection(*id, records, &mut edits)?;
            }
            log.crash_if(CrashPoint::BeforeManifestCommit)?;
            edits.push(Edit::Upper { upper });
            log.commit_edits(edits)
        })?;
        for (id, _, count) in &encoded {
            *self.update_counts.entry(*id).or_default() += count;
        }
        debug!(timestamp, collections = encoded.len(), "committed");
        Ok(())
    }

    /// Rewrites a collection's history below `since` consolidated: updates at times
    /// `<= since` are moved to time `since` and summed per row (rows whose diffs sum to zero
    /// disappear), so the log keeps a complete snapshot but not every past version.
    ///
    /// `since` is capped at the last committed timestamp (`upper - 1`), so that the latest
    /// committed state always stays readable; a `since` at or below the collection's
    /// current one is a no-op. Crash-safe: new segments are written and fsynced, the
    /// manifest switches to them in one record, and only then are the old files deleted.
    pub fn compact(
        &mut self,
        id: GlobalId,
        since: Timestamp,
    ) -> Result<CompactionStats, StorageError> {
        self.check_usable()?;
        crate::compaction::compact(self, id, since)
    }

    /// Bytes on disk for a collection (all segments, headers included).
    pub fn collection_bytes(&self, id: GlobalId) -> Option<u64> {
        self.state.collections.get(&id).map(|c| c.bytes())
    }

    /// 1 + the last committed timestamp, 0 if nothing has been committed.
    pub fn upper(&self) -> Timestamp {
        self.state.upper
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Test hook: makes the next operation that reaches `point` stop there as if the process
    /// had crashed (see [`crate::testing`]).
    #[doc(hidden)]
    pub fn inject_crash(&mut self, point: CrashPoint) {
        self.crash_point = Some(point);
    }

    /// Test hook: rewrite the manifest once its history passes `bytes` bytes.
    #[doc(hidden)]
    pub fn set_manifest_rewrite_bytes(&mut self, bytes: u64) {
        self.manifest_rewrite_bytes = bytes;
    }

    /// Ends this handle's use of the directory: later operations fail with
    /// [`StorageError::Closed`], and the directory lock is released so that another server
    /// may open it. Everything committed before stays committed.
    pub fn close(&mut self) {
        self.closed = true;
        self.lock = None;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn check_usable(&self) -> Result<(), StorageError> {
        if self.closed {
            return Err(StorageError::Closed);
        }
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        Ok(())
    }

    /// Runs the part of an operation that writes, poisoning the log if it fails.
    pub(crate) fn write_guarded<T>(
        &mut self,
        operation: impl FnOnce(&mut Log) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let result = operation(self);
        if let Err(error) = &result {
            self.poisoned = true;
            warn!(dir = %self.root.display(), %error, "write failed part-way; the log must be reopened");
        }
        result
    }

    pub(crate) fn crash_if(&mut self, point: CrashPoint) -> Result<(), StorageError> {
        if self.crash_point == Some(point) {
            self.crash_point = None;
            return Err(StorageError::SimulatedCrash(point));
        }
        Ok(())
    }

    pub(crate) fn allocate_file_number(&mut self) -> u64 {
        let number = self.next_file_number;
        self.next_file_number += 1;
        number
    }

    /// Appends one manifest record and, once it is durable, applies it in memory.
    pub(crate) fn commit_edits(&mut self, edits: Vec<Edit>) -> Result<(), StorageError> {
        let mut next = self.state.clone();
        for edit in &edits {
            // Recovery replays these edits with the same check; an edit it would refuse must
            // never reach the disk, where it would make the directory unopenable.
            if let Err(reason) = next.apply(edit) {
                panic!("storage invariant broken: edit {edit:?} does not apply: {reason}");
            }
        }
        self.manifest.append(&edits)?;
        self.state = next;
        Ok(())
    }

    fn maybe_rewrite_manifest(&mut self) -> Result<(), StorageError> {
        if !self.manifest.wants_rewrite(self.manifest_rewrite_bytes) {
            return Ok(());
        }
        let bytes_before = self.manifest.len();
        let (file, len) = manifest::write_snapshot(&self.root, &self.state)?;
        self.crash_if(CrashPoint::BeforeManifestRename)?;
        self.manifest = manifest::install(&self.root, file, len)?;
        info!(
            bytes_before,
            bytes_after = len,
            "rewrote manifest as a snapshot"
        );
        Ok(())
    }

    /// Writes `records` to the collection's active segment, rolling over to new segments at
    /// `segment_bytes`, fsyncs everything written, and pushes the manifest edits that will
    /// commit it.
    fn append_to_collection(
        &mut self,
        id: GlobalId,
        records: &[Vec<u8>],
        edits: &mut Vec<Edit>,
    ) -> Result<(), StorageError> {
        let active = *self.state.collections[&id]
            .segments
            .last()
            .expect("a live collection always has an active segment");
        let mut writes = vec![PendingWrite {
            file_number: active.file_number,
            start: active.length,
            bytes: Vec::new(),
            new_file: false,
        }];
        for record in records {
            let current = writes.last().expect("starts non-empty");
            let len = current.start + current.bytes.len() as u64;
            let has_records = len > SEGMENT_HEADER_BYTES as u64;
            if has_records && len + record.len() as u64 > self.segment_bytes {
                let file_number = self.allocate_file_number();
                writes.push(PendingWrite {
                    file_number,
                    start: 0,
                    bytes: frame::segment_header(file_number).to_vec(),
                    new_file: true,
                });
            }
            writes
                .last_mut()
                .expect("starts non-empty")
                .bytes
                .extend_from_slice(record);
        }
        for write in writes.iter().filter(|w| !w.bytes.is_empty()) {
            let path = segment_path(&self.root, id, write.file_number);
            let length = write.start + write.bytes.len() as u64;
            if write.new_file {
                create_segment_file(&path, &write.bytes)?;
                edits.push(Edit::AddSegment {
                    id,
                    file_number: write.file_number,
                    length,
                });
            } else {
                append_at(&path, write.start, &write.bytes)?;
                edits.push(Edit::SetLength {
                    id,
                    file_number: write.file_number,
                    length,
                });
            }
        }
        if writes.iter().any(|w| w.new_file) {
            fsutil::sync_dir(&collection_dir(&self.root, id))?;
        }
        Ok(())
    }
}

/// Bytes bound for one segment file in a commit.
struct PendingWrite {
    file_number: u64,
    /// Offset in the file where `bytes` go.
    start: u64,
    bytes: Vec<u8>,
    new_file: bool,
}

/// Creates a segment file holding exactly `bytes` (header first) and fsyncs it. The caller
/// fsyncs the directory before the manifest names the file.
pub(crate) fn create_segment_file(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(StorageError::io("create segment", path))?;
    file.write_all(bytes)
        .map_err(StorageError::io("write segment", path))?;
    file.sync_all()
        .map_err(StorageError::io("fsync segment", path))
}

/// Writes `bytes` at `offset` (the committed length, which is also the end of the file,
/// since recovery cut off anything past it) and fsyncs them.
fn append_at(path: &Path, offset: u64, bytes: &[u8]) -> Result<(), StorageError> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(StorageError::io("open segment", path))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(StorageError::io("seek in segment", path))?;
    file.write_all(bytes)
        .map_err(StorageError::io("write segment", path))?;
    // fdatasync also persists the new file size, which is all the metadata an append needs.
    file.sync_data()
        .map_err(StorageError::io("fsync segment", path))
}

/// Writes `records` into brand-new segments of `id`, rolling over at `segment_bytes`, and
/// returns them in order; there is always at least one, possibly empty, to append to.
pub(crate) fn write_new_segments(
    log: &mut Log,
    id: GlobalId,
    records: &[Vec<u8>],
) -> Result<Vec<SegmentMeta>, StorageError> {
    let mut segments = Vec::new();
    let mut current: Option<(u64, Vec<u8>)> = None;
    for record in records {
        if let Some((_, bytes)) = &current {
            let len = bytes.len() as u64;
            if len > SEGMENT_HEADER_BYTES as u64 && len + record.len() as u64 > log.segment_bytes {
                let (file_number, bytes) = current.take().expect("checked above");
                segments.push(finish_new_segment(&log.root, id, file_number, &bytes)?);
            }
        }
        let (_, bytes) = current.get_or_insert_with(|| {
            let file_number = log.allocate_file_number();
            (file_number, frame::segment_header(file_number).to_vec())
        });
        bytes.extend_from_slice(record);
    }
    if current.is_none() && segments.is_empty() {
        let file_number = log.allocate_file_number();
        current = Some((file_number, frame::segment_header(file_number).to_vec()));
    }
    if let Some((file_number, bytes)) = current {
        segments.push(finish_new_segment(&log.root, id, file_number, &bytes)?);
    }
    fsutil::sync_dir(&collection_dir(&log.root, id))?;
    Ok(segments)
}

fn finish_new_segment(
    root: &Path,
    id: GlobalId,
    file_number: u64,
    bytes: &[u8],
) -> Result<SegmentMeta, StorageError> {
    create_segment_file(&segment_path(root, id, file_number), bytes)?;
    Ok(SegmentMeta {
        file_number,
        length: bytes.len() as u64,
    })
}
