//! EXPLAIN text for MIR plans: one operator per line, children indented beneath their parent,
//! deterministic so that plans can be compared in tests.

use std::fmt::{self, Write};

use crate::relation::MirRelationExpr;
use crate::scalar::MirScalarExpr;

/// Renders a plan, naming global collections with `name_of` when it knows them.
pub fn explain(expr: &MirRelationExpr, name_of: &dyn Fn(&crate::Id) -> Option<String>) -> String {
    let mut out = String::new();
    write_node(&mut out, expr, 0, name_of).expect("writing to a string cannot fail");
    out
}

fn list(exprs: &[MirScalarExpr]) -> String {
    exprs
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_node(
    out: &mut String,
    expr: &MirRelationExpr,
    depth: usize,
    name_of: &dyn Fn(&crate::Id) -> Option<String>,
) -> fmt::Result {
    let indent = "  ".repeat(depth);
    match expr {
        MirRelationExpr::Constant { rows: Ok(rows), .. } => {
            if rows.is_empty() {
                writeln!(out, "{indent}Constant <empty>")?;
            } else {
                writeln!(out, "{indent}Constant")?;
                for (row, diff) in rows {
                    if *diff == 1 {
                        writeln!(out, "{indent}  - {row:?}")?;
                    } else {
                        writeln!(out, "{indent}  - ({row:?} x {diff})")?;
                    }
                }
            }
        }
        MirRelationExpr::Constant { rows: Err(e), .. } => {
            writeln!(out, "{indent}Error {:?}", e.to_string())?
        }
        MirRelationExpr::Get { id, .. } => match name_of(id) {
            Some(name) => writeln!(out, "{indent}Get {name}")?,
            None => writeln!(out, "{indent}Get {id}")?,
        },
        MirRelationExpr::Let { id, value, body } => {
            writeln!(out, "{indent}With")?;
            writeln!(out, "{indent}  cte {id} =")?;
            write_node(out, value, depth + 2, name_of)?;
            writeln!(out, "{indent}Return")?;
            write_node(out, body, depth + 1, name_of)?;
        }
        MirRelationExpr::LetRec {
            ids,
            values,
            limit,
            body,
        } => {
            match limit {
                None => writeln!(out, "{indent}With Mutually Recursive")?,
                Some(l) => writeln!(
                    out,
                    "{indent}With Mutually Recursive [{} at recursion limit {}]",
                    if l.return_at_limit { "return" } else { "error" },
                    l.max_iterations
                )?,
            }
            for (id, value) in ids.iter().zip(values) {
                writeln!(out, "{indent}  cte {id} =")?;
                write_node(out, value, depth + 2, name_of)?;
            }
            writeln!(out, "{indent}Return")?;
            write_node(out, body, depth + 1, name_of)?;
        }
        MirRelationExpr::Project { input, outputs } => {
            let cols: Vec<String> = outputs.iter().map(|c| format!("#{c}")).collect();
            writeln!(out, "{indent}Project ({})", cols.join(", "))?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::Map { input, scalars } => {
            writeln!(out, "{indent}Map ({})", list(scalars))?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::FlatMap { input, func, exprs } => {
            writeln!(out, "{indent}FlatMap {func}({})", list(exprs))?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::Filter { input, predicates } => {
            let preds: Vec<String> = predicates.iter().map(|p| p.to_string()).collect();
            writeln!(out, "{indent}Filter {}", preds.join(" AND "))?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::Join {
            inputs,
            equivalences,
        } => {
            let eqs: Vec<String> = equivalences
                .iter()
                .map(|class| list(class))
                .map(|s| format!("({s})"))
                .collect();
            if eqs.is_empty() {
                writeln!(out, "{indent}CrossJoin")?;
            } else {
                writeln!(out, "{indent}Join on=({})", eqs.join(" AND "))?;
            }
            for i in inputs {
                write_node(out, i, depth + 1, name_of)?;
            }
        }
        MirRelationExpr::Reduce {
            input,
            group_key,
            aggregates,
        } => {
            let aggs: Vec<String> = aggregates.iter().map(|a| a.to_string()).collect();
            match (group_key.is_empty(), aggs.is_empty()) {
                (_, true) => writeln!(out, "{indent}Distinct project=[{}]", list(group_key))?,
                (true, false) => writeln!(out, "{indent}Reduce aggregates=[{}]", aggs.join(", "))?,
                (false, false) => writeln!(
                    out,
                    "{indent}Reduce group_by=[{}] aggregates=[{}]",
                    list(group_key),
                    aggs.join(", ")
                )?,
            }
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::TopK {
            input,
            group_key,
            order_key,
            limit,
            offset,
        } => {
            let mut parts = Vec::new();
            if !group_key.is_empty() {
                let g: Vec<String> = group_key.iter().map(|c| format!("#{c}")).collect();
                parts.push(format!("group_by=[{}]", g.join(", ")));
            }
            let o: Vec<String> = order_key
                .iter()
                .map(|o| format!("#{}{}", o.column, if o.desc { " desc" } else { " asc" }))
                .collect();
            parts.push(format!("order_by=[{}]", o.join(", ")));
            if let Some(l) = limit {
                parts.push(format!("limit={l}"));
            }
            if *offset > 0 {
                parts.push(format!("offset={offset}"));
            }
            writeln!(out, "{indent}TopK {}", parts.join(" "))?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::Window {
            input,
            partition_by,
            order_by,
            calls,
        } => {
            let p: Vec<String> = partition_by.iter().map(|c| format!("#{c}")).collect();
            let o: Vec<String> = order_by
                .iter()
                .map(|o| format!("#{}{}", o.column, if o.desc { " desc" } else { " asc" }))
                .collect();
            let c: Vec<String> = calls.iter().map(|c| c.to_string()).collect();
            writeln!(
                out,
                "{indent}Window partition_by=[{}] order_by=[{}] calls=[{}]",
                p.join(", "),
                o.join(", "),
                c.join(", ")
            )?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::Negate { input } => {
            writeln!(out, "{indent}Negate")?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::Threshold { input } => {
            writeln!(out, "{indent}Threshold")?;
            write_node(out, input, depth + 1, name_of)?;
        }
        MirRelationExpr::Union { base, inputs } => {
            writeln!(out, "{indent}Union")?;
            write_node(out, base, depth + 1, name_of)?;
            for i in inputs {
                write_node(out, i, depth + 1, name_of)?;
            }
        }
        MirRelationExpr::ArrangeBy { input, keys } => {
            let k: Vec<String> = keys.iter().map(|k| format!("[{}]", list(k))).collect();
            writeln!(out, "{indent}ArrangeBy keys=[{}]", k.join(", "))?;
            write_node(out, input, depth + 1, name_of)?;
        }
    }
    Ok(())
}
