//! # evert-repr: the lingua franca
//!
//! Every other crate speaks in the types defined here:
//!
//! - [`Datum`], one SQL value, and [`Row`], a packed sequence of datums: the unit of data in
//!   dataflows, in the durable log and on the wire;
//! - [`ScalarType`], [`ColumnType`], [`RelationType`] and [`RelationDesc`]: what a row holds;
//! - [`Timestamp`] and [`Diff`]: evert's logical clock and the multiplicity of an update;
//! - [`GlobalId`]: the names of catalog objects;
//! - [`strconv`]: PostgreSQL's text formats for every type.
//!
//! This crate depends on no other evert crate and knows nothing of SQL syntax, plans,
//! dataflows or the wire protocol.

pub mod adt;
pub mod datum;
pub mod errors;
pub mod id;
pub mod relation;
pub mod row;
pub mod scalar;
pub mod strconv;

pub use adt::datetime::{Date, DateTime, Interval, Time};
pub use datum::Datum;
pub use errors::ParseError;
pub use id::GlobalId;
pub use relation::{RelationDesc, RelationType};
pub use row::{DatumList, Row, RowArena, RowPacker};
pub use scalar::{ColumnType, ScalarType};

/// evert's logical clock: milliseconds since the Unix epoch, strictly increasing per commit.
/// Every update in every collection carries one, so all views agree on what "now" contains.
pub type Timestamp = u64;

/// The change in multiplicity an update makes: +1 inserts a row, -1 deletes one.
pub type Diff = i64;

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_millis() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
