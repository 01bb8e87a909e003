//! The timestamp oracle: one clock for every collection.
//!
//! Write timestamps are milliseconds since the epoch, bumped by one when two commits land in
//! the same millisecond, so they strictly increase. The *applied* timestamp is the latest one
//! whose updates have been handed to the dataflows (every input has been advanced past it):
//! a read at the applied timestamp sees every acknowledged write, and every view read at the
//! same timestamp agrees with every other.
//!
//! Readers take *read holds*, which keep arrangements from compacting away the history they
//! are about to read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use evert_repr::{now_millis, Timestamp};

#[derive(Debug)]
pub struct TimestampOracle {
    last_allocated: AtomicU64,
    applied: AtomicU64,
    holds: Mutex<BTreeMap<u64, Timestamp>>,
    next_hold: AtomicU64,
}

impl TimestampOracle {
    /// An oracle whose timestamps start after `floor` (the log's upper on restart).
    pub fn new(floor: Timestamp) -> Arc<TimestampOracle> {
        let start = floor.max(now_millis());
        Arc::new(TimestampOracle {
            last_allocated: AtomicU64::new(start),
            applied: AtomicU64::new(start),
            holds: Mutex::new(BTreeMap::new()),
            next_hold: AtomicU64::new(1),
        })
    }

    /// A new timestamp, greater than every earlier one. Only the committer calls this, so
    /// timestamps are handed to the dataflows in the order they were allocated.
    pub fn allocate(&self) -> Timestamp {
        let now = now_millis();
        let mut current = self.last_allocated.load(Ordering::SeqCst);
        loop {
            let next = now.max(current + 1);
            match self.last_allocated.compare_exchange(
                current,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return next,
                Err(actual) => current = actual,
            }
        }
    }

    /// Records that every input has been advanced past `ts`.
    pub fn set_applied(&self, ts: Timestamp) {
        self.applied.fetch_max(ts, Ordering::SeqCst);
    }

    /// The latest timestamp a read can use without waiting for new writes.
    pub fn applied(&self) -> Timestamp {
        self.applied.load(Ordering::SeqCst)
    }

    /// Keeps history at `ts` readable until the returned hold is dropped.
    pub fn hold(self: &Arc<Self>, ts: Timestamp) -> ReadHold {
        let id = self.next_hold.fetch_add(1, Ordering::Relaxed);
        self.holds.lock().expect("holds lock").insert(id, ts);
        ReadHold {
            oracle: Arc::clone(self),
            id,
            timestamp: ts,
        }
    }

    /// The frontier arrangements may compact to: `retention_ms` behind the applied
    /// timestamp, and never past a held read.
    pub fn compaction_frontier(&self, retention_ms: u64) -> Timestamp {
        let by_retention = self.applied().saturating_sub(retention_ms);
        let holds = self.holds.lock().expect("holds lock");
        holds
            .values()
            .copied()
            .min()
            .map(|h| h.min(by_retention))
            .unwrap_or(by_retention)
    }
}

/// A read hold; dropping it releases the history it kept.
#[derive(Debug)]
pub struct ReadHold {
    oracle: Arc<TimestampOracle>,
    id: u64,
    pub timestamp: Timestamp,
}

impl Drop for ReadHold {
    fn drop(&mut self) {
        if let Ok(mut holds) = self.oracle.holds.lock() {
            holds.remove(&self.id);
        }
    }
}
