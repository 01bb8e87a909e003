//! Scalar expressions: what a row's columns are computed from.

use std::collections::BTreeSet;
use std::fmt;

use evert_repr::{ColumnType, Datum, Row, RowArena, ScalarType};

use crate::error::EvalError;

pub mod bytea;
pub mod cast;
pub mod func;
pub mod jsonb;
pub mod like;
pub mod to_char;

pub use func::{BinaryFunc, UnaryFunc, UnmaterializableFunc, VariadicFunc};

/// A scalar expression over the columns of one input row.
///
/// Expressions are fully typed when planned: each function knows its argument types (the
/// planner inserted any casts), so evaluation dispatches on the datum variants it receives
/// and never consults a type. Evaluation is strict in the SQL sense for most functions (a
/// NULL argument gives NULL without calling the function); the exceptions are the functions
/// whose meaning involves NULL (`IS NULL`, `COALESCE`, `AND`, `OR`, …).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MirScalarExpr {
    /// The value of a column of the input row.
    Column(usize),
    /// A constant (a one-datum row), or the error computing it produced at plan time.
    Literal(Result<Row, EvalError>, ColumnType),
    /// A function whose value depends on the moment or the session (`now()`); replaced by a
    /// literal before a one-off query runs, and refused in views.
    CallUnmaterializable(UnmaterializableFunc),
    CallUnary {
        func: UnaryFunc,
        expr: Box<MirScalarExpr>,
    },
    CallBinary {
        func: BinaryFunc,
        expr1: Box<MirScalarExpr>,
        expr2: Box<MirScalarExpr>,
    },
    CallVariadic {
        func: VariadicFunc,
        exprs: Vec<MirScalarExpr>,
    },
    /// `CASE WHEN cond THEN then ELSE els END`; only the chosen branch is evaluated.
    If {
        cond: Box<MirScalarExpr>,
        then: Box<MirScalarExpr>,
        els: Box<MirScalarExpr>,
    },
}

impl MirScalarExpr {
    pub fn column(index: usize) -> MirScalarExpr {
        MirScalarExpr::Column(index)
    }

    pub fn literal(datum: Datum, scalar_type: ScalarType) -> MirScalarExpr {
        let nullable = datum.is_null();
        MirScalarExpr::Literal(Ok(Row::of(datum)), ColumnType::new(scalar_type, nullable))
    }

    pub fn literal_ok(row: Row, column_type: ColumnType) -> MirScalarExpr {
        MirScalarExpr::Literal(Ok(row), column_type)
    }

    pub fn literal_null(scalar_type: ScalarType) -> MirScalarExpr {
        MirScalarExpr::literal(Datum::Null, scalar_type)
    }

    pub fn literal_true() -> MirScalarExpr {
        MirScalarExpr::literal(Datum::True, ScalarType::Bool)
    }

    pub fn literal_false() -> MirScalarExpr {
        MirScalarExpr::literal(Datum::False, ScalarType::Bool)
    }

    pub fn call_unary(self, func: UnaryFunc) -> MirScalarExpr {
        MirScalarExpr::CallUnary {
            func,
            expr: Box::new(self),
        }
    }

    pub fn call_binary(self, other: MirScalarExpr, func: BinaryFunc) -> MirScalarExpr {
        MirScalarExpr::CallBinary {
            func,
            expr1: Box::new(self),
            expr2: Box::new(other),
        }
    }

    pub fn and(self, other: MirScalarExpr) -> MirScalarExpr {
        MirScalarExpr::CallVariadic {
            func: VariadicFunc::And,
            exprs: vec![self, other],
        }
    }

    pub fn or(self, other: MirScalarExpr) -> MirScalarExpr {
        MirScalarExpr::CallVariadic {
            func: VariadicFunc::Or,
            exprs: vec![self, other],
        }
    }

    pub fn not(self) -> MirScalarExpr {
        self.call_unary(UnaryFunc::Not)
    }

    pub fn is_null(self) -> MirScalarExpr {
        self.call_unary(UnaryFunc::IsNull)
    }

    pub fn if_then_else(
        cond: MirScalarExpr,
        then: MirScalarExpr,
        els: MirScalarExpr,
    ) -> MirScalarExpr {
        MirScalarExpr::If {
            cond: Box::new(cond),
            then: Box::new(then),
            els: Box::new(els),
        }
    }

    /// The conjunction of `predicates` (TRUE when empty).
    pub fn conjunction(mut predicates: Vec<MirScalarExpr>) -> MirScalarExpr {
        match predicates.len() {
            0 => MirScalarExpr::literal_true(),
            1 => predicates.pop().expect("one predicate"),
            _ => MirScalarExpr::CallVariadic {
                func: VariadicFunc::And,
                exprs: predicates,
            },
        }
    }

    /// Evaluates the expression against the datums of one row.
    pub fn eval<'a>(
        &'a self,
        datums: &[Datum<'a>],
        arena: &'a RowArena,
    ) -> Result<Datum<'a>, EvalError> {
        match self {
            MirScalarExpr::Column(i) => Ok(datums[*i]),
            MirScalarExpr::Literal(Ok(row), _) => Ok(row.unpack_first()),
            MirScalarExpr::Literal(Err(e), _) => Err(e.clone()),
            MirScalarExpr::CallUnmaterializable(f) => Err(EvalError::Internal(format!(
                "{f} should have been replaced before evaluation"
            ))),
            MirScalarExpr::CallUnary { func, expr } => {
                let d = expr.eval(datums, arena)?;
                if d.is_null() && func.propagates_nulls() {
                    return Ok(Datum::Null);
                }
                func.eval(d, arena)
            }
            MirScalarExpr::CallBinary { func, expr1, expr2 } => {
                let a = expr1.eval(datums, arena)?;
                if a.is_null() && func.propagates_nulls() {
                    return Ok(Datum::Null);
                }
                let b = expr2.eval(datums, arena)?;
                if b.is_null() && func.propagates_nulls() {
                    return Ok(Datum::Null);
                }
                func.eval(a, b, arena)
            }
            MirScalarExpr::CallVariadic { func, exprs } => func.eval(exprs, datums, arena),
            MirScalarExpr::If { cond, then, els } => match cond.eval(datums, arena)? {
                Datum::True => then.eval(datums, arena),
                _ => els.eval(datums, arena),
            },
        }
    }

    /// The type of the expression's value, given the types of the input columns.
    pub fn typ(&self, input: &[ColumnType]) -> ColumnType {
        match self {
            MirScalarExpr::Column(i) => input[*i].clone(),
            MirScalarExpr::Literal(_, typ) => typ.clone(),
            MirScalarExpr::CallUnmaterializable(f) => f.output_type(),
            MirScalarExpr::CallUnary { func, expr } => func.output_type(expr.typ(input)),
            MirScalarExpr::CallBinary { func, expr1, expr2 } => {
                func.output_type(expr1.typ(input), expr2.typ(input))
            }
            MirScalarExpr::CallVariadic { func, exprs } => {
                func.output_type(exprs.iter().map(|e| e.typ(input)).collect())
            }
            MirScalarExpr::If { then, els, .. } => {
                let t = then.typ(input);
                let e = els.typ(input);
                let scalar_type = if t.scalar_type == ScalarType::Unknown {
                    e.scalar_type.clone()
                } else {
                    t.scalar_type.clone()
                };
                ColumnType::new(scalar_type, t.nullable || e.nullable)
            }
        }
    }

    /// Calls `f` on each direct child.
    pub fn visit_children<'s, F: FnMut(&'s MirScalarExpr)>(&'s self, mut f: F) {
        match self {
            MirScalarExpr::Column(_)
            | MirScalarExpr::Literal(..)
            | MirScalarExpr::CallUnmaterializable(_) => {}
            MirScalarExpr::CallUnary { expr, .. } => f(expr),
            MirScalarExpr::CallBinary { expr1, expr2, .. } => {
                f(expr1);
                f(expr2);
            }
            MirScalarExpr::CallVariadic { exprs, .. } => exprs.iter().for_each(f),
            MirScalarExpr::If { cond, then, els } => {
                f(cond);
                f(then);
                f(els);
            }
        }
    }

    pub fn visit_children_mut<F: FnMut(&mut MirScalarExpr)>(&mut self, mut f: F) {
        match self {
            MirScalarExpr::Column(_)
            | MirScalarExpr::Literal(..)
            | MirScalarExpr::CallUnmaterializable(_) => {}
            MirScalarExpr::CallUnary { expr, .. } => f(expr),
            MirScalarExpr::CallBinary { expr1, expr2, .. } => {
                f(expr1);
                f(expr2);
            }
            MirScalarExpr::CallVariadic { exprs, .. } => exprs.iter_mut().for_each(f),
            MirScalarExpr::If { cond, then, els } => {
                f(cond);
                f(then);
                f(els);
            }
        }
    }

    /// Visits every node, children before parents.
    pub fn visit_post<'s, F: FnMut(&'s MirScalarExpr)>(&'s self, f: &mut F) {
        self.visit_children(|c| c.visit_post(f));
        f(self);
    }

    /// Mutably visits every node, children before parents.
    pub fn visit_mut_post<F: FnMut(&mut MirScalarExpr)>(&mut self, f: &mut F) {
        self.visit_children_mut(|c| c.visit_mut_post(f));
        f(self);
    }

    /// The columns the expression reads.
    pub fn support(&self) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        self.visit_post(&mut |e| {
            if let MirScalarExpr::Column(c) = e {
                out.insert(*c);
            }
        });
        out
    }

    /// Renumbers column references through `map` (old index → new index).
    pub fn permute(&mut self, map: &[usize]) {
        self.visit_mut_post(&mut |e| {
            if let MirScalarExpr::Column(c) = e {
                *c = map[*c];
            }
        });
    }

    /// Renumbers column references with a function.
    pub fn permute_with<F: Fn(usize) -> usize>(&mut self, f: &F) {
        self.visit_mut_post(&mut |e| {
            if let MirScalarExpr::Column(c) = e {
                *c = f(*c);
            }
        });
    }

    /// Replaces each column reference `c` with `replacements[c]`.
    pub fn substitute(&mut self, replacements: &[MirScalarExpr]) {
        self.visit_mut_post(&mut |e| {
            if let MirScalarExpr::Column(c) = e {
                *e = replacements[*c].clone();
            }
        });
    }

    pub fn is_literal(&self) -> bool {
        matches!(self, MirScalarExpr::Literal(..))
    }

    pub fn is_literal_true(&self) -> bool {
        matches!(self, MirScalarExpr::Literal(Ok(row), _) if row.unpack_first() == Datum::True)
    }

    pub fn is_literal_false(&self) -> bool {
        matches!(self, MirScalarExpr::Literal(Ok(row), _) if row.unpack_first() == Datum::False)
    }

    pub fn is_literal_null(&self) -> bool {
        matches!(self, MirScalarExpr::Literal(Ok(row), _) if row.unpack_first().is_null())
    }

    pub fn is_literal_err(&self) -> bool {
        matches!(self, MirScalarExpr::Literal(Err(_), _))
    }

    pub fn as_literal(&self) -> Option<Result<Datum<'_>, &EvalError>> {
        match self {
            MirScalarExpr::Literal(Ok(row), _) => Some(Ok(row.unpack_first())),
            MirScalarExpr::Literal(Err(e), _) => Some(Err(e)),
            _ => None,
        }
    }

    pub fn as_column(&self) -> Option<usize> {
        match self {
            MirScalarExpr::Column(c) => Some(*c),
            _ => None,
        }
    }

    /// True if the expression contains `now()` or another unmaterializable call.
    pub fn contains_unmaterializable(&self) -> bool {
        let mut found = false;
        self.visit_post(&mut |e| {
            if matches!(e, MirScalarExpr::CallUnmaterializable(_)) {
                found = true;
            }
        });
        found
    }

    /// Folds constant subexpressions into literals (errors become error literals, so an
    /// error is raised only if the row that reaches it is evaluated).
    pub fn reduce(&mut self, input: &[ColumnType]) {
        self.visit_mut_post(&mut |e| {
            let foldable = match e {
                MirScalarExpr::CallUnary { expr, .. } => expr.is_literal(),
                MirScalarExpr::CallBinary { func, expr1, expr2 } => {
                    (expr1.is_literal() && expr2.is_literal())
                        || (func.propagates_nulls()
                            && (expr1.is_literal_null() || expr2.is_literal_null()))
                }
                MirScalarExpr::CallVariadic { func, exprs } => {
                    (!func.is_volatile() && exprs.iter().all(|e| e.is_literal()))
                        || func.short_circuits(exprs)
                }
                MirScalarExpr::If { cond, .. } => cond.is_literal(),
                _ => false,
            };
            if !foldable {
                return;
            }
            if let MirScalarExpr::If { cond, then, els } = e {
                let taken = if cond.is_literal_true() { then } else { els };
                *e = std::mem::replace(taken.as_mut(), MirScalarExpr::literal_true());
                return;
            }
            if let MirScalarExpr::CallVariadic { func, exprs } = e {
                if !exprs.iter().all(|e| e.is_literal()) {
                    // An AND with a literal FALSE (or an OR with a literal TRUE) is decided
                    // whatever its other arguments are.
                    let value = Datum::from_bool(*func != VariadicFunc::And);
                    *e = MirScalarExpr::literal(value, ScalarType::Bool);
                    return;
                }
            }
            let typ = e.typ(input);
            if let MirScalarExpr::CallBinary { expr1, expr2, .. } = e {
                if !(expr1.is_literal() && expr2.is_literal()) {
                    // A strict function of a literal NULL is NULL, whatever (and whether or not
                    // it would fail on) its other argument, as PostgreSQL's planner folds it:
                    // `x / 0 = NULL` is NULL, not a division by zero.
                    *e = MirScalarExpr::Literal(Ok(Row::of(Datum::Null)), typ);
                    return;
                }
            }
            let arena = RowArena::new();
            let result = e.eval(&[], &arena).map(Row::of);
            *e = MirScalarExpr::Literal(result, typ);
        });
    }
}

impl fmt::Display for MirScalarExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MirScalarExpr::Column(i) => write!(f, "#{i}"),
            MirScalarExpr::Literal(Ok(row), typ) => {
                let d = row.unpack_first();
                match d {
                    Datum::Null => f.write_str("null"),
                    Datum::String(s) => write!(f, "{:?}", s),
                    _ if typ.scalar_type.is_numeric_family()
                        || typ.scalar_type == ScalarType::Bool =>
                    {
                        write!(f, "{d}")
                    }
                    _ => write!(f, "'{d}'"),
                }
            }
            MirScalarExpr::Literal(Err(e), _) => write!(f, "error({:?})", e.to_string()),
            MirScalarExpr::CallUnmaterializable(func) => write!(f, "{func}()"),
            MirScalarExpr::CallUnary { func, expr } => func.fmt_call(f, expr),
            MirScalarExpr::CallBinary { func, expr1, expr2 } => func.fmt_call(f, expr1, expr2),
            MirScalarExpr::CallVariadic { func, exprs } => func.fmt_call(f, exprs),
            MirScalarExpr::If { cond, then, els } => {
                write!(f, "case when {cond} then {then} else {els} end")
            }
        }
    }
}
