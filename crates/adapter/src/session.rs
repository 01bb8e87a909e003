//! Sessions: per-connection state (variables, transaction, cursors).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use evert_repr::{GlobalId, RelationDesc, Row, Timestamp};
use tokio::sync::{Notify, OwnedRwLockWriteGuard};

use crate::committer::Batches;
use crate::oracle::ReadHold;
use crate::response::SubscribeResponse;

/// Where a session is with respect to transactions.
#[derive(Default)]
pub enum TransactionStatus {
    /// Each statement commits on its own.
    #[default]
    Idle,
    /// Inside BEGIN ... COMMIT.
    InBlock(Transaction),
    /// A statement in the block failed; only ROLLBACK (or COMMIT, which rolls back) is accepted.
    Failed,
}

#[derive(Default)]
pub struct Transaction {
    /// Every read in the transaction uses this timestamp (chosen at the first read).
    pub read: Option<ReadHold>,
    /// Writes, applied atomically at COMMIT.
    pub writes: Batches,
    /// Held from the first write to the end, so that no other writer interleaves.
    pub write_guard: Option<OwnedRwLockWriteGuard<()>>,
    /// Wall-clock start (for `now()`), in milliseconds.
    pub started_millis: u64,
    /// Some write was added without holding `write_guard` (a write to a table without
    /// keys), so a unique index may have been created on its table since: COMMIT checks
    /// such writes again.
    pub unlocked_writes: bool,
}

impl Transaction {
    pub fn read_timestamp(&self) -> Option<Timestamp> {
        self.read.as_ref().map(|h| h.timestamp)
    }

    pub fn has_writes(&self) -> bool {
        self.writes.iter().any(|(_, w)| !w.is_empty()) || self.write_guard.is_some()
    }

    /// Adds writes to the transaction's pending batches.
    pub fn add_writes(&mut self, batches: Batches) {
        for (id, updates) in batches {
            match self.writes.iter_mut().find(|(i, _)| *i == id) {
                Some((_, existing)) => existing.extend(updates),
                None => self.writes.push((id, updates)),
            }
        }
    }

    pub fn pending_for(&self, id: GlobalId) -> Vec<(Row, evert_repr::Diff)> {
        self.writes
            .iter()
            .filter(|(i, _)| *i == id)
            .flat_map(|(_, w)| w.iter().cloned())
            .collect()
    }
}

/// A cursor: buffered rows of a query, or a live subscription.
pub enum Cursor {
    Rows {
        desc: RelationDesc,
        rows: VecDeque<Row>,
    },
    Subscribe {
        response: Box<SubscribeResponse>,
        buffered: VecDeque<Row>,
    },
}

impl Cursor {
    pub fn desc(&self) -> &RelationDesc {
        match self {
            Cursor::Rows { desc, .. } => desc,
            Cursor::Subscribe { response, .. } => &response.desc,
        }
    }
}

/// Lets a cancel request (from another connection) interrupt this session's statement.
#[derive(Debug, Default)]
pub struct CancelState {
    canceled: AtomicBool,
    notify: Notify,
}

impl CancelState {
    pub fn cancel(&self) {
        self.canceled.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn reset(&self) {
        self.canceled.store(false, Ordering::SeqCst);
    }

    pub fn is_canceled(&self) -> bool {
        self.canceled.load(Ordering::SeqCst)
    }

    /// Completes when the session is canceled.
    pub async fn canceled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_canceled() {
                return;
            }
            notified.await;
        }
    }
}

pub struct Session {
    pub conn_id: u32,
    pub secret_key: i32,
    pub user: String,
    pub database: String,
    pub vars: BTreeMap<String, String>,
    pub transaction: TransactionStatus,
    pub cursors: BTreeMap<String, Cursor>,
    /// The timestamp of this session's latest write: its reads never use an earlier one.
    pub last_write: Timestamp,
    pub cancel: Arc<CancelState>,
}

/// Session variables and their defaults, as a PostgreSQL 15 server reports them.
pub const DEFAULT_VARS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_isolation", "serializable"),
    ("extra_float_digits", "1"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("is_superuser", "off"),
    ("max_identifier_length", "63"),
    ("search_path", "public"),
    ("server_encoding", "UTF8"),
    ("server_version", "15.0"),
    ("server_version_num", "150000"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "serializable"),
    ("lock_timeout", "0"),
    ("idle_in_transaction_session_timeout", "0"),
    ("bytea_output", "hex"),
    ("cluster", "default"),
];

/// Variables reported to clients in ParameterStatus messages at startup and when set.
pub const REPORTED_VARS: &[&str] = &[
    "application_name",
    "client_encoding",
    "datestyle",
    "integer_datetimes",
    "intervalstyle",
    "is_superuser",
    "server_encoding",
    "server_version",
    "standard_conforming_strings",
    "timezone",
];

impl Session {
    pub fn new(conn_id: u32, secret_key: i32, user: String, database: String) -> Session {
        Session {
            conn_id,
            secret_key,
            user,
            database,
            vars: DEFAULT_VARS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            transaction: TransactionStatus::Idle,
            cursors: BTreeMap::new(),
            last_write: 0,
            cancel: Arc::new(CancelState::default()),
        }
    }

    /// The status byte for ReadyForQuery: idle, in a block, or failed.
    pub fn transaction_indicator(&self) -> u8 {
        match self.transaction {
            TransactionStatus::Idle => b'I',
            TransactionStatus::InBlock(_) => b'T',
            TransactionStatus::Failed => b'E',
        }
    }

    pub fn in_block(&self) -> bool {
        !matches!(self.transaction, TransactionStatus::Idle)
    }

    /// Marks the block failed after an error (no effect outside a block).
    pub fn fail_transaction(&mut self) {
        if matches!(self.transaction, TransactionStatus::InBlock(_)) {
            self.transaction = TransactionStatus::Failed;
            self.cursors.clear();
        }
    }

    /// The variable's display name, as PostgreSQL spells it in ParameterStatus.
    pub fn display_name(name: &str) -> &str {
        match name {
            "datestyle" => "DateStyle",
            "intervalstyle" => "IntervalStyle",
            "timezone" => "TimeZone",
            other => other,
        }
    }
}
