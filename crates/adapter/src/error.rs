//! Errors the adapter reports to clients, each rendered as a PostgreSQL ErrorResponse.

use std::fmt;

use evert_expr::EvalError;
use evert_sql::PlanError;
use evert_storage::StorageError;

#[derive(Debug)]
pub enum AdapterError {
    Plan(PlanError),
    Eval(EvalError),
    Storage(StorageError),
    /// A constraint violation: (SQLSTATE, message, detail).
    Constraint {
        code: &'static str,
        message: String,
        detail: Option<String>,
    },
    /// 25P02 and friends.
    Transaction {
        code: &'static str,
        message: String,
    },
    /// 57014
    Canceled,
    /// 55000: the object is in a state where this cannot be done.
    ObjectNotInPrerequisiteState(String),
    /// 34000
    UnknownCursor(String),
    /// 42704
    UnknownObject(String),
    /// 0A000
    Unsupported(String),
    /// 22023 / 42601-style invalid requests.
    Invalid {
        code: &'static str,
        message: String,
    },
    /// 57P01: the server is shutting down.
    ShuttingDown,
    /// XX000: a bug.
    Internal(String),
}

impl AdapterError {
    pub fn internal(message: impl Into<String>) -> AdapterError {
        AdapterError::Internal(message.into())
    }

    pub fn unsupported(construct: impl Into<String>) -> AdapterError {
        AdapterError::Unsupported(construct.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AdapterError::Plan(e) => e.code(),
            AdapterError::Eval(e) => e.sqlstate(),
            AdapterError::Storage(_) => "58030",
            AdapterError::Constraint { code, .. } => code,
            AdapterError::Transaction { code, .. } => code,
            AdapterError::Canceled => "57014",
            AdapterError::ObjectNotInPrerequisiteState(_) => "55000",
            AdapterError::UnknownCursor(_) => "34000",
            AdapterError::UnknownObject(_) => "42704",
            AdapterError::Unsupported(_) => "0A000",
            AdapterError::Invalid { code, .. } => code,
            AdapterError::ShuttingDown => "57P01",
            AdapterError::Internal(_) => "XX000",
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            AdapterError::Plan(e) => e.detail(),
            AdapterError::Eval(e) => e.detail(),
            AdapterError::Constraint { detail, .. } => detail.clone(),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            AdapterError::Plan(e) => e.hint(),
            AdapterError::Eval(e) => e.hint(),
            _ => None,
        }
    }

    pub fn position(&self) -> Option<usize> {
        match self {
            AdapterError::Plan(e) => e.position(),
            _ => None,
        }
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Plan(e) => write!(f, "{e}"),
            AdapterError::Eval(e) => write!(f, "{e}"),
            AdapterError::Storage(e) => write!(f, "storage error: {e}"),
            AdapterError::Constraint { message, .. } => f.write_str(message),
            AdapterError::Transaction { message, .. } => f.write_str(message),
            AdapterError::Canceled => f.write_str("canceling statement due to user request"),
            AdapterError::ObjectNotInPrerequisiteState(m) => f.write_str(m),
            AdapterError::UnknownCursor(name) => write!(f, "cursor \"{name}\" does not exist"),
            AdapterError::UnknownObject(m) => f.write_str(m),
            AdapterError::Unsupported(c) => write!(f, "{c} not supported"),
            AdapterError::Invalid { message, .. } => f.write_str(message),
            AdapterError::ShuttingDown => {
                f.write_str("terminating connection due to administrator command")
            }
            AdapterError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for AdapterError {}

impl From<PlanError> for AdapterError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Eval(e) => AdapterError::Eval(e),
            other => AdapterError::Plan(other),
        }
    }
}

impl From<EvalError> for AdapterError {
    fn from(e: EvalError) -> Self {
        AdapterError::Eval(e)
    }
}

impl From<StorageError> for AdapterError {
    fn from(e: StorageError) -> Self {
        AdapterError::Storage(e)
    }
}

impl From<evert_transform::TransformError> for AdapterError {
    fn from(e: evert_transform::TransformError) -> Self {
        AdapterError::Internal(e.to_string())
    }
}

impl From<evert_repr::ParseError> for AdapterError {
    fn from(e: evert_repr::ParseError) -> Self {
        AdapterError::Eval(EvalError::Parse(e))
    }
}
