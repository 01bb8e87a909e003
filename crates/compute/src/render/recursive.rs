//! Recursive queries: MIR `LetRec`, rendered as a differential iteration.
//!
//! The bindings of a `LetRec` are computed in a nested iterative scope whose timestamps are
//! `Product<Timestamp, u64>` (a time and an iteration count). Each binding is a
//! differential `Variable`: at iteration `i + 1` it holds its defining query evaluated on
//! every binding's value at iteration `i`, starting from empty, until nothing changes.
//! Differential maintains the whole iteration incrementally: a later input change
//! re-derives only the facts it affects, in as many rounds as it needs, so deleting an edge
//! of a graph retracts exactly the paths that depended on it.
//!
//! ```text
//!   outer scope                    iterative scope (t, i)
//!   Get u1 ──enter──▶ value query ──consolidate──▶ limit ──▶ Variable (feedback, i + 1)
//!                         ▲                          │               │
//!                         └──────────────────────────┼───────────────┘
//!   binding ◀──leave─────────────────────────────────┘
//! ```
//!
//! A query that never converges (counting without bound, `UNION ALL` around a cycle) is
//! stopped after [`ITERATION_LIMIT`] rounds (or the `LetRec`'s own limit) and reported as an
//! error of the relation rather than spinning forever; `RETURN AT RECURSION LIMIT` instead
//! keeps the bindings' values of the last round. State: the arrangements inside the loop, proportional to the
//! bindings' sizes.

use std::collections::BTreeSet;

use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::iterate::Variable;
use differential_dataflow::AsCollection;
use evert_expr::{EvalError, Id, LetRecLimit, LocalId, MirRelationExpr};
use evert_repr::{Diff, Timestamp};
use timely::dataflow::operators::vec::Partition;
use timely::order::Product;

use super::{CollectionBundle, Context, RenderError};
use crate::types::{ErrCollection, RowCollection};

/// Rounds after which a recursive query that still changes is reported as an error.
pub const ITERATION_LIMIT: u64 = 10_000;

/// A timestamp a dataflow can be rendered at: evert's own, or (inside a recursive query's
/// loop) that with an iteration counter.
pub trait RenderTime: timely::progress::Timestamp + Lattice {
    fn render_letrec<'s>(
        ctx: &mut Context<'s, Self>,
        ids: &[LocalId],
        values: &[MirRelationExpr],
        limit: Option<LetRecLimit>,
        body: &MirRelationExpr,
    ) -> Result<CollectionBundle<'s, Self>, RenderError>;
}

type Iteration = Product<Timestamp, u64>;

impl RenderTime for Iteration {
    fn render_letrec<'s>(
        _ctx: &mut Context<'s, Self>,
        _ids: &[LocalId],
        _values: &[MirRelationExpr],
        _limit: Option<LetRecLimit>,
        _body: &MirRelationExpr,
    ) -> Result<CollectionBundle<'s, Self>, RenderError> {
        // The planner refuses nested recursion; a plan with it is a bug there.
        Err(RenderError(
            "a recursive query nested inside another recursive query".into(),
        ))
    }
}

impl RenderTime for Timestamp {
    fn render_letrec<'s>(
        ctx: &mut Context<'s, Self>,
        ids: &[LocalId],
        values: &[MirRelationExpr],
        limit: Option<LetRecLimit>,
        body: &MirRelationExpr,
    ) -> Result<CollectionBundle<'s, Self>, RenderError> {
        // Rounds run at inner times 0, 1, …: a limit of n keeps the times below n.
        let (max_iterations, return_at_limit) = match limit {
            Some(l) => (l.max_iterations, l.return_at_limit),
            None => (ITERATION_LIMIT, false),
        };
        let outer = ctx.scope;
        let worker_index = ctx.worker_index;
        // Only the outer collections the bindings read enter the loop.
        let own: BTreeSet<Id> = ids.iter().map(|id| Id::Local(*id)).collect();
        let mut used = BTreeSet::new();
        for v in values {
            v.visit_post(&mut |e| {
                if let MirRelationExpr::Get { id, .. } = e {
                    if !own.contains(id) {
                        used.insert(*id);
                    }
                }
            });
        }
        let mut entering: Vec<(Id, RowCollection<'s>, ErrCollection<'s>)> = Vec::new();
        for id in used {
            // Ids the values bind themselves (`Let` inside the loop) are not found here.
            if let Some(bundle) = ctx.bindings.get(&id) {
                entering.push((id, bundle.as_collection(), bundle.errs.clone()));
            }
        }
        type Left<'s> = (RowCollection<'s>, ErrCollection<'s>, RowCollection<'s>);
        let results: Result<Vec<Left<'s>>, RenderError> = outer.iterative::<u64, _, _>(|inner| {
            let mut ictx: Context<'_, Iteration> = Context::new(inner, worker_index);
            for (id, oks, errs) in &entering {
                ictx.bindings.insert(
                    *id,
                    CollectionBundle::from_collections(
                        oks.clone().enter(inner),
                        errs.clone().enter(inner),
                    ),
                );
            }
            let mut variables = Vec::with_capacity(ids.len());
            for id in ids {
                let (variable, collection) =
                    Variable::new(inner, Product::new(Default::default(), 1));
                let errs = ictx.empty_errs();
                ictx.bindings.insert(
                    Id::Local(*id),
                    CollectionBundle::from_collections(collection, errs),
                );
                variables.push(variable);
            }
            let mut left = Vec::with_capacity(ids.len());
            for (value, variable) in values.iter().zip(variables) {
                let bundle = ictx.render(value)?;
                // Consolidating keeps cancelling differences from circulating forever.
                let oks = bundle.as_collection().consolidate();
                let mut parts = oks.inner.partition(
                    2,
                    move |(row, time, diff): (evert_repr::Row, Iteration, Diff)| {
                        let part = u64::from(time.inner >= max_iterations);
                        (part, (row, time, diff))
                    },
                );
                let overflow = parts.pop().expect("two parts").as_collection();
                let within = parts.pop().expect("two parts").as_collection();
                variable.set(within.clone());
                left.push((
                    within.leave(outer),
                    bundle.errs.leave(outer),
                    overflow.leave(outer),
                ));
            }
            Ok(left)
        });
        let results = results?;
        let mut previous = Vec::with_capacity(ids.len());
        for (id, (oks, errs, overflow)) in ids.iter().zip(results) {
            // Rows still changing at the limit mean the query did not converge; with
            // RETURN AT RECURSION LIMIT that is the answer, not an error.
            let overflow = if return_at_limit {
                overflow.filter(|_| false)
            } else {
                overflow
            };
            let not_converged = overflow
                .threshold_named("IterationLimit", |_, c: &Diff| if *c != 0 { 1 } else { 0 })
                .map(move |_| EvalError::RecursionLimit(max_iterations))
                .threshold_named(
                    "IterationLimitError",
                    |_, c: &Diff| {
                        if *c != 0 {
                            1
                        } else {
                            0
                        }
                    },
                );
            let bundle = CollectionBundle::from_collections(oks, errs.concat(not_converged));
            previous.push((*id, ctx.bindings.insert(Id::Local(*id), bundle)));
        }
        let result = ctx.render(body);
        for (id, p) in previous {
            match p {
                Some(p) => {
                    ctx.bindings.insert(Id::Local(id), p);
                }
                None => {
                    ctx.bindings.remove(&Id::Local(id));
                }
            }
        }
        result
    }
}
