//! Constant folding: evaluates scalar subexpressions whose inputs are known, evaluates
//! operators over constant relations, and propagates empty relations.

use evert_expr::{EvalError, MapFilterProject, MirRelationExpr, MirScalarExpr};
use evert_repr::{Datum, Diff, Row, RowArena};

pub fn fold(expr: &mut MirRelationExpr) {
    expr.visit_mut_post(&mut |e| fold_node(e));
}

fn take(e: &mut MirRelationExpr) -> MirRelationExpr {
    std::mem::replace(e, MirRelationExpr::unit())
}

fn consolidate(rows: &mut Vec<(Row, Diff)>) {
    rows.sort();
    let mut out: Vec<(Row, Diff)> = Vec::with_capacity(rows.len());
    for (row, diff) in rows.drain(..) {
        match out.last_mut() {
            Some((last, d)) if *last == row => *d += diff,
            _ => out.push((row, diff)),
        }
    }
    out.retain(|(_, d)| *d != 0);
    *rows = out;
}

fn fold_node(e: &mut MirRelationExpr) {
    // Fold the scalars of this node against its input's column types.
    match e {
        MirRelationExpr::Map { input, scalars } => {
            let mut types = input.typ().column_types;
            for s in scalars.iter_mut() {
                s.reduce(&types);
                types.push(s.typ(&types));
            }
        }
        MirRelationExpr::Filter { input, predicates } => {
            let types = input.typ().column_types;
            for p in predicates.iter_mut() {
                p.reduce(&types);
            }
        }
        MirRelationExpr::FlatMap { input, exprs, .. } => {
            let types = input.typ().column_types;
            for x in exprs.iter_mut() {
                x.reduce(&types);
            }
        }
        MirRelationExpr::Reduce {
            input,
            group_key,
            aggregates,
        } => {
            let types = input.typ().column_types;
            for k in group_key.iter_mut() {
                k.reduce(&types);
            }
            for a in aggregates.iter_mut() {
                for s in a.scalars_mut() {
                    s.reduce(&types);
                }
            }
        }
        MirRelationExpr::Join {
            inputs,
            equivalences,
        } => {
            let mut types = Vec::new();
            for i in inputs.iter() {
                types.extend(i.typ().column_types);
            }
            for class in equivalences.iter_mut() {
                for x in class.iter_mut() {
                    x.reduce(&types);
                }
            }
        }
        _ => {}
    }

    let typ = e.typ();
    match e {
        MirRelationExpr::Filter { input, predicates } => {
            predicates.retain(|p| !p.is_literal_true());
            if predicates
                .iter()
                .any(|p| p.is_literal_false() || p.is_literal_null())
            {
                *e = MirRelationExpr::empty(typ);
                return;
            }
            if predicates.is_empty() {
                *e = take(input);
                return;
            }
            fold_mfp(e);
        }
        MirRelationExpr::Map { .. } | MirRelationExpr::Project { .. } => fold_mfp(e),
        MirRelationExpr::FlatMap { input, func, exprs } => {
            if input.is_empty_constant() {
                *e = MirRelationExpr::empty(typ);
                return;
            }
            if let Some(Ok(rows)) = input.as_const() {
                if rows.len() <= 1000 && exprs.iter().all(|x| x.support().iter().all(|_| true)) {
                    let arena = RowArena::new();
                    let mut out = Vec::new();
                    for (row, diff) in rows {
                        let datums: Vec<Datum> = row.iter().collect();
                        let args: Result<Vec<Datum>, EvalError> =
                            exprs.iter().map(|x| x.eval(&datums, &arena)).collect();
                        let produced = args.and_then(|a| func.eval(&a, &arena));
                        match produced {
                            Ok(results) => {
                                if results.len() > 100_000 {
                                    return;
                                }
                                for (r, d) in results {
                                    let mut combined = row.clone();
                                    combined.appender().extend_by_row(&r);
                                    out.push((combined, d * diff));
                                }
                            }
                            Err(err) => {
                                *e = MirRelationExpr::Constant {
                                    rows: Err(err),
                                    typ,
                                };
                                return;
                            }
                        }
                    }
                    consolidate(&mut out);
                    *e = MirRelationExpr::Constant { rows: Ok(out), typ };
                }
            }
        }
        MirRelationExpr::Join {
            inputs,
            equivalences,
        } => {
            if inputs.iter().any(|i| i.is_empty_constant()) {
                *e = MirRelationExpr::empty(typ);
                return;
            }
            // Inputs that are a single row of no columns contribute nothing.
            let unit = MirRelationExpr::unit();
            if inputs.len() > 1 && inputs.iter().any(|i| *i == unit) {
                inputs.retain(|i| *i != unit);
                if inputs.is_empty() {
                    *e = unit;
                    return;
                }
            }
            if inputs.len() == 1 && equivalences.is_empty() {
                *e = inputs.pop().expect("one input");
            }
        }
        MirRelationExpr::Union { base, inputs } => {
            let mut all: Vec<MirRelationExpr> = std::iter::once(take(base))
                .chain(inputs.drain(..))
                .filter(|i| !i.is_empty_constant())
                .collect();
            // Constant inputs combine into one.
            let (constants, others): (Vec<_>, Vec<_>) = all
                .drain(..)
                .partition(|i| matches!(i.as_const(), Some(Ok(_))));
            let mut merged: Vec<(Row, Diff)> = Vec::new();
            for c in constants {
                if let MirRelationExpr::Constant { rows: Ok(rows), .. } = c {
                    merged.extend(rows);
                }
            }
            consolidate(&mut merged);
            let mut parts = others;
            if !merged.is_empty() {
                parts.push(MirRelationExpr::Constant {
                    rows: Ok(merged),
                    typ: typ.clone(),
                });
            }
            *e = MirRelationExpr::union_many(parts, typ);
        }
        MirRelationExpr::Negate { input } => {
            if let MirRelationExpr::Constant { rows: Ok(rows), .. } = input.as_mut() {
                for (_, d) in rows.iter_mut() {
                    *d = -*d;
                }
                *e = take(input);
            }
        }
        MirRelationExpr::Threshold { input } => {
            if let MirRelationExpr::Constant { rows: Ok(rows), .. } = input.as_mut() {
                rows.retain(|(_, d)| *d > 0);
                *e = take(input);
            }
        }
        MirRelationExpr::Reduce {
            input, group_key, ..
        } => {
            if input.is_empty_constant() {
                let _ = group_key;
                *e = MirRelationExpr::empty(typ);
            }
        }
        MirRelationExpr::Window { input, .. } => {
            if input.is_empty_constant() {
                *e = MirRelationExpr::empty(typ);
            }
        }
        MirRelationExpr::TopK { input, limit, .. } => {
            if input.is_empty_constant() || *limit == Some(0) {
                *e = MirRelationExpr::empty(typ);
            }
        }
        MirRelationExpr::Constant { rows: Ok(rows), .. } => consolidate(rows),
        _ => {}
    }
}

/// Evaluates a Map/Filter/Project chain over a constant.
fn fold_mfp(e: &mut MirRelationExpr) {
    let (mfp, input) = MapFilterProject::extract_from(e);
    let Some(Ok(rows)) = input.as_const() else {
        if input.is_empty_constant() {
            *e = MirRelationExpr::empty(e.typ());
        }
        return;
    };
    if rows.len() > 10_000 {
        return;
    }
    if mfp
        .expressions
        .iter()
        .chain(mfp.predicates.iter().map(|(_, p)| p))
        .any(|s| s.contains_unmaterializable())
    {
        return;
    }
    let typ = e.typ();
    let arena = RowArena::new();
    let mut out = Vec::with_capacity(rows.len());
    for (row, diff) in rows {
        match evaluate(&mfp, row, &arena) {
            Ok(Some(r)) => out.push((r, *diff)),
            Ok(None) => {}
            Err(err) => {
                *e = MirRelationExpr::Constant {
                    rows: Err(err),
                    typ,
                };
                return;
            }
        }
    }
    consolidate(&mut out);
    *e = MirRelationExpr::Constant { rows: Ok(out), typ };
}

fn evaluate(mfp: &MapFilterProject, row: &Row, arena: &RowArena) -> Result<Option<Row>, EvalError> {
    mfp.evaluate(row, arena)
}

/// Whether an expression is a literal TRUE (used by callers deciding on fast paths).
pub fn is_true(e: &MirScalarExpr) -> bool {
    e.is_literal_true()
}
