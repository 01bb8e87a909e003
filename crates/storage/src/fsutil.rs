//! File-system steps whose durability the log depends on.
//!
//! A new file, a rename or a deletion is a change to a directory, and on Linux it survives a
//! power failure only once the directory itself has been fsynced. Every place that creates
//! or renames a file the manifest will name calls [`sync_dir`] before the manifest names it.

use std::fs::{self, File};
use std::path::Path;

use crate::error::StorageError;

/// Fsyncs a directory, making the creation, renaming or removal of its entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io("fsync directory", dir))
}

/// Creates `dir` if it does not exist, fsyncing its parent so that the new entry is durable.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(StorageError::io("create directory", dir))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}
