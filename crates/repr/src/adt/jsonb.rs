//! `jsonb`: JSON documents held as canonical text.
//!
//! The canonical form is compact JSON with object keys deduplicated (last wins) and ordered
//! as PostgreSQL orders them (shorter keys first, then bytewise), so equal documents have
//! equal bytes and rows holding them compare and hash correctly. Display adds the spacing
//! PostgreSQL prints (`{"a": 1, "b": [1, 2]}`).

use std::cmp::Ordering;

use serde_json::Value;

use crate::errors::ParseError;

/// Parses JSON text into the canonical form.
pub fn canonicalize(text: &str) -> Result<String, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|_| ParseError::invalid("json", text))?;
    Ok(to_canonical(&value))
}

/// Writes a JSON value in the canonical form.
pub fn to_canonical(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, false);
    out
}

/// Parses canonical text back into a value (infallible for text this module produced).
pub fn parse(canonical: &str) -> Value {
    serde_json::from_str(canonical).unwrap_or(Value::Null)
}

/// PostgreSQL's jsonb text output.
pub fn display(canonical: &str) -> String {
    let mut out = String::new();
    write_value(&mut out, &parse(canonical), true);
    out
}

fn key_order(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn write_value(out: &mut String, value: &Value, spaced: bool) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| key_order(a.0, b.0));
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(if spaced { ", " } else { "," });
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push_str(if spaced { ": " } else { ":" });
                write_value(out, v, spaced);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if spaced { ", " } else { "," });
                }
                write_value(out, v, spaced);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// PostgreSQL's jsonb ordering: object > array > boolean > number > string > null, then
/// by content.
pub fn compare_text(a: &str, b: &str) -> Ordering {
    compare_values(&parse(a), &parse(b))
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::String(_) => 1,
        Value::Number(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let x = x.as_f64().unwrap_or(0.0);
            let y = y.as_f64().unwrap_or(0.0);
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y.iter())
                .map(|(a, b)| compare_values(a, b))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        }),
        (Value::Object(x), Value::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|a, b| key_order(a.0, b.0));
            ys.sort_by(|a, b| key_order(a.0, b.0));
            for ((ka, va), (kb, vb)) in xs.iter().zip(ys.iter()) {
                let o = key_order(ka, kb).then_with(|| compare_values(va, vb));
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        }),
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}
