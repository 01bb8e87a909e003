//! Table functions: functions that return a relation per input row (`generate_series`,
//! `unnest`, `jsonb_each`, …), used in FROM and LATERAL.

use std::fmt;

use evert_repr::adt::datetime::{self, DateTime, Interval};
use evert_repr::adt::jsonb;
use evert_repr::{ColumnType, Datum, Diff, RelationType, Row, RowArena, ScalarType};

use crate::error::EvalError;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableFunc {
    GenerateSeriesInt32,
    GenerateSeriesInt64,
    GenerateSeriesTimestamp {
        tz: bool,
    },
    /// `unnest(array)`
    Unnest {
        elem_type: ScalarType,
    },
    /// `jsonb_array_elements[_text](jsonb)`
    JsonbArrayElements {
        as_text: bool,
    },
    /// `jsonb_each[_text](jsonb)`: (key, value)
    JsonbEach {
        as_text: bool,
    },
    /// `jsonb_object_keys(jsonb)`
    JsonbObjectKeys,
    /// `regexp_split_to_table(text, pattern)`
    RegexpSplitToTable,
}

/// Guards against a single row expanding into an unbounded number of rows.
const MAX_SERIES_ROWS: i64 = 100_000_000;

impl TableFunc {
    pub fn output_type(&self) -> RelationType {
        let col = |t: ScalarType, nullable: bool| ColumnType::new(t, nullable);
        RelationType::new(match self {
            TableFunc::GenerateSeriesInt32 => vec![col(ScalarType::Int32, false)],
            TableFunc::GenerateSeriesInt64 => vec![col(ScalarType::Int64, false)],
            TableFunc::GenerateSeriesTimestamp { tz: false } => {
                vec![col(ScalarType::Timestamp, false)]
            }
            TableFunc::GenerateSeriesTimestamp { tz: true } => {
                vec![col(ScalarType::TimestampTz, false)]
            }
            TableFunc::Unnest { elem_type } => vec![col(elem_type.clone(), true)],
            TableFunc::JsonbArrayElements { as_text } => {
                vec![col(
                    if *as_text {
                        ScalarType::String
                    } else {
                        ScalarType::Jsonb
                    },
                    true,
                )]
            }
            TableFunc::JsonbObjectKeys => vec![col(ScalarType::String, false)],
            TableFunc::JsonbEach { as_text } => vec![
                col(ScalarType::String, false),
                col(
                    if *as_text {
                        ScalarType::String
                    } else {
                        ScalarType::Jsonb
                    },
                    true,
                ),
            ],
            TableFunc::RegexpSplitToTable => vec![col(ScalarType::String, false)],
        })
    }

    /// Default column names, as PostgreSQL names them.
    pub fn column_names(&self, function_name: &str) -> Vec<String> {
        match self {
            TableFunc::JsonbEach { .. } => vec!["key".into(), "value".into()],
            TableFunc::JsonbArrayElements { .. } => vec!["value".into()],
            _ => vec![function_name.to_string()],
        }
    }

    /// Evaluates the function on its arguments, producing output rows with multiplicities.
    pub fn eval(&self, args: &[Datum], _arena: &RowArena) -> Result<Vec<(Row, Diff)>, EvalError> {
        if args.iter().any(|a| a.is_null()) {
            return Ok(vec![]);
        }
        let mut out = Vec::new();
        match self {
            TableFunc::GenerateSeriesInt32 | TableFunc::GenerateSeriesInt64 => {
                let as_i64 = |d: &Datum| match d {
                    Datum::Int32(i) => i64::from(*i),
                    Datum::Int64(i) => *i,
                    _ => 0,
                };
                let (start, stop) = (as_i64(&args[0]), as_i64(&args[1]));
                let step = args.get(2).map(as_i64).unwrap_or(1);
                if step == 0 {
                    return Err(EvalError::InvalidArgument(
                        "step size cannot equal zero".into(),
                    ));
                }
                let count = if (step > 0 && start <= stop) || (step < 0 && start >= stop) {
                    (i128::from(stop) - i128::from(start)) / i128::from(step) + 1
                } else {
                    0
                };
                if count > i128::from(MAX_SERIES_ROWS) {
                    return Err(EvalError::InvalidArgument(format!(
                        "generate_series would produce {count} rows"
                    )));
                }
                let mut v = start;
                for _ in 0..count {
                    let d = if *self == TableFunc::GenerateSeriesInt32 {
                        Datum::Int32(v as i32)
                    } else {
                        Datum::Int64(v)
                    };
                    out.push((Row::of(d), 1));
                    v = v.wrapping_add(step);
                }
            }
            TableFunc::GenerateSeriesTimestamp { tz } => {
                let (start, stop) = (args[0].unwrap_timestamp(), args[1].unwrap_timestamp());
                let step: Interval = args[2].unwrap_interval();
                if step.as_span_micros() == 0 {
                    return Err(EvalError::InvalidArgument(
                        "step size cannot equal zero".into(),
                    ));
                }
                let forward = step.as_span_micros() > 0;
                let mut current: DateTime = start;
                while (forward && current <= stop) || (!forward && current >= stop) {
                    out.push((
                        Row::of(if *tz {
                            Datum::TimestampTz(current)
                        } else {
                            Datum::Timestamp(current)
                        }),
                        1,
                    ));
                    if out.len() as i64 > MAX_SERIES_ROWS {
                        return Err(EvalError::InvalidArgument(
                            "generate_series would produce too many rows".into(),
                        ));
                    }
                    current = datetime::timestamp_add_interval(current, &step)
                        .ok_or(EvalError::DateTimeOutOfRange("timestamp".into()))?;
                }
            }
            TableFunc::Unnest { .. } => {
                for e in args[0].unwrap_array().iter() {
                    out.push((Row::of(e), 1));
                }
            }
            TableFunc::JsonbArrayElements { as_text } => match jsonb::parse(args[0].unwrap_jsonb())
            {
                serde_json::Value::Array(items) => {
                    for item in items {
                        out.push((json_row(&item, *as_text), 1));
                    }
                }
                _ => {
                    return Err(EvalError::InvalidParameterValue(
                        "cannot extract elements from an object".into(),
                    ))
                }
            },
            TableFunc::JsonbEach { as_text } => match jsonb::parse(args[0].unwrap_jsonb()) {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        let mut row = json_row(&v, *as_text);
                        let value = row.clone();
                        row.packer().push(Datum::String(&k));
                        row.appender().extend_by_row(&value);
                        out.push((row, 1));
                    }
                }
                _ => {
                    return Err(EvalError::InvalidParameterValue(
                        "cannot call jsonb_each on a non-object".into(),
                    ))
                }
            },
            TableFunc::JsonbObjectKeys => match jsonb::parse(args[0].unwrap_jsonb()) {
                serde_json::Value::Object(map) => {
                    for k in map.keys() {
                        out.push((Row::of(Datum::String(k)), 1));
                    }
                }
                _ => {
                    return Err(EvalError::InvalidParameterValue(
                        "cannot call jsonb_object_keys on a non-object".into(),
                    ))
                }
            },
            TableFunc::RegexpSplitToTable => {
                let regex =
                    crate::scalar::func::AnalyzedRegex::compiled(args[1].unwrap_str(), false)?;
                for part in regex.split(args[0].unwrap_str()) {
                    out.push((Row::of(Datum::String(part)), 1));
                }
            }
        }
        Ok(out)
    }

    pub fn name(&self) -> &'static str {
        match self {
            TableFunc::GenerateSeriesInt32
            | TableFunc::GenerateSeriesInt64
            | TableFunc::GenerateSeriesTimestamp { .. } => "generate_series",
            TableFunc::Unnest { .. } => "unnest",
            TableFunc::JsonbArrayElements { as_text: false } => "jsonb_array_elements",
            TableFunc::JsonbArrayElements { as_text: true } => "jsonb_array_elements_text",
            TableFunc::JsonbEach { as_text: false } => "jsonb_each",
            TableFunc::JsonbEach { as_text: true } => "jsonb_each_text",
            TableFunc::JsonbObjectKeys => "jsonb_object_keys",
            TableFunc::RegexpSplitToTable => "regexp_split_to_table",
        }
    }
}

fn json_row(v: &serde_json::Value, as_text: bool) -> Row {
    if as_text {
        match v {
            serde_json::Value::Null => Row::of(Datum::Null),
            serde_json::Value::String(s) => Row::of(Datum::String(s)),
            other => Row::of(Datum::String(&jsonb::display(&jsonb::to_canonical(other)))),
        }
    } else {
        Row::of(Datum::Jsonb(&jsonb::to_canonical(v)))
    }
}

impl fmt::Display for TableFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
