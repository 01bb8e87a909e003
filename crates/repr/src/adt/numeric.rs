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

// ---------------------------------------------------------------------------------------
// Result scales of sqrt, exp, ln, log and power
//
// PostgreSQL chooses the display scale of these results from an estimate of the result's
// decimal weight: enough fractional digits for at least 16 significant digits, and never
// fewer than any input's scale. The estimates below follow its rules (numeric.c's
// `numeric_sqrt`, `numeric_exp`, `estimate_ln_dweight`, `log_var`, `power_var` and
// `power_var_int`), which look at a value through its base-10000 digit groups, so they are
// computed the same way here.
// ---------------------------------------------------------------------------------------

/// At least this many significant digits in the result of an inexact function.
const MIN_SIG_DIGITS: i32 = 16;
/// PostgreSQL's largest display scale.
const MAX_DISPLAY_SCALE: i32 = 1000;
/// PostgreSQL's limit on result weights, used to keep estimates in range.
const MAX_RESULT_SCALE: i32 = 2000;
/// log10(e) and ln(10) as PostgreSQL writes them (the estimates truncate, so the last
/// digit can matter).
#[allow(clippy::approx_constant)]
const LOG10_E: f64 = 0.434294481903252;
#[allow(clippy::approx_constant)]
const LN_10: f64 = 2.302585092994046;

/// A value as PostgreSQL holds it: the base-10000 weight of its first digit group and its
/// digit groups, most significant first, without trailing zero groups. Zero has weight 0 and
/// no groups.
fn base10000(d: &Decimal) -> (i32, Vec<u32>) {
    let mantissa = d.mantissa().unsigned_abs();
    if mantissa == 0 {
        return (0, Vec::new());
    }
    let digits = mantissa.to_string();
    // Decimal exponent of the first digit.
    let exponent = digits.len() as i32 - 1 - d.scale() as i32;
    let weight = exponent.div_euclid(4);
    let lead = (4 * weight + 3 - exponent) as usize;
    let mut padded = "0".repeat(lead);
    padded.push_str(&digits);
    while padded.len() % 4 != 0 {
        padded.push('0');
    }
    let mut groups: Vec<u32> = padded
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')))
        .collect();
    while groups.last() == Some(&0) {
        groups.pop();
    }
    (weight, groups)
}

fn clamp_display_scale(rscale: i32) -> i32 {
    rscale.clamp(0, MAX_DISPLAY_SCALE)
}

/// The decimal weight of `ln(d)` as PostgreSQL estimates it (0 for inputs it would reject).
fn ln_dweight(d: &Decimal) -> i32 {
    if d.is_sign_negative() || d.is_zero() {
        return 0;
    }
    let near_one = *d >= Decimal::new(9, 1) && *d <= Decimal::new(11, 1);
    if near_one {
        // ln(1 + x) is about x.
        let x = *d - Decimal::ONE;
        let (weight, groups) = base10000(&x);
        match groups.first() {
            Some(first) => weight * 4 + (f64::from(*first)).log10() as i32,
            None => 0,
        }
    } else {
        let (weight, groups) = base10000(d);
        let mut digits = f64::from(groups[0]);
        let mut dweight = weight * 4;
        if let Some(second) = groups.get(1) {
            digits = digits * 10000.0 + f64::from(*second);
            dweight -= 4;
        }
        let ln = digits.ln() + f64::from(dweight) * LN_10;
        ln.abs().log10() as i32
    }
}

/// Result scale of `sqrt(d)`.
pub fn sqrt_scale(d: &Decimal) -> i32 {
    let (weight, _) = base10000(d);
    let sweight = (weight + 1) * 4 / 2 - 1;
    clamp_display_scale((MIN_SIG_DIGITS - sweight).max(d.scale() as i32))
}

/// Result scale of `exp(d)`.
pub fn exp_scale(d: &Decimal) -> i32 {
    let val =
        (to_f64(d) * LOG10_E).clamp(-f64::from(MAX_RESULT_SCALE), f64::from(MAX_RESULT_SCALE));
    clamp_display_scale((MIN_SIG_DIGITS - val as i32).max(d.scale() as i32))
}

/// Result scale of `ln(d)`.
pub fn ln_scale(d: &Decimal) -> i32 {
    clamp_display_scale((MIN_SIG_DIGITS - ln_dweight(d)).max(d.scale() as i32))
}

/// Result scale of `log(base, d)` (`log(d)` is `log(10, d)`).
pub fn log_scale(base: &Decimal, d: &Decimal) -> i32 {
    let result_dweight = ln_dweight(d) - ln_dweight(base);
    clamp_display_scale(
        (MIN_SIG_DIGITS - result_dweight)
            .max(base.scale() as i32)
            .max(d.scale() as i32),
    )
}

/// The outcome of choosing the scale of `base ^ exponent`.
#[derive(Debug, PartialEq, Eq)]
pub enum PowerScale {
    /// The result has this display scale.
    Scale(i32),
    /// The result is certainly too large for PostgreSQL's numeric.
    Overflow,
    /// The result is certainly below PostgreSQL's smallest display scale: it is zero.
    Underflow,
}

/// Result scale of `base ^ exponent` where the exponent is integral and fits in 32 bits:
/// PostgreSQL 15 multiplies the base out and keeps 16 fractional digits, or the base's
/// scale if larger, whatever the size of the result.
pub fn power_int_scale(base: &Decimal) -> i32 {
    clamp_display_scale(MIN_SIG_DIGITS.max(base.scale() as i32))
}

/// Result scale of `base ^ exponent` for a positive base and a non-integral exponent.
pub fn power_scale(base: &Decimal, exponent: &Decimal) -> PowerScale {
    use rust_decimal::MathematicalOps;
    // PostgreSQL estimates exponent * ln(base) with ln(base) and the product rounded to
    // about 8 significant digits; the estimate is truncated to an integer, so do the same
    // (power(0.0001, 0.25) has 16 fractional digits, not 17).
    let local = (8 - ln_dweight(base)).clamp(0, MAX_SCALE as i32) as u32;
    let round =
        |d: Decimal| d.round_dp_with_strategy(local, RoundingStrategy::MidpointAwayFromZero);
    let val = base
        .checked_ln()
        .and_then(|ln| round(ln).checked_mul(*exponent))
        .map(|product| to_f64(&round(product)))
        .unwrap_or_else(|| to_f64(base).ln() * to_f64(exponent));
    if val.abs() > f64::from(MAX_RESULT_SCALE) * 3.01 {
        return if val > 0.0 {
            PowerScale::Overflow
        } else {
            PowerScale::Underflow
        };
    }
    let val = val * LOG10_E;
    PowerScale::Scale(clamp_display_scale(
        (MIN_SIG_DIGITS - val as i32)
            .max(base.scale() as i32)
            .max(exponent.scale() as i32),
    ))
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
