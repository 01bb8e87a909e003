//! Scalar functions: unary, binary, variadic and unmaterializable.
//!
//! Each function is an enum variant with three things attached: how it evaluates, what type
//! it returns given its argument types, and how it prints in EXPLAIN. Overload resolution
//! (which variant `+` means for `int + int` versus `date + interval`) happens in the planner,
//! which also inserts the casts that make argument types agree; evaluation then dispatches
//! on the datum variants it receives.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use evert_repr::adt::datetime::{self, DateTime, Interval, MICROS_PER_DAY};
use evert_repr::adt::numeric;
use evert_repr::{ColumnType, Datum, RowArena, ScalarType};
use rust_decimal::prelude::*;
use rust_decimal::Decimal;

use crate::error::EvalError;
use crate::scalar::cast;
use crate::scalar::like::like;
use crate::scalar::MirScalarExpr;

/// A regular expression compiled once at plan time. Compared and hashed by its source.
#[derive(Clone, Debug)]
pub struct AnalyzedRegex {
    pub source: String,
    pub case_insensitive: bool,
    pub regex: regex::Regex,
}

impl AnalyzedRegex {
    pub fn new(source: &str, case_insensitive: bool) -> Result<AnalyzedRegex, EvalError> {
        // PostgreSQL's `.` matches a newline unless a flag says otherwise.
        let regex = regex::RegexBuilder::new(source)
            .case_insensitive(case_insensitive)
            .dot_matches_new_line(true)
            .build()
            .map_err(|e| EvalError::InvalidRegex(e.to_string()))?;
        Ok(AnalyzedRegex {
            source: source.to_string(),
            case_insensitive,
            regex,
        })
    }

    /// The compiled regex for a pattern that arrives as a value at evaluation time (as in
    /// `regexp_match(url, '(&|^)channel_id=([^&]*)')` over every row of a view). Compiling
    /// costs far more than matching, and the pattern is nearly always the same literal, so
    /// each thread keeps the regexes it compiled last (a `Regex` clone shares the program).
    pub fn compiled(source: &str, case_insensitive: bool) -> Result<regex::Regex, EvalError> {
        const CACHED: usize = 16;
        thread_local! {
            static RECENT: std::cell::RefCell<Vec<(String, bool, regex::Regex)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            if let Some((_, _, regex)) = recent
                .iter()
                .find(|(s, ci, _)| s == source && *ci == case_insensitive)
            {
                return Ok(regex.clone());
            }
            let regex = AnalyzedRegex::new(source, case_insensitive)?.regex;
            if recent.len() == CACHED {
                recent.remove(0);
            }
            recent.push((source.to_string(), case_insensitive, regex.clone()));
            Ok(regex)
        })
    }
}

impl PartialEq for AnalyzedRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.case_insensitive == other.case_insensitive
    }
}
impl Eq for AnalyzedRegex {}
impl PartialOrd for AnalyzedRegex {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for AnalyzedRegex {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.source, self.case_insensitive).cmp(&(&other.source, other.case_insensitive))
    }
}
impl Hash for AnalyzedRegex {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.source.hash(state);
        self.case_insensitive.hash(state);
    }
}

fn int_range_error(t: &ScalarType) -> EvalError {
    EvalError::IntegerOutOfRange(
        match t {
            ScalarType::Int16 => "smallint",
            ScalarType::Int32 => "integer",
            _ => "bigint",
        }
        .into(),
    )
}

/// Checks a float result the way PostgreSQL's `float8_pl` and friends do: an infinite
/// result from finite inputs is an overflow.
fn check_f64(result: f64, inputs_finite: bool) -> Result<f64, EvalError> {
    if result.is_infinite() && inputs_finite {
        Err(EvalError::FloatOutOfRange)
    } else {
        Ok(result)
    }
}

fn check_f32(result: f32, inputs_finite: bool) -> Result<f32, EvalError> {
    if result.is_infinite() && inputs_finite {
        Err(EvalError::FloatOutOfRange)
    } else {
        Ok(result)
    }
}

fn numeric_err(e: numeric::NumericError) -> EvalError {
    match e {
        numeric::NumericError::Overflow => EvalError::NumericOverflow,
        numeric::NumericError::FieldOverflow { precision, scale } => {
            EvalError::NumericFieldOverflow { precision, scale }
        }
    }
}

fn ts_out_of_range() -> EvalError {
    EvalError::DateTimeOutOfRange("timestamp".into())
}

// ---------------------------------------------------------------------------------------
// Unary functions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnaryFunc {
    Not,
    IsNull,
    IsTrue,
    IsFalse,
    Neg,
    Abs,
    /// An explicit or implicit cast (`varchar(n)` truncates).
    Cast(ScalarType),
    /// An assignment cast into a column (`varchar(n)` refuses longer strings).
    CastAssign(ScalarType),
    Ceil,
    Floor,
    Round,
    Trunc,
    Sqrt,
    Cbrt,
    Exp,
    Ln,
    Log10,
    Sign,
    Degrees,
    Radians,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Cot,
    Lower,
    Upper,
    CharLength,
    OctetLength,
    BitLength,
    TrimWhitespace,
    LTrimWhitespace,
    RTrimWhitespace,
    Reverse,
    Initcap,
    Md5,
    Ascii,
    Chr,
    /// `text ~ 'literal pattern'`
    IsRegexpMatch(AnalyzedRegex),
    /// `text LIKE 'literal pattern'`
    IsLikeMatch {
        pattern: String,
        case_insensitive: bool,
    },
    /// `jsonb_typeof`
    JsonbTypeof,
    /// `jsonb_array_length`
    JsonbArrayLength,
    /// `cardinality`: the number of elements, 0 for an empty array
    Cardinality,
    /// `pg_typeof`-like helpers are planned as literals; this is `quote_ident`.
    QuoteIdent,
    /// `jsonb_pretty`
    JsonbPretty,
    /// `sha256(bytea)`
    Sha256,
}

impl UnaryFunc {
    /// True if a NULL argument yields NULL without evaluating the function.
    pub fn propagates_nulls(&self) -> bool {
        !matches!(
            self,
            UnaryFunc::IsNull | UnaryFunc::IsTrue | UnaryFunc::IsFalse
        )
    }

    pub fn eval<'a>(&self, d: Datum<'a>, arena: &'a RowArena) -> Result<Datum<'a>, EvalError> {
        use UnaryFunc::*;
        Ok(match self {
            Not => Datum::from_bool(!d.unwrap_bool()),
            IsNull => Datum::from_bool(d.is_null()),
            IsTrue => Datum::from_bool(matches!(d, Datum::True)),
            IsFalse => Datum::from_bool(matches!(d, Datum::False)),
            Neg => match d {
                Datum::Int16(i) => Datum::Int16(
                    i.checked_neg()
                        .ok_or(EvalError::IntegerOutOfRange("smallint".into()))?,
                ),
                Datum::Int32(i) => Datum::Int32(
                    i.checked_neg()
                        .ok_or(EvalError::IntegerOutOfRange("integer".into()))?,
                ),
                Datum::Int64(i) => Datum::Int64(
                    i.checked_neg()
                        .ok_or(EvalError::IntegerOutOfRange("bigint".into()))?,
                ),
                Datum::Float32(f) => Datum::Float32(-f),
                Datum::Float64(f) => Datum::Float64(-f),
                Datum::Numeric(n) => Datum::Numeric(numeric::normalize_zero(-n)),
                Datum::Interval(i) => {
                    Datum::Interval(i.checked_neg().ok_or(EvalError::IntervalOutOfRange)?)
                }
                other => return Err(unexpected("-", other)),
            },
            Abs => match d {
                Datum::Int16(i) => Datum::Int16(
                    i.checked_abs()
                        .ok_or(EvalError::IntegerOutOfRange("smallint".into()))?,
                ),
                Datum::Int32(i) => Datum::Int32(
                    i.checked_abs()
                        .ok_or(EvalError::IntegerOutOfRange("integer".into()))?,
                ),
                Datum::Int64(i) => Datum::Int64(
                    i.checked_abs()
                        .ok_or(EvalError::IntegerOutOfRange("bigint".into()))?,
                ),
                Datum::Float32(f) => Datum::Float32(f.abs()),
                Datum::Float64(f) => Datum::Float64(f.abs()),
                Datum::Numeric(n) => Datum::Numeric(n.abs()),
                other => return Err(unexpected("abs", other)),
            },
            Cast(to) => cast::cast(d, to, false, arena)?,
            CastAssign(to) => cast::cast(d, to, true, arena)?,
            Ceil => float_or_numeric(d, f64::ceil, f32::ceil, |n| n.ceil())?,
            Floor => float_or_numeric(d, f64::floor, f32::floor, |n| n.floor())?,
            Round => float_or_numeric(
                d,
                round_half_even,
                |f| round_half_even(f64::from(f)) as f32,
                |n| n.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero),
            )?,
            Trunc => float_or_numeric(d, f64::trunc, f32::trunc, |n| n.trunc())?,
            Sqrt => match d {
                Datum::Float64(f) if f < 0.0 => return Err(EvalError::NegativeSquareRoot),
                Datum::Float64(f) => Datum::Float64(f.sqrt()),
                Datum::Numeric(n) if n.is_sign_negative() && !n.is_zero() => {
                    return Err(EvalError::NegativeSquareRoot)
                }
                Datum::Numeric(n) => Datum::Numeric(numeric_sqrt(n)?),
                other => return Err(unexpected("sqrt", other)),
            },
            Cbrt => Datum::Float64(d.unwrap_float64().cbrt()),
            Exp => match d {
                Datum::Float64(f) => Datum::Float64(check_f64(f.exp(), f.is_finite())?),
                Datum::Numeric(n) => {
                    let r = n.checked_exp().ok_or(EvalError::NumericOverflow)?;
                    Datum::Numeric(numeric_result(r, numeric::exp_scale(&n))?)
                }
                other => return Err(unexpected("exp", other)),
            },
            Ln => log_fn(d, f64::ln, |n| Ok((n.checked_ln(), numeric::ln_scale(&n))))?,
            Log10 => log_fn(d, f64::log10, |n| {
                Ok((n.checked_log10(), numeric::log_scale(&Decimal::TEN, &n)))
            })?,
            Sign => match d {
                Datum::Float64(f) => Datum::Float64(if f > 0.0 {
                    1.0
                } else if f < 0.0 {
                    -1.0
                } else {
                    0.0
                }),
                Datum::Numeric(n) => Datum::Numeric(if n.is_zero() {
                    Decimal::ZERO
                } else if n.is_sign_negative() {
                    Decimal::NEGATIVE_ONE
                } else {
                    Decimal::ONE
                }),
                other => return Err(unexpected("sign", other)),
            },
            Degrees => Datum::Float64(d.unwrap_float64().to_degrees()),
            Radians => Datum::Float64(d.unwrap_float64().to_radians()),
            Sin => Datum::Float64(d.unwrap_float64().sin()),
            Cos => Datum::Float64(d.unwrap_float64().cos()),
            Tan => Datum::Float64(d.unwrap_float64().tan()),
            Asin => trig_domain(d.unwrap_float64(), f64::asin)?,
            Acos => trig_domain(d.unwrap_float64(), f64::acos)?,
            Atan => Datum::Float64(d.unwrap_float64().atan()),
            Cot => Datum::Float64(1.0 / d.unwrap_float64().tan()),
            Lower => Datum::String(arena.push_string(&d.unwrap_str().to_lowercase())),
            Upper => Datum::String(arena.push_string(&d.unwrap_str().to_uppercase())),
            CharLength => Datum::Int32(d.unwrap_str().chars().count() as i32),
            OctetLength => match d {
                Datum::Bytes(b) => Datum::Int32(b.len() as i32),
                d => Datum::Int32(d.unwrap_str().len() as i32),
            },
            BitLength => match d {
                Datum::Bytes(b) => Datum::Int32(b.len() as i32 * 8),
                d => Datum::Int32(d.unwrap_str().len() as i32 * 8),
            },
            TrimWhitespace => Datum::String(d.unwrap_str().trim_matches(' ')),
            LTrimWhitespace => Datum::String(d.unwrap_str().trim_start_matches(' ')),
            RTrimWhitespace => Datum::String(d.unwrap_str().trim_end_matches(' ')),
            Reverse => {
                Datum::String(arena.push_string(&d.unwrap_str().chars().rev().collect::<String>()))
            }
            Initcap => Datum::String(arena.push_string(&initcap(d.unwrap_str()))),
            Md5 => {
                use md5::{Digest, Md5 as Hasher};
                let bytes: &[u8] = match d {
                    Datum::Bytes(b) => b,
                    d => d.unwrap_str().as_bytes(),
                };
                let digest = Hasher::digest(bytes);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                Datum::String(arena.push_string(&hex))
            }
            Ascii => Datum::Int32(d.unwrap_str().chars().next().map(|c| c as i32).unwrap_or(0)),
            Chr => {
                let code = d.unwrap_int32();
                let c = u32::try_from(code)
                    .ok()
                    .filter(|c| *c != 0)
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        EvalError::InvalidParameterValue(format!(
                            "requested character not valid for encoding: {code}"
                        ))
                    })?;
                Datum::String(arena.push_string(&c.to_string()))
            }
            IsRegexpMatch(regex) => Datum::from_bool(regex.regex.is_match(d.unwrap_str())),
            IsLikeMatch {
                pattern,
                case_insensitive,
            } => Datum::from_bool(
                like(d.unwrap_str(), pattern, *case_insensitive, Some('\\'))
                    .map_err(EvalError::InvalidArgument)?,
            ),
            JsonbTypeof => {
                let v = evert_repr::adt::jsonb::parse(d.unwrap_jsonb());
                Datum::String(match v {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "boolean",
                    serde_json::Value::Number(_) => "number",
                    serde_json::Value::String(_) => "string",
                    serde_json::Value::Array(_) => "array",
                    serde_json::Value::Object(_) => "object",
                })
            }
            JsonbArrayLength => match evert_repr::adt::jsonb::parse(d.unwrap_jsonb()) {
                serde_json::Value::Array(a) => Datum::Int32(a.len() as i32),
                _ => {
                    return Err(EvalError::InvalidParameterValue(
                        "cannot get array length of a non-array".into(),
                    ))
                }
            },
            // The number of elements: 0 for an empty array (array_length gives NULL).
            Cardinality => Datum::Int32(d.unwrap_array().len() as i32),
            JsonbPretty => {
                Datum::String(arena.push_string(&crate::scalar::jsonb::pretty(d.unwrap_jsonb())))
            }
            Sha256 => {
                Datum::Bytes(arena.push_bytes(&crate::scalar::bytea::sha256(d.unwrap_bytes())))
            }
            QuoteIdent => {
                let s = d.unwrap_str();
                let plain = !s.is_empty()
                    && s.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if plain {
                    Datum::String(s)
                } else {
                    Datum::String(arena.push_string(&format!("\"{}\"", s.replace('"', "\"\""))))
                }
            }
        })
    }

    pub fn output_type(&self, input: ColumnType) -> ColumnType {
        use UnaryFunc::*;
        let nullable = input.nullable;
        match self {
            Not => ScalarType::Bool.nullable(nullable),
            IsNull | IsTrue | IsFalse => ScalarType::Bool.nullable(false),
            Neg | Abs | Ceil | Floor | Round | Trunc | Sqrt | Exp | Ln | Log10 | Sign => {
                ColumnType::new(input.scalar_type.unconstrained(), nullable)
            }
            Cast(to) | CastAssign(to) => to.clone().nullable(nullable),
            Cbrt | Degrees | Radians | Sin | Cos | Tan | Asin | Acos | Atan | Cot => {
                ScalarType::Float64.nullable(nullable)
            }
            Lower | Upper | TrimWhitespace | LTrimWhitespace | RTrimWhitespace | Reverse
            | Initcap | Md5 | Chr | QuoteIdent => ScalarType::String.nullable(nullable),
            JsonbTypeof => ScalarType::String.nullable(nullable),
            CharLength | OctetLength | BitLength | Ascii | JsonbArrayLength => {
                ScalarType::Int32.nullable(nullable)
            }
            Cardinality => ScalarType::Int32.nullable(true),
            JsonbPretty => ScalarType::String.nullable(nullable),
            Sha256 => ScalarType::Bytes.nullable(nullable),
            IsRegexpMatch(_) | IsLikeMatch { .. } => ScalarType::Bool.nullable(nullable),
        }
    }

    pub fn name(&self) -> &'static str {
        use UnaryFunc::*;
        match self {
            Not => "not",
            IsNull => "isnull",
            IsTrue => "istrue",
            IsFalse => "isfalse",
            Neg => "-",
            Abs => "abs",
            Cast(_) => "cast",
            CastAssign(_) => "cast_assign",
            Ceil => "ceil",
            Floor => "floor",
            Round => "round",
            Trunc => "trunc",
            Sqrt => "sqrt",
            Cbrt => "cbrt",
            Exp => "exp",
            Ln => "ln",
            Log10 => "log10",
            Sign => "sign",
            Degrees => "degrees",
            Radians => "radians",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Cot => "cot",
            Lower => "lower",
            Upper => "upper",
            CharLength => "char_length",
            OctetLength => "octet_length",
            BitLength => "bit_length",
            TrimWhitespace => "btrim",
            LTrimWhitespace => "ltrim",
            RTrimWhitespace => "rtrim",
            Reverse => "reverse",
            Initcap => "initcap",
            Md5 => "md5",
            Ascii => "ascii",
            Chr => "chr",
            IsRegexpMatch(_) => "regexp_match",
            IsLikeMatch { .. } => "like",
            JsonbTypeof => "jsonb_typeof",
            JsonbArrayLength => "jsonb_array_length",
            Cardinality => "cardinality",
            QuoteIdent => "quote_ident",
            JsonbPretty => "jsonb_pretty",
            Sha256 => "sha256",
        }
    }

    pub fn fmt_call(&self, f: &mut fmt::Formatter<'_>, expr: &MirScalarExpr) -> fmt::Result {
        match self {
            UnaryFunc::Not => write!(f, "NOT({expr})"),
            UnaryFunc::IsNull => write!(f, "({expr}) IS NULL"),
            UnaryFunc::IsTrue => write!(f, "({expr}) IS TRUE"),
            UnaryFunc::IsFalse => write!(f, "({expr}) IS FALSE"),
            UnaryFunc::Neg => write!(f, "-{expr}"),
            UnaryFunc::Cast(t) | UnaryFunc::CastAssign(t) => write!(f, "{expr}::{}", t.sql_name()),
            UnaryFunc::IsRegexpMatch(r) => write!(
                f,
                "({expr} ~{} {:?})",
                if r.case_insensitive { "*" } else { "" },
                r.source
            ),
            UnaryFunc::IsLikeMatch {
                pattern,
                case_insensitive,
            } => {
                write!(
                    f,
                    "({expr} {} {:?})",
                    if *case_insensitive { "ILIKE" } else { "LIKE" },
                    pattern
                )
            }
            other => write!(f, "{}({expr})", other.name()),
        }
    }
}

fn unexpected(op: &str, d: Datum) -> EvalError {
    EvalError::Internal(format!("{op} applied to unexpected value {d:?}"))
}

fn round_half_even(f: f64) -> f64 {
    // PostgreSQL's float round() is rint(): ties go to even.
    let r = f.round();
    if (f - f.trunc()).abs() == 0.5 {
        2.0 * (f / 2.0).round()
    } else {
        r
    }
}

fn float_or_numeric<'a>(
    d: Datum<'a>,
    f64_fn: impl Fn(f64) -> f64,
    f32_fn: impl Fn(f32) -> f32,
    num_fn: impl Fn(Decimal) -> Decimal,
) -> Result<Datum<'a>, EvalError> {
    Ok(match d {
        Datum::Float64(f) => Datum::Float64(f64_fn(f)),
        Datum::Float32(f) => Datum::Float32(f32_fn(f)),
        Datum::Numeric(n) => Datum::Numeric(numeric::normalize_zero(num_fn(n))),
        Datum::Int16(_) | Datum::Int32(_) | Datum::Int64(_) => d,
        other => return Err(unexpected("rounding", other)),
    })
}

/// `num_fn` gives the logarithm of a positive numeric and its result scale.
fn log_fn<'a>(
    d: Datum<'a>,
    f64_fn: impl Fn(f64) -> f64,
    num_fn: impl Fn(Decimal) -> Result<(Option<Decimal>, i32), EvalError>,
) -> Result<Datum<'a>, EvalError> {
    match d {
        Datum::Float64(f) if f == 0.0 => Err(EvalError::LogOfZero),
        Datum::Float64(f) if f < 0.0 => Err(EvalError::LogOfNegative),
        Datum::Float64(f) => Ok(Datum::Float64(f64_fn(f))),
        Datum::Numeric(n) if n.is_zero() => Err(EvalError::LogOfZero),
        Datum::Numeric(n) if n.is_sign_negative() => Err(EvalError::LogOfNegative),
        Datum::Numeric(n) => {
            let (r, scale) = num_fn(n)?;
            let r = r.ok_or(EvalError::NumericOverflow)?;
            Ok(Datum::Numeric(numeric_result(r, scale)?))
        }
        other => Err(unexpected("logarithm", other)),
    }
}

fn trig_domain<'a>(x: f64, f: impl Fn(f64) -> f64) -> Result<Datum<'a>, EvalError> {
    if !(-1.0..=1.0).contains(&x) {
        return Err(EvalError::InvalidArgument("input is out of range".into()));
    }
    Ok(Datum::Float64(f(x)))
}

fn numeric_sqrt(n: Decimal) -> Result<Decimal, EvalError> {
    let r = n.sqrt().ok_or(EvalError::NumericOverflow)?;
    numeric_result(r, numeric::sqrt_scale(&n))
}

/// Rounds an inexact numeric result to the scale PostgreSQL gives it. A `Decimal` holds at
/// most 28 fractional digits and about 28 significant digits; a result PostgreSQL would print
/// with more is refused rather than printed differently.
fn numeric_result(r: Decimal, scale: i32) -> Result<Decimal, EvalError> {
    let unsupported = || {
        EvalError::Unsupported(format!(
            "numeric result with {scale} fractional digits (evert's numeric holds at most {} significant digits)",
            numeric::MAX_SCALE
        ))
    };
    let scale = u32::try_from(scale).unwrap_or(0);
    if scale > numeric::MAX_SCALE {
        return Err(unsupported());
    }
    let rounded = numeric::rescale(r, scale);
    if rounded.scale() != scale {
        return Err(unsupported());
    }
    Ok(rounded)
}

fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if at_word_start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            at_word_start = false;
        } else {
            out.push(c);
            at_word_start = true;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Binary functions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BinaryFunc {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    NotEq,
    Lt,
    Lte,
    Gt,
    Gte,
    /// `IS NOT DISTINCT FROM`: equality in which NULL equals NULL; never NULL.
    IsNotDistinctFrom,
    TextConcat,
    Like {
        case_insensitive: bool,
    },
    RegexpMatch {
        case_insensitive: bool,
    },
    /// `strpos(text, substring)` / `position(substring IN text)` (arguments text, substring).
    Position,
    Left,
    Right,
    Repeat,
    StartsWith,
    /// `round(numeric, int)`
    RoundScale,
    /// `trunc(numeric, int)`
    TruncScale,
    /// `log(base, x)`
    LogBase,
    /// `date_part(text, value)` returning double precision.
    DatePart,
    /// `EXTRACT(field FROM value)` returning numeric.
    Extract,
    /// `date_trunc(text, timestamp)`
    DateTrunc,
    /// `jsonb -> key/index` (`as_text`: `->>`)
    JsonbGet {
        as_text: bool,
    },
    /// `jsonb #> path` (`as_text`: `#>>`)
    JsonbGetPath {
        as_text: bool,
    },
    /// `jsonb @> jsonb`
    JsonbContains,
    /// `jsonb ? text`
    JsonbHasKey,
    /// `array[i]` (1-based)
    ArrayIndex,
    /// `array_length(array, dim)`
    ArrayLength,
    /// `value = ANY(array)` is planned through this: true if the array contains the value.
    ArrayContainsElement,
    /// `array || array`
    ArrayConcat,
    /// `array_to_string(array, separator)`: non-NULL elements as text, joined.
    ArrayToString,
    /// `to_char(timestamp|number, format)`
    ToChar,
    /// `age(timestamp, timestamp)`
    Age,
    /// `jsonb ?| text[]`
    JsonbHasAnyKey,
    /// `jsonb ?& text[]`
    JsonbHasAllKeys,
    /// `jsonb - text`
    JsonbDeleteKey,
    /// `jsonb - text[]`
    JsonbDeleteKeys,
    /// `jsonb - integer`
    JsonbDeleteIndex,
    /// `array || element` (a NULL array is treated as empty; a NULL element is appended)
    ArrayAppend,
    /// `element || array`
    ArrayPrepend,
    /// `bytea || bytea`
    ByteaConcat,
    /// `get_byte(bytea, integer)`
    GetByte,
    /// `encode(bytea, format)`
    Encode,
    /// `decode(text, format)`
    Decode,
}

impl BinaryFunc {
    pub fn propagates_nulls(&self) -> bool {
        !matches!(
            self,
            BinaryFunc::IsNotDistinctFrom
                | BinaryFunc::ArrayConcat
                | BinaryFunc::ArrayAppend
                | BinaryFunc::ArrayPrepend
        )
    }

    pub fn is_comparison(&self) -> bool {
        matches!(
            self,
            BinaryFunc::Eq
                | BinaryFunc::NotEq
                | BinaryFunc::Lt
                | BinaryFunc::Lte
                | BinaryFunc::Gt
                | BinaryFunc::Gte
        )
    }

    /// The comparison with its arguments swapped (`a < b` is `b > a`).
    pub fn commuted(&self) -> Option<BinaryFunc> {
        Some(match self {
            BinaryFunc::Eq => BinaryFunc::Eq,
            BinaryFunc::NotEq => BinaryFunc::NotEq,
            BinaryFunc::Lt => BinaryFunc::Gt,
            BinaryFunc::Lte => BinaryFunc::Gte,
            BinaryFunc::Gt => BinaryFunc::Lt,
            BinaryFunc::Gte => BinaryFunc::Lte,
            _ => return None,
        })
    }

    /// The comparison that is its negation (`NOT (a < b)` is `a >= b` for non-NULL values).
    pub fn negated(&self) -> Option<BinaryFunc> {
        Some(match self {
            BinaryFunc::Eq => BinaryFunc::NotEq,
            BinaryFunc::NotEq => BinaryFunc::Eq,
            BinaryFunc::Lt => BinaryFunc::Gte,
            BinaryFunc::Lte => BinaryFunc::Gt,
            BinaryFunc::Gt => BinaryFunc::Lte,
            BinaryFunc::Gte => BinaryFunc::Lt,
            _ => return None,
        })
    }

    pub fn eval<'a>(
        &self,
        a: Datum<'a>,
        b: Datum<'a>,
        arena: &'a RowArena,
    ) -> Result<Datum<'a>, EvalError> {
        use BinaryFunc::*;
        Ok(match self {
            Add => add(a, b)?,
            Sub => sub(a, b)?,
            Mul => mul(a, b)?,
            Div => div(a, b)?,
            Mod => modulo(a, b)?,
            Pow => pow(a, b)?,
            Eq => Datum::from_bool(a == b),
            NotEq => Datum::from_bool(a != b),
            Lt => Datum::from_bool(a < b),
            Lte => Datum::from_bool(a <= b),
            Gt => Datum::from_bool(a > b),
            Gte => Datum::from_bool(a >= b),
            IsNotDistinctFrom => Datum::from_bool(a == b),
            TextConcat => {
                let mut s = String::with_capacity(a.unwrap_str().len() + b.unwrap_str().len());
                s.push_str(a.unwrap_str());
                s.push_str(b.unwrap_str());
                Datum::String(arena.push_string(&s))
            }
            Like { case_insensitive } => Datum::from_bool(
                like(
                    a.unwrap_str(),
                    b.unwrap_str(),
                    *case_insensitive,
                    Some('\\'),
                )
                .map_err(EvalError::InvalidArgument)?,
            ),
            RegexpMatch { case_insensitive } => {
                let regex = AnalyzedRegex::compiled(b.unwrap_str(), *case_insensitive)?;
                Datum::from_bool(regex.is_match(a.unwrap_str()))
            }
            Position => {
                let haystack = a.unwrap_str();
                let needle = b.unwrap_str();
                Datum::Int32(match haystack.find(needle) {
                    Some(byte) => haystack[..byte].chars().count() as i32 + 1,
                    None => 0,
                })
            }
            Left => {
                let s = a.unwrap_str();
                let n = i64::from(b.unwrap_int32());
                let len = s.chars().count() as i64;
                let take = if n >= 0 { n.min(len) } else { (len + n).max(0) };
                Datum::String(char_prefix(s, take as usize))
            }
            Right => {
                let s = a.unwrap_str();
                let n = i64::from(b.unwrap_int32());
                let len = s.chars().count() as i64;
                let skip = if n >= 0 {
                    (len - n).max(0)
                } else {
                    (-n).min(len)
                };
                Datum::String(char_suffix_from(s, skip as usize))
            }
            Repeat => {
                let n = b.unwrap_int32().max(0) as usize;
                let s = a.unwrap_str();
                if s.len().saturating_mul(n) > (1 << 30) {
                    return Err(EvalError::InvalidParameterValue(
                        "requested length too large".into(),
                    ));
                }
                Datum::String(arena.push_string(&s.repeat(n)))
            }
            StartsWith => Datum::from_bool(a.unwrap_str().starts_with(b.unwrap_str())),
            RoundScale | TruncScale => {
                let scale = b.unwrap_int32();
                let n = a.unwrap_numeric();
                let strategy = if *self == RoundScale {
                    RoundingStrategy::MidpointAwayFromZero
                } else {
                    RoundingStrategy::ToZero
                };
                let r = if scale >= 0 {
                    let s = (scale as u32).min(numeric::MAX_SCALE);
                    let mut r = n.round_dp_with_strategy(s, strategy);
                    if r.scale() < s {
                        r.rescale(s);
                    }
                    r
                } else {
                    let factor =
                        Decimal::from_i128_with_scale(10i128.pow((-scale).min(27) as u32), 0);
                    let shifted = (n / factor).round_dp_with_strategy(0, strategy);
                    shifted
                        .checked_mul(factor)
                        .ok_or(EvalError::NumericOverflow)?
                };
                Datum::Numeric(numeric::normalize_zero(r))
            }
            LogBase => match (a, b) {
                (Datum::Float64(base), Datum::Float64(x)) => {
                    if base <= 0.0 || x <= 0.0 {
                        return Err(if base == 0.0 || x == 0.0 {
                            EvalError::LogOfZero
                        } else {
                            EvalError::LogOfNegative
                        });
                    }
                    if base == 1.0 {
                        return Err(EvalError::DivisionByZero);
                    }
                    Datum::Float64(x.ln() / base.ln())
                }
                (Datum::Numeric(base), Datum::Numeric(x)) => {
                    if base.is_zero() || x.is_zero() {
                        return Err(EvalError::LogOfZero);
                    }
                    if base.is_sign_negative() || x.is_sign_negative() {
                        return Err(EvalError::LogOfNegative);
                    }
                    let lb = base.checked_ln().ok_or(EvalError::NumericOverflow)?;
                    let lx = x.checked_ln().ok_or(EvalError::NumericOverflow)?;
                    if lb.is_zero() {
                        return Err(EvalError::DivisionByZero);
                    }
                    let r = lx.checked_div(lb).ok_or(EvalError::NumericOverflow)?;
                    Datum::Numeric(numeric_result(r, numeric::log_scale(&base, &x))?)
                }
                (a, _) => return Err(unexpected("log", a)),
            },
            DatePart | Extract => {
                let field = a.unwrap_str().to_ascii_lowercase();
                let value = match b {
                    Datum::Timestamp(ts) | Datum::TimestampTz(ts) => {
                        datetime::timestamp_field(ts, &field)
                    }
                    Datum::Date(d) => {
                        if matches!(
                            field.as_str(),
                            "hour" | "minute" | "second" | "milliseconds" | "microseconds"
                        ) {
                            return Err(EvalError::InvalidParameterValue(format!(
                                "unit \"{field}\" not supported for type date"
                            )));
                        }
                        datetime::timestamp_field(DateTime::from_date(d), &field)
                    }
                    Datum::Interval(iv) => datetime::interval_field(&iv, &field),
                    Datum::Time(t) => {
                        datetime::timestamp_field(DateTime(t.0), &field).filter(|_| {
                            matches!(
                                field.as_str(),
                                "hour"
                                    | "minute"
                                    | "second"
                                    | "milliseconds"
                                    | "microseconds"
                                    | "epoch"
                            )
                        })
                    }
                    other => return Err(unexpected("extract", other)),
                };
                let value = value.ok_or_else(|| {
                    EvalError::InvalidParameterValue(format!("unit \"{field}\" not recognized"))
                })?;
                if *self == Extract {
                    Datum::Numeric(extract_numeric(value, &field, matches!(b, Datum::Date(_))))
                } else {
                    Datum::Float64(value)
                }
            }
            DateTrunc => {
                let unit = a.unwrap_str().to_ascii_lowercase();
                let truncate = |ts: DateTime| {
                    datetime::timestamp_trunc(ts, &unit).ok_or_else(|| {
                        EvalError::InvalidParameterValue(format!(
                            "unit \"{unit}\" not recognized for type timestamp"
                        ))
                    })
                };
                match b {
                    Datum::Timestamp(ts) => Datum::Timestamp(truncate(ts)?),
                    Datum::TimestampTz(ts) => Datum::TimestampTz(truncate(ts)?),
                    Datum::Interval(iv) => Datum::Interval(interval_trunc(iv, &unit)?),
                    other => return Err(unexpected("date_trunc", other)),
                }
            }
            JsonbGet { as_text } => crate::scalar::jsonb::get(a, b, *as_text, arena)?,
            JsonbGetPath { as_text } => crate::scalar::jsonb::get_path(a, b, *as_text, arena)?,
            JsonbContains => Datum::from_bool(crate::scalar::jsonb::contains(
                a.unwrap_jsonb(),
                b.unwrap_jsonb(),
            )),
            JsonbHasKey => Datum::from_bool(crate::scalar::jsonb::has_key(
                a.unwrap_jsonb(),
                b.unwrap_str(),
            )),
            ArrayIndex => {
                let index = match b {
                    Datum::Int64(i) => i,
                    other => i64::from(other.unwrap_int32()),
                };
                if index < 1 {
                    Datum::Null
                } else {
                    a.unwrap_array()
                        .iter()
                        .nth((index - 1) as usize)
                        .unwrap_or(Datum::Null)
                }
            }
            ArrayToString => {
                let separator = b.unwrap_str();
                let mut out = String::new();
                let mut first = true;
                for element in a.unwrap_array().iter() {
                    if element.is_null() {
                        continue;
                    }
                    if !first {
                        out.push_str(separator);
                    }
                    first = false;
                    // Each element in its output format (booleans as t/f, as PostgreSQL).
                    use std::fmt::Write;
                    let _ = write!(out, "{element}");
                }
                Datum::String(arena.push_string(&out))
            }
            ArrayLength => {
                let dim = b.unwrap_int32();
                let n = a.unwrap_array().len();
                if dim != 1 || n == 0 {
                    Datum::Null
                } else {
                    Datum::Int32(n as i32)
                }
            }
            ArrayContainsElement => {
                // `b = ANY(a)` with SQL semantics: true if equal to some element, NULL if no
                // element is equal but some element is NULL, false otherwise.
                let mut saw_null = false;
                for e in a.unwrap_array().iter() {
                    if e.is_null() {
                        saw_null = true;
                    } else if e == b {
                        return Ok(Datum::True);
                    }
                }
                if saw_null {
                    Datum::Null
                } else {
                    Datum::False
                }
            }
            ArrayConcat => match (a, b) {
                (Datum::Null, b) => b,
                (a, Datum::Null) => a,
                (a, b) => arena.make_array(|p| {
                    p.extend(a.unwrap_array().iter());
                    p.extend(b.unwrap_array().iter());
                }),
            },
            ToChar => Datum::String(
                arena.push_string(&crate::scalar::to_char::to_char(a, b.unwrap_str())?),
            ),
            Age => {
                let x = a.unwrap_timestamp();
                let y = b.unwrap_timestamp();
                Datum::Interval(age(x, y))
            }
            JsonbHasAnyKey | JsonbHasAllKeys => Datum::from_bool(crate::scalar::jsonb::has_keys(
                a.unwrap_jsonb(),
                b.unwrap_array(),
                *self == JsonbHasAllKeys,
            )),
            JsonbDeleteKey => {
                crate::scalar::jsonb::delete_keys(a.unwrap_jsonb(), &[b.unwrap_str()], arena)?
            }
            JsonbDeleteKeys => {
                let keys: Vec<&str> = b
                    .unwrap_array()
                    .iter()
                    .filter_map(|k| match k {
                        Datum::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                crate::scalar::jsonb::delete_keys(a.unwrap_jsonb(), &keys, arena)?
            }
            JsonbDeleteIndex => {
                let index = match b {
                    Datum::Int64(i) => i,
                    other => i64::from(other.unwrap_int32()),
                };
                crate::scalar::jsonb::delete_index(a.unwrap_jsonb(), index, arena)?
            }
            ArrayAppend => arena.make_array(|p| {
                if let Datum::Array(list) = a {
                    p.extend(list.iter());
                }
                p.push(b);
            }),
            ArrayPrepend => arena.make_array(|p| {
                p.push(a);
                if let Datum::Array(list) = b {
                    p.extend(list.iter());
                }
            }),
            ByteaConcat => {
                let mut bytes = a.unwrap_bytes().to_vec();
                bytes.extend_from_slice(b.unwrap_bytes());
                Datum::Bytes(arena.push_bytes(&bytes))
            }
            GetByte => Datum::Int32(crate::scalar::bytea::get_byte(
                a.unwrap_bytes(),
                b.unwrap_int32(),
            )?),
            Encode => Datum::String(arena.push_string(&crate::scalar::bytea::encode(
                a.unwrap_bytes(),
                b.unwrap_str(),
            )?)),
            Decode => Datum::Bytes(arena.push_bytes(&crate::scalar::bytea::decode(
                a.unwrap_str(),
                b.unwrap_str(),
            )?)),
        })
    }

    pub fn output_type(&self, a: ColumnType, b: ColumnType) -> ColumnType {
        use BinaryFunc::*;
        use ScalarType as S;
        let nullable = a.nullable || b.nullable;
        let at = a.scalar_type.unconstrained();
        let bt = b.scalar_type.unconstrained();
        let scalar = match self {
            Add => match (&at, &bt) {
                (S::Date, S::Int32) | (S::Int32, S::Date) => S::Date,
                (S::Date, S::Interval)
                | (S::Interval, S::Date)
                | (S::Date, S::Time)
                | (S::Time, S::Date) => S::Timestamp,
                (S::Timestamp, S::Interval) | (S::Interval, S::Timestamp) => S::Timestamp,
                (S::TimestampTz, S::Interval) | (S::Interval, S::TimestampTz) => S::TimestampTz,
                (S::Time, S::Interval) | (S::Interval, S::Time) => S::Time,
                _ => at,
            },
            Sub => match (&at, &bt) {
                (S::Date, S::Date) => S::Int32,
                (S::Date, S::Int32) => S::Date,
                (S::Date, S::Interval) => S::Timestamp,
                (S::Timestamp, S::Timestamp)
                | (S::TimestampTz, S::TimestampTz)
                | (S::Time, S::Time) => S::Interval,
                _ => at,
            },
            Mul => match (&at, &bt) {
                (S::Float64, S::Interval) => S::Interval,
                _ => at,
            },
            Div | Mod | Pow => at,
            Eq
            | NotEq
            | Lt
            | Lte
            | Gt
            | Gte
            | Like { .. }
            | RegexpMatch { .. }
            | StartsWith
            | JsonbContains
            | JsonbHasKey => S::Bool,
            IsNotDistinctFrom => return S::Bool.nullable(false),
            TextConcat | Left | Right | Repeat | ToChar => S::String,
            Position => S::Int32,
            RoundScale | TruncScale => S::numeric(),
            LogBase => at,
            DatePart => S::Float64,
            Extract => S::numeric(),
            DateTrunc => bt,
            JsonbGet { as_text } | JsonbGetPath { as_text } => {
                return if *as_text { S::String } else { S::Jsonb }.nullable(true)
            }
            ArrayIndex => {
                return match at {
                    S::Array(elem) => (*elem).nullable(true),
                    other => other.nullable(true),
                }
            }
            ArrayLength => return S::Int32.nullable(true),
            ArrayToString => S::String,
            ArrayContainsElement => return S::Bool.nullable(true),
            ArrayConcat => return at.nullable(a.nullable && b.nullable),
            Age => S::Interval,
            JsonbHasAnyKey | JsonbHasAllKeys => S::Bool,
            JsonbDeleteKey | JsonbDeleteKeys | JsonbDeleteIndex => S::Jsonb,
            ArrayAppend => return at.nullable(false),
            ArrayPrepend => return bt.nullable(false),
            ByteaConcat | Decode => S::Bytes,
            GetByte => S::Int32,
            Encode => S::String,
        };
        scalar.nullable(nullable)
    }

    pub fn name(&self) -> &'static str {
        use BinaryFunc::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Pow => "^",
            Eq => "=",
            NotEq => "<>",
            Lt => "<",
            Lte => "<=",
            Gt => ">",
            Gte => ">=",
            IsNotDistinctFrom => "IS NOT DISTINCT FROM",
            TextConcat => "||",
            Like {
                case_insensitive: false,
            } => "LIKE",
            Like {
                case_insensitive: true,
            } => "ILIKE",
            RegexpMatch {
                case_insensitive: false,
            } => "~",
            RegexpMatch {
                case_insensitive: true,
            } => "~*",
            Position => "strpos",
            Left => "left",
            Right => "right",
            Repeat => "repeat",
            StartsWith => "starts_with",
            RoundScale => "round",
            TruncScale => "trunc",
            LogBase => "log",
            DatePart => "date_part",
            Extract => "extract",
            DateTrunc => "date_trunc",
            JsonbGet { as_text: false } => "->",
            JsonbGet { as_text: true } => "->>",
            JsonbGetPath { as_text: false } => "#>",
            JsonbGetPath { as_text: true } => "#>>",
            JsonbContains => "@>",
            JsonbHasKey => "?",
            ArrayIndex => "array_index",
            ArrayLength => "array_length",
            ArrayToString => "array_to_string",
            ArrayContainsElement => "array_contains",
            ArrayConcat => "array_cat",
            ToChar => "to_char",
            Age => "age",
            JsonbHasAnyKey => "?|",
            JsonbHasAllKeys => "?&",
            JsonbDeleteKey | JsonbDeleteKeys | JsonbDeleteIndex => "-",
            ArrayAppend => "array_append",
            ArrayPrepend => "array_prepend",
            ByteaConcat => "||",
            GetByte => "get_byte",
            Encode => "encode",
            Decode => "decode",
        }
    }

    fn is_infix(&self) -> bool {
        use BinaryFunc::*;
        matches!(
            self,
            Add | Sub
                | Mul
                | Div
                | Mod
                | Pow
                | Eq
                | NotEq
                | Lt
                | Lte
                | Gt
                | Gte
                | IsNotDistinctFrom
                | TextConcat
                | Like { .. }
                | RegexpMatch { .. }
                | JsonbGet { .. }
                | JsonbGetPath { .. }
                | JsonbContains
                | JsonbHasKey
                | JsonbHasAnyKey
                | JsonbHasAllKeys
                | JsonbDeleteKey
                | JsonbDeleteKeys
                | JsonbDeleteIndex
                | ByteaConcat
        )
    }

    pub fn fmt_call(
        &self,
        f: &mut fmt::Formatter<'_>,
        a: &MirScalarExpr,
        b: &MirScalarExpr,
    ) -> fmt::Result {
        if self.is_infix() {
            write!(f, "({a} {} {b})", self.name())
        } else {
            write!(f, "{}({a}, {b})", self.name())
        }
    }
}

fn char_prefix(s: &str, chars: usize) -> &str {
    match s.char_indices().nth(chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn char_suffix_from(s: &str, skip: usize) -> &str {
    match s.char_indices().nth(skip) {
        Some((i, _)) => &s[i..],
        None => "",
    }
}

fn extract_numeric(value: f64, field: &str, of_date: bool) -> Decimal {
    // As in PostgreSQL, fields with a fractional part keep a fixed scale even when the
    // fraction is zero (`extract(epoch FROM timestamp '1970-01-02')` is 86400.000000), except
    // for a date, which has no fraction to show; integral fields have scale 0.
    let scale = match field {
        _ if of_date => 0,
        "second" | "seconds" => 6,
        "millisecond" | "milliseconds" => 3,
        "epoch" | "julian" => 6,
        _ => 0,
    };
    let d = Decimal::from_f64(value).unwrap_or_default();
    numeric::rescale(d, scale)
}

fn interval_trunc(iv: Interval, unit: &str) -> Result<Interval, EvalError> {
    let micros = iv.micros;
    Ok(match unit {
        "microseconds" | "microsecond" => iv,
        "milliseconds" | "millisecond" => Interval::new(iv.months, iv.days, micros - micros % 1000),
        "second" | "seconds" => Interval::new(iv.months, iv.days, micros - micros % 1_000_000),
        "minute" | "minutes" => Interval::new(iv.months, iv.days, micros - micros % 60_000_000),
        "hour" | "hours" => Interval::new(iv.months, iv.days, micros - micros % 3_600_000_000),
        "day" | "days" => Interval::new(iv.months, iv.days, 0),
        "month" | "months" => Interval::new(iv.months, 0, 0),
        "year" | "years" => Interval::new(iv.months - iv.months % 12, 0, 0),
        _ => {
            return Err(EvalError::InvalidParameterValue(format!(
                "unit \"{unit}\" not recognized for type interval"
            )))
        }
    })
}

/// `age(a, b)`: the symbolic difference in years, months and days, as PostgreSQL computes it.
fn age(a: DateTime, b: DateTime) -> Interval {
    use chrono::{Datelike, Timelike};
    let (x, y, negate) = if a >= b {
        (a.to_naive(), b.to_naive(), false)
    } else {
        (b.to_naive(), a.to_naive(), true)
    };
    let mut months = (x.year() - y.year()) * 12 + x.month() as i32 - y.month() as i32;
    let mut days = x.day() as i32 - y.day() as i32;
    let tx =
        i64::from(x.num_seconds_from_midnight()) * 1_000_000 + i64::from(x.nanosecond() / 1000);
    let ty =
        i64::from(y.num_seconds_from_midnight()) * 1_000_000 + i64::from(y.nanosecond() / 1000);
    let mut micros = tx - ty;
    if micros < 0 {
        micros += MICROS_PER_DAY;
        days -= 1;
    }
    // Borrow whole months of the earlier timestamp's month, as PostgreSQL does (its
    // `timestamp_age` adds `day_tab` of the earlier month until the days are not negative).
    let earlier_month_days = {
        let first = y.date().with_day(1).unwrap_or(y.date());
        datetime::add_months(first, 1)
            .map(|next| (next - first).num_days() as i32)
            .unwrap_or(30)
    };
    while days < 0 {
        days += earlier_month_days;
        months -= 1;
    }
    let iv = Interval::new(months, days, micros);
    if negate {
        iv.checked_neg().unwrap_or(iv)
    } else {
        iv
    }
}

/// PostgreSQL gives a numeric sum, difference or remainder the larger of its inputs'
/// scales, and a product the sum of them (`3 + 0.00` is `3.00`, `1.25 * 0` is `0.00`). `rust_decimal`
/// mostly agrees but takes a shortcut when an operand is zero that drops the scale, so the
/// scale is restored here (exactly: only zeros are appended).
fn with_scale_at_least(mut d: Decimal, scale: u32) -> Decimal {
    let scale = scale.min(numeric::MAX_SCALE);
    if d.scale() < scale {
        d.rescale(scale);
    }
    d
}

fn add<'a>(a: Datum<'a>, b: Datum<'a>) -> Result<Datum<'a>, EvalError> {
    use Datum::*;
    Ok(match (a, b) {
        (Int16(x), Int16(y)) => Int16(
            x.checked_add(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int16))?,
        ),
        (Int32(x), Int32(y)) => Int32(
            x.checked_add(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int32))?,
        ),
        (Int64(x), Int64(y)) => Int64(
            x.checked_add(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int64))?,
        ),
        (Float32(x), Float32(y)) => Float32(check_f32(x + y, x.is_finite() && y.is_finite())?),
        (Float64(x), Float64(y)) => Float64(check_f64(x + y, x.is_finite() && y.is_finite())?),
        (Numeric(x), Numeric(y)) => Numeric(with_scale_at_least(
            x.checked_add(y)
                .map(numeric::normalize_zero)
                .ok_or(EvalError::NumericOverflow)?,
            x.scale().max(y.scale()),
        )),
        (Date(d), Int32(n)) | (Int32(n), Date(d)) => Date(evert_repr::Date(
            d.0.checked_add(n)
                .ok_or(EvalError::DateTimeOutOfRange("date".into()))?,
        )),
        (Date(d), Interval(iv)) | (Interval(iv), Date(d)) => Timestamp(
            datetime::timestamp_add_interval(DateTime::from_date(d), &iv)
                .ok_or_else(ts_out_of_range)?,
        ),
        (Date(d), Time(t)) | (Time(t), Date(d)) => {
            Timestamp(DateTime(DateTime::from_date(d).0 + t.0))
        }
        (Timestamp(ts), Interval(iv)) | (Interval(iv), Timestamp(ts)) => {
            Timestamp(datetime::timestamp_add_interval(ts, &iv).ok_or_else(ts_out_of_range)?)
        }
        (TimestampTz(ts), Interval(iv)) | (Interval(iv), TimestampTz(ts)) => {
            TimestampTz(datetime::timestamp_add_interval(ts, &iv).ok_or_else(ts_out_of_range)?)
        }
        (Time(t), Interval(iv)) | (Interval(iv), Time(t)) => Time(evert_repr::Time(
            (t.0 + iv.micros).rem_euclid(MICROS_PER_DAY),
        )),
        (Interval(x), Interval(y)) => {
            Interval(x.checked_add(&y).ok_or(EvalError::IntervalOutOfRange)?)
        }
        (x, _) => return Err(unexpected("+", x)),
    })
}

fn sub<'a>(a: Datum<'a>, b: Datum<'a>) -> Result<Datum<'a>, EvalError> {
    use Datum::*;
    Ok(match (a, b) {
        (Int16(x), Int16(y)) => Int16(
            x.checked_sub(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int16))?,
        ),
        (Int32(x), Int32(y)) => Int32(
            x.checked_sub(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int32))?,
        ),
        (Int64(x), Int64(y)) => Int64(
            x.checked_sub(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int64))?,
        ),
        (Float32(x), Float32(y)) => Float32(check_f32(x - y, x.is_finite() && y.is_finite())?),
        (Float64(x), Float64(y)) => Float64(check_f64(x - y, x.is_finite() && y.is_finite())?),
        (Numeric(x), Numeric(y)) => Numeric(with_scale_at_least(
            x.checked_sub(y)
                .map(numeric::normalize_zero)
                .ok_or(EvalError::NumericOverflow)?,
            x.scale().max(y.scale()),
        )),
        (Date(x), Date(y)) => Int32(x.0 - y.0),
        (Date(d), Int32(n)) => Date(evert_repr::Date(
            d.0.checked_sub(n)
                .ok_or(EvalError::DateTimeOutOfRange("date".into()))?,
        )),
        (Date(d), Interval(iv)) => Timestamp(
            datetime::timestamp_add_interval(
                DateTime::from_date(d),
                &iv.checked_neg().ok_or(EvalError::IntervalOutOfRange)?,
            )
            .ok_or_else(ts_out_of_range)?,
        ),
        (Timestamp(x), Timestamp(y)) | (TimestampTz(x), TimestampTz(y)) => {
            Interval(datetime::timestamp_diff(x, y).ok_or(EvalError::IntervalOutOfRange)?)
        }
        (Timestamp(ts), Interval(iv)) => Timestamp(
            datetime::timestamp_add_interval(
                ts,
                &iv.checked_neg().ok_or(EvalError::IntervalOutOfRange)?,
            )
            .ok_or_else(ts_out_of_range)?,
        ),
        (TimestampTz(ts), Interval(iv)) => TimestampTz(
            datetime::timestamp_add_interval(
                ts,
                &iv.checked_neg().ok_or(EvalError::IntervalOutOfRange)?,
            )
            .ok_or_else(ts_out_of_range)?,
        ),
        (Time(x), Time(y)) => Interval(evert_repr::Interval::new(0, 0, x.0 - y.0)),
        (Time(t), Interval(iv)) => Time(evert_repr::Time(
            (t.0 - iv.micros).rem_euclid(MICROS_PER_DAY),
        )),
        (Interval(x), Interval(y)) => Interval(
            x.checked_add(&y.checked_neg().ok_or(EvalError::IntervalOutOfRange)?)
                .ok_or(EvalError::IntervalOutOfRange)?,
        ),
        (x, _) => return Err(unexpected("-", x)),
    })
}

fn mul<'a>(a: Datum<'a>, b: Datum<'a>) -> Result<Datum<'a>, EvalError> {
    use Datum::*;
    Ok(match (a, b) {
        (Int16(x), Int16(y)) => Int16(
            x.checked_mul(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int16))?,
        ),
        (Int32(x), Int32(y)) => Int32(
            x.checked_mul(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int32))?,
        ),
        (Int64(x), Int64(y)) => Int64(
            x.checked_mul(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int64))?,
        ),
        (Float32(x), Float32(y)) => Float32(check_f32(x * y, x.is_finite() && y.is_finite())?),
        (Float64(x), Float64(y)) => Float64(check_f64(x * y, x.is_finite() && y.is_finite())?),
        (Numeric(x), Numeric(y)) => Numeric(with_scale_at_least(
            x.checked_mul(y)
                .map(numeric::normalize_zero)
                .ok_or(EvalError::NumericOverflow)?,
            x.scale() + y.scale(),
        )),
        (Interval(iv), Float64(f)) | (Float64(f), Interval(iv)) => {
            Interval(iv.checked_mul_f64(f).ok_or(EvalError::IntervalOutOfRange)?)
        }
        (x, _) => return Err(unexpected("*", x)),
    })
}

fn div<'a>(a: Datum<'a>, b: Datum<'a>) -> Result<Datum<'a>, EvalError> {
    use Datum::*;
    Ok(match (a, b) {
        (Int16(_), Int16(0)) | (Int32(_), Int32(0)) | (Int64(_), Int64(0)) => {
            return Err(EvalError::DivisionByZero)
        }
        (Int16(x), Int16(y)) => Int16(
            x.checked_div(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int16))?,
        ),
        (Int32(x), Int32(y)) => Int32(
            x.checked_div(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int32))?,
        ),
        (Int64(x), Int64(y)) => Int64(
            x.checked_div(y)
                .ok_or_else(|| int_range_error(&ScalarType::Int64))?,
        ),
        (Float32(_), Float32(y)) if y == 0.0 => return Err(EvalError::DivisionByZero),
        (Float64(_), Float64(y)) if y == 0.0 => return Err(EvalError::DivisionByZero),
        (Float32(x), Float32(y)) => Float32(check_f32(x / y, x.is_finite() && y.is_finite())?),
        (Float64(x), Float64(y)) => Float64(check_f64(x / y, x.is_finite() && y.is_finite())?),
        (Numeric(x), Numeric(y)) => Numeric(
            numeric::div(x, y)
                .map_err(numeric_err)?
                .ok_or(EvalError::DivisionByZero)?,
        ),
        (Interval(iv), Float64(f)) => {
            if f == 0.0 {
                return Err(EvalError::DivisionByZero);
            }
            Interval(
                iv.checked_mul_f64(1.0 / f)
                    .ok_or(EvalError::IntervalOutOfRange)?,
            )
        }
        (x, _) => return Err(unexpected("/", x)),
    })
}

fn modulo<'a>(a: Datum<'a>, b: Datum<'a>) -> Result<Datum<'a>, EvalError> {
    use Datum::*;
    Ok(match (a, b) {
        (Int16(_), Int16(0)) | (Int32(_), Int32(0)) | (Int64(_), Int64(0)) => {
            return Err(EvalError::DivisionByZero)
        }
        // x % -1 is 0 even where x / -1 overflows.
        (Int16(x), Int16(y)) => Int16(x.checked_rem(y).unwrap_or(0)),
        (Int32(x), Int32(y)) => Int32(x.checked_rem(y).unwrap_or(0)),
        (Int64(x), Int64(y)) => Int64(x.checked_rem(y).unwrap_or(0)),
        (Numeric(x), Numeric(y)) => Numeric(with_scale_at_least(
            numeric::rem(x, y)
                .map_err(numeric_err)?
                .ok_or(EvalError::DivisionByZero)?,
            x.scale().max(y.scale()),
        )),
        (Float64(_), Float64(y)) if y == 0.0 => return Err(EvalError::DivisionByZero),
        (Float64(x), Float64(y)) => Float64(x % y),
        (x, _) => return Err(unexpected("%", x)),
    })
}

fn pow<'a>(a: Datum<'a>, b: Datum<'a>) -> Result<Datum<'a>, EvalError> {
    use Datum::*;
    Ok(match (a, b) {
        (Float64(x), Float64(y)) => {
            if x == 0.0 && y < 0.0 {
                return Err(EvalError::ZeroRaisedToNegativePower);
            }
            if x < 0.0 && y.fract() != 0.0 {
                return Err(EvalError::NegativeRaisedToFractionalPower);
            }
            Float64(check_f64(x.powf(y), x.is_finite() && y.is_finite())?)
        }
        (Numeric(x), Numeric(y)) => {
            if x.is_zero() && y.is_sign_negative() && !y.is_zero() {
                return Err(EvalError::ZeroRaisedToNegativePower);
            }
            if x.is_sign_negative() && !x.is_zero() && y.fract() != Decimal::ZERO {
                return Err(EvalError::NegativeRaisedToFractionalPower);
            }
            // PostgreSQL multiplies out integral exponents that fit in 32 bits and uses
            // exp(y * ln(x)) otherwise; each way has its own rule for the result scale.
            let integral = y
                .fract()
                .is_zero()
                .then(|| y.to_i64())
                .flatten()
                .filter(|e| i32::try_from(*e).is_ok());
            let scale = match integral {
                Some(_) => numeric::PowerScale::Scale(numeric::power_int_scale(&x)),
                None if x.is_zero() => return Ok(Numeric(Decimal::new(0, 16))),
                None => numeric::power_scale(&x.abs(), &y),
            };
            let scale = match scale {
                numeric::PowerScale::Scale(s) => s,
                numeric::PowerScale::Overflow => return Err(EvalError::NumericOverflow),
                numeric::PowerScale::Underflow => {
                    return Err(EvalError::Unsupported(
                        "numeric result with 1000 fractional digits (evert's numeric holds at most 28 significant digits)".into(),
                    ))
                }
            };
            let r = match integral {
                Some(e) => x.checked_powi(e),
                None => x.checked_powd(y),
            }
            .ok_or(EvalError::NumericOverflow)?;
            Numeric(numeric_result(r, scale)?)
        }
        (x, _) => return Err(unexpected("^", x)),
    })
}

// ---------------------------------------------------------------------------------------
// Variadic functions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VariadicFunc {
    And,
    Or,
    Coalesce,
    Greatest,
    Least,
    Concat,
    ConcatWs,
    /// `substr(text, start [, length])`
    Substr,
    Replace,
    Lpad,
    Rpad,
    SplitPart,
    Translate,
    /// `btrim(text, chars)`
    BTrim,
    LTrim,
    RTrim,
    /// `regexp_replace(text, pattern, replacement [, flags])`
    RegexpReplace,
    /// `regexp_match(text, pattern)` returning `text[]`
    RegexpMatchArray,
    MakeDate,
    MakeTimestamp,
    /// `ARRAY[...]` of the element type.
    ArrayCreate {
        elem_type: ScalarType,
    },
    /// `jsonb_build_array(...)`
    JsonbBuildArray,
    /// `jsonb_build_object(k, v, ...)`
    JsonbBuildObject,
    /// `array_position(array, element [, start])`: the first position (from 1) of an element
    /// not distinct from `element`, NULL if none.
    ArrayPosition,
    /// `gen_random_uuid()`: a new version-4 UUID at each call (volatile: never folded, and
    /// refused in views).
    GenRandomUuid,
}

impl VariadicFunc {
    /// True if the function may return a different value at each call with the same
    /// arguments, so that it must not be folded into a constant.
    pub fn is_volatile(&self) -> bool {
        matches!(self, VariadicFunc::GenRandomUuid)
    }

    /// True if, with the given (partly literal) arguments, the result is already decided.
    pub fn short_circuits(&self, exprs: &[MirScalarExpr]) -> bool {
        match self {
            VariadicFunc::And => exprs.iter().any(|e| e.is_literal_false()),
            VariadicFunc::Or => exprs.iter().any(|e| e.is_literal_true()),
            _ => false,
        }
    }

    pub fn eval<'a>(
        &self,
        exprs: &'a [MirScalarExpr],
        datums: &[Datum<'a>],
        arena: &'a RowArena,
    ) -> Result<Datum<'a>, EvalError> {
        use VariadicFunc::*;
        match self {
            // Three-valued logic that does not depend on argument order: a FALSE argument
            // decides AND even if another argument is an error.
            And | Or => {
                let decisive = Datum::from_bool(*self == Or);
                let mut null = false;
                let mut error = None;
                for e in exprs {
                    match e.eval(datums, arena) {
                        Ok(d) if d == decisive => return Ok(decisive),
                        Ok(Datum::Null) => null = true,
                        Ok(_) => {}
                        Err(err) => {
                            if error.is_none() {
                                error = Some(err);
                            }
                        }
                    }
                }
                match error {
                    Some(e) => Err(e),
                    None if null => Ok(Datum::Null),
                    None => Ok(Datum::from_bool(*self == And)),
                }
            }
            Coalesce => {
                for e in exprs {
                    let d = e.eval(datums, arena)?;
                    if !d.is_null() {
                        return Ok(d);
                    }
                }
                Ok(Datum::Null)
            }
            Greatest | Least => {
                let mut best: Option<Datum> = None;
                for e in exprs {
                    let d = e.eval(datums, arena)?;
                    if d.is_null() {
                        continue;
                    }
                    best = Some(match best {
                        None => d,
                        Some(b) if (*self == Greatest && d > b) || (*self == Least && d < b) => d,
                        Some(b) => b,
                    });
                }
                Ok(best.unwrap_or(Datum::Null))
            }
            Concat => {
                let mut s = String::new();
                for e in exprs {
                    let d = e.eval(datums, arena)?;
                    match d {
                        Datum::Null => {}
                        Datum::String(text) => s.push_str(text),
                        // Booleans reach here uncast: concat prints them in their output
                        // format (t/f), not as a cast to text would (true/false).
                        other => {
                            use std::fmt::Write;
                            let _ = write!(s, "{other}");
                        }
                    }
                }
                Ok(Datum::String(arena.push_string(&s)))
            }
            ConcatWs => {
                let sep = exprs[0].eval(datums, arena)?;
                if sep.is_null() {
                    return Ok(Datum::Null);
                }
                let mut out = String::new();
                let mut first = true;
                for e in &exprs[1..] {
                    let d = e.eval(datums, arena)?;
                    if d.is_null() {
                        continue;
                    }
                    if !first {
                        out.push_str(sep.unwrap_str());
                    }
                    first = false;
                    match d {
                        Datum::String(text) => out.push_str(text),
                        // Booleans, uncast: their output format (t/f), as for concat.
                        other => {
                            use std::fmt::Write;
                            let _ = write!(out, "{other}");
                        }
                    }
                }
                Ok(Datum::String(arena.push_string(&out)))
            }
            _ => {
                // The remaining functions are strict: any NULL argument gives NULL.
                let mut args = Vec::with_capacity(exprs.len());
                for e in exprs {
                    let d = e.eval(datums, arena)?;
                    if d.is_null()
                        && !matches!(
                            self,
                            ArrayCreate { .. } | JsonbBuildArray | JsonbBuildObject | ArrayPosition
                        )
                    {
                        return Ok(Datum::Null);
                    }
                    args.push(d);
                }
                self.eval_strict(&args, arena)
            }
        }
    }

    fn eval_strict<'a>(
        &self,
        args: &[Datum<'a>],
        arena: &'a RowArena,
    ) -> Result<Datum<'a>, EvalError> {
        use VariadicFunc::*;
        Ok(match self {
            Substr => {
                let s = args[0].unwrap_str();
                let start = i64::from(args[1].unwrap_int32());
                let (from, to) = match args.get(2) {
                    Some(len) => {
                        let len = i64::from(len.unwrap_int32());
                        if len < 0 {
                            return Err(EvalError::SubstringError(
                                "negative substring length not allowed".into(),
                            ));
                        }
                        (start, start.saturating_add(len))
                    }
                    None => (start, i64::MAX),
                };
                let from = (from.max(1) - 1) as usize;
                let to = (to.max(1) - 1) as usize;
                if to <= from {
                    Datum::String("")
                } else {
                    let tail = char_suffix_from(s, from);
                    Datum::String(char_prefix(tail, to - from))
                }
            }
            Replace => {
                let (s, from, to) = (
                    args[0].unwrap_str(),
                    args[1].unwrap_str(),
                    args[2].unwrap_str(),
                );
                if from.is_empty() {
                    Datum::String(s)
                } else {
                    Datum::String(arena.push_string(&s.replace(from, to)))
                }
            }
            Lpad | Rpad => {
                let s = args[0].unwrap_str();
                let len = args[1].unwrap_int32().max(0) as usize;
                let fill = args.get(2).map(|d| d.unwrap_str()).unwrap_or(" ");
                let chars: Vec<char> = s.chars().collect();
                if chars.len() >= len {
                    return Ok(Datum::String(char_prefix(s, len)));
                }
                if fill.is_empty() {
                    return Ok(Datum::String(s));
                }
                let padding: String = fill.chars().cycle().take(len - chars.len()).collect();
                let out = if *self == Lpad {
                    format!("{padding}{s}")
                } else {
                    format!("{s}{padding}")
                };
                Datum::String(arena.push_string(&out))
            }
            SplitPart => {
                let (s, delim, n) = (
                    args[0].unwrap_str(),
                    args[1].unwrap_str(),
                    args[2].unwrap_int32(),
                );
                if n == 0 {
                    return Err(EvalError::InvalidParameterValue(
                        "field position must not be zero".into(),
                    ));
                }
                let parts: Vec<&str> = if delim.is_empty() {
                    vec![s]
                } else {
                    s.split(delim).collect()
                };
                let index = if n > 0 {
                    n as i64 - 1
                } else {
                    parts.len() as i64 + n as i64
                };
                Datum::String(if index >= 0 {
                    parts.get(index as usize).copied().unwrap_or("")
                } else {
                    ""
                })
            }
            Translate => {
                let (s, from, to) = (
                    args[0].unwrap_str(),
                    args[1].unwrap_str(),
                    args[2].unwrap_str(),
                );
                let from: Vec<char> = from.chars().collect();
                let to: Vec<char> = to.chars().collect();
                let out: String = s
                    .chars()
                    .filter_map(|c| match from.iter().position(|f| *f == c) {
                        Some(i) => to.get(i).copied(),
                        None => Some(c),
                    })
                    .collect();
                Datum::String(arena.push_string(&out))
            }
            BTrim | LTrim | RTrim => {
                let s = args[0].unwrap_str();
                let set: Vec<char> = args
                    .get(1)
                    .map(|d| d.unwrap_str())
                    .unwrap_or(" ")
                    .chars()
                    .collect();
                let matches = |c: char| set.contains(&c);
                Datum::String(match self {
                    BTrim => s.trim_matches(matches),
                    LTrim => s.trim_start_matches(matches),
                    _ => s.trim_end_matches(matches),
                })
            }
            RegexpReplace => {
                let flags = args.get(3).map(|d| d.unwrap_str()).unwrap_or("");
                let regex = AnalyzedRegex::compiled(args[1].unwrap_str(), flags.contains('i'))?;
                // PostgreSQL writes back-references as \1; the regex crate as ${1}.
                let replacement = translate_replacement(args[2].unwrap_str());
                let out = if flags.contains('g') {
                    regex.replace_all(args[0].unwrap_str(), replacement.as_str())
                } else {
                    regex.replace(args[0].unwrap_str(), replacement.as_str())
                };
                Datum::String(arena.push_string(&out))
            }
            RegexpMatchArray => {
                let pattern = match args.get(2) {
                    Some(flags) => regexp_with_flags(args[1].unwrap_str(), flags.unwrap_str())?,
                    None => args[1].unwrap_str().to_string(),
                };
                let regex = AnalyzedRegex::compiled(&pattern, false)?;
                match regex.captures(args[0].unwrap_str()) {
                    None => Datum::Null,
                    Some(caps) => {
                        let groups: Vec<Option<String>> = if caps.len() > 1 {
                            caps.iter()
                                .skip(1)
                                .map(|m| m.map(|m| m.as_str().to_string()))
                                .collect()
                        } else {
                            vec![caps.get(0).map(|m| m.as_str().to_string())]
                        };
                        arena.make_array(|p| {
                            for g in &groups {
                                match g {
                                    Some(s) => p.push(Datum::String(s)),
                                    None => p.push(Datum::Null),
                                }
                            }
                        })
                    }
                }
            }
            MakeDate => {
                let (y, m, d) = (
                    args[0].unwrap_int32(),
                    args[1].unwrap_int32(),
                    args[2].unwrap_int32(),
                );
                Datum::Date(make_date(y, m, d)?)
            }
            MakeTimestamp => {
                let (y, m, d) = (
                    args[0].unwrap_int32(),
                    args[1].unwrap_int32(),
                    args[2].unwrap_int32(),
                );
                let (h, min) = (args[3].unwrap_int32(), args[4].unwrap_int32());
                let sec = args[5].unwrap_float64();
                let date = make_date(y, m, d)?;
                if !(0..24).contains(&h) || !(0..60).contains(&min) || !(0.0..60.0).contains(&sec) {
                    return Err(EvalError::DateTimeOutOfRange(
                        "date/time field value".into(),
                    ));
                }
                let micros = i64::from(h) * 3_600_000_000
                    + i64::from(min) * 60_000_000
                    + (sec * 1e6).round() as i64;
                Datum::Timestamp(DateTime(DateTime::from_date(date).0 + micros))
            }
            ArrayCreate { .. } => arena.make_array(|p| p.extend(args.iter())),
            JsonbBuildArray => {
                let items: Vec<serde_json::Value> = args
                    .iter()
                    .map(crate::scalar::jsonb::datum_to_json)
                    .collect();
                Datum::Jsonb(arena.push_string(&evert_repr::adt::jsonb::to_canonical(
                    &serde_json::Value::Array(items),
                )))
            }
            JsonbBuildObject => {
                if args.len() % 2 != 0 {
                    return Err(EvalError::InvalidParameterValue(
                        "argument list must have even number of elements".into(),
                    ));
                }
                let mut map = serde_json::Map::new();
                for pair in args.chunks(2) {
                    if pair[0].is_null() {
                        return Err(EvalError::InvalidParameterValue(
                            "argument 1: key must not be null".into(),
                        ));
                    }
                    let key = match pair[0] {
                        Datum::String(s) => s.to_string(),
                        other => other.to_string(),
                    };
                    map.insert(key, crate::scalar::jsonb::datum_to_json(&pair[1]));
                }
                Datum::Jsonb(arena.push_string(&evert_repr::adt::jsonb::to_canonical(
                    &serde_json::Value::Object(map),
                )))
            }
            ArrayPosition => {
                let Datum::Array(list) = args[0] else {
                    return Ok(Datum::Null);
                };
                let start = match args.get(2) {
                    None => 1,
                    Some(Datum::Null) => {
                        return Err(EvalError::NullValueNotAllowed(
                            "initial position must not be null".into(),
                        ))
                    }
                    Some(d) => d.unwrap_int32(),
                };
                // IS NOT DISTINCT FROM: a NULL element finds a NULL.
                list.iter()
                    .enumerate()
                    .skip(usize::try_from(start.max(1) - 1).unwrap_or(0))
                    .find(|(_, e)| *e == args[1])
                    .map(|(i, _)| Datum::Int32(i as i32 + 1))
                    .unwrap_or(Datum::Null)
            }
            GenRandomUuid => {
                let bytes: [u8; 16] = rand::random();
                Datum::Uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }
            And | Or | Coalesce | Greatest | Least | Concat | ConcatWs => {
                unreachable!("non-strict variadic functions are evaluated in eval")
            }
        })
    }

    pub fn output_type(&self, inputs: Vec<ColumnType>) -> ColumnType {
        use VariadicFunc::*;
        let any_nullable = inputs.iter().any(|t| t.nullable);
        let all_nullable = inputs.iter().all(|t| t.nullable);
        let first_known = || {
            inputs
                .iter()
                .map(|t| t.scalar_type.clone())
                .find(|t| *t != ScalarType::Unknown)
                .unwrap_or(ScalarType::String)
        };
        match self {
            And | Or => ScalarType::Bool.nullable(any_nullable),
            Coalesce | Greatest | Least => first_known().nullable(all_nullable),
            Concat => ScalarType::String.nullable(false),
            ConcatWs => ScalarType::String.nullable(inputs.first().is_some_and(|t| t.nullable)),
            Substr | Replace | Lpad | Rpad | SplitPart | Translate | BTrim | LTrim | RTrim
            | RegexpReplace => ScalarType::String.nullable(any_nullable),
            RegexpMatchArray => ScalarType::Array(Box::new(ScalarType::String)).nullable(true),
            MakeDate => ScalarType::Date.nullable(any_nullable),
            MakeTimestamp => ScalarType::Timestamp.nullable(any_nullable),
            ArrayCreate { elem_type } => {
                ScalarType::Array(Box::new(elem_type.clone())).nullable(false)
            }
            JsonbBuildArray | JsonbBuildObject => ScalarType::Jsonb.nullable(false),
            ArrayPosition => ScalarType::Int32.nullable(true),
            GenRandomUuid => ScalarType::Uuid.nullable(false),
        }
    }

    pub fn name(&self) -> &'static str {
        use VariadicFunc::*;
        match self {
            And => "AND",
            Or => "OR",
            Coalesce => "coalesce",
            Greatest => "greatest",
            Least => "least",
            Concat => "concat",
            ConcatWs => "concat_ws",
            Substr => "substr",
            Replace => "replace",
            Lpad => "lpad",
            Rpad => "rpad",
            SplitPart => "split_part",
            Translate => "translate",
            BTrim => "btrim",
            LTrim => "ltrim",
            RTrim => "rtrim",
            RegexpReplace => "regexp_replace",
            RegexpMatchArray => "regexp_match",
            MakeDate => "make_date",
            MakeTimestamp => "make_timestamp",
            ArrayCreate { .. } => "array",
            JsonbBuildArray => "jsonb_build_array",
            JsonbBuildObject => "jsonb_build_object",
            ArrayPosition => "array_position",
            GenRandomUuid => "gen_random_uuid",
        }
    }

    pub fn fmt_call(&self, f: &mut fmt::Formatter<'_>, exprs: &[MirScalarExpr]) -> fmt::Result {
        match self {
            VariadicFunc::And | VariadicFunc::Or => {
                f.write_str("(")?;
                for (i, e) in exprs.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {} ", self.name())?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str(")")
            }
            _ => {
                write!(f, "{}(", self.name())?;
                for (i, e) in exprs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn make_date(y: i32, m: i32, d: i32) -> Result<evert_repr::Date, EvalError> {
    let year = if y < 0 { y + 1 } else { y };
    if y == 0 {
        return Err(EvalError::DateTimeOutOfRange("date field value".into()));
    }
    evert_repr::Date::from_ymd(year, m.max(0) as u32, d.max(0) as u32)
        .ok_or(EvalError::DateTimeOutOfRange("date field value".into()))
}

fn translate_replacement(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(d) if d.is_ascii_digit() => {
                    out.push_str(&format!("${{{d}}}"));
                    chars.next();
                }
                Some('&') => {
                    out.push_str("${0}");
                    chars.next();
                }
                Some('\\') => {
                    out.push('\\');
                    chars.next();
                }
                _ => out.push('\\'),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Unmaterializable functions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnmaterializableFunc {
    /// `now()`, `current_timestamp`: the transaction's start time.
    Now,
    /// `mz_now()`: the logical timestamp the query reads at.
    MzNow,
    CurrentDatabase,
    CurrentUser,
    CurrentSchema,
    Version,
    PgBackendPid,
}

impl UnmaterializableFunc {
    pub fn output_type(&self) -> ColumnType {
        match self {
            UnmaterializableFunc::Now => ScalarType::TimestampTz.nullable(false),
            UnmaterializableFunc::MzNow => ScalarType::numeric().nullable(false),
            UnmaterializableFunc::PgBackendPid => ScalarType::Int32.nullable(false),
            _ => ScalarType::String.nullable(false),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            UnmaterializableFunc::Now => "now",
            UnmaterializableFunc::MzNow => "mz_now",
            UnmaterializableFunc::CurrentDatabase => "current_database",
            UnmaterializableFunc::CurrentUser => "current_user",
            UnmaterializableFunc::CurrentSchema => "current_schema",
            UnmaterializableFunc::Version => "version",
            UnmaterializableFunc::PgBackendPid => "pg_backend_pid",
        }
    }
}

impl fmt::Display for UnmaterializableFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A pattern with PostgreSQL's regular expression flags (`i`, `c`, `n`/`m`, `p`, `w`, `s`,
/// `x`, `t`, `q`, `e`) turned into inline flags of the regex crate. `g` is refused, as
/// `regexp_match` does.
fn regexp_with_flags(pattern: &str, flags: &str) -> Result<String, EvalError> {
    let mut case_insensitive = false;
    // PostgreSQL's default: `.` matches a newline and `^`/`$` match only at the ends.
    let mut dot_newline = true;
    let mut multi_line = false;
    let mut expanded = false;
    let mut literal = false;
    for flag in flags.chars() {
        match flag {
            'i' => case_insensitive = true,
            'c' => case_insensitive = false,
            'n' | 'm' => (dot_newline, multi_line) = (false, true),
            'p' => (dot_newline, multi_line) = (false, false),
            'w' => (dot_newline, multi_line) = (true, true),
            's' => (dot_newline, multi_line) = (true, false),
            'x' => expanded = true,
            't' => expanded = false,
            'q' => literal = true,
            'e' => {}
            'g' => {
                return Err(EvalError::InvalidParameterValue(
                    "regexp_match() does not support the \"global\" option".into(),
                ))
            }
            'b' => {
                return Err(EvalError::Unsupported(
                    "basic regular expressions (flag \"b\") are not supported".into(),
                ))
            }
            other => {
                return Err(EvalError::InvalidParameterValue(format!(
                    "invalid regular expression option: \"{other}\""
                )))
            }
        }
    }
    let body = if literal {
        regex::escape(pattern)
    } else {
        pattern.to_string()
    };
    let mut on = String::new();
    let mut off = String::new();
    for (set, flag) in [
        (case_insensitive, 'i'),
        (dot_newline, 's'),
        (multi_line, 'm'),
        (expanded && !literal, 'x'),
    ] {
        if set {
            on.push(flag);
        } else {
            off.push(flag);
        }
    }
    Ok(format!("(?{on}-{off}){body}"))
}
