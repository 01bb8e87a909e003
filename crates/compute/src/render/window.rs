//! Window: window functions, per partition.
//!
//! Rendered as a reduce keyed by the partition columns: when a partition changes, its rows
//! are re-sorted and every row's window values recomputed
//! ([`evert_expr::relation::window::eval_partition`]); differential then emits only the
//! output rows whose values changed. Work is proportional to the changed partitions.
//! State: the input arranged by partition key, and the output of each partition.
//!
//! Partition keys are in canonical form ([`evert_expr::keys`]): `0` and `0.0` are one
//! partition, as in PostgreSQL, while the rows keep their own representations.

use std::cmp::Ordering;

use evert_expr::keys::canonical_key_datum;
use evert_expr::relation::window::eval_partition;
use evert_expr::{compare_by_order, ColumnOrder, EvalError, WindowCall};
use evert_repr::{Datum, Diff, Row, RowArena};

use super::operators::flat_map_fallible;
use super::{CollectionBundle, RenderTime};

pub fn render_window<'s, T: RenderTime>(
    input: CollectionBundle<'s, T>,
    partition_by: Vec<usize>,
    order_by: Vec<ColumnOrder>,
    calls: Vec<WindowCall>,
) -> CollectionBundle<'s, T> {
    let keyed = input.as_collection().map(move |row: Row| {
        let key = {
            let datums: Vec<Datum> = row.iter().collect();
            let arena = RowArena::new();
            Row::pack(
                partition_by
                    .iter()
                    .map(|c| canonical_key_datum(datums[*c], &arena).unwrap_or(datums[*c])),
            )
        };
        (key, row)
    });
    let computed = keyed.reduce_named(
        "Window",
        move |_key: &Row,
              rows: &[(&Row, Diff)],
              output: &mut Vec<(Result<Row, EvalError>, Diff)>| {
            if rows.iter().any(|(_, d)| *d < 0) {
                output.push((
                    Err(EvalError::Internal(
                        "negative multiplicity in window function input".into(),
                    )),
                    1,
                ));
                return;
            }
            let mut sorted: Vec<(Vec<Datum>, &Row)> = Vec::new();
            for (row, count) in rows {
                for _ in 0..*count {
                    sorted.push((row.unpack(), *row));
                }
            }
            // Ties are broken by the whole row so the result is deterministic.
            sorted.sort_by(|a, b| match compare_by_order(&a.0, &b.0, &order_by) {
                Ordering::Equal => a.1.cmp(b.1),
                o => o,
            });
            let arena = RowArena::new();
            let datums: Vec<Vec<Datum>> = sorted.iter().map(|(d, _)| d.clone()).collect();
            match eval_partition(&datums, &order_by, &calls, &arena) {
                Err(e) => output.push((Err(e), 1)),
                Ok(values) => {
                    for ((_, row), extra) in sorted.iter().zip(values) {
                        let mut out = (*row).clone();
                        {
                            let mut appender = out.appender();
                            for d in extra {
                                appender.push(d);
                            }
                        }
                        output.push((Ok(out), 1));
                    }
                }
            }
        },
    );
    let (oks, errs) = flat_map_fallible(
        computed,
        "WindowOutput",
        |(_, result): (Row, Result<Row, EvalError>)| Some(result),
    );
    CollectionBundle::from_collections(oks, input.errs.concat(errs))
}
