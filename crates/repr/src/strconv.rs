//! PostgreSQL text formats: parsing values from text and printing them as PostgreSQL does.

use std::fmt;

use crate::adt::datetime::{Date, DateTime, Interval, Time};
use crate::adt::{jsonb, numeric};
use crate::datum::Datum;
use crate::errors::ParseError;
use crate::row::{DatumList, RowArena};
use crate::scalar::ScalarType;

/// Parses `text` as a value of `typ`, allocating any payload in `arena`.
pub fn parse_datum<'a>(
    text: &str,
    typ: &ScalarType,
    arena: &'a RowArena,
) -> Result<Datum<'a>, ParseError> {
    Ok(match typ {
        ScalarType::Bool => Datum::from_bool(parse_bool(text)?),
        ScalarType::Int16 => Datum::Int16(parse_int(text, "smallint")?),
        ScalarType::Int32 => Datum::Int32(parse_int(text, "integer")?),
        ScalarType::Int64 => Datum::Int64(parse_int(text, "bigint")?),
        ScalarType::Float32 => Datum::Float32(parse_float32(text)?),
        ScalarType::Float64 => Datum::Float64(parse_float64(text)?),
        ScalarType::Numeric { .. } => Datum::Numeric(numeric::parse_numeric(text)?),
        ScalarType::String
        | ScalarType::VarChar { .. }
        | ScalarType::Char { .. }
        | ScalarType::Unknown => Datum::String(arena.push_string(text)),
        ScalarType::Bytes => Datum::Bytes(arena.push_bytes(&parse_bytes(text)?)),
        ScalarType::Date => Datum::Date(Date::parse(text)?),
        ScalarType::Time => Datum::Time(Time::parse(text)?),
        ScalarType::Timestamp => Datum::Timestamp(DateTime::parse(text)?),
        ScalarType::TimestampTz => Datum::TimestampTz(DateTime::parse_tz(text)?),
        ScalarType::Interval => Datum::Interval(Interval::parse(text)?),
        ScalarType::Uuid => Datum::Uuid(parse_uuid(text)?),
        ScalarType::Jsonb => Datum::Jsonb(arena.push_string(&jsonb::canonicalize(text)?)),
        ScalarType::Array(elem) => parse_array(text, elem, arena)?,
    })
}

pub fn parse_bool(s: &str) -> Result<bool, ParseError> {
    let t = s.trim().to_ascii_lowercase();
    let matches = |word: &str| !t.is_empty() && word.starts_with(t.as_str());
    if matches("true") || matches("yes") || t == "on" || t == "1" {
        Ok(true)
    } else if matches("false") || matches("no") || t == "off" || t == "of" || t == "0" {
        Ok(false)
    } else {
        Err(ParseError::invalid("boolean", s))
    }
}

/// Parses an integer the way `int4in` does: optional sign, digits, surrounding blanks.
pub fn parse_int<T>(s: &str, type_name: &str) -> Result<T, ParseError>
where
    T: TryFrom<i128>,
{
    let t = s.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::invalid(type_name, s));
    }
    let mut value: i128 = 0;
    for b in digits.bytes() {
        value = value * 10 + i128::from(b - b'0');
        if value > i128::from(u64::MAX) {
            return Err(ParseError::out_of_range(type_name, s));
        }
    }
    if negative {
        value = -value;
    }
    T::try_from(value).map_err(|_| ParseError::out_of_range(type_name, s))
}

fn parse_special_float(t: &str) -> Option<f64> {
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

pub fn parse_float64(s: &str) -> Result<f64, ParseError> {
    let t = s.trim();
    if let Some(f) = parse_special_float(t) {
        return Ok(f);
    }
    if t.is_empty()
        || t.bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return Err(ParseError::invalid("double precision", s));
    }
    let f: f64 = t
        .parse()
        .map_err(|_| ParseError::invalid("double precision", s))?;
    if f.is_infinite() {
        return Err(ParseError::out_of_range("double precision", s));
    }
    Ok(f)
}

pub fn parse_float32(s: &str) -> Result<f32, ParseError> {
    let t = s.trim();
    if let Some(f) = parse_special_float(t) {
        return Ok(f as f32);
    }
    if t.is_empty()
        || t.bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return Err(ParseError::invalid("real", s));
    }
    let f: f32 = t.parse().map_err(|_| ParseError::invalid("real", s))?;
    if f.is_infinite() {
        return Err(ParseError::out_of_range("real", s));
    }
    Ok(f)
}

/// `bytea` input: hex (`\x0a0b`) or escape format.
pub fn parse_bytes(s: &str) -> Result<Vec<u8>, ParseError> {
    if let Some(hex) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
        let hex: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if hex.len() % 2 != 0 {
            return Err(ParseError::invalid("bytea", s));
        }
        let digit = |b: u8| {
            (b as char)
                .to_digit(16)
                .ok_or_else(|| ParseError::invalid("bytea", s))
        };
        return hex
            .chunks(2)
            .map(|pair| Ok((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
            .collect();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if i + 1 < bytes.len() && bytes[i + 1] == b'\\' {
                out.push(b'\\');
                i += 2;
            } else if i + 3 < bytes.len()
                && bytes[i + 1..i + 4]
                    .iter()
                    .all(|b| (b'0'..=b'7').contains(b))
            {
                let v = (bytes[i + 1] - b'0') as u32 * 64
                    + (bytes[i + 2] - b'0') as u32 * 8
                    + (bytes[i + 3] - b'0') as u32;
                if v > 255 {
                    return Err(ParseError::invalid("bytea", s));
                }
                out.push(v as u8);
                i += 4;
            } else {
                return Err(ParseError::invalid("bytea", s));
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

pub fn parse_uuid(s: &str) -> Result<uuid::Uuid, ParseError> {
    uuid::Uuid::parse_str(s.trim()).map_err(|_| ParseError::invalid("uuid", s))
}

/// `bytea` output in hex format.
pub fn format_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("\\x");
    for byte in b {
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

/// Formats a float's shortest round-trip digits in the style of `%g`: fixed notation when the
/// decimal exponent is within [-4, `max_fixed_exponent`), exponential otherwise.
fn format_float(f: f64, sci: String, max_fixed_exponent: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `sci` looks like "-1.2345e-7": split into sign, digits and exponent.
    let (mantissa, exponent) = sci.split_once('e').expect("exponential format");
    let exponent: i32 = exponent.parse().expect("exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exponent < -4 || exponent >= max_fixed_exponent {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exponent.abs()));
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exponent as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// `float8` output, as PostgreSQL 12+ prints it (shortest exact digits).
pub fn format_float64(f: f64) -> String {
    format_float(f, format!("{f:e}"), 15)
}

/// `float4` output, as PostgreSQL 12+ prints it.
pub fn format_float32(f: f32) -> String {
    format_float(f64::from(f), format!("{f:e}"), 6)
}

/// Array output: `{1,2,NULL}`, quoting elements that need it.
pub fn format_array(f: &mut fmt::Formatter<'_>, list: DatumList) -> fmt::Result {
    f.write_str("{")?;
    for (i, d) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        if d.is_null() {
            f.write_str("NULL")?;
            continue;
        }
        let text = d.to_string();
        let needs_quotes = text.is_empty()
            || text.eq_ignore_ascii_case("null")
            || text
                .chars()
                .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
        if needs_quotes {
            f.write_str("\"")?;
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        } else {
            f.write_str(&text)?;
        }
    }
    f.write_str("}")
}

/// Array input: `{1,2,NULL}` with optional quoting.
pub fn parse_array<'a>(
    text: &str,
    elem: &ScalarType,
    arena: &'a RowArena,
) -> Result<Datum<'a>, ParseError> {
    let t = text.trim();
    let body = t
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| ParseError::invalid(&format!("{}[]", elem.pg_name()), text))?;
    let mut elements: Vec<Option<String>> = Vec::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(ParseError::invalid("array", text)),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
            value = value.trim().to_string();
        }
        match chars.next() {
            Some(',') | None => {}
            Some(_) => return Err(ParseError::invalid("array", text)),
        }
        if !quoted && value.eq_ignore_ascii_case("null") {
            elements.push(None);
        } else {
            elements.push(Some(value));
        }
    }
    let scratch = RowArena::new();
    let mut parsed = Vec::with_capacity(elements.len());
    for e in &elements {
        parsed.push(match e {
            None => Datum::Null,
            Some(s) => parse_datum(s, elem, &scratch)?,
        });
    }
    Ok(arena.make_array(|p| p.extend(parsed.iter())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_postgres() {
        assert_eq!(format_float64(0.1), "0.1");
        assert_eq!(format_float64(1e15), "1e+15");
        assert_eq!(format_float64(123456789012345.0), "123456789012345");
        assert_eq!(format_float64(0.0001), "0.0001");
        assert_eq!(format_float64(0.00001), "1e-05");
        assert_eq!(format_float64(-2.5), "-2.5");
        assert_eq!(format_float64(100.0), "100");
        assert_eq!(format_float64(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(format_float32(1e6), "1e+06");
        assert_eq!(format_float32(100000.0), "100000");
        assert_eq!(format_float32(0.1), "0.1");
        assert_eq!(format_float64(f64::NAN), "NaN");
    }

    #[test]
    fn integers_parse_like_postgres() {
        assert_eq!(parse_int::<i32>(" 42 ", "integer"), Ok(42));
        assert!(parse_int::<i32>("4x", "integer").is_err());
        assert_eq!(
            parse_int::<i16>("40000", "smallint")
                .unwrap_err()
                .sqlstate(),
            "22003"
        );
        assert!(parse_bool("yes").unwrap());
        assert!(!parse_bool("f").unwrap());
    }
}
