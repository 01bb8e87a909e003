//! Planning errors, each with the SQLSTATE PostgreSQL would report.

use std::fmt;

use evert_expr::EvalError;
use evert_repr::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// 42601, with a 1-based character position into the statement when known.
    Syntax {
        message: String,
        position: Option<usize>,
    },
    /// 42P01
    UnknownRelation(String),
    /// 42P01 with a message other than "relation ... does not exist"
    UnknownRelationMessage(String),
    /// 42703
    UnknownColumn(String),
    /// 42703 with a message other than "column ... does not exist"
    UnknownColumnMessage(String),
    /// 42702
    AmbiguousColumn(String),
    /// 42P07 (relations) / 42710 (other objects)
    DuplicateObject(String),
    /// 42701: a column named twice in a table definition or a column list
    DuplicateColumn(String),
    /// 42883
    UndefinedFunction(String),
    /// 42804
    DatatypeMismatch(String),
    /// 42846
    CannotCoerce(String),
    /// 42803
    Grouping(String),
    /// 42P19: a recursive query PostgreSQL refuses
    InvalidRecursion(String),
    /// 42P20: a window function where none is allowed, or a bad window specification
    Windowing(String),
    /// 42P10 / 42601-ish: an invalid reference, e.g. ORDER BY position out of range
    InvalidColumnReference(String),
    /// 0A000
    Unsupported(String),
    /// 42809
    WrongObjectType(String),
    /// 2BP01
    DependentObjects { message: String, detail: String },
    /// 22025: an ESCAPE clause that is not empty or one character
    InvalidEscapeString(String),
    /// 2201W for LIMIT, 2201X for OFFSET: a negative row count
    NegativeRowCount { clause: &'static str },
    /// 42P02
    UnknownParameter(usize),
    /// 22023
    InvalidParameterValue(String),
    /// 42704
    UndefinedObject(String),
    /// 42P18 (indeterminate datatype)
    IndeterminateType(String),
    /// 42601 (generic invalid statement)
    Invalid(String),
    /// 42712
    DuplicateAlias(String),
    /// An error evaluating a constant expression while planning.
    Eval(EvalError),
    /// An unmaterializable function in a view.
    Unmaterializable { function: String, hint: String },
}

impl PlanError {
    pub fn unsupported(construct: impl Into<String>) -> PlanError {
        PlanError::Unsupported(construct.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            PlanError::Syntax { .. } | PlanError::Invalid(_) => "42601",
            PlanError::UnknownRelation(_) | PlanError::UnknownRelationMessage(_) => "42P01",
            PlanError::UnknownColumn(_) | PlanError::UnknownColumnMessage(_) => "42703",
            PlanError::AmbiguousColumn(_) => "42702",
            PlanError::DuplicateObject(_) => "42P07",
            PlanError::DuplicateColumn(_) => "42701",
            PlanError::DuplicateAlias(_) => "42712",
            PlanError::UndefinedFunction(_) => "42883",
            PlanError::DatatypeMismatch(_) => "42804",
            PlanError::CannotCoerce(_) => "42846",
            PlanError::Grouping(_) => "42803",
            PlanError::Windowing(_) => "42P20",
            PlanError::InvalidRecursion(_) => "42P19",
            PlanError::InvalidColumnReference(_) => "42P10",
            PlanError::Unsupported(_) => "0A000",
            PlanError::WrongObjectType(_) => "42809",
            PlanError::DependentObjects { .. } => "2BP01",
            PlanError::InvalidEscapeString(_) => "22025",
            PlanError::NegativeRowCount { clause } => {
                if *clause == "OFFSET" {
                    "2201X"
                } else {
                    "2201W"
                }
            }
            PlanError::UnknownParameter(_) => "42P02",
            PlanError::InvalidParameterValue(_) => "22023",
            PlanError::UndefinedObject(_) => "42704",
            PlanError::IndeterminateType(_) => "42P18",
            PlanError::Eval(e) => e.sqlstate(),
            PlanError::Unmaterializable { .. } => "0A000",
        }
    }

    pub fn position(&self) -> Option<usize> {
        match self {
            PlanError::Syntax { position, .. } => *position,
            _ => None,
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            PlanError::DependentObjects { detail, .. } => Some(detail.clone()),
            PlanError::Eval(e) => e.detail(),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            PlanError::Unmaterializable { hint, .. } => Some(hint.clone()),
            PlanError::InvalidEscapeString(_) => Some("Escape string must be empty or one character.".into()),
            PlanError::DependentObjects { .. } => Some("Use DROP ... CASCADE to drop the dependent objects too.".into()),
            PlanError::UndefinedFunction(_) => {
                Some("No function matches the given name and argument types. You might need to add explicit type casts.".into())
            }
            _ => None,
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Syntax { message, .. } => f.write_str(message),
            PlanError::UnknownRelation(name) => write!(f, "relation \"{name}\" does not exist"),
            PlanError::UnknownColumn(name) => write!(f, "column \"{name}\" does not exist"),
            PlanError::AmbiguousColumn(name) => {
                write!(f, "column reference \"{name}\" is ambiguous")
            }
            PlanError::DuplicateObject(m)
            | PlanError::DuplicateColumn(m)
            | PlanError::InvalidEscapeString(m)
            | PlanError::UnknownRelationMessage(m)
            | PlanError::UnknownColumnMessage(m)
            | PlanError::UndefinedFunction(m)
            | PlanError::DatatypeMismatch(m)
            | PlanError::CannotCoerce(m)
            | PlanError::Grouping(m)
            | PlanError::Windowing(m)
            | PlanError::InvalidRecursion(m)
            | PlanError::InvalidColumnReference(m)
            | PlanError::WrongObjectType(m)
            | PlanError::InvalidParameterValue(m)
            | PlanError::UndefinedObject(m)
            | PlanError::IndeterminateType(m)
            | PlanError::DuplicateAlias(m)
            | PlanError::Invalid(m) => f.write_str(m),
            PlanError::Unsupported(construct) => write!(f, "{construct} not supported"),
            PlanError::DependentObjects { message, .. } => f.write_str(message),
            PlanError::NegativeRowCount { clause } => write!(f, "{clause} must not be negative"),
            PlanError::UnknownParameter(n) => write!(f, "there is no parameter ${n}"),
            PlanError::Eval(e) => write!(f, "{e}"),
            PlanError::Unmaterializable { function, .. } => {
                write!(
                    f,
                    "calls to {function} are not allowed in materialized views"
                )
            }
        }
    }
}

impl std::error::Error for PlanError {}

impl From<EvalError> for PlanError {
    fn from(e: EvalError) -> Self {
        PlanError::Eval(e)
    }
}

impl From<ParseError> for PlanError {
    fn from(e: ParseError) -> Self {
        PlanError::Eval(EvalError::Parse(e))
    }
}
