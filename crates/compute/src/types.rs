//! The concrete types of evert's collections and arrangements.

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::{KeySpine, ValSpine};
use differential_dataflow::VecCollection;
use evert_expr::EvalError;
use evert_repr::{Diff, Row, Timestamp};

/// Rows arranged by a key row, with the full row (or nothing, see `ArrangedTrace::identity`)
/// as the value.
pub type RowSpine = ValSpine<Row, Row, Timestamp, Diff>;
pub type RowAgent = TraceAgent<RowSpine>;
/// A collection's errors, arranged by the error itself.
pub type ErrSpine = KeySpine<EvalError, Timestamp, Diff>;
pub type ErrAgent = TraceAgent<ErrSpine>;

/// Collections and arrangements at timestamp `T`: evert's `Timestamp` in a dataflow, or a
/// product with an iteration counter inside a recursive query's loop.
pub type RowCollection<'s, T = Timestamp> = VecCollection<'s, T, Row, Diff>;
pub type ErrCollection<'s, T = Timestamp> = VecCollection<'s, T, EvalError, Diff>;
pub type RowArranged<'s, T = Timestamp> = Arranged<'s, TraceAgent<ValSpine<Row, Row, T, Diff>>>;
pub type ErrArranged<'s> = Arranged<'s, ErrAgent>;
