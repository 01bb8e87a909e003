//! Canonical forms of key values.
//!
//! Some values have more than one representation: a numeric keeps the scale it was written or
//! computed with (`1.5` and `1.50` are equal but print differently), and a float can be `-0`
//! or `0`. SQL compares them by value, but a dataflow matches arrangement keys by their
//! bytes. So wherever a value becomes a key that must match by SQL equality (join keys, index
//! keys and the literals that look them up), it is put in the canonical form given here:
//! numerics without trailing zeros, floats without a negative zero. The rows themselves keep
//! their values as they are, so what is displayed does not change.

use evert_repr::Datum;

/// The canonical form of `d`, or `None` if `d` is already canonical.
pub fn canonical_key_datum(d: Datum<'_>) -> Option<Datum<'static>> {
    match d {
        Datum::Numeric(n) => {
            let canonical = n.normalize();
            (canonical.scale() != n.scale() || canonical.is_sign_negative() != n.is_sign_negative())
                .then_some(Datum::Numeric(canonical))
        }
        Datum::Float64(f) if f == 0.0 && f.is_sign_negative() => Some(Datum::Float64(0.0)),
        Datum::Float32(f) if f == 0.0 && f.is_sign_negative() => Some(Datum::Float32(0.0)),
        _ => None,
    }
}
