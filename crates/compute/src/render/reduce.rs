//! Reduce: grouping and aggregation.
//!
//! Aggregates are rendered in up to two kinds of partial results, which are then collated by
//! group key:
//!
//! - **Accumulable** aggregates (`count`, `sum`, `bool_and`/`bool_or`) are maintained as the
//!   *difference type* of a collection: each input row becomes `(key, Accums)` where `Accums`
//!   holds its contributions, and differential's consolidation adds them up. The state is one
//!   accumulator per group, and an update costs time proportional to the change, however
//!   large the group. The group's row count lives here too, so a group exists exactly when
//!   its accumulator is non-zero.
//! - **Other** aggregates (`min`, `max`, `string_agg`, `DISTINCT` aggregates, …) keep each
//!   group's values arranged and recompute the group's result when it changes: the state is
//!   the distinct values per group, and an update costs time proportional to its group.
//!   `min` and `max` are computed in stages over hash buckets first ([`hierarchical`]), so
//!   that the group they recompute holds at most 64 values.
//!
//! Keys of numeric or float type are grouped by their canonical form (`Canonical`), so that
//! `0.0` and `0.00` are one group, as in PostgreSQL.

use std::cmp::Ordering;

use differential_dataflow::difference::{IsZero, Multiply, Semigroup};
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::VecCollection;
use evert_expr::keys::canonical_row;
use evert_expr::relation::agg::Accumulator;
use evert_expr::{AggregateExpr, AggregateFunc, EvalError, MirScalarExpr};
use evert_repr::{Datum, Diff, Row, RowArena};
use serde::{Deserialize, Serialize};

use super::operators::flat_map_fallible;
use super::{CollectionBundle, Context, RenderTime};

/// The accumulable aggregates of one group, used as a difference type.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Accums {
    /// Input rows in the group.
    pub rows: i64,
    pub accs: Vec<Accumulator>,
}

impl PartialEq for Accums {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Accums {}
impl PartialOrd for Accums {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Accums {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rows.cmp(&other.rows).then_with(|| {
            for (a, b) in self.accs.iter().zip(other.accs.iter()) {
                let o = a
                    .count
                    .cmp(&b.count)
                    .then(a.int_sum.cmp(&b.int_sum))
                    .then(a.float_sum.cmp(&b.float_sum))
                    .then(a.numeric_parts.cmp(&b.numeric_parts))
                    .then(a.interval_months.cmp(&b.interval_months))
                    .then(a.interval_days.cmp(&b.interval_days))
                    .then(a.interval_micros.cmp(&b.interval_micros))
                    .then(a.trues.cmp(&b.trues))
                    .then(a.falses.cmp(&b.falses));
                if o != Ordering::Equal {
                    return o;
                }
            }
            self.accs.len().cmp(&other.accs.len())
        })
    }
}

impl IsZero for Accums {
    /// Zero when no rows remain and every accumulator is back to zero (all of them, float
    /// sums included, are exact, so retracting what was added leaves nothing behind).
    fn is_zero(&self) -> bool {
        self.rows == 0 && self.accs.iter().all(|a| a.is_zero())
    }
}

impl Semigroup for Accums {
    fn plus_equals(&mut self, rhs: &Self) {
        self.rows += rhs.rows;
        if self.accs.len() < rhs.accs.len() {
            self.accs.resize(rhs.accs.len(), Accumulator::default());
        }
        for (a, b) in self.accs.iter_mut().zip(rhs.accs.iter()) {
            a.plus_equals(b);
        }
    }
}

impl Multiply<Diff> for Accums {
    type Output = Accums;
    fn multiply(mut self, rhs: &Diff) -> Accums {
        self.rows *= rhs;
        for a in &mut self.accs {
            a.scale_by(*rhs);
        }
        self
    }
}

/// Tags separating the partial results in the evaluated input stream.
const ACCUMULABLE: usize = usize::MAX;
/// The tag of a group's representative key (see `Canonical`).
const REPRESENTATIVE: usize = usize::MAX - 1;

/// Where grouping must compare values rather than bytes (see `evert_expr::keys`): a numeric
/// keeps its scale, so `0.0` and `0.00` are equal values with different bytes.
///
/// With `key`, rows are grouped by the canonical form of their key, and each group is
/// output with a *representative* key: the smallest (in row order, so the same at every
/// time and on every worker) of the keys its rows actually have. PostgreSQL shows the first
/// row it happens to see; evert's choice is deterministic. The representatives cost one
/// more arrangement, of the distinct keys of each group. `distinct[i]` does the same for the
/// values of a `DISTINCT` aggregate.
#[derive(Clone, Debug, Default)]
pub struct Canonical {
    pub key: bool,
    pub distinct: Vec<bool>,
}

type KeyedResults<'s, T> = VecCollection<'s, T, (Row, (usize, Result<Row, EvalError>)), Diff>;

pub fn render_reduce<'s, T: RenderTime>(
    ctx: &mut Context<'s, T>,
    input: CollectionBundle<'s, T>,
    group_key: Vec<MirScalarExpr>,
    aggregates: Vec<AggregateExpr>,
    canonical: Canonical,
) -> CollectionBundle<'s, T> {
    let accumulable: Vec<usize> = aggregates
        .iter()
        .enumerate()
        .filter(|(_, a)| a.func.is_accumulable() && !a.distinct)
        .map(|(i, _)| i)
        .collect();
    let others: Vec<usize> = (0..aggregates.len())
        .filter(|i| !accumulable.contains(i))
        .collect();
    // The accumulable partial also defines which groups exist, so it is always rendered
    // unless a single non-accumulable aggregate is all there is.
    // With canonical keys the group's existence must come from the row count too, as the
    // representatives are collated with the other partials.
    let need_accumulable = !accumulable.is_empty()
        || canonical.key
        || others.len() != 1
        || others.iter().any(|i| aggregates[*i].filter.is_some());

    // One pass over the input evaluates the key and every aggregate's arguments.
    let key_exprs = group_key.clone();
    let aggs = aggregates.clone();
    let accumulable_list = accumulable.clone();
    let others_list = others.clone();
    let mut arena = RowArena::new();
    let canonical_key = canonical.key;
    let (evaluated, eval_errs) =
        flat_map_fallible(input.as_collection(), "ReduceInputs", move |row: Row| {
            let results = evaluate_inputs(
                &row,
                &key_exprs,
                &aggs,
                &accumulable_list,
                &others_list,
                need_accumulable,
                canonical_key,
                &arena,
            );
            arena.clear();
            results
        });
    let mut errs = input.errs.concat(eval_errs);

    let mut partials: Vec<KeyedResults<'s, T>> = Vec::new();
    if need_accumulable {
        let funcs: Vec<AggregateFunc> = accumulable
            .iter()
            .map(|i| aggregates[*i].func.clone())
            .collect();
        let count = funcs.len();
        let accumulated = evaluated
            .clone()
            .filter(|(_, (tag, _))| *tag == ACCUMULABLE)
            .explode(move |(key, (_, payload)): (Row, (usize, Row))| {
                let mut accums = Accums {
                    rows: 1,
                    accs: vec![Accumulator::default(); count],
                };
                for ((acc, func), value) in
                    accums.accs.iter_mut().zip(funcs.iter()).zip(payload.iter())
                {
                    // Values were type-checked by the planner; a mismatch is an internal
                    // error and is reported when the group is finished.
                    let _ = acc.add_value(func, value, 1);
                }
                Some((key, accums))
            })
            .arrange_by_self_named("Arrange: Accumulable");
        let funcs: Vec<AggregateFunc> = accumulable
            .iter()
            .map(|i| aggregates[*i].func.clone())
            .collect();
        let finished = accumulated
            .reduce_abelian::<_, ValBuilder<Row, Result<Row, EvalError>, T, Diff>, ValSpine<Row, Result<Row, EvalError>, T, Diff>, _, _>(
                "Accumulable",
                move |_key, input, output| {
                    let accums: &Accums = &input[0].1;
                    if accums.rows <= 0 {
                        if accums.rows < 0 {
                            output.push((Err(EvalError::Internal("negative row count in a group".into())), 1));
                        }
                        return;
                    }
                    let mut values = Vec::with_capacity(funcs.len());
                    for (acc, func) in accums.accs.iter().zip(funcs.iter()) {
                        match acc.finish(func) {
                            Ok(d) => values.push(d),
                            Err(e) => {
                                output.push((Err(e), 1));
                                return;
                            }
                        }
                    }
                    output.push((Ok(Row::pack(values.iter())), 1));
                },
                |vec, key, upds| {
                    vec.clear();
                    vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
                },
            )
            .as_collection(|k: &Row, v: &Result<Row, EvalError>| (k.clone(), (ACCUMULABLE, v.clone())));
        partials.push(finished);
    }

    for index in others.iter().copied() {
        let aggregate = aggregates[index].clone();
        let mut values = evaluated
            .clone()
            .filter(move |(_, (tag, _))| *tag == index)
            .map(|(key, (_, payload))| (key, payload));
        if aggregate.distinct && canonical.distinct.get(index).copied().unwrap_or(false) {
            // One value per canonical form: the smallest of its representations.
            values = values
                .map(|(key, payload)| ((key, canonical_row(&payload)), payload))
                .reduce_named(
                    "DistinctCanonical",
                    |_key: &(Row, Row), input: &[(&Row, Diff)], output: &mut Vec<(Row, Diff)>| {
                        if let Some((first, _)) = input.iter().find(|(_, diff)| *diff > 0) {
                            output.push(((*first).clone(), 1));
                        }
                    },
                )
                .map(|((key, _), payload)| (key, payload));
        } else if aggregate.distinct {
            values = values
                .threshold_named("Distinct", |_, count: &Diff| if *count > 0 { 1 } else { 0 });
        }
        if matches!(aggregate.func, AggregateFunc::Min | AggregateFunc::Max)
            && aggregate.order_by.is_empty()
        {
            let (reduced, stage_errs) = hierarchical(values, aggregate.func.clone());
            values = reduced;
            errs = errs.concat(stage_errs);
        }
        let order = aggregate.column_orders();
        let func = aggregate.func.clone();
        let finished = values
            .reduce_named(
                "Aggregate",
                move |_key: &Row,
                      input: &[(&Row, Diff)],
                      output: &mut Vec<(Result<Row, EvalError>, Diff)>| {
                    let arena = RowArena::new();
                    let mut group: Vec<(Vec<Datum>, Diff)> = Vec::with_capacity(input.len());
                    for (row, diff) in input {
                        if *diff < 0 {
                            output.push((
                                Err(EvalError::Internal(
                                    "negative multiplicity in an aggregate".into(),
                                )),
                                1,
                            ));
                            return;
                        }
                        group.push((row.unpack(), *diff));
                    }
                    let result = func.eval_group(group, &order, &arena).map(Row::of);
                    output.push((result, 1));
                },
            )
            .map(move |(key, result)| (key, (index, result)));
        partials.push(finished);
    }

    if canonical.key {
        let representatives = evaluated
            .clone()
            .filter(|(_, (tag, _))| *tag == REPRESENTATIVE)
            .map(|(key, (_, original))| (key, original))
            .reduce_named(
                "Representative",
                |_key: &Row,
                 input: &[(&Row, Diff)],
                 output: &mut Vec<(Result<Row, EvalError>, Diff)>| {
                    // The input is sorted: the first key present is the smallest.
                    if let Some((first, _)) = input.iter().find(|(_, diff)| *diff > 0) {
                        output.push((Ok((*first).clone()), 1));
                    }
                },
            )
            .map(|(key, result)| (key, (REPRESENTATIVE, result)));
        partials.push(representatives);
    }

    let arity = aggregates.len();
    let accumulable_positions = accumulable.clone();
    let defaults: Vec<Row> = aggregates
        .iter()
        .map(|a| Row::of(a.func.default_value()))
        .collect();
    let collated: VecCollection<'s, T, (Row, Result<Row, EvalError>), Diff> = if partials.len() == 1
    {
        partials
            .pop()
            .expect("one partial")
            .map(|(key, (_, result))| (key, result))
    } else {
        let mut all = partials.remove(0);
        for p in partials {
            all = all.concat(p);
        }
        all.reduce_named(
            "Collate",
            move |_key: &Row,
                  input: &[(&(usize, Result<Row, EvalError>), Diff)],
                  output: &mut Vec<(Result<Row, EvalError>, Diff)>| {
                let mut values: Vec<Option<Row>> = vec![None; arity];
                let mut exists = false;
                let mut representative = None;
                for ((tag, result), _) in input {
                    match result {
                        Err(e) => {
                            output.push((Err(e.clone()), 1));
                            return;
                        }
                        Ok(row) if *tag == REPRESENTATIVE => representative = Some(row),
                        Ok(row) if *tag == ACCUMULABLE => {
                            exists = true;
                            for (position, datum) in accumulable_positions.iter().zip(row.iter()) {
                                values[*position] = Some(Row::of(datum));
                            }
                        }
                        Ok(row) => values[*tag] = Some(row.clone()),
                    }
                }
                if !exists {
                    return;
                }
                let mut out = Row::default();
                if canonical_key {
                    // The output row starts with the group's representative key.
                    match representative {
                        Some(key) => out.appender().extend_by_row(key),
                        None => {
                            output.push((
                                Err(EvalError::Internal("a group without a key".into())),
                                1,
                            ));
                            return;
                        }
                    }
                }
                for (i, v) in values.iter().enumerate() {
                    out.appender()
                        .extend_by_row(v.as_ref().unwrap_or(&defaults[i]));
                }
                output.push((Ok(out), 1));
            },
        )
    };

    let (oks, result_errs) = flat_map_fallible(
        collated,
        "ReduceOutput",
        move |(key, result): (Row, Result<Row, EvalError>)| {
            Some(result.map(|values| {
                if canonical_key {
                    return values;
                }
                let mut row = key;
                row.appender().extend_by_row(&values);
                row
            }))
        },
    );
    errs = errs.concat(result_errs);
    let _ = ctx;
    CollectionBundle::from_collections(oks, errs)
}

/// The bucket counts of the stages of a hierarchical `min`/`max`, widest first.
const HIERARCHY: [u64; 2] = [4096, 64];

/// `min` and `max` in stages, so that a change costs time proportional to a bucket rather
/// than to its whole group: each stage splits every group into buckets by a hash of the
/// value and keeps only each bucket's extreme value, the next stage does the same with
/// fewer buckets over those, and the final `Aggregate` sees at most 64 values per group.
/// A group of a million values costs a change about 250 + 64 + 64 values of work instead
/// of a million; a small group pays two extra arrangements. `min` and `max` ignore NULLs
/// and multiplicities, so a bucket of NULLs passes on a NULL and every extreme once.
fn hierarchical<'s, T: RenderTime>(
    values: VecCollection<'s, T, (Row, Row), Diff>,
    func: AggregateFunc,
) -> (
    VecCollection<'s, T, (Row, Row), Diff>,
    VecCollection<'s, T, EvalError, Diff>,
) {
    use std::hash::{Hash, Hasher};
    let mut values = values;
    let mut errs: Option<VecCollection<'s, T, EvalError, Diff>> = None;
    for buckets in HIERARCHY {
        let func = func.clone();
        let staged = values
            .map(move |(key, value)| {
                // A fixed hasher: the same value goes to the same bucket on every worker.
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                value.hash(&mut hasher);
                ((key, hasher.finish() % buckets), value)
            })
            .reduce_named(
                "MinMaxStage",
                move |_key: &(Row, u64),
                      input: &[(&Row, Diff)],
                      output: &mut Vec<(Result<Row, EvalError>, Diff)>| {
                    if input.iter().any(|(_, diff)| *diff < 0) {
                        output.push((
                            Err(EvalError::Internal(
                                "negative multiplicity in an aggregate".into(),
                            )),
                            1,
                        ));
                        return;
                    }
                    let arena = RowArena::new();
                    let group: Vec<(Vec<Datum>, Diff)> = input
                        .iter()
                        .map(|(row, diff)| (row.unpack(), *diff))
                        .collect();
                    output.push((func.eval_group(group, &[], &arena).map(Row::of), 1));
                },
            );
        let (oks, stage_errs) = flat_map_fallible(
            staged,
            "MinMaxStageOutput",
            |((key, _bucket), result): ((Row, u64), Result<Row, EvalError>)| {
                Some(result.map(|value| (key, value)))
            },
        );
        values = oks;
        errs = Some(match errs {
            None => stage_errs,
            Some(e) => e.concat(stage_errs),
        });
    }
    let errs = errs.expect("at least one stage");
    (values, errs)
}

/// Evaluates one input row into its group key and the inputs of each aggregate.
fn evaluate_inputs(
    row: &Row,
    key_exprs: &[MirScalarExpr],
    aggregates: &[AggregateExpr],
    accumulable: &[usize],
    others: &[usize],
    need_accumulable: bool,
    canonical_key: bool,
    arena: &RowArena,
) -> Vec<Result<(Row, (usize, Row)), EvalError>> {
    let datums: Vec<Datum> = row.iter().collect();
    let mut key = Row::default();
    {
        let mut packer = key.packer();
        for k in key_exprs {
            match k.eval(&datums, arena) {
                Ok(d) => packer.push(d),
                Err(e) => return vec![Err(e)],
            }
        }
    }
    let mut out = Vec::with_capacity(2 + others.len());
    if canonical_key {
        let canonical = canonical_row(&key);
        out.push(Ok((canonical.clone(), (REPRESENTATIVE, key))));
        key = canonical;
    }
    let passes_filter = |a: &AggregateExpr| -> Result<bool, EvalError> {
        match &a.filter {
            None => Ok(true),
            Some(f) => Ok(f.eval(&datums, arena)? == Datum::True),
        }
    };
    if need_accumulable {
        let mut payload = Row::default();
        let mut packer = payload.packer();
        for i in accumulable {
            let a = &aggregates[*i];
            match passes_filter(a) {
                Err(e) => return vec![Err(e)],
                Ok(false) => packer.push(Datum::Null),
                Ok(true) => match a.args.first() {
                    // count(*): any non-NULL marker counts the row.
                    None => packer.push(Datum::True),
                    Some(arg) => match arg.eval(&datums, arena) {
                        Ok(d) => packer.push(d),
                        Err(e) => return vec![Err(e)],
                    },
                },
            }
        }
        out.push(Ok((key.clone(), (ACCUMULABLE, payload))));
    }
    for i in others {
        let a = &aggregates[*i];
        match passes_filter(a) {
            Err(e) => return vec![Err(e)],
            Ok(false) => continue,
            Ok(true) => {}
        }
        let mut payload = Row::default();
        let mut packer = payload.packer();
        for e in a.args.iter().chain(a.order_by.iter().map(|(e, _, _)| e)) {
            match e.eval(&datums, arena) {
                Ok(d) => packer.push(d),
                Err(err) => return vec![Err(err)],
            }
        }
        out.push(Ok((key.clone(), (*i, payload))));
    }
    out
}

/// `Threshold` over rows whose values can have several representations: rows are counted
/// by their canonical form, so `0.0` from one input cancels `-0.00` from another (EXCEPT,
/// INTERSECT). Within a canonical form, negative counts cancel the smallest representations
/// first, and the rest are output as they are: when nothing cancels across representations
/// (an outer join's unmatched rows), the output is exactly the positive rows.
pub fn render_canonical_threshold<'s, T: RenderTime>(
    rows: VecCollection<'s, T, Row, Diff>,
) -> VecCollection<'s, T, Row, Diff> {
    rows.map(|row| (canonical_row(&row), row))
        .reduce_named(
            "ThresholdCanonical",
            |_key: &Row, input: &[(&Row, Diff)], output: &mut Vec<(Row, Diff)>| {
                let mut to_cancel: Diff = input
                    .iter()
                    .filter(|(_, diff)| *diff < 0)
                    .map(|(_, diff)| -*diff)
                    .sum();
                for (row, diff) in input {
                    if *diff <= 0 {
                        continue;
                    }
                    let cancelled = to_cancel.min(*diff);
                    to_cancel -= cancelled;
                    if *diff > cancelled {
                        output.push(((*row).clone(), *diff - cancelled));
                    }
                }
            },
        )
        .map(|(_, row)| row)
}
