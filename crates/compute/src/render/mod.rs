//! Rendering: turning a MIR plan into timely/differential operators.
//!
//! Every rendered relation is a [`CollectionBundle`]: the rows as a collection and/or as
//! arrangements keyed by expressions, plus a collection of errors. Dataflow has no idiom for
//! failure, so an expression that fails on a row (division by zero, overflow) produces an
//! error record in the bundle's `errs` instead of an output row; errors flow through to the
//! view's error arrangement, where a reader finds them.
//!
//! ```text
//!            Get u1 ──import──▶ Arranged(key) ───┐
//!                                                ├─ join_core ─▶ MFP ─▶ Reduce ─▶ arrange ─▶ export
//!            Get u2 ──import──▶ Arranged(key) ───┘      │          │        │
//!                                                       └──── errs ┴────────┴──▶ errs arrangement
//! ```

use std::collections::BTreeMap;

use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::{AsCollection, VecCollection};
use evert_expr::keys::{canonical_key_datum, has_several_representations};
use evert_expr::{EvalError, Id, MapFilterProject, MirRelationExpr, MirScalarExpr, TableFunc};
use evert_repr::{Datum, Diff, GlobalId, Row, RowArena, Timestamp};
use timely::dataflow::operators::vec::ToStream;
use timely::dataflow::Scope;

use crate::registry::TraceRegistry;
use crate::types::{ErrCollection, RowArranged, RowCollection};

mod join;
pub mod operators;
mod recursive;
pub mod reduce;
mod topk;
mod window;

pub use recursive::RenderTime;

use operators::flat_map_fallible;

/// An arrangement of a rendered relation.
#[derive(Clone)]
pub struct ArrangementBundle<'s, T: RenderTime = Timestamp> {
    pub oks: RowArranged<'s, T>,
    /// True if keyed by the whole row (value empty); otherwise the value is the whole row.
    pub identity: bool,
    /// True if imported from another dataflow's trace rather than built in this one.
    pub imported: bool,
}

impl<'s, T: RenderTime> ArrangementBundle<'s, T> {
    /// The arranged rows as a collection.
    pub fn as_collection(&self) -> RowCollection<'s, T> {
        let identity = self.identity;
        self.oks
            .clone()
            .as_collection(move |k: &Row, v: &Row| if identity { k.clone() } else { v.clone() })
    }
}

/// A rendered relation: rows (as a collection, arrangements, or both) and errors.
#[derive(Clone)]
pub struct CollectionBundle<'s, T: RenderTime = Timestamp> {
    pub collection: Option<RowCollection<'s, T>>,
    pub errs: ErrCollection<'s, T>,
    pub arranged: BTreeMap<Option<Vec<MirScalarExpr>>, ArrangementBundle<'s, T>>,
}

impl<'s, T: RenderTime> CollectionBundle<'s, T> {
    pub fn from_collections(oks: RowCollection<'s, T>, errs: ErrCollection<'s, T>) -> Self {
        CollectionBundle {
            collection: Some(oks),
            errs,
            arranged: BTreeMap::new(),
        }
    }

    /// The rows as a collection, unpacking an arrangement if that is all there is.
    pub fn as_collection(&self) -> RowCollection<'s, T> {
        if let Some(c) = &self.collection {
            return c.clone();
        }
        // Prefer the whole-row arrangement: its keys are the rows.
        let arrangement = self
            .arranged
            .get(&None)
            .or_else(|| self.arranged.values().next())
            .expect("a bundle has a collection or an arrangement");
        arrangement.as_collection()
    }

    /// The relation arranged by `key`, reusing an existing arrangement when there is one.
    /// Key evaluation errors are added to the bundle's errors.
    pub fn ensure_arranged(
        &mut self,
        key: &Option<Vec<MirScalarExpr>>,
        name: &str,
    ) -> ArrangementBundle<'s, T> {
        if let Some(existing) = self.arranged.get(key) {
            return existing.clone();
        }
        let collection = self.as_collection();
        let (arranged, errs) = arrange_collection(collection, key.clone(), name);
        if let Some(errs) = errs {
            self.errs = self.errs.clone().concat(errs);
        }
        self.arranged.insert(key.clone(), arranged.clone());
        arranged
    }

    /// The relation arranged by `key`, for this dataflow to export as its own index.
    ///
    /// Unlike [`Self::ensure_arranged`], this does not reuse an imported arrangement: an
    /// imported trace is maintained by the dataflow that built it and stops advancing when that
    /// dataflow is dropped, which can happen while this one lives on (two indexes with the same
    /// key on one relation, or an index on a view over an indexed table, and the first index
    /// dropped). So the export gets an arrangement of its own.
    pub fn arrange_for_export(
        &mut self,
        key: &Option<Vec<MirScalarExpr>>,
        name: &str,
    ) -> ArrangementBundle<'s, T> {
        if let Some(existing) = self.arranged.get(key) {
            if !existing.imported {
                return existing.clone();
            }
        }
        let (arranged, errs) = arrange_collection(self.as_collection(), key.clone(), name);
        if let Some(errs) = errs {
            self.errs = self.errs.clone().concat(errs);
        }
        arranged
    }
}

/// Arranges rows by `key` (`None`: by the whole row).
pub fn arrange_collection<'s, T: RenderTime>(
    collection: RowCollection<'s, T>,
    key: Option<Vec<MirScalarExpr>>,
    name: &str,
) -> (ArrangementBundle<'s, T>, Option<ErrCollection<'s, T>>) {
    match key {
        None => {
            let arranged = collection
                .map(|row| (row, Row::default()))
                .arrange_by_key_named(name);
            (
                ArrangementBundle {
                    oks: arranged,
                    identity: true,
                    imported: false,
                },
                None,
            )
        }
        Some(key) => {
            let mut arena = RowArena::new();
            let mut key_row = Row::default();
            let (keyed, errs) = flat_map_fallible(collection, "ArrangeKey", move |row: Row| {
                let result = {
                    let datums: Vec<Datum> = row.iter().collect();
                    let mut packer = key_row.packer();
                    let mut failure = None;
                    for k in &key {
                        match k.eval(&datums, &arena) {
                            // Keys match by bytes, so values equal in SQL must look alike.
                            Ok(d) => packer.push(canonical_key_datum(d, &arena).unwrap_or(d)),
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                    match failure {
                        None => Ok((key_row.clone(), row.clone())),
                        Some(e) => Err(e),
                    }
                };
                arena.clear();
                Some(result)
            });
            let arranged = keyed.arrange_by_key_named(name);
            (
                ArrangementBundle {
                    oks: arranged,
                    identity: false,
                    imported: false,
                },
                Some(errs),
            )
        }
    }
}

/// State while rendering one dataflow.
pub struct Context<'s, T: RenderTime = Timestamp> {
    pub scope: Scope<'s, T>,
    pub bindings: BTreeMap<Id, CollectionBundle<'s, T>>,
    pub worker_index: usize,
}

/// A plan the renderer cannot build (the planner should never produce one).
#[derive(Debug, Clone)]
pub struct RenderError(pub String);

impl<'s, T: RenderTime> Context<'s, T> {
    pub fn new(scope: Scope<'s, T>, worker_index: usize) -> Self {
        Context {
            scope,
            bindings: BTreeMap::new(),
            worker_index,
        }
    }

    pub fn empty_oks(&self) -> RowCollection<'s, T> {
        Vec::<(Row, T, Diff)>::new()
            .to_stream(self.scope)
            .as_collection()
    }

    pub fn empty_errs(&self) -> ErrCollection<'s, T> {
        Vec::<(EvalError, T, Diff)>::new()
            .to_stream(self.scope)
            .as_collection()
    }
}

impl<'s> Context<'s, Timestamp> {
    /// Brings every arrangement of collection `id` into this dataflow.
    pub fn import(
        &mut self,
        registry: &mut TraceRegistry,
        id: GlobalId,
    ) -> Result<(), RenderError> {
        let traces = registry.get_mut(&id).ok_or_else(|| {
            RenderError(format!("collection {id} has no arrangement on this worker"))
        })?;
        let mut arranged = BTreeMap::new();
        for (key, trace) in traces.arrangements.iter_mut() {
            let oks = trace.oks.import_named(self.scope, &format!("Import {id}"));
            arranged.insert(
                key.clone(),
                ArrangementBundle {
                    oks,
                    identity: trace.identity,
                    imported: true,
                },
            );
        }
        let errs = match &mut traces.errs {
            Some(errs) => {
                let errs: &mut TraceAgent<_> = errs;
                errs.import_named(self.scope, &format!("ImportErrors {id}"))
                    .as_collection(|k: &EvalError, _| k.clone())
            }
            None => self.empty_errs(),
        };
        self.bindings.insert(
            Id::Global(id),
            CollectionBundle {
                collection: None,
                errs,
                arranged,
            },
        );
        Ok(())
    }
}

impl<'s, T: RenderTime> Context<'s, T> {
    pub fn render(
        &mut self,
        expr: &MirRelationExpr,
    ) -> Result<CollectionBundle<'s, T>, RenderError> {
        match expr {
            MirRelationExpr::Constant { rows, .. } => Ok(self.render_constant(rows)),
            MirRelationExpr::Get { id, .. } => self
                .bindings
                .get(id)
                .cloned()
                .ok_or_else(|| RenderError(format!("unbound identifier {id}"))),
            MirRelationExpr::Let { id, value, body } => {
                let value = self.render(value)?;
                let previous = self.bindings.insert(Id::Local(*id), value);
                let result = self.render(body);
                match previous {
                    Some(p) => {
                        self.bindings.insert(Id::Local(*id), p);
                    }
                    None => {
                        self.bindings.remove(&Id::Local(*id));
                    }
                }
                result
            }
            MirRelationExpr::LetRec {
                ids,
                values,
                limit,
                body,
            } => T::render_letrec(self, ids, values, *limit, body),
            MirRelationExpr::Project { .. }
            | MirRelationExpr::Map { .. }
            | MirRelationExpr::Filter { .. } => {
                let (mfp, input) = MapFilterProject::extract_from(expr);
                let input = self.render(input)?;
                Ok(self.render_mfp(input, mfp))
            }
            MirRelationExpr::FlatMap { input, func, exprs } => {
                let input = self.render(input)?;
                Ok(self.render_flat_map(input, func.clone(), exprs.clone()))
            }
            MirRelationExpr::Join {
                inputs,
                equivalences,
            } => {
                let mut bundles = Vec::with_capacity(inputs.len());
                for i in inputs {
                    bundles.push(self.render(i)?);
                }
                let arities = inputs.iter().map(|i| i.arity()).collect::<Vec<_>>();
                Ok(join::render_join(self, bundles, &arities, equivalences))
            }
            MirRelationExpr::Reduce {
                input,
                group_key,
                aggregates,
            } => {
                // Keys of numerics and floats are grouped by their canonical form, so that
                // `0.0` and `0.00` fall into one group (see `evert_expr::keys`).
                let input_type = input.typ();
                let canonical_key = group_key.iter().any(|k| {
                    has_several_representations(&k.typ(&input_type.column_types).scalar_type)
                });
                let canonical_distinct: Vec<bool> = aggregates
                    .iter()
                    .map(|a| {
                        a.distinct
                            && a.args.iter().any(|e| {
                                has_several_representations(
                                    &e.typ(&input_type.column_types).scalar_type,
                                )
                            })
                    })
                    .collect();
                let input = self.render(input)?;
                Ok(reduce::render_reduce(
                    self,
                    input,
                    group_key.clone(),
                    aggregates.clone(),
                    reduce::Canonical {
                        key: canonical_key,
                        distinct: canonical_distinct,
                    },
                ))
            }
            MirRelationExpr::TopK {
                input,
                group_key,
                order_key,
                limit,
                offset,
            } => {
                let input = self.render(input)?;
                Ok(topk::render_topk(
                    input,
                    group_key.clone(),
                    order_key.clone(),
                    *limit,
                    *offset,
                ))
            }
            MirRelationExpr::Window {
                input,
                partition_by,
                order_by,
                calls,
            } => {
                let input = self.render(input)?;
                Ok(window::render_window(
                    input,
                    partition_by.clone(),
                    order_by.clone(),
                    calls.clone(),
                ))
            }
            MirRelationExpr::Negate { input } => {
                let input = self.render(input)?;
                Ok(CollectionBundle::from_collections(
                    input.as_collection().negate(),
                    input.errs,
                ))
            }
            MirRelationExpr::Threshold { input } => {
                let canonical = input
                    .typ()
                    .column_types
                    .iter()
                    .any(|c| has_several_representations(&c.scalar_type));
                let input = self.render(input)?;
                if canonical {
                    let oks = reduce::render_canonical_threshold(input.as_collection());
                    return Ok(CollectionBundle::from_collections(oks, input.errs));
                }
                let oks =
                    input
                        .as_collection()
                        .threshold_named(
                            "Threshold",
                            |_row, count: &Diff| if *count > 0 { *count } else { 0 },
                        );
                Ok(CollectionBundle::from_collections(oks, input.errs))
            }
            MirRelationExpr::Union { base, inputs } => {
                let base = self.render(base)?;
                let mut oks = base.as_collection();
                let mut errs = base.errs;
                for i in inputs {
                    let b = self.render(i)?;
                    oks = oks.concat(b.as_collection());
                    errs = errs.concat(b.errs);
                }
                Ok(CollectionBundle::from_collections(oks, errs))
            }
            MirRelationExpr::ArrangeBy { input, keys } => {
                let mut bundle = self.render(input)?;
                for key in keys {
                    bundle.ensure_arranged(&Some(key.clone()), "ArrangeBy");
                }
                Ok(bundle)
            }
        }
    }

    fn render_constant(
        &mut self,
        rows: &Result<Vec<(Row, Diff)>, EvalError>,
    ) -> CollectionBundle<'s, T> {
        // Constants enter on worker 0 only, so they are counted once.
        let (ok_rows, err_rows): (Vec<(Row, T, Diff)>, Vec<(EvalError, T, Diff)>) = match rows {
            _ if self.worker_index != 0 => (vec![], vec![]),
            Ok(rows) => (
                rows.iter()
                    .map(|(r, d)| (r.clone(), T::minimum(), *d))
                    .collect(),
                vec![],
            ),
            Err(e) => (vec![], vec![(e.clone(), T::minimum(), 1)]),
        };
        let oks = ok_rows.to_stream(self.scope).as_collection();
        let errs = err_rows.to_stream(self.scope).as_collection();
        CollectionBundle::from_collections(oks, errs)
    }

    pub fn render_mfp(
        &mut self,
        input: CollectionBundle<'s, T>,
        mfp: MapFilterProject,
    ) -> CollectionBundle<'s, T> {
        if mfp.is_identity() {
            return input;
        }
        let collection = input.as_collection();
        let (oks, errs) = apply_mfp(collection, mfp);
        CollectionBundle::from_collections(oks, input.errs.concat(errs))
    }

    fn render_flat_map(
        &mut self,
        input: CollectionBundle<'s, T>,
        func: TableFunc,
        exprs: Vec<MirScalarExpr>,
    ) -> CollectionBundle<'s, T> {
        let mut arena = RowArena::new();
        let (oks, errs) = flat_map_fallible(input.as_collection(), "FlatMap", move |row: Row| {
            let results = {
                let datums: Vec<Datum> = row.iter().collect();
                let mut args = Vec::with_capacity(exprs.len());
                let mut failure = None;
                for e in &exprs {
                    match e.eval(&datums, &arena) {
                        Ok(d) => args.push(d),
                        Err(err) => {
                            failure = Some(err);
                            break;
                        }
                    }
                }
                match failure {
                    Some(e) => vec![Err(e)],
                    None => match func.eval(&args, &arena) {
                        Err(e) => vec![Err(e)],
                        Ok(out) => {
                            let mut results = Vec::new();
                            for (out_row, diff) in out {
                                // Multiplicities other than one are expanded (table functions
                                // here only ever produce positive counts).
                                for _ in 0..diff.max(0) {
                                    let mut combined = row.clone();
                                    combined.appender().extend_by_row(&out_row);
                                    results.push(Ok(combined));
                                }
                            }
                            results
                        }
                    },
                }
            };
            arena.clear();
            results
        });
        CollectionBundle::from_collections(oks, input.errs.concat(errs))
    }
}

/// Applies a map-filter-project to every row.
pub fn apply_mfp<'s, T: RenderTime>(
    collection: RowCollection<'s, T>,
    mfp: MapFilterProject,
) -> (RowCollection<'s, T>, ErrCollection<'s, T>) {
    let mut arena = RowArena::new();
    let mut out = Row::default();
    flat_map_fallible(collection, "MapFilterProject", move |row: Row| {
        let result = {
            let mut datums: Vec<Datum> = row.iter().collect();
            match mfp.evaluate_into(&mut datums, &arena, &mut out) {
                Ok(true) => Some(Ok(out.clone())),
                Ok(false) => None,
                Err(e) => Some(Err(e)),
            }
        };
        arena.clear();
        result
    })
}

/// Convenience for callers holding a collection of rows.
pub type Rows<'s> = VecCollection<'s, Timestamp, Row, Diff>;
