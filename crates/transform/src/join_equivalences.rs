//! Canonical join equivalences: classes that share an expression are merged, duplicate
//! expressions removed, and classes with a single member dropped.

use evert_expr::{MirRelationExpr, MirScalarExpr};

pub fn canonicalize(expr: &mut MirRelationExpr) {
    expr.visit_mut_post(&mut |e| {
        if let MirRelationExpr::Join { equivalences, .. } = e {
            *equivalences = merge(std::mem::take(equivalences));
        }
    });
}

fn merge(classes: Vec<Vec<MirScalarExpr>>) -> Vec<Vec<MirScalarExpr>> {
    let mut merged: Vec<Vec<MirScalarExpr>> = Vec::new();
    for class in classes {
        let mut class: Vec<MirScalarExpr> = class;
        class.sort();
        class.dedup();
        // Absorb every existing class that overlaps this one.
        let mut i = 0;
        while i < merged.len() {
            if merged[i].iter().any(|e| class.contains(e)) {
                let other = merged.remove(i);
                class.extend(other);
                class.sort();
                class.dedup();
            } else {
                i += 1;
            }
        }
        merged.push(class);
    }
    merged.retain(|c| c.len() > 1);
    merged.sort();
    merged
}
