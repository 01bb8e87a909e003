//! What the adapter asks of the compute layer, and what it hears back.
//!
//! Every command is delivered to every worker in the same order; dataflow construction must
//! be identical on all workers, and input times must advance on all of them.

use std::sync::Arc;

use evert_expr::{EvalError, MapFilterProject, MirRelationExpr, MirScalarExpr};
use evert_repr::{Diff, GlobalId, Row, Timestamp};
use tokio::sync::mpsc;

/// A command for all workers.
#[derive(Clone)]
pub enum ComputeCommand {
    /// Creates the input and primary arrangement of a table.
    CreateInput { id: GlobalId, arity: usize },
    /// Appends updates at their timestamps, then advances every input to `advance_to`.
    /// Each worker inserts its share of the rows; the arrangement redistributes them.
    Append {
        batches: Arc<Vec<InputBatch>>,
        advance_to: Timestamp,
    },
    /// Advances every input to `to` without data (the clock ticking).
    AdvanceInputs { to: Timestamp },
    /// Builds a dataflow.
    CreateDataflow(Arc<DataflowDescription>),
    /// Drops a dataflow and the arrangements it exported; for tables, also the input.
    DropCollection { id: GlobalId },
    /// Reads an arrangement at a timestamp once its frontier passes it.
    Peek(Arc<Peek>),
    /// Abandons a peek (the client went away).
    CancelPeek { uuid: u64 },
    /// Lets arrangements forget history before each frontier.
    AllowCompaction {
        frontiers: Vec<(GlobalId, Timestamp)>,
    },
    /// Reports each collection's upper frontier (the first time not yet complete).
    ReportFrontiers {
        ids: Vec<GlobalId>,
        response: mpsc::UnboundedSender<(usize, Vec<(GlobalId, Option<Timestamp>)>)>,
    },
}

/// Updates to one table.
#[derive(Clone, Debug)]
pub struct InputBatch {
    pub id: GlobalId,
    pub updates: Vec<(Row, Timestamp, Diff)>,
}

/// A dataflow to build: a plan over imported collections, and what to do with its result.
pub struct DataflowDescription {
    /// Identifies the dataflow for `DropCollection`.
    pub id: GlobalId,
    pub debug_name: String,
    pub plan: MirRelationExpr,
    pub export: DataflowExport,
}

pub enum DataflowExport {
    /// Arrange the result by `key` and publish the arrangement as an index of `on`.
    /// `key` of `None` arranges by the whole row (a materialized view's own arrangement).
    Index {
        on: GlobalId,
        key: Option<Vec<MirScalarExpr>>,
    },
    /// Stream the result's changes to a subscriber.
    Subscribe(SubscribeSink),
}

/// Where a subscription's changes go. Only worker 0 sends: all changes are routed to it so
/// that they leave in timestamp order.
pub struct SubscribeSink {
    /// Changes at times `<= as_of` form the snapshot and are reported at `as_of`.
    pub as_of: Timestamp,
    /// The subscription ends once the frontier passes `up_to`.
    pub up_to: Option<Timestamp>,
    pub with_snapshot: bool,
    pub sender: mpsc::Sender<SubscribeEvent>,
}

/// What a subscriber receives.
#[derive(Debug)]
pub enum SubscribeEvent {
    /// Consolidated changes, sorted by time, all at times before `upper`.
    Batch {
        updates: Vec<(Row, Timestamp, Diff)>,
        upper: Option<Timestamp>,
    },
    /// The subscription failed; nothing follows.
    Error(SubscribeError),
    /// The input frontier became empty or passed `up_to`: no more changes.
    Complete,
}

/// Why a subscription failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeError {
    /// An error in the subscribed relation (a division by zero in a view, say).
    Eval(EvalError),
    /// The subscriber stopped reading and its channel filled (see `sink.rs`).
    FellBehind,
    /// The dataflow could not be built.
    Render(String),
}

/// A point-in-time read of an arrangement.
pub struct Peek {
    pub uuid: u64,
    /// The collection whose arrangement is read.
    pub collection: GlobalId,
    /// Which of its arrangements (`None`: the whole-row arrangement).
    pub key: Option<Vec<MirScalarExpr>>,
    /// If set, only rows whose key equals one of these rows are read (index lookups).
    pub literal_keys: Option<Vec<Row>>,
    pub timestamp: Timestamp,
    /// Applied to each row read.
    pub mfp: MapFilterProject,
    pub response: mpsc::UnboundedSender<(usize, PeekResponse)>,
}

#[derive(Debug)]
pub enum PeekResponse {
    Rows(Vec<(Row, Diff)>),
    /// An error in the collection at the peek's time (e.g. division by zero in a view).
    Error(EvalError),
    /// The peek cannot be served (e.g. the history it asks for was compacted away).
    Failed(String),
    Canceled,
}
