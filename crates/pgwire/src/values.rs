//! Values on the wire: PostgreSQL's text and binary formats for every type evert has.

use bytes::{BufMut, BytesMut};
use evert_repr::adt::datetime::{Date, DateTime, Interval, Time, MICROS_PER_DAY};
use evert_repr::adt::jsonb;
use evert_repr::{strconv, Datum, Row, RowArena, ScalarType};
use rust_decimal::Decimal;

/// Days between 1970-01-01 (evert's epoch) and 2000-01-01 (PostgreSQL's).
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS as i64 * MICROS_PER_DAY;

/// The scalar type for a type OID clients send (0 means "infer it").
pub fn type_from_oid(oid: u32) -> Option<ScalarType> {
    Some(match oid {
        16 => ScalarType::Bool,
        21 => ScalarType::Int16,
        23 => ScalarType::Int32,
        20 => ScalarType::Int64,
        700 => ScalarType::Float32,
        701 => ScalarType::Float64,
        1700 => ScalarType::numeric(),
        25 => ScalarType::String,
        1043 => ScalarType::VarChar { max_length: None },
        1042 => ScalarType::Char { length: 1 },
        17 => ScalarType::Bytes,
        1082 => ScalarType::Date,
        1083 => ScalarType::Time,
        1114 => ScalarType::Timestamp,
        1184 => ScalarType::TimestampTz,
        1186 => ScalarType::Interval,
        2950 => ScalarType::Uuid,
        3802 | 114 => ScalarType::Jsonb,
        705 => ScalarType::String,
        1000 => ScalarType::Array(Box::new(ScalarType::Bool)),
        1005 => ScalarType::Array(Box::new(ScalarType::Int16)),
        1007 => ScalarType::Array(Box::new(ScalarType::Int32)),
        1016 => ScalarType::Array(Box::new(ScalarType::Int64)),
        1021 => ScalarType::Array(Box::new(ScalarType::Float32)),
        1022 => ScalarType::Array(Box::new(ScalarType::Float64)),
        1231 => ScalarType::Array(Box::new(ScalarType::numeric())),
        1009 => ScalarType::Array(Box::new(ScalarType::String)),
        1015 => ScalarType::Array(Box::new(ScalarType::VarChar { max_length: None })),
        _ => return None,
    })
}

/// Appends a value in text format.
pub fn encode_text(d: Datum, buf: &mut BytesMut) {
    use std::fmt::Write;
    match d {
        Datum::String(s) => buf.put_slice(s.as_bytes()),
        other => {
            let mut s = String::new();
            let _ = write!(s, "{other}");
            buf.put_slice(s.as_bytes());
        }
    }
}

/// Appends a value in binary format.
pub fn encode_binary(d: Datum, typ: &ScalarType, buf: &mut BytesMut) {
    match d {
        Datum::Null => {}
        Datum::True => buf.put_u8(1),
        Datum::False => buf.put_u8(0),
        Datum::Int16(i) => buf.put_i16(i),
        Datum::Int32(i) => buf.put_i32(i),
        Datum::Int64(i) => buf.put_i64(i),
        Datum::Float32(f) => buf.put_f32(f),
        Datum::Float64(f) => buf.put_f64(f),
        Datum::Numeric(n) => encode_numeric(n, buf),
        Datum::String(s) => buf.put_slice(s.as_bytes()),
        Datum::Bytes(b) => buf.put_slice(b),
        Datum::Date(d) => buf.put_i32(d.0 - PG_EPOCH_DAYS),
        Datum::Time(t) => buf.put_i64(t.0),
        Datum::Timestamp(t) | Datum::TimestampTz(t) => buf.put_i64(t.0 - PG_EPOCH_MICROS),
        Datum::Interval(iv) => {
            buf.put_i64(iv.micros);
            buf.put_i32(iv.days);
            buf.put_i32(iv.months);
        }
        Datum::Uuid(u) => buf.put_slice(u.as_bytes()),
        Datum::Jsonb(j) => {
            buf.put_u8(1);
            buf.put_slice(jsonb::display(j).as_bytes());
        }
        Datum::Array(list) => {
            let elem = match typ {
                ScalarType::Array(e) => (**e).clone(),
                _ => ScalarType::String,
            };
            let items: Vec<Datum> = list.iter().collect();
            buf.put_i32(if items.is_empty() { 0 } else { 1 });
            buf.put_i32(i32::from(items.iter().any(|d| d.is_null())));
            buf.put_u32(elem.oid());
            if !items.is_empty() {
                buf.put_i32(items.len() as i32);
                buf.put_i32(1);
            }
            for item in items {
                if item.is_null() {
                    buf.put_i32(-1);
                } else {
                    let mut inner = BytesMut::new();
                    encode_binary(item, &elem, &mut inner);
                    buf.put_i32(inner.len() as i32);
                    buf.put_slice(&inner);
                }
            }
        }
    }
}

/// PostgreSQL's binary numeric: base-10000 digits with a weight, sign and display scale.
fn encode_numeric(n: Decimal, buf: &mut BytesMut) {
    let scale = n.scale() as usize;
    let text = n.abs().to_string();
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (text.clone(), String::new()),
    };
    let int_part = int_part.trim_start_matches('0').to_string();
    // Integer digits grouped from the right, fraction from the left.
    let pad_left = (4 - int_part.len() % 4) % 4;
    let int_padded = format!("{}{}", "0".repeat(pad_left), int_part);
    let pad_right = (4 - frac_part.len() % 4) % 4;
    let frac_padded = format!("{}{}", frac_part, "0".repeat(pad_right));
    let mut digits: Vec<i16> = Vec::new();
    for chunk in int_padded.as_bytes().chunks(4) {
        digits.push(
            std::str::from_utf8(chunk)
                .unwrap_or("0")
                .parse()
                .unwrap_or(0),
        );
    }
    let int_groups = digits.len() as i16;
    for chunk in frac_padded.as_bytes().chunks(4) {
        digits.push(
            std::str::from_utf8(chunk)
                .unwrap_or("0")
                .parse()
                .unwrap_or(0),
        );
    }
    let mut weight = int_groups - 1;
    // Strip leading zero groups (adjusting the weight) and trailing zero groups.
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    buf.put_i16(digits.len() as i16);
    buf.put_i16(weight);
    buf.put_u16(if n.is_sign_negative() && !n.is_zero() {
        0x4000
    } else {
        0x0000
    });
    buf.put_u16(scale as u16);
    for d in digits {
        buf.put_i16(d);
    }
}

fn decode_numeric(bytes: &[u8]) -> Result<Decimal, String> {
    let short = || "invalid binary numeric".to_string();
    let get = |i: usize| -> Result<i16, String> {
        bytes
            .get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(short)
    };
    let ndigits = get(0)? as usize;
    let weight = get(2)?;
    let sign = get(4)? as u16;
    let dscale = get(6)? as u32;
    if sign == 0xC000 {
        return Err("NaN is not a supported numeric value".into());
    }
    let mut text = String::new();
    for i in 0..ndigits {
        let digit = get(8 + 2 * i)?;
        text.push_str(&format!("{digit:04}"));
    }
    // Place the decimal point after (weight + 1) groups.
    let point = (weight as i32 + 1) * 4;
    let value = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), text)
    } else if point as usize >= text.len() {
        format!("{}{}", text, "0".repeat(point as usize - text.len()))
    } else {
        format!("{}.{}", &text[..point as usize], &text[point as usize..])
    };
    let mut d: Decimal = value.parse::<Decimal>().map_err(|e| e.to_string())?;
    d = evert_repr::adt::numeric::rescale(d, dscale);
    if sign == 0x4000 {
        d.set_sign_negative(true);
    }
    Ok(d)
}

/// A parameter value sent by the client, as a one-datum row of `typ`.
pub fn decode_param(bytes: Option<&[u8]>, typ: &ScalarType, binary: bool) -> Result<Row, String> {
    let Some(bytes) = bytes else {
        return Ok(Row::of(Datum::Null));
    };
    let arena = RowArena::new();
    if !binary {
        let text =
            std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8 in parameter".to_string())?;
        let d = strconv::parse_datum(text, typ, &arena).map_err(|e| e.to_string())?;
        return Ok(Row::of(d));
    }
    let exact = |n: usize| -> Result<(), String> {
        if bytes.len() == n {
            Ok(())
        } else {
            Err(format!(
                "incorrect binary data length {} for type {}",
                bytes.len(),
                typ.pg_name()
            ))
        }
    };
    let array4 = |b: &[u8]| -> [u8; 4] { [b[0], b[1], b[2], b[3]] };
    let array8 = |b: &[u8]| -> [u8; 8] { [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]] };
    let d = match typ {
        ScalarType::Bool => {
            exact(1)?;
            Datum::from_bool(bytes[0] != 0)
        }
        ScalarType::Int16 => {
            exact(2)?;
            Datum::Int16(i16::from_be_bytes([bytes[0], bytes[1]]))
        }
        ScalarType::Int32 => {
            exact(4)?;
            Datum::Int32(i32::from_be_bytes(array4(bytes)))
        }
        ScalarType::Int64 => {
            exact(8)?;
            Datum::Int64(i64::from_be_bytes(array8(bytes)))
        }
        ScalarType::Float32 => {
            exact(4)?;
            Datum::Float32(f32::from_be_bytes(array4(bytes)))
        }
        ScalarType::Float64 => {
            exact(8)?;
            Datum::Float64(f64::from_be_bytes(array8(bytes)))
        }
        ScalarType::Numeric { .. } => Datum::Numeric(decode_numeric(bytes)?),
        ScalarType::String
        | ScalarType::VarChar { .. }
        | ScalarType::Char { .. }
        | ScalarType::Unknown => Datum::String(arena.push_string(
            std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8 in parameter".to_string())?,
        )),
        ScalarType::Bytes => Datum::Bytes(arena.push_bytes(bytes)),
        ScalarType::Date => {
            exact(4)?;
            Datum::Date(Date(
                i32::from_be_bytes(array4(bytes)).saturating_add(PG_EPOCH_DAYS),
            ))
        }
        ScalarType::Time => {
            exact(8)?;
            Datum::Time(Time(i64::from_be_bytes(array8(bytes))))
        }
        ScalarType::Timestamp => {
            exact(8)?;
            Datum::Timestamp(DateTime(
                i64::from_be_bytes(array8(bytes)).saturating_add(PG_EPOCH_MICROS),
            ))
        }
        ScalarType::TimestampTz => {
            exact(8)?;
            Datum::TimestampTz(DateTime(
                i64::from_be_bytes(array8(bytes)).saturating_add(PG_EPOCH_MICROS),
            ))
        }
        ScalarType::Interval => {
            exact(16)?;
            Datum::Interval(Interval {
                micros: i64::from_be_bytes(array8(&bytes[0..8])),
                days: i32::from_be_bytes(array4(&bytes[8..12])),
                months: i32::from_be_bytes(array4(&bytes[12..16])),
            })
        }
        ScalarType::Uuid => {
            exact(16)?;
            let mut b = [0u8; 16];
            b.copy_from_slice(bytes);
            Datum::Uuid(uuid::Uuid::from_bytes(b))
        }
        ScalarType::Jsonb => {
            let text = match bytes.first() {
                Some(1) => &bytes[1..],
                _ => bytes,
            };
            let text =
                std::str::from_utf8(text).map_err(|_| "invalid UTF-8 in jsonb".to_string())?;
            Datum::Jsonb(arena.push_string(&jsonb::canonicalize(text).map_err(|e| e.to_string())?))
        }
        ScalarType::Array(_) => {
            return Err(
                "binary array parameters are not supported; send arrays in text format".into(),
            )
        }
    };
    Ok(Row::of(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_round_trips() {
        for s in [
            "0",
            "1",
            "-1.5",
            "12345.678",
            "0.0001",
            "100000000",
            "-0.00012300",
            "9999.9999",
        ] {
            let d: Decimal = s.parse().unwrap();
            let mut buf = BytesMut::new();
            encode_numeric(d, &mut buf);
            let back = decode_numeric(&buf).unwrap();
            assert_eq!(back.to_string(), d.to_string(), "{s}");
        }
    }
}
