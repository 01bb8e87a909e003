//! Opening a data directory: from files on disk back to a [`Log`] and what it holds.
//!
//! Recovery runs in two phases so that a corrupt directory is never modified:
//!
//! 1. **Check.** Replay `MANIFEST` into a [`ManifestState`]; then read every segment it
//!    names and verify the header and every record of the segment's committed prefix, and
//!    that committed timestamps are below the upper and never go back. Any damage in
//!    committed bytes fails [`Log::open`] with [`StorageError::Corrupt`].
//! 2. **Repair.** Cut off a torn manifest tail; cut off each collection's bytes past its
//!    committed length (a commit that never reached the manifest); delete files the manifest
//!    does not name (a crashed compaction, drop or manifest rewrite). Each repair is reported
//!    in [`Recovered::repairs`] and logged with `tracing::warn!`.
//!
//! What counts as repairable is exactly what a crash can produce under the commit protocol:
//! bytes that were being written when the process died and whose operation never returned
//! success. A committed record that is damaged, even the very last one, is not: truncating it
//! would silently drop a write that was acknowledged and that other collections' halves of
//! the same commit still show.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use evert_repr::{GlobalId, Timestamp};
use tracing::{info, warn};

use crate::error::StorageError;
use crate::frame;
use crate::fsutil;
use crate::log::{Log, LogConfig, Recovered, RecoveredCollection, DEFAULT_MANIFEST_REWRITE_BYTES};
use crate::manifest::{
    self, CollectionMeta, ManifestFile, ManifestState, MANIFEST_FILE, MANIFEST_TMP_FILE,
};
use crate::segment::{self, collection_dir, segment_path, COLLECTIONS_DIR};

/// A file to cut back to its committed length, found in the check phase.
struct Truncation {
    path: PathBuf,
    length: u64,
    note: String,
}

pub(crate) fn open(config: LogConfig) -> Result<(Log, Recovered), StorageError> {
    let root = config.dir.clone();
    fsutil::ensure_dir(&root)?;
    let lock = lock_directory(&root)?;
    let manifest_path = root.join(MANIFEST_FILE);
    let collections_dir = root.join(COLLECTIONS_DIR);
    let mut repairs = Vec::new();

    let exists = manifest_path
        .try_exists()
        .map_err(StorageError::io("look for manifest", &manifest_path))?;
    let (state, manifest, collections, update_counts) = if exists {
        recover_existing(&root, &manifest_path, &mut repairs)?
    } else {
        // Without a manifest nothing on disk is committed, so a directory that still holds
        // segments has lost its manifest: starting empty would discard all of it.
        if has_entries(&collections_dir)? {
            return Err(StorageError::corrupt(
                &manifest_path,
                0,
                format!(
                    "manifest is missing but {} holds segments",
                    collections_dir.display()
                ),
            ));
        }
        remove_stale_snapshot(&root, &mut repairs)?;
        fsutil::ensure_dir(&collections_dir)?;
        let (file, len) = manifest::write_snapshot(&root, &ManifestState::default())?;
        let manifest = manifest::install(&root, file, len)?;
        info!(dir = %root.display(), "created new durable log");
        (
            ManifestState::default(),
            manifest,
            BTreeMap::new(),
            BTreeMap::new(),
        )
    };

    let max_on_disk = collect_garbage(&root, &state, &mut repairs)?;
    let next_file_number = state
        .max_file_number()
        .max(max_on_disk)
        .map_or(1, |n| n + 1);
    info!(
        dir = %root.display(),
        upper = state.upper,
        collections = state.collections.len(),
        repairs = repairs.len(),
        "opened durable log"
    );
    let recovered = Recovered {
        upper: state.upper,
        collections,
        repairs,
    };
    let log = Log {
        root,
        segment_bytes: config.segment_bytes,
        manifest_rewrite_bytes: DEFAULT_MANIFEST_REWRITE_BYTES,
        state,
        manifest,
        update_counts,
        next_file_number,
        poisoned: false,
        closed: false,
        lock: Some(lock),
        crash_point: None,
    };
    Ok((log, recovered))
}

/// Takes an exclusive lock on the directory's `LOCK` file, so that a second process (or a
/// second server in one process) cannot open the same log and rewrite it underneath the first.
/// The operating system releases the lock when the file is closed, also when the process dies.
fn lock_directory(root: &std::path::Path) -> Result<std::fs::File, StorageError> {
    let path = root.join(crate::log::LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(StorageError::io("open lock file", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StorageError::Locked(root.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(StorageError::io("lock", &path)(e)),
    }
}

type Recovery = (
    ManifestState,
    ManifestFile,
    BTreeMap<GlobalId, RecoveredCollection>,
    BTreeMap<GlobalId, u64>,
);

fn recover_existing(
    root: &Path,
    manifest_path: &Path,
    repairs: &mut Vec<String>,
) -> Result<Recovery, StorageError> {
    // Phase 1: check everything.
    let read = manifest::read(manifest_path)?;
    let mut collections = BTreeMap::new();
    let mut update_counts = BTreeMap::new();
    let mut truncations = Vec::new();
    for (id, meta) in &read.state.collections {
        // Every operation that creates a collection gives it a segment in the same record;
        // the write paths rely on it, so a state without one is refused here.
        if meta.segments.is_empty() {
            return Err(StorageError::corrupt(
                manifest_path,
                0,
                format!("collection {id} has no segments"),
            ));
        }
        let (collection, truncation) = recover_collection(root, *id, meta, read.state.upper)?;
        update_counts.insert(*id, collection.updates.len() as u64);
        collections.insert(*id, collection);
        truncations.extend(truncation);
    }

    // Phase 2: repair.
    if let Some(note) = read.torn_tail {
        truncations.insert(
            0,
            Truncation {
                path: manifest_path.to_path_buf(),
                length: read.valid_len,
                note,
            },
        );
    }
    for truncation in truncations {
        truncate(&truncation.path, truncation.length)?;
        warn!(repair = %truncation.note, "repaired log");
        repairs.push(truncation.note);
    }
    remove_stale_snapshot(root, repairs)?;
    fsutil::ensure_dir(&root.join(COLLECTIONS_DIR))?;
    let manifest = ManifestFile::open(
        manifest_path.to_path_buf(),
        read.valid_len,
        read.snapshot_len,
    )?;
    Ok((read.state, manifest, collections, update_counts))
}

/// Reads and verifies one collection's committed records, and finds its uncommitted tail.
fn recover_collection(
    root: &Path,
    id: GlobalId,
    meta: &CollectionMeta,
    upper: Timestamp,
) -> Result<(RecoveredCollection, Option<Truncation>), StorageError> {
    let mut updates = Vec::new();
    let mut truncation = None;
    let mut last_timestamp = 0;
    for (index, segment) in meta.segments.iter().enumerate() {
        let path = segment_path(root, id, segment.file_number);
        let contents = segment::read_segment(&path, segment.file_number, segment.length)?;
        if !contents.uncommitted.is_empty() {
            if index + 1 != meta.segments.len() {
                // Only the active segment is ever appended to; a sealed one growing is not
                // something a crash does.
                return Err(StorageError::corrupt(
                    &path,
                    segment.length,
                    format!(
                        "{} bytes past the committed end of a sealed segment",
                        contents.uncommitted.len()
                    ),
                ));
            }
            truncation = Some(Truncation {
                note: describe_uncommitted(&path, segment.length, &contents.uncommitted),
                path: path.clone(),
                length: segment.length,
            });
        }
        for (offset, record) in contents.records {
            if record.timestamp >= upper {
                return Err(StorageError::corrupt(
                    &path,
                    offset,
                    format!(
                        "committed record at timestamp {} is not below the upper {upper}",
                        record.timestamp
                    ),
                ));
            }
            if record.timestamp < last_timestamp {
                return Err(StorageError::corrupt(
                    &path,
                    offset,
                    format!(
                        "timestamp goes back from {last_timestamp} to {}",
                        record.timestamp
                    ),
                ));
            }
            last_timestamp = record.timestamp;
            let time = record.timestamp.max(meta.since);
            updates.extend(
                record
                    .updates
                    .into_iter()
                    .map(|(row, diff)| (row, time, diff)),
            );
        }
    }
    let collection = RecoveredCollection {
        since: meta.since,
        updates,
    };
    Ok((collection, truncation))
}

/// A repair note for the bytes past a segment's committed length.
fn describe_uncommitted(path: &Path, committed: u64, bytes: &[u8]) -> String {
    let scan = frame::scan(bytes, committed);
    let timestamps: Vec<Timestamp> = scan
        .frames
        .iter()
        .filter_map(|f| segment::decode_record(f.payload).ok())
        .map(|r| r.timestamp)
        .collect();
    let mut what = format!("{} complete record(s)", scan.frames.len());
    if let (Some(first), Some(last)) = (timestamps.first(), timestamps.last()) {
        what.push_str(&format!(" at timestamps {first}..={last}"));
    }
    if let Some(damage) = scan.damage {
        what.push_str(&format!(
            " and a torn record at byte {} ({})",
            damage.offset, damage.reason
        ));
    }
    format!(
        "truncated {} uncommitted bytes at byte {committed} of {}: {what}, written by a commit whose manifest record never became durable",
        bytes.len(),
        path.display()
    )
}

fn truncate(path: &Path, length: u64) -> Result<(), StorageError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(StorageError::io("open for truncation", path))?;
    file.set_len(length)
        .map_err(StorageError::io("truncate", path))?;
    file.sync_all().map_err(StorageError::io("fsync", path))
}

fn remove_stale_snapshot(root: &Path, repairs: &mut Vec<String>) -> Result<(), StorageError> {
    let tmp = root.join(MANIFEST_TMP_FILE);
    match fs::remove_file(&tmp) {
        Ok(()) => {
            let note = format!("removed unfinished manifest rewrite {}", tmp.display());
            warn!(repair = %note, "repaired log");
            repairs.push(note);
            fsutil::sync_dir(root)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("remove", &tmp)(e)),
    }
}

fn has_entries(dir: &Path) -> Result<bool, StorageError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError::io("list", dir)(e)),
    }
}

/// Deletes what the manifest does not name: directories of dropped collections and segments
/// left by crashed commits or compactions. Names the log did not make are left alone. Returns
/// the largest segment file number seen, so that new files never reuse one.
fn collect_garbage(
    root: &Path,
    state: &ManifestState,
    repairs: &mut Vec<String>,
) -> Result<Option<u64>, StorageError> {
    let collections_dir = &root.join(COLLECTIONS_DIR);
    let mut max_file_number = None;
    let mut removed_dirs = false;
    for entry in fs::read_dir(collections_dir).map_err(StorageError::io("list", collections_dir))? {
        let entry = entry.map_err(StorageError::io("list", collections_dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.parse::<GlobalId>().ok().filter(|id| id.to_string() == n));
        let is_dir = entry
            .file_type()
            .map_err(StorageError::io("stat", &path))?
            .is_dir();
        let Some(id) = id.filter(|_| is_dir) else {
            warn!(path = %path.display(), "ignoring unexpected entry in the collections directory");
            continue;
        };
        match state.collections.get(&id) {
            None => {
                fs::remove_dir_all(&path)
                    .map_err(StorageError::io("remove dropped collection", &path))?;
                removed_dirs = true;
                note_removal(
                    repairs,
                    format!(
                        "removed files of dropped collection {id} ({})",
                        path.display()
                    ),
                );
            }
            Some(meta) => {
                let live: Vec<u64> = meta.segments.iter().map(|s| s.file_number).collect();
                let seen = remove_orphan_segments(root, id, &live, repairs)?;
                max_file_number = max_file_number.max(seen);
            }
        }
    }
    if removed_dirs {
        fsutil::sync_dir(collections_dir)?;
    }
    Ok(max_file_number)
}

fn remove_orphan_segments(
    root: &Path,
    id: GlobalId,
    live: &[u64],
    repairs: &mut Vec<String>,
) -> Result<Option<u64>, StorageError> {
    let dir = collection_dir(root, id);
    let mut max_file_number = None;
    let mut removed = false;
    for entry in fs::read_dir(&dir).map_err(StorageError::io("list", &dir))? {
        let entry = entry.map_err(StorageError::io("list", &dir))?;
        let path = entry.path();
        let Some(file_number) = entry
            .file_name()
            .to_str()
            .and_then(segment::parse_segment_file_name)
        else {
            warn!(path = %path.display(), "ignoring unexpected file in a collection directory");
            continue;
        };
        max_file_number = max_file_number.max(Some(file_number));
        if !live.contains(&file_number) {
            fs::remove_file(&path).map_err(StorageError::io("remove orphaned segment", &path))?;
            removed = true;
            note_removal(
                repairs,
                format!(
                    "removed orphaned segment {} of collection {id}",
                    path.display()
                ),
            );
        }
    }
    if removed {
        fsutil::sync_dir(&dir)?;
    }
    Ok(max_file_number)
}

fn note_removal(repairs: &mut Vec<String>, note: String) {
    warn!(repair = %note, "repaired log");
    repairs.push(note);
}
