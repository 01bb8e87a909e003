//! jsonb operators: `->`, `->>`, `#>`, `#>>`, `@>`, `?`, and conversion of datums to JSON.

use evert_repr::adt::jsonb;
use evert_repr::{Datum, RowArena};
use serde_json::Value;

use crate::error::EvalError;

fn value_datum<'a>(v: &Value, as_text: bool, arena: &'a RowArena) -> Datum<'a> {
    if as_text {
        match v {
            Value::Null => Datum::Null,
            Value::String(s) => Datum::String(arena.push_string(s)),
            other => Datum::String(arena.push_string(&jsonb::display(&jsonb::to_canonical(other)))),
        }
    } else {
        Datum::Jsonb(arena.push_string(&jsonb::to_canonical(v)))
    }
}

fn step<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => {
            let i: i64 = key.parse().ok()?;
            let index = if i < 0 { items.len() as i64 + i } else { i };
            usize::try_from(index).ok().and_then(|i| items.get(i))
        }
        _ => None,
    }
}

/// `jsonb -> key` (text key or integer index).
pub fn get<'a>(
    doc: Datum<'a>,
    key: Datum<'a>,
    as_text: bool,
    arena: &'a RowArena,
) -> Result<Datum<'a>, EvalError> {
    let v = jsonb::parse(doc.unwrap_jsonb());
    let found = match key {
        Datum::String(k) => match &v {
            Value::Object(map) => map.get(k),
            _ => None,
        },
        Datum::Int32(_) | Datum::Int64(_) => {
            let i = match key {
                Datum::Int32(i) => i64::from(i),
                other => other.unwrap_int64(),
            };
            match &v {
                Value::Array(items) => {
                    let index = if i < 0 { items.len() as i64 + i } else { i };
                    usize::try_from(index).ok().and_then(|i| items.get(i))
                }
                _ => None,
            }
        }
        _ => None,
    };
    Ok(found
        .map(|f| value_datum(f, as_text, arena))
        .unwrap_or(Datum::Null))
}

/// `jsonb #> text[]`
pub fn get_path<'a>(
    doc: Datum<'a>,
    path: Datum<'a>,
    as_text: bool,
    arena: &'a RowArena,
) -> Result<Datum<'a>, EvalError> {
    let v = jsonb::parse(doc.unwrap_jsonb());
    let mut current = &v;
    for element in path.unwrap_array().iter() {
        let Datum::String(key) = element else {
            return Ok(Datum::Null);
        };
        match step(current, key) {
            Some(next) => current = next,
            None => return Ok(Datum::Null),
        }
    }
    Ok(value_datum(current, as_text, arena))
}

/// `a @> b`: PostgreSQL's containment (objects by subset, arrays by element containment).
pub fn contains(a: &str, b: &str) -> bool {
    value_contains(&jsonb::parse(a), &jsonb::parse(b), true)
}

fn value_contains(a: &Value, b: &Value, top: bool) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => y
            .iter()
            .all(|(k, vb)| x.get(k).is_some_and(|va| value_contains(va, vb, false))),
        (Value::Array(x), Value::Array(y)) => y
            .iter()
            .all(|vb| x.iter().any(|va| value_contains(va, vb, false))),
        // A top-level array contains a bare scalar that is one of its elements.
        (Value::Array(x), scalar) if top && !scalar.is_object() && !scalar.is_array() => {
            x.iter().any(|va| va == scalar)
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (x, y) => x == y,
    }
}

/// `jsonb ? text`: an object key, or a string element of an array.
pub fn has_key(doc: &str, key: &str) -> bool {
    match jsonb::parse(doc) {
        Value::Object(map) => map.contains_key(key),
        Value::Array(items) => items.iter().any(|v| v.as_str() == Some(key)),
        Value::String(s) => s == key,
        _ => false,
    }
}

/// A datum as a JSON value (`to_jsonb`).
pub fn datum_to_json(d: &Datum) -> Value {
    match d {
        Datum::Null => Value::Null,
        Datum::True => Value::Bool(true),
        Datum::False => Value::Bool(false),
        Datum::Int16(i) => Value::from(*i),
        Datum::Int32(i) => Value::from(*i),
        Datum::Int64(i) => Value::from(*i),
        Datum::Float32(f) => serde_json::Number::from_f64(f64::from(*f))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Datum::Float64(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Datum::Numeric(n) => serde_json::from_str(&n.to_string()).unwrap_or(Value::Null),
        Datum::String(s) => Value::String(s.to_string()),
        Datum::Jsonb(j) => jsonb::parse(j),
        Datum::Array(list) => Value::Array(list.iter().map(|e| datum_to_json(&e)).collect()),
        Datum::Timestamp(ts) => {
            Value::String(ts.to_naive().format("%Y-%m-%dT%H:%M:%S%.f").to_string())
        }
        Datum::TimestampTz(ts) => Value::String(format!(
            "{}+00:00",
            ts.to_naive().format("%Y-%m-%dT%H:%M:%S%.f")
        )),
        other => Value::String(other.to_string()),
    }
}
