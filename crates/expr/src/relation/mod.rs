//! The MIR: evert's relational plan.
//!
//! A `MirRelationExpr` is a tree of operators over multisets of rows. Each operator's doc
//! comment states what it computes and what it costs to maintain incrementally, because that
//! is what a reader of an EXPLAIN needs to know: the state an operator keeps is the memory a
//! materialized view uses forever.

use std::collections::BTreeMap;
use std::fmt;

use evert_repr::{ColumnType, Diff, GlobalId, RelationType, Row, ScalarType};

use crate::error::EvalError;
use crate::scalar::MirScalarExpr;

pub mod agg;
pub mod float_sum;
pub mod table_func;
pub mod window;

pub use agg::{AggregateExpr, AggregateFunc};
pub use table_func::TableFunc;
pub use window::{WindowCall, WindowFrame, WindowFunc};

/// How many rounds a `LetRec` may iterate, and what happens then: with `return_at_limit`
/// the bindings keep the values of round `max_iterations` (`RETURN AT RECURSION LIMIT`);
/// otherwise a binding still changing after that round is an error (`ERROR AT RECURSION
/// LIMIT`). Without a limit, the renderer's own bound applies, as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LetRecLimit {
    pub max_iterations: u64,
    pub return_at_limit: bool,
}

/// A local binding (`Let`/`LetRec`) inside one plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalId(pub u64);

impl fmt::Display for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "l{}", self.0)
    }
}

/// What a `Get` reads: a catalog collection or a local binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Id {
    Global(GlobalId),
    Local(LocalId),
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Global(g) => write!(f, "{g}"),
            Id::Local(l) => write!(f, "{l}"),
        }
    }
}

/// One key of a sort order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ColumnOrder {
    pub column: usize,
    pub desc: bool,
    /// PostgreSQL's default: NULLs last when ascending, first when descending.
    pub nulls_last: bool,
}

impl ColumnOrder {
    pub fn asc(column: usize) -> ColumnOrder {
        ColumnOrder {
            column,
            desc: false,
            nulls_last: true,
        }
    }
}

/// Compares two rows' datums by a sort order, with SQL semantics.
pub fn compare_by_order(
    a: &[evert_repr::Datum],
    b: &[evert_repr::Datum],
    order: &[ColumnOrder],
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for o in order {
        let (x, y) = (&a[o.column], &b[o.column]);
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if o.nulls_last {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                if o.nulls_last {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, false) => {
                let c = x.cmp(y);
                if o.desc {
                    c.reverse()
                } else {
                    c
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MirRelationExpr {
    /// A fixed multiset of rows (or the error computing it).
    /// State: none.
    Constant {
        rows: Result<Vec<(Row, Diff)>, EvalError>,
        typ: RelationType,
    },
    /// The contents of a collection.
    /// State: none (reads an existing arrangement or stream).
    Get { id: Id, typ: RelationType },
    /// Binds `value` to `id` within `body`, so a subplan used twice is computed once.
    /// State: none of its own.
    Let {
        id: LocalId,
        value: Box<MirRelationExpr>,
        body: Box<MirRelationExpr>,
    },
    /// Mutually recursive bindings, iterated to a fixed point (`WITH RECURSIVE`, `WITH
    /// MUTUALLY RECURSIVE`), or for at most `limit` rounds.
    /// State: the bindings' arrangements inside the iteration, proportional to their size.
    LetRec {
        ids: Vec<LocalId>,
        values: Vec<MirRelationExpr>,
        limit: Option<LetRecLimit>,
        body: Box<MirRelationExpr>,
    },
    /// Keeps the listed columns, in order (columns may repeat).
    /// State: none.
    Project {
        input: Box<MirRelationExpr>,
        outputs: Vec<usize>,
    },
    /// Appends computed columns; each expression may read earlier appended columns.
    /// State: none.
    Map {
        input: Box<MirRelationExpr>,
        scalars: Vec<MirScalarExpr>,
    },
    /// Appends the columns of a table function applied to each row (one output row per
    /// function result).
    /// State: none.
    FlatMap {
        input: Box<MirRelationExpr>,
        func: TableFunc,
        exprs: Vec<MirScalarExpr>,
    },
    /// Keeps rows for which every predicate is TRUE.
    /// State: none.
    Filter {
        input: Box<MirRelationExpr>,
        predicates: Vec<MirScalarExpr>,
    },
    /// The equi-join of the inputs: rows of the concatenated columns in which all
    /// expressions in each equivalence class are equal (and not NULL).
    /// State: an arrangement of each input by its join key, and of each intermediate
    /// result of a linear join: proportional to input sizes.
    Join {
        inputs: Vec<MirRelationExpr>,
        equivalences: Vec<Vec<MirScalarExpr>>,
    },
    /// Groups by `group_key` and computes `aggregates` for each group. Output columns are
    /// the key columns followed by one column per aggregate.
    /// State: the input arranged by key; for accumulable aggregates (count, sum) one
    /// accumulator per group; for min/max and ordered aggregates, the distinct values of
    /// each group.
    Reduce {
        input: Box<MirRelationExpr>,
        group_key: Vec<MirScalarExpr>,
        aggregates: Vec<AggregateExpr>,
    },
    /// Per group of `group_key`, the rows ranked `offset .. offset + limit` by `order_key`.
    /// State: the input arranged by group key (each changed group is re-ranked).
    TopK {
        input: Box<MirRelationExpr>,
        group_key: Vec<usize>,
        order_key: Vec<ColumnOrder>,
        limit: Option<usize>,
        offset: usize,
    },
    /// Appends to each row the values of `calls`, window functions computed over the rows
    /// of its partition (rows equal on `partition_by`) ordered by `order_by`.
    /// State: the input arranged by partition key, and the output; a change recomputes the
    /// partitions it touches.
    Window {
        input: Box<MirRelationExpr>,
        partition_by: Vec<usize>,
        order_by: Vec<ColumnOrder>,
        calls: Vec<WindowCall>,
    },
    /// Negates every multiplicity (used with `Union` for set difference).
    /// State: none.
    Negate { input: Box<MirRelationExpr> },
    /// Keeps rows with positive multiplicity (the multiset `max(0, count)`).
    /// State: the input arranged by row.
    Threshold { input: Box<MirRelationExpr> },
    /// The multiset sum of the inputs.
    /// State: none.
    Union {
        base: Box<MirRelationExpr>,
        inputs: Vec<MirRelationExpr>,
    },
    /// Asks that the input be available arranged by each of `keys`.
    /// State: one arrangement per key, proportional to the input.
    ArrangeBy {
        input: Box<MirRelationExpr>,
        keys: Vec<Vec<MirScalarExpr>>,
    },
}

impl MirRelationExpr {
    pub fn constant(rows: Vec<Row>, typ: RelationType) -> MirRelationExpr {
        MirRelationExpr::Constant {
            rows: Ok(rows.into_iter().map(|r| (r, 1)).collect()),
            typ,
        }
    }

    pub fn empty(typ: RelationType) -> MirRelationExpr {
        MirRelationExpr::Constant {
            rows: Ok(vec![]),
            typ,
        }
    }

    /// A single row of no columns: the input of `SELECT` without `FROM`.
    pub fn unit() -> MirRelationExpr {
        MirRelationExpr::constant(vec![Row::default()], RelationType::empty())
    }

    pub fn global_get(id: GlobalId, typ: RelationType) -> MirRelationExpr {
        MirRelationExpr::Get {
            id: Id::Global(id),
            typ,
        }
    }

    pub fn project(self, outputs: Vec<usize>) -> MirRelationExpr {
        if let MirRelationExpr::Project {
            input,
            outputs: inner,
        } = self
        {
            let composed = outputs.iter().map(|c| inner[*c]).collect();
            return MirRelationExpr::Project {
                input,
                outputs: composed,
            };
        }
        MirRelationExpr::Project {
            input: Box::new(self),
            outputs,
        }
    }

    pub fn map(self, scalars: Vec<MirScalarExpr>) -> MirRelationExpr {
        if scalars.is_empty() {
            return self;
        }
        if let MirRelationExpr::Map {
            input,
            scalars: mut inner,
        } = self
        {
            inner.extend(scalars);
            return MirRelationExpr::Map {
                input,
                scalars: inner,
            };
        }
        MirRelationExpr::Map {
            input: Box::new(self),
            scalars,
        }
    }

    pub fn map_one(self, scalar: MirScalarExpr) -> MirRelationExpr {
        self.map(vec![scalar])
    }

    pub fn filter(self, predicates: Vec<MirScalarExpr>) -> MirRelationExpr {
        if predicates.is_empty() {
            return self;
        }
        if let MirRelationExpr::Filter {
            input,
            predicates: mut inner,
        } = self
        {
            inner.extend(predicates);
            return MirRelationExpr::Filter {
                input,
                predicates: inner,
            };
        }
        MirRelationExpr::Filter {
            input: Box::new(self),
            predicates,
        }
    }

    pub fn negate(self) -> MirRelationExpr {
        MirRelationExpr::Negate {
            input: Box::new(self),
        }
    }

    pub fn threshold(self) -> MirRelationExpr {
        MirRelationExpr::Threshold {
            input: Box::new(self),
        }
    }

    pub fn union(self, other: MirRelationExpr) -> MirRelationExpr {
        MirRelationExpr::Union {
            base: Box::new(self),
            inputs: vec![other],
        }
    }

    pub fn union_many(mut inputs: Vec<MirRelationExpr>, typ: RelationType) -> MirRelationExpr {
        match inputs.len() {
            0 => MirRelationExpr::empty(typ),
            1 => inputs.pop().expect("one input"),
            _ => {
                let base = inputs.remove(0);
                MirRelationExpr::Union {
                    base: Box::new(base),
                    inputs,
                }
            }
        }
    }

    /// `SELECT DISTINCT *`: a Reduce with every column as key and no aggregates.
    pub fn distinct(self) -> MirRelationExpr {
        let arity = self.arity();
        MirRelationExpr::Reduce {
            input: Box::new(self),
            group_key: (0..arity).map(MirScalarExpr::Column).collect(),
            aggregates: vec![],
        }
    }

    pub fn reduce(self, group_key: Vec<usize>, aggregates: Vec<AggregateExpr>) -> MirRelationExpr {
        MirRelationExpr::Reduce {
            input: Box::new(self),
            group_key: group_key.into_iter().map(MirScalarExpr::Column).collect(),
            aggregates,
        }
    }

    pub fn join(
        inputs: Vec<MirRelationExpr>,
        equivalences: Vec<Vec<MirScalarExpr>>,
    ) -> MirRelationExpr {
        MirRelationExpr::Join {
            inputs,
            equivalences,
        }
    }

    /// The type of the relation's rows.
    pub fn typ(&self) -> RelationType {
        match self {
            MirRelationExpr::Constant { typ, .. } | MirRelationExpr::Get { typ, .. } => typ.clone(),
            MirRelationExpr::Let { body, .. } | MirRelationExpr::LetRec { body, .. } => body.typ(),
            MirRelationExpr::Project { input, outputs } => {
                let t = input.typ();
                RelationType::new(outputs.iter().map(|c| t.column_types[*c].clone()).collect())
            }
            MirRelationExpr::Map { input, scalars } => {
                let mut t = input.typ();
                for s in scalars {
                    let ct = s.typ(&t.column_types);
                    t.column_types.push(ct);
                }
                t
            }
            MirRelationExpr::FlatMap { input, func, .. } => {
                let mut t = input.typ();
                t.column_types.extend(func.output_type().column_types);
                t.keys.clear();
                t
            }
            MirRelationExpr::Filter { input, predicates } => {
                // A column compared to something non-null with `=` cannot be NULL after it.
                let mut t = input.typ();
                for p in predicates {
                    if let MirScalarExpr::CallBinary {
                        func: crate::BinaryFunc::Eq,
                        expr1,
                        expr2,
                    } = p
                    {
                        for e in [expr1, expr2] {
                            if let MirScalarExpr::Column(c) = **e {
                                t.column_types[c].nullable = false;
                            }
                        }
                    }
                    if let MirScalarExpr::CallUnary {
                        func: crate::UnaryFunc::Not,
                        expr,
                    } = p
                    {
                        if let MirScalarExpr::CallUnary {
                            func: crate::UnaryFunc::IsNull,
                            expr,
                        } = &**expr
                        {
                            if let MirScalarExpr::Column(c) = **expr {
                                t.column_types[c].nullable = false;
                            }
                        }
                    }
                }
                t
            }
            MirRelationExpr::Join { inputs, .. } => {
                let mut column_types = Vec::new();
                for i in inputs {
                    column_types.extend(i.typ().column_types);
                }
                RelationType::new(column_types)
            }
            MirRelationExpr::Reduce {
                input,
                group_key,
                aggregates,
            } => {
                let input_type = input.typ();
                let mut column_types: Vec<ColumnType> = group_key
                    .iter()
                    .map(|k| k.typ(&input_type.column_types))
                    .collect();
                for a in aggregates {
                    column_types.push(a.typ(&input_type.column_types));
                }
                RelationType::new(column_types).with_key((0..group_key.len()).collect())
            }
            MirRelationExpr::TopK { input, .. } => input.typ(),
            MirRelationExpr::Window { input, calls, .. } => {
                let mut t = input.typ();
                t.column_types.extend(calls.iter().map(|c| c.typ.clone()));
                t.keys.clear();
                t
            }
            MirRelationExpr::Negate { input } => {
                let mut t = input.typ();
                t.keys.clear();
                t
            }
            MirRelationExpr::Threshold { input } => input.typ(),
            MirRelationExpr::Union { base, inputs } => {
                let mut t = base.typ();
                t.keys.clear();
                for i in inputs {
                    let it = i.typ();
                    for (c, ct) in t.column_types.iter_mut().zip(it.column_types) {
                        c.nullable |= ct.nullable;
                        if c.scalar_type == ScalarType::Unknown {
                            c.scalar_type = ct.scalar_type;
                        }
                    }
                }
                t
            }
            MirRelationExpr::ArrangeBy { input, .. } => input.typ(),
        }
    }

    pub fn arity(&self) -> usize {
        match self {
            MirRelationExpr::Constant { typ, .. } | MirRelationExpr::Get { typ, .. } => typ.arity(),
            MirRelationExpr::Let { body, .. } | MirRelationExpr::LetRec { body, .. } => {
                body.arity()
            }
            MirRelationExpr::Project { outputs, .. } => outputs.len(),
            MirRelationExpr::Map { input, scalars } => input.arity() + scalars.len(),
            MirRelationExpr::FlatMap { input, func, .. } => {
                input.arity() + func.output_type().arity()
            }
            MirRelationExpr::Filter { input, .. }
            | MirRelationExpr::TopK { input, .. }
            | MirRelationExpr::Negate { input }
            | MirRelationExpr::Threshold { input }
            | MirRelationExpr::ArrangeBy { input, .. } => input.arity(),
            MirRelationExpr::Join { inputs, .. } => inputs.iter().map(|i| i.arity()).sum(),
            MirRelationExpr::Window { input, calls, .. } => input.arity() + calls.len(),
            MirRelationExpr::Reduce {
                group_key,
                aggregates,
                ..
            } => group_key.len() + aggregates.len(),
            MirRelationExpr::Union { base, .. } => base.arity(),
        }
    }

    pub fn children(&self) -> Vec<&MirRelationExpr> {
        match self {
            MirRelationExpr::Constant { .. } | MirRelationExpr::Get { .. } => vec![],
            MirRelationExpr::Let { value, body, .. } => vec![value, body],
            MirRelationExpr::LetRec { values, body, .. } => {
                values.iter().chain(std::iter::once(&**body)).collect()
            }
            MirRelationExpr::Project { input, .. }
            | MirRelationExpr::Map { input, .. }
            | MirRelationExpr::FlatMap { input, .. }
            | MirRelationExpr::Filter { input, .. }
            | MirRelationExpr::Reduce { input, .. }
            | MirRelationExpr::TopK { input, .. }
            | MirRelationExpr::Window { input, .. }
            | MirRelationExpr::Negate { input }
            | MirRelationExpr::Threshold { input }
            | MirRelationExpr::ArrangeBy { input, .. } => vec![input],
            MirRelationExpr::Join { inputs, .. } => inputs.iter().collect(),
            MirRelationExpr::Union { base, inputs } => {
                std::iter::once(&**base).chain(inputs.iter()).collect()
            }
        }
    }

    pub fn children_mut(&mut self) -> Vec<&mut MirRelationExpr> {
        match self {
            MirRelationExpr::Constant { .. } | MirRelationExpr::Get { .. } => vec![],
            MirRelationExpr::Let { value, body, .. } => vec![value, body],
            MirRelationExpr::LetRec { values, body, .. } => values
                .iter_mut()
                .chain(std::iter::once(&mut **body))
                .collect(),
            MirRelationExpr::Project { input, .. }
            | MirRelationExpr::Map { input, .. }
            | MirRelationExpr::FlatMap { input, .. }
            | MirRelationExpr::Filter { input, .. }
            | MirRelationExpr::Reduce { input, .. }
            | MirRelationExpr::TopK { input, .. }
            | MirRelationExpr::Window { input, .. }
            | MirRelationExpr::Negate { input }
            | MirRelationExpr::Threshold { input }
            | MirRelationExpr::ArrangeBy { input, .. } => vec![input],
            MirRelationExpr::Join { inputs, .. } => inputs.iter_mut().collect(),
            MirRelationExpr::Union { base, inputs } => std::iter::once(&mut **base)
                .chain(inputs.iter_mut())
                .collect(),
        }
    }

    /// Visits every node, children first.
    pub fn visit_post<'a, F: FnMut(&'a MirRelationExpr)>(&'a self, f: &mut F) {
        for c in self.children() {
            c.visit_post(f);
        }
        f(self);
    }

    pub fn visit_mut_post<F: FnMut(&mut MirRelationExpr)>(&mut self, f: &mut F) {
        for c in self.children_mut() {
            c.visit_mut_post(f);
        }
        f(self);
    }

    /// Every scalar expression in this node (not its children).
    pub fn scalars_mut(&mut self) -> Vec<&mut MirScalarExpr> {
        match self {
            MirRelationExpr::Map { scalars, .. } => scalars.iter_mut().collect(),
            MirRelationExpr::FlatMap { exprs, .. } => exprs.iter_mut().collect(),
            MirRelationExpr::Filter { predicates, .. } => predicates.iter_mut().collect(),
            MirRelationExpr::Join { equivalences, .. } => {
                equivalences.iter_mut().flatten().collect()
            }
            MirRelationExpr::Reduce {
                group_key,
                aggregates,
                ..
            } => {
                let mut v: Vec<&mut MirScalarExpr> = group_key.iter_mut().collect();
                for a in aggregates {
                    v.extend(a.scalars_mut());
                }
                v
            }
            MirRelationExpr::ArrangeBy { keys, .. } => keys.iter_mut().flatten().collect(),
            _ => vec![],
        }
    }

    /// The global collections this plan reads.
    pub fn global_uses(&self) -> Vec<GlobalId> {
        let mut out = Vec::new();
        self.visit_post(&mut |e| {
            if let MirRelationExpr::Get {
                id: Id::Global(g), ..
            } = e
            {
                if !out.contains(g) {
                    out.push(*g);
                }
            }
        });
        out
    }

    /// True if any scalar in the plan calls `now()` or another unmaterializable function.
    pub fn contains_unmaterializable(&self) -> bool {
        let mut found = false;
        let mut copy = self.clone();
        copy.visit_mut_post(&mut |e| {
            for s in e.scalars_mut() {
                if s.contains_unmaterializable() {
                    found = true;
                }
            }
        });
        found
    }

    /// If the plan is a constant, its rows.
    pub fn as_const(&self) -> Option<&Result<Vec<(Row, Diff)>, EvalError>> {
        match self {
            MirRelationExpr::Constant { rows, .. } => Some(rows),
            _ => None,
        }
    }

    pub fn is_empty_constant(&self) -> bool {
        matches!(self, MirRelationExpr::Constant { rows: Ok(rows), .. } if rows.is_empty())
    }

    /// Replaces every `Get` of a local id with `value` (used to inline single-use bindings).
    pub fn substitute_local(&mut self, id: LocalId, value: &MirRelationExpr) {
        self.visit_mut_post(&mut |e| {
            if let MirRelationExpr::Get {
                id: Id::Local(l), ..
            } = e
            {
                if *l == id {
                    *e = value.clone();
                }
            }
        });
    }

    /// Counts how many `Get`s reference each local id.
    pub fn local_use_counts(&self) -> BTreeMap<LocalId, usize> {
        let mut counts = BTreeMap::new();
        self.visit_post(&mut |e| {
            if let MirRelationExpr::Get {
                id: Id::Local(l), ..
            } = e
            {
                *counts.entry(*l).or_insert(0) += 1;
            }
        });
        counts
    }
}
