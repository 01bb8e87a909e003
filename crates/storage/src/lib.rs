//! # evert-storage: the durable log
//!
//! The log, not the tables, is the database: every view is derived from it. This crate keeps
//! one append-only log of `(row, timestamp, diff)` updates per collection (a table's or a
//! source's input), commits writes to several collections atomically, recovers after a
//! crash, detects corruption, and compacts history so that a log stays proportional to its
//! collection's size rather than to its age.
//!
//! It knows nothing of SQL, plans or dataflows: the adapter calls [`Log::commit`] for every
//! write and feeds [`Recovered`] into fresh dataflows on restart. It does not own the
//! timestamp oracle (callers choose timestamps, the log only insists they increase), group
//! commit across sessions (a caller batches by passing several collections' batches to one
//! `commit`), or retention policy (callers decide the `since` they pass to [`Log::compact`]).
//!
//! ## Map
//!
//! | module | owns |
//! |---|---|
//! | `log` | [`Log`], [`LogConfig`] and the public types; the create, commit and drop paths |
//! | `recovery` | [`Log::open`]: check every file, then repair torn tails and delete orphans |
//! | `compaction` | [`Log::compact`]: consolidate history below `since` into new segments |
//! | `manifest` | the `MANIFEST` file: edits, replay into state, snapshot rewrites |
//! | `segment` | segment files and the encoding of update records |
//! | `frame` | file headers and the length + CRC-32 record frame shared by every file |
//! | `codec` | bounds-checked little-endian primitives |
//! | `fsutil` | directory fsyncs |
//! | `testing` | crash injection for tests |
//!
//! ## On disk
//!
//! ```text
//!  <dir>/MANIFEST                                   edits: collections, segments + committed lengths, since, upper
//!  <dir>/MANIFEST.tmp                               only while a snapshot rewrite is in flight
//!  <dir>/collections/<id>/<file number, 20 digits>.seg   one collection's segments (e.g. u12/00000000000000000007.seg)
//! ```
//!
//! Every file starts with a magic/version header and continues with records framed as
//! `length:u32 | crc32(length ‖ payload):u32 | payload`. `FORMAT.md` beside this crate's
//! manifest specifies every byte.
//!
//! ## The commit protocol
//!
//! ```text
//!  commit(t, [(u1, batch), (u2, batch)])
//!     │
//!     ├─ 1. append record {t, batch} to u1's active segment ─┐  (roll to a new segment at
//!     ├─ 2. append record {t, batch} to u2's active segment ─┤   segment_bytes)
//!     ├─ 3. fsync both segments (and their directories if a new segment was created)
//!     ├─ 4. append to MANIFEST one record: [SetLength(u1, seg, len), SetLength(u2, seg, len), Upper(t+1)]
//!     └─ 5. fsync MANIFEST  ◀── the commit point: only now does `commit` return Ok
//! ```
//!
//! The manifest records the committed length of every segment, so recovery knows which
//! segment bytes belong to durable commits. A crash before step 5 leaves records past the
//! committed lengths (all at timestamps `>=` the recovered upper); recovery cuts them off and
//! the commit is invisible in every collection. A crash after step 5 leaves everything. No
//! commit is ever half visible.
//!
//! ## Damage and repairs
//!
//! A torn or checksum-failing record at the end of the manifest, and any bytes past a
//! collection's committed length, are what a crash mid-write leaves: [`Log::open`] cuts them
//! off and reports each in [`Recovered::repairs`]. Damage inside committed bytes, including
//! the last committed record of a segment, is corruption: `open` fails with
//! [`StorageError::Corrupt`] naming the file and offset, because the only "repair" would be to
//! drop an acknowledged write. Checksums are computed just before each write and verified on
//! every read; rows are re-validated with `Row::from_bytes_checked`, so a bug in an encoder
//! cannot produce a row that panics later.
//!
//! ## Compaction and the manifest's own growth
//!
//! [`Log::compact`] rewrites a collection's history at or below `since` as one consolidated
//! snapshot in new segments and switches to them with one manifest record; see
//! `compaction.rs`. The manifest, which grows by a small record per commit, is rewritten as a
//! snapshot of its state (temp file, fsync, rename, directory fsync) once it passes a few MiB
//! and twice its last snapshot.

mod codec;
mod compaction;
mod error;
mod frame;
mod fsutil;
mod log;
mod manifest;
mod recovery;
mod segment;
#[doc(hidden)]
pub mod testing;

pub use crate::error::StorageError;
pub use crate::log::{
    CompactionStats, Log, LogConfig, Recovered, RecoveredCollection, DEFAULT_SEGMENT_BYTES,
};
