//! The SUBSCRIBE sink: a view's changes, in timestamp order, to a subscriber.
//!
//! All changes are routed to worker 0, whose operator sees the global frontier. It buffers
//! changes until the frontier passes their time, then sends them consolidated and sorted by
//! time, with the new frontier (which is what progress messages report). Times at or before
//! `as_of` are the snapshot and are reported at `as_of`.
//!
//! Backpressure: the channel to the subscriber is bounded. A subscriber that stops reading
//! must not stall the dataflow or other subscribers, so when the channel is nearly full the
//! sink sends a final error in the last slot and stops.

use evert_expr::EvalError;
use evert_repr::{Diff, Row, Timestamp};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::progress::Antichain;
use tokio::sync::mpsc;

use crate::command::{SubscribeError, SubscribeEvent};
use crate::types::{ErrCollection, RowCollection};

pub struct SubscribeConfig {
    pub as_of: Timestamp,
    pub up_to: Option<Timestamp>,
    pub with_snapshot: bool,
    /// Present on worker 0 only.
    pub sender: Option<mpsc::Sender<SubscribeEvent>>,
}

pub fn render_subscribe<'s>(
    oks: RowCollection<'s>,
    errs: ErrCollection<'s>,
    config: SubscribeConfig,
) {
    let scope = oks.inner.scope();
    let mut builder = OperatorBuilder::new("Subscribe".to_owned(), scope);
    let mut ok_input =
        builder.new_input(oks.inner, Exchange::new(|_: &(Row, Timestamp, Diff)| 0u64));
    let mut err_input = builder.new_input(
        errs.inner,
        Exchange::new(|_: &(EvalError, Timestamp, Diff)| 0u64),
    );
    let SubscribeConfig {
        as_of,
        up_to,
        with_snapshot,
        sender,
    } = config;

    builder.build(move |_capabilities| {
        let mut pending: Vec<(Row, Timestamp, Diff)> = Vec::new();
        let mut pending_errors: Vec<(EvalError, Timestamp, Diff)> = Vec::new();
        let mut reported: Antichain<Timestamp> = Antichain::from_elem(0);
        let mut finished = sender.is_none();
        move |frontiers| {
            ok_input.for_each(|_cap, data| {
                for (row, time, diff) in data.drain(..) {
                    pending.push((row, time.max(as_of), diff));
                }
            });
            err_input.for_each(|_cap, data| {
                for (err, time, diff) in data.drain(..) {
                    pending_errors.push((err, time.max(as_of), diff));
                }
            });
            if finished {
                pending.clear();
                pending_errors.clear();
                return;
            }
            let sender = sender.as_ref().expect("unfinished sinks have a sender");

            // The global frontier: the meet of both inputs'.
            let mut frontier = Antichain::new();
            for f in frontiers.iter() {
                for t in f.frontier().iter() {
                    frontier.insert(*t);
                }
            }
            if frontier == reported {
                return;
            }
            // Nothing is reported before the snapshot is complete.
            if frontier.less_equal(&as_of) {
                return;
            }

            let is_ready = |t: &Timestamp| !frontier.less_equal(t);
            let mut errors: Vec<(EvalError, Timestamp, Diff)> = Vec::new();
            pending_errors.retain(|e| {
                if is_ready(&e.1) {
                    errors.push(e.clone());
                    false
                } else {
                    true
                }
            });
            differential_dataflow::consolidation::consolidate_updates(&mut errors);
            if let Some((err, _, _)) = errors.iter().find(|(_, _, d)| *d > 0) {
                let _ = sender.try_send(SubscribeEvent::Error(SubscribeError::Eval(err.clone())));
                finished = true;
                return;
            }

            let mut ready: Vec<(Row, Timestamp, Diff)> = Vec::new();
            pending.retain(|u| {
                if is_ready(&u.1) {
                    ready.push(u.clone());
                    false
                } else {
                    true
                }
            });
            if !with_snapshot {
                ready.retain(|(_, t, _)| *t > as_of);
            }
            if let Some(limit) = up_to {
                ready.retain(|(_, t, _)| *t < limit);
            }
            differential_dataflow::consolidation::consolidate_updates(&mut ready);
            ready.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));

            if sender.capacity() <= 1 {
                let _ = sender.try_send(SubscribeEvent::Error(SubscribeError::FellBehind));
                finished = true;
                return;
            }
            let upper = frontier.as_option().copied();
            if sender
                .try_send(SubscribeEvent::Batch {
                    updates: ready,
                    upper,
                })
                .is_err()
            {
                finished = true;
                return;
            }
            reported = frontier.clone();
            let done = match (upper, up_to) {
                (None, _) => true,
                (Some(u), Some(limit)) => u >= limit,
                _ => false,
            };
            if done {
                let _ = sender.try_send(SubscribeEvent::Complete);
                finished = true;
            }
        }
    });
}
