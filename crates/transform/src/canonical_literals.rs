//! Canonical literals in equality predicates.
//!
//! Rendering puts every arrangement key in canonical form ([`evert_expr::keys`]): numerics
//! without trailing zeros, floats without a negative zero. A `column = literal` predicate is
//! what a read uses to look an indexed column up by key, so this pass puts such literals in
//! the same form; otherwise `WHERE price = 1.5` would miss a `numeric(10,2)` index holding
//! `1.50`. The predicate's result is unchanged, since the literal's value is.

use evert_expr::keys::canonical_key_datum;
use evert_expr::{BinaryFunc, MirRelationExpr, MirScalarExpr};
use evert_repr::{Row, RowArena};

pub fn canonicalize(expr: &mut MirRelationExpr) {
    expr.visit_mut_post(&mut |e| {
        if let MirRelationExpr::Filter { predicates, .. } = e {
            for p in predicates.iter_mut() {
                p.visit_mut_post(&mut canonicalize_equality);
            }
        }
    });
}

fn canonicalize_equality(e: &mut MirScalarExpr) {
    if let MirScalarExpr::CallBinary {
        func: BinaryFunc::Eq,
        expr1,
        expr2,
    } = e
    {
        for side in [expr1.as_mut(), expr2.as_mut()] {
            if let MirScalarExpr::Literal(Ok(row), _) = side {
                let arena = RowArena::new();
                if let Some(canonical) = canonical_key_datum(row.unpack_first(), &arena) {
                    *row = Row::of(canonical);
                }
            }
        }
    }
}
