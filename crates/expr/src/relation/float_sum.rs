//! Exact sums of floating-point values.
//!
//! A maintained `sum` of `real` or `double precision` adds each inserted value and subtracts
//! each retracted one, in whatever order updates arrive and consolidate. In floating point
//! that is neither associative nor invertible: inserting 0.1, 0.2 and 1e16 and then retracting
//! 0.1 and 1e16 leaves 0 instead of 0.2, and a retracted infinity leaves a NaN behind. So the
//! sum is kept exactly: every finite double is an integer multiple of the smallest subnormal,
//! 2^-1074, and the accumulator holds that integer as signed 64-bit-aligned limbs, with the
//! infinities and NaNs counted on the side. Adding then retracting a value returns it exactly
//! to where it was, whatever happened in between. Only reading the sum rounds, once, to the
//! nearest double.
//!
//! ```text
//!   value = Σ limb.sum × 2^(64·limb.index − 1074)        (limbs sparse, sorted, none zero)
//! ```
//!
//! A double's 53-bit mantissa, shifted to its place, touches at most two limbs, and each limb
//! accumulates in an `i128`, so a limb can absorb 2^63 maximal contributions before it could
//! overflow. The state is a handful of limbs for values of similar magnitude.

use serde::{Deserialize, Serialize};

/// The exponent of the least significant bit of limb 0: the smallest subnormal double.
const MIN_EXPONENT: i32 = -1074;

/// An exact, invertible sum of doubles (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExactFloatSum {
    /// `(index, sum)` pairs, sorted by index, with no zero sums.
    limbs: Vec<(u32, i128)>,
    nans: i64,
    positive_infinities: i64,
    negative_infinities: i64,
}

impl ExactFloatSum {
    /// Adds `value` with multiplicity `multiplicity` (negative to retract).
    pub fn add(&mut self, value: f64, multiplicity: i64) {
        if value.is_nan() {
            self.nans += multiplicity;
            return;
        }
        if value.is_infinite() {
            if value > 0.0 {
                self.positive_infinities += multiplicity;
            } else {
                self.negative_infinities += multiplicity;
            }
            return;
        }
        let bits = value.to_bits();
        let exponent_bits = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1u64 << 52) - 1);
        // value = ±mantissa × 2^exponent, with exponent >= MIN_EXPONENT.
        let (mantissa, exponent) = if exponent_bits == 0 {
            (fraction, MIN_EXPONENT)
        } else {
            (fraction | (1u64 << 52), exponent_bits - 1075)
        };
        if mantissa == 0 {
            return;
        }
        let shift = (exponent - MIN_EXPONENT) as u32;
        let placed = u128::from(mantissa) << (shift % 64);
        let sign: i128 = if bits >> 63 == 1 { -1 } else { 1 };
        let factor = sign.wrapping_mul(i128::from(multiplicity));
        let index = shift / 64;
        self.add_limb(
            index,
            ((placed & u128::from(u64::MAX)) as i128).wrapping_mul(factor),
        );
        self.add_limb(index + 1, ((placed >> 64) as i128).wrapping_mul(factor));
    }

    /// Adds another sum to this one.
    pub fn plus_equals(&mut self, other: &ExactFloatSum) {
        for (index, sum) in &other.limbs {
            self.add_limb(*index, *sum);
        }
        self.nans += other.nans;
        self.positive_infinities += other.positive_infinities;
        self.negative_infinities += other.negative_infinities;
    }

    /// Multiplies every contribution by `factor`.
    pub fn scale_by(&mut self, factor: i64) {
        for (_, sum) in &mut self.limbs {
            *sum = sum.wrapping_mul(i128::from(factor));
        }
        self.limbs.retain(|(_, sum)| *sum != 0);
        self.nans *= factor;
        self.positive_infinities *= factor;
        self.negative_infinities *= factor;
    }

    pub fn is_zero(&self) -> bool {
        self.limbs.is_empty()
            && self.nans == 0
            && self.positive_infinities == 0
            && self.negative_infinities == 0
    }

    /// The sum rounded to the nearest double: NaN if it holds a NaN or infinities of both
    /// signs, an infinity if it holds one, otherwise the exact sum of the finite values
    /// correctly rounded (infinite if that overflows).
    pub fn value(&self) -> f64 {
        if self.nans != 0 || (self.positive_infinities != 0 && self.negative_infinities != 0) {
            return f64::NAN;
        }
        if self.positive_infinities != 0 {
            return f64::INFINITY;
        }
        if self.negative_infinities != 0 {
            return f64::NEG_INFINITY;
        }
        self.finite_value()
    }

    /// True if no infinity or NaN was added (so an infinite [`Self::value`] is an overflow).
    pub fn value_is_finite_sum(&self) -> bool {
        self.nans == 0 && self.positive_infinities == 0 && self.negative_infinities == 0
    }

    fn add_limb(&mut self, index: u32, sum: i128) {
        if sum == 0 {
            return;
        }
        match self.limbs.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(position) => {
                let total = self.limbs[position].1.wrapping_add(sum);
                if total == 0 {
                    self.limbs.remove(position);
                } else {
                    self.limbs[position].1 = total;
                }
            }
            Err(position) => self.limbs.insert(position, (index, sum)),
        }
    }

    fn finite_value(&self) -> f64 {
        // Propagate carries into canonical unsigned 64-bit digits (two's complement overall).
        let mut digits: Vec<u64> = Vec::new();
        let mut carry: i128 = 0;
        let mut limbs = self.limbs.iter().peekable();
        let mut index = 0u32;
        while limbs.peek().is_some() || !(carry == 0 || carry == -1) {
            let mut v = carry;
            if let Some((i, sum)) = limbs.peek() {
                if *i == index {
                    v = v.wrapping_add(*sum);
                    limbs.next();
                }
            }
            digits.push(v as u64);
            carry = v >> 64;
            index += 1;
        }
        let negative = carry == -1;
        if negative {
            // Sign-extend by one digit, so that the magnitude fits, then negate.
            digits.push(u64::MAX);
            let mut add_one = true;
            for d in &mut digits {
                let (inverted, overflow) = (!*d).overflowing_add(u64::from(add_one));
                *d = inverted;
                add_one = add_one && overflow;
            }
        }
        let Some(top) = digits.iter().rposition(|d| *d != 0) else {
            return 0.0;
        };
        // The top 128 bits, with a sticky bit for anything below, round exactly once.
        let (leading, exponent) = if top == 0 {
            (u128::from(digits[0]), MIN_EXPONENT)
        } else {
            let mut leading = (u128::from(digits[top]) << 64) | u128::from(digits[top - 1]);
            if digits[..top - 1].iter().any(|d| *d != 0) {
                leading |= 1;
            }
            (leading, MIN_EXPONENT + 64 * (top as i32 - 1))
        };
        let magnitude = scale_by_power_of_two(leading as f64, exponent);
        if negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

/// `x × 2^exponent`, in steps that keep intermediate results normal.
fn scale_by_power_of_two(mut x: f64, mut exponent: i32) -> f64 {
    let power = |e: i32| f64::from_bits(((e + 1023) as u64) << 52);
    while exponent > 1000 {
        x *= power(1000);
        exponent -= 1000;
    }
    while exponent < -1000 {
        x *= power(-1000);
        exponent += 1000;
    }
    x * power(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(values: &[(f64, i64)]) -> f64 {
        let mut s = ExactFloatSum::default();
        for (v, m) in values {
            s.add(*v, *m);
        }
        s.value()
    }

    #[test]
    fn retractions_leave_no_residue() {
        assert_eq!(
            sum(&[(0.1, 1), (0.2, 1), (1e16, 1), (0.1, -1), (1e16, -1)]),
            0.2
        );
        assert_eq!(
            sum(&[
                (f64::INFINITY, 1),
                (f64::NEG_INFINITY, 1),
                (f64::NEG_INFINITY, -1)
            ]),
            f64::INFINITY
        );
        assert!(sum(&[(f64::NAN, 1), (1.0, 1)]).is_nan());
        assert_eq!(sum(&[(f64::NAN, 1), (1.0, 1), (f64::NAN, -1)]), 1.0);
        let mut s = ExactFloatSum::default();
        s.add(1e-300, 3);
        s.add(-7.25e300, 2);
        s.add(1e-300, -3);
        s.add(-7.25e300, -2);
        assert!(s.is_zero());
    }

    #[test]
    fn rounds_once() {
        assert_eq!(sum(&[(0.1, 1), (0.2, 1)]), 0.1 + 0.2);
        assert_eq!(sum(&[(1.5, 2), (-0.25, 1)]), 2.75);
        assert_eq!(sum(&[(1e308, 1), (-1e308, 1), (5e-324, 1)]), 5e-324);
        assert_eq!(sum(&[(-3.0, 1), (1.0, 1)]), -2.0);
        assert_eq!(sum(&[(1.0, 1), (1e-30, 1)]), 1.0);
        assert_eq!(
            sum(&[(f64::MAX, 1), (f64::MAX, -1), (f64::MIN_POSITIVE, 1)]),
            f64::MIN_POSITIVE
        );
        assert_eq!(sum(&[(f64::MAX, 2)]), f64::INFINITY);
        // 2^53 + 1 + 1: each addition alone would round away the 1.
        assert_eq!(
            sum(&[(9007199254740992.0, 1), (1.0, 2)]),
            9007199254740994.0
        );
        assert_eq!(sum(&[(-0.5, 3)]), -1.5);
        assert_eq!(sum(&[]), 0.0);
        // A negative sum whose low digits are all zero.
        assert_eq!(
            sum(&[(-9007199254740992.0, 2048)]),
            -9007199254740992.0 * 2048.0
        );
    }

    #[test]
    fn scaling_and_combining() {
        let mut a = ExactFloatSum::default();
        a.add(0.1, 1);
        a.add(f64::INFINITY, 1);
        let mut b = a.clone();
        b.scale_by(-1);
        a.plus_equals(&b);
        assert!(a.is_zero());
    }
}
