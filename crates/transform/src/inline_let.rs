//! Inlines `Let` bindings that are used at most once, or whose value is just a `Get`.
//!
//! Lowering binds subplans generously (every join input, every subquery's outer relation);
//! most are used once and only hide structure from the passes that follow.

use evert_expr::{Id, MirRelationExpr};

pub fn inline_lets(expr: &mut MirRelationExpr) {
    expr.visit_mut_post(&mut |e| {
        let MirRelationExpr::Let { id, value, body } = e else {
            return;
        };
        let uses = body.local_use_counts().get(id).copied().unwrap_or(0);
        let trivial = matches!(**value, MirRelationExpr::Get { .. }) || value.is_empty_constant();
        if uses <= 1 || trivial {
            let id = *id;
            let value = std::mem::replace(value.as_mut(), MirRelationExpr::unit());
            let mut body = std::mem::replace(body.as_mut(), MirRelationExpr::unit());
            if uses > 0 {
                body.substitute_local(id, &value);
            }
            *e = body;
        }
    });
    // Substitution may expose Gets of Gets; nothing else to do here.
    let _ = Id::Local;
}
