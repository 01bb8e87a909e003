//! Canonical forms of key values.
//!
//! Some values have more than one representation: a numeric keeps the scale it was written or
//! computed with (`1.5` and `1.50` are equal but print differently), a float can be `-0`
//! or `0`, and a jsonb document holds numerics (`{"a": 1.0}` equals `{"a": 1}`). SQL compares
//! them by value, but a dataflow matches arrangement keys by their bytes. So wherever a value
//! becomes a key that must match by SQL equality (join keys, index keys and the literals
//! that look them up), it is put in the canonical form given here: numerics without trailing
//! zeros, floats without a negative zero, jsonb with its numbers so written. The rows
//! themselves keep their values as they are, so what is displayed does not change.

use evert_repr::adt::jsonb;
use evert_repr::{Datum, Row, RowArena, ScalarType};

/// The canonical form of `d`, or `None` if `d` is already canonical. A canonical jsonb
/// document is new text, kept in `arena`.
pub fn canonical_key_datum<'a>(d: Datum<'_>, arena: &'a RowArena) -> Option<Datum<'a>> {
    match d {
        Datum::Jsonb(j) => jsonb::key_form(j).map(|k| Datum::Jsonb(arena.push_string(&k))),
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

/// Whether values of type `typ` can have several representations (see the module
/// documentation), so that grouping or deduplicating them must go through canonical keys.
pub fn has_several_representations(typ: &ScalarType) -> bool {
    matches!(
        typ,
        ScalarType::Numeric { .. } | ScalarType::Float32 | ScalarType::Float64 | ScalarType::Jsonb
    )
}

/// The row with every datum in canonical form (`row` itself if it already is).
pub fn canonical_row(row: &Row) -> Row {
    let arena = RowArena::new();
    if row.iter().all(|d| canonical_key_datum(d, &arena).is_none()) {
        return row.clone();
    }
    Row::pack(
        row.iter()
            .map(|d| canonical_key_datum(d, &arena).unwrap_or(d)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn canonical_rows_of_equal_values_are_equal() {
        let a = Row::pack_slice(&[Datum::Numeric(Decimal::new(0, 1)), Datum::Float64(-0.0)]);
        let b = Row::pack_slice(&[Datum::Numeric(Decimal::new(0, 2)), Datum::Float64(0.0)]);
        assert_ne!(a, b);
        assert_eq!(canonical_row(&a), canonical_row(&b));
        let c = Row::pack_slice(&[Datum::Numeric(Decimal::new(150, 2)), Datum::String("x")]);
        let d = Row::pack_slice(&[Datum::Numeric(Decimal::new(15, 1)), Datum::String("x")]);
        assert_eq!(canonical_row(&c), canonical_row(&d));
        assert_eq!(canonical_row(&d), d);
        let e = Row::pack_slice(&[Datum::Jsonb("{\"a\":[1.50,2]}")]);
        let f = Row::pack_slice(&[Datum::Jsonb("{\"a\":[1.5,2.0]}")]);
        assert_ne!(e, f);
        assert_eq!(canonical_row(&e), canonical_row(&f));
    }
}
