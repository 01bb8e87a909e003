//! Binding window functions: `func(args) OVER (PARTITION BY … ORDER BY … frame)`.
//!
//! A window function is bound as a [`HirScalarExpr::Windowing`] inside the select list or
//! ORDER BY. After grouping, [`Binder::plan_windows`] moves every window function of the
//! SELECT into one `Map` over the (possibly grouped) relation and replaces each occurrence
//! by a reference to that column; lowering turns the `Map` into MIR `Window` nodes.
//!
//! Aggregates used as window functions (`sum(x) OVER (…)`) are bound by the ordinary
//! aggregate binder into a scratch aggregate frame, whose placeholder columns are then
//! replaced by window expressions: `avg(x) OVER w` becomes `sum(x) OVER w / count(x) OVER w`.

use evert_expr::AggregateFunc;
use evert_repr::{ColumnType, Datum, ScalarType};
use sqlparser::ast::{self, WindowFrameBound, WindowFrameUnits, WindowType};

use super::expr::ExprContext;
use super::func::{call_args, is_aggregate};
use super::typeconv::{coerce, common_type, CastContext, Typed};
use super::{AggregateFrame, Binder};
use crate::error::PlanError;
use crate::hir::{ColumnRef, HirRelationExpr, HirScalarExpr, WindowExpr, WindowFrame, WindowFunc};

/// Placeholder columns of window aggregates start here while they are being bound.
const WINDOW_AGGREGATE_BASE: usize = 1 << 40;

impl Binder<'_> {
    pub(crate) fn bind_window_function(
        &mut self,
        ecx: &ExprContext,
        f: &ast::Function,
        name: &str,
    ) -> Result<Typed, PlanError> {
        if !ecx.allow_windows {
            return Err(PlanError::Windowing(format!(
                "window functions are not allowed in {}",
                ecx.name
            )));
        }
        let spec = match f.over.as_ref().expect("called for OVER") {
            WindowType::WindowSpec(spec) => spec,
            WindowType::NamedWindow(_) => {
                return Err(PlanError::unsupported("named windows (OVER name)"))
            }
        };
        if spec.window_name.is_some() {
            return Err(PlanError::unsupported("named windows (OVER name)"));
        }
        if f.null_treatment.is_some() {
            return Err(PlanError::unsupported("IGNORE/RESPECT NULLS"));
        }
        if !f.within_group.is_empty() {
            return Err(PlanError::unsupported("WITHIN GROUP"));
        }
        // Arguments and the window specification may use the query's aggregates, but not
        // other window functions.
        let inner = ecx.without_windows();
        let mut partition_by = Vec::with_capacity(spec.partition_by.len());
        for e in &spec.partition_by {
            partition_by.push(self.bind_expr(&inner, e)?.expr);
        }
        let mut order_by = Vec::with_capacity(spec.order_by.len());
        for o in &spec.order_by {
            let e = self.bind_expr(&inner, &o.expr)?;
            let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
            let nulls_last = o.options.nulls_first.map(|first| !first).unwrap_or(!desc);
            order_by.push((e.expr, desc, nulls_last));
        }
        let frame = match &spec.window_frame {
            None => WindowFrame::default_frame(),
            Some(frame) => self.bind_window_frame(frame)?,
        };
        let window = |func: WindowFunc, typ: ColumnType| {
            HirScalarExpr::Windowing(Box::new(WindowExpr {
                func,
                partition_by: partition_by.clone(),
                order_by: order_by.clone(),
                frame: frame.clone(),
                typ,
            }))
        };
        if is_aggregate(name) {
            return self.bind_window_aggregate(&inner, f, name, window);
        }
        if f.filter.is_some() {
            return Err(PlanError::unsupported(
                "FILTER is not implemented for non-aggregate window functions",
            ));
        }
        let call = call_args(f)?;
        if call.distinct || !call.order_by.is_empty() || call.star {
            return Err(PlanError::Invalid(format!(
                "DISTINCT, ORDER BY or * specified, but {name} is not an aggregate function"
            )));
        }
        let no_function = |args: &[Typed]| {
            PlanError::UndefinedFunction(format!(
                "function {name}({}) does not exist",
                args.iter()
                    .map(|a| a.scalar_type().pg_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        let mut args: Vec<Typed> = call
            .args
            .iter()
            .map(|a| self.bind_expr(&inner, a))
            .collect::<Result<_, _>>()?;
        let n = args.len();
        let ranking = |func: WindowFunc, t: ScalarType| -> Typed {
            let typ = t.nullable(false);
            Typed::new(window(func, typ.clone()), typ)
        };
        Ok(match (name, n) {
            ("row_number", 0) => ranking(WindowFunc::RowNumber, ScalarType::Int64),
            ("rank", 0) => ranking(WindowFunc::Rank, ScalarType::Int64),
            ("dense_rank", 0) => ranking(WindowFunc::DenseRank, ScalarType::Int64),
            ("percent_rank", 0) => ranking(WindowFunc::PercentRank, ScalarType::Float64),
            ("cume_dist", 0) => ranking(WindowFunc::CumeDist, ScalarType::Float64),
            ("lag" | "lead", 1..=3) => {
                // An untyped literal value is text, as PostgreSQL resolves it.
                let value_type = if n == 3 {
                    let types = [args[0].scalar_type().clone(), args[2].scalar_type().clone()];
                    let known: Vec<&ScalarType> = types
                        .iter()
                        .filter(|t| **t != ScalarType::Unknown)
                        .collect();
                    if known.is_empty() {
                        ScalarType::String
                    } else {
                        common_type(known, name)?
                    }
                } else if args[0].is_unknown() {
                    ScalarType::String
                } else {
                    args[0].scalar_type().clone()
                };
                let offset = if n >= 2 {
                    let o = coerce(
                        args[1].clone(),
                        &ScalarType::Int32,
                        CastContext::Implicit,
                        &mut self.params,
                    )
                    .map_err(|_| no_function(&args))?;
                    if o.is_correlated_or_columnar() {
                        return Err(PlanError::unsupported(format!(
                            "{name} with an offset that is not a constant"
                        )));
                    }
                    constant_i64(&o)?
                } else {
                    Some(1)
                };
                let offset = match (name, offset) {
                    ("lead", Some(k)) => Some(-k),
                    (_, o) => o,
                };
                let default = if n == 3 {
                    let d = args.pop().expect("three arguments");
                    coerce(d, &value_type, CastContext::Implicit, &mut self.params)
                        .map_err(|_| no_function(&args))?
                } else {
                    HirScalarExpr::literal_null(value_type.clone())
                };
                let value = coerce(
                    args[0].clone(),
                    &value_type,
                    CastContext::Implicit,
                    &mut self.params,
                )?;
                let typ = value_type.nullable(true);
                Typed::new(
                    window(
                        WindowFunc::Lag {
                            expr: value,
                            offset,
                            default,
                        },
                        typ.clone(),
                    ),
                    typ,
                )
            }
            ("first_value" | "last_value", 1) => {
                let t = if args[0].is_unknown() {
                    ScalarType::String
                } else {
                    args[0].scalar_type().clone()
                };
                let value = coerce(args[0].clone(), &t, CastContext::Implicit, &mut self.params)?;
                let typ = t.nullable(true);
                let func = if name == "first_value" {
                    WindowFunc::FirstValue(value)
                } else {
                    WindowFunc::LastValue(value)
                };
                Typed::new(window(func, typ.clone()), typ)
            }
            ("ntile" | "nth_value", _) => {
                return Err(PlanError::unsupported(format!("window function {name}")))
            }
            (
                "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" | "lag"
                | "lead" | "first_value" | "last_value",
                _,
            ) => return Err(no_function(&args)),
            _ => {
                return Err(PlanError::WrongObjectType(format!(
                    "OVER specified, but {name} is not a window function nor an aggregate function"
                )))
            }
        })
    }

    /// An aggregate over a window: bound by the aggregate binder into a scratch frame, whose
    /// placeholders become window expressions.
    fn bind_window_aggregate(
        &mut self,
        ecx: &ExprContext,
        f: &ast::Function,
        name: &str,
        window: impl Fn(WindowFunc, ColumnType) -> HirScalarExpr,
    ) -> Result<Typed, PlanError> {
        let call = call_args(f)?;
        if call.distinct {
            return Err(PlanError::unsupported(
                "DISTINCT is not implemented for window functions",
            ));
        }
        if !call.order_by.is_empty() {
            return Err(PlanError::unsupported(
                "ORDER BY inside an aggregate used as a window function",
            ));
        }
        // Arguments may use the query's own aggregates (`sum(sum(x)) OVER ()`), so they are
        // bound before the scratch frame is pushed.
        let args: Vec<Typed> = call
            .args
            .iter()
            .map(|a| self.bind_expr(ecx, a))
            .collect::<Result<_, _>>()?;
        let filter = match &f.filter {
            Some(filter) => Some(self.bind_bool(ecx, filter, "FILTER")?),
            None => None,
        };
        self.aggregate_frames.push(AggregateFrame {
            input_arity: WINDOW_AGGREGATE_BASE,
            ..Default::default()
        });
        let bound = self.resolve_aggregate(name, args, call.star, false, filter, vec![]);
        let frame = self.aggregate_frames.pop().expect("pushed above");
        let mut t = bound?;
        let mut failure = None;
        t.expr.visit_post_mut(&mut |e| {
            if let HirScalarExpr::Column(ColumnRef { level: 0, column }) = e {
                if *column >= WINDOW_AGGREGATE_BASE {
                    let i = *column - WINDOW_AGGREGATE_BASE;
                    let agg = frame.aggregates[i].clone();
                    if agg.func == AggregateFunc::Count && agg.args.is_empty() {
                        // count(*): nothing to check.
                    }
                    if !agg.order_by.is_empty() || agg.distinct {
                        failure = Some(PlanError::unsupported(
                            "DISTINCT or ORDER BY in a window aggregate",
                        ));
                    }
                    *e = window(WindowFunc::Aggregate(agg), frame.types[i].clone());
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(t)
    }

    fn bind_window_frame(&mut self, frame: &ast::WindowFrame) -> Result<WindowFrame, PlanError> {
        let rows = match frame.units {
            WindowFrameUnits::Rows => true,
            WindowFrameUnits::Range => false,
            WindowFrameUnits::Groups => {
                return Err(PlanError::unsupported("window frames in GROUPS mode"))
            }
        };
        let end_bound = frame
            .end_bound
            .clone()
            .unwrap_or(WindowFrameBound::CurrentRow);
        match (&frame.start_bound, &end_bound) {
            (WindowFrameBound::Following(None), _) => {
                return Err(PlanError::Windowing(
                    "frame start cannot be UNBOUNDED FOLLOWING".into(),
                ))
            }
            (_, WindowFrameBound::Preceding(None)) => {
                return Err(PlanError::Windowing(
                    "frame end cannot be UNBOUNDED PRECEDING".into(),
                ))
            }
            (WindowFrameBound::CurrentRow, WindowFrameBound::Preceding(Some(_))) => {
                return Err(PlanError::Windowing(
                    "frame starting from current row cannot have preceding rows".into(),
                ))
            }
            (WindowFrameBound::Following(Some(_)), WindowFrameBound::CurrentRow) => {
                return Err(PlanError::Windowing(
                    "frame starting from following row cannot end with current row".into(),
                ))
            }
            (WindowFrameBound::Following(Some(_)), WindowFrameBound::Preceding(Some(_))) => {
                return Err(PlanError::Windowing(
                    "frame starting from following row cannot have preceding rows".into(),
                ))
            }
            _ => {}
        }
        let mut offset = |e: &ast::Expr, which: &str| -> Result<i64, PlanError> {
            if !rows {
                return Err(PlanError::unsupported(
                    "window frames in RANGE mode with an offset (PRECEDING or FOLLOWING)",
                ));
            }
            let empty = super::Scope::empty();
            let ecx = ExprContext::new(&empty, "window frame");
            let t = self.bind_expr(&ecx, e)?;
            let t = coerce(
                t,
                &ScalarType::Int64,
                CastContext::Implicit,
                &mut self.params,
            )?;
            match constant_i64(&t)? {
                None => Err(PlanError::Eval(
                    evert_expr::EvalError::InvalidParameterValue(format!(
                        "frame {which} offset must not be null"
                    )),
                )),
                Some(k) if k < 0 => Err(PlanError::Eval(
                    evert_expr::EvalError::InvalidParameterValue(format!(
                        "frame {which} offset must not be negative"
                    )),
                )),
                Some(k) => Ok(k),
            }
        };
        let start = match &frame.start_bound {
            WindowFrameBound::Preceding(None) => None,
            WindowFrameBound::CurrentRow => Some(0),
            WindowFrameBound::Preceding(Some(e)) => Some(offset(e, "starting")?),
            WindowFrameBound::Following(Some(e)) => Some(-offset(e, "starting")?),
            WindowFrameBound::Following(None) => unreachable!("refused above"),
        };
        let end = match &end_bound {
            WindowFrameBound::Following(None) => None,
            WindowFrameBound::CurrentRow => Some(0),
            WindowFrameBound::Following(Some(e)) => Some(offset(e, "ending")?),
            WindowFrameBound::Preceding(Some(e)) => Some(-offset(e, "ending")?),
            WindowFrameBound::Preceding(None) => unreachable!("refused above"),
        };
        Ok(WindowFrame { rows, start, end })
    }

    /// Moves the window functions of a SELECT's outputs and ORDER BY into one `Map` over
    /// `rel` (whose arity is `base_arity`), replacing them by references to its columns.
    /// Returns the new relation and its arity.
    pub(crate) fn plan_windows(
        &mut self,
        rel: HirRelationExpr,
        base_arity: usize,
        exprs: Vec<&mut HirScalarExpr>,
    ) -> (HirRelationExpr, usize) {
        let mut windows: Vec<HirScalarExpr> = Vec::new();
        for e in exprs {
            e.visit_post_mut(&mut |e| {
                if matches!(e, HirScalarExpr::Windowing(_)) {
                    let position = match windows.iter().position(|w| w == e) {
                        Some(p) => p,
                        None => {
                            windows.push(e.clone());
                            windows.len() - 1
                        }
                    };
                    *e = HirScalarExpr::column(base_arity + position);
                }
            });
        }
        let n = windows.len();
        (rel.map(windows), base_arity + n)
    }
}

impl HirScalarExpr {
    /// True if the expression reads any column (so is not a constant).
    fn is_correlated_or_columnar(&self) -> bool {
        let mut found = false;
        let mut copy = self.clone();
        copy.visit_columns_mut(0, &mut |_, _| found = true);
        found || matches!(self, HirScalarExpr::Exists(_) | HirScalarExpr::Select(_))
    }
}

/// Evaluates a constant integer expression (`None` for NULL).
fn constant_i64(e: &HirScalarExpr) -> Result<Option<i64>, PlanError> {
    let mir = super::lowering::lower_constant_scalar(e)?;
    let arena = evert_repr::RowArena::new();
    match mir.eval(&[], &arena)? {
        Datum::Null => Ok(None),
        Datum::Int16(i) => Ok(Some(i64::from(i))),
        Datum::Int32(i) => Ok(Some(i64::from(i))),
        Datum::Int64(i) => Ok(Some(i)),
        _ => Err(PlanError::Invalid("expected an integer constant".into())),
    }
}
