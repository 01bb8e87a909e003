//! # evert-connectors: data from outside SQL
//!
//! Sources produce rows that enter evert exactly as an `INSERT` does: the adapter commits
//! them through group commit, at a timestamp from the one clock, into the durable log, and
//! only then do the dataflows see them. This crate only *makes* the rows; it knows nothing
//! of the log, the committer or SQL (it sits beside `evert-storage`, below the adapter).
//!
//! | module | owns |
//! |---|---|
//! | [`generator`] | the [`LoadGenerator`] interface: offsets, outputs, resumption |
//! | [`counter`] | COUNTER: 1, 2, 3, … (optionally keeping only the latest n) |
//! | [`auction`] | AUCTION: an auction house (organizations, users, accounts, auctions, bids) |
//! | [`tpch`] | TPCH: the eight TPC-H tables at a scale factor |
//! | [`nexmark`] | the Nexmark benchmark's people, auctions and bids, as rows (a public API the benchmarks share) |
pub mod auction;
pub mod counter;
pub mod generator;
pub mod nexmark;
pub mod tpch;

pub use generator::{build, GeneratorKind, GeneratorOptions, LoadGenerator, OutputUpdates};
