//! Group commit: the one task that turns writes into durable, timestamped updates.
//!
//! ```text
//!  sessions ──WriteRequest──▶ queue ──▶ [committer]
//!                                        1. take every queued request (one group)
//!                                        2. allocate one timestamp for the group
//!                                        3. Log::commit (append + fsync; blocking thread)
//!                                        4. ComputeCommand::Append, inputs advance to ts+1
//!                                        5. mark ts applied, acknowledge every request
//! ```
//!
//! Concurrent writers share one fsync: while a group is being made durable, new requests
//! queue up and form the next group. A write is acknowledged only after its fsync, and its
//! updates reach the dataflows before the acknowledgement, so a client that reads after its
//! write sees it. When no write arrives for a tick interval, the committer advances the
//! inputs anyway, so that time (and SUBSCRIBE progress) moves without writes.
//!
//! The storage crate owns the mechanics of durable multi-collection commits; this task owns
//! the policy (which requests form a group, and the order in which timestamps reach
//! compute), because it is the one place that sees both the log and the dataflows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evert_compute::{ComputeCommand, ComputeController, InputBatch};
use evert_repr::{Diff, GlobalId, Row, Timestamp};
use evert_storage::Log;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error};

use crate::error::AdapterError;
use crate::oracle::TimestampOracle;

pub type Batches = Vec<(GlobalId, Vec<(Row, Diff)>)>;

pub struct WriteRequest {
    pub batches: Batches,
    pub respond: oneshot::Sender<Result<Timestamp, AdapterError>>,
}

enum Message {
    Write(WriteRequest),
    /// Run `f` between groups (while no commit is in flight) and reply.
    Barrier(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Committer {
    tx: mpsc::UnboundedSender<Message>,
}

/// Lets the committer begin (see [`Committer::start`]).
pub struct CommitterStart(oneshot::Sender<()>);

impl CommitterStart {
    pub fn go(self) {
        let _ = self.0.send(());
    }
}

/// Collections without dataflow inputs (the catalog) are written to the log only.
pub type HasInput = Arc<dyn Fn(GlobalId) -> bool + Send + Sync>;

impl Committer {
    pub fn start(
        storage: Arc<Mutex<Log>>,
        compute: Arc<ComputeController>,
        oracle: Arc<TimestampOracle>,
        tick: Duration,
        has_input: HasInput,
        stats: Arc<crate::metrics::Metrics>,
        grown: mpsc::UnboundedSender<GlobalId>,
    ) -> (Committer, CommitterStart) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (go, gate) = oneshot::channel();
        tokio::spawn(async move {
            // Until recovery has replayed the log into the dataflows, the clock must not move:
            // an input advanced by a tick before its replay would place the recovered updates
            // after the timestamp that reads use.
            if gate.await.is_ok() {
                run(rx, storage, compute, oracle, tick, has_input, stats, grown).await;
            }
        });
        (Committer { tx }, CommitterStart(go))
    }

    /// Commits `batches` durably at a new timestamp and returns it.
    pub async fn write(&self, batches: Batches) -> Result<Timestamp, AdapterError> {
        let (respond, rx) = oneshot::channel();
        self.tx
            .send(Message::Write(WriteRequest { batches, respond }))
            .map_err(|_| AdapterError::ShuttingDown)?;
        rx.await.map_err(|_| AdapterError::ShuttingDown)?
    }

    /// Waits until every write queued before this call has been applied.
    pub async fn barrier(&self) -> Result<(), AdapterError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Message::Barrier(tx))
            .map_err(|_| AdapterError::ShuttingDown)?;
        rx.await.map_err(|_| AdapterError::ShuttingDown)
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Message>,
    storage: Arc<Mutex<Log>>,
    compute: Arc<ComputeController>,
    oracle: Arc<TimestampOracle>,
    tick: Duration,
    has_input: HasInput,
    stats: Arc<crate::metrics::Metrics>,
    grown: mpsc::UnboundedSender<GlobalId>,
) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut group: Vec<WriteRequest> = Vec::new();
        let mut barriers: Vec<oneshot::Sender<()>> = Vec::new();
        tokio::select! {
            message = rx.recv() => match message {
                Some(Message::Write(w)) => group.push(w),
                Some(Message::Barrier(b)) => barriers.push(b),
                None => break,
            },
            _ = interval.tick() => {
                // Nothing written for a while: move the clock forward.
                let ts = oracle.allocate();
                compute.send(ComputeCommand::AdvanceInputs { to: ts + 1 });
                oracle.set_applied(ts);
                continue;
            }
        }
        while let Ok(message) = rx.try_recv() {
            match message {
                Message::Write(w) => group.push(w),
                Message::Barrier(b) => barriers.push(b),
            }
        }
        if !group.is_empty() {
            commit_group(
                group, &storage, &compute, &oracle, &has_input, &stats, &grown,
            )
            .await;
            interval.reset();
        }
        for b in barriers {
            let _ = b.send(());
        }
    }
    debug!("committer stopped");
}

async fn commit_group(
    group: Vec<WriteRequest>,
    storage: &Arc<Mutex<Log>>,
    compute: &Arc<ComputeController>,
    oracle: &Arc<TimestampOracle>,
    has_input: &HasInput,
    stats: &Arc<crate::metrics::Metrics>,
    grown: &mpsc::UnboundedSender<GlobalId>,
) {
    // One batch per collection for the whole group.
    let mut merged: BTreeMap<GlobalId, Vec<(Row, Diff)>> = BTreeMap::new();
    let mut rows = 0u64;
    for request in &group {
        for (id, updates) in &request.batches {
            // A row written twice in one statement is one update with diff 2: count rows.
            rows += updates.iter().map(|(_, d)| d.unsigned_abs()).sum::<u64>();
            merged
                .entry(*id)
                .or_default()
                .extend(updates.iter().cloned());
        }
    }
    let batches: Vec<(GlobalId, Vec<(Row, Diff)>)> = merged.into_iter().collect();
    let ts = oracle.allocate();
    let log = Arc::clone(storage);
    let to_commit = batches.clone();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        let mut log = log
            .lock()
            .map_err(|_| AdapterError::internal("storage lock poisoned"))?;
        log.commit(ts, &to_commit).map_err(AdapterError::from)
    })
    .await
    .unwrap_or_else(|e| Err(AdapterError::internal(format!("commit task failed: {e}"))));
    match result {
        Ok(()) => {
            stats.record_commit(group.len() as u64, rows, started.elapsed());
            // Tell the log compactor which collections grew.
            for (id, _) in &batches {
                let _ = grown.send(*id);
            }
            let inputs: Vec<InputBatch> = batches
                .into_iter()
                .filter(|(id, _)| has_input(*id))
                .map(|(id, updates)| InputBatch {
                    id,
                    updates: updates.into_iter().map(|(r, d)| (r, ts, d)).collect(),
                })
                .collect();
            compute.send(ComputeCommand::Append {
                batches: Arc::new(inputs),
                advance_to: ts + 1,
            });
            oracle.set_applied(ts);
            for request in group {
                let _ = request.respond.send(Ok(ts));
            }
        }
        Err(e) => {
            error!(error = %e, "commit failed; the writes in this group were not acknowledged");
            let message = e.to_string();
            for request in group {
                let _ = request.respond.send(Err(AdapterError::internal(format!(
                    "write failed: {message}"
                ))));
            }
        }
    }
}
