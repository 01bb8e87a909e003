//! Casts between types, with PostgreSQL's rounding, range checks and text forms.

use evert_repr::adt::datetime::{DateTime, Interval, Time, MICROS_PER_DAY};
use evert_repr::adt::{jsonb, numeric};
use evert_repr::{strconv, Date, Datum, RowArena, ScalarType};
use rust_decimal::prelude::*;
use rust_decimal::Decimal;

use crate::error::EvalError;

/// Converts `d` to `to`. `assignment` selects the rules for storing into a column (a string
/// longer than `varchar(n)` is an error there, where an explicit cast truncates it).
pub fn cast<'a>(
    d: Datum<'a>,
    to: &ScalarType,
    assignment: bool,
    arena: &'a RowArena,
) -> Result<Datum<'a>, EvalError> {
    use Datum as D;
    use ScalarType as S;
    if d.is_null() {
        return Ok(D::Null);
    }
    Ok(match (d, to) {
        // Text in: parse.
        (D::String(s), S::String) => D::String(s),
        (D::String(s), S::VarChar { max_length }) => {
            D::String(limit_length(s, *max_length, assignment, to)?)
        }
        (D::String(s), S::Char { length }) => {
            D::String(pad_char(s, *length, assignment, to, arena)?)
        }
        (D::String(s), S::Numeric { precision, scale }) => D::Numeric(apply_typmod(
            numeric::parse_numeric(s)?,
            *precision,
            *scale,
        )?),
        (D::String(s), other) => strconv::parse_datum(s, other, arena)?,

        // Text out: PostgreSQL's output format (booleans print as words when cast).
        (D::True, S::String | S::VarChar { .. } | S::Char { .. }) => {
            text_out("true", to, assignment, arena)?
        }
        (D::False, S::String | S::VarChar { .. } | S::Char { .. }) => {
            text_out("false", to, assignment, arena)?
        }
        (D::Jsonb(j), S::String | S::VarChar { .. } | S::Char { .. }) => {
            let s = jsonb::display(j);
            text_out(arena.push_string(&s), to, assignment, arena)?
        }
        (other, S::String | S::VarChar { .. } | S::Char { .. }) => {
            let s = other.to_string();
            text_out(arena.push_string(&s), to, assignment, arena)?
        }

        // Booleans.
        (D::True | D::False, S::Bool) => d,
        (D::Int32(i), S::Bool) => D::from_bool(i != 0),
        (D::Int64(i), S::Bool) => D::from_bool(i != 0),
        (D::True, S::Int32) => D::Int32(1),
        (D::False, S::Int32) => D::Int32(0),
        (D::True, S::Int64) => D::Int64(1),
        (D::False, S::Int64) => D::Int64(0),

        // Numbers.
        (D::Int16(_) | D::Int32(_) | D::Int64(_), S::Int16 | S::Int32 | S::Int64) => {
            int_to_int(int_value(d), to)?
        }
        (D::Int16(_) | D::Int32(_) | D::Int64(_), S::Float32) => D::Float32(int_value(d) as f32),
        (D::Int16(_) | D::Int32(_) | D::Int64(_), S::Float64) => D::Float64(int_value(d) as f64),
        (D::Int16(_) | D::Int32(_) | D::Int64(_), S::Numeric { precision, scale }) => D::Numeric(
            apply_typmod(Decimal::from(int_value(d)), *precision, *scale)?,
        ),
        (D::Float32(f), S::Int16 | S::Int32 | S::Int64) => float_to_int(f64::from(f), to)?,
        (D::Float64(f), S::Int16 | S::Int32 | S::Int64) => float_to_int(f, to)?,
        (D::Float32(f), S::Float32) => D::Float32(f),
        (D::Float32(f), S::Float64) => D::Float64(f64::from(f)),
        (D::Float64(f), S::Float64) => D::Float64(f),
        (D::Float64(f), S::Float32) => {
            let r = f as f32;
            if r.is_infinite() && f.is_finite() {
                return Err(EvalError::FloatOutOfRange);
            }
            D::Float32(r)
        }
        (D::Float32(f), S::Numeric { precision, scale }) => {
            let n = numeric::from_f32(f).ok_or_else(|| cannot_convert(f64::from(f)))?;
            D::Numeric(apply_typmod(n, *precision, *scale)?)
        }
        (D::Float64(f), S::Numeric { precision, scale }) => {
            let n = numeric::from_f64(f).ok_or_else(|| cannot_convert(f))?;
            D::Numeric(apply_typmod(n, *precision, *scale)?)
        }
        (D::Numeric(n), S::Numeric { precision, scale }) => {
            D::Numeric(apply_typmod(n, *precision, *scale)?)
        }
        (D::Numeric(n), S::Int16 | S::Int32 | S::Int64) => {
            let rounded = n.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
            let i = rounded.to_i64().ok_or_else(|| out_of_range(to))?;
            int_to_int(i, to)?
        }
        (D::Numeric(n), S::Float64) => D::Float64(numeric::to_f64(&n)),
        (D::Numeric(n), S::Float32) => D::Float32(numeric::to_f64(&n) as f32),

        // Dates and times.
        (D::Date(_), S::Date) | (D::Time(_), S::Time) | (D::Interval(_), S::Interval) => d,
        (D::Date(date), S::Timestamp) => D::Timestamp(DateTime::from_date(date)),
        (D::Date(date), S::TimestampTz) => D::TimestampTz(DateTime::from_date(date)),
        (D::Timestamp(ts) | D::TimestampTz(ts), S::Date) => D::Date(ts.date()),
        (D::Timestamp(ts) | D::TimestampTz(ts), S::Time) => {
            D::Time(Time(ts.0.rem_euclid(MICROS_PER_DAY)))
        }
        (D::Timestamp(ts) | D::TimestampTz(ts), S::Timestamp) => D::Timestamp(ts),
        (D::Timestamp(ts) | D::TimestampTz(ts), S::TimestampTz) => D::TimestampTz(ts),
        (D::Time(t), S::Interval) => D::Interval(Interval::new(0, 0, t.0)),
        (D::Interval(iv), S::Time) => D::Time(Time(iv.micros.rem_euclid(MICROS_PER_DAY))),

        (D::Uuid(_), S::Uuid) | (D::Bytes(_), S::Bytes) => d,

        // jsonb
        (D::Jsonb(_), S::Jsonb) => d,
        (D::Jsonb(j), S::Bool) => match jsonb::parse(j) {
            serde_json::Value::Bool(b) => D::from_bool(b),
            _ => return Err(jsonb_cast_error(j, "boolean")),
        },
        (
            D::Jsonb(j),
            S::Int16 | S::Int32 | S::Int64 | S::Float32 | S::Float64 | S::Numeric { .. },
        ) => match jsonb::parse(j) {
            serde_json::Value::Number(n) => {
                let text = n.to_string();
                let parsed = strconv::parse_datum(&text, &ScalarType::numeric(), arena)?;
                cast(parsed, to, assignment, arena)?
            }
            _ => return Err(jsonb_cast_error(j, &to.pg_name())),
        },

        // Arrays: cast each element.
        (D::Array(list), S::Array(elem)) => {
            let mut elements = Vec::new();
            for e in list.iter() {
                elements.push(cast(e, elem, assignment, arena)?);
            }
            arena.make_array(|p| p.extend(elements.iter()))
        }

        (d, to) => {
            return Err(EvalError::Internal(format!(
                "no cast from {d:?} to {}",
                to.sql_name()
            )));
        }
    })
}

fn jsonb_cast_error(j: &str, type_name: &str) -> EvalError {
    let v = jsonb::parse(j);
    let kind = match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    EvalError::InvalidParameterValue(format!("cannot cast jsonb {kind} to type {type_name}"))
}

fn cannot_convert(f: f64) -> EvalError {
    let what = if f.is_nan() { "NaN" } else { "infinity" };
    EvalError::InvalidParameterValue(format!("cannot convert {what} to numeric"))
}

fn int_value(d: Datum) -> i64 {
    match d {
        Datum::Int16(i) => i64::from(i),
        Datum::Int32(i) => i64::from(i),
        Datum::Int64(i) => i,
        _ => unreachable!("int_value on a non-integer"),
    }
}

fn out_of_range(to: &ScalarType) -> EvalError {
    EvalError::IntegerOutOfRange(
        match to {
            ScalarType::Int16 => "smallint",
            ScalarType::Int32 => "integer",
            _ => "bigint",
        }
        .into(),
    )
}

fn int_to_int<'a>(i: i64, to: &ScalarType) -> Result<Datum<'a>, EvalError> {
    Ok(match to {
        ScalarType::Int16 => Datum::Int16(i16::try_from(i).map_err(|_| out_of_range(to))?),
        ScalarType::Int32 => Datum::Int32(i32::try_from(i).map_err(|_| out_of_range(to))?),
        _ => Datum::Int64(i),
    })
}

/// Float to integer rounds half to even (PostgreSQL uses `rint`).
fn float_to_int<'a>(f: f64, to: &ScalarType) -> Result<Datum<'a>, EvalError> {
    if !f.is_finite() {
        return Err(out_of_range(to));
    }
    let r = {
        let rounded = f.round();
        if (f - f.trunc()).abs() == 0.5 {
            2.0 * (f / 2.0).round()
        } else {
            rounded
        }
    };
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
        return Err(out_of_range(to));
    }
    int_to_int(r as i64, to)
}

pub fn apply_typmod(
    n: Decimal,
    precision: Option<u8>,
    scale: Option<u8>,
) -> Result<Decimal, EvalError> {
    numeric::apply_typmod(n, precision, scale).map_err(|e| match e {
        numeric::NumericError::FieldOverflow { precision, scale } => {
            EvalError::NumericFieldOverflow { precision, scale }
        }
        numeric::NumericError::Overflow => EvalError::NumericOverflow,
    })
}

fn text_out<'a>(
    s: &'a str,
    to: &ScalarType,
    assignment: bool,
    arena: &'a RowArena,
) -> Result<Datum<'a>, EvalError> {
    Ok(match to {
        ScalarType::VarChar { max_length } => {
            Datum::String(limit_length(s, *max_length, assignment, to)?)
        }
        ScalarType::Char { length } => Datum::String(pad_char(s, *length, assignment, to, arena)?),
        _ => Datum::String(s),
    })
}

/// `varchar(n)`: an explicit cast truncates; assignment refuses unless only blanks are cut.
fn limit_length<'a>(
    s: &'a str,
    max: Option<u32>,
    assignment: bool,
    to: &ScalarType,
) -> Result<&'a str, EvalError> {
    let Some(max) = max else { return Ok(s) };
    match s.char_indices().nth(max as usize) {
        None => Ok(s),
        Some((cut, _)) => {
            if assignment && !s[cut..].chars().all(|c| c == ' ') {
                Err(EvalError::StringTooLong {
                    type_name: to.sql_name(),
                })
            } else {
                Ok(&s[..cut])
            }
        }
    }
}

/// `char(n)`: blank-padded to n characters.
fn pad_char<'a>(
    s: &'a str,
    length: u32,
    assignment: bool,
    to: &ScalarType,
    arena: &'a RowArena,
) -> Result<&'a str, EvalError> {
    let truncated = limit_length(s, Some(length), assignment, to)?;
    let count = truncated.chars().count();
    if count as u32 >= length {
        return Ok(truncated);
    }
    let mut padded = String::with_capacity(truncated.len() + length as usize - count);
    padded.push_str(truncated);
    for _ in count..length as usize {
        padded.push(' ');
    }
    Ok(arena.push_string(&padded))
}

/// Whether a cast exists at all between two types (the planner decides when it may be
/// implicit).
pub fn cast_exists(from: &ScalarType, to: &ScalarType) -> bool {
    use ScalarType as S;
    if from.base_eq(to) {
        return true;
    }
    match (from, to) {
        (S::Unknown, _) => true,
        (S::String | S::VarChar { .. } | S::Char { .. }, _) => true,
        (_, S::String | S::VarChar { .. } | S::Char { .. }) => true,
        (a, b) if a.is_numeric_family() && b.is_numeric_family() => true,
        (S::Bool, S::Int32 | S::Int64) | (S::Int32 | S::Int64, S::Bool) => true,
        (S::Date, S::Timestamp | S::TimestampTz) => true,
        (S::Timestamp | S::TimestampTz, S::Date | S::Time | S::Timestamp | S::TimestampTz) => true,
        (S::Time, S::Interval) | (S::Interval, S::Time) => true,
        (S::Jsonb, b) if b.is_numeric_family() || *b == S::Bool => true,
        (S::Array(a), S::Array(b)) => cast_exists(a, b),
        _ => false,
    }
}

/// A date from a timestamp (used by the planner's constant folding helpers).
pub fn timestamp_to_date(ts: DateTime) -> Date {
    ts.date()
}
