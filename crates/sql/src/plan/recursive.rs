//! Binding `WITH RECURSIVE`.
//!
//! PostgreSQL evaluates `WITH RECURSIVE t AS (base UNION [ALL] step)` by semi-naive
//! iteration: the step runs on the rows the previous round added. evert computes instead the
//! fixed point `t = base ∪ step(t)` (HIR/MIR `LetRec`), which differential maintains
//! incrementally. The two agree when the step is *linear* in `t`: it reads `t` once, not
//! inside a subquery, an aggregate, a window function, the nullable side of an outer join,
//! EXCEPT/INTERSECT or LIMIT. PostgreSQL itself refuses most of those; the rest are refused
//! here with 0A000, so a query either gets PostgreSQL's answer or an error. With `UNION`,
//! DISTINCT and GROUP BY without aggregates on the path are harmless (both sides are sets);
//! with `UNION ALL` they are not, and are refused.

use evert_expr::Id;
use evert_repr::ColumnType;
use sqlparser::ast::{self, SetExpr, SetOperator, SetQuantifier};

use super::query::{desc_of, CteBinding};
use super::typeconv::{coerce, common_type_for_set_operation, CastContext, Typed};
use super::Binder;
use crate::error::PlanError;
use crate::hir::{HirRelationExpr, HirScalarExpr, JoinKind};
use crate::parse::normalize_ident;

impl Binder<'_> {
    /// The bindings of `WITH RECURSIVE`: each CTE that refers to itself becomes a recursive
    /// binding, the others plain ones. (PostgreSQL does not implement mutual recursion
    /// between the items either.)
    pub(crate) fn plan_recursive_ctes(
        &mut self,
        with: &ast::With,
    ) -> Result<Vec<CteBinding>, PlanError> {
        let mut bindings = Vec::new();
        for cte in &with.cte_tables {
            let recursive_union = match cte.query.body.as_ref() {
                SetExpr::SetOperation {
                    op: SetOperator::Union,
                    left,
                    right,
                    set_quantifier,
                } if cte.query.order_by.is_none()
                    && cte.query.limit_clause.is_none()
                    && cte.query.fetch.is_none()
                    && cte.query.with.is_none() =>
                {
                    Some((left, right, set_quantifier))
                }
                _ => None,
            };
            match recursive_union {
                None => bindings.push(self.plan_cte(cte)?),
                Some((left, right, quantifier)) => {
                    bindings.push(self.plan_recursive_cte(cte, left, right, quantifier)?)
                }
            }
        }
        Ok(bindings)
    }

    /// The bindings of `WITH MUTUALLY RECURSIVE` (Materialize's syntax): every binding
    /// declares its columns' types, every binding is in scope in every binding's query, and
    /// the result is the fixed point reached by starting every binding empty and evaluating
    /// all queries again, each on the previous round's values, until nothing changes (or for
    /// at most `limit` rounds). Any query is allowed: this is not PostgreSQL's semi-naive
    /// `WITH RECURSIVE`, so no linearity is required.
    pub(crate) fn plan_mutually_recursive_ctes(
        &mut self,
        ctes: &[ast::Cte],
        limit: Option<evert_expr::LetRecLimit>,
    ) -> Result<Vec<CteBinding>, PlanError> {
        let mut declared = Vec::with_capacity(ctes.len());
        for cte in ctes {
            if cte.from.is_some() {
                return Err(PlanError::unsupported("CTE FROM"));
            }
            let name = normalize_ident(&cte.alias.name);
            if declared.iter().any(|(_, _, n): &(_, _, String)| *n == name) {
                return Err(PlanError::DuplicateAlias(format!(
                    "WITH query name \"{name}\" specified more than once"
                )));
            }
            if cte.alias.columns.is_empty() {
                return Err(PlanError::Invalid(format!(
                    "WITH MUTUALLY RECURSIVE query \"{name}\" must declare its columns and their types"
                )));
            }
            let mut desc = evert_repr::RelationDesc::empty();
            for column in &cte.alias.columns {
                let Some(data_type) = &column.data_type else {
                    return Err(PlanError::Invalid(format!(
                        "WITH MUTUALLY RECURSIVE query \"{name}\" must declare the type of column \"{}\"",
                        normalize_ident(&column.name)
                    )));
                };
                let scalar_type = super::expr::scalar_type_from_sql(data_type)?;
                desc = desc.with_column(
                    normalize_ident(&column.name),
                    ColumnType::new(scalar_type, true),
                );
            }
            let id = self.next_local_id();
            self.ctes.push((name.clone(), id, desc.clone()));
            declared.push((id, desc, name));
        }
        let mut bindings = Vec::with_capacity(ctes.len());
        for (cte, (id, desc, name)) in ctes.iter().zip(declared) {
            let (value, scope) = self.plan_query(&cte.query)?.into_subquery();
            if scope.len() != desc.arity() {
                return Err(PlanError::DatatypeMismatch(format!(
                    "WITH MUTUALLY RECURSIVE query \"{name}\" declared {} columns but its query returns {}",
                    desc.arity(),
                    scope.len()
                )));
            }
            let n = scope.len();
            let mut casts = Vec::with_capacity(n);
            for (i, (item, want)) in scope
                .items
                .iter()
                .zip(desc.typ.column_types.iter())
                .enumerate()
            {
                let column = Typed::new(HirScalarExpr::column(i), item.typ.clone());
                let cast = coerce(
                    column,
                    &want.scalar_type,
                    CastContext::Assignment,
                    &mut self.params,
                )
                .map_err(|_| {
                    PlanError::DatatypeMismatch(format!(
                        "WITH MUTUALLY RECURSIVE query \"{name}\" declared column \"{}\" of type {} but its query returns type {}",
                        desc.names[i],
                        want.scalar_type.pg_name(),
                        item.typ.scalar_type.pg_name()
                    ))
                })?;
                casts.push(cast);
            }
            let identity = casts
                .iter()
                .enumerate()
                .all(|(i, c)| *c == HirScalarExpr::column(i));
            let value = if identity {
                value
            } else {
                value.map(casts).project((n..2 * n).collect())
            };
            bindings.push((id, value, desc.typ.clone()));
        }
        Ok(vec![CteBinding::Recursive(bindings, limit)])
    }

    fn plan_recursive_cte(
        &mut self,
        cte: &ast::Cte,
        left: &SetExpr,
        right: &SetExpr,
        quantifier: &SetQuantifier,
    ) -> Result<CteBinding, PlanError> {
        if cte.from.is_some() {
            return Err(PlanError::unsupported("CTE FROM"));
        }
        let name = normalize_ident(&cte.alias.name);
        let union_all = matches!(quantifier, SetQuantifier::All);
        if !matches!(
            quantifier,
            SetQuantifier::All | SetQuantifier::Distinct | SetQuantifier::None
        ) {
            return Err(PlanError::unsupported(format!("UNION {quantifier}")));
        }
        // The non-recursive term fixes the column names and types.
        let (mut base, mut base_scope) = self.plan_set_expr(left)?;
        // Untyped literals in the non-recursive term are text, as in PostgreSQL.
        if base_scope
            .items
            .iter()
            .any(|i| i.typ.scalar_type == evert_repr::ScalarType::Unknown)
        {
            let n = base_scope.len();
            let mut casts = Vec::with_capacity(n);
            for (i, item) in base_scope.items.iter_mut().enumerate() {
                let column = Typed::new(HirScalarExpr::column(i), item.typ.clone());
                if item.typ.scalar_type == evert_repr::ScalarType::Unknown {
                    casts.push(coerce(
                        column,
                        &evert_repr::ScalarType::String,
                        CastContext::Implicit,
                        &mut self.params,
                    )?);
                    item.typ.scalar_type = evert_repr::ScalarType::String;
                } else {
                    casts.push(column.expr);
                }
            }
            base = base.map(casts).project((n..2 * n).collect());
        }
        let mut desc = desc_of(&base_scope);
        if !cte.alias.columns.is_empty() {
            if cte.alias.columns.len() != desc.arity() {
                return Err(PlanError::Invalid(format!(
                    "WITH query \"{name}\" has {} columns available but {} columns specified",
                    desc.arity(),
                    cte.alias.columns.len()
                )));
            }
            for (i, c) in cte.alias.columns.iter().enumerate() {
                desc.names[i] = normalize_ident(&c.name);
            }
        }
        // Rows of later rounds may hold NULLs the base term does not.
        for t in &mut desc.typ.column_types {
            t.nullable = true;
        }
        let id = self.next_local_id();
        self.ctes.push((name.clone(), id, desc.clone()));
        let planned = self.plan_set_expr(right);
        let (step, step_scope) = match planned {
            Ok(p) => p,
            Err(e) => {
                self.ctes.pop();
                return Err(e);
            }
        };
        if step_scope.len() != base_scope.len() {
            self.ctes.pop();
            return Err(PlanError::Invalid(
                "each UNION query must have the same number of columns".into(),
            ));
        }
        let references = count_references(&step, id);
        if references == 0 {
            // Not recursive after all: an ordinary CTE.
            self.ctes.pop();
            let (value, _) = self.plan_set_expr(&SetExpr::SetOperation {
                op: SetOperator::Union,
                set_quantifier: *quantifier,
                left: Box::new(left.clone()),
                right: Box::new(right.clone()),
            })?;
            self.ctes.push((name, id, desc));
            return Ok(CteBinding::Plain(id, value));
        }
        let checked = check_step(&step, id, &name, union_all).and_then(|()| {
            if references > 1 {
                Err(PlanError::InvalidRecursion(format!(
                    "recursive reference to query \"{name}\" must not appear more than once"
                )))
            } else {
                Ok(())
            }
        });
        if let Err(e) = checked {
            self.ctes.pop();
            return Err(e);
        }
        // The recursive term's columns take the non-recursive term's types.
        let n = base_scope.len();
        let mut casts = Vec::with_capacity(n);
        for (i, (b, s)) in base_scope
            .items
            .iter()
            .zip(step_scope.items.iter())
            .enumerate()
        {
            let overall =
                common_type_for_set_operation([&b.typ.scalar_type, &s.typ.scalar_type], "UNION");
            let matches = match &overall {
                Ok(t) => t.base_eq(&b.typ.scalar_type),
                Err(_) => false,
            };
            if !matches {
                self.ctes.pop();
                return Err(PlanError::DatatypeMismatch(format!(
                    "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                    i + 1,
                    b.typ.scalar_type.pg_name(),
                    overall
                        .map(|t| t.pg_name())
                        .unwrap_or_else(|_| s.typ.scalar_type.pg_name()),
                )));
            }
            casts.push(coerce(
                Typed::new(HirScalarExpr::column(i), s.typ.clone()),
                &b.typ.scalar_type,
                CastContext::Implicit,
                &mut self.params,
            )?);
        }
        let identity = casts
            .iter()
            .enumerate()
            .all(|(i, c)| *c == HirScalarExpr::column(i));
        let step = if identity {
            step
        } else {
            step.map(casts).project((n..2 * n).collect())
        };
        let mut value = base.union(step);
        if !union_all {
            value = value.distinct();
        }
        let typ = evert_repr::RelationType::new(
            desc.typ
                .column_types
                .iter()
                .map(|t| ColumnType::new(t.scalar_type.clone(), true))
                .collect(),
        );
        Ok(CteBinding::Recursive(vec![(id, value, typ)], None))
    }
}

/// How many times `rel` reads binding `id`, subqueries included.
pub(crate) fn count_references(rel: &HirRelationExpr, id: evert_expr::LocalId) -> usize {
    let mut count = 0;
    visit_relations(rel, &mut |r| {
        if let HirRelationExpr::Get {
            id: Id::Local(l), ..
        } = r
        {
            if *l == id {
                count += 1;
            }
        }
    });
    count
}

/// Calls `f` on every relation in `rel`, including those in scalar subqueries.
fn visit_relations<F: FnMut(&HirRelationExpr)>(rel: &HirRelationExpr, f: &mut F) {
    f(rel);
    let scalar = |e: &HirScalarExpr, f: &mut F| {
        let mut copy = e.clone();
        copy.visit_post_mut(&mut |s| {
            if let HirScalarExpr::Exists(r) | HirScalarExpr::Select(r) = s {
                visit_relations(r, f);
            }
        });
    };
    match rel {
        HirRelationExpr::Constant { .. } | HirRelationExpr::Get { .. } => {}
        HirRelationExpr::Let { value, body, .. } => {
            visit_relations(value, f);
            visit_relations(body, f);
        }
        HirRelationExpr::LetRec { bindings, body, .. } => {
            for (_, v, _) in bindings {
                visit_relations(v, f);
            }
            visit_relations(body, f);
        }
        HirRelationExpr::Project { input, .. }
        | HirRelationExpr::Distinct { input }
        | HirRelationExpr::TopK { input, .. }
        | HirRelationExpr::Negate { input }
        | HirRelationExpr::Threshold { input } => visit_relations(input, f),
        HirRelationExpr::Map { input, scalars } => {
            visit_relations(input, f);
            for s in scalars {
                scalar(s, f);
            }
        }
        HirRelationExpr::CallTable { exprs, .. } => {
            for s in exprs {
                scalar(s, f);
            }
        }
        HirRelationExpr::Filter { input, predicates } => {
            visit_relations(input, f);
            for s in predicates {
                scalar(s, f);
            }
        }
        HirRelationExpr::Join {
            left, right, on, ..
        } => {
            visit_relations(left, f);
            visit_relations(right, f);
            scalar(on, f);
        }
        HirRelationExpr::Reduce {
            input, aggregates, ..
        } => {
            visit_relations(input, f);
            for a in aggregates {
                for s in a.args.iter().chain(a.filter.iter()) {
                    scalar(s, f);
                }
            }
        }
        HirRelationExpr::Union { base, inputs } => {
            visit_relations(base, f);
            for i in inputs {
                visit_relations(i, f);
            }
        }
    }
}

/// References to `id` inside the scalar expressions of one node (its subqueries).
fn scalar_references(exprs: &[&HirScalarExpr], id: evert_expr::LocalId) -> usize {
    let mut count = 0;
    for e in exprs {
        let mut copy = (*e).clone();
        copy.visit_post_mut(&mut |s| {
            if let HirScalarExpr::Exists(r) | HirScalarExpr::Select(r) = s {
                count += count_references(r, id);
            }
        });
    }
    count
}

/// Checks that the recursive term reads `id` only through operators under which the fixed
/// point equals PostgreSQL's iteration.
fn check_step(
    rel: &HirRelationExpr,
    id: evert_expr::LocalId,
    name: &str,
    union_all: bool,
) -> Result<(), PlanError> {
    let within = |what: &str| {
        PlanError::InvalidRecursion(format!(
            "recursive reference to query \"{name}\" must not appear within {what}"
        ))
    };
    let refs = |r: &HirRelationExpr| count_references(r, id) > 0;
    let check = |r: &HirRelationExpr| check_step(r, id, name, union_all);
    match rel {
        HirRelationExpr::Constant { .. } | HirRelationExpr::Get { .. } => Ok(()),
        HirRelationExpr::Let { value, body, .. } => {
            check(value)?;
            check(body)
        }
        HirRelationExpr::LetRec { .. } => {
            if refs(rel) {
                Err(PlanError::unsupported("nested recursive queries"))
            } else {
                Ok(())
            }
        }
        HirRelationExpr::Project { input, .. } => check(input),
        HirRelationExpr::Map { input, scalars } => {
            if scalar_references(&scalars.iter().collect::<Vec<_>>(), id) > 0 {
                return Err(within("a subquery"));
            }
            if refs(input) && scalars.iter().any(|s| s.contains_window()) {
                return Err(within("a window function"));
            }
            check(input)
        }
        HirRelationExpr::CallTable { exprs, .. } => {
            if scalar_references(&exprs.iter().collect::<Vec<_>>(), id) > 0 {
                return Err(within("a subquery"));
            }
            Ok(())
        }
        HirRelationExpr::Filter { input, predicates } => {
            if scalar_references(&predicates.iter().collect::<Vec<_>>(), id) > 0 {
                return Err(within("a subquery"));
            }
            check(input)
        }
        HirRelationExpr::Join {
            left,
            right,
            on,
            kind,
            ..
        } => {
            if scalar_references(&[on], id) > 0 {
                return Err(within("a subquery"));
            }
            let nullable_side = match kind {
                JoinKind::Inner => false,
                JoinKind::LeftOuter => refs(right),
                JoinKind::RightOuter => refs(left),
                JoinKind::FullOuter => refs(left) || refs(right),
            };
            if nullable_side {
                return Err(within("an outer join"));
            }
            check(left)?;
            check(right)
        }
        HirRelationExpr::Reduce {
            input, aggregates, ..
        } => {
            if !refs(input) {
                return Ok(());
            }
            if !aggregates.is_empty() {
                return Err(PlanError::InvalidRecursion(
                    "aggregate functions are not allowed in a recursive query's recursive term"
                        .into(),
                ));
            }
            if union_all {
                return Err(PlanError::unsupported(
                    "GROUP BY or DISTINCT over the recursive reference in a UNION ALL recursive query",
                ));
            }
            check(input)
        }
        HirRelationExpr::Distinct { input } => {
            if refs(input) && union_all {
                return Err(PlanError::unsupported(
                    "DISTINCT over the recursive reference in a UNION ALL recursive query",
                ));
            }
            check(input)
        }
        HirRelationExpr::TopK { input, .. } => {
            if refs(input) {
                return Err(PlanError::unsupported(
                    "LIMIT, OFFSET or DISTINCT ON over the recursive reference in a recursive query",
                ));
            }
            Ok(())
        }
        HirRelationExpr::Negate { input } | HirRelationExpr::Threshold { input } => {
            if refs(input) {
                return Err(within("EXCEPT or INTERSECT"));
            }
            Ok(())
        }
        HirRelationExpr::Union { base, inputs } => {
            check(base)?;
            for i in inputs {
                check(i)?;
            }
            Ok(())
        }
    }
}
