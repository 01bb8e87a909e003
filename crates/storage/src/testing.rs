//! Crash injection for tests.
//!
//! A real crash stops the process between two system calls. [`crate::Log::inject_crash`]
//! arms one of the points below; when an operation reaches it, the operation returns
//! [`crate::StorageError::SimulatedCrash`] having done exactly the file operations before that
//! point (the bytes are in the page cache, as after a process crash), and the `Log` is
//! poisoned. The test then drops the `Log` and reopens the directory, as a restart would.

/// Where an operation stops when a crash is injected.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// In `commit`: every collection's records are written and fsynced, the manifest's
    /// `Upper` is not.
    BeforeManifestCommit,
    /// In `compact`: the new segments are written and fsynced, the manifest still names the
    /// old ones.
    BeforeCompactionSwitch,
    /// In `compact`: the manifest names the new segments, the old files are not yet deleted.
    BeforeCompactionCleanup,
    /// In a manifest rewrite: `MANIFEST.tmp` is written and fsynced but not renamed.
    BeforeManifestRename,
}
