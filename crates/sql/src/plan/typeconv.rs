//! Type coercion: PostgreSQL's implicit, assignment and explicit casts, and how the types
//! of several expressions are unified (for CASE, UNION, IN lists, comparisons).

use evert_expr::{scalar::cast::cast_exists, UnaryFunc};
use evert_repr::{ColumnType, Datum, Row, RowArena, ScalarType};

use crate::error::PlanError;
use crate::hir::HirScalarExpr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastContext {
    Implicit,
    Assignment,
    Explicit,
}

/// An expression with its type, as the binder produces it.
#[derive(Clone, Debug)]
pub struct Typed {
    pub expr: HirScalarExpr,
    pub typ: ColumnType,
}

impl Typed {
    pub fn new(expr: HirScalarExpr, typ: ColumnType) -> Typed {
        Typed { expr, typ }
    }

    pub fn scalar_type(&self) -> &ScalarType {
        &self.typ.scalar_type
    }

    pub fn is_unknown(&self) -> bool {
        self.typ.scalar_type == ScalarType::Unknown
    }
}

/// Position of a numeric type in PostgreSQL's implicit promotion order.
fn numeric_rank(t: &ScalarType) -> Option<u8> {
    Some(match t {
        ScalarType::Int16 => 1,
        ScalarType::Int32 => 2,
        ScalarType::Int64 => 3,
        ScalarType::Numeric { .. } => 4,
        ScalarType::Float32 => 5,
        ScalarType::Float64 => 6,
        _ => return None,
    })
}

fn datetime_rank(t: &ScalarType) -> Option<u8> {
    Some(match t {
        ScalarType::Date => 1,
        ScalarType::Timestamp => 2,
        ScalarType::TimestampTz => 3,
        _ => return None,
    })
}

/// Whether a value of `from` may be converted to `to` in `context`.
pub fn can_cast(from: &ScalarType, to: &ScalarType, context: CastContext) -> bool {
    use ScalarType as S;
    if from.base_eq(to) || *from == S::Unknown {
        return true;
    }
    let implicit = match (from, to) {
        (a, b) if numeric_rank(a).is_some() && numeric_rank(b).is_some() => {
            numeric_rank(a) < numeric_rank(b)
        }
        (a, b) if a.is_string_family() && b.is_string_family() => true,
        (a, b) if datetime_rank(a).is_some() && datetime_rank(b).is_some() => {
            datetime_rank(a) < datetime_rank(b)
        }
        (S::Time, S::Interval) => true,
        _ => false,
    };
    match context {
        CastContext::Implicit => implicit,
        CastContext::Assignment => {
            implicit
                || (numeric_rank(from).is_some() && numeric_rank(to).is_some())
                || to.is_string_family()
                || matches!(
                    (from, to),
                    (
                        S::TimestampTz | S::Timestamp,
                        S::Date | S::Time | S::Timestamp | S::TimestampTz
                    )
                )
                || matches!((from, to), (S::Array(a), S::Array(b)) if can_cast(a, b, CastContext::Assignment))
        }
        CastContext::Explicit => cast_exists(from, to),
    }
}

/// Converts `e` to `to`, folding literals and typing parameters at plan time.
pub fn coerce(
    e: Typed,
    to: &ScalarType,
    context: CastContext,
    params: &mut ParamTypes,
) -> Result<HirScalarExpr, PlanError> {
    let from = e.typ.scalar_type.clone();
    if from == *to {
        return Ok(e.expr);
    }
    if let HirScalarExpr::Parameter(n) = e.expr {
        if from == ScalarType::Unknown {
            params.set(n, to.clone());
            return Ok(HirScalarExpr::Parameter(n));
        }
    }
    if from == ScalarType::Unknown {
        // A string literal or NULL: parse it as the target type now.
        if let HirScalarExpr::Literal(row, _) = &e.expr {
            let datum = row.unpack_first();
            if datum.is_null() {
                return Ok(HirScalarExpr::Literal(
                    Row::of(Datum::Null),
                    ColumnType::new(to.clone(), true),
                ));
            }
            let arena = RowArena::new();
            let value = evert_expr::scalar::cast::cast(
                datum,
                to,
                context == CastContext::Assignment,
                &arena,
            )?;
            return Ok(HirScalarExpr::Literal(
                Row::of(value),
                ColumnType::new(to.clone(), false),
            ));
        }
    }
    if !can_cast(&from, to, context) {
        return Err(match context {
            CastContext::Explicit => PlanError::CannotCoerce(format!(
                "cannot cast type {} to {}",
                from.pg_name(),
                to.pg_name()
            )),
            _ => PlanError::DatatypeMismatch(format!(
                "cannot convert type {} to {} implicitly",
                from.pg_name(),
                to.pg_name()
            )),
        });
    }
    if matches!(from, ScalarType::Char { .. })
        && matches!(to, ScalarType::String | ScalarType::VarChar { .. })
    {
        // character(n) to text drops the padding, as in PostgreSQL ('ab'::char(4) || '|' is
        // 'ab|', length('ab'::char(4)) is 2).
        let trimmed = e.expr.call_unary(UnaryFunc::RTrimWhitespace);
        return Ok(match to {
            ScalarType::VarChar {
                max_length: Some(_),
            } => trimmed.call_unary(if context == CastContext::Assignment {
                UnaryFunc::CastAssign(to.clone())
            } else {
                UnaryFunc::Cast(to.clone())
            }),
            _ => trimmed,
        });
    }
    if from.base_eq(to)
        && !matches!(
            to,
            ScalarType::Numeric {
                precision: Some(_),
                ..
            } | ScalarType::VarChar {
                max_length: Some(_)
            } | ScalarType::Char { .. }
        )
    {
        // Only the constraint differs and the target has none to enforce.
        return Ok(e.expr);
    }
    let func = if context == CastContext::Assignment {
        UnaryFunc::CastAssign(to.clone())
    } else {
        UnaryFunc::Cast(to.clone())
    };
    Ok(e.expr.call_unary(func))
}

/// The type both operands of a binary operator (arithmetic or comparison) are converted to.
/// Usually their common type; but `real` with any other number type is `double precision`:
/// PostgreSQL has operators for `real` with `double precision` (float48, float84) and none
/// for `real` with integers or `numeric`, and when it must convert an operand it prefers
/// `double precision`, its preferred numeric type. So `1 / 3::real` is a `double precision`,
/// and `0.1::real = 0.1` compares in double precision (and is false).
pub fn operator_operand_type(
    l: &ScalarType,
    r: &ScalarType,
    what: &str,
) -> Result<ScalarType, PlanError> {
    let (lu, ru) = (l.unconstrained(), r.unconstrained());
    let mixed_real = |a: &ScalarType, b: &ScalarType| {
        *a == ScalarType::Float32 && *b != ScalarType::Float32 && numeric_rank(b).is_some()
    };
    if mixed_real(&lu, &ru) || mixed_real(&ru, &lu) {
        return Ok(ScalarType::Float64);
    }
    common_type([l, r], what)
}

/// The type several expressions are unified to (PostgreSQL's UNION/CASE resolution).
pub fn common_type<'a>(
    types: impl IntoIterator<Item = &'a ScalarType>,
    what: &str,
) -> Result<ScalarType, PlanError> {
    let all: Vec<&ScalarType> = types.into_iter().collect();
    let best = common_base_type(&all, what)?;
    // PostgreSQL keeps a type modifier (numeric(6,2), varchar(3)) only when every input has
    // exactly that type; otherwise the common type is unconstrained. So `n < 100000` does not
    // squeeze 100000 into n's numeric(6,2), and coalesce(n, 0) is a plain numeric.
    if all.iter().all(|t| **t == best) {
        Ok(best)
    } else {
        Ok(best.unconstrained())
    }
}

/// The type the columns of a set operation (UNION, INTERSECT, EXCEPT) are unified to. Unlike
/// [`common_type`], this keeps the type modifier of the widest input (numeric(6,2) with an
/// integer stays numeric(6,2)), so that every branch gives its values the same scale: set
/// operations match rows by their bytes, and 3 and 3.00 must be the same row, as they are in
/// PostgreSQL (which compares them by value).
pub fn common_type_for_set_operation<'a>(
    types: impl IntoIterator<Item = &'a ScalarType>,
    what: &str,
) -> Result<ScalarType, PlanError> {
    let all: Vec<&ScalarType> = types.into_iter().collect();
    common_base_type(&all, what)
}

fn common_base_type(all: &[&ScalarType], what: &str) -> Result<ScalarType, PlanError> {
    let known: Vec<&ScalarType> = all
        .iter()
        .copied()
        .filter(|t| **t != ScalarType::Unknown)
        .collect();
    let Some(first) = known.first() else {
        return Ok(ScalarType::String);
    };
    let mut best: ScalarType = (*first).clone();
    for t in &known[1..] {
        if best == **t {
            continue;
        }
        if best.base_eq(t) {
            best = best.unconstrained();
            continue;
        }
        best = match (
            numeric_rank(&best),
            numeric_rank(t),
            datetime_rank(&best),
            datetime_rank(t),
        ) {
            (Some(a), Some(b), _, _) => {
                if b > a {
                    (*t).clone()
                } else {
                    best
                }
            }
            (_, _, Some(a), Some(b)) => {
                if b > a {
                    (*t).clone()
                } else {
                    best
                }
            }
            _ if best.is_string_family() && t.is_string_family() => ScalarType::String,
            _ => {
                return Err(PlanError::DatatypeMismatch(format!(
                    "{what} types {} and {} cannot be matched",
                    best.pg_name(),
                    t.pg_name()
                )))
            }
        };
    }
    Ok(best)
}

/// The types inferred for `$n` parameters.
#[derive(Clone, Debug, Default)]
pub struct ParamTypes {
    pub types: std::collections::BTreeMap<usize, ScalarType>,
}

impl ParamTypes {
    pub fn set(&mut self, n: usize, typ: ScalarType) {
        self.types.entry(n).or_insert(typ);
    }

    pub fn get(&self, n: usize) -> Option<&ScalarType> {
        self.types.get(&n)
    }
}
