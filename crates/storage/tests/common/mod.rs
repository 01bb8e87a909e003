//! Helpers shared by the storage integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use evert_repr::{Datum, Diff, GlobalId, Row, Timestamp};
use evert_storage::{Log, LogConfig, Recovered};

/// A fresh directory under cargo's per-test-target temp dir, removed on drop.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("storage-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        TestDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn config(&self) -> LogConfig {
        LogConfig::new(&self.0)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn open(config: LogConfig) -> (Log, Recovered) {
    Log::open(config).expect("open should succeed")
}

pub fn row(key: i64, value: &str) -> Row {
    Row::pack_slice(&[Datum::Int64(key), Datum::String(value)])
}

pub const U1: GlobalId = GlobalId::User(1);
pub const U2: GlobalId = GlobalId::User(2);
pub const S1: GlobalId = GlobalId::System(1);

/// The segment files of a collection, in file number order.
pub fn segment_files(dir: &Path, id: GlobalId) -> Vec<PathBuf> {
    let collection = dir.join("collections").join(id.to_string());
    let mut files: Vec<PathBuf> = match fs::read_dir(&collection) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

pub fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x40;
    fs::write(path, bytes).unwrap();
}

pub fn truncate_by(path: &Path, bytes: u64) {
    let len = file_len(path);
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_len(len - bytes).unwrap();
}

/// The contents of a collection at `time`: the sum of every update at or before it.
pub fn accumulate<'a>(
    updates: impl IntoIterator<Item = &'a (Row, Timestamp, Diff)>,
    time: Timestamp,
) -> BTreeMap<Row, Diff> {
    let mut contents = BTreeMap::new();
    for (row, t, diff) in updates {
        if *t <= time {
            *contents.entry(row.clone()).or_insert(0) += diff;
        }
    }
    contents.retain(|_, d| *d != 0);
    contents
}

/// Updates at `timestamp` as the recovered form.
pub fn at(timestamp: Timestamp, batch: &[(Row, Diff)]) -> Vec<(Row, Timestamp, Diff)> {
    batch
        .iter()
        .map(|(r, d)| (r.clone(), timestamp, *d))
        .collect()
}
