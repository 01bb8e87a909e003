//! The compute controller: the adapter's handle on the timely workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::Thread;

use evert_expr::{EvalError, MapFilterProject, MirScalarExpr};
use evert_repr::{Diff, GlobalId, Row, Timestamp};
use timely::communication::WorkerGuards;
use tokio::sync::mpsc as tokio_mpsc;

use crate::command::{ComputeCommand, Peek, PeekResponse};

/// Why a peek returned no rows.
#[derive(Debug, Clone)]
pub enum PeekError {
    /// The collection holds an error at the peek's time.
    Eval(EvalError),
    /// The peek could not be served.
    Failed(String),
    Canceled,
}

/// Merge work (in updates) an idle arrangement operator does per activation.
const IDLE_MERGE_EFFORT: usize = 1000;

pub struct ComputeController {
    senders: Mutex<Vec<Sender<ComputeCommand>>>,
    threads: Vec<Thread>,
    guards: Mutex<Option<WorkerGuards<()>>>,
    workers: usize,
    next_peek: AtomicU64,
}

/// The parts of a peek the caller chooses.
pub struct PeekTarget {
    pub collection: GlobalId,
    pub key: Option<Vec<MirScalarExpr>>,
    pub literal_keys: Option<Vec<Row>>,
    pub timestamp: Timestamp,
    pub mfp: MapFilterProject,
}

impl ComputeController {
    /// Starts `workers` timely worker threads in this process.
    pub fn start(workers: usize) -> Result<Arc<ComputeController>, String> {
        let workers = workers.max(1);
        let mut senders = Vec::with_capacity(workers);
        let mut receivers = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = mpsc::channel();
            senders.push(tx);
            receivers.push(Some(rx));
        }
        let receivers = Arc::new(Mutex::new(receivers));
        let (thread_tx, thread_rx) = mpsc::channel();
        let thread_tx = Mutex::new(thread_tx);

        let mut config = timely::Config::process(workers);
        // Let arrangements finish the merges they have begun while the worker is otherwise
        // idle, so that compaction happens without waiting for new data.
        //
        // Only merges in progress: differential's default idle logic also exerts whenever a
        // trace holds more than one non-empty batch, feeding it virtual updates until it is
        // one batch again. After a one-row write to a table of N rows that means merging the
        // new row's batch into the N-row batch, O(N) work per write and per arrangement; it
        // made write-to-subscriber latency grow with the table (docs/benchmarks.md). Merges
        // begun by real updates are the spine's amortized O(log N) per update.
        config
            .worker
            .set::<differential_dataflow::trace::ExertionLogic>(
                "differential/default_exert_logic".to_string(),
                Arc::new(|batches: &[(usize, usize, usize)]| {
                    batches
                        .iter()
                        .any(|(_level, count, _length)| *count > 1)
                        .then_some(IDLE_MERGE_EFFORT)
                }),
            );
        let guards = timely::execute(config, move |worker| {
            let index = worker.index();
            let receiver = receivers.lock().expect("receivers lock")[index]
                .take()
                .expect("one receiver per worker");
            thread_tx
                .lock()
                .expect("thread channel lock")
                .send((index, std::thread::current()))
                .expect("controller is waiting for worker threads");
            crate::worker::run(worker, receiver);
        })?;

        let mut threads: Vec<(usize, Thread)> = (0..workers)
            .map(|_| thread_rx.recv().expect("worker thread"))
            .collect();
        threads.sort_by_key(|(i, _)| *i);
        Ok(Arc::new(ComputeController {
            senders: Mutex::new(senders),
            threads: threads.into_iter().map(|(_, t)| t).collect(),
            guards: Mutex::new(Some(guards)),
            workers,
            next_peek: AtomicU64::new(1),
        }))
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Sends a command to every worker. The lock keeps every worker's command sequence in
    /// the same order.
    pub fn send(&self, command: ComputeCommand) {
        let senders = self.senders.lock().expect("command lock");
        for sender in senders.iter() {
            let _ = sender.send(command.clone());
        }
        drop(senders);
        for thread in &self.threads {
            thread.unpark();
        }
    }

    /// Reads an arrangement at a timestamp, waiting until the timestamp is complete.
    pub async fn peek(&self, target: PeekTarget) -> Result<Vec<(Row, Diff)>, PeekError> {
        let uuid = self.next_peek.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = tokio_mpsc::unbounded_channel();
        self.send(ComputeCommand::Peek(Arc::new(Peek {
            uuid,
            collection: target.collection,
            key: target.key,
            literal_keys: target.literal_keys,
            timestamp: target.timestamp,
            mfp: target.mfp,
            response: tx,
        })));
        // If the caller stops waiting (the client went away), withdraw the peek.
        let mut guard = CancelOnDrop {
            controller: self,
            uuid,
            armed: true,
        };
        let mut rows = Vec::new();
        let mut failure = None;
        for _ in 0..self.workers {
            match rx.recv().await {
                Some((_, PeekResponse::Rows(r))) => rows.extend(r),
                Some((_, PeekResponse::Error(e))) => failure = failure.or(Some(PeekError::Eval(e))),
                Some((_, PeekResponse::Failed(m))) => {
                    failure = failure.or(Some(PeekError::Failed(m)))
                }
                Some((_, PeekResponse::Canceled)) | None => {
                    failure = failure.or(Some(PeekError::Canceled))
                }
            }
        }
        guard.armed = false;
        match failure {
            Some(f) => Err(f),
            None => Ok(rows),
        }
    }

    /// The upper frontier of each collection (the meet across workers); `None` when the
    /// collection is complete or unknown.
    pub async fn frontiers(&self, ids: Vec<GlobalId>) -> Vec<(GlobalId, Option<Timestamp>)> {
        let (tx, mut rx) = tokio_mpsc::unbounded_channel();
        self.send(ComputeCommand::ReportFrontiers {
            ids: ids.clone(),
            response: tx,
        });
        let mut result: Vec<(GlobalId, Option<Timestamp>)> =
            ids.iter().map(|id| (*id, None)).collect();
        for _ in 0..self.workers {
            if let Some((_, reported)) = rx.recv().await {
                for ((_, acc), (_, upper)) in result.iter_mut().zip(reported) {
                    *acc = match (*acc, upper) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (None, b) => b,
                        (a, None) => a,
                    };
                }
            }
        }
        result
    }

    /// Stops the workers and waits for them.
    pub fn shutdown(&self) {
        self.senders.lock().expect("command lock").clear();
        for thread in &self.threads {
            thread.unpark();
        }
        if let Some(guards) = self.guards.lock().expect("guards lock").take() {
            drop(guards.join());
        }
    }
}

struct CancelOnDrop<'a> {
    controller: &'a ComputeController,
    uuid: u64,
    armed: bool,
}

impl Drop for ComputeController {
    /// Closes the command channels and wakes the workers so they see it and exit; only then
    /// are their threads joined (a parked worker would otherwise never notice).
    fn drop(&mut self) {
        if let Ok(mut senders) = self.senders.lock() {
            senders.clear();
        }
        for thread in &self.threads {
            thread.unpark();
        }
        if let Ok(mut guards) = self.guards.lock() {
            drop(guards.take());
        }
    }
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.controller
                .send(ComputeCommand::CancelPeek { uuid: self.uuid });
        }
    }
}
