//! Errors raised while evaluating expressions.
//!
//! Inside a dataflow an `EvalError` is data: it flows in a view's error collection next to
//! the rows, and a reader of the view receives it instead of a result. It therefore needs
//! to be ordered, hashable and cheap to clone, and it carries its SQLSTATE.

use std::fmt;

use evert_repr::ParseError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EvalError {
    DivisionByZero,
    /// An integer result outside its type: "smallint out of range", "integer out of range", …
    IntegerOutOfRange(String),
    FloatOutOfRange,
    NumericOverflow,
    NumericFieldOverflow {
        precision: u8,
        scale: u8,
    },
    DateTimeOutOfRange(String),
    IntervalOutOfRange,
    Parse(ParseError),
    StringTooLong {
        type_name: String,
    },
    InvalidParameterValue(String),
    InvalidRegex(String),
    NegativeSquareRoot,
    LogOfZero,
    LogOfNegative,
    ZeroRaisedToNegativePower,
    NegativeRaisedToFractionalPower,
    /// Indexing or generating beyond what a type allows (e.g. `generate_series` step 0).
    InvalidArgument(String),
    /// `substr` with a negative length (PostgreSQL's substring_error, 22011).
    SubstringError(String),
    /// A scalar subquery returned more than one row.
    MultipleRowsFromSubquery,
    /// A recursive query still changing after this many iterations.
    RecursionLimit(u64),
    /// A value that should not exist here: reported rather than panicking.
    Internal(String),
    /// A result evert cannot represent as PostgreSQL would (0A000).
    Unsupported(String),
    /// An index outside a value (`get_byte`), SQLSTATE 2202E.
    ArraySubscript(String),
    /// A NULL where a function requires a value, SQLSTATE 22004.
    NullValueNotAllowed(String),
    /// Text a function cannot read (`decode(…, 'escape')`), SQLSTATE 22P02.
    InvalidTextRepresentation(String),
}

impl EvalError {
    /// The SQLSTATE PostgreSQL reports for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            EvalError::DivisionByZero => "22012",
            EvalError::IntegerOutOfRange(_)
            | EvalError::FloatOutOfRange
            | EvalError::NumericOverflow
            | EvalError::NumericFieldOverflow { .. } => "22003",
            EvalError::DateTimeOutOfRange(_) => "22008",
            EvalError::IntervalOutOfRange => "22015",
            EvalError::Parse(p) => p.sqlstate(),
            EvalError::StringTooLong { .. } => "22001",
            EvalError::InvalidParameterValue(_) => "22023",
            EvalError::InvalidRegex(_) => "2201B",
            EvalError::NegativeSquareRoot => "2201F",
            EvalError::LogOfZero | EvalError::LogOfNegative => "2201E",
            EvalError::ZeroRaisedToNegativePower | EvalError::NegativeRaisedToFractionalPower => {
                "2201F"
            }
            EvalError::InvalidArgument(_) => "22023",
            EvalError::SubstringError(_) => "22011",
            EvalError::MultipleRowsFromSubquery => "21000",
            EvalError::RecursionLimit(_) => "54001",
            EvalError::Internal(_) => "XX000",
            EvalError::Unsupported(_) => "0A000",
            EvalError::ArraySubscript(_) => "2202E",
            EvalError::NullValueNotAllowed(_) => "22004",
            EvalError::InvalidTextRepresentation(_) => "22P02",
        }
    }

    /// A hint for the error response, when PostgreSQL gives one.
    pub fn hint(&self) -> Option<String> {
        match self {
            EvalError::InvalidParameterValue(m)
                if m.starts_with("regexp_match() does not support") =>
            {
                Some("Use the regexp_matches function instead.".into())
            }
            EvalError::InvalidParameterValue(m) if m == "invalid base64 end sequence" => Some(
                "Input data is missing padding, is truncated, or is otherwise corrupted.".into(),
            ),
            _ => None,
        }
    }

    /// Additional detail for the error response, when PostgreSQL gives one.
    pub fn detail(&self) -> Option<String> {
        match self {
            EvalError::NumericFieldOverflow { precision, scale } => Some(format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than {}.",
                if precision > scale { format!("10^{}", precision - scale) } else { "1".into() }
            )),
            _ => None,
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::DivisionByZero => f.write_str("division by zero"),
            EvalError::IntegerOutOfRange(t) => write!(f, "{t} out of range"),
            EvalError::FloatOutOfRange => f.write_str("value out of range: overflow"),
            EvalError::NumericOverflow => f.write_str("value overflows numeric format"),
            EvalError::NumericFieldOverflow { .. } => f.write_str("numeric field overflow"),
            EvalError::DateTimeOutOfRange(t) => write!(f, "{t} out of range"),
            EvalError::IntervalOutOfRange => f.write_str("interval out of range"),
            EvalError::Parse(p) => write!(f, "{p}"),
            EvalError::StringTooLong { type_name } => {
                write!(f, "value too long for type {type_name}")
            }
            EvalError::InvalidParameterValue(m) => f.write_str(m),
            EvalError::InvalidRegex(m) => write!(f, "invalid regular expression: {m}"),
            EvalError::NegativeSquareRoot => {
                f.write_str("cannot take square root of a negative number")
            }
            EvalError::LogOfZero => f.write_str("cannot take logarithm of zero"),
            EvalError::LogOfNegative => f.write_str("cannot take logarithm of a negative number"),
            EvalError::ZeroRaisedToNegativePower => {
                f.write_str("zero raised to a negative power is undefined")
            }
            EvalError::NegativeRaisedToFractionalPower => f.write_str(
                "a negative number raised to a non-integer power yields a complex result",
            ),
            EvalError::InvalidArgument(m) | EvalError::SubstringError(m) => f.write_str(m),
            EvalError::MultipleRowsFromSubquery => {
                f.write_str("more than one row returned by a subquery used as an expression")
            }
            EvalError::RecursionLimit(n) => {
                write!(f, "recursive query did not converge within {n} iterations")
            }
            EvalError::Internal(m) => write!(f, "internal error: {m}"),
            EvalError::Unsupported(m)
            | EvalError::ArraySubscript(m)
            | EvalError::NullValueNotAllowed(m)
            | EvalError::InvalidTextRepresentation(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for EvalError {}

impl From<ParseError> for EvalError {
    fn from(e: ParseError) -> Self {
        EvalError::Parse(e)
    }
}
