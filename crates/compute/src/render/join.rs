//! Linear joins.
//!
//! Inputs are joined one at a time into a growing prefix. At each step the next input is one
//! that shares an equivalence class with the prefix (so the step is an equi-join, not a cross
//! product); both sides are arranged by the shared expressions, reusing an existing
//! arrangement (an index, or a view's own) when one has the right key. Equivalences not used
//! as keys are checked as predicates afterwards, and the columns are put back in the order of
//! the inputs.
//!
//! MIR join equivalences are null-safe (NULL equals NULL); the planner adds `IS NOT NULL`
//! filters where SQL's `=` must not match NULLs.

use std::collections::BTreeSet;

use evert_expr::{BinaryFunc, MapFilterProject, MirScalarExpr};
use evert_repr::Row;

use super::{
    apply_mfp, arrange_collection, ArrangementBundle, CollectionBundle, Context, RenderTime,
};
use crate::types::RowCollection;

pub fn render_join<'s, T: RenderTime>(
    ctx: &mut Context<'s, T>,
    mut inputs: Vec<CollectionBundle<'s, T>>,
    arities: &[usize],
    equivalences: &[Vec<MirScalarExpr>],
) -> CollectionBundle<'s, T> {
    let offsets: Vec<usize> = arities
        .iter()
        .scan(0, |acc, a| {
            let o = *acc;
            *acc += a;
            Some(o)
        })
        .collect();
    let total_arity: usize = arities.iter().sum();
    let columns_of =
        |i: usize| -> BTreeSet<usize> { (offsets[i]..offsets[i] + arities[i]).collect() };

    // Errors of the inputs are gathered at the end: arranging an input by a key can add the
    // key expressions' errors to it.
    let mut errs = ctx.empty_errs();

    if inputs.is_empty() {
        return CollectionBundle::from_collections(ctx.empty_oks(), errs);
    }

    // The prefix: which global columns its rows hold, in order.
    let mut prefix_columns: Vec<usize> = columns_of(0).into_iter().collect();
    let mut joined: BTreeSet<usize> = BTreeSet::from([0]);
    let mut prefix: Option<RowCollection<'s, T>> = None;
    let mut used_pairs: Vec<(MirScalarExpr, MirScalarExpr)> = Vec::new();

    while joined.len() < inputs.len() {
        let prefix_set: BTreeSet<usize> = prefix_columns.iter().copied().collect();
        // Pick the next input: the first one sharing an equivalence with the prefix.
        let candidates: Vec<usize> = (0..inputs.len()).filter(|i| !joined.contains(i)).collect();
        let keys_for = |j: usize| -> Vec<(MirScalarExpr, MirScalarExpr)> {
            let input_set = columns_of(j);
            let mut keys = Vec::new();
            for class in equivalences {
                let on_prefix = class.iter().find(|e| {
                    let s = e.support();
                    !s.is_empty() && s.is_subset(&prefix_set)
                });
                let on_input = class.iter().find(|e| {
                    let s = e.support();
                    !s.is_empty() && s.is_subset(&input_set)
                });
                if let (Some(p), Some(i)) = (on_prefix, on_input) {
                    keys.push((p.clone(), i.clone()));
                }
            }
            keys
        };
        let next = candidates
            .iter()
            .copied()
            .find(|j| !keys_for(*j).is_empty())
            .unwrap_or(candidates[0]);
        let keys = keys_for(next);

        // Key expressions in each side's local column numbering.
        let prefix_position = |g: usize| {
            prefix_columns
                .iter()
                .position(|c| *c == g)
                .expect("column in prefix")
        };
        let prefix_key: Vec<MirScalarExpr> = keys
            .iter()
            .map(|(p, _)| {
                let mut p = p.clone();
                p.permute_with(&prefix_position);
                p
            })
            .collect();
        let input_offset = offsets[next];
        let input_key: Vec<MirScalarExpr> = keys
            .iter()
            .map(|(_, i)| {
                let mut i = i.clone();
                i.permute_with(&|c| c - input_offset);
                i
            })
            .collect();
        used_pairs.extend(keys.iter().cloned());

        let name = format!("Join key {}", if keys.is_empty() { "(cross)" } else { "" });
        let left: ArrangementBundle<'s, T> = match prefix.take() {
            // The first step can reuse an arrangement the first input already has.
            None => inputs[0].ensure_arranged(&Some(prefix_key), &name),
            Some(collection) => {
                let (arranged, key_errs) = arrange_collection(collection, Some(prefix_key), &name);
                if let Some(e) = key_errs {
                    errs = errs.concat(e);
                }
                arranged
            }
        };
        let right = inputs[next].ensure_arranged(&Some(input_key), &name);

        let (left_identity, right_identity) = (left.identity, right.identity);
        let joined_rows = left
            .oks
            .join_core(right.oks, move |key: &Row, v1: &Row, v2: &Row| {
                let l = if left_identity { key } else { v1 };
                let r = if right_identity { key } else { v2 };
                let mut out = Row::with_capacity(l.byte_len() + r.byte_len());
                out.appender().extend_by_row(l);
                out.appender().extend_by_row(r);
                Some(out)
            });
        prefix = Some(joined_rows);
        prefix_columns.extend(columns_of(next));
        joined.insert(next);
    }

    for input in &inputs {
        errs = errs.concat(input.errs.clone());
    }
    let mut oks = match prefix {
        Some(p) => p,
        None => inputs[0].as_collection(),
    };

    // Residual equivalences and the original column order.
    let prefix_position = |g: usize| {
        prefix_columns
            .iter()
            .position(|c| *c == g)
            .expect("column in prefix")
    };
    let mut predicates = Vec::new();
    for class in equivalences {
        for pair in class.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let used = used_pairs
                .iter()
                .any(|(p, i)| (p == a && i == b) || (p == b && i == a));
            if used {
                continue;
            }
            let mut a = a.clone();
            let mut b = b.clone();
            a.permute_with(&prefix_position);
            b.permute_with(&prefix_position);
            predicates.push(a.call_binary(b, BinaryFunc::IsNotDistinctFrom));
        }
    }
    let projection: Vec<usize> = (0..total_arity).map(prefix_position).collect();
    let mfp = MapFilterProject::new(total_arity)
        .filter(predicates)
        .project(projection);
    if !mfp.is_identity() {
        let (o, e) = apply_mfp(oks, mfp);
        oks = o;
        errs = errs.concat(e);
    }
    CollectionBundle::from_collections(oks, errs)
}
