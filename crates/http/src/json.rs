//! Values as JSON, both ways.
//!
//! Out: integers and floats are JSON numbers; `numeric` is a string, so that no digit is lost
//! to a client's binary floating point; text, dates, times, timestamps, intervals, uuids and
//! `bytea` are strings in PostgreSQL's text format; booleans and NULL are themselves; `jsonb`
//! is nested JSON; arrays are JSON arrays. Floats that JSON cannot hold (`NaN`, `Infinity`,
//! `-Infinity`) are strings, as PostgreSQL prints them.
//!
//! In: a statement's parameters arrive as JSON values and are read as PostgreSQL reads text
//! parameters, at the type the statement gives each one: a string is the value's text, a
//! number or boolean its JSON text, `null` is NULL, and an array is an array literal (or,
//! for a `jsonb` parameter, any non-string value is the document itself).

use std::fmt::Write as _;

use evert_repr::{strconv, Datum, Row, RowArena, ScalarType};
use serde_json::Value;

/// Appends a JSON string literal.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a value as JSON.
pub fn write_datum(out: &mut String, datum: Datum) {
    match datum {
        Datum::Null => out.push_str("null"),
        Datum::True => out.push_str("true"),
        Datum::False => out.push_str("false"),
        Datum::Int16(i) => {
            let _ = write!(out, "{i}");
        }
        Datum::Int32(i) => {
            let _ = write!(out, "{i}");
        }
        Datum::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Datum::Float32(f) => write_float(out, f64::from(f).is_finite(), strconv::format_float32(f)),
        Datum::Float64(f) => write_float(out, f.is_finite(), strconv::format_float64(f)),
        Datum::String(s) => write_string(out, s),
        // jsonb is held as canonical JSON text, which is valid JSON as it stands.
        Datum::Jsonb(j) => out.push_str(j),
        Datum::Array(list) => {
            out.push('[');
            for (i, d) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_datum(out, d);
            }
            out.push(']');
        }
        other => write_string(out, &other.to_string()),
    }
}

/// PostgreSQL's float text (`1e+20`, `-0`, `0.1`) is valid JSON number syntax when finite.
fn write_float(out: &mut String, finite: bool, text: String) {
    if finite {
        out.push_str(&text);
    } else {
        write_string(out, &text);
    }
}

/// A parameter's value, read at the type the statement expects.
pub fn param_row(value: &Value, typ: &ScalarType) -> Result<Row, String> {
    let text = match (value, typ) {
        (Value::Null, _) => return Ok(Row::of(Datum::Null)),
        (Value::String(s), _) => s.clone(),
        (other, ScalarType::Jsonb) => other.to_string(),
        (Value::Array(items), _) => array_literal(items)?,
        (Value::Object(_), _) => {
            return Err(format!(
                "a JSON object cannot be a value of type {}",
                typ.pg_name()
            ))
        }
        (other, _) => other.to_string(),
    };
    let arena = RowArena::new();
    let datum = strconv::parse_datum(&text, typ, &arena).map_err(|e| e.to_string())?;
    Ok(Row::of(datum))
}

/// A JSON array as a PostgreSQL array literal: `["a", null, 1]` is `{"a",NULL,"1"}`.
fn array_literal(items: &[Value]) -> Result<String, String> {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text = match item {
            Value::Null => {
                out.push_str("NULL");
                continue;
            }
            Value::String(s) => s.clone(),
            Value::Array(_) | Value::Object(_) => {
                return Err(
                    "only one-dimensional arrays of scalars are supported as parameters".into(),
                )
            }
            other => other.to_string(),
        };
        out.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use evert_repr::adt::jsonb;

    fn json(d: Datum) -> String {
        let mut out = String::new();
        write_datum(&mut out, d);
        out
    }

    #[test]
    fn values_render_as_the_issue_specifies() {
        assert_eq!(json(Datum::Int32(-7)), "-7");
        assert_eq!(json(Datum::Int64(i64::MAX)), "9223372036854775807");
        assert_eq!(json(Datum::Float64(0.1)), "0.1");
        assert_eq!(json(Datum::Float32(0.1)), "0.1");
        assert_eq!(json(Datum::Float64(f64::NAN)), "\"NaN\"");
        assert_eq!(json(Datum::Float64(f64::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(json(Datum::Numeric("12.50".parse().unwrap())), "\"12.50\"");
        assert_eq!(json(Datum::String("a\"b\n")), "\"a\\\"b\\n\"");
        assert_eq!(json(Datum::True), "true");
        assert_eq!(json(Datum::Null), "null");
        let doc = jsonb::canonicalize(r#"{"b": [1, 2], "a": null}"#).unwrap();
        assert_eq!(json(Datum::Jsonb(&doc)), r#"{"a":null,"b":[1,2]}"#);
        // Every float PostgreSQL prints is a JSON number JSON parsers accept.
        for f in [1e20, -0.0, 1.5e-7, 123456789.125, f64::MAX] {
            let text = json(Datum::Float64(f));
            let back: f64 = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(back, f, "{text}");
        }
    }

    #[test]
    fn arrays_are_json_arrays() {
        let arena = RowArena::new();
        let array = strconv::parse_datum(
            "{1,NULL,3}",
            &ScalarType::Array(Box::new(ScalarType::Int32)),
            &arena,
        )
        .unwrap();
        assert_eq!(json(array), "[1,null,3]");
        let text = strconv::parse_datum(
            r#"{"a b",c}"#,
            &ScalarType::Array(Box::new(ScalarType::String)),
            &arena,
        )
        .unwrap();
        assert_eq!(json(text), r#"["a b","c"]"#);
    }

    #[test]
    fn parameters_read_at_their_type() {
        let row = param_row(&serde_json::json!(42), &ScalarType::Int64).unwrap();
        assert_eq!(row.unpack_first(), Datum::Int64(42));
        let row = param_row(&serde_json::json!("42"), &ScalarType::Int32).unwrap();
        assert_eq!(row.unpack_first(), Datum::Int32(42));
        let row = param_row(&serde_json::json!(null), &ScalarType::String).unwrap();
        assert_eq!(row.unpack_first(), Datum::Null);
        let row = param_row(&serde_json::json!(true), &ScalarType::Bool).unwrap();
        assert_eq!(row.unpack_first(), Datum::True);
        let row = param_row(&serde_json::json!({"a": [1]}), &ScalarType::Jsonb).unwrap();
        assert_eq!(json(row.unpack_first()), r#"{"a":[1]}"#);
        let row = param_row(
            &serde_json::json!(["x,y", null]),
            &ScalarType::Array(Box::new(ScalarType::String)),
        )
        .unwrap();
        assert_eq!(json(row.unpack_first()), r#"["x,y",null]"#);
        assert!(param_row(&serde_json::json!("abc"), &ScalarType::Int32).is_err());
        assert!(param_row(&serde_json::json!({"a": 1}), &ScalarType::Int32).is_err());
    }
}
