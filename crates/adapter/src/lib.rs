//! # evert-adapter: where every layer meets
//!
//! The adapter owns the catalog, the timestamp oracle, group commit and sessions, and
//! sequences every statement through the layers below it:
//!
//! ```text
//!  pgwire/http ──▶ Adapter::execute(session, statement)
//!                    ├─ evert-sql: parse, bind, lower to MIR      (against a catalog snapshot)
//!                    ├─ evert-transform: optimize
//!                    ├─ writes: committer ──▶ evert-storage (durable log, fsync)
//!                    │                    └─▶ evert-compute (inputs advance; views update)
//!                    └─ reads: evert-compute peeks / transient dataflows / SUBSCRIBE sinks
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`coord`] | [`Adapter`]: start-up and recovery, sessions, statement dispatch |
//! | [`sequence`] | which handler runs each statement; transactions, SET, SHOW |
//! | [`query`] | SELECT, SUBSCRIBE, EXPLAIN, COPY TO, cursors |
//! | [`write`] | INSERT, UPDATE, DELETE, COPY FROM, constraints |
//! | [`ddl`] | CREATE and DROP |
//! | [`catalog`] | the catalog and its durable form |
//! | [`committer`] | group commit |
//! | [`oracle`] | the timestamp oracle and read holds |
//! | [`builtins`] | `information_schema` and `pg_catalog` relations |

pub mod builtins;
pub mod catalog;
pub mod committer;
pub mod coord;
pub mod ddl;
pub mod describe;
pub mod error;
pub mod introspection;
pub mod metrics;
pub mod oracle;
pub mod query;
pub mod response;
pub mod sequence;
pub mod session;
pub mod sources;
pub mod subscribe;
pub mod write;

pub use coord::{Adapter, AdapterConfig};
pub use describe::StatementDesc;
pub use error::AdapterError;
pub use response::{CopyInTarget, ExecuteResponse, SubscribeResponse};
pub use session::{Session, TransactionStatus};

/// A collection's log is not compacted below this size.
pub const LOG_COMPACTION_MIN_BYTES: u64 = 1 << 20;

/// How many change batches a subscriber may have waiting before it is disconnected.
pub const SUBSCRIBE_BUFFER_BATCHES: usize = 1024;
