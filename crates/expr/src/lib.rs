//! # evert-expr: expressions and the relational plan
//!
//! - [`MirScalarExpr`] and the function library ([`UnaryFunc`], [`BinaryFunc`],
//!   [`VariadicFunc`]): typed scalar expressions and their evaluation, with PostgreSQL's
//!   semantics for NULLs, overflow, rounding and text formats;
//! - [`MirRelationExpr`]: the relational plan (MIR) that SQL is planned into, the optimizer
//!   rewrites, and the compute layer renders into a dataflow;
//! - [`AggregateFunc`] and [`TableFunc`]: aggregates and set-returning functions;
//! - [`MapFilterProject`]: fused row-at-a-time evaluation of Map/Filter/Project chains;
//! - [`explain`]: deterministic EXPLAIN text.
//!
//! Errors raised by evaluation are [`EvalError`]s, which carry their SQLSTATE. This crate
//! knows nothing about SQL syntax or catalogs (that is `evert-sql`) or about dataflows
//! (that is `evert-compute`).

pub mod error;
pub mod explain;
pub mod keys;
pub mod linear;
pub mod relation;
pub mod scalar;

pub use error::EvalError;
pub use linear::MapFilterProject;
pub use relation::{
    compare_by_order, AggregateExpr, AggregateFunc, ColumnOrder, Id, LetRecLimit, LocalId,
    MirRelationExpr, TableFunc, WindowCall, WindowFrame, WindowFunc,
};
pub use scalar::func::AnalyzedRegex;
pub use scalar::{BinaryFunc, MirScalarExpr, UnaryFunc, UnmaterializableFunc, VariadicFunc};
