//! Fuses adjacent operators: Filter into Filter, Map into Map, Project into Project, and
//! nested Joins into one Join. Filters and Projects on join inputs are lifted above the
//! join so that the join sees all its inputs at once and predicate pushdown can place every
//! predicate where it belongs.

use evert_expr::{MirRelationExpr, MirScalarExpr};

pub fn fuse(expr: &mut MirRelationExpr) {
    expr.visit_mut_post(&mut |e| fuse_node(e));
}

fn take(e: &mut MirRelationExpr) -> MirRelationExpr {
    std::mem::replace(e, MirRelationExpr::unit())
}

fn fuse_node(e: &mut MirRelationExpr) {
    match e {
        MirRelationExpr::Filter { input, predicates } => {
            if predicates.is_empty() {
                *e = take(input);
            } else if let MirRelationExpr::Filter {
                input: inner,
                predicates: inner_predicates,
            } = input.as_mut()
            {
                let mut all = std::mem::take(inner_predicates);
                all.append(predicates);
                let inner = take(inner);
                *e = MirRelationExpr::Filter {
                    input: Box::new(inner),
                    predicates: all,
                };
            }
        }
        MirRelationExpr::Map { input, scalars } => {
            if scalars.is_empty() {
                *e = take(input);
            } else if let MirRelationExpr::Map {
                input: inner,
                scalars: inner_scalars,
            } = input.as_mut()
            {
                let mut all = std::mem::take(inner_scalars);
                all.append(scalars);
                let inner = take(inner);
                *e = MirRelationExpr::Map {
                    input: Box::new(inner),
                    scalars: all,
                };
            }
        }
        MirRelationExpr::Project { input, outputs } => {
            // A Map's column copies can be projected from the Map's input directly.
            if let MirRelationExpr::Map {
                input: map_input,
                scalars,
            } = input.as_mut()
            {
                let arity = map_input.arity();
                for c in outputs.iter_mut() {
                    if *c >= arity {
                        if let MirScalarExpr::Column(source) = scalars[*c - arity] {
                            *c = source;
                        }
                    }
                }
                if outputs.iter().all(|c| *c < arity) {
                    let inner = take(map_input);
                    let outputs = std::mem::take(outputs);
                    *e = MirRelationExpr::Project {
                        input: Box::new(inner),
                        outputs,
                    };
                    fuse_node(e);
                    return;
                }
            }
            if let MirRelationExpr::Project {
                input: inner,
                outputs: inner_outputs,
            } = input.as_mut()
            {
                let composed: Vec<usize> = outputs.iter().map(|c| inner_outputs[*c]).collect();
                let inner = take(inner);
                *e = MirRelationExpr::Project {
                    input: Box::new(inner),
                    outputs: composed,
                };
            } else if outputs.len() == input.arity()
                && outputs.iter().enumerate().all(|(i, c)| i == *c)
            {
                *e = take(input);
            }
        }
        MirRelationExpr::Join { .. } => fuse_join(e),
        _ => {}
    }
}

/// Flattens nested joins and lifts Filter/Project off join inputs.
fn fuse_join(e: &mut MirRelationExpr) {
    let MirRelationExpr::Join {
        inputs,
        equivalences,
    } = e
    else {
        return;
    };
    let needs_work = inputs.iter().any(|i| {
        matches!(
            i,
            MirRelationExpr::Join { .. }
                | MirRelationExpr::Filter { .. }
                | MirRelationExpr::Project { .. }
        )
    });
    if !needs_work {
        return;
    }
    let old_inputs = std::mem::take(inputs);
    let mut old_equivalences = std::mem::take(equivalences);
    let mut new_inputs: Vec<MirRelationExpr> = Vec::new();
    // For each old output column, its position in the new (wider) join.
    let mut column_map: Vec<MirScalarExpr> = Vec::new();
    let mut lifted_filters: Vec<MirScalarExpr> = Vec::new();
    let mut new_equivalences: Vec<Vec<MirScalarExpr>> = Vec::new();
    for input in old_inputs {
        let offset: usize = new_inputs.iter().map(|i| i.arity()).sum();
        // Peel Project and Filter layers, remembering how to map columns.
        let mut current = input;
        let mut projection: Option<Vec<usize>> = None;
        let mut filters: Vec<MirScalarExpr> = Vec::new();
        // `projection` maps the input's original columns to the peeled relation's columns;
        // `filters` always refer to the peeled relation's columns.
        loop {
            match current {
                MirRelationExpr::Project { input, outputs } => {
                    projection = Some(match projection {
                        None => outputs.clone(),
                        Some(outer) => outer.iter().map(|c| outputs[*c]).collect(),
                    });
                    for f in &mut filters {
                        f.permute(&outputs);
                    }
                    current = *input;
                }
                MirRelationExpr::Filter { input, predicates } => {
                    filters.extend(predicates);
                    current = *input;
                }
                other => {
                    current = other;
                    break;
                }
            }
        }
        let base_arity = current.arity();
        match current {
            MirRelationExpr::Join {
                inputs: inner_inputs,
                equivalences: inner_equivalences,
            } => {
                for mut class in inner_equivalences {
                    for x in &mut class {
                        x.permute_with(&|c| c + offset);
                    }
                    new_equivalences.push(class);
                }
                new_inputs.extend(inner_inputs);
            }
            other => new_inputs.push(other),
        }
        for mut f in filters {
            f.permute_with(&|c| c + offset);
            lifted_filters.push(f);
        }
        let visible: Vec<usize> = projection.unwrap_or_else(|| (0..base_arity).collect());
        for c in visible {
            column_map.push(MirScalarExpr::Column(offset + c));
        }
    }
    for class in &mut old_equivalences {
        for x in class.iter_mut() {
            x.substitute(&column_map);
        }
    }
    new_equivalences.extend(old_equivalences);
    let total: usize = new_inputs.iter().map(|i| i.arity()).sum();
    let projection: Vec<usize> = column_map
        .iter()
        .map(|c| c.as_column().expect("column map holds columns"))
        .collect();
    let mut result = MirRelationExpr::Join {
        inputs: new_inputs,
        equivalences: new_equivalences,
    };
    if !lifted_filters.is_empty() {
        result = result.filter(lifted_filters);
    }
    if projection.len() != total || projection.iter().enumerate().any(|(i, c)| i != *c) {
        result = result.project(projection);
    }
    *e = result;
}
