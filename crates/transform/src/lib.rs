//! # evert-transform: the optimizer
//!
//! MIR-to-MIR passes, one per file, run by [`optimize`] in the order listed there until the
//! plan stops changing. After every pass the plan's type (arity and column types) is compared
//! with the type before it: a pass that changes it is a bug, reported as an error rather
//! than silently producing a different result.
//!
//! The passes matter most for what a view costs to maintain: predicate pushdown turns
//! `WHERE a.x = b.y` over a cross product into an equi-join (arranged by key, work
//! proportional to change) and moves filters below joins so that less state is kept.

use evert_expr::MirRelationExpr;
use evert_repr::RelationType;

pub mod canonical_literals;
pub mod fold_constants;
pub mod fuse;
pub mod inline_let;
pub mod join_equivalences;
pub mod predicate_pushdown;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TransformError {
    #[error("internal error: optimizer pass {pass} changed the plan's type from {before:?} to {after:?}")]
    TypeChanged {
        pass: &'static str,
        before: RelationType,
        after: RelationType,
    },
}

type Pass = (&'static str, fn(&mut MirRelationExpr));

/// The passes, in the order they run.
const PASSES: &[Pass] = &[
    ("inline_let", inline_let::inline_lets),
    ("fuse", fuse::fuse),
    ("predicate_pushdown", predicate_pushdown::pushdown),
    ("join_equivalences", join_equivalences::canonicalize),
    ("fold_constants", fold_constants::fold),
    ("canonical_literals", canonical_literals::canonicalize),
];

/// Optimizes a plan.
pub fn optimize(mut expr: MirRelationExpr) -> Result<MirRelationExpr, TransformError> {
    for _round in 0..8 {
        let before_round = expr.clone();
        for (name, pass) in PASSES {
            let before = expr.typ();
            pass(&mut expr);
            let after = expr.typ();
            if !same_type(&before, &after) {
                return Err(TransformError::TypeChanged {
                    pass: name,
                    before,
                    after,
                });
            }
        }
        if expr == before_round {
            break;
        }
    }
    Ok(expr)
}

/// Passes may learn that a column cannot be NULL, or that a more specific type fits; they
/// must not change the number of columns or their base types.
fn same_type(a: &RelationType, b: &RelationType) -> bool {
    a.arity() == b.arity()
        && a.column_types
            .iter()
            .zip(b.column_types.iter())
            .all(|(x, y)| {
                x.scalar_type.base_eq(&y.scalar_type)
                    || x.scalar_type == evert_repr::ScalarType::Unknown
                    || y.scalar_type == evert_repr::ScalarType::Unknown
            })
}
