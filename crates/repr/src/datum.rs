//! `Datum`: one SQL value, borrowed from a `Row` or a `RowArena`.

use std::cmp::Ordering;
use std::fmt;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::adt::datetime::{Date, DateTime, Interval, Time};
use crate::row::DatumList;
use crate::strconv;

/// A single value. Cheap to copy: variable-length payloads borrow from the row (or arena)
/// they were read from, which is why the type carries a lifetime.
///
/// `Datum` does not record its SQL type; expressions are typed at plan time, so evaluation
/// never needs to ask. The one place where two types share a representation, `timestamp` and
/// `timestamptz`, has two variants because their text forms differ.
#[derive(Clone, Copy, Debug)]
pub enum Datum<'a> {
    Null,
    False,
    True,
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Numeric(Decimal),
    String(&'a str),
    Bytes(&'a [u8]),
    Date(Date),
    Time(Time),
    Timestamp(DateTime),
    TimestampTz(DateTime),
    Interval(Interval),
    Uuid(Uuid),
    /// `jsonb`, held as its canonical text (object keys sorted, no insignificant space).
    Jsonb(&'a str),
    /// A one-dimensional array; elements are packed like a row.
    Array(DatumList<'a>),
}

impl<'a> Datum<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    pub fn from_bool(b: bool) -> Datum<'static> {
        if b {
            Datum::True
        } else {
            Datum::False
        }
    }

    /// The boolean value; panics on other variants (a planner bug, not a user error).
    pub fn unwrap_bool(&self) -> bool {
        match self {
            Datum::True => true,
            Datum::False => false,
            other => panic!("expected a boolean datum, found {other:?}"),
        }
    }

    pub fn unwrap_int16(&self) -> i16 {
        match self {
            Datum::Int16(i) => *i,
            other => panic!("expected an int2 datum, found {other:?}"),
        }
    }

    pub fn unwrap_int32(&self) -> i32 {
        match self {
            Datum::Int32(i) => *i,
            other => panic!("expected an int4 datum, found {other:?}"),
        }
    }

    pub fn unwrap_int64(&self) -> i64 {
        match self {
            Datum::Int64(i) => *i,
            other => panic!("expected an int8 datum, found {other:?}"),
        }
    }

    pub fn unwrap_float32(&self) -> f32 {
        match self {
            Datum::Float32(f) => *f,
            other => panic!("expected a float4 datum, found {other:?}"),
        }
    }

    pub fn unwrap_float64(&self) -> f64 {
        match self {
            Datum::Float64(f) => *f,
            other => panic!("expected a float8 datum, found {other:?}"),
        }
    }

    pub fn unwrap_numeric(&self) -> Decimal {
        match self {
            Datum::Numeric(d) => *d,
            other => panic!("expected a numeric datum, found {other:?}"),
        }
    }

    pub fn unwrap_str(&self) -> &'a str {
        match self {
            Datum::String(s) => s,
            other => panic!("expected a string datum, found {other:?}"),
        }
    }

    pub fn unwrap_bytes(&self) -> &'a [u8] {
        match self {
            Datum::Bytes(b) => b,
            other => panic!("expected a bytea datum, found {other:?}"),
        }
    }

    pub fn unwrap_date(&self) -> Date {
        match self {
            Datum::Date(d) => *d,
            other => panic!("expected a date datum, found {other:?}"),
        }
    }

    pub fn unwrap_time(&self) -> Time {
        match self {
            Datum::Time(t) => *t,
            other => panic!("expected a time datum, found {other:?}"),
        }
    }

    /// The timestamp of either `timestamp` or `timestamptz`.
    pub fn unwrap_timestamp(&self) -> DateTime {
        match self {
            Datum::Timestamp(t) | Datum::TimestampTz(t) => *t,
            other => panic!("expected a timestamp datum, found {other:?}"),
        }
    }

    pub fn unwrap_interval(&self) -> Interval {
        match self {
            Datum::Interval(i) => *i,
            other => panic!("expected an interval datum, found {other:?}"),
        }
    }

    pub fn unwrap_uuid(&self) -> Uuid {
        match self {
            Datum::Uuid(u) => *u,
            other => panic!("expected a uuid datum, found {other:?}"),
        }
    }

    pub fn unwrap_jsonb(&self) -> &'a str {
        match self {
            Datum::Jsonb(j) => j,
            other => panic!("expected a jsonb datum, found {other:?}"),
        }
    }

    pub fn unwrap_array(&self) -> DatumList<'a> {
        match self {
            Datum::Array(a) => *a,
            other => panic!("expected an array datum, found {other:?}"),
        }
    }

    /// Rank of the variant in the cross-type order used only to make `Ord` total.
    fn rank(&self) -> u8 {
        match self {
            Datum::False | Datum::True => 1,
            Datum::Int16(_) | Datum::Int32(_) | Datum::Int64(_) => 2,
            Datum::Float32(_) | Datum::Float64(_) => 3,
            Datum::Numeric(_) => 4,
            Datum::String(_) => 5,
            Datum::Bytes(_) => 6,
            Datum::Date(_) => 7,
            Datum::Time(_) => 8,
            Datum::Timestamp(_) => 9,
            Datum::TimestampTz(_) => 10,
            Datum::Interval(_) => 11,
            Datum::Uuid(_) => 12,
            Datum::Jsonb(_) => 13,
            Datum::Array(_) => 14,
            Datum::Null => 255,
        }
    }
}

/// PostgreSQL's float ordering: NaN is larger than every number and equal to itself,
/// and -0 equals 0.
pub fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

impl Ord for Datum<'_> {
    /// The SQL ordering of values of one type, with NULL last (PostgreSQL's default for
    /// ascending order). Values of different types are ordered by type, which never
    /// matters to SQL semantics but keeps the order total.
    fn cmp(&self, other: &Self) -> Ordering {
        use Datum::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (False | True, False | True) => self.unwrap_bool().cmp(&other.unwrap_bool()),
            (Int16(a), Int16(b)) => a.cmp(b),
            (Int32(a), Int32(b)) => a.cmp(b),
            (Int64(a), Int64(b)) => a.cmp(b),
            (Int16(_) | Int32(_) | Int64(_), Int16(_) | Int32(_) | Int64(_)) => {
                as_i64(self).cmp(&as_i64(other))
            }
            (Float32(a), Float32(b)) => float_cmp(f64::from(*a), f64::from(*b)),
            (Float64(a), Float64(b)) => float_cmp(*a, *b),
            (Float32(a), Float64(b)) => float_cmp(f64::from(*a), *b),
            (Float64(a), Float32(b)) => float_cmp(*a, f64::from(*b)),
            (Numeric(a), Numeric(b)) => a.cmp(b),
            (String(a), String(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Time(a), Time(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) | (TimestampTz(a), TimestampTz(b)) => a.cmp(b),
            (Interval(a), Interval(b)) => a.cmp(b),
            (Uuid(a), Uuid(b)) => a.cmp(b),
            (Jsonb(a), Jsonb(b)) => crate::adt::jsonb::compare_text(a, b),
            (Array(a), Array(b)) => a.iter().cmp(b.iter()),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

fn as_i64(d: &Datum) -> i64 {
    match d {
        Datum::Int16(i) => i64::from(*i),
        Datum::Int32(i) => i64::from(*i),
        Datum::Int64(i) => *i,
        _ => unreachable!("as_i64 on a non-integer"),
    }
}

impl PartialOrd for Datum<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Datum<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Datum<'_> {}

impl fmt::Display for Datum<'_> {
    /// PostgreSQL's text output format for the value (NULL prints as `NULL`, which only
    /// diagnostics use; the wire protocol sends NULL out of band).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Null => f.write_str("NULL"),
            Datum::False => f.write_str("f"),
            Datum::True => f.write_str("t"),
            Datum::Int16(i) => write!(f, "{i}"),
            Datum::Int32(i) => write!(f, "{i}"),
            Datum::Int64(i) => write!(f, "{i}"),
            Datum::Float32(v) => f.write_str(&strconv::format_float32(*v)),
            Datum::Float64(v) => f.write_str(&strconv::format_float64(*v)),
            Datum::Numeric(d) => write!(f, "{d}"),
            Datum::String(s) => f.write_str(s),
            Datum::Bytes(b) => f.write_str(&strconv::format_bytes(b)),
            Datum::Date(d) => write!(f, "{d}"),
            Datum::Time(t) => write!(f, "{t}"),
            Datum::Timestamp(t) => write!(f, "{t}"),
            Datum::TimestampTz(t) => write!(f, "{}", t.display_tz()),
            Datum::Interval(i) => write!(f, "{i}"),
            Datum::Uuid(u) => write!(f, "{}", u.hyphenated()),
            Datum::Jsonb(j) => f.write_str(&crate::adt::jsonb::display(j)),
            Datum::Array(a) => strconv::format_array(f, *a),
        }
    }
}

impl From<bool> for Datum<'static> {
    fn from(b: bool) -> Self {
        Datum::from_bool(b)
    }
}

impl From<i16> for Datum<'static> {
    fn from(i: i16) -> Self {
        Datum::Int16(i)
    }
}

impl From<i32> for Datum<'static> {
    fn from(i: i32) -> Self {
        Datum::Int32(i)
    }
}

impl From<i64> for Datum<'static> {
    fn from(i: i64) -> Self {
        Datum::Int64(i)
    }
}

impl From<f64> for Datum<'static> {
    fn from(f: f64) -> Self {
        Datum::Float64(f)
    }
}

impl<'a> From<&'a str> for Datum<'a> {
    fn from(s: &'a str) -> Self {
        Datum::String(s)
    }
}

impl<'a, T: Into<Datum<'a>>> From<Option<T>> for Datum<'a> {
    fn from(o: Option<T>) -> Self {
        match o {
            Some(v) => v.into(),
            None => Datum::Null,
        }
    }
}
