//! TopK: per group, the rows ranked `offset .. offset + limit` by an ordering.
//!
//! Rendered as a reduce keyed by the group columns: when a group changes, its rows are
//! re-sorted and the window re-taken. State: the input arranged by group key.

use std::cmp::Ordering;

use evert_expr::{compare_by_order, ColumnOrder, EvalError};
use evert_repr::{Datum, Diff, Row};

use super::operators::flat_map_fallible;
use super::{CollectionBundle, RenderTime};

pub fn render_topk<'s, T: RenderTime>(
    input: CollectionBundle<'s, T>,
    group_key: Vec<usize>,
    order_key: Vec<ColumnOrder>,
    limit: Option<usize>,
    offset: usize,
) -> CollectionBundle<'s, T> {
    let keyed = input.as_collection().map(move |row: Row| {
        let key = {
            let datums: Vec<Datum> = row.iter().collect();
            Row::pack(group_key.iter().map(|c| datums[*c]))
        };
        (key, row)
    });
    let ranked = keyed.reduce_named(
        "TopK",
        move |_key: &Row,
              rows: &[(&Row, Diff)],
              output: &mut Vec<(Result<Row, EvalError>, Diff)>| {
            if rows.iter().any(|(_, d)| *d < 0) {
                output.push((
                    Err(EvalError::Internal(
                        "negative multiplicity in TopK input".into(),
                    )),
                    1,
                ));
                return;
            }
            let mut sorted: Vec<(Vec<Datum>, &Row, Diff)> =
                rows.iter().map(|(r, d)| (r.unpack(), *r, *d)).collect();
            sorted.sort_by(|a, b| match compare_by_order(&a.0, &b.0, &order_key) {
                // Ties are broken by the whole row so the choice is deterministic.
                Ordering::Equal => a.1.cmp(b.1),
                o => o,
            });
            let mut to_skip = offset as i64;
            let mut remaining = limit.map(|l| l as i64).unwrap_or(i64::MAX);
            for (_, row, count) in sorted {
                if remaining == 0 {
                    break;
                }
                let skipped = to_skip.min(count);
                to_skip -= skipped;
                let take = (count - skipped).min(remaining);
                if take > 0 {
                    output.push((Ok(row.clone()), take));
                    remaining -= take;
                }
            }
        },
    );
    let (oks, errs) = flat_map_fallible(
        ranked,
        "TopKOutput",
        |(_, result): (Row, Result<Row, EvalError>)| Some(result),
    );
    CollectionBundle::from_collections(oks, input.errs.concat(errs))
}
