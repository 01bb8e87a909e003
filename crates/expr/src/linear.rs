//! `MapFilterProject`: a fused Map, Filter and Project evaluated in one pass over a row.
//!
//! Chains of Map, Filter and Project are the most common operators in any plan; evaluating
//! them one operator at a time would copy every row several times. A `MapFilterProject`
//! instead appends computed columns to a scratch vector of datums, checks each predicate as
//! soon as the columns it reads exist (so rows are rejected before later expressions are
//! computed), and packs only the projected columns into the output row.

use evert_repr::{Datum, Row, RowArena};

use crate::error::EvalError;
use crate::relation::MirRelationExpr;
use crate::scalar::MirScalarExpr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapFilterProject {
    /// Computed columns, appended after the input's in this order.
    pub expressions: Vec<MirScalarExpr>,
    /// Predicates, each with the number of columns that must exist before it is checked.
    pub predicates: Vec<(usize, MirScalarExpr)>,
    /// Output columns (indices into input ++ expressions).
    pub projection: Vec<usize>,
    pub input_arity: usize,
}

impl MapFilterProject {
    pub fn new(input_arity: usize) -> MapFilterProject {
        MapFilterProject {
            expressions: vec![],
            predicates: vec![],
            projection: (0..input_arity).collect(),
            input_arity,
        }
    }

    pub fn is_identity(&self) -> bool {
        self.expressions.is_empty()
            && self.predicates.is_empty()
            && self.projection.len() == self.input_arity
            && self.projection.iter().enumerate().all(|(i, c)| i == *c)
    }

    pub fn output_arity(&self) -> usize {
        self.projection.len()
    }

    fn rewrite(&self, mut expr: MirScalarExpr) -> MirScalarExpr {
        expr.permute(&self.projection);
        expr
    }

    pub fn map(mut self, scalars: impl IntoIterator<Item = MirScalarExpr>) -> MapFilterProject {
        for s in scalars {
            let s = self.rewrite(s);
            self.expressions.push(s);
            self.projection
                .push(self.input_arity + self.expressions.len() - 1);
        }
        self
    }

    pub fn filter(
        mut self,
        predicates: impl IntoIterator<Item = MirScalarExpr>,
    ) -> MapFilterProject {
        for p in predicates {
            let p = self.rewrite(p);
            let support = p.support().into_iter().max().map(|c| c + 1).unwrap_or(0);
            self.predicates.push((support, p));
        }
        self.predicates.sort_by_key(|(support, _)| *support);
        self
    }

    pub fn project(mut self, columns: impl IntoIterator<Item = usize>) -> MapFilterProject {
        self.projection = columns.into_iter().map(|c| self.projection[c]).collect();
        self
    }

    /// Peels Map, Filter and Project operators off the top of `expr`, returning them fused
    /// and the remaining input.
    pub fn extract_from(expr: &MirRelationExpr) -> (MapFilterProject, &MirRelationExpr) {
        let mut layers = Vec::new();
        let mut current = expr;
        loop {
            match current {
                MirRelationExpr::Map { input, .. }
                | MirRelationExpr::Filter { input, .. }
                | MirRelationExpr::Project { input, .. } => {
                    layers.push(current);
                    current = input;
                }
                _ => break,
            }
        }
        let mut mfp = MapFilterProject::new(current.arity());
        for layer in layers.into_iter().rev() {
            mfp = match layer {
                MirRelationExpr::Map { scalars, .. } => mfp.map(scalars.iter().cloned()),
                MirRelationExpr::Filter { predicates, .. } => {
                    mfp.filter(predicates.iter().cloned())
                }
                MirRelationExpr::Project { outputs, .. } => mfp.project(outputs.iter().copied()),
                _ => unreachable!("only Map, Filter and Project layers are collected"),
            };
        }
        (mfp, current)
    }

    /// Applies the operator to one row whose datums are in `datums` (which it extends).
    /// Returns `Ok(true)` and the output in `row` if the row passes every predicate.
    pub fn evaluate_into<'a>(
        &'a self,
        datums: &mut Vec<Datum<'a>>,
        arena: &'a RowArena,
        row: &mut Row,
    ) -> Result<bool, EvalError> {
        let mut next = 0;
        for (support, predicate) in &self.predicates {
            while self.input_arity + next < *support {
                let d = self.expressions[next].eval(datums, arena)?;
                datums.push(d);
                next += 1;
            }
            if predicate.eval(datums, arena)? != Datum::True {
                return Ok(false);
            }
        }
        while next < self.expressions.len() {
            let d = self.expressions[next].eval(datums, arena)?;
            datums.push(d);
            next += 1;
        }
        row.packer()
            .extend(self.projection.iter().map(|c| datums[*c]));
        Ok(true)
    }

    /// Applies the operator to a row, allocating the result.
    pub fn evaluate<'a>(
        &'a self,
        input: &'a Row,
        arena: &'a RowArena,
    ) -> Result<Option<Row>, EvalError> {
        let mut datums: Vec<Datum> = input.iter().collect();
        let mut row = Row::default();
        if self.evaluate_into(&mut datums, arena, &mut row)? {
            Ok(Some(row))
        } else {
            Ok(None)
        }
    }
}
