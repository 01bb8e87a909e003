//! # evert-compute: dataflows
//!
//! Renders MIR plans ([`evert_expr::MirRelationExpr`]) into timely/differential dataflows
//! and runs them on a pool of worker threads:
//!
//! - [`controller::ComputeController`] starts the workers and is how the adapter talks to
//!   them: it broadcasts [`command::ComputeCommand`]s (create an input, append updates,
//!   build a dataflow, peek, …) and gathers responses;
//! - [`worker`] is the loop each worker runs, holding table inputs and the
//!   [`registry::TraceRegistry`] of arrangements (tables, materialized views, indexes) that
//!   later dataflows import instead of recomputing;
//! - [`render`] turns each MIR operator into differential operators, carrying errors
//!   alongside rows;
//! - [`peek`] reads an arrangement at a timestamp; [`sink`] streams a dataflow's changes to a
//!   SUBSCRIBE.
//!
//! This crate knows nothing of SQL or of the durable log: it is given plans and updates.

pub mod command;
pub mod controller;
pub mod peek;
pub mod registry;
pub mod render;
pub mod sink;
pub mod types;
pub mod worker;

pub use command::{
    ComputeCommand, DataflowDescription, DataflowExport, InputBatch, PeekResponse, SubscribeError,
    SubscribeEvent, SubscribeSink,
};
pub use controller::{ComputeController, PeekError, PeekTarget};
