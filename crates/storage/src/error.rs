//! The errors of the storage layer.
//!
//! Two families: the caller's mistakes ([`StorageError::UnknownCollection`],
//! [`StorageError::TimestampRegression`], …), which are checked before anything is written and
//! leave the log untouched, and the disk's failures ([`StorageError::Io`],
//! [`StorageError::Corrupt`]). An I/O failure in the middle of a write leaves the files in a
//! state only recovery knows how to read, so it also poisons the [`crate::Log`]: every later
//! write gets [`StorageError::Poisoned`] until the directory is reopened.

use std::io;
use std::path::{Path, PathBuf};

use evert_repr::{GlobalId, Timestamp};

use crate::testing::CrashPoint;

/// Everything that can go wrong in the durable log.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The operating system refused an operation on a file or directory.
    #[error("could not {operation} {path}: {source}")]
    Io {
        /// What was being done, as a verb phrase ("fsync", "create segment", …).
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file's contents are not what the log wrote: a checksum mismatch, a bad header, a
    /// record that does not decode, or committed bytes that are missing. Recovery refuses to
    /// guess, so that no view is ever built from wrong data.
    #[error("corrupt log file {file} at byte {offset}: {reason}")]
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("unknown collection {0}")]
    UnknownCollection(GlobalId),
    #[error("collection {0} already exists")]
    CollectionExists(GlobalId),
    /// Commits must come in strictly increasing timestamp order.
    #[error("timestamp {timestamp} is not after the last commit (the log's upper is {upper})")]
    TimestampRegression {
        timestamp: Timestamp,
        upper: Timestamp,
    },
    /// `u64::MAX` cannot be committed: the upper after it would not fit in a timestamp.
    #[error("timestamp {0} is too large to commit")]
    TimestampExhausted(Timestamp),
    /// A single update is larger than a record can hold (4 GiB).
    #[error("update of {bytes} bytes is too large for a log record")]
    RecordTooLarge { bytes: usize },
    /// An earlier write failed part-way; the in-memory view of the files can no longer be
    /// trusted, so the log must be reopened (which recovers from what is on disk).
    #[error("the log must be reopened: an earlier write failed part-way")]
    Poisoned,
    /// Another process (or another open log in this process) holds the data directory.
    #[error("data directory {0} is in use by another evert process")]
    Locked(PathBuf),
    /// The log was closed (the server is shutting down).
    #[error("the log is closed")]
    Closed,
    /// A crash injected by a test through [`crate::Log::inject_crash`].
    #[doc(hidden)]
    #[error("simulated crash at {0:?}")]
    SimulatedCrash(CrashPoint),
}

impl StorageError {
    /// Builds a `map_err` adapter for an I/O error on `path`.
    pub(crate) fn io(
        operation: &'static str,
        path: &Path,
    ) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io {
            operation,
            path,
            source,
        }
    }

    pub(crate) fn corrupt(file: &Path, offset: u64, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt {
            file: file.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}
