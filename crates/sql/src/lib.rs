//! # evert-sql: from SQL text to MIR
//!
//! ```text
//!  text ──parse──▶ Statement ──bind──▶ HIR ──lower (decorrelate)──▶ MIR ──▶ evert-transform
//!        parse.rs             plan/query.rs, plan/expr.rs  plan/lowering.rs
//! ```
//!
//! - [`parse`] splits a query string into statements, parsing standard SQL with sqlparser's
//!   PostgreSQL dialect and evert's own statements (`SUBSCRIBE`, `AS OF`, `SHOW …`) itself;
//! - [`plan`] binds names against a [`catalog::SessionCatalog`], types every expression with
//!   PostgreSQL's coercion rules, and produces [`hir`] (which still has subqueries, outer
//!   references and outer joins), then lowers it to MIR;
//! - [`error::PlanError`] carries the SQLSTATE each failure is reported with.
//!
//! This crate does not execute anything and owns no state: the adapter gives it a catalog
//! view and receives plans.

pub mod catalog;
pub mod error;
pub mod hir;
pub mod parse;
pub mod plan;

pub use catalog::{CatalogRelation, RelationKind, SessionCatalog};
pub use error::PlanError;
