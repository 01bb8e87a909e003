//! `jsonb`: JSON documents held as canonical text.
//!
//! The canonical form is compact JSON with object keys deduplicated (last wins) and ordered
//! as PostgreSQL orders them (shorter keys first, then bytewise), so documents written alike
//! have equal bytes. Display adds the spacing PostgreSQL prints (`{"a": 1, "b": [1, 2]}`).
//!
//! Numbers in jsonb are PostgreSQL `numeric`s: each keeps the scale it was written with
//! (`1.50` stays `1.50`, `1e2` is `100`, `1.5e-3` is `0.0015`), and they compare by value
//! (`1.0` equals `1`). serde_json's `arbitrary_precision` feature keeps a number's text, which
//! [`numeric_text`] puts in numeric's output form. Like numerics, documents equal in value
//! but written with different scales have different bytes; [`key_form`] gives the form
//! that grouping and joins match on.
use std::cmp::Ordering;

use serde_json::Value;

use crate::errors::ParseError;

/// Parses JSON text into the canonical form.
pub fn canonicalize(text: &str) -> Result<String, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|_| ParseError::invalid("json", text))?;
    if !numbers_in_range(&value) {
        return Err(ParseError::out_of_range("numeric", text));
    }
    Ok(to_canonical(&value))
}

/// Whether every number's exponent is small enough to write out (PostgreSQL's numeric
/// holds up to 131072 digits before the point and 16383 after).
fn numbers_in_range(value: &Value) -> bool {
    match value {
        Value::Number(n) => DecimalText::parse(&n.to_string())
            .is_some_and(|d| d.point <= 131_072 && d.point - (d.digits.len() as i64) >= -16_383),
        Value::Array(items) => items.iter().all(numbers_in_range),
        Value::Object(map) => map.values().all(numbers_in_range),
        _ => true,
    }
}

/// A JSON number's text (`-1.50e+2`) split into its parts: the sign, the significant digits
/// (no leading zeros; trailing zeros kept, since they carry the scale), and the decimal
/// exponent of the place just left of the first digit, so that the value is
/// `0.digits × 10^point`. For zero, `digits` is empty.
#[derive(Debug)]
struct DecimalText {
    negative: bool,
    digits: String,
    point: i64,
    /// Fractional digits PostgreSQL's numeric input keeps (its display scale).
    scale: i64,
}

impl DecimalText {
    fn parse(text: &str) -> Option<DecimalText> {
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
            None => (body, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let all = format!("{int}{frac}");
        let trimmed = all.trim_start_matches('0');
        let point = int.len() as i64 + exponent - (all.len() - trimmed.len()) as i64;
        let scale = (frac.len() as i64 - exponent).max(0);
        let digits = if trimmed.bytes().all(|b| b == b'0') {
            String::new()
        } else {
            trimmed.to_string()
        };
        Some(DecimalText {
            negative: negative && !digits.is_empty(),
            digits,
            point,
            scale,
        })
    }

    /// numeric's output: plain decimal notation with exactly `scale` fractional digits.
    fn to_numeric_string(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        // Digit at position i (0-based) has exponent point - 1 - i.
        let digit_at = |exp: i64| -> char {
            let i = self.point - 1 - exp;
            if i >= 0 && (i as usize) < self.digits.len() {
                self.digits.as_bytes()[i as usize] as char
            } else {
                '0'
            }
        };
        if self.digits.is_empty() || self.point <= 0 {
            out.push('0');
        } else {
            for exp in (0..self.point).rev() {
                out.push(digit_at(exp));
            }
        }
        if self.scale > 0 {
            out.push('.');
            for exp in 1..=self.scale {
                out.push(digit_at(-exp));
            }
        }
        out
    }

    /// The significant digits without trailing zeros: equal values have equal forms.
    fn significant(&self) -> &str {
        self.digits.trim_end_matches('0')
    }
}

/// A JSON number's text in PostgreSQL numeric's output form (`1.5E+2` is `150`, `1e-3` is
/// `0.001`, `-0.0` is `0.0`, `1.50` stays `1.50`).
pub fn numeric_text(text: &str) -> String {
    match DecimalText::parse(text) {
        Some(d) => d.to_numeric_string(),
        None => text.to_string(),
    }
}

/// Compares two JSON numbers by value.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    let (Some(x), Some(y)) = (DecimalText::parse(a), DecimalText::parse(b)) else {
        return a.cmp(b);
    };
    let sign = |d: &DecimalText| -> i8 {
        if d.digits.is_empty() {
            0
        } else if d.negative {
            -1
        } else {
            1
        }
    };
    let by_sign = sign(&x).cmp(&sign(&y));
    if by_sign != Ordering::Equal || sign(&x) == 0 {
        return by_sign;
    }
    let magnitude = x
        .point
        .cmp(&y.point)
        .then_with(|| x.significant().cmp(y.significant()));
    if x.negative {
        magnitude.reverse()
    } else {
        magnitude
    }
}

/// The form of a canonical document that grouping, `DISTINCT` and joins match on: numbers
/// without trailing fractional zeros, so that `{"a": 1.0}` and `{"a": 1}` are one key.
/// `None` if `canonical` is already in that form.
pub fn key_form(canonical: &str) -> Option<String> {
    if !canonical.contains('.') {
        return None;
    }
    let mut value = parse(canonical);
    if !strip_number_zeros(&mut value) {
        return None;
    }
    Some(to_canonical(&value))
}

fn strip_number_zeros(value: &mut Value) -> bool {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            if !text.contains('.') {
                return false;
            }
            let stripped = text.trim_end_matches('0').trim_end_matches('.');
            match stripped.parse::<serde_json::Number>() {
                Ok(number) => {
                    *n = number;
                    true
                }
                Err(_) => false,
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| strip_number_zeros(v) | changed),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| strip_number_zeros(v) | changed),
        _ => false,
    }
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
        Value::Number(n) => out.push_str(&numeric_text(&n.to_string())),
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
        (Value::Number(x), Value::Number(y)) => compare_numbers(&x.to_string(), &y.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_scale_and_compare_by_value() {
        let c = |t: &str| canonicalize(t).unwrap();
        assert_eq!(display(&c("1.50")), "1.50");
        assert_eq!(
            display(&c(
                "[1.0, 2.50, -0, -0.0, 1e2, 1.5E+2, 1e-7, 1.50e1, 0.0012]"
            )),
            "[1.0, 2.50, 0, 0.0, 100, 150, 0.0000001, 15.0, 0.0012]"
        );
        assert_eq!(
            display(&c(r#"{"a": 12345678901234567890123456789012345.5}"#)),
            r#"{"a": 12345678901234567890123456789012345.5}"#
        );
        assert_eq!(compare_text(&c("1.0"), &c("1")), Ordering::Equal);
        assert_eq!(compare_text(&c("[1.50]"), &c("[1.5]")), Ordering::Equal);
        assert_eq!(compare_text(&c("-2"), &c("-10")), Ordering::Greater);
        assert_eq!(compare_text(&c("0.5"), &c("0.05")), Ordering::Greater);
        assert_eq!(compare_text(&c("0"), &c("-0.0")), Ordering::Equal);
        assert_eq!(compare_text(&c("10"), &c("9.99")), Ordering::Greater);
        assert_eq!(
            key_form(&c(r#"{"a": 1.50, "b": [2.0, 3]}"#)).unwrap(),
            c(r#"{"a": 1.5, "b": [2, 3]}"#)
        );
        assert_eq!(key_form(&c(r#"{"a": "1.0"}"#)), None);
        assert!(canonicalize("1e999999").is_err());
    }
}
