//! What executing a statement produces.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use evert_compute::{ComputeCommand, ComputeController, SubscribeError, SubscribeEvent};
use evert_repr::{ColumnType, Datum, GlobalId, RelationDesc, Row, ScalarType, Timestamp};
use rust_decimal::Decimal;
use tokio::sync::{mpsc, oneshot};

use crate::error::AdapterError;
use crate::metrics::Metrics;

pub enum ExecuteResponse {
    /// Rows for the client, and the command tag (`SELECT n` unless given).
    Rows {
        desc: RelationDesc,
        rows: Vec<Row>,
        tag: Option<String>,
    },
    /// A command that returns no rows: `CREATE TABLE`, `INSERT 0 3`, …
    Command {
        tag: String,
        notice: Option<String>,
    },
    /// A live stream of changes.
    Subscribe(Box<SubscribeResponse>),
    /// `COPY (...) TO STDOUT`: the inner response's rows in COPY text format.
    CopyTo(Box<ExecuteResponse>),
    /// `COPY t FROM STDIN`: the client sends rows, then `copy_in` inserts them.
    CopyIn(CopyInTarget),
    /// The result of `SET`: the client should be told the new value.
    SetVariable {
        name: String,
        value: String,
    },
    EmptyQuery,
}

#[derive(Clone, Debug)]
pub struct CopyInTarget {
    pub table: GlobalId,
    pub table_name: String,
    /// The table columns the input provides, in input order.
    pub columns: Vec<usize>,
    /// The table's shape.
    pub desc: RelationDesc,
    pub delimiter: char,
    pub null: String,
    pub csv: bool,
    pub header: bool,
}

impl ExecuteResponse {
    pub fn command(tag: impl Into<String>) -> ExecuteResponse {
        ExecuteResponse::Command {
            tag: tag.into(),
            notice: None,
        }
    }
}

/// Running subscriptions by dataflow id, so that dropping a relation can end every
/// subscription that reads it.
pub type Subscriptions = Arc<Mutex<BTreeMap<GlobalId, ActiveSubscription>>>;

pub struct ActiveSubscription {
    /// Every catalog item the subscription reads, directly or through views.
    pub reads: BTreeSet<GlobalId>,
    /// Ends the subscription with an error.
    pub end: oneshot::Sender<AdapterError>,
}

/// Drops a subscription's dataflow when the last handle to it goes away.
pub struct DataflowGuard {
    pub compute: Arc<ComputeController>,
    pub id: GlobalId,
    pub metrics: Arc<Metrics>,
    pub subscriptions: Subscriptions,
}

impl Drop for DataflowGuard {
    fn drop(&mut self) {
        if let Ok(mut subscriptions) = self.subscriptions.lock() {
            subscriptions.remove(&self.id);
        }
        self.compute
            .send(ComputeCommand::DropCollection { id: self.id });
        self.metrics.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A running subscription and how its changes become rows.
pub struct SubscribeResponse {
    /// `mz_timestamp, [mz_progressed,] mz_diff, columns...`
    pub desc: RelationDesc,
    pub receiver: mpsc::Receiver<SubscribeEvent>,
    pub progress: bool,
    pub as_of: Timestamp,
    pub done: bool,
    /// The columns of the relation (without the mz_ columns).
    pub arity: usize,
    pub envelope: Option<crate::subscribe::EnvelopeState>,
    /// Fires when something the subscription reads is dropped (see [`ActiveSubscription`]).
    pub ended: Option<oneshot::Receiver<AdapterError>>,
    pub _guard: DataflowGuard,
}

/// The message a subscriber that fell behind receives, over every protocol.
pub const FELL_BEHIND: &str = "subscriber fell too far behind and was disconnected";

fn subscribe_error(e: SubscribeError) -> AdapterError {
    match e {
        SubscribeError::Eval(e) => AdapterError::Eval(e),
        SubscribeError::FellBehind => AdapterError::Invalid {
            code: "XX000",
            message: FELL_BEHIND.into(),
        },
        SubscribeError::Render(message) => AdapterError::internal(message),
    }
}

pub fn numeric_timestamp(ts: Timestamp) -> Datum<'static> {
    Datum::Numeric(Decimal::from(ts))
}

impl SubscribeResponse {
    /// The output shape for a relation with `desc`, per SUBSCRIBE's options.
    pub fn output_desc(desc: &RelationDesc, progress: bool) -> RelationDesc {
        let mut out = RelationDesc::empty().with_column(
            "mz_timestamp",
            ColumnType::new(ScalarType::numeric(), false),
        );
        if progress {
            out = out.with_column("mz_progressed", ColumnType::new(ScalarType::Bool, false));
        }
        out = out.with_column("mz_diff", ColumnType::new(ScalarType::Int64, progress));
        for (name, typ) in desc.iter() {
            out = out.with_column(name.clone(), typ.clone().nullable(typ.nullable || progress));
        }
        out
    }

    /// The next rows to send, waiting for changes. `Ok(None)` once the subscription ends.
    pub async fn next(&mut self) -> Result<Option<Vec<Row>>, AdapterError> {
        if self.done {
            return Ok(None);
        }
        // An end from the adapter wins over changes still queued: the relation is gone.
        let event = match &mut self.ended {
            Some(ended) => tokio::select! {
                biased;
                end = ended => match end {
                    Ok(e) => Err(e),
                    Err(_) => Ok(None),
                },
                event = self.receiver.recv() => Ok(Some(event)),
            },
            None => Ok(Some(self.receiver.recv().await)),
        };
        let event = match event {
            Ok(Some(event)) => event,
            Ok(None) => {
                // The adapter forgot this subscription (it cannot happen while the guard
                // lives, but if it does, keep streaming).
                self.ended = None;
                self.receiver.recv().await
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        match event {
            None => {
                self.done = true;
                Err(AdapterError::Invalid {
                    code: "XX000",
                    message: "subscription ended unexpectedly".into(),
                })
            }
            Some(SubscribeEvent::Complete) => {
                self.done = true;
                Ok(None)
            }
            Some(SubscribeEvent::Error(e)) => {
                self.done = true;
                Err(subscribe_error(e))
            }
            Some(SubscribeEvent::Batch { updates, upper }) => {
                Ok(Some(self.rows_for(updates, upper)))
            }
        }
    }

    /// Like `next`, but returns `Ok(Some(vec![]))` instead of waiting when nothing is ready.
    pub fn try_next(&mut self) -> Result<Option<Vec<Row>>, AdapterError> {
        if self.done {
            return Ok(None);
        }
        if let Some(ended) = &mut self.ended {
            match ended.try_recv() {
                Ok(e) => {
                    self.done = true;
                    return Err(e);
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
                Err(oneshot::error::TryRecvError::Closed) => self.ended = None,
            }
        }
        match self.receiver.try_recv() {
            Err(mpsc::error::TryRecvError::Empty) => Ok(Some(vec![])),
            Err(mpsc::error::TryRecvError::Disconnected) => {
                self.done = true;
                Ok(None)
            }
            Ok(SubscribeEvent::Complete) => {
                self.done = true;
                Ok(None)
            }
            Ok(SubscribeEvent::Error(e)) => {
                self.done = true;
                Err(subscribe_error(e))
            }
            Ok(SubscribeEvent::Batch { updates, upper }) => Ok(Some(self.rows_for(updates, upper))),
        }
    }

    fn rows_for(
        &mut self,
        updates: Vec<(Row, Timestamp, i64)>,
        upper: Option<Timestamp>,
    ) -> Vec<Row> {
        if let Some(envelope) = &mut self.envelope {
            let mut rows = envelope.rows_for(updates, self.progress);
            if self.progress {
                if let Some(u) = upper {
                    rows.push(self.progress_row(u));
                }
            }
            return rows;
        }
        let mut rows = Vec::with_capacity(updates.len() + 1);
        for (row, time, diff) in updates {
            let mut out = Row::default();
            let mut packer = out.packer();
            packer.push(numeric_timestamp(time));
            if self.progress {
                packer.push(Datum::False);
            }
            packer.push(Datum::Int64(diff));
            out.appender().extend_by_row(&row);
            rows.push(out);
        }
        if self.progress {
            if let Some(u) = upper {
                rows.push(self.progress_row(u));
            }
        }
        rows
    }

    fn progress_row(&self, upper: Timestamp) -> Row {
        let mut out = Row::default();
        let mut packer = out.packer();
        packer.push(numeric_timestamp(upper));
        packer.push(Datum::True);
        let extra = self.desc.arity() - 2;
        for _ in 0..extra {
            packer.push(Datum::Null);
        }
        out
    }
}
