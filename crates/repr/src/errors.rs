//! Errors raised while converting text into values.

use std::fmt;

/// Text that does not denote a value of the requested type.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub type_name: String,
    pub input: String,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ParseErrorKind {
    /// SQLSTATE 22P02 (22007 for date/time types)
    InvalidSyntax,
    /// SQLSTATE 22003 (numbers) or 22008 (date/time fields)
    OutOfRange,
}

impl ParseError {
    pub fn invalid(type_name: &str, input: &str) -> ParseError {
        ParseError {
            kind: ParseErrorKind::InvalidSyntax,
            type_name: type_name.to_string(),
            input: input.to_string(),
        }
    }

    pub fn out_of_range(type_name: &str, input: &str) -> ParseError {
        ParseError {
            kind: ParseErrorKind::OutOfRange,
            type_name: type_name.to_string(),
            input: input.to_string(),
        }
    }

    /// The SQLSTATE PostgreSQL reports for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self.kind {
            ParseErrorKind::InvalidSyntax if self.is_datetime() => "22007",
            ParseErrorKind::InvalidSyntax => "22P02",
            ParseErrorKind::OutOfRange if self.is_datetime() => "22008",
            ParseErrorKind::OutOfRange => "22003",
        }
    }

    fn is_datetime(&self) -> bool {
        self.type_name.starts_with("date")
            || self.type_name.starts_with("time")
            || self.type_name == "interval"
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::InvalidSyntax => {
                write!(
                    f,
                    "invalid input syntax for type {}: \"{}\"",
                    self.type_name, self.input
                )
            }
            ParseErrorKind::OutOfRange if self.is_datetime() => {
                write!(f, "date/time field value out of range: \"{}\"", self.input)
            }
            ParseErrorKind::OutOfRange => {
                write!(
                    f,
                    "value \"{}\" is out of range for type {}",
                    self.input, self.type_name
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}
