//! Aggregate functions.
//!
//! An aggregate sees, per group, a multiset of argument rows. Those whose result can be
//! maintained by adding and subtracting per-row contributions (`count`, `sum`, `bool_and`,
//! the moments behind `variance`) are *accumulable*: the dataflow keeps one accumulator per
//! group and updates it in time proportional to the change. The rest (`min`, `max`,
//! `string_agg`, …) are recomputed from the group's values when the group changes.

use std::fmt;

use evert_repr::adt::numeric;
use evert_repr::{ColumnType, Datum, Diff, RowArena, ScalarType};
use rust_decimal::prelude::*;
use rust_decimal::Decimal;

use crate::error::EvalError;
use crate::relation::float_sum::ExactFloatSum;
use crate::relation::{compare_by_order, ColumnOrder};
use crate::scalar::MirScalarExpr;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AggregateFunc {
    /// `count(*)` (no arguments) or `count(x)` (non-NULL values).
    Count,
    /// `sum` of int2/int4, giving int8.
    SumInt32,
    /// `sum` of int8, giving numeric.
    SumInt64,
    SumFloat32,
    SumFloat64,
    SumNumeric,
    SumInterval,
    Max,
    Min,
    BoolAnd,
    BoolOr,
    /// `string_agg(value, delimiter)`
    StringAgg,
    /// `array_agg(value)` (NULLs included)
    ArrayAgg {
        elem_type: ScalarType,
    },
    /// `jsonb_agg(value)`
    JsonbAgg,
    /// `jsonb_object_agg(key, value)`
    JsonbObjectAgg,
    /// Population/sample variance and standard deviation over float8 or numeric input.
    VarPop,
    VarSamp,
    StddevPop,
    StddevSamp,
}

impl AggregateFunc {
    /// True if the result can be maintained by accumulating per-row contributions.
    pub fn is_accumulable(&self) -> bool {
        use AggregateFunc::*;
        matches!(
            self,
            Count
                | SumInt32
                | SumInt64
                | SumFloat32
                | SumFloat64
                | SumNumeric
                | SumInterval
                | BoolAnd
                | BoolOr
        )
    }

    /// True if the order of input values matters to the result.
    pub fn is_order_sensitive(&self) -> bool {
        matches!(
            self,
            AggregateFunc::StringAgg
                | AggregateFunc::ArrayAgg { .. }
                | AggregateFunc::JsonbAgg
                | AggregateFunc::JsonbObjectAgg
        )
    }

    /// The value over an empty input (what `SELECT agg(x) FROM empty` returns).
    pub fn default_value(&self) -> Datum<'static> {
        match self {
            AggregateFunc::Count => Datum::Int64(0),
            _ => Datum::Null,
        }
    }

    pub fn output_type(&self, arg_types: &[ColumnType]) -> ColumnType {
        use AggregateFunc::*;
        let arg = arg_types
            .first()
            .map(|t| t.scalar_type.clone())
            .unwrap_or(ScalarType::Int64);
        match self {
            Count => ScalarType::Int64.nullable(false),
            SumInt32 => ScalarType::Int64.nullable(true),
            SumInt64 | SumNumeric => ScalarType::numeric().nullable(true),
            SumFloat32 => ScalarType::Float32.nullable(true),
            SumFloat64 => ScalarType::Float64.nullable(true),
            SumInterval => ScalarType::Interval.nullable(true),
            Max | Min => arg.unconstrained().nullable(true),
            BoolAnd | BoolOr => ScalarType::Bool.nullable(true),
            StringAgg => ScalarType::String.nullable(true),
            ArrayAgg { elem_type } => ScalarType::Array(Box::new(elem_type.clone())).nullable(true),
            JsonbAgg | JsonbObjectAgg => ScalarType::Jsonb.nullable(true),
            VarPop | VarSamp | StddevPop | StddevSamp => if arg == ScalarType::Float64 {
                ScalarType::Float64
            } else {
                ScalarType::numeric()
            }
            .nullable(true),
        }
    }

    pub fn name(&self) -> &'static str {
        use AggregateFunc::*;
        match self {
            Count => "count",
            SumInt32 | SumInt64 | SumFloat32 | SumFloat64 | SumNumeric | SumInterval => "sum",
            Max => "max",
            Min => "min",
            BoolAnd => "bool_and",
            BoolOr => "bool_or",
            StringAgg => "string_agg",
            ArrayAgg { .. } => "array_agg",
            JsonbAgg => "jsonb_agg",
            JsonbObjectAgg => "jsonb_object_agg",
            VarPop => "var_pop",
            VarSamp => "var_samp",
            StddevPop => "stddev_pop",
            StddevSamp => "stddev_samp",
        }
    }

    /// Computes the aggregate over a whole group. `values` are the argument datums of each
    /// input row (followed by its ORDER BY keys) with multiplicities; rows were already
    /// filtered and, for DISTINCT, deduplicated.
    pub fn eval_group<'a>(
        &self,
        mut values: Vec<(Vec<Datum<'a>>, Diff)>,
        order_by: &[ColumnOrder],
        arena: &'a RowArena,
    ) -> Result<Datum<'a>, EvalError> {
        use AggregateFunc::*;
        if !order_by.is_empty() {
            values.sort_by(|(a, _), (b, _)| compare_by_order(a, b, order_by));
        } else if self.is_order_sensitive() {
            // Without ORDER BY the order is unspecified; PostgreSQL's DISTINCT aggregates sort
            // their input ascending with NULLs last, and so does evert for every such call
            // (rows otherwise arrive in their packed order, NULL first).
            let arity = values.first().map(|(v, _)| v.len()).unwrap_or(0);
            let ascending: Vec<ColumnOrder> = (0..arity)
                .map(|column| ColumnOrder {
                    column,
                    desc: false,
                    nulls_last: true,
                })
                .collect();
            values.sort_by(|(a, _), (b, _)| compare_by_order(a, b, &ascending));
        }
        // Expand multiplicities for the order-sensitive aggregates; others weigh by count.
        let non_null = || values.iter().filter(|(v, _)| !v[0].is_null());
        Ok(match self {
            Count => {
                let n: Diff = if values.first().is_some_and(|(v, _)| v.is_empty()) {
                    values.iter().map(|(_, d)| *d).sum()
                } else {
                    values
                        .iter()
                        .filter(|(v, _)| v.is_empty() || !v[0].is_null())
                        .map(|(_, d)| *d)
                        .sum()
                };
                Datum::Int64(n)
            }
            SumInt32 | SumInt64 | SumFloat32 | SumFloat64 | SumNumeric | SumInterval => {
                let mut acc = Accumulator::default();
                for (v, d) in values.iter() {
                    acc.add_value(self, v.first().copied().unwrap_or(Datum::Null), *d)?;
                }
                acc.finish(self)?
            }
            Max => non_null().map(|(v, _)| v[0]).max().unwrap_or(Datum::Null),
            Min => non_null().map(|(v, _)| v[0]).min().unwrap_or(Datum::Null),
            BoolAnd | BoolOr => {
                let mut acc = Accumulator::default();
                for (v, d) in values.iter() {
                    acc.add_value(self, v[0], *d)?;
                }
                acc.finish(self)?
            }
            StringAgg => {
                let mut out: Option<String> = None;
                for (v, d) in values.iter() {
                    if v[0].is_null() {
                        continue;
                    }
                    for _ in 0..*d {
                        match &mut out {
                            None => out = Some(v[0].unwrap_str().to_string()),
                            Some(s) => {
                                if !v[1].is_null() {
                                    s.push_str(v[1].unwrap_str());
                                }
                                s.push_str(v[0].unwrap_str());
                            }
                        }
                    }
                }
                match out {
                    Some(s) => Datum::String(arena.push_string(&s)),
                    None => Datum::Null,
                }
            }
            ArrayAgg { .. } => {
                if values.is_empty() {
                    Datum::Null
                } else {
                    arena.make_array(|p| {
                        for (v, d) in values.iter() {
                            for _ in 0..*d {
                                p.push(v[0]);
                            }
                        }
                    })
                }
            }
            JsonbAgg => {
                if values.is_empty() {
                    Datum::Null
                } else {
                    let mut items = Vec::new();
                    for (v, d) in values.iter() {
                        for _ in 0..*d {
                            items.push(crate::scalar::jsonb::datum_to_json(&v[0]));
                        }
                    }
                    Datum::Jsonb(arena.push_string(&evert_repr::adt::jsonb::to_canonical(
                        &serde_json::Value::Array(items),
                    )))
                }
            }
            JsonbObjectAgg => {
                if values.is_empty() {
                    Datum::Null
                } else {
                    let mut map = serde_json::Map::new();
                    for (v, _) in values.iter() {
                        if v[0].is_null() {
                            return Err(EvalError::InvalidParameterValue(
                                "field name must not be null".into(),
                            ));
                        }
                        let key = match v[0] {
                            Datum::String(s) => s.to_string(),
                            other => other.to_string(),
                        };
                        map.insert(key, crate::scalar::jsonb::datum_to_json(&v[1]));
                    }
                    Datum::Jsonb(arena.push_string(&evert_repr::adt::jsonb::to_canonical(
                        &serde_json::Value::Object(map),
                    )))
                }
            }
            VarPop | VarSamp | StddevPop | StddevSamp => {
                variance(self, non_null().map(|(v, d)| (v[0], *d)))?
            }
        })
    }
}

fn variance<'a>(
    func: &AggregateFunc,
    values: impl Iterator<Item = (Datum<'a>, Diff)>,
) -> Result<Datum<'a>, EvalError> {
    let values: Vec<(Datum, Diff)> = values.collect();
    let n: Diff = values.iter().map(|(_, d)| *d).sum();
    let sample = matches!(func, AggregateFunc::VarSamp | AggregateFunc::StddevSamp);
    let sqrt = matches!(func, AggregateFunc::StddevPop | AggregateFunc::StddevSamp);
    if n == 0 || (sample && n == 1) {
        return Ok(Datum::Null);
    }
    let is_float = matches!(values.first(), Some((Datum::Float64(_), _)));
    if is_float {
        let (count, sxx) = float_moments(&values);
        let var = sxx / if sample { count - 1.0 } else { count };
        return Ok(Datum::Float64(if sqrt { var.sqrt() } else { var }));
    }
    numeric_variance(&values, n, sample, sqrt)
}

/// The count and the sum of squared deviations of float values, by PostgreSQL's
/// Youngs-Cramer updates (`float8_accum`, and `float8_combine` for a value repeated `d`
/// times), so that results agree with PostgreSQL's to the last bit when the values come in
/// the same order (here: ascending).
fn float_moments(values: &[(Datum, Diff)]) -> (f64, f64) {
    let mut values = values.to_vec();
    values.sort_by(|(a, _), (b, _)| a.cmp(b));
    let (mut n, mut sx, mut sxx) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (v, d) in &values {
        let v = v.unwrap_float64();
        if *d == 1 {
            let previous = n;
            n += 1.0;
            sx += v;
            if previous > 0.0 {
                let tmp = v * n - sx;
                sxx += tmp * tmp / (n * previous);
            } else if !v.is_finite() {
                sxx = f64::NAN;
            }
        } else {
            let n2 = *d as f64;
            let sx2 = v * n2;
            if n == 0.0 {
                n = n2;
                sx = sx2;
                sxx = if v.is_finite() { 0.0 } else { f64::NAN };
            } else {
                let total = n + n2;
                let tmp = sx / n - sx2 / n2;
                sxx += n * n2 * tmp * tmp / total;
                sx += sx2;
                n = total;
            }
        }
        if sx.is_infinite() || sxx.is_infinite() {
            sxx = f64::NAN;
        }
    }
    (n, sxx)
}

/// PostgreSQL's numeric variance (`numeric_stddev_internal`): from the exact sums
/// `Σx` and `Σx²`, `(N·Σx² − (Σx)²) / (N·(N−1))` (or `N·N` for the population), divided with
/// the scale rule of numeric division (at least 16 significant digits, and no fewer
/// fractional digits than `2·scale(Σx)`); the square root keeps that scale. A numerator that
/// is not positive gives exactly `0`.
fn numeric_variance(
    values: &[(Datum, Diff)],
    n: Diff,
    sample: bool,
    sqrt: bool,
) -> Result<Datum<'static>, EvalError> {
    let count = Decimal::from(n);
    let mut sum = Decimal::ZERO;
    let mut sum_squares = Decimal::ZERO;
    let mut scale = 0;
    for (v, d) in values {
        let v = v.unwrap_numeric();
        let d = Decimal::from(*d);
        scale = scale.max(v.scale());
        let term = v.checked_mul(d).ok_or(EvalError::NumericOverflow)?;
        sum = sum.checked_add(term).ok_or(EvalError::NumericOverflow)?;
        let square = v
            .checked_mul(v)
            .and_then(|sq| sq.checked_mul(d))
            .ok_or(EvalError::NumericOverflow)?;
        sum_squares = sum_squares
            .checked_add(square)
            .ok_or(EvalError::NumericOverflow)?;
    }
    let numerator = count
        .checked_mul(sum_squares)
        .and_then(|a| sum.checked_mul(sum).and_then(|b| a.checked_sub(b)))
        .ok_or(EvalError::NumericOverflow)?;
    if numerator <= Decimal::ZERO {
        return Ok(Datum::Numeric(Decimal::ZERO));
    }
    let numerator = numeric::rescale(numerator, (2 * scale).min(numeric::MAX_SCALE));
    let denominator = count
        .checked_mul(if sample { count - Decimal::ONE } else { count })
        .ok_or(EvalError::NumericOverflow)?;
    let variance = numeric::div(numerator, denominator)
        .map_err(|_| EvalError::NumericOverflow)?
        .ok_or(EvalError::NumericOverflow)?;
    if !sqrt {
        return Ok(Datum::Numeric(variance));
    }
    let root = variance.sqrt().ok_or(EvalError::NumericOverflow)?;
    Ok(Datum::Numeric(numeric::rescale(root, variance.scale())))
}

/// The running state of an accumulable aggregate. Adding a value with multiplicity `d` and
/// later the same value with `-d` returns it to where it was; this is what lets the dataflow
/// keep it as the "difference" of an update and maintain it by addition alone.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Accumulator {
    /// Rows counted (for count(*) and to know whether a sum saw any non-NULL value).
    pub count: i64,
    /// Integer sums (exact).
    pub int_sum: i128,
    /// Float sums, also exact: rounded only when read.
    pub float_sum: ExactFloatSum,
    /// A numeric sum, kept exact as one mantissa sum per scale, with the number of values of
    /// that scale: `(scale, Σ mantissa, count)`. Adding and retracting the same values always
    /// returns it to zero, and it cannot overflow before ~2^31 maximal values; combining the
    /// scales happens only in `finish`, which gives the sum the largest scale among the
    /// values present, as PostgreSQL does (even when they cancel out: 1.25 + -1.25 is 0.00).
    pub numeric_parts: Vec<(u32, i128, i64)>,
    pub interval_months: i64,
    pub interval_days: i64,
    pub interval_micros: i128,
    /// For bool_and/bool_or: number of TRUE and FALSE inputs.
    pub trues: i64,
    pub falses: i64,
}

impl Accumulator {
    /// Adds a (non-NULL) value with multiplicity `d`. NULLs are skipped by the caller for
    /// all aggregates except `count(*)`.
    pub fn add_value(
        &mut self,
        func: &AggregateFunc,
        value: Datum,
        d: Diff,
    ) -> Result<(), EvalError> {
        use AggregateFunc::*;
        if value.is_null() {
            return Ok(());
        }
        self.count += d;
        match (func, value) {
            (SumInt32 | SumInt64, Datum::Int16(i)) => self.int_sum += i128::from(i) * i128::from(d),
            (SumInt32 | SumInt64, Datum::Int32(i)) => self.int_sum += i128::from(i) * i128::from(d),
            (SumInt32 | SumInt64, Datum::Int64(i)) => self.int_sum += i128::from(i) * i128::from(d),
            (SumFloat32, Datum::Float32(f)) => self.float_sum.add(f64::from(f), d),
            (SumFloat64, Datum::Float64(f)) => self.float_sum.add(f, d),
            (SumNumeric, Datum::Numeric(n)) => add_numeric_part(
                &mut self.numeric_parts,
                n.scale(),
                n.mantissa() * i128::from(d),
                d,
            ),
            (SumInterval, Datum::Interval(iv)) => {
                self.interval_months += i64::from(iv.months) * d;
                self.interval_days += i64::from(iv.days) * d;
                self.interval_micros += i128::from(iv.micros) * i128::from(d);
            }
            (BoolAnd | BoolOr, Datum::True) => self.trues += d,
            (BoolAnd | BoolOr, Datum::False) => self.falses += d,
            (Count, _) => {}
            (func, value) => {
                return Err(EvalError::Internal(format!(
                    "{} cannot accumulate {value:?}",
                    func.name()
                )));
            }
        }
        Ok(())
    }

    pub fn plus_equals(&mut self, other: &Accumulator) {
        self.count += other.count;
        self.int_sum += other.int_sum;
        self.float_sum.plus_equals(&other.float_sum);
        for (scale, m, count) in &other.numeric_parts {
            add_numeric_part(&mut self.numeric_parts, *scale, *m, *count);
        }
        self.interval_months += other.interval_months;
        self.interval_days += other.interval_days;
        self.interval_micros += other.interval_micros;
        self.trues += other.trues;
        self.falses += other.falses;
    }

    /// The aggregate's value from the accumulated state.
    pub fn finish(&self, func: &AggregateFunc) -> Result<Datum<'static>, EvalError> {
        use AggregateFunc::*;
        if self.count < 0 {
            return Err(EvalError::Internal(format!(
                "{} accumulated a negative count",
                func.name()
            )));
        }
        if self.count == 0 && *func != Count {
            return Ok(Datum::Null);
        }
        Ok(match func {
            Count => Datum::Int64(self.count),
            SumInt32 => Datum::Int64(
                i64::try_from(self.int_sum)
                    .map_err(|_| EvalError::IntegerOutOfRange("bigint".into()))?,
            ),
            SumInt64 => Datum::Numeric(
                Decimal::try_from_i128_with_scale(self.int_sum, 0)
                    .map_err(|_| EvalError::NumericOverflow)?,
            ),
            // As in PostgreSQL, a finite sum too large for the type is an error.
            SumFloat32 => {
                let sum = self.float_sum.value();
                let narrowed = sum as f32;
                if narrowed.is_infinite() && self.float_sum.value_is_finite_sum() {
                    return Err(EvalError::FloatOutOfRange);
                }
                Datum::Float32(narrowed)
            }
            SumFloat64 => {
                let sum = self.float_sum.value();
                if sum.is_infinite() && self.float_sum.value_is_finite_sum() {
                    return Err(EvalError::FloatOutOfRange);
                }
                Datum::Float64(sum)
            }
            SumNumeric => Datum::Numeric(numeric::normalize_zero(self.numeric_sum()?)),
            SumInterval => Datum::Interval(evert_repr::Interval {
                months: i32::try_from(self.interval_months)
                    .map_err(|_| EvalError::IntervalOutOfRange)?,
                days: i32::try_from(self.interval_days)
                    .map_err(|_| EvalError::IntervalOutOfRange)?,
                micros: i64::try_from(self.interval_micros)
                    .map_err(|_| EvalError::IntervalOutOfRange)?,
            }),
            BoolAnd => Datum::from_bool(self.falses == 0),
            BoolOr => Datum::from_bool(self.trues > 0),
            other => {
                return Err(EvalError::Internal(format!(
                    "{} is not accumulable",
                    other.name()
                )))
            }
        })
    }

    /// Multiplies every contribution by `factor` (a multiplicity).
    pub fn scale_by(&mut self, factor: i64) {
        self.count *= factor;
        self.int_sum *= i128::from(factor);
        self.float_sum.scale_by(factor);
        for (_, m, count) in &mut self.numeric_parts {
            *m *= i128::from(factor);
            *count *= factor;
        }
        self.numeric_parts
            .retain(|(_, m, count)| *m != 0 || *count != 0);
        self.interval_months *= factor;
        self.interval_days *= factor;
        self.interval_micros *= i128::from(factor);
        self.trues *= factor;
        self.falses *= factor;
    }

    /// The exact numeric sum, combining the per-scale parts, with the largest scale among the
    /// values present.
    pub fn numeric_sum(&self) -> Result<Decimal, EvalError> {
        let mut total = Decimal::ZERO;
        let mut result_scale = 0;
        for (scale, mantissa, count) in &self.numeric_parts {
            if *count != 0 {
                result_scale = result_scale.max(*scale);
            }
            let part = Decimal::try_from_i128_with_scale(*mantissa, *scale)
                .map_err(|_| EvalError::NumericOverflow)?;
            total = total.checked_add(part).ok_or(EvalError::NumericOverflow)?;
        }
        if total.scale() < result_scale {
            total.rescale(result_scale);
        }
        Ok(total)
    }

    pub fn is_zero(&self) -> bool {
        self.count == 0
            && self.int_sum == 0
            && self.float_sum.is_zero()
            && self.numeric_parts.is_empty()
            && self.interval_months == 0
            && self.interval_days == 0
            && self.interval_micros == 0
            && self.trues == 0
            && self.falses == 0
    }
}

fn add_numeric_part(parts: &mut Vec<(u32, i128, i64)>, scale: u32, mantissa: i128, count: i64) {
    match parts.iter_mut().find(|(s, _, _)| *s == scale) {
        Some((_, m, c)) => {
            *m += mantissa;
            *c += count;
        }
        None => parts.push((scale, mantissa, count)),
    }
    parts.retain(|(_, m, c)| *m != 0 || *c != 0);
    parts.sort_by_key(|(s, _, _)| *s);
}

/// An aggregate call in a `Reduce`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AggregateExpr {
    pub func: AggregateFunc,
    /// The arguments, evaluated on each input row. `count(*)` has none.
    pub args: Vec<MirScalarExpr>,
    /// `agg(DISTINCT …)`: each distinct argument row counts once.
    pub distinct: bool,
    /// `FILTER (WHERE …)`: rows for which this is not TRUE are left out.
    pub filter: Option<MirScalarExpr>,
    /// `agg(… ORDER BY …)`: sort keys evaluated on each input row, after the arguments.
    pub order_by: Vec<(MirScalarExpr, bool, bool)>,
}

impl AggregateExpr {
    pub fn new(func: AggregateFunc, args: Vec<MirScalarExpr>) -> AggregateExpr {
        AggregateExpr {
            func,
            args,
            distinct: false,
            filter: None,
            order_by: vec![],
        }
    }

    pub fn count_star() -> AggregateExpr {
        AggregateExpr::new(AggregateFunc::Count, vec![])
    }

    pub fn typ(&self, input: &[ColumnType]) -> ColumnType {
        let arg_types: Vec<ColumnType> = self.args.iter().map(|a| a.typ(input)).collect();
        self.func.output_type(&arg_types)
    }

    /// The sort order over the packed (args ++ order keys) datums.
    pub fn column_orders(&self) -> Vec<ColumnOrder> {
        self.order_by
            .iter()
            .enumerate()
            .map(|(i, (_, desc, nulls_last))| ColumnOrder {
                column: self.args.len() + i,
                desc: *desc,
                nulls_last: *nulls_last,
            })
            .collect()
    }

    pub fn scalars_mut(&mut self) -> Vec<&mut MirScalarExpr> {
        let mut v: Vec<&mut MirScalarExpr> = self.args.iter_mut().collect();
        if let Some(f) = &mut self.filter {
            v.push(f);
        }
        v.extend(self.order_by.iter_mut().map(|(e, _, _)| e));
        v
    }
}

impl fmt::Display for AggregateExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.func.name())?;
        if self.distinct {
            f.write_str("distinct ")?;
        }
        if self.args.is_empty() {
            f.write_str("*")?;
        }
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        if !self.order_by.is_empty() {
            f.write_str(" order by")?;
            for (e, desc, _) in &self.order_by {
                write!(f, " {e}{}", if *desc { " desc" } else { "" })?;
            }
        }
        f.write_str(")")?;
        if let Some(filter) = &self.filter {
            write!(f, " filter (where {filter})")?;
        }
        Ok(())
    }
}

/// Accumulates a numeric sum exactly; exposed for the float-to-numeric helpers in rendering.
pub fn decimal_from_i128(v: i128) -> Option<Decimal> {
    Decimal::from_i128(v)
}
