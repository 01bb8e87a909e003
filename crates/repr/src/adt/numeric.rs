//! `numeric`: exact decimals with PostgreSQL's scale rules.
//!
//! Values are `rust_decimal::Decimal` (96-bit mantissa, up to 28 fractional digits). Results
//! that need more than 28 significant digits are an overflow error rather than a silently
//! rounded answer. Rounding is half away from zero, as in PostgreSQL.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::errors::ParseError;

/// The largest scale a `Decimal` can hold.
pub const MAX_SCALE: u32 = 28;

/// Parses numeric text: `12.50`, `-.5`, `1e3`, surrounding spaces allowed.
pub fn parse_numeric(s: &str) -> Result<Decimal, ParseError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ParseError::invalid("numeric", s));
    }
    let lower = t.to_ascii_lowercase();
    if lower.contains('e') {
        return Decimal::from_scientific(&lower)
            .map(normalize_zero)
            .map_err(|_| classify(t, s));
    }
    let valid = {
        let body = t.strip_prefix(['+', '-']).unwrap_or(t);
        let mut dots = 0;
        !body.is_empty()
            && body != "."
            && body.bytes().all(|b| {
                if b == b'.' {
                    dots += 1;
                    true
                } else {
                    b.is_ascii_digit()
                }
            })
            && dots <= 1
    };
    if !valid {
        return Err(ParseError::invalid("numeric", s));
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    // `Decimal::from_str` rejects a trailing dot; PostgreSQL accepts `5.`.
    let t = t.strip_suffix('.').unwrap_or(t);
    match Decimal::from_str_exact(t) {
        Ok(d) => Ok(normalize_zero(d)),
        Err(_) => {
            // Too many fractional digits: round to the maximum scale instead of failing,
            // provided the integer part fits.
            Decimal::from_str(t)
                .map(normalize_zero)
                .map_err(|_| ParseError::out_of_range("numeric", s))
        }
    }
}

fn classify(t: &str, original: &str) -> ParseError {
    if t.bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        ParseError::invalid("numeric", original)
    } else {
        ParseError::out_of_range("numeric", original)
    }
}

/// `-0` and `0` are the same number; keep one representation so rows compare equal.
pub fn normalize_zero(d: Decimal) -> Decimal {
    if d.is_zero() && d.is_sign_negative() {
        let mut d = d;
        d.set_sign_positive(true);
        d
    } else {
        d
    }
}

/// Errors from numeric arithmetic and typmod enforcement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumericError {
    /// A value does not fit `numeric(precision, scale)`.
    FieldOverflow { precision: u8, scale: u8 },
    /// A result does not fit the representation.
    Overflow,
}

/// Enforces `numeric(precision, scale)`: rounds to `scale` digits, then checks the integer
/// digits fit in `precision - scale`.
pub fn apply_typmod(
    d: Decimal,
    precision: Option<u8>,
    scale: Option<u8>,
) -> Result<Decimal, NumericError> {
    let Some(precision) = precision else {
        return Ok(d);
    };
    let scale = scale.unwrap_or(0);
    let rounded = rescale(d, u32::from(scale));
    let integer_digits = integer_digits(&rounded);
    if integer_digits > u32::from(precision.saturating_sub(scale)) {
        return Err(NumericError::FieldOverflow { precision, scale });
    }
    Ok(rounded)
}

/// Rounds (half away from zero) or pads to exactly `scale` fractional digits.
pub fn rescale(d: Decimal, scale: u32) -> Decimal {
    let scale = scale.min(MAX_SCALE);
    let mut r = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    if r.scale() < scale {
        r.rescale(scale);
    }
    normalize_zero(r)
}

/// Number of digits before the decimal point (0 for values below 1).
pub fn integer_digits(d: &Decimal) -> u32 {
    let trunc = d.trunc().abs();
    if trunc.is_zero() {
        0
    } else {
        trunc.to_string().len() as u32
    }
}

/// Base-10000 weight and leading digit group, as PostgreSQL's division scale rule uses them.
fn weight_and_first_group(d: &Decimal) -> (i32, u32) {
    let abs = d.abs();
    if abs.is_zero() {
        return (0, 0);
    }
    let int_digits = integer_digits(&abs) as i32;
    if int_digits > 0 {
        let weight = (int_digits - 1) / 4;
        let s = abs.trunc().to_string();
        let first_len = (int_digits - weight * 4) as usize;
        (weight, s[..first_len].parse().unwrap_or(0))
    } else {
        // Count leading fractional zeros.
        let s = abs.to_string();
        let frac = s.split('.').nth(1).unwrap_or("");
        let zeros = frac.bytes().take_while(|b| *b == b'0').count() as i32;
        let weight = -(zeros / 4) - 1;
        let start = ((-weight - 1) * 4) as usize;
        let group: String = frac.chars().skip(start).take(4).collect();
        let group = format!("{group:0<4}");
        (weight, group.parse().unwrap_or(0))
    }
}

/// `numeric / numeric` with PostgreSQL's choice of result scale (at least 16 significant
/// digits, and no fewer fractional digits than either input).
pub fn div(a: Decimal, b: Decimal) -> Result<Option<Decimal>, NumericError> {
    if b.is_zero() {
        return Ok(None);
    }
    let (w1, f1) = weight_and_first_group(&a);
    let (w2, f2) = weight_and_first_group(&b);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = (16 - qweight * 4)
        .max(a.scale() as i32)
        .max(b.scale() as i32)
        .clamp(0, MAX_SCALE as i32);
    let q = a.checked_div(b).ok_or(NumericError::Overflow)?;
    Ok(Some(rescale(q, rscale as u32)))
}

/// `numeric % numeric`: the remainder has the sign of the dividend.
pub fn rem(a: Decimal, b: Decimal) -> Result<Option<Decimal>, NumericError> {
    if b.is_zero() {
        return Ok(None);
    }
    a.checked_rem(b)
        .map(|r| Some(normalize_zero(r)))
        .ok_or(NumericError::Overflow)
}

pub fn to_f64(d: &Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// Converts a float to numeric the way PostgreSQL does: through its shortest text form.
pub fn from_f64(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    Decimal::from_str(&format!("{f}"))
        .ok()
        .or_else(|| Decimal::from_f64_retain(f))
        .map(normalize_zero)
}

pub fn from_f32(f: f32) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    Decimal::from_str(&format!("{f}")).ok().map(normalize_zero)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_scale_follows_postgres() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(
            div(d("1"), d("3")).unwrap().unwrap().to_string(),
            "0.33333333333333333333"
        );
        assert_eq!(
            div(d("10"), d("3")).unwrap().unwrap().to_string(),
            "3.3333333333333333"
        );
        assert_eq!(
            div(d("7.50"), d("2")).unwrap().unwrap().to_string(),
            "3.7500000000000000"
        );
        assert_eq!(div(d("1"), d("0")).unwrap(), None);
    }

    #[test]
    fn typmod_rounds_and_overflows() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(
            apply_typmod(d("1.005"), Some(5), Some(2))
                .unwrap()
                .to_string(),
            "1.01"
        );
        assert_eq!(
            apply_typmod(d("2"), Some(5), Some(2)).unwrap().to_string(),
            "2.00"
        );
        assert!(apply_typmod(d("1000"), Some(5), Some(2)).is_err());
        assert_eq!(parse_numeric(" 5. ").unwrap().to_string(), "5");
        assert_eq!(parse_numeric("1.5e2").unwrap().to_string(), "150");
        assert!(parse_numeric("abc").is_err());
    }
}
