//! Predicate pushdown: moves each filter predicate as close to the data as it can go.
//!
//! Conjunctions are split first (a filter keeps a row when every conjunct is true), so that
//! each conjunct moves on its own: in `a.id = b.auction AND b.time >= a.time` the equality
//! still becomes a join key although the other conjunct must stay above the join.
//!
//! Over a join, a predicate `a = b` whose sides come from different inputs becomes a join
//! equivalence (so the join is an equi-join on arrangements instead of a cross product),
//! with `a IS NOT NULL` pushed into `a`'s input because SQL's `=` never matches NULLs while
//! MIR's join equivalences do. A predicate that reads one input's columns moves into that
//! input. Predicates also move through Project, Map (when they do not read mapped
//! columns), Union, Negate, Threshold, FlatMap, and through Reduce when they read only
//! group-key columns.

use evert_expr::{BinaryFunc, MirRelationExpr, MirScalarExpr, UnaryFunc, VariadicFunc};

pub fn pushdown(expr: &mut MirRelationExpr) {
    push(expr, Vec::new());
}

fn take(e: &mut MirRelationExpr) -> MirRelationExpr {
    std::mem::replace(e, MirRelationExpr::unit())
}

fn wrap(mut e: MirRelationExpr, predicates: Vec<MirScalarExpr>) -> MirRelationExpr {
    if predicates.is_empty() {
        return e;
    }
    if let MirRelationExpr::Filter {
        predicates: existing,
        ..
    } = &mut e
    {
        existing.extend(predicates);
        return e;
    }
    e.filter(predicates)
}

/// Places `predicates` (over `expr`'s columns) inside `expr` where possible, and recursively
/// pushes the filters already inside it.
fn push(expr: &mut MirRelationExpr, predicates: Vec<MirScalarExpr>) {
    let mut predicates = conjuncts(predicates);
    // Predicates that may fail on rows they would otherwise never see are still moved; SQL
    // does not promise an evaluation order.
    match expr {
        MirRelationExpr::Filter {
            input,
            predicates: own,
        } => {
            predicates.append(own);
            let mut inner = take(input);
            push(&mut inner, predicates);
            *expr = inner;
        }
        MirRelationExpr::Project { input, outputs } => {
            for p in &mut predicates {
                p.permute(outputs);
            }
            push(input, predicates);
        }
        MirRelationExpr::Map { input, scalars } => {
            let arity = input.arity();
            let (below, above): (Vec<_>, Vec<_>) = predicates
                .into_iter()
                .partition(|p| p.support().iter().all(|c| *c < arity));
            // A predicate on a mapped column that is a plain column copy can be rewritten.
            let mut still_above = Vec::new();
            let mut more_below = Vec::new();
            for mut p in above {
                let copies_only = p.support().iter().all(|c| {
                    *c < arity || matches!(scalars.get(c - arity), Some(MirScalarExpr::Column(_)))
                });
                if copies_only {
                    let mut replacements: Vec<MirScalarExpr> =
                        (0..arity).map(MirScalarExpr::Column).collect();
                    replacements.extend(scalars.iter().cloned());
                    p.substitute(&replacements);
                    if p.support().iter().all(|c| *c < arity) {
                        more_below.push(p);
                        continue;
                    }
                }
                still_above.push(p);
            }
            let mut below = below;
            below.extend(more_below);
            push(input, below);
            if !still_above.is_empty() {
                let inner = take(expr);
                *expr = inner.filter(still_above);
            }
        }
        MirRelationExpr::FlatMap { input, .. } => {
            let arity = input.arity();
            let (below, above): (Vec<_>, Vec<_>) = predicates
                .into_iter()
                .partition(|p| p.support().iter().all(|c| *c < arity));
            push(input, below);
            if !above.is_empty() {
                let inner = take(expr);
                *expr = inner.filter(above);
            }
        }
        MirRelationExpr::Union { base, inputs } => {
            push(base, predicates.clone());
            for i in inputs {
                push(i, predicates.clone());
            }
        }
        MirRelationExpr::Negate { input }
        | MirRelationExpr::Threshold { input }
        | MirRelationExpr::ArrangeBy { input, .. } => {
            push(input, predicates);
        }
        MirRelationExpr::Let { value, body, .. } => {
            push(value, Vec::new());
            push(body, predicates);
        }
        MirRelationExpr::LetRec { values, body, .. } => {
            for v in values {
                push(v, Vec::new());
            }
            push(body, predicates);
        }
        MirRelationExpr::Reduce {
            input, group_key, ..
        } => {
            let keys = group_key.len();
            let (below, above): (Vec<_>, Vec<_>) = predicates
                .into_iter()
                .partition(|p| p.support().iter().all(|c| *c < keys));
            let below: Vec<MirScalarExpr> = below
                .into_iter()
                .map(|mut p| {
                    p.substitute(group_key);
                    p
                })
                .collect();
            push(input, below);
            if !above.is_empty() {
                let inner = take(expr);
                *expr = inner.filter(above);
            }
        }
        MirRelationExpr::TopK {
            input, group_key, ..
        } => {
            // Predicates on the group key select whole groups and commute with TopK.
            let keys = group_key.clone();
            let (below, above): (Vec<_>, Vec<_>) = predicates
                .into_iter()
                .partition(|p| p.support().iter().all(|c| keys.contains(c)));
            push(input, below);
            if !above.is_empty() {
                let inner = take(expr);
                *expr = inner.filter(above);
            }
        }
        MirRelationExpr::Window {
            input,
            partition_by,
            ..
        } => {
            // Predicates on the partition key select whole partitions and commute with the
            // window functions; others must see their results.
            let keys = partition_by.clone();
            let (below, above): (Vec<_>, Vec<_>) = predicates
                .into_iter()
                .partition(|p| p.support().iter().all(|c| keys.contains(c)));
            push(input, below);
            if !above.is_empty() {
                let inner = take(expr);
                *expr = inner.filter(above);
            }
        }
        MirRelationExpr::Join { .. } => push_join(expr, predicates),
        MirRelationExpr::Constant { .. } | MirRelationExpr::Get { .. } => {
            let inner = take(expr);
            *expr = wrap(inner, predicates);
        }
    }
}

/// The predicates with every `AND` (at any depth of `AND`s) replaced by its operands.
fn conjuncts(predicates: Vec<MirScalarExpr>) -> Vec<MirScalarExpr> {
    let mut out = Vec::with_capacity(predicates.len());
    let mut pending: Vec<MirScalarExpr> = predicates.into_iter().rev().collect();
    while let Some(p) = pending.pop() {
        match p {
            MirScalarExpr::CallVariadic {
                func: VariadicFunc::And,
                exprs,
            } => pending.extend(exprs.into_iter().rev()),
            p => out.push(p),
        }
    }
    out
}

fn push_join(expr: &mut MirRelationExpr, predicates: Vec<MirScalarExpr>) {
    let MirRelationExpr::Join {
        inputs,
        equivalences,
    } = expr
    else {
        unreachable!("called on joins")
    };
    let arities: Vec<usize> = inputs.iter().map(|i| i.arity()).collect();
    let offsets: Vec<usize> = arities
        .iter()
        .scan(0, |acc, a| {
            let o = *acc;
            *acc += a;
            Some(o)
        })
        .collect();
    let input_of = |c: usize| -> usize {
        offsets
            .iter()
            .rposition(|o| *o <= c)
            .expect("column within the join")
    };
    let single_input = |e: &MirScalarExpr| -> Option<usize> {
        let support = e.support();
        let mut it = support.iter().map(|c| input_of(*c));
        let first = it.next()?;
        it.all(|i| i == first).then_some(first)
    };
    let mut per_input: Vec<Vec<MirScalarExpr>> = vec![Vec::new(); inputs.len()];
    let mut remaining = Vec::new();
    for p in predicates {
        if let MirScalarExpr::CallBinary {
            func: BinaryFunc::Eq,
            expr1,
            expr2,
        } = &p
        {
            let (a, b) = (single_input(expr1), single_input(expr2));
            if let (Some(i), Some(j)) = (a, b) {
                if i != j {
                    equivalences.push(vec![(**expr1).clone(), (**expr2).clone()]);
                    // SQL's = does not match NULLs; MIR equivalences do.
                    let mut not_null = (**expr1).clone().call_unary(UnaryFunc::IsNull).not();
                    not_null.permute_with(&|c| c - offsets[i]);
                    per_input[i].push(not_null);
                    continue;
                }
            }
        }
        match single_input(&p) {
            Some(i) => {
                let mut local = p;
                local.permute_with(&|c| c - offsets[i]);
                per_input[i].push(local);
            }
            None if p.support().is_empty() => {
                // A constant predicate: keep it above (fold_constants decides).
                remaining.push(p);
            }
            None => remaining.push(p),
        }
    }
    // Equivalences that involve a single input are filters on it.
    let mut kept = Vec::new();
    for class in std::mem::take(equivalences) {
        let inputs_touched: std::collections::BTreeSet<usize> = class
            .iter()
            .flat_map(|e| e.support())
            .map(input_of)
            .collect();
        if inputs_touched.len() == 1
            && class.len() >= 2
            && class.iter().all(|e| !e.support().is_empty())
        {
            let i = *inputs_touched.iter().next().expect("one input");
            for pair in class.windows(2) {
                let mut p = pair[0]
                    .clone()
                    .call_binary(pair[1].clone(), BinaryFunc::IsNotDistinctFrom);
                p.permute_with(&|c| c - offsets[i]);
                per_input[i].push(p);
            }
        } else {
            kept.push(class);
        }
    }
    *equivalences = kept;
    for (input, preds) in inputs.iter_mut().zip(per_input) {
        push(input, preds);
    }
    if !remaining.is_empty() {
        let inner = take(expr);
        *expr = inner.filter(remaining);
    }
}

#[cfg(test)]
mod tests {
    use evert_repr::{ColumnType, GlobalId, RelationType, ScalarType};

    use super::*;

    fn table(id: u64) -> MirRelationExpr {
        let int = ColumnType::new(ScalarType::Int64, true);
        MirRelationExpr::global_get(
            GlobalId::User(id),
            RelationType::new(vec![int.clone(), int]),
        )
    }

    /// `a.0 = b.0 AND b.1 >= a.1` over `a × b`: the equality becomes the join's key even
    /// though it is one operand of an AND whose other operand reads both inputs.
    #[test]
    fn an_equality_inside_a_conjunction_becomes_a_join_key() {
        let equal = MirScalarExpr::column(0).call_binary(MirScalarExpr::column(2), BinaryFunc::Eq);
        let later = MirScalarExpr::column(3).call_binary(MirScalarExpr::column(1), BinaryFunc::Gte);
        let mut plan = MirRelationExpr::join(vec![table(1), table(2)], Vec::new())
            .filter(vec![equal.and(later.clone())]);
        pushdown(&mut plan);
        let MirRelationExpr::Filter { input, predicates } = &plan else {
            panic!("the range predicate stays above the join: {plan:?}");
        };
        assert_eq!(predicates, &vec![later]);
        let MirRelationExpr::Join { equivalences, .. } = &**input else {
            panic!("a join below the filter: {plan:?}");
        };
        assert_eq!(
            equivalences,
            &vec![vec![MirScalarExpr::column(0), MirScalarExpr::column(2)]]
        );
    }
}
