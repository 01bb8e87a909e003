//! HIR: the bound, typed form of a query, before decorrelation.
//!
//! HIR is what the binder produces from the SQL AST: names are resolved to columns and
//! catalog ids, every function is chosen and every cast inserted. Unlike MIR it can still
//! express SQL's nesting: scalar expressions may contain subqueries (`EXISTS`, scalar
//! `SELECT`), column references may point into enclosing queries (`level > 0`), and joins
//! may be outer. [`crate::plan::lowering`] removes all three, producing MIR.

use evert_expr::{
    AggregateFunc, BinaryFunc, ColumnOrder, Id, LocalId, TableFunc, UnaryFunc,
    UnmaterializableFunc, VariadicFunc,
};
use evert_repr::{ColumnType, Datum, RelationType, Row, ScalarType};

/// A column of the current relation (`level` 0) or of an enclosing query (`level` n).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ColumnRef {
    pub level: usize,
    pub column: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HirRelationExpr {
    Constant {
        rows: Vec<Row>,
        typ: RelationType,
    },
    Get {
        id: Id,
        typ: RelationType,
    },
    /// `WITH name AS (value) body`
    Let {
        id: LocalId,
        value: Box<HirRelationExpr>,
        body: Box<HirRelationExpr>,
    },
    /// `WITH RECURSIVE` / `WITH MUTUALLY RECURSIVE`
    LetRec {
        bindings: Vec<(LocalId, HirRelationExpr, RelationType)>,
        limit: Option<evert_expr::LetRecLimit>,
        body: Box<HirRelationExpr>,
    },
    Project {
        input: Box<HirRelationExpr>,
        outputs: Vec<usize>,
    },
    Map {
        input: Box<HirRelationExpr>,
        scalars: Vec<HirScalarExpr>,
    },
    /// A table function; its arguments may refer to enclosing queries (LATERAL).
    CallTable {
        func: TableFunc,
        exprs: Vec<HirScalarExpr>,
    },
    Filter {
        input: Box<HirRelationExpr>,
        predicates: Vec<HirScalarExpr>,
    },
    /// `left JOIN right ON on`. If `lateral`, `right` may refer to `left`'s columns at level 1.
    Join {
        left: Box<HirRelationExpr>,
        right: Box<HirRelationExpr>,
        on: HirScalarExpr,
        kind: JoinKind,
        lateral: bool,
    },
    Reduce {
        input: Box<HirRelationExpr>,
        group_key: Vec<usize>,
        aggregates: Vec<HirAggregateExpr>,
    },
    Distinct {
        input: Box<HirRelationExpr>,
    },
    TopK {
        input: Box<HirRelationExpr>,
        group_key: Vec<usize>,
        order_key: Vec<ColumnOrder>,
        limit: Option<usize>,
        offset: usize,
    },
    Negate {
        input: Box<HirRelationExpr>,
    },
    Threshold {
        input: Box<HirRelationExpr>,
    },
    Union {
        base: Box<HirRelationExpr>,
        inputs: Vec<HirRelationExpr>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct HirAggregateExpr {
    pub func: AggregateFunc,
    pub args: Vec<HirScalarExpr>,
    pub distinct: bool,
    pub filter: Option<HirScalarExpr>,
    pub order_by: Vec<(HirScalarExpr, bool, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HirScalarExpr {
    Column(ColumnRef),
    /// `$n` (1-based); only present while describing a prepared statement.
    Parameter(usize),
    Literal(Row, ColumnType),
    CallUnmaterializable(UnmaterializableFunc),
    CallUnary {
        func: UnaryFunc,
        expr: Box<HirScalarExpr>,
    },
    CallBinary {
        func: BinaryFunc,
        expr1: Box<HirScalarExpr>,
        expr2: Box<HirScalarExpr>,
    },
    CallVariadic {
        func: VariadicFunc,
        exprs: Vec<HirScalarExpr>,
    },
    If {
        cond: Box<HirScalarExpr>,
        then: Box<HirScalarExpr>,
        els: Box<HirScalarExpr>,
    },
    /// TRUE if the subquery returns any row.
    Exists(Box<HirRelationExpr>),
    /// The single column of the subquery's single row (NULL if none; error if several).
    Select(Box<HirRelationExpr>),
    /// A window function over the current relation.
    Windowing(Box<WindowExpr>),
}

/// `func(args) OVER (PARTITION BY partition ORDER BY order frame)`.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowExpr {
    pub func: WindowFunc,
    pub partition_by: Vec<HirScalarExpr>,
    pub order_by: Vec<(HirScalarExpr, bool, bool)>,
    pub frame: WindowFrame,
    /// The type of the result.
    pub typ: ColumnType,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// `lag(expr, offset, default)` (`lead` has a negative offset).
    Lag {
        expr: HirScalarExpr,
        offset: Option<i64>,
        default: HirScalarExpr,
    },
    FirstValue(HirScalarExpr),
    LastValue(HirScalarExpr),
    /// An aggregate over the frame.
    Aggregate(HirAggregateExpr),
}

pub use evert_expr::WindowFrame;

impl HirScalarExpr {
    pub fn column(column: usize) -> HirScalarExpr {
        HirScalarExpr::Column(ColumnRef { level: 0, column })
    }

    pub fn literal(datum: Datum, scalar_type: ScalarType) -> HirScalarExpr {
        let nullable = datum.is_null();
        HirScalarExpr::Literal(Row::of(datum), ColumnType::new(scalar_type, nullable))
    }

    pub fn literal_true() -> HirScalarExpr {
        HirScalarExpr::literal(Datum::True, ScalarType::Bool)
    }

    pub fn literal_false() -> HirScalarExpr {
        HirScalarExpr::literal(Datum::False, ScalarType::Bool)
    }

    pub fn literal_null(scalar_type: ScalarType) -> HirScalarExpr {
        HirScalarExpr::literal(Datum::Null, scalar_type)
    }

    pub fn call_unary(self, func: UnaryFunc) -> HirScalarExpr {
        HirScalarExpr::CallUnary {
            func,
            expr: Box::new(self),
        }
    }

    pub fn call_binary(self, other: HirScalarExpr, func: BinaryFunc) -> HirScalarExpr {
        HirScalarExpr::CallBinary {
            func,
            expr1: Box::new(self),
            expr2: Box::new(other),
        }
    }

    pub fn not(self) -> HirScalarExpr {
        self.call_unary(UnaryFunc::Not)
    }

    pub fn and(self, other: HirScalarExpr) -> HirScalarExpr {
        HirScalarExpr::CallVariadic {
            func: VariadicFunc::And,
            exprs: vec![self, other],
        }
    }

    pub fn or(self, other: HirScalarExpr) -> HirScalarExpr {
        HirScalarExpr::CallVariadic {
            func: VariadicFunc::Or,
            exprs: vec![self, other],
        }
    }

    pub fn if_then_else(
        cond: HirScalarExpr,
        then: HirScalarExpr,
        els: HirScalarExpr,
    ) -> HirScalarExpr {
        HirScalarExpr::If {
            cond: Box::new(cond),
            then: Box::new(then),
            els: Box::new(els),
        }
    }

    pub fn is_literal_true(&self) -> bool {
        matches!(self, HirScalarExpr::Literal(row, _) if row.unpack_first() == Datum::True)
    }

    /// Visits direct children (not into subqueries).
    pub fn visit_children_mut<F: FnMut(&mut HirScalarExpr)>(&mut self, mut f: F) {
        match self {
            HirScalarExpr::Column(_)
            | HirScalarExpr::Parameter(_)
            | HirScalarExpr::Literal(..)
            | HirScalarExpr::CallUnmaterializable(_)
            | HirScalarExpr::Exists(_)
            | HirScalarExpr::Select(_) => {}
            HirScalarExpr::CallUnary { expr, .. } => f(expr),
            HirScalarExpr::CallBinary { expr1, expr2, .. } => {
                f(expr1);
                f(expr2);
            }
            HirScalarExpr::CallVariadic { exprs, .. } => exprs.iter_mut().for_each(f),
            HirScalarExpr::If { cond, then, els } => {
                f(cond);
                f(then);
                f(els);
            }
            HirScalarExpr::Windowing(w) => {
                for p in &mut w.partition_by {
                    f(p);
                }
                for (o, _, _) in &mut w.order_by {
                    f(o);
                }
                match &mut w.func {
                    WindowFunc::Lag { expr, default, .. } => {
                        f(expr);
                        f(default);
                    }
                    WindowFunc::FirstValue(e) | WindowFunc::LastValue(e) => f(e),
                    WindowFunc::Aggregate(a) => {
                        for arg in &mut a.args {
                            f(arg);
                        }
                        if let Some(filter) = &mut a.filter {
                            f(filter);
                        }
                    }
                    WindowFunc::RowNumber
                    | WindowFunc::Rank
                    | WindowFunc::DenseRank
                    | WindowFunc::PercentRank
                    | WindowFunc::CumeDist => {}
                }
            }
        }
    }

    /// Calls `f(column_ref, depth)` for every column reference, including those inside
    /// subqueries, where `depth` is how many subqueries deep the reference sits. A reference
    /// with `level >= depth + 1`... points outside this expression's own relation when
    /// `level > depth`.
    pub fn visit_columns_mut<F: FnMut(&mut ColumnRef, usize)>(&mut self, depth: usize, f: &mut F) {
        match self {
            HirScalarExpr::Column(c) => f(c, depth),
            HirScalarExpr::Exists(r) | HirScalarExpr::Select(r) => {
                r.visit_columns_mut(depth + 1, f)
            }
            other => other.visit_children_mut(|c| c.visit_columns_mut(depth, f)),
        }
    }

    /// Moves the expression one (or `by`) subquery level deeper: every reference to the
    /// expression's own relation or beyond gains `by` levels. At subquery depth `d`, a
    /// reference with `level < d` points into a nested subquery and is left alone.
    pub fn shift_outer_levels(&mut self, by: usize) {
        self.visit_columns_mut(0, &mut |c, depth| {
            if c.level >= depth {
                c.level += by;
            }
        });
    }

    /// True if the expression (outside subqueries) contains a window function.
    pub fn contains_window(&self) -> bool {
        let mut found = false;
        let mut copy = self.clone();
        copy.visit_post_mut(&mut |e| {
            if matches!(e, HirScalarExpr::Windowing(_)) {
                found = true;
            }
        });
        found
    }

    pub fn visit_post_mut<F: FnMut(&mut HirScalarExpr)>(&mut self, f: &mut F) {
        self.visit_children_mut(|c| c.visit_post_mut(f));
        f(self);
    }
}

impl HirRelationExpr {
    pub fn project(self, outputs: Vec<usize>) -> HirRelationExpr {
        HirRelationExpr::Project {
            input: Box::new(self),
            outputs,
        }
    }

    pub fn map(self, scalars: Vec<HirScalarExpr>) -> HirRelationExpr {
        if scalars.is_empty() {
            return self;
        }
        HirRelationExpr::Map {
            input: Box::new(self),
            scalars,
        }
    }

    pub fn filter(self, predicates: Vec<HirScalarExpr>) -> HirRelationExpr {
        if predicates.is_empty() {
            return self;
        }
        HirRelationExpr::Filter {
            input: Box::new(self),
            predicates,
        }
    }

    pub fn distinct(self) -> HirRelationExpr {
        HirRelationExpr::Distinct {
            input: Box::new(self),
        }
    }

    pub fn negate(self) -> HirRelationExpr {
        HirRelationExpr::Negate {
            input: Box::new(self),
        }
    }

    pub fn threshold(self) -> HirRelationExpr {
        HirRelationExpr::Threshold {
            input: Box::new(self),
        }
    }

    pub fn union(self, other: HirRelationExpr) -> HirRelationExpr {
        HirRelationExpr::Union {
            base: Box::new(self),
            inputs: vec![other],
        }
    }

    /// A single row with no columns.
    pub fn unit() -> HirRelationExpr {
        HirRelationExpr::Constant {
            rows: vec![Row::default()],
            typ: RelationType::empty(),
        }
    }

    /// Visits every scalar expression of this relation and of nested relations, with the
    /// subquery depth at which it sits.
    pub fn visit_columns_mut<F: FnMut(&mut ColumnRef, usize)>(&mut self, depth: usize, f: &mut F) {
        match self {
            HirRelationExpr::Constant { .. } | HirRelationExpr::Get { .. } => {}
            HirRelationExpr::Let { value, body, .. } => {
                value.visit_columns_mut(depth, f);
                body.visit_columns_mut(depth, f);
            }
            HirRelationExpr::LetRec { bindings, body, .. } => {
                for (_, value, _) in bindings {
                    value.visit_columns_mut(depth, f);
                }
                body.visit_columns_mut(depth, f);
            }
            HirRelationExpr::Project { input, .. }
            | HirRelationExpr::Distinct { input }
            | HirRelationExpr::TopK { input, .. }
            | HirRelationExpr::Negate { input }
            | HirRelationExpr::Threshold { input } => input.visit_columns_mut(depth, f),
            HirRelationExpr::Map { input, scalars } => {
                input.visit_columns_mut(depth, f);
                for s in scalars {
                    s.visit_columns_mut(depth, f);
                }
            }
            HirRelationExpr::CallTable { exprs, .. } => {
                for e in exprs {
                    e.visit_columns_mut(depth, f);
                }
            }
            HirRelationExpr::Filter { input, predicates } => {
                input.visit_columns_mut(depth, f);
                for p in predicates {
                    p.visit_columns_mut(depth, f);
                }
            }
            HirRelationExpr::Join {
                left,
                right,
                on,
                lateral,
                ..
            } => {
                left.visit_columns_mut(depth, f);
                // A lateral right side sees the left side as one level out.
                right.visit_columns_mut(if *lateral { depth + 1 } else { depth }, f);
                on.visit_columns_mut(depth, f);
            }
            HirRelationExpr::Reduce {
                input, aggregates, ..
            } => {
                input.visit_columns_mut(depth, f);
                for a in aggregates {
                    for arg in &mut a.args {
                        arg.visit_columns_mut(depth, f);
                    }
                    if let Some(filter) = &mut a.filter {
                        filter.visit_columns_mut(depth, f);
                    }
                    for (o, _, _) in &mut a.order_by {
                        o.visit_columns_mut(depth, f);
                    }
                }
            }
            HirRelationExpr::Union { base, inputs } => {
                base.visit_columns_mut(depth, f);
                for i in inputs {
                    i.visit_columns_mut(depth, f);
                }
            }
        }
    }

    /// The outer references of this relation: `(level, column)` with level counted from
    /// this relation (1 = the immediately enclosing query).
    pub fn outer_references(&self) -> Vec<ColumnRef> {
        let mut refs = Vec::new();
        let mut copy = self.clone();
        copy.visit_columns_mut(0, &mut |c, depth| {
            if c.level > depth {
                let r = ColumnRef {
                    level: c.level - depth,
                    column: c.column,
                };
                if !refs.contains(&r) {
                    refs.push(r);
                }
            }
        });
        refs.sort();
        refs
    }

    pub fn is_correlated(&self) -> bool {
        !self.outer_references().is_empty()
    }
}
