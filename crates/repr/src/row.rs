//! `Row`: a packed, self-describing sequence of datums.
//!
//! ```text
//!  Row bytes:  [tag][payload] [tag][payload] ...
//!
//!  tag      payload
//!  NULL     -
//!  FALSE    -
//!  TRUE     -
//!  INT16    2 bytes LE          INT32    4 bytes LE        INT64   8 bytes LE
//!  FLOAT32  4 bytes LE          FLOAT64  8 bytes LE (NaN canonicalised)
//!  NUMERIC  16 bytes (rust_decimal serialisation)
//!  STR8     u8 length, UTF-8    STR32    u32 length, UTF-8
//!  BYTES8   u8 length           BYTES32  u32 length
//!  DATE 4 · TIME 8 · TIMESTAMP 8 · TIMESTAMPTZ 8 · INTERVAL 4+4+8 · UUID 16
//!  JSONB    u32 length, canonical JSON text
//!  ARRAY    u32 length, elements packed like a row
//! ```
//!
//! Rows are the unit of data in every dataflow and in the log, so they must be compact,
//! cheap to clone and totally ordered. `Ord`, `Eq` and `Hash` work on the bytes: that order
//! is not SQL's order (ORDER BY compares `Datum`s), but it is a total order consistent with
//! equality, which is all that consolidation and arrangements need. The encoding is
//! canonical (one byte string per value), so byte equality is value equality.

use std::fmt;

use bumpalo::Bump;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::adt::datetime::{Date, DateTime, Interval, Time};
use crate::datum::Datum;

mod tag {
    pub const NULL: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const INT16: u8 = 3;
    pub const INT32: u8 = 4;
    pub const INT64: u8 = 5;
    pub const FLOAT32: u8 = 6;
    pub const FLOAT64: u8 = 7;
    pub const NUMERIC: u8 = 8;
    pub const STR8: u8 = 9;
    pub const STR32: u8 = 10;
    pub const BYTES8: u8 = 11;
    pub const BYTES32: u8 = 12;
    pub const DATE: u8 = 13;
    pub const TIME: u8 = 14;
    pub const TIMESTAMP: u8 = 15;
    pub const TIMESTAMPTZ: u8 = 16;
    pub const INTERVAL: u8 = 17;
    pub const UUID: u8 = 18;
    pub const JSONB: u8 = 19;
    pub const ARRAY: u8 = 20;
}

/// A packed sequence of datums. See the module documentation for the encoding.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Row {
    data: Vec<u8>,
}

impl Row {
    /// Packs the datums into a new row.
    pub fn pack<'a, I, D>(datums: I) -> Row
    where
        I: IntoIterator<Item = D>,
        D: std::borrow::Borrow<Datum<'a>>,
    {
        let mut row = Row::default();
        row.packer().extend(datums);
        row
    }

    pub fn pack_slice(datums: &[Datum]) -> Row {
        Row::pack(datums.iter())
    }

    /// A row of a single datum.
    pub fn of(datum: Datum) -> Row {
        Row::pack_slice(&[datum])
    }

    pub fn with_capacity(bytes: usize) -> Row {
        Row {
            data: Vec::with_capacity(bytes),
        }
    }

    /// Clears the row and returns a packer that appends to it.
    pub fn packer(&mut self) -> RowPacker<'_> {
        self.data.clear();
        RowPacker {
            data: &mut self.data,
        }
    }

    /// A packer that appends after the existing datums.
    pub fn appender(&mut self) -> RowPacker<'_> {
        RowPacker {
            data: &mut self.data,
        }
    }

    pub fn iter(&self) -> DatumListIter<'_> {
        DatumListIter {
            data: &self.data,
            offset: 0,
        }
    }

    pub fn unpack(&self) -> Vec<Datum<'_>> {
        self.iter().collect()
    }

    pub fn unpack_first(&self) -> Datum<'_> {
        self.iter().next().unwrap_or(Datum::Null)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Number of datums (walks the row).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The encoded bytes (for the durable log).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// Rebuilds a row from bytes read back from the log, validating the encoding so that a
    /// corrupt log can never produce a row that later panics when read.
    pub fn from_bytes_checked(bytes: &[u8]) -> Result<Row, RowDecodeError> {
        validate(bytes)?;
        Ok(Row {
            data: bytes.to_vec(),
        })
    }

    pub fn as_datum_list(&self) -> DatumList<'_> {
        DatumList { data: &self.data }
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, d) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str(")")
    }
}

/// A borrowed sequence of packed datums: an array's elements, or a row.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatumList<'a> {
    data: &'a [u8],
}

impl<'a> DatumList<'a> {
    pub fn iter(&self) -> DatumListIter<'a> {
        DatumListIter {
            data: self.data,
            offset: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
}

impl fmt::Debug for DatumList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterates the datums of a packed sequence.
pub struct DatumListIter<'a> {
    data: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for DatumListIter<'a> {
    type Item = Datum<'a>;

    fn next(&mut self) -> Option<Datum<'a>> {
        if self.offset >= self.data.len() {
            None
        } else {
            Some(read_datum(self.data, &mut self.offset))
        }
    }
}

/// Appends datums to a row.
pub struct RowPacker<'a> {
    data: &'a mut Vec<u8>,
}

impl RowPacker<'_> {
    pub fn push<'b, D: std::borrow::Borrow<Datum<'b>>>(&mut self, datum: D) {
        push_datum(self.data, datum.borrow());
    }

    pub fn extend<'b, I, D>(&mut self, datums: I)
    where
        I: IntoIterator<Item = D>,
        D: std::borrow::Borrow<Datum<'b>>,
    {
        for d in datums {
            self.push(d);
        }
    }

    /// Appends the datums of another row (already packed: a byte copy).
    pub fn extend_by_row(&mut self, row: &Row) {
        self.data.extend_from_slice(&row.data);
    }

    /// Appends an array whose elements `f` pushes onto the inner packer.
    pub fn push_array_with<F: FnOnce(&mut RowPacker)>(&mut self, f: F) {
        self.data.push(tag::ARRAY);
        let len_at = self.data.len();
        self.data.extend_from_slice(&[0; 4]);
        let start = self.data.len();
        f(&mut RowPacker { data: self.data });
        let len = (self.data.len() - start) as u32;
        self.data[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }
}

fn push_len_prefixed(data: &mut Vec<u8>, short_tag: u8, long_tag: u8, bytes: &[u8]) {
    if bytes.len() < 256 {
        data.push(short_tag);
        data.push(bytes.len() as u8);
    } else {
        data.push(long_tag);
        data.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    }
    data.extend_from_slice(bytes);
}

fn push_datum(data: &mut Vec<u8>, datum: &Datum) {
    match datum {
        Datum::Null => data.push(tag::NULL),
        Datum::False => data.push(tag::FALSE),
        Datum::True => data.push(tag::TRUE),
        Datum::Int16(i) => {
            data.push(tag::INT16);
            data.extend_from_slice(&i.to_le_bytes());
        }
        Datum::Int32(i) => {
            data.push(tag::INT32);
            data.extend_from_slice(&i.to_le_bytes());
        }
        Datum::Int64(i) => {
            data.push(tag::INT64);
            data.extend_from_slice(&i.to_le_bytes());
        }
        Datum::Float32(f) => {
            data.push(tag::FLOAT32);
            let f = if f.is_nan() { f32::NAN } else { *f };
            data.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Datum::Float64(f) => {
            data.push(tag::FLOAT64);
            let f = if f.is_nan() { f64::NAN } else { *f };
            data.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Datum::Numeric(d) => {
            data.push(tag::NUMERIC);
            data.extend_from_slice(&crate::adt::numeric::normalize_zero(*d).serialize());
        }
        Datum::String(s) => push_len_prefixed(data, tag::STR8, tag::STR32, s.as_bytes()),
        Datum::Bytes(b) => push_len_prefixed(data, tag::BYTES8, tag::BYTES32, b),
        Datum::Date(d) => {
            data.push(tag::DATE);
            data.extend_from_slice(&d.0.to_le_bytes());
        }
        Datum::Time(t) => {
            data.push(tag::TIME);
            data.extend_from_slice(&t.0.to_le_bytes());
        }
        Datum::Timestamp(t) => {
            data.push(tag::TIMESTAMP);
            data.extend_from_slice(&t.0.to_le_bytes());
        }
        Datum::TimestampTz(t) => {
            data.push(tag::TIMESTAMPTZ);
            data.extend_from_slice(&t.0.to_le_bytes());
        }
        Datum::Interval(i) => {
            data.push(tag::INTERVAL);
            data.extend_from_slice(&i.months.to_le_bytes());
            data.extend_from_slice(&i.days.to_le_bytes());
            data.extend_from_slice(&i.micros.to_le_bytes());
        }
        Datum::Uuid(u) => {
            data.push(tag::UUID);
            data.extend_from_slice(u.as_bytes());
        }
        Datum::Jsonb(j) => {
            data.push(tag::JSONB);
            data.extend_from_slice(&(j.len() as u32).to_le_bytes());
            data.extend_from_slice(j.as_bytes());
        }
        Datum::Array(list) => {
            data.push(tag::ARRAY);
            data.extend_from_slice(&(list.data.len() as u32).to_le_bytes());
            data.extend_from_slice(list.data);
        }
    }
}

fn take<'a, const N: usize>(data: &'a [u8], offset: &mut usize) -> [u8; N] {
    let bytes: [u8; N] = data[*offset..*offset + N]
        .try_into()
        .expect("row underflow");
    *offset += N;
    bytes
}

fn take_slice<'a>(data: &'a [u8], offset: &mut usize, len: usize) -> &'a [u8] {
    let slice = &data[*offset..*offset + len];
    *offset += len;
    slice
}

fn read_str<'a>(data: &'a [u8], offset: &mut usize, len: usize) -> &'a str {
    std::str::from_utf8(take_slice(data, offset, len)).expect("rows hold valid UTF-8")
}

/// Reads one datum. Rows are only built by `RowPacker` or validated by
/// `Row::from_bytes_checked`, so malformed bytes here are a broken invariant.
fn read_datum<'a>(data: &'a [u8], offset: &mut usize) -> Datum<'a> {
    let t = data[*offset];
    *offset += 1;
    match t {
        tag::NULL => Datum::Null,
        tag::FALSE => Datum::False,
        tag::TRUE => Datum::True,
        tag::INT16 => Datum::Int16(i16::from_le_bytes(take(data, offset))),
        tag::INT32 => Datum::Int32(i32::from_le_bytes(take(data, offset))),
        tag::INT64 => Datum::Int64(i64::from_le_bytes(take(data, offset))),
        tag::FLOAT32 => Datum::Float32(f32::from_bits(u32::from_le_bytes(take(data, offset)))),
        tag::FLOAT64 => Datum::Float64(f64::from_bits(u64::from_le_bytes(take(data, offset)))),
        tag::NUMERIC => Datum::Numeric(Decimal::deserialize(take(data, offset))),
        tag::STR8 => {
            let len = take::<1>(data, offset)[0] as usize;
            Datum::String(read_str(data, offset, len))
        }
        tag::STR32 => {
            let len = u32::from_le_bytes(take(data, offset)) as usize;
            Datum::String(read_str(data, offset, len))
        }
        tag::BYTES8 => {
            let len = take::<1>(data, offset)[0] as usize;
            Datum::Bytes(take_slice(data, offset, len))
        }
        tag::BYTES32 => {
            let len = u32::from_le_bytes(take(data, offset)) as usize;
            Datum::Bytes(take_slice(data, offset, len))
        }
        tag::DATE => Datum::Date(Date(i32::from_le_bytes(take(data, offset)))),
        tag::TIME => Datum::Time(Time(i64::from_le_bytes(take(data, offset)))),
        tag::TIMESTAMP => Datum::Timestamp(DateTime(i64::from_le_bytes(take(data, offset)))),
        tag::TIMESTAMPTZ => Datum::TimestampTz(DateTime(i64::from_le_bytes(take(data, offset)))),
        tag::INTERVAL => {
            let months = i32::from_le_bytes(take(data, offset));
            let days = i32::from_le_bytes(take(data, offset));
            let micros = i64::from_le_bytes(take(data, offset));
            Datum::Interval(Interval {
                months,
                days,
                micros,
            })
        }
        tag::UUID => Datum::Uuid(Uuid::from_bytes(take(data, offset))),
        tag::JSONB => {
            let len = u32::from_le_bytes(take(data, offset)) as usize;
            Datum::Jsonb(read_str(data, offset, len))
        }
        tag::ARRAY => {
            let len = u32::from_le_bytes(take(data, offset)) as usize;
            Datum::Array(DatumList {
                data: take_slice(data, offset, len),
            })
        }
        other => panic!("corrupt row: unknown datum tag {other}"),
    }
}

/// A row's bytes that do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed row encoding at byte {offset}")]
pub struct RowDecodeError {
    pub offset: usize,
}

fn validate(data: &[u8]) -> Result<(), RowDecodeError> {
    let mut offset = 0;
    while offset < data.len() {
        validate_datum(data, &mut offset)?;
    }
    Ok(())
}

fn validate_datum(data: &[u8], offset: &mut usize) -> Result<(), RowDecodeError> {
    let err = RowDecodeError { offset: *offset };
    let need = |offset: usize, n: usize| {
        if offset + n <= data.len() {
            Ok(())
        } else {
            Err(err.clone())
        }
    };
    let t = data[*offset];
    *offset += 1;
    let fixed = match t {
        tag::NULL | tag::FALSE | tag::TRUE => 0,
        tag::INT16 => 2,
        tag::INT32 | tag::FLOAT32 | tag::DATE => 4,
        tag::INT64 | tag::FLOAT64 | tag::TIME | tag::TIMESTAMP | tag::TIMESTAMPTZ => 8,
        tag::NUMERIC | tag::INTERVAL | tag::UUID => 16,
        tag::STR8 | tag::BYTES8 => {
            need(*offset, 1)?;
            let len = data[*offset] as usize;
            *offset += 1;
            need(*offset, len)?;
            if t == tag::STR8 && std::str::from_utf8(&data[*offset..*offset + len]).is_err() {
                return Err(err);
            }
            len
        }
        tag::STR32 | tag::BYTES32 | tag::JSONB | tag::ARRAY => {
            need(*offset, 4)?;
            let len = u32::from_le_bytes(data[*offset..*offset + 4].try_into().expect("4 bytes"))
                as usize;
            *offset += 4;
            need(*offset, len)?;
            let body = &data[*offset..*offset + len];
            if (t == tag::STR32 || t == tag::JSONB) && std::str::from_utf8(body).is_err() {
                return Err(err);
            }
            if t == tag::ARRAY {
                validate(body).map_err(|e| RowDecodeError {
                    offset: *offset + e.offset,
                })?;
            }
            len
        }
        _ => return Err(err),
    };
    need(*offset, fixed)?;
    *offset += fixed;
    Ok(())
}

/// Scratch space for datums created while evaluating expressions (the result of a string
/// concatenation, say), which must outlive the call that made them but not the row.
#[derive(Default)]
pub struct RowArena {
    bump: Bump,
}

impl RowArena {
    pub fn new() -> RowArena {
        RowArena::default()
    }

    pub fn push_string(&self, s: &str) -> &str {
        self.bump.alloc_str(s)
    }

    pub fn push_bytes(&self, b: &[u8]) -> &[u8] {
        self.bump.alloc_slice_copy(b)
    }

    /// Builds an array datum whose elements `f` packs.
    pub fn make_array<F: FnOnce(&mut RowPacker)>(&self, f: F) -> Datum<'_> {
        let mut row = Row::default();
        row.packer().push_array_with(f);
        let bytes = self.bump.alloc_slice_copy(row.as_bytes());
        // The packed row is one ARRAY datum; read it back from the arena's copy.
        let mut offset = 0;
        read_datum(bytes, &mut offset)
    }

    /// Copies a datum (and anything it borrows) into the arena.
    pub fn clone_datum<'a>(&'a self, datum: Datum<'_>) -> Datum<'a> {
        match datum {
            Datum::String(s) => Datum::String(self.push_string(s)),
            Datum::Bytes(b) => Datum::Bytes(self.push_bytes(b)),
            Datum::Jsonb(j) => Datum::Jsonb(self.push_string(j)),
            Datum::Array(list) => Datum::Array(DatumList {
                data: self.push_bytes(list.data),
            }),
            Datum::Null => Datum::Null,
            Datum::False => Datum::False,
            Datum::True => Datum::True,
            Datum::Int16(i) => Datum::Int16(i),
            Datum::Int32(i) => Datum::Int32(i),
            Datum::Int64(i) => Datum::Int64(i),
            Datum::Float32(f) => Datum::Float32(f),
            Datum::Float64(f) => Datum::Float64(f),
            Datum::Numeric(d) => Datum::Numeric(d),
            Datum::Date(d) => Datum::Date(d),
            Datum::Time(t) => Datum::Time(t),
            Datum::Timestamp(t) => Datum::Timestamp(t),
            Datum::TimestampTz(t) => Datum::TimestampTz(t),
            Datum::Interval(i) => Datum::Interval(i),
            Datum::Uuid(u) => Datum::Uuid(u),
        }
    }

    /// Frees everything allocated so far (callers reuse one arena across rows).
    pub fn clear(&mut self) {
        self.bump.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_variant() {
        let long = "x".repeat(300);
        let arena = RowArena::new();
        let array = arena.make_array(|p| {
            p.push(Datum::Int32(1));
            p.push(Datum::Null);
        });
        let datums = vec![
            Datum::Null,
            Datum::True,
            Datum::False,
            Datum::Int16(-3),
            Datum::Int32(7),
            Datum::Int64(i64::MIN),
            Datum::Float32(1.5),
            Datum::Float64(-0.25),
            Datum::Numeric(Decimal::new(12345, 2)),
            Datum::String("hé"),
            Datum::String(&long),
            Datum::Bytes(&[0, 1, 2]),
            Datum::Date(Date(19000)),
            Datum::Time(Time(1)),
            Datum::Timestamp(DateTime(-5)),
            Datum::TimestampTz(DateTime(5)),
            Datum::Interval(Interval::new(1, 2, 3)),
            Datum::Uuid(Uuid::from_u128(42)),
            Datum::Jsonb("{\"a\":1}"),
            array,
        ];
        let row = Row::pack_slice(&datums);
        assert_eq!(row.unpack(), datums);
        assert!(Row::from_bytes_checked(row.as_bytes()).is_ok());
        assert!(Row::from_bytes_checked(&row.as_bytes()[..row.byte_len() - 1]).is_err());
        assert!(Row::from_bytes_checked(&[99]).is_err());
    }
}
