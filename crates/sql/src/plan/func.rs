//! Function calls: choosing the implementation for a name and argument types, for scalar
//! functions, aggregates and table functions.

use evert_expr::{
    AggregateFunc, BinaryFunc, TableFunc, UnaryFunc, UnmaterializableFunc, VariadicFunc,
};
use evert_repr::{ColumnType, Datum, ScalarType};
use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArguments};

use super::expr::ExprContext;
use super::typeconv::{coerce, common_type, CastContext, Typed};
use super::Binder;
use crate::error::PlanError;
use crate::hir::{ColumnRef, HirAggregateExpr, HirScalarExpr};

/// The parts of a function call the binder cares about.
pub(crate) struct CallArgs<'e> {
    pub args: Vec<&'e ast::Expr>,
    pub star: bool,
    pub distinct: bool,
    pub order_by: Vec<&'e ast::OrderByExpr>,
}

pub(crate) fn call_args(f: &ast::Function) -> Result<CallArgs<'_>, PlanError> {
    let mut out = CallArgs {
        args: vec![],
        star: false,
        distinct: false,
        order_by: vec![],
    };
    match &f.args {
        FunctionArguments::None => {}
        FunctionArguments::Subquery(_) => {
            return Err(PlanError::unsupported("subquery as function argument list"))
        }
        FunctionArguments::List(list) => {
            out.distinct = matches!(
                list.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            );
            for a in &list.args {
                match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => out.args.push(e),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => out.star = true,
                    FunctionArg::Named { .. } | FunctionArg::ExprNamed { .. } => {
                        return Err(PlanError::unsupported("named function arguments"))
                    }
                    other => {
                        return Err(PlanError::unsupported(format!("function argument {other}")))
                    }
                }
            }
            for clause in &list.clauses {
                match clause {
                    ast::FunctionArgumentClause::OrderBy(items) => {
                        out.order_by.extend(items.iter())
                    }
                    other => {
                        return Err(PlanError::unsupported(format!(
                            "function argument clause {other}"
                        )))
                    }
                }
            }
        }
    }
    Ok(out)
}

pub(crate) fn function_name(name: &ast::ObjectName) -> Result<String, PlanError> {
    let parts = crate::parse::normalize_name(name)?;
    match parts.as_slice() {
        [name] => Ok(name.clone()),
        [schema, name] if matches!(schema.as_str(), "pg_catalog" | "public" | "mz_catalog") => {
            Ok(name.clone())
        }
        _ => Err(PlanError::UndefinedFunction(format!(
            "function {} does not exist",
            parts.join(".")
        ))),
    }
}

pub(crate) fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "avg"
            | "min"
            | "max"
            | "bool_and"
            | "every"
            | "bool_or"
            | "string_agg"
            | "array_agg"
            | "jsonb_agg"
            | "json_agg"
            | "jsonb_object_agg"
            | "json_object_agg"
            | "stddev"
            | "stddev_samp"
            | "stddev_pop"
            | "variance"
            | "var_samp"
            | "var_pop"
    )
}

pub(crate) fn table_function(name: &str) -> bool {
    matches!(
        name,
        "generate_series"
            | "unnest"
            | "jsonb_each"
            | "jsonb_each_text"
            | "jsonb_array_elements"
            | "jsonb_array_elements_text"
            | "jsonb_object_keys"
            | "regexp_split_to_table"
    )
}

fn type_list(args: &[Typed]) -> String {
    args.iter()
        .map(|a| a.scalar_type().pg_name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Binder<'_> {
    pub(crate) fn bind_function(
        &mut self,
        ecx: &ExprContext,
        f: &ast::Function,
    ) -> Result<Typed, PlanError> {
        let name = function_name(&f.name)?;
        if f.over.is_some() {
            return self.bind_window_function(ecx, f, &name);
        }
        if !f.within_group.is_empty() {
            return Err(PlanError::unsupported("WITHIN GROUP"));
        }
        if let Some(rewritten) = catalog_function_sql(f, &name)? {
            let expr = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                .try_with_sql(&rewritten)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| PlanError::Invalid(format!("rewriting {name}: {e}")))?;
            return self.bind_expr(ecx, &expr);
        }
        if name == "grouping" {
            return self.bind_grouping(ecx, f);
        }
        if is_aggregate(&name) {
            return self.bind_aggregate(ecx, f, &name);
        }
        if f.filter.is_some() {
            return Err(PlanError::Invalid(format!(
                "FILTER specified, but {name} is not an aggregate function"
            )));
        }
        if table_function(&name) {
            return Err(PlanError::unsupported(format!(
                "set-returning function {name} in this position (use it in FROM)"
            )));
        }
        let call = call_args(f)?;
        if call.distinct || !call.order_by.is_empty() || call.star {
            return Err(PlanError::Invalid(format!(
                "DISTINCT, ORDER BY or * specified, but {name} is not an aggregate function"
            )));
        }
        // nullif, coalesce and friends need their arguments bound before typing.
        let args: Vec<Typed> = call
            .args
            .iter()
            .map(|a| self.bind_expr(ecx, a))
            .collect::<Result<_, _>>()?;
        self.call_function_typed(&name, args)
    }

    /// Resolves and builds a scalar function call from bound arguments.
    pub(crate) fn call_function_typed(
        &mut self,
        name: &str,
        mut args: Vec<Typed>,
    ) -> Result<Typed, PlanError> {
        use ScalarType as S;
        let nullable = args.iter().any(|a| a.typ.nullable);
        let no_function = |args: &[Typed]| {
            PlanError::UndefinedFunction(format!(
                "function {name}({}) does not exist",
                type_list(args)
            ))
        };
        let n = args.len();
        // Helpers to cast arguments.
        macro_rules! arg_as {
            ($i:expr, $t:expr) => {
                coerce(
                    args[$i].clone(),
                    &$t,
                    CastContext::Implicit,
                    &mut self.params,
                )
                .map_err(|_| no_function(&args))?
            };
        }
        let float_or_numeric = |t: &S| -> S {
            match t {
                S::Numeric { .. } => S::numeric(),
                _ => S::Float64,
            }
        };
        let unary = |b: &mut Self,
                     func: UnaryFunc,
                     arg: HirScalarExpr,
                     typ: S|
         -> Result<Typed, PlanError> {
            let _ = b;
            let out = func.output_type(typ.nullable(nullable));
            Ok(Typed::new(arg.call_unary(func), out))
        };
        let result = match (name, n) {
            ("abs", 1) => {
                let t = if args[0].is_unknown() {
                    S::Float64
                } else {
                    args[0].scalar_type().unconstrained()
                };
                if !t.is_numeric_family() {
                    return Err(no_function(&args));
                }
                let a = arg_as!(0, t);
                unary(self, UnaryFunc::Abs, a, t)?
            }
            (
                "ceil" | "ceiling" | "floor" | "round" | "trunc" | "sqrt" | "exp" | "ln" | "log10"
                | "sign",
                1,
            )
            | ("log", 1) => {
                let t = float_or_numeric(args[0].scalar_type());
                if !args[0].scalar_type().is_numeric_family() && !args[0].is_unknown() {
                    return Err(no_function(&args));
                }
                let a = arg_as!(0, t);
                let func = match name {
                    "ceil" | "ceiling" => UnaryFunc::Ceil,
                    "floor" => UnaryFunc::Floor,
                    "round" => UnaryFunc::Round,
                    "trunc" => UnaryFunc::Trunc,
                    "sqrt" => UnaryFunc::Sqrt,
                    "exp" => UnaryFunc::Exp,
                    "ln" => UnaryFunc::Ln,
                    "sign" => UnaryFunc::Sign,
                    _ => UnaryFunc::Log10,
                };
                unary(self, func, a, t)?
            }
            ("round" | "trunc", 2) => {
                let a = arg_as!(0, S::numeric());
                let b = arg_as!(1, S::Int32);
                let func = if name == "round" {
                    BinaryFunc::RoundScale
                } else {
                    BinaryFunc::TruncScale
                };
                Typed::new(a.call_binary(b, func), S::numeric().nullable(nullable))
            }
            ("log", 2) => {
                let t = if args
                    .iter()
                    .any(|a| matches!(a.scalar_type(), S::Numeric { .. }))
                    || args.iter().all(|a| a.scalar_type().is_integer())
                {
                    S::numeric()
                } else {
                    S::Float64
                };
                let a = arg_as!(0, t);
                let b = arg_as!(1, t);
                Typed::new(a.call_binary(b, BinaryFunc::LogBase), t.nullable(nullable))
            }
            (
                "cbrt" | "degrees" | "radians" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan"
                | "cot",
                1,
            ) => {
                let a = arg_as!(0, S::Float64);
                let func = match name {
                    "cbrt" => UnaryFunc::Cbrt,
                    "degrees" => UnaryFunc::Degrees,
                    "radians" => UnaryFunc::Radians,
                    "sin" => UnaryFunc::Sin,
                    "cos" => UnaryFunc::Cos,
                    "tan" => UnaryFunc::Tan,
                    "asin" => UnaryFunc::Asin,
                    "acos" => UnaryFunc::Acos,
                    "atan" => UnaryFunc::Atan,
                    _ => UnaryFunc::Cot,
                };
                unary(self, func, a, S::Float64)?
            }
            ("power" | "pow", 2) => {
                let t = if args
                    .iter()
                    .any(|a| matches!(a.scalar_type(), S::Numeric { .. }))
                {
                    S::numeric()
                } else {
                    S::Float64
                };
                let a = arg_as!(0, t);
                let b = arg_as!(1, t);
                Typed::new(a.call_binary(b, BinaryFunc::Pow), t.nullable(nullable))
            }
            ("mod", 2) => {
                let t = common_type([args[0].scalar_type(), args[1].scalar_type()], "mod")?;
                if !(t.is_integer() || matches!(t, S::Numeric { .. })) {
                    return Err(no_function(&args));
                }
                let a = arg_as!(0, t);
                let b = arg_as!(1, t);
                Typed::new(a.call_binary(b, BinaryFunc::Mod), t.nullable(nullable))
            }
            ("pi", 0) => Typed::new(
                HirScalarExpr::literal(Datum::Float64(std::f64::consts::PI), S::Float64),
                S::Float64.nullable(false),
            ),
            ("coalesce" | "greatest" | "least", _) if n > 0 => {
                let t = common_type(args.iter().map(|a| a.scalar_type()), &name.to_uppercase())?;
                let all_nullable = args.iter().all(|a| a.typ.nullable);
                let mut exprs = Vec::with_capacity(n);
                for a in args {
                    exprs.push(coerce(a, &t, CastContext::Implicit, &mut self.params)?);
                }
                let func = match name {
                    "coalesce" => VariadicFunc::Coalesce,
                    "greatest" => VariadicFunc::Greatest,
                    _ => VariadicFunc::Least,
                };
                Typed::new(
                    HirScalarExpr::CallVariadic { func, exprs },
                    t.nullable(all_nullable),
                )
            }
            ("nullif", 2) => {
                let t = common_type([args[0].scalar_type(), args[1].scalar_type()], "NULLIF")?;
                // The comparison resolves like the `=` operator (real with numeric compares
                // in double precision); the result has the common type.
                let cond = self
                    .bind_comparison(BinaryFunc::Eq, args[0].clone(), args[1].clone())?
                    .expr;
                let a = arg_as!(0, t);
                Typed::new(
                    HirScalarExpr::if_then_else(cond, HirScalarExpr::literal_null(t.clone()), a),
                    t.nullable(true),
                )
            }
            ("length" | "char_length" | "character_length", 1)
                if matches!(args[0].scalar_type(), S::Bytes) =>
            {
                let a = arg_as!(0, S::Bytes);
                unary(self, UnaryFunc::OctetLength, a, S::Bytes)?
            }
            ("length" | "char_length" | "character_length" | "octet_length" | "bit_length", 1) => {
                let is_bytes = matches!(args[0].scalar_type(), S::Bytes);
                // octet_length and bit_length of character(n) count its padding.
                let padded = matches!(args[0].scalar_type(), S::Char { .. })
                    && matches!(name, "octet_length" | "bit_length");
                let a = if is_bytes {
                    arg_as!(0, S::Bytes)
                } else if padded {
                    args[0].expr.clone()
                } else {
                    arg_as!(0, S::String)
                };
                let func = match name {
                    "octet_length" => UnaryFunc::OctetLength,
                    "bit_length" => UnaryFunc::BitLength,
                    _ => UnaryFunc::CharLength,
                };
                unary(self, func, a, S::String)?
            }
            ("lower" | "upper" | "initcap" | "reverse" | "ascii" | "quote_ident", 1) => {
                let a = arg_as!(0, S::String);
                let func = match name {
                    "lower" => UnaryFunc::Lower,
                    "upper" => UnaryFunc::Upper,
                    "initcap" => UnaryFunc::Initcap,
                    "reverse" => UnaryFunc::Reverse,
                    "ascii" => UnaryFunc::Ascii,
                    _ => UnaryFunc::QuoteIdent,
                };
                unary(self, func, a, S::String)?
            }
            ("md5", 1) => {
                let a = if matches!(args[0].scalar_type(), S::Bytes) {
                    arg_as!(0, S::Bytes)
                } else {
                    arg_as!(0, S::String)
                };
                unary(self, UnaryFunc::Md5, a, S::String)?
            }
            ("chr", 1) => {
                let a = arg_as!(0, S::Int32);
                unary(self, UnaryFunc::Chr, a, S::Int32)?
            }
            ("btrim" | "ltrim" | "rtrim" | "trim", 1) => {
                let a = arg_as!(0, S::String);
                let func = match name {
                    "ltrim" => UnaryFunc::LTrimWhitespace,
                    "rtrim" => UnaryFunc::RTrimWhitespace,
                    _ => UnaryFunc::TrimWhitespace,
                };
                unary(self, func, a, S::String)?
            }
            ("btrim" | "ltrim" | "rtrim" | "trim", 2) => {
                let a = arg_as!(0, S::String);
                let b = arg_as!(1, S::String);
                let func = match name {
                    "ltrim" => VariadicFunc::LTrim,
                    "rtrim" => VariadicFunc::RTrim,
                    _ => VariadicFunc::BTrim,
                };
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func,
                        exprs: vec![a, b],
                    },
                    S::String.nullable(nullable),
                )
            }
            ("substr" | "substring", 2 | 3) => {
                let mut exprs = vec![arg_as!(0, S::String), arg_as!(1, S::Int32)];
                if n == 3 {
                    exprs.push(arg_as!(2, S::Int32));
                }
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::Substr,
                        exprs,
                    },
                    S::String.nullable(nullable),
                )
            }
            ("strpos" | "position", 2) => {
                let a = arg_as!(0, S::String);
                let b = arg_as!(1, S::String);
                Typed::new(
                    a.call_binary(b, BinaryFunc::Position),
                    S::Int32.nullable(nullable),
                )
            }
            ("starts_with", 2) => {
                let a = arg_as!(0, S::String);
                let b = arg_as!(1, S::String);
                Typed::new(
                    a.call_binary(b, BinaryFunc::StartsWith),
                    S::Bool.nullable(nullable),
                )
            }
            ("left" | "right" | "repeat", 2) => {
                let a = arg_as!(0, S::String);
                let b = arg_as!(1, S::Int32);
                let func = match name {
                    "left" => BinaryFunc::Left,
                    "right" => BinaryFunc::Right,
                    _ => BinaryFunc::Repeat,
                };
                Typed::new(a.call_binary(b, func), S::String.nullable(nullable))
            }
            ("replace" | "translate", 3) => {
                let exprs = vec![
                    arg_as!(0, S::String),
                    arg_as!(1, S::String),
                    arg_as!(2, S::String),
                ];
                let func = if name == "replace" {
                    VariadicFunc::Replace
                } else {
                    VariadicFunc::Translate
                };
                Typed::new(
                    HirScalarExpr::CallVariadic { func, exprs },
                    S::String.nullable(nullable),
                )
            }
            ("split_part", 3) => {
                let exprs = vec![
                    arg_as!(0, S::String),
                    arg_as!(1, S::String),
                    arg_as!(2, S::Int32),
                ];
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::SplitPart,
                        exprs,
                    },
                    S::String.nullable(nullable),
                )
            }
            ("lpad" | "rpad", 2 | 3) => {
                let mut exprs = vec![arg_as!(0, S::String), arg_as!(1, S::Int32)];
                if n == 3 {
                    exprs.push(arg_as!(2, S::String));
                }
                let func = if name == "lpad" {
                    VariadicFunc::Lpad
                } else {
                    VariadicFunc::Rpad
                };
                Typed::new(
                    HirScalarExpr::CallVariadic { func, exprs },
                    S::String.nullable(nullable),
                )
            }
            ("regexp_replace", 3 | 4) => {
                let mut exprs = vec![
                    arg_as!(0, S::String),
                    arg_as!(1, S::String),
                    arg_as!(2, S::String),
                ];
                if n == 4 {
                    exprs.push(arg_as!(3, S::String));
                }
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::RegexpReplace,
                        exprs,
                    },
                    S::String.nullable(nullable),
                )
            }
            ("regexp_match", 2 | 3) => {
                let mut exprs = vec![arg_as!(0, S::String), arg_as!(1, S::String)];
                if n == 3 {
                    exprs.push(arg_as!(2, S::String));
                }
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::RegexpMatchArray,
                        exprs,
                    },
                    S::Array(Box::new(S::String)).nullable(true),
                )
            }
            ("concat", _) if n >= 1 => {
                let mut exprs = Vec::with_capacity(n);
                for a in args {
                    if a.typ.scalar_type == S::Bool {
                        // Printed in its output format (t/f) by the function itself.
                        exprs.push(a.expr);
                        continue;
                    }
                    exprs.push(coerce(
                        a,
                        &S::String,
                        CastContext::Explicit,
                        &mut self.params,
                    )?);
                }
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::Concat,
                        exprs,
                    },
                    S::String.nullable(false),
                )
            }
            ("concat_ws", _) if n >= 1 => {
                let sep_nullable = args[0].typ.nullable;
                let mut exprs = Vec::with_capacity(n);
                for (i, a) in args.into_iter().enumerate() {
                    if i > 0 && a.typ.scalar_type == S::Bool {
                        // Printed in its output format (t/f) by the function itself.
                        exprs.push(a.expr);
                        continue;
                    }
                    exprs.push(coerce(
                        a,
                        &S::String,
                        CastContext::Explicit,
                        &mut self.params,
                    )?);
                }
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::ConcatWs,
                        exprs,
                    },
                    S::String.nullable(sep_nullable),
                )
            }
            ("date_trunc", 2) => {
                let unit = arg_as!(0, S::String);
                let t = match args[1].scalar_type() {
                    S::Unknown => S::TimestampTz,
                    S::Date => S::TimestampTz,
                    t @ (S::Timestamp | S::TimestampTz | S::Interval) => t.clone(),
                    _ => return Err(no_function(&args)),
                };
                let v = arg_as!(1, t);
                Typed::new(
                    unit.call_binary(v, BinaryFunc::DateTrunc),
                    t.nullable(nullable),
                )
            }
            ("date_part", 2) => {
                let field = match &args[0].expr {
                    HirScalarExpr::Literal(row, _) => match row.unpack_first() {
                        Datum::String(s) => s.to_ascii_lowercase(),
                        _ => return Err(no_function(&args)),
                    },
                    _ => return Err(PlanError::unsupported("date_part with a non-literal field")),
                };
                return self.bind_extract(&field, args.remove(1), false);
            }
            ("now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp", 0) => {
                self.unmaterializable(UnmaterializableFunc::Now)?
            }
            // SQL's CURRENT_DATE and LOCALTIMESTAMP, which the parser reads as calls.
            ("current_date" | "localtimestamp" | "localtime", 0) => {
                let target = match name {
                    "current_date" => S::Date,
                    "localtimestamp" => S::Timestamp,
                    _ => S::Time,
                };
                let now = self.unmaterializable(UnmaterializableFunc::Now)?;
                let expr = coerce(now, &target, CastContext::Explicit, &mut self.params)?;
                Typed::new(expr, target.nullable(false))
            }
            ("mz_now", 0) => self.unmaterializable(UnmaterializableFunc::MzNow)?,
            ("version", 0) => self.unmaterializable(UnmaterializableFunc::Version)?,
            ("current_database", 0) => {
                self.unmaterializable(UnmaterializableFunc::CurrentDatabase)?
            }
            ("current_schema", 0) => self.unmaterializable(UnmaterializableFunc::CurrentSchema)?,
            ("current_user" | "session_user", 0) => {
                self.unmaterializable(UnmaterializableFunc::CurrentUser)?
            }
            ("pg_backend_pid", 0) => self.unmaterializable(UnmaterializableFunc::PgBackendPid)?,
            ("to_char", 2) => {
                let t = match args[0].scalar_type() {
                    S::Unknown => S::TimestampTz,
                    t if t.is_numeric_family()
                        || matches!(t, S::Timestamp | S::TimestampTz | S::Date) =>
                    {
                        t.clone()
                    }
                    _ => return Err(no_function(&args)),
                };
                let v = arg_as!(0, t);
                let f = arg_as!(1, S::String);
                Typed::new(
                    v.call_binary(f, BinaryFunc::ToChar),
                    S::String.nullable(nullable),
                )
            }
            ("make_date", 3) => {
                let exprs = vec![
                    arg_as!(0, S::Int32),
                    arg_as!(1, S::Int32),
                    arg_as!(2, S::Int32),
                ];
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::MakeDate,
                        exprs,
                    },
                    S::Date.nullable(nullable),
                )
            }
            ("make_timestamp", 6) => {
                let exprs = vec![
                    arg_as!(0, S::Int32),
                    arg_as!(1, S::Int32),
                    arg_as!(2, S::Int32),
                    arg_as!(3, S::Int32),
                    arg_as!(4, S::Int32),
                    arg_as!(5, S::Float64),
                ];
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::MakeTimestamp,
                        exprs,
                    },
                    S::Timestamp.nullable(nullable),
                )
            }
            ("age", 2) => {
                let t = common_type([args[0].scalar_type(), args[1].scalar_type()], "age")?;
                let t = if matches!(t, S::Date | S::String) {
                    S::Timestamp
                } else {
                    t
                };
                let a = arg_as!(0, t);
                let b = arg_as!(1, t);
                Typed::new(
                    a.call_binary(b, BinaryFunc::Age),
                    S::Interval.nullable(nullable),
                )
            }
            ("jsonb_build_array" | "json_build_array", _) => {
                let exprs = self.json_args(args)?;
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::JsonbBuildArray,
                        exprs,
                    },
                    S::Jsonb.nullable(false),
                )
            }
            ("jsonb_build_object" | "json_build_object", _) => {
                let exprs = self.json_args(args)?;
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::JsonbBuildObject,
                        exprs,
                    },
                    S::Jsonb.nullable(false),
                )
            }
            ("to_jsonb" | "to_json", 1) => {
                let exprs = self.json_args(args)?;
                let array = HirScalarExpr::CallVariadic {
                    func: VariadicFunc::JsonbBuildArray,
                    exprs,
                };
                let index = HirScalarExpr::literal(Datum::Int64(0), S::Int64);
                Typed::new(
                    array.call_binary(index, BinaryFunc::JsonbGet { as_text: false }),
                    S::Jsonb.nullable(nullable),
                )
            }
            ("jsonb_typeof" | "jsonb_array_length", 1) => {
                let a = arg_as!(0, S::Jsonb);
                let func = if name == "jsonb_typeof" {
                    UnaryFunc::JsonbTypeof
                } else {
                    UnaryFunc::JsonbArrayLength
                };
                unary(self, func, a, S::Jsonb)?
            }
            ("jsonb_pretty", 1) => {
                let a = arg_as!(0, S::Jsonb);
                unary(self, UnaryFunc::JsonbPretty, a, S::Jsonb)?
            }
            ("array_cat", 2) => {
                if !args
                    .iter()
                    .all(|a| matches!(a.scalar_type(), S::Array(_) | S::Unknown))
                    || args.iter().all(|a| a.is_unknown())
                {
                    return Err(no_function(&args));
                }
                let t = common_type([args[0].scalar_type(), args[1].scalar_type()], "array_cat")?;
                let a = arg_as!(0, t);
                let b = arg_as!(1, t);
                Typed::new(
                    a.call_binary(b, BinaryFunc::ArrayConcat),
                    t.nullable(args[0].typ.nullable && args[1].typ.nullable),
                )
            }
            ("array_append" | "array_prepend", 2) => {
                let (array_at, elem_at) = if name == "array_append" {
                    (0, 1)
                } else {
                    (1, 0)
                };
                let S::Array(elem) = args[array_at].scalar_type().clone() else {
                    return Err(no_function(&args));
                };
                let elem_type = common_type([elem.as_ref(), args[elem_at].scalar_type()], name)
                    .map_err(|_| no_function(&args))?;
                let array_type = S::Array(Box::new(elem_type.clone()));
                let array = arg_as!(array_at, array_type);
                let element = arg_as!(elem_at, elem_type);
                let expr = if name == "array_append" {
                    array.call_binary(element, BinaryFunc::ArrayAppend)
                } else {
                    element.call_binary(array, BinaryFunc::ArrayPrepend)
                };
                Typed::new(expr, array_type.nullable(false))
            }
            ("array_position", 2 | 3) => {
                let S::Array(elem) = args[0].scalar_type().clone() else {
                    return Err(no_function(&args));
                };
                let elem_type = common_type([elem.as_ref(), args[1].scalar_type()], name)
                    .map_err(|_| no_function(&args))?;
                let mut exprs = vec![
                    arg_as!(0, S::Array(Box::new(elem_type.clone()))),
                    arg_as!(1, elem_type),
                ];
                if n == 3 {
                    exprs.push(arg_as!(2, S::Int32));
                }
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::ArrayPosition,
                        exprs,
                    },
                    S::Int32.nullable(true),
                )
            }
            ("gen_random_uuid", 0) => {
                if self.lifetime == super::QueryLifetime::Maintained {
                    return Err(PlanError::Unmaterializable {
                        function: "gen_random_uuid()".into(),
                        hint: "gen_random_uuid() returns a new value at each call, so a view over it could not be maintained; generate the uuid when inserting the row (a column DEFAULT or the INSERT itself)".into(),
                    });
                }
                Typed::new(
                    HirScalarExpr::CallVariadic {
                        func: VariadicFunc::GenRandomUuid,
                        exprs: vec![],
                    },
                    S::Uuid.nullable(false),
                )
            }
            ("get_byte", 2) => {
                let a = arg_as!(0, S::Bytes);
                let b = arg_as!(1, S::Int32);
                Typed::new(
                    a.call_binary(b, BinaryFunc::GetByte),
                    S::Int32.nullable(nullable),
                )
            }
            ("sha256", 1) => {
                let a = arg_as!(0, S::Bytes);
                unary(self, UnaryFunc::Sha256, a, S::Bytes)?
            }
            ("encode", 2) => {
                let a = arg_as!(0, S::Bytes);
                let b = arg_as!(1, S::String);
                Typed::new(
                    a.call_binary(b, BinaryFunc::Encode),
                    S::String.nullable(nullable),
                )
            }
            ("decode", 2) => {
                let a = arg_as!(0, S::String);
                let b = arg_as!(1, S::String);
                Typed::new(
                    a.call_binary(b, BinaryFunc::Decode),
                    S::Bytes.nullable(nullable),
                )
            }
            ("array_to_string", 2) => {
                if !matches!(args[0].scalar_type(), S::Array(_)) {
                    return Err(no_function(&args));
                }
                let t = args[0].scalar_type().clone();
                let a = arg_as!(0, t);
                let b = arg_as!(1, S::String);
                Typed::new(
                    a.call_binary(b, BinaryFunc::ArrayToString),
                    S::String.nullable(nullable),
                )
            }
            ("array_length", 2) => {
                if !matches!(args[0].scalar_type(), S::Array(_)) {
                    return Err(no_function(&args));
                }
                let t = args[0].scalar_type().clone();
                let a = arg_as!(0, t);
                let b = arg_as!(1, S::Int32);
                Typed::new(
                    a.call_binary(b, BinaryFunc::ArrayLength),
                    S::Int32.nullable(true),
                )
            }
            ("cardinality", 1) => {
                if !matches!(args[0].scalar_type(), S::Array(_)) {
                    return Err(no_function(&args));
                }
                let a = args.remove(0).expr;
                Typed::new(
                    a.call_unary(UnaryFunc::Cardinality),
                    S::Int32.nullable(true),
                )
            }
            ("pg_typeof", 1) => {
                let t = args[0].scalar_type();
                // Like PostgreSQL's regtype output, without type modifiers: numeric(6,3) is
                // "numeric", varchar(4) is "character varying".
                let name = match t {
                    S::Unknown => "unknown".to_string(),
                    S::Char { .. } => "character".to_string(),
                    _ => t.unconstrained().sql_name(),
                };
                Typed::new(
                    HirScalarExpr::literal(Datum::String(&name), S::String),
                    S::String.nullable(false),
                )
            }
            _ => {
                let exists = matches!(
                    name,
                    "abs"
                        | "ceil"
                        | "ceiling"
                        | "floor"
                        | "round"
                        | "trunc"
                        | "sqrt"
                        | "exp"
                        | "ln"
                        | "log"
                        | "log10"
                        | "power"
                        | "pow"
                        | "mod"
                        | "length"
                        | "lower"
                        | "upper"
                        | "substr"
                        | "substring"
                        | "replace"
                        | "concat"
                        | "coalesce"
                        | "nullif"
                        | "greatest"
                        | "least"
                        | "date_trunc"
                        | "date_part"
                        | "to_char"
                        | "now"
                );
                return Err(if exists {
                    no_function(&args)
                } else {
                    PlanError::UndefinedFunction(format!(
                        "function {name}({}) does not exist",
                        type_list(&args)
                    ))
                });
            }
        };
        Ok(result)
    }

    fn json_args(&mut self, args: Vec<Typed>) -> Result<Vec<HirScalarExpr>, PlanError> {
        // Unknown literals are text, as in PostgreSQL's json builders.
        let mut exprs = Vec::with_capacity(args.len());
        for a in args {
            if a.is_unknown() {
                exprs.push(coerce(
                    a,
                    &ScalarType::String,
                    CastContext::Implicit,
                    &mut self.params,
                )?);
            } else {
                exprs.push(a.expr);
            }
        }
        Ok(exprs)
    }

    /// `GROUPING(e1, …, en)`: bit `n - 1 - i` is set when `ei` is not grouped in the row's
    /// grouping set. Bound as a placeholder; `plan_select` replaces it once the grouping sets
    /// are known, and checks that the arguments are grouping expressions.
    fn bind_grouping(&mut self, ecx: &ExprContext, f: &ast::Function) -> Result<Typed, PlanError> {
        if !ecx.allow_aggregates || self.aggregate_frames.is_empty() {
            return Err(PlanError::Grouping(format!(
                "grouping operations are not allowed in {}",
                ecx.name
            )));
        }
        let call = call_args(f)?;
        if call.distinct || !call.order_by.is_empty() || call.star || f.filter.is_some() {
            return Err(PlanError::Invalid(
                "DISTINCT, ORDER BY, FILTER or * specified, but grouping is not an aggregate function".into(),
            ));
        }
        if call.args.is_empty() || call.args.len() > 31 {
            return Err(PlanError::Invalid(
                "GROUPING must have between 1 and 31 arguments".into(),
            ));
        }
        let inner = ecx.without_aggregates();
        let args: Vec<HirScalarExpr> = call
            .args
            .iter()
            .map(|a| self.bind_expr(&inner, a).map(|t| t.expr))
            .collect::<Result<_, _>>()?;
        let frame = self.aggregate_frames.last_mut().expect("checked above");
        let index = match frame.groupings.iter().position(|g| *g == args) {
            Some(i) => i,
            None => {
                frame.groupings.push(args);
                frame.groupings.len() - 1
            }
        };
        Ok(Typed::new(
            HirScalarExpr::Column(ColumnRef {
                level: 0,
                column: frame.input_arity + super::GROUPING_PLACEHOLDER + index,
            }),
            ScalarType::Int32.nullable(false),
        ))
    }

    pub(crate) fn bind_aggregate(
        &mut self,
        ecx: &ExprContext,
        f: &ast::Function,
        name: &str,
    ) -> Result<Typed, PlanError> {
        if !ecx.allow_aggregates {
            return Err(PlanError::Grouping(format!(
                "aggregate functions are not allowed in {}",
                ecx.name
            )));
        }
        if self.aggregate_frames.is_empty() {
            return Err(PlanError::Grouping(format!(
                "aggregate functions are not allowed in {}",
                ecx.name
            )));
        }
        let call = call_args(f)?;
        // Arguments may not contain aggregates themselves.
        let inner = ecx.without_aggregates();
        let args: Vec<Typed> = call
            .args
            .iter()
            .map(|a| self.bind_expr(&inner, a))
            .collect::<Result<_, _>>()?;
        let filter = match &f.filter {
            Some(filter) => Some(self.bind_bool(&inner, filter, "FILTER")?),
            None => None,
        };
        let mut order_by = Vec::new();
        for o in &call.order_by {
            let e = self.bind_expr(&inner, &o.expr)?;
            let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
            let nulls_last = o.options.nulls_first.map(|first| !first).unwrap_or(!desc);
            order_by.push((e.expr, desc, nulls_last));
        }
        self.resolve_aggregate(name, args, call.star, call.distinct, filter, order_by)
    }

    /// Chooses the aggregate for bound arguments and records it in the current frame.
    pub(crate) fn resolve_aggregate(
        &mut self,
        name: &str,
        args: Vec<Typed>,
        star: bool,
        distinct: bool,
        filter: Option<HirScalarExpr>,
        order_by: Vec<(HirScalarExpr, bool, bool)>,
    ) -> Result<Typed, PlanError> {
        let no_function = |args: &[Typed]| {
            PlanError::UndefinedFunction(format!(
                "function {name}({}) does not exist",
                type_list(args)
            ))
        };
        use ScalarType as S;
        let aggregate = |func: AggregateFunc, args: Vec<HirScalarExpr>| HirAggregateExpr {
            func,
            args,
            distinct,
            filter: filter.clone(),
            order_by: order_by.clone(),
        };
        let (agg, typ): (HirAggregateExpr, ColumnType) = match (name, args.len(), star) {
            ("count", 0, true) => (
                aggregate(AggregateFunc::Count, vec![]),
                S::Int64.nullable(false),
            ),
            ("count", 1, false) => (
                aggregate(AggregateFunc::Count, vec![args[0].expr.clone()]),
                S::Int64.nullable(false),
            ),
            ("sum", 1, false) => {
                let t = args[0].scalar_type().unconstrained();
                let (func, arg_t, out) = match t {
                    S::Int16 | S::Int32 => (AggregateFunc::SumInt32, t.clone(), S::Int64),
                    S::Int64 => (AggregateFunc::SumInt64, S::Int64, S::numeric()),
                    S::Float32 => (AggregateFunc::SumFloat32, S::Float32, S::Float32),
                    S::Float64 => (AggregateFunc::SumFloat64, S::Float64, S::Float64),
                    S::Numeric { .. } => (AggregateFunc::SumNumeric, S::numeric(), S::numeric()),
                    S::Interval => (AggregateFunc::SumInterval, S::Interval, S::Interval),
                    _ => return Err(no_function(&args)),
                };
                let a = coerce(
                    args[0].clone(),
                    &arg_t,
                    CastContext::Implicit,
                    &mut self.params,
                )?;
                (aggregate(func, vec![a]), out.nullable(true))
            }
            ("avg", 1, false) => {
                return self.bind_avg(
                    args.into_iter().next().expect("one arg"),
                    distinct,
                    filter,
                    order_by,
                )
            }
            ("min" | "max", 1, false) => {
                // An untyped literal (`max('a')`, `max(NULL)`) is text, as PostgreSQL resolves it.
                let t = if args[0].is_unknown() {
                    S::String
                } else {
                    args[0].scalar_type().unconstrained()
                };
                if matches!(t, S::Jsonb) {
                    return Err(no_function(&args));
                }
                let a = if args[0].is_unknown() {
                    coerce(args[0].clone(), &t, CastContext::Implicit, &mut self.params)?
                } else {
                    args[0].expr.clone()
                };
                let func = if name == "min" {
                    AggregateFunc::Min
                } else {
                    AggregateFunc::Max
                };
                (aggregate(func, vec![a]), t.nullable(true))
            }
            ("bool_and" | "every" | "bool_or", 1, false) => {
                let a = self.require_bool(args[0].clone(), name)?;
                let func = if name == "bool_or" {
                    AggregateFunc::BoolOr
                } else {
                    AggregateFunc::BoolAnd
                };
                (aggregate(func, vec![a]), S::Bool.nullable(true))
            }
            ("string_agg", 2, false) => {
                let a = coerce(
                    args[0].clone(),
                    &S::String,
                    CastContext::Implicit,
                    &mut self.params,
                )
                .map_err(|_| no_function(&args))?;
                let b = coerce(
                    args[1].clone(),
                    &S::String,
                    CastContext::Implicit,
                    &mut self.params,
                )
                .map_err(|_| no_function(&args))?;
                (
                    aggregate(AggregateFunc::StringAgg, vec![a, b]),
                    S::String.nullable(true),
                )
            }
            ("array_agg", 1, false) => {
                let t = if args[0].is_unknown() {
                    S::String
                } else {
                    args[0].scalar_type().clone()
                };
                let a = coerce(args[0].clone(), &t, CastContext::Implicit, &mut self.params)?;
                (
                    aggregate(
                        AggregateFunc::ArrayAgg {
                            elem_type: t.clone(),
                        },
                        vec![a],
                    ),
                    S::Array(Box::new(t)).nullable(true),
                )
            }
            ("jsonb_agg" | "json_agg", 1, false) => {
                let a = self.json_args(vec![args[0].clone()])?.remove(0);
                (
                    aggregate(AggregateFunc::JsonbAgg, vec![a]),
                    S::Jsonb.nullable(true),
                )
            }
            ("jsonb_object_agg" | "json_object_agg", 2, false) => {
                let exprs = self.json_args(args.clone())?;
                (
                    aggregate(AggregateFunc::JsonbObjectAgg, exprs),
                    S::Jsonb.nullable(true),
                )
            }
            (
                "stddev" | "stddev_samp" | "stddev_pop" | "variance" | "var_samp" | "var_pop",
                1,
                false,
            ) => {
                let t = match args[0].scalar_type() {
                    S::Float32 | S::Float64 => S::Float64,
                    t if t.is_numeric_family() => S::numeric(),
                    _ => return Err(no_function(&args)),
                };
                let a = coerce(args[0].clone(), &t, CastContext::Implicit, &mut self.params)?;
                let func = match name {
                    "stddev" | "stddev_samp" => AggregateFunc::StddevSamp,
                    "stddev_pop" => AggregateFunc::StddevPop,
                    "variance" | "var_samp" => AggregateFunc::VarSamp,
                    _ => AggregateFunc::VarPop,
                };
                (aggregate(func, vec![a]), t.nullable(true))
            }
            _ => return Err(no_function(&args)),
        };
        Ok(Typed::new(self.push_aggregate(agg, typ.clone()), typ))
    }

    /// Records an aggregate in the current frame and returns its placeholder column.
    pub(crate) fn push_aggregate(
        &mut self,
        agg: HirAggregateExpr,
        typ: ColumnType,
    ) -> HirScalarExpr {
        let frame = self.aggregate_frames.last_mut().expect("checked by caller");
        let index = match frame.aggregates.iter().position(|a| *a == agg) {
            Some(i) => i,
            None => {
                frame.aggregates.push(agg);
                frame.types.push(typ);
                frame.aggregates.len() - 1
            }
        };
        HirScalarExpr::Column(ColumnRef {
            level: 0,
            column: frame.input_arity + index,
        })
    }

    /// `avg(x)` is `sum(x) / count(x)` in the type PostgreSQL gives the result.
    fn bind_avg(
        &mut self,
        arg: Typed,
        distinct: bool,
        filter: Option<HirScalarExpr>,
        order_by: Vec<(HirScalarExpr, bool, bool)>,
    ) -> Result<Typed, PlanError> {
        use ScalarType as S;
        let t = arg.scalar_type().unconstrained();
        let (sum_func, sum_arg_t, result_t) = match t {
            S::Int16 | S::Int32 => (AggregateFunc::SumInt32, t.clone(), S::numeric()),
            S::Int64 => (AggregateFunc::SumInt64, S::Int64, S::numeric()),
            S::Numeric { .. } => (AggregateFunc::SumNumeric, S::numeric(), S::numeric()),
            S::Float32 | S::Float64 => (AggregateFunc::SumFloat64, S::Float64, S::Float64),
            S::Interval => (AggregateFunc::SumInterval, S::Interval, S::Interval),
            _ => {
                return Err(PlanError::UndefinedFunction(format!(
                    "function avg({}) does not exist",
                    t.pg_name()
                )))
            }
        };
        let a = coerce(arg, &sum_arg_t, CastContext::Implicit, &mut self.params)?;
        let make = |func: AggregateFunc, args: Vec<HirScalarExpr>| HirAggregateExpr {
            func,
            args,
            distinct,
            filter: filter.clone(),
            order_by: order_by.clone(),
        };
        let sum_out = AggregateFunc::output_type(&sum_func, &[sum_arg_t.clone().nullable(true)]);
        let sum = self.push_aggregate(make(sum_func, vec![a.clone()]), sum_out.clone());
        let count = self.push_aggregate(
            make(AggregateFunc::Count, vec![a]),
            S::Int64.nullable(false),
        );
        let expr = match result_t {
            S::Interval => {
                let c = count.call_unary(UnaryFunc::Cast(S::Float64));
                sum.call_binary(c, BinaryFunc::Div)
            }
            ref r => {
                let s = if sum_out.scalar_type.base_eq(r) {
                    sum
                } else {
                    sum.call_unary(UnaryFunc::Cast(r.clone()))
                };
                let c = count.call_unary(UnaryFunc::Cast(r.clone()));
                s.call_binary(c, BinaryFunc::Div)
            }
        };
        Ok(Typed::new(expr, result_t.nullable(true)))
    }

    /// Resolves a table function call in FROM.
    pub(crate) fn table_function_call(
        &mut self,
        name: &str,
        args: Vec<Typed>,
    ) -> Result<(TableFunc, Vec<HirScalarExpr>), PlanError> {
        use ScalarType as S;
        let no_function = |args: &[Typed]| {
            PlanError::UndefinedFunction(format!(
                "function {name}({}) does not exist",
                type_list(args)
            ))
        };
        let n = args.len();
        Ok(match (name, n) {
            ("generate_series", 2 | 3) => {
                let all_int = args
                    .iter()
                    .all(|a| a.scalar_type().is_integer() || a.is_unknown());
                if all_int {
                    let t = if args.iter().any(|a| *a.scalar_type() == S::Int64) {
                        S::Int64
                    } else {
                        S::Int32
                    };
                    let mut exprs = Vec::new();
                    for a in args {
                        exprs.push(coerce(a, &t, CastContext::Implicit, &mut self.params)?);
                    }
                    let func = if t == S::Int64 {
                        TableFunc::GenerateSeriesInt64
                    } else {
                        TableFunc::GenerateSeriesInt32
                    };
                    (func, exprs)
                } else if n == 3 {
                    let t = common_type(
                        [args[0].scalar_type(), args[1].scalar_type()],
                        "generate_series",
                    )?;
                    let tz = match t {
                        S::Timestamp => false,
                        S::TimestampTz | S::Date | S::String => true,
                        _ => return Err(no_function(&args)),
                    };
                    let ts_t = if tz { S::TimestampTz } else { S::Timestamp };
                    let mut it = args.into_iter();
                    let a = coerce(
                        it.next().expect("3"),
                        &ts_t,
                        CastContext::Implicit,
                        &mut self.params,
                    )?;
                    let b = coerce(
                        it.next().expect("3"),
                        &ts_t,
                        CastContext::Implicit,
                        &mut self.params,
                    )?;
                    let c = coerce(
                        it.next().expect("3"),
                        &S::Interval,
                        CastContext::Implicit,
                        &mut self.params,
                    )?;
                    (TableFunc::GenerateSeriesTimestamp { tz }, vec![a, b, c])
                } else {
                    return Err(no_function(&args));
                }
            }
            ("unnest", 1) => {
                let S::Array(elem) = args[0].scalar_type().clone() else {
                    return Err(no_function(&args));
                };
                (
                    TableFunc::Unnest { elem_type: *elem },
                    vec![args.into_iter().next().expect("1").expr],
                )
            }
            (
                "jsonb_each"
                | "jsonb_each_text"
                | "jsonb_array_elements"
                | "jsonb_array_elements_text"
                | "jsonb_object_keys",
                1,
            ) => {
                let a = coerce(
                    args[0].clone(),
                    &S::Jsonb,
                    CastContext::Implicit,
                    &mut self.params,
                )
                .map_err(|_| no_function(&args))?;
                let func = match name {
                    "jsonb_each" => TableFunc::JsonbEach { as_text: false },
                    "jsonb_each_text" => TableFunc::JsonbEach { as_text: true },
                    "jsonb_array_elements" => TableFunc::JsonbArrayElements { as_text: false },
                    "jsonb_array_elements_text" => TableFunc::JsonbArrayElements { as_text: true },
                    _ => TableFunc::JsonbObjectKeys,
                };
                (func, vec![a])
            }
            ("regexp_split_to_table", 2) => {
                let a = coerce(
                    args[0].clone(),
                    &S::String,
                    CastContext::Implicit,
                    &mut self.params,
                )?;
                let b = coerce(
                    args[1].clone(),
                    &S::String,
                    CastContext::Implicit,
                    &mut self.params,
                )?;
                (TableFunc::RegexpSplitToTable, vec![a, b])
            }
            _ => return Err(no_function(&args)),
        })
    }
}

/// Functions that PostgreSQL clients (psql's `\d`, drivers, GUI tools) call to describe the
/// catalog, written as SQL over evert's catalog relations: `Some(sql)` is the expression that
/// replaces the call. Arguments are spliced in as SQL text, parenthesized.
fn catalog_function_sql(f: &ast::Function, name: &str) -> Result<Option<String>, PlanError> {
    const NAMES: &[&str] = &[
        "pg_get_userbyid",
        "pg_table_is_visible",
        "pg_type_is_visible",
        "pg_function_is_visible",
        "pg_encoding_to_char",
        "pg_get_expr",
        "pg_get_indexdef",
        "pg_get_viewdef",
        "pg_get_constraintdef",
        "obj_description",
        "col_description",
        "shobj_description",
        "pg_relation_is_publishable",
        "pg_get_statisticsobjdef_columns",
        "pg_get_function_result",
        "pg_get_function_arguments",
        "pg_get_function_identity_arguments",
        "pg_get_function_sqlbody",
        "format_type",
        "array_upper",
        "array_lower",
        "array",
    ];
    if !NAMES.contains(&name) {
        return Ok(None);
    }
    if name == "array" {
        let FunctionArguments::Subquery(query) = &f.args else {
            return Ok(None);
        };
        return array_subquery_sql(query).map(Some);
    }
    let call = call_args(f)?;
    if call.distinct || call.star || !call.order_by.is_empty() {
        return Ok(None);
    }
    let a: Vec<String> = call.args.iter().map(|e| format!("({e})")).collect();
    let sql = match (name, a.len()) {
        ("pg_get_userbyid", 1) => format!("(CASE WHEN {} IS NULL THEN NULL ELSE 'evert' END)::text", a[0]),
        // Visible: on the search path (public, then pg_catalog); user objects have OIDs from 20000.
        ("pg_table_is_visible", 1) => format!(
            "(CASE WHEN {x} IS NULL THEN NULL ELSE {x} >= 20000 OR {x} IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = 11) END)",
            x = a[0]
        ),
        ("pg_type_is_visible" | "pg_function_is_visible", 1) => {
            format!("(CASE WHEN {} IS NULL THEN NULL ELSE true END)::bool", a[0])
        }
        ("pg_encoding_to_char", 1) => format!("(CASE WHEN {} = 6 THEN 'UTF8' ELSE '' END)::text", a[0]),
        ("pg_get_expr", 2 | 3) => format!("{}::text", a[0]),
        ("pg_get_indexdef", 1 | 3) | ("pg_get_viewdef", 1 | 2) => format!(
            "(SELECT d.definition FROM mz_internal.evert_object_definitions d WHERE d.oid = {})",
            a[0]
        ),
        ("pg_get_constraintdef", 1 | 2)
        | ("obj_description", 1 | 2)
        | ("col_description", 2)
        | ("shobj_description", 2)
        | ("pg_get_statisticsobjdef_columns", 1)
        // pg_proc is empty: there is no function whose signature to describe.
        | ("pg_get_function_result", 1)
        | ("pg_get_function_arguments", 1)
        | ("pg_get_function_identity_arguments", 1)
        | ("pg_get_function_sqlbody", 1) => "NULL::text".to_string(),
        ("pg_relation_is_publishable", 1) => "false".to_string(),
        // evert's arrays always start at index 1.
        ("array_upper", 2) => format!("array_length({}, {})", a[0], a[1]),
        ("array_lower", 2) => format!("(CASE WHEN array_length({0}, {1}) IS NULL THEN NULL ELSE 1 END)", a[0], a[1]),
        ("format_type", 2) => format_type_sql(&a[0], &a[1]),
        _ => return Ok(None),
    };
    Ok(Some(sql))
}

/// `format_type(type_oid, typmod)`: the SQL name of a type, with its modifiers. The
/// names are `ScalarType::sql_name`; types with modifiers decode PostgreSQL's typmod.
fn format_type_sql(oid: &str, typmod: &str) -> String {
    let mut sql = format!("(CASE {oid}");
    for t in ScalarType::builtin_types() {
        let name = match &t {
            ScalarType::Numeric { .. } | ScalarType::VarChar { .. } | ScalarType::Char { .. } => {
                continue
            }
            // PostgreSQL does not show the element's length in an array type's name.
            ScalarType::Array(e) if matches!(**e, ScalarType::Char { .. }) => {
                "character[]".to_string()
            }
            other => other.sql_name(),
        };
        sql.push_str(&format!(" WHEN {} THEN '{name}'", t.oid()));
    }
    sql.push_str(&format!(
        " WHEN 1700 THEN CASE WHEN {typmod} >= 4 THEN 'numeric(' || (({typmod} - 4) / 65536)::text || ',' || (({typmod} - 4) % 65536)::text || ')' ELSE 'numeric' END"
    ));
    sql.push_str(&format!(
        " WHEN 1043 THEN CASE WHEN {typmod} >= 4 THEN 'character varying(' || ({typmod} - 4)::text || ')' ELSE 'character varying' END"
    ));
    sql.push_str(&format!(
        " WHEN 1042 THEN CASE WHEN {typmod} >= 4 THEN 'character(' || ({typmod} - 4)::text || ')' ELSE 'bpchar' END"
    ));
    sql.push_str(&format!(
        " WHEN 0 THEN '-' ELSE CASE WHEN {oid} IS NULL THEN NULL ELSE '???' END END)::text"
    ));
    sql
}

/// `ARRAY(subquery)`: the subquery's single column aggregated into an array, in the
/// subquery's order. A plain SELECT becomes `array_agg(expr ORDER BY ...)` over the same
/// FROM and WHERE (so references to enclosing queries stay at the same depth).
fn array_subquery_sql(query: &ast::Query) -> Result<String, PlanError> {
    let mut inner = query.clone();
    if inner.limit_clause.is_some() || inner.fetch.is_some() {
        return Err(PlanError::unsupported("ARRAY(subquery) with LIMIT"));
    }
    if inner.with.is_some() {
        return Err(PlanError::unsupported("ARRAY(subquery) with WITH"));
    }
    let order_by = inner.order_by.take();
    let ast::SetExpr::Select(select) = inner.body.as_mut() else {
        return Err(PlanError::unsupported(
            "ARRAY(subquery) over a set operation",
        ));
    };
    let plain = select.distinct.is_none()
        && select.having.is_none()
        && matches!(&select.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    let element = match select.projection.as_slice() {
        [ast::SelectItem::UnnamedExpr(e)] | [ast::SelectItem::ExprWithAlias { expr: e, .. }] => {
            e.clone()
        }
        _ => {
            return Err(PlanError::Invalid(
                "subquery must return only one column".into(),
            ))
        }
    };
    if !plain {
        return Err(PlanError::unsupported(
            "ARRAY(subquery) with DISTINCT, GROUP BY or HAVING",
        ));
    }
    let mut keys = Vec::new();
    if let Some(order_by) = order_by {
        let ast::OrderByKind::Expressions(exprs) = &order_by.kind else {
            return Err(PlanError::unsupported("ARRAY(subquery) with ORDER BY ALL"));
        };
        for o in exprs {
            let key = if o.expr.to_string() == "1" {
                element.to_string()
            } else {
                o.expr.to_string()
            };
            let mut k = format!("({key})");
            if matches!(o.options.sort, Some(ast::OrderBySort::Desc)) {
                k.push_str(" DESC");
            }
            match o.options.nulls_first {
                Some(true) => k.push_str(" NULLS FIRST"),
                Some(false) => k.push_str(" NULLS LAST"),
                None => {}
            }
            keys.push(k);
        }
    }
    let order = if keys.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", keys.join(", "))
    };
    let aggregate = format!("coalesce(array_agg(({element}){order}), '{{}}')");
    let aggregate = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&aggregate)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| PlanError::Invalid(format!("rewriting ARRAY(subquery): {e}")))?;
    select.projection = vec![ast::SelectItem::UnnamedExpr(aggregate)];
    Ok(format!("({inner})"))
}
