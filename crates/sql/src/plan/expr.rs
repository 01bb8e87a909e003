//! Binding scalar expressions: AST `Expr` to typed HIR.

use evert_expr::{BinaryFunc, UnaryFunc, UnmaterializableFunc, VariadicFunc};
use evert_repr::adt::numeric::parse_numeric;
use evert_repr::{strconv, ColumnType, Datum, Interval, Row, RowArena, ScalarType};
use sqlparser::ast::{self, BinaryOperator, DataType, Expr, UnaryOperator, Value};

use super::typeconv::{coerce, common_type, operator_operand_type, CastContext, Typed};
use super::{Binder, Scope};
use crate::error::PlanError;
use crate::hir::{ColumnRef, HirRelationExpr, HirScalarExpr};
use crate::parse::normalize_ident;

/// Where an expression is being bound, and what it may contain.
#[derive(Clone, Copy)]
pub struct ExprContext<'s> {
    pub scope: &'s Scope,
    /// The clause, for error messages ("WHERE", "GROUP BY", …).
    pub name: &'static str,
    pub allow_aggregates: bool,
    pub allow_subqueries: bool,
    pub allow_windows: bool,
}

impl<'s> ExprContext<'s> {
    pub fn new(scope: &'s Scope, name: &'static str) -> ExprContext<'s> {
        ExprContext {
            scope,
            name,
            allow_aggregates: false,
            allow_subqueries: true,
            allow_windows: false,
        }
    }

    pub fn with_aggregates(mut self) -> Self {
        self.allow_aggregates = true;
        self
    }

    pub fn with_windows(mut self) -> Self {
        self.allow_windows = true;
        self
    }

    pub fn without_windows(mut self) -> Self {
        self.allow_windows = false;
        self
    }

    pub fn without_aggregates(mut self) -> Self {
        self.allow_aggregates = false;
        self.allow_windows = false;
        self
    }
}

/// The scalar type named by a SQL data type.
pub fn scalar_type_from_sql(dt: &DataType) -> Result<ScalarType, PlanError> {
    use DataType as D;
    Ok(match dt {
        D::Bool | D::Boolean => ScalarType::Bool,
        D::SmallInt(_) | D::Int2(_) => ScalarType::Int16,
        D::Int(_) | D::Integer(_) | D::Int4(_) => ScalarType::Int32,
        D::BigInt(_) | D::Int8(_) => ScalarType::Int64,
        D::Real | D::Float4 => ScalarType::Float32,
        D::DoublePrecision | D::Float8 | D::Double(_) => ScalarType::Float64,
        D::Float(info) => match info {
            ast::ExactNumberInfo::Precision(p) | ast::ExactNumberInfo::PrecisionAndScale(p, _)
                if *p <= 24 =>
            {
                ScalarType::Float32
            }
            _ => ScalarType::Float64,
        },
        D::Numeric(info) | D::Decimal(info) | D::Dec(info) => match info {
            ast::ExactNumberInfo::None => ScalarType::numeric(),
            ast::ExactNumberInfo::Precision(p) => numeric_type(*p, 0)?,
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => numeric_type(
                *p,
                u64::try_from(*s).map_err(|_| {
                    PlanError::InvalidParameterValue(format!(
                        "NUMERIC scale {s} must be between 0 and precision {p}"
                    ))
                })?,
            )?,
        },
        D::Text | D::String(None) => ScalarType::String,
        D::Varchar(len) | D::CharacterVarying(len) | D::CharVarying(len) => ScalarType::VarChar {
            max_length: char_length(len)?,
        },
        D::Char(len) | D::Character(len) => ScalarType::Char {
            length: char_length(len)?.unwrap_or(1),
        },
        D::Bytea => ScalarType::Bytes,
        D::Date => ScalarType::Date,
        D::Time(_, tz) => match tz {
            ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz => {
                return Err(PlanError::unsupported("type time with time zone"))
            }
            _ => ScalarType::Time,
        },
        D::Timestamp(_, tz) => match tz {
            ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz => ScalarType::TimestampTz,
            _ => ScalarType::Timestamp,
        },
        D::Interval { .. } => ScalarType::Interval,
        D::Uuid => ScalarType::Uuid,
        D::Regclass => ScalarType::Int64,
        D::JSON | D::JSONB => ScalarType::Jsonb,
        D::Array(elem) => match elem {
            ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | ast::ArrayElemTypeDef::AngleBracket(inner)
            | ast::ArrayElemTypeDef::Parenthesis(inner) => {
                ScalarType::Array(Box::new(scalar_type_from_sql(inner)?))
            }
            ast::ArrayElemTypeDef::None => {
                return Err(PlanError::unsupported("array type without element type"))
            }
            other => return Err(PlanError::unsupported(format!("array type {other:?}"))),
        },
        D::Custom(name, modifiers) => {
            let parts = crate::parse::normalize_name(name)?;
            let last = parts.last().cloned().unwrap_or_default();
            if parts.len() > 1 && !matches!(parts[0].as_str(), "pg_catalog" | "public") {
                return Err(PlanError::UndefinedObject(format!(
                    "type \"{}\" does not exist",
                    parts.join(".")
                )));
            }
            match (last.as_str(), modifiers.len()) {
                ("varchar" | "bpchar", _) | ("char", _) if !modifiers.is_empty() => {
                    let n: u32 = modifiers[0]
                        .to_string()
                        .parse()
                        .map_err(|_| PlanError::Invalid("invalid type modifier".into()))?;
                    if last == "varchar" {
                        ScalarType::VarChar {
                            max_length: Some(n),
                        }
                    } else {
                        ScalarType::Char { length: n }
                    }
                }
                ("numeric" | "decimal", 1 | 2) => {
                    let p: u64 = modifiers[0]
                        .to_string()
                        .parse()
                        .map_err(|_| PlanError::Invalid("invalid type modifier".into()))?;
                    let s: u64 = modifiers
                        .get(1)
                        .map(|m| m.to_string().parse().unwrap_or(0))
                        .unwrap_or(0);
                    numeric_type(p, s)?
                }
                // serial columns need sequences, which evert does not have.
                ("serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2", _) => {
                    return Err(PlanError::unsupported(format!(
                        "type {name} (sequences)",
                        name = last
                    )))
                }
                // Object identifiers are bigints in evert (OIDs in the catalog relations).
                ("oid" | "regclass" | "regtype" | "regproc" | "regnamespace" | "regrole", 0) => {
                    ScalarType::Int64
                }
                (name, _) => ScalarType::from_name(name).ok_or_else(|| {
                    PlanError::UndefinedObject(format!("type \"{name}\" does not exist"))
                })?,
            }
        }
        other => return Err(PlanError::unsupported(format!("type {other}"))),
    })
}

fn numeric_type(precision: u64, scale: u64) -> Result<ScalarType, PlanError> {
    if !(1..=39).contains(&precision) {
        return Err(PlanError::InvalidParameterValue(format!(
            "NUMERIC precision {precision} must be between 1 and 39 (evert keeps at most 28 fractional digits)"
        )));
    }
    if scale > precision || scale > 28 {
        return Err(PlanError::InvalidParameterValue(format!(
            "NUMERIC scale {scale} must be between 0 and precision {precision} (at most 28)"
        )));
    }
    Ok(ScalarType::Numeric {
        precision: Some(precision as u8),
        scale: Some(scale as u8),
    })
}

fn char_length(len: &Option<ast::CharacterLength>) -> Result<Option<u32>, PlanError> {
    match len {
        None => Ok(None),
        Some(ast::CharacterLength::IntegerLength { length, .. }) => {
            if *length == 0 || *length > 10_485_760 {
                return Err(PlanError::InvalidParameterValue(format!(
                    "length for type varchar must be between 1 and 10485760, not {length}"
                )));
            }
            Ok(Some(*length as u32))
        }
        Some(ast::CharacterLength::Max) => Ok(None),
    }
}

fn literal(datum: Datum, typ: ScalarType) -> Typed {
    let nullable = datum.is_null();
    Typed::new(
        HirScalarExpr::Literal(Row::of(datum), ColumnType::new(typ.clone(), nullable)),
        ColumnType::new(typ, nullable),
    )
}

/// An untyped string literal, resolved by context like PostgreSQL's `unknown`.
fn unknown_literal(s: &str) -> Typed {
    Typed::new(
        HirScalarExpr::Literal(
            Row::of(Datum::String(s)),
            ColumnType::new(ScalarType::Unknown, false),
        ),
        ColumnType::new(ScalarType::Unknown, false),
    )
}

impl Binder<'_> {
    pub fn bind_expr(&mut self, ecx: &ExprContext, e: &Expr) -> Result<Typed, PlanError> {
        match e {
            Expr::Identifier(ident) => self.bind_column(ecx, None, &normalize_ident(ident)),
            Expr::CompoundIdentifier(parts) => {
                let names: Vec<String> = parts.iter().map(normalize_ident).collect();
                match names.len() {
                    2 => self.bind_column(ecx, Some(&names[0]), &names[1]),
                    3 => self.bind_column(ecx, Some(&names[1]), &names[2]),
                    4 => self.bind_column(ecx, Some(&names[2]), &names[3]),
                    _ => Err(PlanError::Invalid(format!(
                        "improper qualified name: {}",
                        names.join(".")
                    ))),
                }
            }
            Expr::Value(v) => self.bind_value(&v.value),
            Expr::Nested(inner) => self.bind_expr(ecx, inner),
            Expr::TypedString(ts) => {
                let typ = scalar_type_from_sql(&ts.data_type)?;
                let text = match &ts.value.value {
                    Value::SingleQuotedString(s)
                    | Value::DoubleQuotedString(s)
                    | Value::EscapedStringLiteral(s) => s.clone(),
                    other => other.to_string(),
                };
                let expr = coerce(
                    unknown_literal(&text),
                    &typ,
                    CastContext::Explicit,
                    &mut self.params,
                )?;
                Ok(Typed::new(expr, ColumnType::new(typ, false)))
            }
            Expr::Interval(iv) => self.bind_interval_literal(ecx, iv),
            Expr::Cast {
                expr,
                data_type,
                format,
                kind,
            } => {
                if format.is_some() {
                    return Err(PlanError::unsupported("CAST ... FORMAT"));
                }
                if matches!(kind, ast::CastKind::TryCast | ast::CastKind::SafeCast) {
                    return Err(PlanError::unsupported("TRY_CAST"));
                }
                let typ = scalar_type_from_sql(data_type)?;
                let inner = self.bind_expr(ecx, expr)?;
                let nullable = inner.typ.nullable;
                let expr = coerce(inner, &typ, CastContext::Explicit, &mut self.params)?;
                Ok(Typed::new(expr, ColumnType::new(typ, nullable)))
            }
            Expr::UnaryOp { op, expr } => self.bind_unary(ecx, op, expr),
            Expr::BinaryOp { left, op, right } => {
                if matches!(op, BinaryOperator::And | BinaryOperator::Or) {
                    let l = self.bind_bool(ecx, left, "AND/OR")?;
                    let r = self.bind_bool(ecx, right, "AND/OR")?;
                    let func = if *op == BinaryOperator::And {
                        VariadicFunc::And
                    } else {
                        VariadicFunc::Or
                    };
                    let nullable = true;
                    return Ok(Typed::new(
                        HirScalarExpr::CallVariadic {
                            func,
                            exprs: vec![l, r],
                        },
                        ScalarType::Bool.nullable(nullable),
                    ));
                }
                let l = self.bind_expr(ecx, left)?;
                let r = self.bind_expr(ecx, right)?;
                self.bind_binary(op, l, r)
            }
            Expr::IsNull(inner) => {
                let e = self.bind_expr(ecx, inner)?;
                Ok(Typed::new(
                    e.expr.call_unary(UnaryFunc::IsNull),
                    ScalarType::Bool.nullable(false),
                ))
            }
            Expr::IsNotNull(inner) => {
                let e = self.bind_expr(ecx, inner)?;
                Ok(Typed::new(
                    e.expr.call_unary(UnaryFunc::IsNull).not(),
                    ScalarType::Bool.nullable(false),
                ))
            }
            Expr::IsTrue(inner)
            | Expr::IsNotTrue(inner)
            | Expr::IsFalse(inner)
            | Expr::IsNotFalse(inner) => {
                let b = self.bind_bool(ecx, inner, "IS TRUE")?;
                let (func, negate) = match e {
                    Expr::IsTrue(_) => (UnaryFunc::IsTrue, false),
                    Expr::IsNotTrue(_) => (UnaryFunc::IsTrue, true),
                    Expr::IsFalse(_) => (UnaryFunc::IsFalse, false),
                    _ => (UnaryFunc::IsFalse, true),
                };
                let mut expr = b.call_unary(func);
                if negate {
                    expr = expr.not();
                }
                Ok(Typed::new(expr, ScalarType::Bool.nullable(false)))
            }
            Expr::IsUnknown(inner) | Expr::IsNotUnknown(inner) => {
                let b = self.bind_bool(ecx, inner, "IS UNKNOWN")?;
                let mut expr = b.call_unary(UnaryFunc::IsNull);
                if matches!(e, Expr::IsNotUnknown(_)) {
                    expr = expr.not();
                }
                Ok(Typed::new(expr, ScalarType::Bool.nullable(false)))
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let l = self.bind_expr(ecx, a)?;
                let r = self.bind_expr(ecx, b)?;
                let (l, r) = self.unify_pair(l, r, "IS DISTINCT FROM")?;
                let mut expr = l.call_binary(r, BinaryFunc::IsNotDistinctFrom);
                if matches!(e, Expr::IsDistinctFrom(..)) {
                    expr = expr.not();
                }
                Ok(Typed::new(expr, ScalarType::Bool.nullable(false)))
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_expr(ecx, expr)?;
                let lo = self.bind_expr(ecx, low)?;
                let hi = self.bind_expr(ecx, high)?;
                let ge = self.bind_comparison(BinaryFunc::Gte, x.clone(), lo)?;
                let le = self.bind_comparison(BinaryFunc::Lte, x, hi)?;
                let nullable = ge.typ.nullable || le.typ.nullable;
                let mut result = ge.expr.and(le.expr);
                if *negated {
                    result = result.not();
                }
                Ok(Typed::new(result, ScalarType::Bool.nullable(nullable)))
            }
            Expr::In {
                expr,
                target,
                negated,
                ..
            } => match target {
                ast::InTarget::List(list) => self.bind_in_list(ecx, expr, list, *negated),
                ast::InTarget::Subquery(q) => {
                    let x = self.bind_expr(ecx, expr)?;
                    self.bind_quantified(ecx, x, BinaryFunc::Eq, q, true, *negated)
                }
                other => Err(PlanError::unsupported(format!("IN {other}"))),
            },
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op,
                right,
            } => {
                let is_any = matches!(e, Expr::AnyOp { .. });
                let func = comparison_func(compare_op)
                    .ok_or_else(|| PlanError::unsupported(format!("{compare_op} ANY/ALL")))?;
                let x = self.bind_expr(ecx, left)?;
                match right.as_ref() {
                    Expr::Subquery(q) => self.bind_quantified(ecx, x, func, q, is_any, false),
                    array => self.bind_quantified_array(ecx, x, func, array, is_any),
                }
            }
            Expr::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            }
            | Expr::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if *any {
                    return Err(PlanError::unsupported("LIKE ANY"));
                }
                let case_insensitive = matches!(e, Expr::ILike { .. });
                let x = self.bind_expr(ecx, expr)?;
                let mut p = self.bind_expr(ecx, pattern)?;
                if let Some(escape) = escape_char {
                    let escape = self.bind_expr(ecx, escape)?;
                    p = like_pattern_with_escape(p, escape)?;
                }
                self.bind_like(x, p, case_insensitive, *negated)
            }
            Expr::SimilarTo { .. } => Err(PlanError::unsupported("SIMILAR TO")),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.bind_case(ecx, operand.as_deref(), conditions, else_result.as_deref()),
            Expr::Exists { subquery, negated } => {
                if !ecx.allow_subqueries {
                    return Err(PlanError::unsupported(format!(
                        "subqueries in {}",
                        ecx.name
                    )));
                }
                let (rel, _) = self.bind_subquery(ecx, subquery)?;
                let mut expr = HirScalarExpr::Exists(Box::new(rel));
                if *negated {
                    expr = expr.not();
                }
                Ok(Typed::new(expr, ScalarType::Bool.nullable(false)))
            }
            Expr::Subquery(q) => {
                if !ecx.allow_subqueries {
                    return Err(PlanError::unsupported(format!(
                        "subqueries in {}",
                        ecx.name
                    )));
                }
                let (rel, scope) = self.bind_subquery(ecx, q)?;
                if scope.len() != 1 {
                    return Err(PlanError::Invalid(
                        "subquery must return only one column".into(),
                    ));
                }
                let typ = scope.items[0].typ.clone().nullable(true);
                Ok(Typed::new(HirScalarExpr::Select(Box::new(rel)), typ))
            }
            Expr::Function(f) => self.bind_function(ecx, f),
            Expr::Extract { field, expr, .. } => {
                let field_name = datetime_field_name(field);
                let value = self.bind_expr(ecx, expr)?;
                self.bind_extract(&field_name, value, true)
            }
            Expr::Ceil { expr, field } | Expr::Floor { expr, field } => {
                if !matches!(
                    field,
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)
                ) {
                    return Err(PlanError::unsupported("CEIL/FLOOR with a field"));
                }
                let name = if matches!(e, Expr::Ceil { .. }) {
                    "ceil"
                } else {
                    "floor"
                };
                let arg = self.bind_expr(ecx, expr)?;
                self.call_function_typed(name, vec![arg])
            }
            Expr::Position { expr, r#in } => {
                let needle = self.bind_expr(ecx, expr)?;
                let haystack = self.bind_expr(ecx, r#in)?;
                self.call_function_typed("strpos", vec![haystack, needle])
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(ecx, expr)?];
                match substring_from {
                    Some(f) => args.push(self.bind_expr(ecx, f)?),
                    None => args.push(literal(Datum::Int32(1), ScalarType::Int32)),
                }
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(ecx, f)?);
                }
                self.call_function_typed("substr", args)
            }
            Expr::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                if trim_characters.is_some() {
                    return Err(PlanError::unsupported("TRIM with a character list"));
                }
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args = vec![self.bind_expr(ecx, expr)?];
                if let Some(what) = trim_what {
                    args.push(self.bind_expr(ecx, what)?);
                }
                self.call_function_typed(name, args)
            }
            Expr::Array(ast::Array { elem, .. }) => {
                let items: Vec<Typed> = elem
                    .iter()
                    .map(|x| self.bind_expr(ecx, x))
                    .collect::<Result<_, _>>()?;
                self.bind_array(items)
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                let mut base = self.bind_expr(ecx, root)?;
                for access in access_chain {
                    match access {
                        ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                            let ScalarType::Array(elem) = base.typ.scalar_type.clone() else {
                                return Err(PlanError::DatatypeMismatch(format!(
                                    "cannot subscript type {} because it is not an array",
                                    base.typ.scalar_type.pg_name()
                                )));
                            };
                            let i = self.bind_expr(ecx, index)?;
                            let i = coerce(
                                i,
                                &ScalarType::Int32,
                                CastContext::Implicit,
                                &mut self.params,
                            )?;
                            base = Typed::new(
                                base.expr.call_binary(i, BinaryFunc::ArrayIndex),
                                (*elem).nullable(true),
                            );
                        }
                        other => {
                            return Err(PlanError::unsupported(format!("field access {other}")))
                        }
                    }
                }
                Ok(base)
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                let ts = self.bind_expr(ecx, timestamp)?;
                let zone = self.bind_expr(ecx, time_zone)?;
                let is_utc = matches!(&zone.expr, HirScalarExpr::Literal(row, _) if matches!(row.unpack_first(), Datum::String(s) if s.eq_ignore_ascii_case("utc") || s.eq_ignore_ascii_case("z") || s == "+00" || s == "+00:00"));
                if !is_utc {
                    return Err(PlanError::unsupported("AT TIME ZONE other than 'UTC'"));
                }
                // With the session in UTC, converting between the two timestamp types is a cast.
                let target = match ts.typ.scalar_type {
                    ScalarType::TimestampTz => ScalarType::Timestamp,
                    _ => ScalarType::TimestampTz,
                };
                let nullable = ts.typ.nullable;
                let expr = coerce(ts, &target, CastContext::Explicit, &mut self.params)?;
                Ok(Typed::new(expr, target.nullable(nullable)))
            }
            Expr::Collate { expr, collation } => {
                // evert compares strings by code point, which is what PostgreSQL's "C"
                // collation does; the database default is that collation here.
                let parts = crate::parse::normalize_name(collation)?;
                match parts.last().map(String::as_str) {
                    Some("default" | "C" | "POSIX" | "c" | "posix" | "ucs_basic")
                        if parts.len() == 1 || parts[0] == "pg_catalog" =>
                    {
                        self.bind_expr(ecx, expr)
                    }
                    _ => Err(PlanError::unsupported(format!("COLLATE {collation}"))),
                }
            }
            Expr::Tuple(_) => Err(PlanError::unsupported("row constructors")),
            Expr::Wildcard(_) | Expr::QualifiedWildcard(..) => {
                Err(PlanError::Invalid("* is not allowed here".into()))
            }
            other => Err(PlanError::unsupported(format!("expression {other}"))),
        }
    }

    /// Binds and requires a boolean (string literals like 't' are accepted).
    pub fn bind_bool(
        &mut self,
        ecx: &ExprContext,
        e: &Expr,
        clause: &str,
    ) -> Result<HirScalarExpr, PlanError> {
        let t = self.bind_expr(ecx, e)?;
        self.require_bool(t, clause)
    }

    pub(crate) fn require_bool(
        &mut self,
        t: Typed,
        clause: &str,
    ) -> Result<HirScalarExpr, PlanError> {
        match t.typ.scalar_type {
            ScalarType::Bool => Ok(t.expr),
            ScalarType::Unknown => coerce(
                t,
                &ScalarType::Bool,
                CastContext::Implicit,
                &mut self.params,
            ),
            other => Err(PlanError::DatatypeMismatch(format!(
                "argument of {clause} must be type boolean, not type {}",
                other.pg_name()
            ))),
        }
    }

    /// Binds and converts to `typ` (assignment or implicit).
    pub fn bind_expr_as(
        &mut self,
        ecx: &ExprContext,
        e: &Expr,
        typ: &ScalarType,
        context: CastContext,
    ) -> Result<HirScalarExpr, PlanError> {
        let t = self.bind_expr(ecx, e)?;
        coerce(t, typ, context, &mut self.params)
    }

    fn bind_column(
        &mut self,
        ecx: &ExprContext,
        table: Option<&str>,
        column: &str,
    ) -> Result<Typed, PlanError> {
        if let Some(i) = ecx.scope.resolve(table, column)? {
            return Ok(Typed::new(
                HirScalarExpr::column(i),
                ecx.scope.items[i].typ.clone(),
            ));
        }
        for (depth, scope) in self.outer.iter().rev().enumerate() {
            if let Some(i) = scope.resolve(table, column)? {
                return Ok(Typed::new(
                    HirScalarExpr::Column(ColumnRef {
                        level: depth + 1,
                        column: i,
                    }),
                    scope.items[i].typ.clone(),
                ));
            }
        }
        if let Some(t) = table {
            let known = ecx.scope.has_table(t) || self.outer.iter().any(|s| s.has_table(t));
            if !known {
                return Err(PlanError::UnknownRelation(format!(
                    "missing FROM-clause entry for table \"{t}\""
                ))
                .reword_missing_from(t));
            }
            return Err(PlanError::UnknownColumn(format!("{t}.{column}")));
        }
        // Some functions are written without parentheses.
        match column {
            "current_timestamp" | "localtimestamp" => {
                return self.call_function_typed("now", vec![])
            }
            "current_date" => {
                let now = self.call_function_typed("now", vec![])?;
                let expr = coerce(
                    now,
                    &ScalarType::Date,
                    CastContext::Explicit,
                    &mut self.params,
                )?;
                return Ok(Typed::new(expr, ScalarType::Date.nullable(false)));
            }
            "current_user" | "session_user" | "user" => {
                return self.call_function_typed("current_user", vec![])
            }
            "current_schema" => return self.call_function_typed("current_schema", vec![]),
            "current_catalog" => return self.call_function_typed("current_database", vec![]),
            _ => {}
        }
        Err(PlanError::UnknownColumn(column.to_string()))
    }

    fn bind_value(&mut self, v: &Value) -> Result<Typed, PlanError> {
        Ok(match v {
            Value::Number(s, _) => {
                if let Ok(i) = s.parse::<i32>() {
                    literal(Datum::Int32(i), ScalarType::Int32)
                } else if let Ok(i) = s.parse::<i64>() {
                    literal(Datum::Int64(i), ScalarType::Int64)
                } else {
                    numeric_literal(s)?
                }
            }
            Value::SingleQuotedString(s)
            | Value::EscapedStringLiteral(s)
            | Value::UnicodeStringLiteral(s)
            | Value::NationalStringLiteral(s)
            | Value::TripleSingleQuotedString(s) => unknown_literal(s),
            Value::DollarQuotedString(d) => unknown_literal(&d.value),
            Value::Boolean(b) => literal(Datum::from_bool(*b), ScalarType::Bool),
            Value::Null => Typed::new(
                HirScalarExpr::Literal(
                    Row::of(Datum::Null),
                    ColumnType::new(ScalarType::Unknown, true),
                ),
                ColumnType::new(ScalarType::Unknown, true),
            ),
            Value::Placeholder(p) => {
                let n: usize = p
                    .strip_prefix('$')
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| PlanError::Invalid(format!("invalid parameter {p}")))?;
                if let Some(values) = &self.param_values {
                    let (row, typ) = values.get(n - 1).ok_or(PlanError::UnknownParameter(n))?;
                    let nullable = row.unpack_first().is_null();
                    return Ok(Typed::new(
                        HirScalarExpr::Literal(row.clone(), ColumnType::new(typ.clone(), nullable)),
                        ColumnType::new(typ.clone(), nullable),
                    ));
                }
                let typ = self.params.get(n).cloned().unwrap_or(ScalarType::Unknown);
                Typed::new(HirScalarExpr::Parameter(n), ColumnType::new(typ, true))
            }
            Value::HexStringLiteral(_) => {
                return Err(PlanError::unsupported("bit string literals"))
            }
            other => return Err(PlanError::unsupported(format!("literal {other}"))),
        })
    }

    fn bind_interval_literal(
        &mut self,
        ecx: &ExprContext,
        iv: &ast::Interval,
    ) -> Result<Typed, PlanError> {
        let value = self.bind_expr(ecx, &iv.value)?;
        let text = match &value.expr {
            HirScalarExpr::Literal(row, _) => match row.unpack_first() {
                Datum::String(s) => s.to_string(),
                Datum::Int32(i) => i.to_string(),
                Datum::Int64(i) => i.to_string(),
                Datum::Numeric(n) => n.to_string(),
                _ => return Err(PlanError::unsupported("INTERVAL with a non-literal value")),
            },
            _ => return Err(PlanError::unsupported("INTERVAL with a non-literal value")),
        };
        // `INTERVAL '3' DAY`: a bare number takes the unit of the leading field.
        let text = match &iv.leading_field {
            Some(field) if text.trim().parse::<f64>().is_ok() => {
                format!("{} {}", text.trim(), datetime_field_name(field))
            }
            _ => text,
        };
        let interval = Interval::parse(&text)?;
        Ok(literal(Datum::Interval(interval), ScalarType::Interval))
    }

    fn bind_unary(
        &mut self,
        ecx: &ExprContext,
        op: &UnaryOperator,
        e: &Expr,
    ) -> Result<Typed, PlanError> {
        match op {
            UnaryOperator::Not => {
                let b = self.bind_bool(ecx, e, "NOT")?;
                Ok(Typed::new(b.not(), ScalarType::Bool.nullable(true)))
            }
            UnaryOperator::Minus => {
                // Fold negative literals so that -2147483648 is an int4.
                if let Expr::Value(v) = e {
                    if let Value::Number(s, b) = &v.value {
                        return self.bind_value(&Value::Number(format!("-{s}"), *b));
                    }
                }
                let t = self.bind_expr(ecx, e)?;
                let t = if t.is_unknown() {
                    let expr = coerce(
                        t,
                        &ScalarType::Float64,
                        CastContext::Implicit,
                        &mut self.params,
                    )?;
                    Typed::new(expr, ScalarType::Float64.nullable(true))
                } else {
                    t
                };
                if !t.typ.scalar_type.is_numeric_family()
                    && t.typ.scalar_type != ScalarType::Interval
                {
                    return Err(PlanError::UndefinedFunction(format!(
                        "operator does not exist: - {}",
                        t.typ.scalar_type.pg_name()
                    )));
                }
                let typ = t.typ.clone();
                Ok(Typed::new(
                    t.expr.call_unary(UnaryFunc::Neg),
                    ColumnType::new(typ.scalar_type.unconstrained(), typ.nullable),
                ))
            }
            UnaryOperator::Plus => self.bind_expr(ecx, e),
            UnaryOperator::PGAbs => {
                let t = self.bind_expr(ecx, e)?;
                self.call_function_typed("abs", vec![t])
            }
            UnaryOperator::PGSquareRoot => {
                let t = self.bind_expr(ecx, e)?;
                self.call_function_typed("sqrt", vec![t])
            }
            UnaryOperator::PGCubeRoot => {
                let t = self.bind_expr(ecx, e)?;
                self.call_function_typed("cbrt", vec![t])
            }
            other => Err(PlanError::unsupported(format!("operator {other}"))),
        }
    }

    /// Unifies two operands' types (unknowns take the other side's type) and casts both.
    pub(crate) fn unify_pair(
        &mut self,
        l: Typed,
        r: Typed,
        what: &str,
    ) -> Result<(HirScalarExpr, HirScalarExpr), PlanError> {
        let target =
            operator_operand_type(l.scalar_type(), r.scalar_type(), what).map_err(|_| {
                PlanError::UndefinedFunction(format!(
                    "operator does not exist: {} {what} {}",
                    l.scalar_type().pg_name(),
                    r.scalar_type().pg_name()
                ))
            })?;
        let l = coerce(l, &target, CastContext::Implicit, &mut self.params)?;
        let r = coerce(r, &target, CastContext::Implicit, &mut self.params)?;
        Ok((l, r))
    }

    pub(crate) fn bind_comparison(
        &mut self,
        func: BinaryFunc,
        l: Typed,
        r: Typed,
    ) -> Result<Typed, PlanError> {
        let nullable = l.typ.nullable || r.typ.nullable;
        let (l, r) = self.unify_pair(l, r, func.name())?;
        Ok(Typed::new(
            l.call_binary(r, func),
            ScalarType::Bool.nullable(nullable),
        ))
    }

    fn bind_binary(&mut self, op: &BinaryOperator, l: Typed, r: Typed) -> Result<Typed, PlanError> {
        use BinaryOperator as B;
        // `OPERATOR(pg_catalog.~)`: the schema-qualified spelling of a built-in operator.
        if let B::PGCustomBinaryOperator(parts) = op {
            let (symbol, schema_ok) = match parts.as_slice() {
                [symbol] => (symbol.as_str(), true),
                [schema, symbol] => (symbol.as_str(), schema == "pg_catalog"),
                _ => ("", false),
            };
            let plain = match symbol {
                "~" => Some(B::PGRegexMatch),
                "~*" => Some(B::PGRegexIMatch),
                "!~" => Some(B::PGRegexNotMatch),
                "!~*" => Some(B::PGRegexNotIMatch),
                "~~" => Some(B::PGLikeMatch),
                "!~~" => Some(B::PGNotLikeMatch),
                "~~*" => Some(B::PGILikeMatch),
                "!~~*" => Some(B::PGNotILikeMatch),
                "=" => Some(B::Eq),
                "<>" | "!=" => Some(B::NotEq),
                "<" => Some(B::Lt),
                "<=" => Some(B::LtEq),
                ">" => Some(B::Gt),
                ">=" => Some(B::GtEq),
                "+" => Some(B::Plus),
                "-" => Some(B::Minus),
                "*" => Some(B::Multiply),
                "/" => Some(B::Divide),
                "%" => Some(B::Modulo),
                "||" => Some(B::StringConcat),
                _ => None,
            };
            return match (plain, schema_ok) {
                (Some(plain), true) => self.bind_binary(&plain, l, r),
                _ => Err(PlanError::unsupported(format!("operator {op}"))),
            };
        }
        if let Some(func) = comparison_func(op) {
            return self.bind_comparison(func, l, r);
        }
        match op {
            B::Plus => self.bind_arith(BinaryFunc::Add, l, r),
            B::Minus => self.bind_arith(BinaryFunc::Sub, l, r),
            B::Multiply => self.bind_arith(BinaryFunc::Mul, l, r),
            B::Divide => self.bind_arith(BinaryFunc::Div, l, r),
            B::Modulo => self.bind_arith(BinaryFunc::Mod, l, r),
            B::PGExp => self.call_function_typed("power", vec![l, r]),
            B::StringConcat => self.bind_concat(l, r),
            B::PGLikeMatch | B::PGILikeMatch | B::PGNotLikeMatch | B::PGNotILikeMatch => {
                let ci = matches!(op, B::PGILikeMatch | B::PGNotILikeMatch);
                let negated = matches!(op, B::PGNotLikeMatch | B::PGNotILikeMatch);
                self.bind_like(l, r, ci, negated)
            }
            B::PGRegexMatch | B::PGRegexIMatch | B::PGRegexNotMatch | B::PGRegexNotIMatch => {
                let ci = matches!(op, B::PGRegexIMatch | B::PGRegexNotIMatch);
                let negated = matches!(op, B::PGRegexNotMatch | B::PGRegexNotIMatch);
                let nullable = l.typ.nullable || r.typ.nullable;
                let x = coerce(
                    l,
                    &ScalarType::String,
                    CastContext::Implicit,
                    &mut self.params,
                )
                .map_err(|_| PlanError::UndefinedFunction("operator does not exist: ~".into()))?;
                let mut expr = match &r.expr {
                    HirScalarExpr::Literal(row, _)
                        if matches!(row.unpack_first(), Datum::String(_)) =>
                    {
                        let pattern = row.unpack_first().unwrap_str().to_string();
                        let regex = evert_expr::AnalyzedRegex::new(&pattern, ci)?;
                        x.call_unary(UnaryFunc::IsRegexpMatch(regex))
                    }
                    _ => {
                        let p = coerce(
                            r,
                            &ScalarType::String,
                            CastContext::Implicit,
                            &mut self.params,
                        )?;
                        x.call_binary(
                            p,
                            BinaryFunc::RegexpMatch {
                                case_insensitive: ci,
                            },
                        )
                    }
                };
                if negated {
                    expr = expr.not();
                }
                Ok(Typed::new(expr, ScalarType::Bool.nullable(nullable)))
            }
            B::PGStartsWith => self.call_function_typed("starts_with", vec![l, r]),
            B::Arrow | B::LongArrow => {
                let as_text = matches!(op, B::LongArrow);
                let doc = coerce(
                    l,
                    &ScalarType::Jsonb,
                    CastContext::Implicit,
                    &mut self.params,
                )
                .map_err(|_| {
                    PlanError::UndefinedFunction(format!("operator does not exist: {op}"))
                })?;
                let key = if r.scalar_type().is_integer() {
                    coerce(
                        r,
                        &ScalarType::Int64,
                        CastContext::Implicit,
                        &mut self.params,
                    )?
                } else {
                    coerce(
                        r,
                        &ScalarType::String,
                        CastContext::Implicit,
                        &mut self.params,
                    )?
                };
                let typ = if as_text {
                    ScalarType::String
                } else {
                    ScalarType::Jsonb
                };
                Ok(Typed::new(
                    doc.call_binary(key, BinaryFunc::JsonbGet { as_text }),
                    typ.nullable(true),
                ))
            }
            B::HashArrow | B::HashLongArrow => {
                let as_text = matches!(op, B::HashLongArrow);
                let doc = coerce(
                    l,
                    &ScalarType::Jsonb,
                    CastContext::Implicit,
                    &mut self.params,
                )?;
                let path = coerce(
                    r,
                    &ScalarType::Array(Box::new(ScalarType::String)),
                    CastContext::Implicit,
                    &mut self.params,
                )?;
                let typ = if as_text {
                    ScalarType::String
                } else {
                    ScalarType::Jsonb
                };
                Ok(Typed::new(
                    doc.call_binary(path, BinaryFunc::JsonbGetPath { as_text }),
                    typ.nullable(true),
                ))
            }
            B::AtArrow | B::ArrowAt => {
                let (a, b) = if matches!(op, B::AtArrow) {
                    (l, r)
                } else {
                    (r, l)
                };
                if matches!(a.scalar_type(), ScalarType::Array(_))
                    || matches!(b.scalar_type(), ScalarType::Array(_))
                {
                    return Err(PlanError::unsupported("array containment operators"));
                }
                self.coerced_binary(
                    (a, &ScalarType::Jsonb),
                    (b, &ScalarType::Jsonb),
                    BinaryFunc::JsonbContains,
                    ScalarType::Bool,
                )
            }
            B::Question => self.coerced_binary(
                (l, &ScalarType::Jsonb),
                (r, &ScalarType::String),
                BinaryFunc::JsonbHasKey,
                ScalarType::Bool,
            ),
            B::QuestionPipe | B::QuestionAnd => {
                let func = if matches!(op, B::QuestionPipe) {
                    BinaryFunc::JsonbHasAnyKey
                } else {
                    BinaryFunc::JsonbHasAllKeys
                };
                self.coerced_binary(
                    (l, &ScalarType::Jsonb),
                    (r, &ScalarType::Array(Box::new(ScalarType::String))),
                    func,
                    ScalarType::Bool,
                )
            }
            other => Err(PlanError::unsupported(format!("operator {other}"))),
        }
    }

    /// `l func r` with each side implicitly cast to its type; NULL when either side is.
    fn coerced_binary(
        &mut self,
        (l, l_type): (Typed, &ScalarType),
        (r, r_type): (Typed, &ScalarType),
        func: BinaryFunc,
        result: ScalarType,
    ) -> Result<Typed, PlanError> {
        let nullable = l.typ.nullable || r.typ.nullable;
        let l = coerce(l, l_type, CastContext::Implicit, &mut self.params)?;
        let r = coerce(r, r_type, CastContext::Implicit, &mut self.params)?;
        Ok(Typed::new(
            l.call_binary(r, func),
            result.nullable(nullable),
        ))
    }

    /// `jsonb - text`, `jsonb - text[]`, `jsonb - integer`.
    fn bind_jsonb_delete(&mut self, l: Typed, r: Typed) -> Result<Typed, PlanError> {
        use ScalarType as S;
        let nullable = l.typ.nullable || r.typ.nullable;
        let doc = coerce(l, &S::Jsonb, CastContext::Implicit, &mut self.params)?;
        let (key, func) = match r.scalar_type() {
            t if t.is_integer() => (
                coerce(r, &S::Int64, CastContext::Implicit, &mut self.params)?,
                BinaryFunc::JsonbDeleteIndex,
            ),
            S::Array(_) => (
                coerce(
                    r,
                    &S::Array(Box::new(S::String)),
                    CastContext::Implicit,
                    &mut self.params,
                )?,
                BinaryFunc::JsonbDeleteKeys,
            ),
            t if t.is_string_family() || *t == S::Unknown => (
                coerce(r, &S::String, CastContext::Implicit, &mut self.params)?,
                BinaryFunc::JsonbDeleteKey,
            ),
            other => {
                return Err(PlanError::UndefinedFunction(format!(
                    "operator does not exist: jsonb - {}",
                    other.pg_name()
                )))
            }
        };
        Ok(Typed::new(
            doc.call_binary(key, func),
            S::Jsonb.nullable(nullable),
        ))
    }

    fn bind_like(
        &mut self,
        x: Typed,
        p: Typed,
        case_insensitive: bool,
        negated: bool,
    ) -> Result<Typed, PlanError> {
        let nullable = x.typ.nullable || p.typ.nullable;
        let x = coerce(
            x,
            &ScalarType::String,
            CastContext::Implicit,
            &mut self.params,
        )
        .map_err(|_| PlanError::UndefinedFunction("operator does not exist: ~~".into()))?;
        let mut expr = match &p.expr {
            HirScalarExpr::Literal(row, _) if matches!(row.unpack_first(), Datum::String(_)) => {
                let pattern = row.unpack_first().unwrap_str().to_string();
                x.call_unary(UnaryFunc::IsLikeMatch {
                    pattern,
                    case_insensitive,
                })
            }
            _ => {
                let p = coerce(
                    p,
                    &ScalarType::String,
                    CastContext::Implicit,
                    &mut self.params,
                )?;
                x.call_binary(p, BinaryFunc::Like { case_insensitive })
            }
        };
        if negated {
            expr = expr.not();
        }
        Ok(Typed::new(expr, ScalarType::Bool.nullable(nullable)))
    }

    fn bind_concat(&mut self, l: Typed, r: Typed) -> Result<Typed, PlanError> {
        let nullable = l.typ.nullable || r.typ.nullable;
        // anyarray || anyelement and anyelement || anyarray: an element of the array's type
        // (an untyped literal on the other side is read as an array, as PostgreSQL does).
        match (l.scalar_type().clone(), r.scalar_type().clone()) {
            (ScalarType::Array(elem), other)
                if !matches!(other, ScalarType::Array(_) | ScalarType::Unknown) =>
            {
                let elem_type = common_type([elem.as_ref(), &other], "||")?;
                let array_type = ScalarType::Array(Box::new(elem_type.clone()));
                let a = coerce(l, &array_type, CastContext::Implicit, &mut self.params)?;
                let b = coerce(r, &elem_type, CastContext::Implicit, &mut self.params)?;
                return Ok(Typed::new(
                    a.call_binary(b, BinaryFunc::ArrayAppend),
                    array_type.nullable(false),
                ));
            }
            (other, ScalarType::Array(elem))
                if !matches!(other, ScalarType::Array(_) | ScalarType::Unknown) =>
            {
                let elem_type = common_type([&other, elem.as_ref()], "||")?;
                let array_type = ScalarType::Array(Box::new(elem_type.clone()));
                let a = coerce(l, &elem_type, CastContext::Implicit, &mut self.params)?;
                let b = coerce(r, &array_type, CastContext::Implicit, &mut self.params)?;
                return Ok(Typed::new(
                    a.call_binary(b, BinaryFunc::ArrayPrepend),
                    array_type.nullable(false),
                ));
            }
            _ => {}
        }
        if matches!(
            (l.scalar_type(), r.scalar_type()),
            (ScalarType::Bytes, ScalarType::Bytes | ScalarType::Unknown)
                | (ScalarType::Unknown, ScalarType::Bytes)
        ) {
            let a = coerce(
                l,
                &ScalarType::Bytes,
                CastContext::Implicit,
                &mut self.params,
            )?;
            let b = coerce(
                r,
                &ScalarType::Bytes,
                CastContext::Implicit,
                &mut self.params,
            )?;
            return Ok(Typed::new(
                a.call_binary(b, BinaryFunc::ByteaConcat),
                ScalarType::Bytes.nullable(nullable),
            ));
        }
        if let (ScalarType::Array(_), _) | (_, ScalarType::Array(_)) =
            (l.scalar_type(), r.scalar_type())
        {
            let target = common_type([l.scalar_type(), r.scalar_type()], "||")?;
            let a = coerce(l, &target, CastContext::Implicit, &mut self.params)?;
            let b = coerce(r, &target, CastContext::Implicit, &mut self.params)?;
            return Ok(Typed::new(
                a.call_binary(b, BinaryFunc::ArrayConcat),
                target.nullable(nullable),
            ));
        }
        let texty = |t: &ScalarType| t.is_string_family() || *t == ScalarType::Unknown;
        if !texty(l.scalar_type()) && !texty(r.scalar_type()) {
            return Err(PlanError::UndefinedFunction(format!(
                "operator does not exist: {} || {}",
                l.scalar_type().pg_name(),
                r.scalar_type().pg_name()
            )));
        }
        // Non-text operands are converted through their output function, as PostgreSQL does.
        let a = coerce(
            l,
            &ScalarType::String,
            CastContext::Explicit,
            &mut self.params,
        )?;
        let b = coerce(
            r,
            &ScalarType::String,
            CastContext::Explicit,
            &mut self.params,
        )?;
        Ok(Typed::new(
            a.call_binary(b, BinaryFunc::TextConcat),
            ScalarType::String.nullable(nullable),
        ))
    }

    fn bind_arith(&mut self, func: BinaryFunc, l: Typed, r: Typed) -> Result<Typed, PlanError> {
        use ScalarType as S;
        if func == BinaryFunc::Sub && *l.scalar_type() == S::Jsonb {
            return self.bind_jsonb_delete(l, r);
        }
        let nullable = l.typ.nullable || r.typ.nullable;
        let lt = l.typ.scalar_type.unconstrained();
        let rt = r.typ.scalar_type.unconstrained();
        let is_dt = |t: &S| {
            matches!(
                t,
                S::Date | S::Time | S::Timestamp | S::TimestampTz | S::Interval
            )
        };
        let op_name = func.name();
        let no_operator = || {
            PlanError::UndefinedFunction(format!(
                "operator does not exist: {} {op_name} {}",
                lt.pg_name(),
                rt.pg_name()
            ))
        };
        // Resolve an unknown operand from the other side.
        let (lt, rt) = match (&lt, &rt) {
            (S::Unknown, S::Unknown) => (S::Unknown, S::Unknown),
            (S::Unknown, other) if is_dt(other) => {
                let t = match (&func, other) {
                    (BinaryFunc::Add, S::Interval) => S::Interval,
                    (BinaryFunc::Add, _) => S::Interval,
                    (BinaryFunc::Sub, o) => o.clone(),
                    (_, o) => o.clone(),
                };
                (t, rt.clone())
            }
            (other, S::Unknown) if is_dt(other) => {
                let t = match (&func, other) {
                    (BinaryFunc::Add, S::Interval) => S::Interval,
                    (BinaryFunc::Add, _) => S::Interval,
                    (BinaryFunc::Sub, S::Date | S::Timestamp | S::TimestampTz) => S::Interval,
                    (BinaryFunc::Mul | BinaryFunc::Div, S::Interval) => S::Float64,
                    (_, o) => o.clone(),
                };
                (lt.clone(), t)
            }
            (S::Unknown, other) => (other.clone(), other.clone()),
            (other, S::Unknown) => (other.clone(), other.clone()),
            _ => (lt.clone(), rt.clone()),
        };
        if lt == S::Unknown {
            return Err(PlanError::UndefinedFunction(format!(
                "operator is not unique: unknown {op_name} unknown"
            )));
        }
        // Numbers.
        if lt.is_numeric_family() && rt.is_numeric_family() {
            let t = operator_operand_type(&lt, &rt, op_name)?;
            if func == BinaryFunc::Mod && matches!(t, S::Float32 | S::Float64) {
                return Err(no_operator());
            }
            let a = coerce(l, &t, CastContext::Implicit, &mut self.params)?;
            let b = coerce(r, &t, CastContext::Implicit, &mut self.params)?;
            // The result of numeric arithmetic has no type modifier (n + m may not fit n's).
            return Ok(Typed::new(
                a.call_binary(b, func),
                t.unconstrained().nullable(nullable),
            ));
        }
        // Dates, times and intervals.
        let (target_l, target_r) = match (&func, &lt, &rt) {
            (BinaryFunc::Add, S::Date, r) | (BinaryFunc::Sub, S::Date, r) if r.is_integer() => {
                (S::Date, S::Int32)
            }
            (BinaryFunc::Add, l, S::Date) if l.is_integer() => (S::Int32, S::Date),
            (
                BinaryFunc::Add | BinaryFunc::Sub,
                S::Date | S::Timestamp | S::TimestampTz | S::Time,
                S::Interval,
            ) => (lt.clone(), S::Interval),
            (BinaryFunc::Add, S::Interval, S::Date | S::Timestamp | S::TimestampTz | S::Time) => {
                (S::Interval, rt.clone())
            }
            (BinaryFunc::Add, S::Date, S::Time) | (BinaryFunc::Add, S::Time, S::Date) => {
                (lt.clone(), rt.clone())
            }
            (BinaryFunc::Add | BinaryFunc::Sub, S::Interval, S::Interval) => {
                (S::Interval, S::Interval)
            }
            (BinaryFunc::Sub, S::Date, S::Date) | (BinaryFunc::Sub, S::Time, S::Time) => {
                (lt.clone(), rt.clone())
            }
            (
                BinaryFunc::Sub,
                S::Timestamp | S::TimestampTz | S::Date,
                S::Timestamp | S::TimestampTz | S::Date,
            ) => {
                let t = common_type([&lt, &rt], "-")?;
                (t.clone(), t)
            }
            (BinaryFunc::Mul, S::Interval, n) | (BinaryFunc::Div, S::Interval, n)
                if n.is_numeric_family() =>
            {
                (S::Interval, S::Float64)
            }
            (BinaryFunc::Mul, n, S::Interval) if n.is_numeric_family() => (S::Float64, S::Interval),
            _ => return Err(no_operator()),
        };
        let a = coerce(
            Typed::new(
                l.expr,
                ColumnType::new(l.typ.scalar_type.clone(), l.typ.nullable),
            ),
            &target_l,
            CastContext::Implicit,
            &mut self.params,
        )?;
        let b = coerce(
            Typed::new(
                r.expr,
                ColumnType::new(r.typ.scalar_type.clone(), r.typ.nullable),
            ),
            &target_r,
            CastContext::Implicit,
            &mut self.params,
        )?;
        let out = func.output_type(
            target_l.clone().nullable(nullable),
            target_r.clone().nullable(nullable),
        );
        Ok(Typed::new(a.call_binary(b, func), out))
    }

    fn bind_case(
        &mut self,
        ecx: &ExprContext,
        operand: Option<&Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&Expr>,
    ) -> Result<Typed, PlanError> {
        let operand = match operand {
            Some(o) => Some(self.bind_expr(ecx, o)?),
            None => None,
        };
        let mut conds = Vec::new();
        let mut results = Vec::new();
        for w in conditions {
            let cond = match &operand {
                Some(x) => {
                    let v = self.bind_expr(ecx, &w.condition)?;
                    self.bind_comparison(BinaryFunc::Eq, x.clone(), v)?.expr
                }
                None => self.bind_bool(ecx, &w.condition, "CASE/WHEN")?,
            };
            conds.push(cond);
            results.push(self.bind_expr(ecx, &w.result)?);
        }
        let els = match else_result {
            Some(e) => self.bind_expr(ecx, e)?,
            None => Typed::new(
                HirScalarExpr::Literal(
                    Row::of(Datum::Null),
                    ColumnType::new(ScalarType::Unknown, true),
                ),
                ColumnType::new(ScalarType::Unknown, true),
            ),
        };
        let target = common_type(
            results
                .iter()
                .chain(std::iter::once(&els))
                .map(|t| t.scalar_type()),
            "CASE",
        )?;
        let nullable = results.iter().any(|r| r.typ.nullable) || els.typ.nullable;
        let mut expr = coerce(els, &target, CastContext::Implicit, &mut self.params)?;
        for (cond, result) in conds.into_iter().zip(results).rev() {
            let then = coerce(result, &target, CastContext::Implicit, &mut self.params)?;
            expr = HirScalarExpr::if_then_else(cond, then, expr);
        }
        Ok(Typed::new(expr, target.nullable(nullable)))
    }

    fn bind_in_list(
        &mut self,
        ecx: &ExprContext,
        expr: &Expr,
        list: &[Expr],
        negated: bool,
    ) -> Result<Typed, PlanError> {
        let x = self.bind_expr(ecx, expr)?;
        let items: Vec<Typed> = list
            .iter()
            .map(|e| self.bind_expr(ecx, e))
            .collect::<Result<_, _>>()?;
        let target = common_type(
            std::iter::once(x.scalar_type()).chain(items.iter().map(|i| i.scalar_type())),
            "IN",
        )
        .map_err(|_| {
            PlanError::UndefinedFunction(format!(
                "operator does not exist: {} = {}",
                x.scalar_type().pg_name(),
                items
                    .first()
                    .map(|i| i.scalar_type().pg_name())
                    .unwrap_or_default()
            ))
        })?;
        let nullable = x.typ.nullable || items.iter().any(|i| i.typ.nullable);
        let x = coerce(x, &target, CastContext::Implicit, &mut self.params)?;
        let mut disjuncts = Vec::with_capacity(items.len());
        for item in items {
            let v = coerce(item, &target, CastContext::Implicit, &mut self.params)?;
            disjuncts.push(x.clone().call_binary(v, BinaryFunc::Eq));
        }
        let mut result = if disjuncts.len() == 1 {
            disjuncts.pop().expect("one")
        } else {
            HirScalarExpr::CallVariadic {
                func: VariadicFunc::Or,
                exprs: disjuncts,
            }
        };
        if negated {
            result = result.not();
        }
        Ok(Typed::new(result, ScalarType::Bool.nullable(nullable)))
    }

    /// `x op ANY (subquery)` / `x op ALL (subquery)` with SQL's three-valued logic, built from
    /// EXISTS subqueries that decorrelation turns into joins.
    fn bind_quantified(
        &mut self,
        ecx: &ExprContext,
        x: Typed,
        func: BinaryFunc,
        q: &ast::Query,
        any: bool,
        negated: bool,
    ) -> Result<Typed, PlanError> {
        if !ecx.allow_subqueries {
            return Err(PlanError::unsupported(format!(
                "subqueries in {}",
                ecx.name
            )));
        }
        let (rel, scope) = self.bind_subquery(ecx, q)?;
        if scope.len() != 1 {
            return Err(PlanError::Invalid("subquery has too many columns".into()));
        }
        let column_type = scope.items[0].typ.clone();
        self.quantified(x, func, rel, column_type, any, negated)
    }

    /// `x op ANY (array)` / `x op ALL (array)`.
    fn bind_quantified_array(
        &mut self,
        ecx: &ExprContext,
        x: Typed,
        func: BinaryFunc,
        array: &Expr,
        any: bool,
    ) -> Result<Typed, PlanError> {
        let a = self.bind_expr(ecx, array)?;
        let a = if a.is_unknown() {
            let target = ScalarType::Array(Box::new(if x.is_unknown() {
                ScalarType::String
            } else {
                x.scalar_type().clone()
            }));
            let expr = coerce(a, &target, CastContext::Implicit, &mut self.params)?;
            Typed::new(expr, target.nullable(true))
        } else {
            a
        };
        let ScalarType::Array(elem) = a.scalar_type().clone() else {
            return Err(PlanError::DatatypeMismatch(format!(
                "op ANY/ALL (array) requires array on right side, not {}",
                a.scalar_type().pg_name()
            )));
        };
        // `x = ANY(array)` is common enough to deserve a direct function.
        if any && func == BinaryFunc::Eq {
            let target = common_type([x.scalar_type(), &*elem], "= ANY")?;
            let x = coerce(x, &target, CastContext::Implicit, &mut self.params)?;
            let a = coerce(
                a,
                &ScalarType::Array(Box::new(target)),
                CastContext::Implicit,
                &mut self.params,
            )?;
            return Ok(Typed::new(
                a.call_binary(x, BinaryFunc::ArrayContainsElement),
                ScalarType::Bool.nullable(true),
            ));
        }
        // Otherwise: the elements as a one-column relation (the array may depend on the
        // current row, so the table function refers to it one level out).
        let mut array_expr = a.expr;
        array_expr.shift_outer_levels(1);
        let rel = HirRelationExpr::CallTable {
            func: evert_expr::TableFunc::Unnest {
                elem_type: (*elem).clone(),
            },
            exprs: vec![array_expr],
        };
        self.quantified(x, func, rel, (*elem).nullable(true), any, false)
    }

    fn quantified(
        &mut self,
        x: Typed,
        func: BinaryFunc,
        rel: HirRelationExpr,
        column_type: ColumnType,
        any: bool,
        negated: bool,
    ) -> Result<Typed, PlanError> {
        let target = common_type([x.scalar_type(), &column_type.scalar_type], func.name())
            .map_err(|_| {
                PlanError::UndefinedFunction(format!(
                    "operator does not exist: {} {} {}",
                    x.scalar_type().pg_name(),
                    func.name(),
                    column_type.scalar_type.pg_name()
                ))
            })?;
        let may_be_null = x.typ.nullable || column_type.nullable;
        let mut xe = coerce(x, &target, CastContext::Implicit, &mut self.params)?;
        // Inside the subquery, x is one level further out.
        xe.shift_outer_levels(1);
        let ye = coerce(
            Typed::new(HirScalarExpr::column(0), column_type),
            &target,
            CastContext::Implicit,
            &mut self.params,
        )?;
        let comparison = xe.call_binary(ye, func);
        let exists_where =
            |pred: HirScalarExpr| HirScalarExpr::Exists(Box::new(rel.clone().filter(vec![pred])));
        // ANY: TRUE if some comparison is TRUE; else NULL if some is NULL; else FALSE.
        // ALL: FALSE if some comparison is FALSE; else NULL if some is NULL; else TRUE.
        let decisive = if any {
            comparison.clone().call_unary(UnaryFunc::IsTrue)
        } else {
            comparison.clone().call_unary(UnaryFunc::IsFalse)
        };
        let (hit, miss) = if any {
            (
                HirScalarExpr::literal_true(),
                HirScalarExpr::literal_false(),
            )
        } else {
            (
                HirScalarExpr::literal_false(),
                HirScalarExpr::literal_true(),
            )
        };
        let mut result = if may_be_null {
            let unknown = comparison.call_unary(UnaryFunc::IsNull);
            HirScalarExpr::if_then_else(
                exists_where(decisive),
                hit,
                HirScalarExpr::if_then_else(
                    exists_where(unknown),
                    HirScalarExpr::literal_null(ScalarType::Bool),
                    miss,
                ),
            )
        } else if any {
            exists_where(decisive)
        } else {
            exists_where(decisive).not()
        };
        if negated {
            result = result.not();
        }
        Ok(Typed::new(result, ScalarType::Bool.nullable(may_be_null)))
    }

    pub(crate) fn bind_array(&mut self, items: Vec<Typed>) -> Result<Typed, PlanError> {
        let elem = common_type(items.iter().map(|i| i.scalar_type()), "ARRAY")?;
        if matches!(elem, ScalarType::Array(_)) {
            return Err(PlanError::unsupported("multidimensional arrays"));
        }
        let mut exprs = Vec::with_capacity(items.len());
        for i in items {
            exprs.push(coerce(i, &elem, CastContext::Implicit, &mut self.params)?);
        }
        Ok(Typed::new(
            HirScalarExpr::CallVariadic {
                func: VariadicFunc::ArrayCreate {
                    elem_type: elem.clone(),
                },
                exprs,
            },
            ScalarType::Array(Box::new(elem)).nullable(false),
        ))
    }

    pub(crate) fn bind_extract(
        &mut self,
        field: &str,
        value: Typed,
        numeric_result: bool,
    ) -> Result<Typed, PlanError> {
        let nullable = value.typ.nullable;
        let value = if value.is_unknown() {
            let e = coerce(
                value,
                &ScalarType::TimestampTz,
                CastContext::Implicit,
                &mut self.params,
            )?;
            Typed::new(e, ScalarType::TimestampTz.nullable(nullable))
        } else {
            value
        };
        if !matches!(
            value.scalar_type(),
            ScalarType::Date
                | ScalarType::Time
                | ScalarType::Timestamp
                | ScalarType::TimestampTz
                | ScalarType::Interval
        ) {
            return Err(PlanError::UndefinedFunction(format!(
                "function extract(unknown, {}) does not exist",
                value.scalar_type().pg_name()
            )));
        }
        let func = if numeric_result {
            BinaryFunc::Extract
        } else {
            BinaryFunc::DatePart
        };
        let typ = if numeric_result {
            ScalarType::numeric()
        } else {
            ScalarType::Float64
        };
        let field = HirScalarExpr::literal(Datum::String(field), ScalarType::String);
        Ok(Typed::new(
            field.call_binary(value.expr, func),
            typ.nullable(nullable),
        ))
    }

    /// Plans a subquery with the current scope as its enclosing scope.
    pub(crate) fn bind_subquery(
        &mut self,
        ecx: &ExprContext,
        q: &ast::Query,
    ) -> Result<(HirRelationExpr, Scope), PlanError> {
        let scope = ecx.scope.clone();
        // Aggregates inside a subquery belong to the subquery.
        let frames = std::mem::take(&mut self.aggregate_frames);
        let result = self.with_outer(scope, |b| {
            let planned = b.plan_query(q)?;
            Ok(planned.into_subquery())
        });
        self.aggregate_frames = frames;
        result
    }

    /// Calls `now()` and the like: allowed only in one-shot queries.
    pub(crate) fn unmaterializable(
        &mut self,
        func: UnmaterializableFunc,
    ) -> Result<Typed, PlanError> {
        if self.lifetime == super::QueryLifetime::Maintained
            && matches!(func, UnmaterializableFunc::Now)
        {
            return Err(PlanError::Unmaterializable {
                function: format!("{}()", func.name()),
                hint: "now() changes without any write, so a view cannot be maintained over it; compare against mz_now() in a WHERE clause for a temporal filter, or call now() in a one-off SELECT".into(),
            });
        }
        self.uses_unmaterializable = true;
        let typ = func.output_type();
        Ok(Typed::new(HirScalarExpr::CallUnmaterializable(func), typ))
    }

    /// Parses a literal string as a value of `typ` at plan time.
    pub fn literal_of_type(
        &mut self,
        text: &str,
        typ: &ScalarType,
    ) -> Result<HirScalarExpr, PlanError> {
        let arena = RowArena::new();
        let d = strconv::parse_datum(text, typ, &arena)?;
        Ok(HirScalarExpr::literal(d, typ.clone()))
    }
}

pub(crate) fn comparison_func(op: &BinaryOperator) -> Option<BinaryFunc> {
    Some(match op {
        BinaryOperator::Eq => BinaryFunc::Eq,
        BinaryOperator::NotEq => BinaryFunc::NotEq,
        BinaryOperator::Lt => BinaryFunc::Lt,
        BinaryOperator::LtEq => BinaryFunc::Lte,
        BinaryOperator::Gt => BinaryFunc::Gt,
        BinaryOperator::GtEq => BinaryFunc::Gte,
        _ => return None,
    })
}

pub(crate) fn datetime_field_name(field: &ast::DateTimeField) -> String {
    let s = field.to_string().to_ascii_lowercase();
    match s.as_str() {
        "dow" | "doy" | "epoch" | "isodow" | "isoyear" | "julian" | "quarter" | "decade"
        | "century" | "millennium" | "week" => s,
        other => other.trim_end_matches('s').to_string(),
    }
}

impl PlanError {
    /// PostgreSQL phrases an unknown qualifier as a missing FROM-clause entry.
    fn reword_missing_from(self, table: &str) -> PlanError {
        match self {
            PlanError::UnknownRelation(_) => PlanError::UnknownRelationMessage(format!(
                "missing FROM-clause entry for table \"{table}\""
            )),
            other => other,
        }
    }
}

/// A numeric literal. evert's numeric keeps 28 significant digits, so a literal beyond its
/// range (`1e300`, `-1e100`) is typed double precision instead of failing: that is what such
/// a literal is almost always for (a float column, `::float8`), and where PostgreSQL would
/// keep it exact, evert can at best approximate it.
fn numeric_literal(s: &str) -> Result<Typed, PlanError> {
    match parse_numeric(s) {
        Ok(d) => Ok(literal(Datum::Numeric(d), ScalarType::numeric())),
        Err(e) if e.kind == evert_repr::errors::ParseErrorKind::OutOfRange => {
            match s.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(literal(Datum::Float64(f), ScalarType::Float64)),
                _ => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Rewrites a LIKE pattern written with `ESCAPE e` into the same pattern with the default
/// escape character, backslash, which is what the LIKE functions understand. `ESCAPE ''`
/// means no escape character at all. Both must be constants; a NULL pattern or escape makes
/// the whole LIKE NULL, as in PostgreSQL.
fn like_pattern_with_escape(pattern: Typed, escape: Typed) -> Result<Typed, PlanError> {
    let text_literal = |t: &Typed| match &t.expr {
        HirScalarExpr::Literal(row, _) => match row.unpack_first() {
            Datum::String(s) => Some(Some(s.to_string())),
            Datum::Null => Some(None),
            _ => None,
        },
        _ => None,
    };
    let (Some(pattern_text), Some(escape_text)) = (text_literal(&pattern), text_literal(&escape))
    else {
        return Err(PlanError::unsupported(
            "LIKE ... ESCAPE with a non-constant pattern or escape",
        ));
    };
    let (Some(pattern_text), Some(escape_text)) = (pattern_text, escape_text) else {
        return Ok(Typed::new(
            HirScalarExpr::literal(Datum::Null, ScalarType::String),
            ScalarType::String.nullable(true),
        ));
    };
    let mut chars = escape_text.chars();
    let escape_char = match (chars.next(), chars.next()) {
        (None, _) => None,
        (Some(c), None) => Some(c),
        _ => {
            return Err(PlanError::InvalidEscapeString(
                "invalid escape string".into(),
            ))
        }
    };
    let mut rewritten = String::with_capacity(pattern_text.len());
    let mut chars = pattern_text.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape_char {
            match chars.next() {
                Some(n @ ('%' | '_' | '\\')) => {
                    rewritten.push('\\');
                    rewritten.push(n);
                }
                Some(n) => rewritten.push(n),
                // A trailing escape character: LIKE reports it, as it does for backslash.
                None => rewritten.push('\\'),
            }
        } else if c == '\\' {
            rewritten.push_str("\\\\");
        } else {
            rewritten.push(c);
        }
    }
    Ok(Typed::new(
        HirScalarExpr::literal(Datum::String(&rewritten), ScalarType::String),
        ScalarType::String.nullable(false),
    ))
}
