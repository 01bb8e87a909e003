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
        (Value::Array(x), scalar) if top && !scalar.is_object() && !scalar.is_array() => x
            .iter()
            .any(|va| jsonb::compare_values(va, scalar) == std::cmp::Ordering::Equal),
        // Numbers are numerics: 1.0 and 1 are equal.
        (x, y) => jsonb::compare_values(x, y) == std::cmp::Ordering::Equal,
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
        // Floats become numbers through their text (PostgreSQL's float4 `0.1` is the number
        // 0.1, not 0.100000001490116); NaN and infinities are strings.
        Datum::Float32(_) | Datum::Float64(_) => {
            let text = d.to_string();
            text.parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or(Value::String(text))
        }
        Datum::Numeric(n) => n
            .to_string()
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .unwrap_or(Value::Null),
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

/// `jsonb ?| text[]` (`all`: `?&`): whether any (every) non-NULL string of the array is a
/// key or string element (see [`has_key`]).
pub fn has_keys(doc: &str, keys: evert_repr::DatumList, all: bool) -> bool {
    let mut keys = keys.iter().filter_map(|k| match k {
        Datum::String(s) => Some(s),
        _ => None,
    });
    if all {
        keys.all(|k| has_key(doc, k))
    } else {
        keys.any(|k| has_key(doc, k))
    }
}

fn cannot_delete(what: &str) -> EvalError {
    EvalError::InvalidParameterValue(format!("cannot delete from {what}"))
}

/// `jsonb - text` (and `jsonb - text[]`): without the object's keys, or the array's string
/// elements, equal to any of `keys`.
pub fn delete_keys<'a>(
    doc: &str,
    keys: &[&str],
    arena: &'a RowArena,
) -> Result<Datum<'a>, EvalError> {
    let value = match jsonb::parse(doc) {
        Value::Object(mut map) => {
            for k in keys {
                map.remove(*k);
            }
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|v| !v.as_str().is_some_and(|s| keys.contains(&s)))
                .collect(),
        ),
        _ => return Err(cannot_delete("scalar")),
    };
    Ok(Datum::Jsonb(
        arena.push_string(&jsonb::to_canonical(&value)),
    ))
}

/// `jsonb - integer`: the array without its element at `index` (negative counts from the
/// end); unchanged if there is no such element.
pub fn delete_index<'a>(
    doc: &str,
    index: i64,
    arena: &'a RowArena,
) -> Result<Datum<'a>, EvalError> {
    match jsonb::parse(doc) {
        Value::Array(mut items) => {
            let len = items.len() as i64;
            let i = if index < 0 { len + index } else { index };
            if (0..len).contains(&i) {
                items.remove(i as usize);
            }
            Ok(Datum::Jsonb(
                arena.push_string(&jsonb::to_canonical(&Value::Array(items))),
            ))
        }
        Value::Object(_) => Err(EvalError::InvalidParameterValue(
            "cannot delete from object using integer index".into(),
        )),
        _ => Err(cannot_delete("scalar")),
    }
}

/// `jsonb_pretty`: PostgreSQL's indented form, four spaces a level, an empty container
/// opened and closed on two lines.
pub fn pretty(doc: &str) -> String {
    let mut out = String::new();
    write_pretty(&mut out, &jsonb::parse(doc), 0);
    out
}

fn write_pretty(out: &mut String, value: &Value, level: usize) {
    let indent = |out: &mut String, level: usize| out.push_str(&"    ".repeat(level));
    match value {
        Value::Object(_) | Value::Array(_) => {
            let (open, close) = if value.is_object() {
                ('{', '}')
            } else {
                ('[', ']')
            };
            out.push(open);
            out.push('\n');
            // Object keys in jsonb's order: shorter keys first, then bytewise.
            let entries: Vec<(Option<&String>, &Value)> = match value {
                Value::Object(map) => {
                    let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
                    pairs.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(b.0)));
                    pairs.into_iter().map(|(k, v)| (Some(k), v)).collect()
                }
                Value::Array(items) => items.iter().map(|v| (None, v)).collect(),
                _ => Vec::new(),
            };
            for (i, (key, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                if let Some(k) = key {
                    out.push_str(&serde_json::to_string(k).unwrap_or_default());
                    out.push_str(": ");
                }
                write_pretty(out, v, level + 1);
            }
            if !entries.is_empty() {
                out.push('\n');
            }
            indent(out, level);
            out.push(close);
        }
        scalar => out.push_str(&jsonb::display(&jsonb::to_canonical(scalar))),
    }
}
