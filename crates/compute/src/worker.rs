//! A compute worker: one timely worker thread and the state it keeps.
//!
//! The worker alternates between applying the commands it has received and stepping its
//! dataflows. Commands arrive on a channel in the same order on every worker, which is what
//! keeps dataflow construction identical across workers.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::input::InputSession;
use differential_dataflow::trace::TraceReader;
use evert_repr::{Diff, GlobalId, Row, Timestamp};
use timely::progress::frontier::AntichainRef;
use timely::worker::Worker as TimelyWorker;
use tracing::{debug, warn};

use crate::command::{
    ComputeCommand, DataflowDescription, DataflowExport, InputBatch, Peek, PeekResponse,
};
use crate::peek::try_peek;
use crate::registry::{ArrangedTrace, TraceRegistry};
use crate::render::Context;
use crate::sink::{render_subscribe, SubscribeConfig};

/// Everything a worker keeps between commands.
pub struct ComputeState {
    /// Table inputs; each worker feeds its share of every batch.
    inputs: BTreeMap<GlobalId, InputSession<Timestamp, Row, Diff>>,
    /// The time every input has been advanced to.
    input_time: Timestamp,
    registry: TraceRegistry,
    /// Timely dataflow indices, by the collection they are maintained for (a table has its
    /// input's dataflow and possibly key arrangements).
    dataflows: BTreeMap<GlobalId, Vec<usize>>,
    pending_peeks: Vec<Arc<Peek>>,
    /// This worker's index, reported with peek responses.
    index: usize,
}

/// Runs a worker until the command channel closes.
pub fn run(worker: &mut TimelyWorker, commands: Receiver<ComputeCommand>) {
    let mut state = ComputeState {
        inputs: BTreeMap::new(),
        input_time: 0,
        registry: TraceRegistry::default(),
        dataflows: BTreeMap::new(),
        pending_peeks: Vec::new(),
        index: worker.index(),
    };
    loop {
        loop {
            match commands.try_recv() {
                Ok(command) => state.handle(worker, command),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    debug!(worker = worker.index(), "compute worker shutting down");
                    return;
                }
            }
        }
        state.process_peeks();
        // While peeks wait on frontiers, wake regularly to check them.
        let park = if state.pending_peeks.is_empty() {
            None
        } else {
            Some(Duration::from_millis(1))
        };
        worker.step_or_park(park);
    }
}

impl ComputeState {
    fn handle(&mut self, worker: &mut TimelyWorker, command: ComputeCommand) {
        match command {
            ComputeCommand::CreateInput { id, arity: _ } => self.create_input(worker, id),
            ComputeCommand::Append {
                batches,
                advance_to,
            } => self.append(worker, &batches, advance_to),
            ComputeCommand::AdvanceInputs { to } => self.advance_inputs(to),
            ComputeCommand::CreateDataflow(desc) => self.create_dataflow(worker, &desc),
            ComputeCommand::DropCollection { id } => self.drop_collection(worker, id),
            ComputeCommand::Peek(peek) => self.pending_peeks.push(peek),
            ComputeCommand::CancelPeek { uuid } => {
                self.pending_peeks.retain(|p| {
                    if p.uuid == uuid {
                        let _ = p.response.send((worker.index(), PeekResponse::Canceled));
                        false
                    } else {
                        true
                    }
                });
            }
            ComputeCommand::AllowCompaction { frontiers } => {
                for (id, frontier) in frontiers {
                    if let Some(traces) = self.registry.get_mut(&id) {
                        traces.allowed_compaction = traces.allowed_compaction.max(frontier);
                    }
                    self.apply_compaction(id);
                }
            }
            ComputeCommand::ReportFrontiers { ids, response } => {
                let frontiers = ids
                    .into_iter()
                    .map(|id| {
                        let upper = self
                            .registry
                            .upper(&id)
                            .and_then(|u| u.as_option().copied());
                        (id, upper)
                    })
                    .collect();
                let _ = response.send((worker.index(), frontiers));
            }
        }
    }

    fn create_input(&mut self, worker: &mut TimelyWorker, id: GlobalId) {
        let index = worker.next_dataflow_index();
        let (mut input, trace) = worker.dataflow_named(&format!("Table {id}"), |scope| {
            let mut input = InputSession::<Timestamp, Row, Diff>::new();
            let arranged = input
                .to_collection(scope)
                .map(|row: Row| (row, Row::default()))
                .arrange_by_key_named(&format!("Table {id}"));
            (input, arranged.trace)
        });
        input.advance_to(self.input_time);
        input.flush();
        self.registry.insert(
            id,
            None,
            ArrangedTrace {
                oks: trace,
                identity: true,
                owner: id,
            },
            None,
        );
        self.dataflows.entry(id).or_default().push(index);
        self.inputs.insert(id, input);
    }

    fn append(&mut self, worker: &mut TimelyWorker, batches: &[InputBatch], advance_to: Timestamp) {
        let (index, peers) = (worker.index(), worker.peers());
        for batch in batches {
            let Some(input) = self.inputs.get_mut(&batch.id) else {
                warn!(collection = %batch.id, "append to a collection without an input");
                continue;
            };
            let floor = *input.time();
            for (position, (row, time, diff)) in batch.updates.iter().enumerate() {
                if position % peers == index {
                    // Times at or after the input's current time, by construction of the
                    // timestamp oracle; clamping keeps a violation from panicking the worker.
                    input.update_at(row.clone(), (*time).max(floor), *diff);
                }
            }
        }
        self.advance_inputs(advance_to);
    }

    fn advance_inputs(&mut self, to: Timestamp) {
        if to <= self.input_time {
            return;
        }
        self.input_time = to;
        for input in self.inputs.values_mut() {
            input.advance_to(to);
            input.flush();
        }
    }

    fn create_dataflow(&mut self, worker: &mut TimelyWorker, desc: &DataflowDescription) {
        let worker_index = worker.index();
        let index = worker.next_dataflow_index();
        let registry = &mut self.registry;
        let result = worker.dataflow_named(&desc.debug_name, |scope| {
            let mut ctx = Context::new(scope, worker_index);
            for id in desc.plan.global_uses() {
                ctx.import(registry, id)?;
            }
            let mut bundle = ctx.render(&desc.plan)?;
            match &desc.export {
                DataflowExport::Index { on, key } => {
                    let name = format!("Arrange {}", desc.debug_name);
                    let arranged = bundle.arrange_for_export(key, &name);
                    let errs = bundle
                        .errs
                        .clone()
                        .arrange_by_self_named(&format!("Errors {}", desc.debug_name));
                    Ok(Some((
                        *on,
                        key.clone(),
                        ArrangedTrace {
                            oks: arranged.oks.trace,
                            identity: arranged.identity,
                            owner: desc.id,
                        },
                        errs.trace,
                    )))
                }
                DataflowExport::Subscribe(sink) => {
                    let config = SubscribeConfig {
                        as_of: sink.as_of,
                        up_to: sink.up_to,
                        with_snapshot: sink.with_snapshot,
                        sender: (worker_index == 0).then(|| sink.sender.clone()),
                    };
                    render_subscribe(bundle.as_collection(), bundle.errs.clone(), config);
                    Ok(None)
                }
            }
        });
        match result {
            Ok(export) => {
                if let Some((on, key, trace, errs)) = export {
                    self.registry.insert(on, key, trace, Some(errs));
                    if on != desc.id {
                        // An index of another collection: compact it like its collection.
                        self.apply_compaction(on);
                    }
                }
                self.dataflows.entry(desc.id).or_default().push(index);
            }
            Err(crate::render::RenderError(message)) => {
                warn!(dataflow = %desc.debug_name, %message, "dataflow could not be rendered");
                worker.drop_dataflow(index);
                if let DataflowExport::Subscribe(sink) = &desc.export {
                    if worker_index == 0 {
                        let _ = sink.sender.try_send(crate::command::SubscribeEvent::Error(
                            crate::command::SubscribeError::Render(message),
                        ));
                    }
                }
            }
        }
    }

    fn drop_collection(&mut self, worker: &mut TimelyWorker, id: GlobalId) {
        self.inputs.remove(&id);
        for index in self.dataflows.remove(&id).unwrap_or_default() {
            worker.drop_dataflow(index);
        }
        self.registry.remove_owned_by(id);
        let index = worker.index();
        self.pending_peeks.retain(|p| {
            let gone = p.collection == id && self.registry.get(&id).is_none();
            if gone {
                let _ = p.response.send((
                    index,
                    PeekResponse::Failed(format!("collection {id} was dropped")),
                ));
            }
            !gone
        });
    }

    fn process_peeks(&mut self) {
        if self.pending_peeks.is_empty() {
            return;
        }
        let mut finished = Vec::new();
        let registry = &mut self.registry;
        let index = self.index;
        self.pending_peeks
            .retain(|peek| match try_peek(registry, peek) {
                Some(response) => {
                    let _ = peek.response.send((index, response));
                    finished.push(peek.collection);
                    false
                }
                None => true,
            });
        for id in finished {
            self.apply_compaction(id);
        }
    }

    /// Advances an arrangement's compaction to what the adapter allows, but never past a
    /// pending peek's time.
    fn apply_compaction(&mut self, id: GlobalId) {
        let hold = self
            .pending_peeks
            .iter()
            .filter(|p| p.collection == id)
            .map(|p| p.timestamp)
            .min();
        let Some(traces) = self.registry.get_mut(&id) else {
            return;
        };
        let frontier = match hold {
            Some(h) => traces.allowed_compaction.min(h),
            None => traces.allowed_compaction,
        };
        let frontier = [frontier];
        let shadowed = traces.shadowed.iter_mut().map(|(_, t)| t);
        for arranged in traces.arrangements.values_mut().chain(shadowed) {
            if arranged
                .oks
                .get_logical_compaction()
                .less_equal(&frontier[0])
            {
                arranged
                    .oks
                    .set_logical_compaction(AntichainRef::new(&frontier));
                arranged
                    .oks
                    .set_physical_compaction(AntichainRef::new(&frontier));
            }
        }
        if let Some(errs) = &mut traces.errs {
            if errs.get_logical_compaction().less_equal(&frontier[0]) {
                errs.set_logical_compaction(AntichainRef::new(&frontier));
                errs.set_physical_compaction(AntichainRef::new(&frontier));
            }
        }
    }
}
