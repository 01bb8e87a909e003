//! Lowering HIR to MIR: decorrelation, outer joins, and empty-input aggregates.
//!
//! Every HIR relation is lowered *relative to an outer relation*: the distinct rows of the
//! enclosing query's columns it depends on. The MIR it produces has the outer columns first
//! and its own after them, one copy of its own rows per outer row. At the top the outer
//! relation is a single empty row, so the prefix is empty.
//!
//! A correlated subquery inside a relation `R` is lowered by *branching*: take the distinct
//! values of the columns of `R` the subquery refers to, lower the subquery relative to those
//! (so it is computed once per distinct key, not per row), then join the result back to `R`
//! on the keys. `EXISTS` becomes a semijoin or antijoin, a scalar subquery a left join
//! with a check that it yields at most one row per key. Nothing is evaluated row by row.
//!
//! ```text
//!   R ──▶ distinct(R[keys]) ──▶ lower(subquery, outer = keys) ──┐
//!   └──────────────────────────────── join on keys ◀─────────────┘
//! ```

use std::collections::BTreeMap;

use evert_expr::{
    AggregateExpr, AggregateFunc, ColumnOrder, EvalError, Id, LocalId, MirRelationExpr,
    MirScalarExpr, WindowCall, WindowFunc as MirWindowFunc,
};
use evert_repr::{ColumnType, Datum, RelationType, Row};

use crate::error::PlanError;
use crate::hir::{
    ColumnRef, HirAggregateExpr, HirRelationExpr, HirScalarExpr, JoinKind, WindowExpr, WindowFunc,
};

/// Where each outer reference (level >= 1) is found in the relation being built.
type ColumnMap = BTreeMap<ColumnRef, usize>;

/// Lowers a whole (uncorrelated) query.
pub fn lower(expr: HirRelationExpr) -> Result<MirRelationExpr, PlanError> {
    let mut lowerer = Lowerer {
        next_local: 1_000_000,
    };
    lowerer.lower_relation(expr, &MirRelationExpr::unit(), 0, &ColumnMap::new())
}

/// Lowers a scalar expression over a single relation's columns (no subqueries).
pub fn lower_scalar_over(expr: &HirScalarExpr, arity: usize) -> Result<MirScalarExpr, PlanError> {
    let mut lowerer = Lowerer {
        next_local: 2_000_000,
    };
    let mut dummy = MirRelationExpr::unit();
    let own: Vec<usize> = (0..arity).collect();
    let lowered = lowerer.lower_scalar(expr.clone(), &mut dummy, &own, &ColumnMap::new())?;
    if dummy != MirRelationExpr::unit() {
        return Err(PlanError::unsupported("subqueries in this position"));
    }
    Ok(lowered)
}

/// Lowers a constant scalar (LIMIT, defaults).
pub fn lower_constant_scalar(expr: &HirScalarExpr) -> Result<MirScalarExpr, PlanError> {
    lower_scalar_over(expr, 0)
}

struct Lowerer {
    next_local: u64,
}

impl Lowerer {
    fn new_local(&mut self) -> LocalId {
        self.next_local += 1;
        LocalId(self.next_local)
    }

    /// Binds `value` to a fresh local id; returns the id and a `Get` of it.
    fn bind(&mut self, value: &MirRelationExpr) -> (LocalId, MirRelationExpr) {
        let id = self.new_local();
        (
            id,
            MirRelationExpr::Get {
                id: Id::Local(id),
                typ: value.typ(),
            },
        )
    }

    fn wrap_let(id: LocalId, value: MirRelationExpr, body: MirRelationExpr) -> MirRelationExpr {
        MirRelationExpr::Let {
            id,
            value: Box::new(value),
            body: Box::new(body),
        }
    }

    /// Each outer row paired with each row of `rel`.
    fn product(outer: &MirRelationExpr, rel: MirRelationExpr) -> MirRelationExpr {
        if *outer == MirRelationExpr::unit() {
            rel
        } else {
            MirRelationExpr::join(vec![outer.clone(), rel], vec![])
        }
    }

    fn lower_relation(
        &mut self,
        expr: HirRelationExpr,
        outer: &MirRelationExpr,
        outer_arity: usize,
        map: &ColumnMap,
    ) -> Result<MirRelationExpr, PlanError> {
        let oa = outer_arity;
        Ok(match expr {
            HirRelationExpr::Constant { rows, typ } => {
                Self::product(outer, MirRelationExpr::constant(rows, typ))
            }
            HirRelationExpr::Get { id, typ } => {
                Self::product(outer, MirRelationExpr::Get { id, typ })
            }
            HirRelationExpr::Let { id, value, body } => {
                if value.is_correlated() {
                    return Err(PlanError::unsupported(
                        "correlated common table expressions",
                    ));
                }
                let value =
                    self.lower_relation(*value, &MirRelationExpr::unit(), 0, &ColumnMap::new())?;
                let body = self.lower_relation(*body, outer, oa, map)?;
                Self::wrap_let(id, value, body)
            }
            HirRelationExpr::LetRec {
                bindings,
                limit,
                body,
            } => {
                let mut ids = Vec::with_capacity(bindings.len());
                let mut values = Vec::with_capacity(bindings.len());
                for (id, value, _) in bindings {
                    if value.is_correlated() {
                        return Err(PlanError::unsupported(
                            "recursive common table expressions that refer to an enclosing query",
                        ));
                    }
                    let mut has_nested = false;
                    let lowered =
                        self.lower_relation(value, &MirRelationExpr::unit(), 0, &ColumnMap::new())?;
                    lowered.visit_post(&mut |e| {
                        if matches!(e, MirRelationExpr::LetRec { .. }) {
                            has_nested = true;
                        }
                    });
                    if has_nested {
                        return Err(PlanError::unsupported("nested recursive queries"));
                    }
                    ids.push(id);
                    values.push(lowered);
                }
                let body = self.lower_relation(*body, outer, oa, map)?;
                MirRelationExpr::LetRec {
                    ids,
                    values,
                    limit,
                    body: Box::new(body),
                }
            }
            HirRelationExpr::Project { input, outputs } => {
                let input = self.lower_relation(*input, outer, oa, map)?;
                let mut columns: Vec<usize> = (0..oa).collect();
                columns.extend(outputs.iter().map(|c| oa + c));
                input.project(columns)
            }
            HirRelationExpr::Map { input, scalars } => {
                let own_arity = hir_arity(&input);
                let mut rel = self.lower_relation(*input, outer, oa, map)?;
                let original = oa + own_arity;
                let mut own: Vec<usize> = (oa..original).collect();
                let mut outputs = Vec::with_capacity(scalars.len());
                let mut scalars = scalars.into_iter().peekable();
                while let Some(s) = scalars.next() {
                    if let HirScalarExpr::Windowing(w) = s {
                        // Window functions with the same PARTITION BY and ORDER BY share
                        // one Window node.
                        let mut group = vec![*w];
                        while let Some(HirScalarExpr::Windowing(next)) = scalars.peek() {
                            if next.partition_by != group[0].partition_by
                                || next.order_by != group[0].order_by
                            {
                                break;
                            }
                            let Some(HirScalarExpr::Windowing(next)) = scalars.next() else {
                                unreachable!("peeked above")
                            };
                            group.push(*next);
                        }
                        for column in self.lower_windows(group, &mut rel, &own, map, oa)? {
                            own.push(column);
                            outputs.push(column);
                        }
                        continue;
                    }
                    let lowered = self.lower_scalar(s, &mut rel, &own, map)?;
                    let position = rel.arity();
                    rel = rel.map_one(lowered);
                    own.push(position);
                    outputs.push(position);
                }
                let mut columns: Vec<usize> = (0..original).collect();
                columns.extend(outputs);
                if columns.len() == rel.arity() {
                    rel
                } else {
                    rel.project(columns)
                }
            }
            HirRelationExpr::CallTable { func, exprs } => {
                // Arguments refer only to outer columns; the function runs once per outer row.
                let mut base = outer.clone();
                let own: Vec<usize> = vec![];
                let mut lowered = Vec::with_capacity(exprs.len());
                for e in exprs {
                    lowered.push(self.lower_scalar(e, &mut base, &own, map)?);
                }
                if base.arity() != oa {
                    return Err(PlanError::unsupported(
                        "subqueries in table function arguments",
                    ));
                }
                MirRelationExpr::FlatMap {
                    input: Box::new(base),
                    func,
                    exprs: lowered,
                }
            }
            HirRelationExpr::Filter { input, predicates } => {
                let own_arity = hir_arity(&input);
                let mut rel = self.lower_relation(*input, outer, oa, map)?;
                let original = oa + own_arity;
                let own: Vec<usize> = (oa..original).collect();
                for p in predicates {
                    rel = self.lower_filter_predicate(p, rel, &own, map)?;
                }
                if rel.arity() == original {
                    rel
                } else {
                    rel.project((0..original).collect())
                }
            }
            HirRelationExpr::Join {
                left,
                right,
                on,
                kind,
                lateral,
            } => self.lower_join(*left, *right, on, kind, lateral, outer, oa, map)?,
            HirRelationExpr::Reduce {
                input,
                group_key,
                aggregates,
            } => {
                let own_arity = hir_arity(&input);
                let mut rel = self.lower_relation(*input, outer, oa, map)?;
                let own: Vec<usize> = (oa..oa + own_arity).collect();
                let mut lowered = Vec::with_capacity(aggregates.len());
                for a in aggregates {
                    lowered.push(self.lower_aggregate(a, &mut rel, &own, map)?);
                }
                let mut key: Vec<usize> = (0..oa).collect();
                key.extend(group_key.iter().map(|c| oa + c));
                let global = group_key.is_empty();
                let defaults: Vec<Datum> = lowered.iter().map(|a| a.func.default_value()).collect();
                let reduced = rel.reduce(key, lowered);
                if !global {
                    reduced
                } else {
                    // A global aggregate yields a row even over empty input: add default values
                    // for every outer row the Reduce produced nothing for.
                    let typ = reduced.typ();
                    let (id, get) = self.bind(&reduced);
                    let have = get.clone().project((0..oa).collect());
                    let missing = outer.clone().union(have.negate());
                    let default_scalars: Vec<MirScalarExpr> = defaults
                        .iter()
                        .zip(typ.column_types[oa..].iter())
                        .map(|(d, t)| {
                            MirScalarExpr::literal_ok(
                                Row::of(*d),
                                ColumnType::new(t.scalar_type.clone(), d.is_null()),
                            )
                        })
                        .collect();
                    let body = get.union(missing.map(default_scalars));
                    Self::wrap_let(id, reduced, body)
                }
            }
            HirRelationExpr::Distinct { input } => {
                self.lower_relation(*input, outer, oa, map)?.distinct()
            }
            HirRelationExpr::TopK {
                input,
                group_key,
                order_key,
                limit,
                offset,
            } => {
                let input = self.lower_relation(*input, outer, oa, map)?;
                let mut key: Vec<usize> = (0..oa).collect();
                key.extend(group_key.iter().map(|c| oa + c));
                let order = order_key
                    .into_iter()
                    .map(|o| ColumnOrder {
                        column: o.column + oa,
                        ..o
                    })
                    .collect();
                MirRelationExpr::TopK {
                    input: Box::new(input),
                    group_key: key,
                    order_key: order,
                    limit,
                    offset,
                }
            }
            HirRelationExpr::Negate { input } => {
                self.lower_relation(*input, outer, oa, map)?.negate()
            }
            HirRelationExpr::Threshold { input } => {
                self.lower_relation(*input, outer, oa, map)?.threshold()
            }
            HirRelationExpr::Union { base, inputs } => {
                let base = self.lower_relation(*base, outer, oa, map)?;
                let mut lowered = Vec::with_capacity(inputs.len());
                for i in inputs {
                    lowered.push(self.lower_relation(i, outer, oa, map)?);
                }
                MirRelationExpr::Union {
                    base: Box::new(base),
                    inputs: lowered,
                }
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn lower_join(
        &mut self,
        left: HirRelationExpr,
        right: HirRelationExpr,
        on: HirScalarExpr,
        kind: JoinKind,
        lateral: bool,
        outer: &MirRelationExpr,
        oa: usize,
        map: &ColumnMap,
    ) -> Result<MirRelationExpr, PlanError> {
        let nl = hir_arity(&left);
        let nr = hir_arity(&right);
        let left = self.lower_relation(left, outer, oa, map)?;
        let (l_id, l_get) = self.bind(&left);
        // The right side, with the outer prefix, for the unmatched-right rows of outer joins.
        let mut right_alone: Option<(LocalId, MirRelationExpr, MirRelationExpr)> = None;
        let product = if lateral {
            let mut right_map = ColumnMap::new();
            for c in 0..nl {
                right_map.insert(
                    ColumnRef {
                        level: 1,
                        column: c,
                    },
                    oa + c,
                );
            }
            for (r, p) in map {
                right_map.insert(
                    ColumnRef {
                        level: r.level + 1,
                        column: r.column,
                    },
                    *p,
                );
            }
            self.branch(
                l_get.clone(),
                right,
                &right_map,
                |lowerer, inner, get_inner, arity, inner_map| {
                    lowerer.lower_relation(inner, &get_inner, arity, inner_map)
                },
            )?
        } else {
            let right = self.lower_relation(right, outer, oa, map)?;
            let (r_id, r_get) = self.bind(&right);
            let joined = if oa == 0 {
                MirRelationExpr::join(vec![l_get.clone(), r_get.clone()], vec![])
            } else {
                let equivalences = (0..oa)
                    .map(|i| vec![MirScalarExpr::Column(i), MirScalarExpr::Column(oa + nl + i)])
                    .collect();
                let mut columns: Vec<usize> = (0..oa + nl).collect();
                columns.extend(oa + nl + oa..oa + nl + oa + nr);
                MirRelationExpr::join(vec![l_get.clone(), r_get.clone()], equivalences)
                    .project(columns)
            };
            right_alone = Some((r_id, right, r_get));
            joined
        };
        // The ON condition over (outer, left, right).
        let width = oa + nl + nr;
        let own: Vec<usize> = (oa..width).collect();
        let mut inner = self.lower_filter_predicate(on, product, &own, map)?;
        if inner.arity() != width {
            inner = inner.project((0..width).collect());
        }
        let right_types: Vec<ColumnType> = inner.typ().column_types[oa + nl..].to_vec();
        let left_types: Vec<ColumnType> = inner.typ().column_types[oa..oa + nl].to_vec();
        let nulls = |types: &[ColumnType]| -> Vec<MirScalarExpr> {
            types
                .iter()
                .map(|t| MirScalarExpr::literal_null(t.scalar_type.clone()))
                .collect()
        };
        let result = match kind {
            JoinKind::Inner => inner,
            JoinKind::LeftOuter | JoinKind::RightOuter | JoinKind::FullOuter => {
                let (i_id, i_get) = self.bind(&inner);
                let mut parts = vec![i_get.clone()];
                if matches!(kind, JoinKind::LeftOuter | JoinKind::FullOuter) {
                    let unmatched =
                        self.unmatched(&l_get, i_get.project((0..oa + nl).collect()), oa + nl);
                    parts.push(unmatched.map(nulls(&right_types)));
                }
                if matches!(kind, JoinKind::RightOuter | JoinKind::FullOuter) {
                    let (_, _, r_get) = right_alone
                        .as_ref()
                        .expect("right/full joins are not lateral");
                    let mut matched_columns: Vec<usize> = (0..oa).collect();
                    matched_columns.extend(oa + nl..width);
                    let unmatched = self.unmatched(
                        r_get,
                        i_get_clone(&parts[0]).project(matched_columns),
                        oa + nr,
                    );
                    // (outer, right) + NULLs for left, reordered to (outer, left, right).
                    let padded = unmatched.map(nulls(&left_types));
                    let mut order: Vec<usize> = (0..oa).collect();
                    order.extend(oa + nr..oa + nr + nl);
                    order.extend(oa..oa + nr);
                    parts.push(padded.project(order));
                }
                let typ = parts[0].typ();
                Self::wrap_let(i_id, inner, MirRelationExpr::union_many(parts, typ))
            }
        };
        let result = match right_alone {
            Some((r_id, right, _)) => Self::wrap_let(r_id, right, result),
            None => result,
        };
        Ok(Self::wrap_let(l_id, left, result))
    }

    /// The rows of `all` (arity `arity`) that do not appear in `matched` (a projection of a
    /// join result onto `all`'s columns), with their original multiplicities.
    fn unmatched(
        &mut self,
        all: &MirRelationExpr,
        matched: MirRelationExpr,
        arity: usize,
    ) -> MirRelationExpr {
        let keys = all.clone().distinct().union(matched.distinct().negate());
        let equivalences = (0..arity)
            .map(|i| vec![MirScalarExpr::Column(i), MirScalarExpr::Column(arity + i)])
            .collect();
        MirRelationExpr::join(vec![all.clone(), keys], equivalences).project((0..arity).collect())
    }

    /// Applies a predicate to `rel`: EXISTS and NOT EXISTS become semijoins and antijoins;
    /// anything else is evaluated (its subqueries lowered into extra columns).
    fn lower_filter_predicate(
        &mut self,
        p: HirScalarExpr,
        rel: MirRelationExpr,
        own: &[usize],
        map: &ColumnMap,
    ) -> Result<MirRelationExpr, PlanError> {
        if p.is_literal_true() {
            return Ok(rel);
        }
        let sub_map = subquery_map(own, map);
        match p {
            HirScalarExpr::Exists(subquery) => {
                let arity = rel.arity();
                let joined = self.branch(
                    rel,
                    *subquery,
                    &sub_map,
                    |lowerer, inner, get_inner, k, inner_map| {
                        let s = lowerer.lower_relation(inner, &get_inner, k, inner_map)?;
                        Ok(s.project((0..k).collect()).distinct())
                    },
                )?;
                Ok(if joined.arity() == arity {
                    joined
                } else {
                    joined.project((0..arity).collect())
                })
            }
            HirScalarExpr::CallUnary {
                func: evert_expr::UnaryFunc::Not,
                expr,
            } if matches!(*expr, HirScalarExpr::Exists(_)) => {
                let HirScalarExpr::Exists(subquery) = *expr else {
                    unreachable!("matched above")
                };
                let arity = rel.arity();
                let joined = self.branch(
                    rel,
                    *subquery,
                    &sub_map,
                    |lowerer, inner, get_inner, k, inner_map| {
                        let s = lowerer.lower_relation(inner, &get_inner, k, inner_map)?;
                        let present = s.project((0..k).collect()).distinct();
                        Ok(get_inner.union(present.negate()))
                    },
                )?;
                Ok(if joined.arity() == arity {
                    joined
                } else {
                    joined.project((0..arity).collect())
                })
            }
            other => {
                let mut rel = rel;
                let predicate = self.lower_scalar(other, &mut rel, own, map)?;
                Ok(rel.filter(vec![predicate]))
            }
        }
    }

    /// Lowers window functions that share a partitioning and an ordering into one MIR
    /// `Window` over `rel`. Their arguments and keys are first mapped as columns of `rel`;
    /// the partition key includes the outer columns (`0..oa`), so a correlated query
    /// computes its windows per outer row. Returns the columns holding the results.
    fn lower_windows(
        &mut self,
        windows: Vec<WindowExpr>,
        rel: &mut MirRelationExpr,
        own: &[usize],
        map: &ColumnMap,
        oa: usize,
    ) -> Result<Vec<usize>, PlanError> {
        let first = windows[0].clone();
        let mut to_map: Vec<MirScalarExpr> = Vec::new();
        // Lowers an expression and returns the column it will occupy once mapped.
        let column_of = |lowerer: &mut Self,
                         e: HirScalarExpr,
                         rel: &mut MirRelationExpr,
                         to_map: &mut Vec<MirScalarExpr>|
         -> Result<usize, PlanError> {
            let lowered = lowerer.lower_scalar(e, rel, own, map)?;
            if let MirScalarExpr::Column(c) = lowered {
                return Ok(c);
            }
            to_map.push(lowered);
            Ok(usize::MAX - (to_map.len() - 1))
        };
        // Expressions may add subquery columns to `rel`, so placeholders (counting down from
        // usize::MAX) are resolved to real columns only after everything is lowered.
        let mut partition_by: Vec<usize> = (0..oa).collect();
        for p in first.partition_by {
            partition_by.push(column_of(self, p, rel, &mut to_map)?);
        }
        let mut order_by = Vec::new();
        for (e, desc, nulls_last) in first.order_by {
            order_by.push(ColumnOrder {
                column: column_of(self, e, rel, &mut to_map)?,
                desc,
                nulls_last,
            });
        }
        let mut calls = Vec::with_capacity(windows.len());
        for w in windows {
            let (func, args, filter) = match w.func {
                WindowFunc::RowNumber => (MirWindowFunc::RowNumber, vec![], None),
                WindowFunc::Rank => (MirWindowFunc::Rank, vec![], None),
                WindowFunc::DenseRank => (MirWindowFunc::DenseRank, vec![], None),
                WindowFunc::PercentRank => (MirWindowFunc::PercentRank, vec![], None),
                WindowFunc::CumeDist => (MirWindowFunc::CumeDist, vec![], None),
                WindowFunc::Lag {
                    expr,
                    offset,
                    default,
                } => {
                    let v = column_of(self, expr, rel, &mut to_map)?;
                    let d = column_of(self, default, rel, &mut to_map)?;
                    (MirWindowFunc::Lag { offset }, vec![v, d], None)
                }
                WindowFunc::FirstValue(e) => (
                    MirWindowFunc::FirstValue,
                    vec![column_of(self, e, rel, &mut to_map)?],
                    None,
                ),
                WindowFunc::LastValue(e) => (
                    MirWindowFunc::LastValue,
                    vec![column_of(self, e, rel, &mut to_map)?],
                    None,
                ),
                WindowFunc::Aggregate(a) => {
                    let mut args = Vec::with_capacity(a.args.len());
                    for arg in a.args {
                        args.push(column_of(self, arg, rel, &mut to_map)?);
                    }
                    let filter = match a.filter {
                        Some(f) => Some(column_of(self, f, rel, &mut to_map)?),
                        None => None,
                    };
                    (MirWindowFunc::Aggregate(a.func), args, filter)
                }
            };
            calls.push(WindowCall {
                func,
                args,
                filter,
                frame: w.frame,
                typ: w.typ,
            });
        }
        let base = rel.arity();
        let resolve = |c: &mut usize| {
            if *c > usize::MAX / 2 {
                *c = base + (usize::MAX - *c);
            }
        };
        partition_by.iter_mut().for_each(resolve);
        for o in &mut order_by {
            resolve(&mut o.column);
        }
        for call in &mut calls {
            call.args.iter_mut().for_each(resolve);
            if let Some(f) = &mut call.filter {
                resolve(f);
            }
        }
        let input = std::mem::replace(rel, MirRelationExpr::unit()).map(to_map);
        let arity = input.arity();
        let n = calls.len();
        *rel = MirRelationExpr::Window {
            input: Box::new(input),
            partition_by,
            order_by,
            calls,
        };
        Ok((arity..arity + n).collect())
    }

    fn lower_aggregate(
        &mut self,
        a: HirAggregateExpr,
        rel: &mut MirRelationExpr,
        own: &[usize],
        map: &ColumnMap,
    ) -> Result<AggregateExpr, PlanError> {
        let mut args = Vec::with_capacity(a.args.len());
        for arg in a.args {
            args.push(self.lower_scalar(arg, rel, own, map)?);
        }
        let filter = match a.filter {
            Some(f) => Some(self.lower_scalar(f, rel, own, map)?),
            None => None,
        };
        let mut order_by = Vec::with_capacity(a.order_by.len());
        for (e, desc, nulls_last) in a.order_by {
            order_by.push((self.lower_scalar(e, rel, own, map)?, desc, nulls_last));
        }
        Ok(AggregateExpr {
            func: a.func,
            args,
            distinct: a.distinct,
            filter,
            order_by,
        })
    }

    /// Lowers a scalar expression evaluated on the rows of `rel`. Level-0 column `c` is at
    /// `own[c]`; outer references are found through `map`. Subqueries extend `rel` with the
    /// columns holding their values.
    fn lower_scalar(
        &mut self,
        e: HirScalarExpr,
        rel: &mut MirRelationExpr,
        own: &[usize],
        map: &ColumnMap,
    ) -> Result<MirScalarExpr, PlanError> {
        Ok(match e {
            HirScalarExpr::Column(ColumnRef { level: 0, column }) => {
                MirScalarExpr::Column(*own.get(column).ok_or_else(|| {
                    PlanError::Invalid(format!("internal error: column {column} out of range"))
                })?)
            }
            HirScalarExpr::Column(r) => MirScalarExpr::Column(*map.get(&r).ok_or_else(|| {
                PlanError::Invalid(format!("internal error: unresolved outer reference {r:?}"))
            })?),
            // Describing a prepared statement plans it before any values are bound; the plan
            // is only inspected for its shape, so an unbound parameter stands in as NULL.
            // Executions always bind values (Bind checks their number).
            HirScalarExpr::Parameter(_) => {
                MirScalarExpr::literal_null(evert_repr::ScalarType::String)
            }
            HirScalarExpr::Literal(row, typ) => MirScalarExpr::Literal(Ok(row), typ),
            HirScalarExpr::CallUnmaterializable(f) => MirScalarExpr::CallUnmaterializable(f),
            HirScalarExpr::CallUnary { func, expr } => {
                self.lower_scalar(*expr, rel, own, map)?.call_unary(func)
            }
            HirScalarExpr::CallBinary { func, expr1, expr2 } => {
                let a = self.lower_scalar(*expr1, rel, own, map)?;
                let b = self.lower_scalar(*expr2, rel, own, map)?;
                a.call_binary(b, func)
            }
            HirScalarExpr::CallVariadic { func, exprs } => {
                let mut lowered = Vec::with_capacity(exprs.len());
                for e in exprs {
                    lowered.push(self.lower_scalar(e, rel, own, map)?);
                }
                MirScalarExpr::CallVariadic {
                    func,
                    exprs: lowered,
                }
            }
            HirScalarExpr::If { cond, then, els } => {
                let c = self.lower_scalar(*cond, rel, own, map)?;
                let t = self.lower_scalar(*then, rel, own, map)?;
                let e = self.lower_scalar(*els, rel, own, map)?;
                MirScalarExpr::if_then_else(c, t, e)
            }
            HirScalarExpr::Exists(subquery) => {
                let sub_map = subquery_map(own, map);
                let input = std::mem::replace(rel, MirRelationExpr::unit());
                let extended = self.branch(
                    input,
                    *subquery,
                    &sub_map,
                    |lowerer, inner, get_inner, k, inner_map| {
                        let s = lowerer.lower_relation(inner, &get_inner, k, inner_map)?;
                        let present = s.project((0..k).collect()).distinct();
                        let (p_id, p_get) = lowerer.bind(&present);
                        let body = p_get.clone().map_one(MirScalarExpr::literal_true()).union(
                            get_inner
                                .union(p_get.negate())
                                .map_one(MirScalarExpr::literal_false()),
                        );
                        Ok(Self::wrap_let(p_id, present, body))
                    },
                )?;
                *rel = extended;
                MirScalarExpr::Column(rel.arity() - 1)
            }
            HirScalarExpr::Select(subquery) => {
                let sub_map = subquery_map(own, map);
                let input = std::mem::replace(rel, MirRelationExpr::unit());
                let exactly_one = returns_exactly_one_row(&subquery);
                let extended = self.branch(
                    input,
                    *subquery,
                    &sub_map,
                    |lowerer, inner, get_inner, k, inner_map| {
                        let s = lowerer.lower_relation(inner, &get_inner, k, inner_map)?;
                        if exactly_one {
                            return Ok(s);
                        }
                        let value_type = s.typ().column_types[k].clone();
                        let (s_id, s_get) = lowerer.bind(&s);
                        // Keys whose subquery returns more than one row raise an error.
                        let counts = s_get
                            .clone()
                            .reduce((0..k).collect(), vec![AggregateExpr::count_star()]);
                        let too_many = MirScalarExpr::Column(k).call_binary(
                            MirScalarExpr::literal(Datum::Int64(1), evert_repr::ScalarType::Int64),
                            evert_expr::BinaryFunc::Gt,
                        );
                        let check = MirScalarExpr::if_then_else(
                            too_many,
                            MirScalarExpr::Literal(
                                Err(EvalError::MultipleRowsFromSubquery),
                                evert_repr::ScalarType::Bool.nullable(false),
                            ),
                            MirScalarExpr::literal_true(),
                        );
                        let single_keys = counts.filter(vec![check]).project((0..k).collect());
                        let equivalences = (0..k)
                            .map(|i| {
                                vec![MirScalarExpr::Column(i), MirScalarExpr::Column(k + 1 + i)]
                            })
                            .collect();
                        let values =
                            MirRelationExpr::join(vec![s_get.clone(), single_keys], equivalences)
                                .project((0..=k).collect());
                        let present = s_get.project((0..k).collect()).distinct();
                        let missing = get_inner
                            .union(present.negate())
                            .map_one(MirScalarExpr::literal_null(value_type.scalar_type.clone()));
                        Ok(Self::wrap_let(s_id, s, values.union(missing)))
                    },
                )?;
                *rel = extended;
                MirScalarExpr::Column(rel.arity() - 1)
            }
            HirScalarExpr::Windowing(_) => {
                return Err(PlanError::unsupported("window functions in this position"))
            }
        })
    }

    /// Lowers `inner` (which refers to columns of `input` through `sub_map`) once per distinct
    /// combination of the referenced columns, and joins the result back to `input`.
    /// `apply` receives the distinct keys as the outer relation and returns a relation whose
    /// first columns are those keys. The result is `input`'s columns followed by `apply`'s
    /// non-key columns.
    fn branch<F>(
        &mut self,
        input: MirRelationExpr,
        inner: HirRelationExpr,
        sub_map: &ColumnMap,
        apply: F,
    ) -> Result<MirRelationExpr, PlanError>
    where
        F: FnOnce(
            &mut Self,
            HirRelationExpr,
            MirRelationExpr,
            usize,
            &ColumnMap,
        ) -> Result<MirRelationExpr, PlanError>,
    {
        let references = inner.outer_references();
        let mut keys: Vec<usize> = Vec::new();
        for r in &references {
            let position = *sub_map.get(r).ok_or_else(|| {
                PlanError::Invalid(format!("internal error: unresolved outer reference {r:?}"))
            })?;
            if !keys.contains(&position) {
                keys.push(position);
            }
        }
        keys.sort_unstable();
        let n = input.arity();
        if keys.is_empty() {
            // Uncorrelated: compute once and pair with every row.
            let result = apply(self, inner, MirRelationExpr::unit(), 0, &ColumnMap::new())?;
            return Ok(MirRelationExpr::join(vec![input, result], vec![]));
        }
        let mut inner_map = ColumnMap::new();
        for r in &references {
            let position = sub_map[r];
            inner_map.insert(
                *r,
                keys.iter()
                    .position(|k| *k == position)
                    .expect("key collected above"),
            );
        }
        let (in_id, in_get) = self.bind(&input);
        let key_rel = in_get.clone().project(keys.clone()).distinct();
        let (k_id, k_get) = self.bind(&key_rel);
        let k = keys.len();
        let result = apply(self, inner, k_get, k, &inner_map)?;
        let m = result.arity() - k;
        let equivalences = keys
            .iter()
            .enumerate()
            .map(|(i, key)| vec![MirScalarExpr::Column(*key), MirScalarExpr::Column(n + i)])
            .collect();
        let mut columns: Vec<usize> = (0..n).collect();
        columns.extend(n + k..n + k + m);
        let joined = MirRelationExpr::join(vec![in_get, result], equivalences).project(columns);
        Ok(Self::wrap_let(
            in_id,
            input,
            Self::wrap_let(k_id, key_rel, joined),
        ))
    }
}

fn i_get_clone(e: &MirRelationExpr) -> MirRelationExpr {
    e.clone()
}

/// The map for a subquery nested in a relation: its level 1 is that relation's own columns.
fn subquery_map(own: &[usize], map: &ColumnMap) -> ColumnMap {
    let mut sub = ColumnMap::new();
    for (c, p) in own.iter().enumerate() {
        sub.insert(
            ColumnRef {
                level: 1,
                column: c,
            },
            *p,
        );
    }
    for (r, p) in map {
        sub.insert(
            ColumnRef {
                level: r.level + 1,
                column: r.column,
            },
            *p,
        );
    }
    sub
}

/// A global aggregate (possibly projected or mapped) returns exactly one row.
fn returns_exactly_one_row(rel: &HirRelationExpr) -> bool {
    match rel {
        HirRelationExpr::Reduce { group_key, .. } => group_key.is_empty(),
        HirRelationExpr::Project { input, .. } | HirRelationExpr::Map { input, .. } => {
            returns_exactly_one_row(input)
        }
        HirRelationExpr::Let { body, .. } => returns_exactly_one_row(body),
        HirRelationExpr::Constant { rows, .. } => rows.len() == 1,
        _ => false,
    }
}

/// The number of columns a HIR relation produces.
pub fn hir_arity(rel: &HirRelationExpr) -> usize {
    match rel {
        HirRelationExpr::Constant { typ, .. } | HirRelationExpr::Get { typ, .. } => typ.arity(),
        HirRelationExpr::Let { body, .. } | HirRelationExpr::LetRec { body, .. } => hir_arity(body),
        HirRelationExpr::Project { outputs, .. } => outputs.len(),
        HirRelationExpr::Map { input, scalars } => hir_arity(input) + scalars.len(),
        HirRelationExpr::CallTable { func, .. } => func.output_type().arity(),
        HirRelationExpr::Filter { input, .. }
        | HirRelationExpr::Distinct { input }
        | HirRelationExpr::TopK { input, .. }
        | HirRelationExpr::Negate { input }
        | HirRelationExpr::Threshold { input } => hir_arity(input),
        HirRelationExpr::Join { left, right, .. } => hir_arity(left) + hir_arity(right),
        HirRelationExpr::Reduce {
            group_key,
            aggregates,
            ..
        } => group_key.len() + aggregates.len(),
        HirRelationExpr::Union { base, .. } => hir_arity(base),
    }
}

/// For callers that need an aggregate's default output when planning by hand.
pub fn aggregate_default(func: &AggregateFunc) -> Datum<'static> {
    func.default_value()
}

/// The relation type of a lowered plan, for callers that only have HIR.
pub fn lowered_type(rel: &HirRelationExpr) -> Result<RelationType, PlanError> {
    Ok(lower(rel.clone())?.typ())
}
