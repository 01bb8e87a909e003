//! Binding queries: SELECT, FROM and joins, grouping, ORDER BY/LIMIT, set operations,
//! VALUES and WITH.

use evert_expr::{ColumnOrder, Id};
use evert_repr::{ColumnType, Datum, RelationDesc, RelationType, Row, ScalarType};
use sqlparser::ast::{
    self, Expr, GroupByExpr, JoinConstraint, JoinOperator, OrderByKind, Query, SelectItem, SetExpr,
    SetOperator, SetQuantifier, TableFactor, TableWithJoins, Value,
};

use super::expr::ExprContext;
use super::func::{function_name, table_function};
use super::scope::{Scope, ScopeItem};
use super::typeconv::{coerce, common_type, common_type_for_set_operation, CastContext, Typed};
use super::{AggregateFrame, Binder};
use crate::error::PlanError;
use crate::hir::{ColumnRef, HirRelationExpr, HirScalarExpr, JoinKind};
use crate::parse::{normalize_ident, normalize_name};

/// What happens to a query's rows after they are computed: sorting, the LIMIT/OFFSET
/// window, and dropping helper columns. At the top of a SELECT this is done by the adapter
/// on the result; inside a view or subquery it becomes a TopK.
#[derive(Clone, Debug, Default)]
pub struct Finishing {
    pub order_by: Vec<ColumnOrder>,
    pub limit: Option<usize>,
    pub offset: usize,
    /// The columns the client sees.
    pub project: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct PlannedQuery {
    pub expr: HirRelationExpr,
    /// The visible columns.
    pub desc: RelationDesc,
    pub finishing: Finishing,
    pub scope: Scope,
}

impl PlannedQuery {
    /// The query as a relation of just its visible columns; ORDER BY matters only with a
    /// LIMIT or OFFSET, which become a TopK.
    pub fn into_subquery(self) -> (HirRelationExpr, Scope) {
        let f = self.finishing;
        let mut expr = self.expr;
        if f.limit.is_some() || f.offset > 0 {
            expr = HirRelationExpr::TopK {
                input: Box::new(expr),
                group_key: vec![],
                order_key: f.order_by,
                limit: f.limit,
                offset: f.offset,
            };
        }
        let identity = f.project.iter().enumerate().all(|(i, c)| i == *c)
            && f.project.len() == self.scope.len()
            && !matches!(expr, HirRelationExpr::TopK { .. });
        if !identity {
            expr = expr.project(f.project);
        }
        (expr, self.scope)
    }
}

/// The output of a SELECT block before its ORDER BY/LIMIT.
struct SelectPlan {
    expr: HirRelationExpr,
    scope: Scope,
    order_by: Vec<ColumnOrder>,
    /// Number of visible columns (the first ones); hidden ORDER BY columns follow.
    visible: usize,
}

pub(crate) fn desc_of(scope: &Scope) -> RelationDesc {
    let mut desc = RelationDesc::empty();
    for item in &scope.items {
        desc = desc.with_column(item.column.clone(), item.typ.clone());
    }
    desc
}

/// The column name PostgreSQL gives an output expression.
pub(crate) fn derive_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => normalize_ident(i),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .map(normalize_ident)
            .unwrap_or_else(|| "?column?".into()),
        Expr::Function(f) => function_name(&f.name).unwrap_or_else(|_| "?column?".into()),
        Expr::Cast {
            expr, data_type, ..
        } => match expr.as_ref() {
            Expr::Value(_) => cast_type_name(data_type),
            inner => derive_name(inner),
        },
        Expr::Nested(inner) => derive_name(inner),
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Extract { .. } => "extract".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Trim { .. } => "btrim".into(),
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::Array(_) => "array".into(),
        Expr::TypedString(ts) => cast_type_name(&ts.data_type),
        Expr::Interval(_) => "interval".into(),
        Expr::Subquery(q) => match q.body.as_ref() {
            SetExpr::Select(s) if s.projection.len() == 1 => match &s.projection[0] {
                SelectItem::UnnamedExpr(e) => derive_name(e),
                SelectItem::ExprWithAlias { alias, .. } => normalize_ident(alias),
                _ => "?column?".into(),
            },
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

fn cast_type_name(dt: &ast::DataType) -> String {
    match super::expr::scalar_type_from_sql(dt) {
        Ok(ScalarType::Int16) => "int2".into(),
        Ok(ScalarType::Int32) => "int4".into(),
        Ok(ScalarType::Int64) => "int8".into(),
        Ok(ScalarType::Float32) => "float4".into(),
        Ok(ScalarType::Float64) => "float8".into(),
        Ok(ScalarType::Bool) => "bool".into(),
        Ok(ScalarType::VarChar { .. }) => "varchar".into(),
        Ok(ScalarType::Char { .. }) => "bpchar".into(),
        Ok(ScalarType::TimestampTz) => "timestamptz".into(),
        Ok(t) => t
            .sql_name()
            .split('(')
            .next()
            .unwrap_or("?column?")
            .to_string(),
        Err(_) => "?column?".into(),
    }
}

impl Binder<'_> {
    pub fn plan_query(&mut self, q: &Query) -> Result<PlannedQuery, PlanError> {
        if !q.locks.is_empty() {
            return Err(PlanError::unsupported("FOR UPDATE/SHARE"));
        }
        if q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return Err(PlanError::unsupported("this query clause"));
        }
        let ctes_before = self.ctes.len();
        let mut bindings = Vec::new();
        if let Some(with) = &q.with {
            if with.recursive {
                let result = match crate::parse::mutually_recursive_limit(with) {
                    Some(limit) => self.plan_mutually_recursive_ctes(&with.cte_tables[1..], limit),
                    None => self.plan_recursive_ctes(with),
                };
                if let Err(e) = result {
                    self.ctes.truncate(ctes_before);
                    return Err(e);
                }
                bindings = result?;
            } else {
                for cte in &with.cte_tables {
                    let planned = match self.plan_cte(cte) {
                        Ok(p) => p,
                        Err(e) => {
                            self.ctes.truncate(ctes_before);
                            return Err(e);
                        }
                    };
                    bindings.push(planned);
                }
            }
        }
        let result = self.plan_query_body(q);
        self.ctes.truncate(ctes_before);
        let mut planned = result?;
        for binding in bindings.into_iter().rev() {
            planned.expr = match binding {
                CteBinding::Plain(id, value) => HirRelationExpr::Let {
                    id,
                    value: Box::new(value),
                    body: Box::new(planned.expr),
                },
                CteBinding::Recursive(bindings, limit) => HirRelationExpr::LetRec {
                    bindings,
                    limit,
                    body: Box::new(planned.expr),
                },
            };
        }
        Ok(planned)
    }

    pub(crate) fn plan_cte(&mut self, cte: &ast::Cte) -> Result<CteBinding, PlanError> {
        if cte.from.is_some() {
            return Err(PlanError::unsupported("CTE FROM"));
        }
        let name = normalize_ident(&cte.alias.name);
        let (expr, scope) = self.plan_query(&cte.query)?.into_subquery();
        let mut desc = desc_of(&scope);
        if !cte.alias.columns.is_empty() {
            if cte.alias.columns.len() > desc.arity() {
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
        let id = self.next_local_id();
        self.ctes.push((name, id, desc));
        Ok(CteBinding::Plain(id, expr))
    }

    fn plan_query_body(&mut self, q: &Query) -> Result<PlannedQuery, PlanError> {
        let order_by: Vec<&ast::OrderByExpr> = match &q.order_by {
            None => vec![],
            Some(ob) => match &ob.kind {
                OrderByKind::Expressions(exprs) => exprs.iter().collect(),
                OrderByKind::All(_) => return Err(PlanError::unsupported("ORDER BY ALL")),
            },
        };
        let (limit, offset) = self.plan_limit_offset(q)?;
        let plan = match q.body.as_ref() {
            SetExpr::Select(select) => self.plan_select(select, &order_by)?,
            other => {
                let (expr, scope) = self.plan_set_expr(other)?;
                let order = self.plan_output_order_by(&scope, &order_by)?;
                let visible = scope.len();
                SelectPlan {
                    expr,
                    scope,
                    order_by: order,
                    visible,
                }
            }
        };
        let scope = Scope::new(plan.scope.items[..plan.visible].to_vec());
        Ok(PlannedQuery {
            expr: plan.expr,
            desc: desc_of(&scope),
            finishing: Finishing {
                order_by: plan.order_by,
                limit,
                offset,
                project: (0..plan.visible).collect(),
            },
            scope,
        })
    }

    fn plan_limit_offset(&mut self, q: &Query) -> Result<(Option<usize>, usize), PlanError> {
        let (limit_expr, offset_expr) = match &q.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(PlanError::unsupported("LIMIT BY"));
                }
                (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
        };
        let limit_expr = match (&q.fetch, limit_expr) {
            (Some(fetch), None) => {
                if fetch.percent || fetch.with_ties {
                    return Err(PlanError::unsupported("FETCH ... PERCENT / WITH TIES"));
                }
                Some(
                    fetch
                        .quantity
                        .clone()
                        .unwrap_or(Expr::Value(Value::Number("1".into(), false).into())),
                )
            }
            (Some(_), Some(_)) => {
                return Err(PlanError::Invalid("cannot use both LIMIT and FETCH".into()))
            }
            (None, l) => l,
        };
        let limit = match limit_expr {
            Some(e) => self.constant_count(&e, "LIMIT")?,
            None => None,
        };
        let offset = match offset_expr {
            Some(e) => self.constant_count(&e, "OFFSET")?.unwrap_or(0),
            None => 0,
        };
        Ok((limit, offset))
    }

    /// Evaluates a LIMIT/OFFSET expression, which must be a constant.
    fn constant_count(
        &mut self,
        e: &Expr,
        clause: &'static str,
    ) -> Result<Option<usize>, PlanError> {
        if let Expr::Value(v) = e {
            if matches!(v.value, Value::Null) {
                return Ok(None);
            }
        }
        if let Expr::Identifier(i) = e {
            if i.value.eq_ignore_ascii_case("all") {
                return Ok(None);
            }
        }
        let empty = Scope::empty();
        let ecx = ExprContext::new(&empty, "LIMIT");
        let t = self.bind_expr(&ecx, e)?;
        let expr = coerce(
            t,
            &ScalarType::Int64,
            CastContext::Implicit,
            &mut self.params,
        )
        .map_err(|_| {
            PlanError::DatatypeMismatch(format!("argument of {clause} must be type bigint"))
        })?;
        let value = match &expr {
            HirScalarExpr::Literal(row, _) => row.unpack_first(),
            HirScalarExpr::CallUnary { .. } => {
                let mir = super::lowering::lower_constant_scalar(&expr)?;
                let arena = evert_repr::RowArena::new();
                let d = mir.eval(&[], &arena)?;
                match d {
                    Datum::Int64(i) => Datum::Int64(i),
                    Datum::Null => Datum::Null,
                    _ => {
                        return Err(PlanError::Invalid(format!(
                            "argument of {clause} must be a constant"
                        )))
                    }
                }
            }
            HirScalarExpr::Parameter(_) => return Ok(None),
            _ => return Err(PlanError::unsupported(format!("non-constant {clause}"))),
        };
        match value {
            Datum::Null => Ok(None),
            Datum::Int64(i) if i < 0 => Err(PlanError::NegativeRowCount { clause }),
            Datum::Int64(i) => Ok(Some(i as usize)),
            _ => Err(PlanError::Invalid(format!(
                "argument of {clause} must be a constant"
            ))),
        }
    }

    /// ORDER BY over a query's output columns only (set operations, VALUES).
    fn plan_output_order_by(
        &mut self,
        scope: &Scope,
        order_by: &[&ast::OrderByExpr],
    ) -> Result<Vec<ColumnOrder>, PlanError> {
        let mut orders = Vec::new();
        for o in order_by {
            let column = match &o.expr {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => {
                        let pos: usize = n.parse().map_err(|_| {
                            PlanError::InvalidColumnReference(format!(
                                "non-integer constant in ORDER BY"
                            ))
                        })?;
                        if pos == 0 || pos > scope.len() {
                            return Err(PlanError::InvalidColumnReference(format!(
                                "ORDER BY position {pos} is not in select list"
                            )));
                        }
                        pos - 1
                    }
                    _ => {
                        return Err(PlanError::InvalidColumnReference(
                            "non-integer constant in ORDER BY".into(),
                        ))
                    }
                },
                Expr::Identifier(i) => {
                    let name = normalize_ident(i);
                    scope
                        .resolve(None, &name)?
                        .ok_or_else(|| PlanError::UnknownColumn(name.clone()))?
                }
                _ => {
                    let ecx = ExprContext::new(scope, "ORDER BY");
                    let t = self.bind_expr(&ecx, &o.expr)?;
                    match t.expr {
                        HirScalarExpr::Column(ColumnRef { level: 0, column }) => column,
                        _ => {
                            return Err(PlanError::InvalidColumnReference(
                                "invalid UNION/INTERSECT/EXCEPT ORDER BY clause: ORDER BY on a set operation may only name result columns".into(),
                            ))
                        }
                    }
                }
            };
            orders.push(column_order(column, o));
        }
        Ok(orders)
    }

    pub(crate) fn plan_set_expr(
        &mut self,
        body: &SetExpr,
    ) -> Result<(HirRelationExpr, Scope), PlanError> {
        match body {
            SetExpr::Select(select) => {
                let plan = self.plan_select(select, &[])?;
                let scope = Scope::new(plan.scope.items[..plan.visible].to_vec());
                Ok((plan.expr.project((0..plan.visible).collect()), scope))
            }
            SetExpr::Query(q) => Ok(self.plan_query(q)?.into_subquery()),
            SetExpr::Values(values) => self.plan_values(values),
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let (l, ls) = self.plan_set_expr(left)?;
                let (r, rs) = self.plan_set_expr(right)?;
                let op_name = match op {
                    SetOperator::Union => "UNION",
                    SetOperator::Intersect => "INTERSECT",
                    SetOperator::Except | SetOperator::Minus => "EXCEPT",
                };
                if ls.len() != rs.len() {
                    return Err(PlanError::Invalid(format!(
                        "each {op_name} query must have the same number of columns"
                    )));
                }
                // Unify column types.
                let mut lcasts = Vec::new();
                let mut rcasts = Vec::new();
                let mut items = Vec::new();
                for (i, (a, b)) in ls.items.iter().zip(rs.items.iter()).enumerate() {
                    let t = common_type_for_set_operation(
                        [&a.typ.scalar_type, &b.typ.scalar_type],
                        op_name,
                    )?;
                    let lc = coerce(
                        Typed::new(HirScalarExpr::column(i), a.typ.clone()),
                        &t,
                        CastContext::Implicit,
                        &mut self.params,
                    )?;
                    let rc = coerce(
                        Typed::new(HirScalarExpr::column(i), b.typ.clone()),
                        &t,
                        CastContext::Implicit,
                        &mut self.params,
                    )?;
                    lcasts.push(lc);
                    rcasts.push(rc);
                    items.push(ScopeItem::new(
                        None,
                        a.column.clone(),
                        ColumnType::new(t, a.typ.nullable || b.typ.nullable),
                    ));
                }
                let n = ls.len();
                let cast_side = |rel: HirRelationExpr, casts: Vec<HirScalarExpr>| {
                    if casts
                        .iter()
                        .enumerate()
                        .all(|(i, c)| *c == HirScalarExpr::column(i))
                    {
                        rel
                    } else {
                        rel.map(casts).project((n..2 * n).collect())
                    }
                };
                let l = cast_side(l, lcasts);
                let r = cast_side(r, rcasts);
                let all = matches!(set_quantifier, SetQuantifier::All);
                let expr = match (op, all) {
                    (SetOperator::Union, true) => l.union(r),
                    (SetOperator::Union, false) => l.union(r).distinct(),
                    (SetOperator::Except | SetOperator::Minus, true) => {
                        l.union(r.negate()).threshold()
                    }
                    (SetOperator::Except | SetOperator::Minus, false) => {
                        l.distinct().union(r.distinct().negate()).threshold()
                    }
                    (SetOperator::Intersect, all) => {
                        // min(a, b) = a - max(0, a - b)
                        let (l, r) = if all {
                            (l, r)
                        } else {
                            (l.distinct(), r.distinct())
                        };
                        let except = l.clone().union(r.negate()).threshold();
                        l.union(except.negate()).threshold()
                    }
                };
                Ok((expr, Scope::new(items)))
            }
            SetExpr::Table(t) => {
                let name = t
                    .table_name
                    .clone()
                    .ok_or_else(|| PlanError::Invalid("TABLE requires a name".into()))?;
                let mut parts = vec![];
                if let Some(schema) = &t.schema_name {
                    parts.push(normalize_ident(schema));
                }
                parts.push(normalize_ident(&name));
                let (rel, scope) = self.plan_relation_name(&parts, None)?;
                Ok((rel, scope))
            }
            other => Err(PlanError::unsupported(format!("{other}"))),
        }
    }

    fn plan_values(&mut self, values: &ast::Values) -> Result<(HirRelationExpr, Scope), PlanError> {
        let rows = &values.rows;
        let Some(first) = rows.first() else {
            return Err(PlanError::Invalid(
                "VALUES must have at least one row".into(),
            ));
        };
        let arity = first.content.len();
        let empty = Scope::empty();
        let ecx = ExprContext::new(&empty, "VALUES");
        let mut bound: Vec<Vec<Typed>> = Vec::new();
        for row in rows {
            if row.content.len() != arity {
                return Err(PlanError::Invalid(
                    "VALUES lists must all be the same length".into(),
                ));
            }
            bound.push(
                row.content
                    .iter()
                    .map(|e| self.bind_expr(&ecx, e))
                    .collect::<Result<_, _>>()?,
            );
        }
        let mut types = Vec::with_capacity(arity);
        for c in 0..arity {
            let t = common_type(bound.iter().map(|r| r[c].scalar_type()), "VALUES")?;
            let nullable = bound.iter().any(|r| r[c].typ.nullable);
            types.push(ColumnType::new(t, nullable));
        }
        let mut exprs: Vec<Vec<HirScalarExpr>> = Vec::new();
        for row in bound {
            let mut out = Vec::with_capacity(arity);
            for (c, t) in row.into_iter().enumerate() {
                out.push(coerce(
                    t,
                    &types[c].scalar_type,
                    CastContext::Implicit,
                    &mut self.params,
                )?);
            }
            exprs.push(out);
        }
        let scope = Scope::new(
            types
                .iter()
                .enumerate()
                .map(|(i, t)| ScopeItem::new(None, format!("column{}", i + 1), t.clone()))
                .collect(),
        );
        let all_literal = exprs
            .iter()
            .all(|r| r.iter().all(|e| matches!(e, HirScalarExpr::Literal(..))));
        let typ = RelationType::new(types.clone());
        if all_literal {
            let rows = exprs
                .iter()
                .map(|r| {
                    let mut row = Row::default();
                    for e in r {
                        if let HirScalarExpr::Literal(lit, _) = e {
                            row.appender().extend_by_row(lit);
                        }
                    }
                    row
                })
                .collect();
            return Ok((HirRelationExpr::Constant { rows, typ }, scope));
        }
        let mut parts = exprs.into_iter().map(|r| HirRelationExpr::unit().map(r));
        let first = parts.next().expect("at least one row");
        let rest: Vec<HirRelationExpr> = parts.collect();
        let expr = if rest.is_empty() {
            first
        } else {
            HirRelationExpr::Union {
                base: Box::new(first),
                inputs: rest,
            }
        };
        Ok((expr, scope))
    }

    fn plan_select(
        &mut self,
        s: &ast::Select,
        order_by: &[&ast::OrderByExpr],
    ) -> Result<SelectPlan, PlanError> {
        if s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.connect_by.is_empty()
        {
            return Err(PlanError::unsupported("this SELECT clause"));
        }
        if !s.cluster_by.is_empty() || !s.distribute_by.is_empty() || !s.sort_by.is_empty() {
            return Err(PlanError::unsupported("CLUSTER/DISTRIBUTE/SORT BY"));
        }
        if s.qualify.is_some() {
            return Err(PlanError::unsupported("QUALIFY"));
        }
        if !s.named_window.is_empty() {
            return Err(PlanError::unsupported("WINDOW clause"));
        }
        // FROM and WHERE.
        let (mut rel, from_scope) = self.plan_from(&s.from)?;
        if let Some(selection) = &s.selection {
            let ecx = ExprContext::new(&from_scope, "WHERE");
            let pred = self.bind_bool(&ecx, selection, "WHERE")?;
            rel = rel.filter(vec![pred]);
        }
        // GROUP BY keys, resolving output ordinals and aliases; GROUPING SETS, ROLLUP and
        // CUBE become grouping sets over those keys.
        let (group_asts, grouping_sets) = match &s.group_by {
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(PlanError::unsupported("GROUP BY modifiers"));
                }
                self.resolve_grouping_sets(exprs, &s.projection, &from_scope)?
            }
            GroupByExpr::All(_) => return Err(PlanError::unsupported("GROUP BY ALL")),
        };
        let mut group_keys: Vec<Typed> = Vec::new();
        {
            let ecx = ExprContext::new(&from_scope, "GROUP BY");
            for e in &group_asts {
                group_keys.push(self.bind_expr(&ecx, e)?);
            }
        }
        // Keys written twice (`a` and `t.a`) are one key.
        let first_equal: Vec<usize> = group_keys
            .iter()
            .map(|k| {
                group_keys
                    .iter()
                    .position(|other| other.expr == k.expr)
                    .expect("itself")
            })
            .collect();
        let grouping_sets: Option<Vec<Vec<usize>>> = grouping_sets.map(|sets| {
            sets.into_iter()
                .map(|set| {
                    let mut out: Vec<usize> = Vec::new();
                    for i in set {
                        let i = first_equal[i];
                        if !out.contains(&i) {
                            out.push(i);
                        }
                    }
                    out
                })
                .collect()
        });

        // The select list, HAVING and ORDER BY, with aggregates collected.
        self.aggregate_frames.push(AggregateFrame {
            input_arity: from_scope.len(),
            ..Default::default()
        });
        let bound = self.bind_select_list_having_order(s, order_by, &from_scope);
        let frame = self.aggregate_frames.pop().expect("pushed above");
        let (outputs, having, orders) = bound?;

        let grouped = !group_keys.is_empty()
            || !frame.aggregates.is_empty()
            || !frame.groupings.is_empty()
            || grouping_sets.is_some()
            || having.is_some();
        let input_arity = from_scope.len();
        let (mut rel, post_scope, mut outputs, having, mut orders) = if grouped {
            // Map the group key expressions that are not plain columns, then reduce.
            let mut key_columns = Vec::with_capacity(group_keys.len());
            let mut extra = Vec::new();
            for k in &group_keys {
                match &k.expr {
                    HirScalarExpr::Column(ColumnRef { level: 0, column }) => {
                        key_columns.push(*column)
                    }
                    other => {
                        key_columns.push(input_arity + extra.len());
                        extra.push(other.clone());
                    }
                }
            }
            let rel = rel.map(extra);
            let sets = grouping_sets
                .clone()
                .unwrap_or_else(|| vec![(0..group_keys.len()).collect()]);
            let reduced = if grouping_sets.is_none() && frame.groupings.is_empty() {
                HirRelationExpr::Reduce {
                    input: Box::new(rel),
                    group_key: key_columns.clone(),
                    aggregates: frame.aggregates.clone(),
                }
            } else {
                grouping_sets_union(rel, &sets, &key_columns, &group_keys, &frame)
            };
            let mut items = Vec::new();
            for (i, k) in group_keys.iter().enumerate() {
                let (table, name) = match &k.expr {
                    HirScalarExpr::Column(ColumnRef { level: 0, column }) => (
                        from_scope.items[*column].table.clone(),
                        from_scope.items[*column].column.clone(),
                    ),
                    _ => (None, format!("?group{i}?")),
                };
                // A key left out of some grouping set is NULL in that set's rows.
                let mut typ = k.typ.clone();
                if sets.iter().any(|set| !set.contains(&first_equal[i])) {
                    typ.nullable = true;
                }
                let mut item = ScopeItem::new(table, name, typ);
                item.hidden = true;
                items.push(item);
            }
            for t in &frame.types {
                let mut item = ScopeItem::new(None, "?aggregate?", t.clone());
                item.hidden = true;
                items.push(item);
            }
            let keys: Vec<HirScalarExpr> = group_keys.iter().map(|k| k.expr.clone()).collect();
            let groupings = if grouping_sets.is_none() && frame.groupings.is_empty() {
                Vec::new()
            } else {
                let mut item =
                    ScopeItem::new(None, "?grouping set?", ScalarType::Int32.nullable(false));
                item.hidden = true;
                items.push(item);
                grouping_values(&frame, &keys, &first_equal, &sets)?
            };
            let rewrite = |e: HirScalarExpr| {
                rewrite_grouped(e, &keys, input_arity, &from_scope).map(|e| {
                    replace_groupings(e, keys.len(), keys.len() + frame.types.len(), &groupings)
                })
            };
            let outputs = outputs
                .into_iter()
                .map(|(t, name)| Ok((Typed::new(rewrite(t.expr)?, t.typ), name)))
                .collect::<Result<Vec<_>, PlanError>>()?;
            let having = having.map(rewrite).transpose()?;
            let orders = orders
                .into_iter()
                .map(|o| match o {
                    OrderTarget::Expr(t, order) => Ok(OrderTarget::Expr(
                        Typed::new(rewrite(t.expr)?, t.typ),
                        order,
                    )),
                    other => Ok(other),
                })
                .collect::<Result<Vec<_>, PlanError>>()?;
            (reduced, Scope::new(items), outputs, having, orders)
        } else {
            (rel, from_scope.clone(), outputs, having, orders)
        };
        if let Some(h) = having {
            rel = rel.filter(vec![h]);
        }

        // Window functions are computed over the (possibly grouped) relation.
        let base_arity = post_scope.len();
        let mut window_exprs: Vec<&mut HirScalarExpr> =
            outputs.iter_mut().map(|(t, _)| &mut t.expr).collect();
        for o in orders.iter_mut() {
            if let OrderTarget::Expr(t, _) = o {
                window_exprs.push(&mut t.expr);
            }
        }
        let (rel2, arity_before) = self.plan_windows(rel, base_arity, window_exprs);
        rel = rel2;

        // Map the outputs and hidden ORDER BY expressions, then project them.
        let mut scalars: Vec<HirScalarExpr> = outputs.iter().map(|(t, _)| t.expr.clone()).collect();
        let mut items: Vec<ScopeItem> = outputs
            .iter()
            .map(|(t, name)| ScopeItem::new(None, name.clone(), t.typ.clone()))
            .collect();
        let visible = items.len();
        let mut order_keys = Vec::new();
        for o in orders {
            match o {
                OrderTarget::Output(i, order) => {
                    order_keys.push(ColumnOrder { column: i, ..order })
                }
                OrderTarget::Expr(t, order) => {
                    // Reuse an identical output column if there is one.
                    let existing = scalars.iter().position(|s| *s == t.expr);
                    let column = match existing {
                        Some(c) => c,
                        None => {
                            if s.distinct.is_some() {
                                return Err(PlanError::InvalidColumnReference(
                                    "for SELECT DISTINCT, ORDER BY expressions must appear in select list".into(),
                                ));
                            }
                            scalars.push(t.expr.clone());
                            let mut item = ScopeItem::new(None, "?order?", t.typ.clone());
                            item.hidden = true;
                            items.push(item);
                            scalars.len() - 1
                        }
                    };
                    order_keys.push(ColumnOrder { column, ..order });
                }
            }
        }
        let n = scalars.len();
        let mut expr = rel
            .map(scalars)
            .project((arity_before..arity_before + n).collect());

        match &s.distinct {
            None | Some(ast::Distinct::All) => {}
            Some(ast::Distinct::Distinct) => {
                expr = expr.distinct();
            }
            Some(ast::Distinct::On(on_exprs)) => {
                // DISTINCT ON (exprs): per distinct key, the first row in ORDER BY order.
                let scope = Scope::new(items.clone());
                let mut key_columns = Vec::new();
                for e in on_exprs {
                    let column = match e {
                        Expr::Value(v) if matches!(v.value, Value::Number(..)) => {
                            let Value::Number(n, _) = &v.value else {
                                unreachable!()
                            };
                            let pos: usize = n.parse().unwrap_or(0);
                            if pos == 0 || pos > visible {
                                return Err(PlanError::InvalidColumnReference(format!(
                                    "DISTINCT ON position {pos} is not in select list"
                                )));
                            }
                            pos - 1
                        }
                        Expr::Identifier(i)
                            if scope.resolve(None, &normalize_ident(i))?.is_some() =>
                        {
                            scope.resolve(None, &normalize_ident(i))?.expect("checked")
                        }
                        other => {
                            let ecx = ExprContext::new(&from_scope, "DISTINCT ON");
                            let t = self.bind_expr(&ecx, other)?;
                            let t = if grouped {
                                let keys: Vec<HirScalarExpr> =
                                    group_keys.iter().map(|k| k.expr.clone()).collect();
                                rewrite_grouped(t.expr, &keys, input_arity, &from_scope)?
                            } else {
                                t.expr
                            };
                            let Some(pos) = outputs.iter().position(|(o, _)| o.expr == t) else {
                                return Err(PlanError::unsupported(
                                    "DISTINCT ON expressions that are not in the select list",
                                ));
                            };
                            pos
                        }
                    };
                    key_columns.push(column);
                }
                // ORDER BY must start with the DISTINCT ON expressions (in any order).
                let leading: Vec<usize> = order_keys
                    .iter()
                    .take(key_columns.len())
                    .map(|o| o.column)
                    .collect();
                if !order_keys.is_empty()
                    && (leading.len() < key_columns.len()
                        || !key_columns.iter().all(|k| leading.contains(k)))
                {
                    return Err(PlanError::InvalidColumnReference(
                        "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"
                            .into(),
                    ));
                }
                let within: Vec<ColumnOrder> = order_keys
                    .iter()
                    .skip(key_columns.len().min(order_keys.len()))
                    .cloned()
                    .collect();
                expr = HirRelationExpr::TopK {
                    input: Box::new(expr),
                    group_key: key_columns,
                    order_key: within,
                    limit: Some(1),
                    offset: 0,
                };
            }
        }
        Ok(SelectPlan {
            expr,
            scope: Scope::new(items),
            order_by: order_keys,
            visible,
        })
    }

    #[allow(clippy::type_complexity)]
    fn bind_select_list_having_order(
        &mut self,
        s: &ast::Select,
        order_by: &[&ast::OrderByExpr],
        from_scope: &Scope,
    ) -> Result<
        (
            Vec<(Typed, String)>,
            Option<HirScalarExpr>,
            Vec<OrderTarget>,
        ),
        PlanError,
    > {
        let ecx = ExprContext::new(from_scope, "SELECT")
            .with_aggregates()
            .with_windows();
        let mut outputs: Vec<(Typed, String)> = Vec::new();
        for item in &s.projection {
            match item {
                SelectItem::Wildcard(opts) => {
                    check_wildcard_options(opts)?;
                    if from_scope.is_empty() && s.from.is_empty() {
                        return Err(PlanError::Invalid(
                            "SELECT * with no tables specified is not valid".into(),
                        ));
                    }
                    for (i, it) in from_scope.items.iter().enumerate() {
                        if !it.hidden {
                            outputs.push((
                                Typed::new(HirScalarExpr::column(i), it.typ.clone()),
                                it.column.clone(),
                            ));
                        }
                    }
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    check_wildcard_options(opts)?;
                    let table = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(name) => {
                            normalize_name(name)?.last().cloned().unwrap_or_default()
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(_) => {
                            return Err(PlanError::unsupported("(expression).*"))
                        }
                    };
                    if !from_scope.has_table(&table) {
                        return Err(PlanError::UnknownRelationMessage(format!(
                            "missing FROM-clause entry for table \"{table}\""
                        )));
                    }
                    for (i, it) in from_scope.items.iter().enumerate() {
                        if it.table.as_deref() == Some(table.as_str()) && !it.hidden
                            || (it.table.as_deref() == Some(table.as_str()) && it.qualified_only)
                        {
                            outputs.push((
                                Typed::new(HirScalarExpr::column(i), it.typ.clone()),
                                it.column.clone(),
                            ));
                        }
                    }
                }
                SelectItem::UnnamedExpr(e) => {
                    let t = self.bind_expr(&ecx, e)?;
                    outputs.push((t, derive_name(e)));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let t = self.bind_expr(&ecx, expr)?;
                    outputs.push((t, normalize_ident(alias)));
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(PlanError::unsupported("multiple column aliases"))
                }
            }
        }
        let having = match &s.having {
            Some(h) => {
                let hcx = ExprContext::new(from_scope, "HAVING").with_aggregates();
                Some(self.bind_bool(&hcx, h, "HAVING")?)
            }
            None => None,
        };
        let mut orders = Vec::new();
        let ocx = ExprContext::new(from_scope, "ORDER BY")
            .with_aggregates()
            .with_windows();
        for o in order_by {
            let order = column_order(0, o);
            // An output ordinal or an output column name.
            if let Expr::Value(v) = &o.expr {
                if let Value::Number(n, _) = &v.value {
                    let pos: usize = n.parse().map_err(|_| {
                        PlanError::InvalidColumnReference("non-integer constant in ORDER BY".into())
                    })?;
                    if pos == 0 || pos > outputs.len() {
                        return Err(PlanError::InvalidColumnReference(format!(
                            "ORDER BY position {pos} is not in select list"
                        )));
                    }
                    orders.push(OrderTarget::Output(pos - 1, order));
                    continue;
                }
            }
            if let Expr::Identifier(i) = &o.expr {
                let name = normalize_ident(i);
                let matches: Vec<usize> = outputs
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, n))| *n == name)
                    .map(|(i, _)| i)
                    .collect();
                if matches.len() == 1 {
                    orders.push(OrderTarget::Output(matches[0], order));
                    continue;
                }
                if matches.len() > 1 && from_scope.resolve(None, &name)?.is_none() {
                    return Err(PlanError::AmbiguousColumn(name));
                }
            }
            let t = self.bind_expr(&ocx, &o.expr)?;
            orders.push(OrderTarget::Expr(t, order));
        }
        Ok((outputs, having, orders))
    }

    /// GROUP BY 1 and GROUP BY alias refer to select-list entries.
    fn resolve_group_by_ast(
        &self,
        e: &Expr,
        projection: &[SelectItem],
        from_scope: &Scope,
    ) -> Result<Expr, PlanError> {
        if let Expr::Value(v) = e {
            if let Value::Number(n, _) = &v.value {
                let pos: usize = n.parse().map_err(|_| {
                    PlanError::InvalidColumnReference("non-integer constant in GROUP BY".into())
                })?;
                let item = projection.get(pos.wrapping_sub(1)).ok_or_else(|| {
                    PlanError::InvalidColumnReference(format!(
                        "GROUP BY position {pos} is not in select list"
                    ))
                })?;
                return match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        Ok(e.clone())
                    }
                    _ => Err(PlanError::unsupported("GROUP BY position of *")),
                };
            }
        }
        if let Expr::Identifier(i) = e {
            let name = normalize_ident(i);
            if from_scope.resolve(None, &name)?.is_none() {
                for item in projection {
                    if let SelectItem::ExprWithAlias { expr, alias } = item {
                        if normalize_ident(alias) == name {
                            return Ok(expr.clone());
                        }
                    }
                }
            }
        }
        Ok(e.clone())
    }

    pub(crate) fn plan_from(
        &mut self,
        from: &[TableWithJoins],
    ) -> Result<(HirRelationExpr, Scope), PlanError> {
        let Some(first) = from.first() else {
            return Ok((HirRelationExpr::unit(), Scope::empty()));
        };
        let (mut rel, mut scope) = self.plan_table_with_joins(first, None)?;
        for twj in &from[1..] {
            let (r, s, lateral) = self.plan_table_with_joins_lateral(twj, &scope)?;
            rel = HirRelationExpr::Join {
                left: Box::new(rel),
                right: Box::new(r),
                on: HirScalarExpr::literal_true(),
                kind: JoinKind::Inner,
                lateral,
            };
            scope = scope.product(s);
        }
        Ok((rel, scope))
    }

    /// A comma-separated FROM item, which may refer to earlier items laterally.
    fn plan_table_with_joins_lateral(
        &mut self,
        twj: &TableWithJoins,
        left: &Scope,
    ) -> Result<(HirRelationExpr, Scope, bool), PlanError> {
        if twj.joins.is_empty() {
            return self.plan_table_factor(&twj.relation, Some(left));
        }
        let (rel, scope) = self.plan_table_with_joins(twj, None)?;
        Ok((rel, scope, false))
    }

    fn plan_table_with_joins(
        &mut self,
        twj: &TableWithJoins,
        lateral_left: Option<&Scope>,
    ) -> Result<(HirRelationExpr, Scope), PlanError> {
        let (mut rel, mut scope, _) = self.plan_table_factor(&twj.relation, lateral_left)?;
        for join in &twj.joins {
            if join.global {
                return Err(PlanError::unsupported("GLOBAL JOIN"));
            }
            let (kind, constraint) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, Some(c)),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => {
                    (JoinKind::LeftOuter, Some(c))
                }
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => {
                    (JoinKind::RightOuter, Some(c))
                }
                JoinOperator::FullOuter(c) => (JoinKind::FullOuter, Some(c)),
                JoinOperator::CrossJoin(c) => (JoinKind::Inner, Some(c)),
                other => {
                    return Err(PlanError::unsupported(
                        format!("join type {other:?}")
                            .split('(')
                            .next()
                            .unwrap_or("join")
                            .to_string(),
                    ))
                }
            };
            let (right, right_scope, lateral) =
                self.plan_table_factor(&join.relation, Some(&scope))?;
            if lateral && matches!(kind, JoinKind::RightOuter | JoinKind::FullOuter) {
                return Err(PlanError::Invalid(
                    "the combining JOIN type must be INNER or LEFT for a LATERAL reference".into(),
                ));
            }
            let left_len = scope.len();
            let product = scope.clone().product(right_scope.clone());
            match constraint {
                None | Some(JoinConstraint::None) => {
                    rel = HirRelationExpr::Join {
                        left: Box::new(rel),
                        right: Box::new(right),
                        on: HirScalarExpr::literal_true(),
                        kind,
                        lateral,
                    };
                    scope = product;
                }
                Some(JoinConstraint::On(on)) => {
                    let ecx = ExprContext::new(&product, "JOIN/ON");
                    let on = self.bind_bool(&ecx, on, "JOIN/ON")?;
                    rel = HirRelationExpr::Join {
                        left: Box::new(rel),
                        right: Box::new(right),
                        on,
                        kind,
                        lateral,
                    };
                    scope = product;
                }
                Some(JoinConstraint::Using(_))
                | Some(JoinConstraint::Natural)
                | Some(JoinConstraint::UsingAlias(..)) => {
                    let names: Vec<String> = match constraint {
                        Some(JoinConstraint::Using(cols))
                        | Some(JoinConstraint::UsingAlias(cols, _)) => cols
                            .iter()
                            .map(|c| {
                                normalize_name(c).map(|p| p.last().cloned().unwrap_or_default())
                            })
                            .collect::<Result<_, _>>()?,
                        _ => scope
                            .items
                            .iter()
                            .filter(|i| !i.hidden && !i.qualified_only)
                            .map(|i| i.column.clone())
                            .filter(|n| {
                                right_scope
                                    .items
                                    .iter()
                                    .any(|r| r.column == *n && !r.hidden)
                            })
                            .collect(),
                    };
                    let (r2, s2) = self.plan_using_join(
                        rel,
                        right,
                        kind,
                        lateral,
                        &scope,
                        &right_scope,
                        left_len,
                        &names,
                    )?;
                    rel = r2;
                    scope = s2;
                }
            }
        }
        Ok((rel, scope))
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_using_join(
        &mut self,
        left: HirRelationExpr,
        right: HirRelationExpr,
        kind: JoinKind,
        lateral: bool,
        left_scope: &Scope,
        right_scope: &Scope,
        left_len: usize,
        names: &[String],
    ) -> Result<(HirRelationExpr, Scope), PlanError> {
        let mut conjuncts = Vec::new();
        let mut coalesced = Vec::new();
        let mut key_items = Vec::new();
        let mut hide_left = Vec::new();
        let mut hide_right = Vec::new();
        for name in names {
            let l = left_scope
                .resolve(None, name)?
                .ok_or_else(|| {
                    PlanError::UnknownColumn(format!(
                        "{name}\" specified in USING clause does not exist in left table \""
                    ))
                })
                .map_err(|_| {
                    PlanError::UnknownColumn(format!(
                        "{name} (in USING, missing from the left table)"
                    ))
                })?;
            let r = right_scope.resolve(None, name)?.ok_or_else(|| {
                PlanError::UnknownColumn(format!("{name} (in USING, missing from the right table)"))
            })?;
            let lt = Typed::new(HirScalarExpr::column(l), left_scope.items[l].typ.clone());
            let rt = Typed::new(
                HirScalarExpr::column(left_len + r),
                right_scope.items[r].typ.clone(),
            );
            let t = common_type([lt.scalar_type(), rt.scalar_type()], "JOIN/USING")?;
            let le = coerce(lt, &t, CastContext::Implicit, &mut self.params)?;
            let re = coerce(rt, &t, CastContext::Implicit, &mut self.params)?;
            conjuncts.push(
                le.clone()
                    .call_binary(re.clone(), evert_expr::BinaryFunc::Eq),
            );
            coalesced.push(HirScalarExpr::CallVariadic {
                func: evert_expr::VariadicFunc::Coalesce,
                exprs: vec![le, re],
            });
            let nullable = match kind {
                JoinKind::Inner => {
                    left_scope.items[l].typ.nullable && right_scope.items[r].typ.nullable
                }
                _ => true,
            };
            key_items.push(ScopeItem::new(
                None,
                name.clone(),
                ColumnType::new(t, nullable),
            ));
            hide_left.push(l);
            hide_right.push(r);
        }
        let on = conjuncts
            .into_iter()
            .reduce(|a, b| a.and(b))
            .unwrap_or_else(HirScalarExpr::literal_true);
        let joined = HirRelationExpr::Join {
            left: Box::new(left),
            right: Box::new(right),
            on,
            kind,
            lateral,
        };
        let total = left_len + right_scope.len();
        let k = coalesced.len();
        let mut projection: Vec<usize> = (total..total + k).collect();
        projection.extend(0..total);
        let expr = joined.map(coalesced).project(projection);
        let mut items = key_items;
        for (i, item) in left_scope.items.iter().enumerate() {
            let mut item = item.clone();
            if hide_left.contains(&i) {
                item.qualified_only = true;
                item.hidden = true;
            }
            items.push(item);
        }
        for (i, item) in right_scope.items.iter().enumerate() {
            let mut item = item.clone();
            if hide_right.contains(&i) {
                item.qualified_only = true;
                item.hidden = true;
            }
            items.push(item);
        }
        Ok((expr, Scope::new(items)))
    }

    /// Plans one FROM item. `left` is the scope of the items before it, visible to LATERAL
    /// subqueries and table functions. Returns whether the item refers to `left`.
    fn plan_table_factor(
        &mut self,
        tf: &TableFactor,
        left: Option<&Scope>,
    ) -> Result<(HirRelationExpr, Scope, bool), PlanError> {
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                partitions,
                sample,
                with_ordinality,
                ..
            } => {
                if !with_hints.is_empty()
                    || version.is_some()
                    || !partitions.is_empty()
                    || sample.is_some()
                {
                    return Err(PlanError::unsupported(
                        "table hints, versions, partitions or samples",
                    ));
                }
                if let Some(args) = args {
                    let fname = function_name(name)?;
                    let exprs: Vec<&Expr> = args
                        .args
                        .iter()
                        .map(|a| match a {
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                            other => Err(PlanError::unsupported(format!(
                                "table function argument {other}"
                            ))),
                        })
                        .collect::<Result<_, _>>()?;
                    return self.plan_table_function(
                        &fname,
                        &exprs,
                        alias.as_ref(),
                        left,
                        *with_ordinality,
                    );
                }
                let parts = normalize_name(name)?;
                let (rel, scope) = self.plan_relation_name(&parts, alias.as_ref())?;
                Ok((rel, scope, false))
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    return Err(PlanError::unsupported("TABLESAMPLE"));
                }
                let (rel, scope) = match (lateral, left) {
                    (true, Some(l)) => {
                        self.with_outer(l.clone(), |b| Ok(b.plan_query(subquery)?.into_subquery()))?
                    }
                    _ => self.plan_query(subquery)?.into_subquery(),
                };
                let lateral_scope = *lateral && left.is_some();
                let refers_left =
                    lateral_scope && rel.outer_references().iter().any(|r| r.level == 1);
                let mut rel = rel;
                if lateral_scope && !refers_left {
                    drop_left_level(&mut rel);
                }
                let scope = apply_alias(scope, alias.as_ref(), None)?;
                Ok((rel, scope, refers_left))
            }
            TableFactor::Function {
                lateral: _,
                name,
                args,
                alias,
                with_ordinality,
            } => {
                let fname = function_name(name)?;
                let exprs: Vec<&Expr> = args
                    .iter()
                    .map(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                        other => Err(PlanError::unsupported(format!(
                            "table function argument {other}"
                        ))),
                    })
                    .collect::<Result<_, _>>()?;
                self.plan_table_function(&fname, &exprs, alias.as_ref(), left, *with_ordinality)
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset,
                with_ordinality,
                ..
            } => {
                if *with_offset || array_exprs.len() != 1 {
                    return Err(PlanError::unsupported(
                        "UNNEST of several arrays or WITH OFFSET",
                    ));
                }
                let exprs: Vec<&Expr> = array_exprs.iter().collect();
                self.plan_table_function("unnest", &exprs, alias.as_ref(), left, *with_ordinality)
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let (rel, scope) = self.plan_table_with_joins(table_with_joins, None)?;
                let scope = match alias {
                    Some(a) => apply_alias(scope, Some(a), None)?,
                    None => scope,
                };
                Ok((rel, scope, false))
            }
            other => Err(PlanError::unsupported(format!("FROM item {other}"))),
        }
    }

    fn plan_table_function(
        &mut self,
        name: &str,
        args: &[&Expr],
        alias: Option<&ast::TableAlias>,
        left: Option<&Scope>,
        with_ordinality: bool,
    ) -> Result<(HirRelationExpr, Scope, bool), PlanError> {
        if with_ordinality {
            return Err(PlanError::unsupported("WITH ORDINALITY"));
        }
        if !table_function(name) {
            if super::func::is_aggregate(name) {
                return Err(PlanError::unsupported(format!(
                    "aggregate function {name} in FROM"
                )));
            }
            // A scalar function in FROM yields one row with one column.
            let left_scope = left.cloned().unwrap_or_default();
            let (call, typ) = self.with_outer(left_scope, |b| {
                let empty = Scope::empty();
                let ecx = ExprContext::new(&empty, "FROM");
                let bound: Vec<super::typeconv::Typed> = args
                    .iter()
                    .map(|a| b.bind_expr(&ecx, a))
                    .collect::<Result<_, _>>()?;
                let t = b.call_function_typed(name, bound)?;
                Ok((t.expr, t.typ))
            })?;
            let mut rel = HirRelationExpr::unit().map(vec![call]);
            let refers_left = left.is_some() && rel.outer_references().iter().any(|r| r.level == 1);
            if !refers_left {
                drop_left_level(&mut rel);
            }
            let scope = Scope::new(vec![ScopeItem::new(None, name.to_string(), typ)]);
            let scope = apply_alias(scope, alias, Some(name))?;
            return Ok((rel, scope, refers_left));
        }
        // Table functions may refer to earlier FROM items (they are implicitly lateral).
        let left_scope = left.cloned().unwrap_or_default();
        let (func, exprs) = self.with_outer(left_scope, |b| {
            let empty = Scope::empty();
            let ecx = ExprContext::new(&empty, "FROM");
            let bound: Vec<super::typeconv::Typed> = args
                .iter()
                .map(|a| b.bind_expr(&ecx, a))
                .collect::<Result<_, _>>()?;
            b.table_function_call(name, bound)
        })?;
        let typ = func.output_type();
        let names = func.column_names(name);
        let mut rel = HirRelationExpr::CallTable { func, exprs };
        let refers_left = left.is_some() && rel.outer_references().iter().any(|r| r.level == 1);
        if !refers_left {
            drop_left_level(&mut rel);
        }
        let scope = Scope::new(
            names
                .into_iter()
                .zip(typ.column_types)
                .map(|(n, t)| ScopeItem::new(None, n, t))
                .collect(),
        );
        let scope = apply_alias(scope, alias, Some(name))?;
        Ok((rel, scope, refers_left))
    }

    /// A named relation: a CTE in scope, or a catalog relation.
    pub(crate) fn plan_relation_name(
        &mut self,
        parts: &[String],
        alias: Option<&ast::TableAlias>,
    ) -> Result<(HirRelationExpr, Scope), PlanError> {
        if parts.len() == 1 {
            if let Some((_, id, desc)) = self.ctes.iter().rev().find(|(n, _, _)| *n == parts[0]) {
                let scope = Scope::new(
                    desc.iter()
                        .map(|(n, t)| ScopeItem::new(Some(parts[0].clone()), n.clone(), t.clone()))
                        .collect(),
                );
                let rel = HirRelationExpr::Get {
                    id: Id::Local(*id),
                    typ: desc.typ.clone(),
                };
                return Ok((rel, apply_alias(scope, alias, None)?));
            }
        }
        let parts: Vec<String> = match parts.len() {
            3 => {
                // database.schema.name: the database must be ours.
                parts[1..].to_vec()
            }
            _ => parts.to_vec(),
        };
        let relation = self
            .catalog
            .resolve_relation(&parts)
            .ok_or_else(|| PlanError::UnknownRelation(parts.join(".")))?;
        let table_name = relation.name.clone();
        let scope = Scope::new(
            relation
                .desc
                .iter()
                .map(|(n, t)| ScopeItem::new(Some(table_name.clone()), n.clone(), t.clone()))
                .collect(),
        );
        let rel = HirRelationExpr::Get {
            id: Id::Global(relation.id),
            typ: relation.desc.typ.clone(),
        };
        Ok((rel, apply_alias(scope, alias, None)?))
    }
}

/// A FROM item planned with the items to its left as an extra outer scope (level 1) that
/// turned out not to use them: it is joined without LATERAL, so references to the enclosing
/// queries move one level closer. (The scope is pushed even when there are no items to the
/// left, so this also applies then.)
fn drop_left_level(rel: &mut HirRelationExpr) {
    rel.visit_columns_mut(0, &mut |c, depth| {
        if c.level >= depth + 2 {
            c.level -= 1;
        }
    });
}

pub(crate) enum CteBinding {
    Plain(evert_expr::LocalId, HirRelationExpr),
    Recursive(
        Vec<(evert_expr::LocalId, HirRelationExpr, RelationType)>,
        Option<evert_expr::LetRecLimit>,
    ),
}

/// An ORDER BY key: an output column, or an expression over the input.
pub(crate) enum OrderTarget {
    Output(usize, ColumnOrder),
    Expr(Typed, ColumnOrder),
}

fn column_order(column: usize, o: &ast::OrderByExpr) -> ColumnOrder {
    let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
    // PostgreSQL: NULLS LAST for ascending, NULLS FIRST for descending, unless stated.
    let nulls_last = o.options.nulls_first.map(|first| !first).unwrap_or(!desc);
    ColumnOrder {
        column,
        desc,
        nulls_last,
    }
}

fn check_wildcard_options(opts: &ast::WildcardAdditionalOptions) -> Result<(), PlanError> {
    if opts.opt_ilike.is_some()
        || opts.opt_exclude.is_some()
        || opts.opt_except.is_some()
        || opts.opt_replace.is_some()
        || opts.opt_rename.is_some()
    {
        return Err(PlanError::unsupported("SELECT * with modifiers"));
    }
    Ok(())
}

/// Renames a FROM item's columns after its alias: `t AS x (a, b)`.
fn apply_alias(
    scope: Scope,
    alias: Option<&ast::TableAlias>,
    function: Option<&str>,
) -> Result<Scope, PlanError> {
    let Some(alias) = alias else {
        return Ok(match function {
            Some(f) => scope.with_table(Some(f.to_string())),
            None => scope,
        });
    };
    let table = normalize_ident(&alias.name);
    let mut scope = scope.with_table(Some(table.clone()));
    let visible: Vec<usize> = scope
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| !i.hidden)
        .map(|(i, _)| i)
        .collect();
    if alias.columns.len() > visible.len() {
        return Err(PlanError::Invalid(format!(
            "table \"{table}\" has {} columns available but {} columns specified",
            visible.len(),
            alias.columns.len()
        )));
    }
    // A function returning one unnamed column (named after the function, as
    // `generate_series` or `upper`) takes the alias as its column name; a named output
    // column (`jsonb_array_elements`'s `value`) keeps its name, as in PostgreSQL.
    if alias.columns.is_empty()
        && visible.len() == 1
        && function.is_some_and(|f| scope.items[visible[0]].column == f)
    {
        scope.items[visible[0]].column = table;
    }
    for (i, c) in alias.columns.iter().enumerate() {
        scope.items[visible[i]].column = normalize_ident(&c.name);
    }
    Ok(scope)
}

/// Rewrites an expression bound against a grouped query's input to refer to the Reduce's
/// output: group key expressions become key columns, aggregate placeholders become aggregate
/// columns, and any other reference to an input column is an error.
fn rewrite_grouped(
    e: HirScalarExpr,
    keys: &[HirScalarExpr],
    input_arity: usize,
    from_scope: &Scope,
) -> Result<HirScalarExpr, PlanError> {
    if let Some(k) = keys.iter().position(|key| *key == e) {
        return Ok(HirScalarExpr::column(k));
    }
    match e {
        HirScalarExpr::Column(ColumnRef { level: 0, column }) => {
            if column >= input_arity {
                Ok(HirScalarExpr::column(keys.len() + column - input_arity))
            } else {
                let item = &from_scope.items[column];
                let name = match &item.table {
                    Some(t) => format!("{t}.{}", item.column),
                    None => item.column.clone(),
                };
                Err(PlanError::Grouping(format!(
                    "column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
                )))
            }
        }
        HirScalarExpr::Exists(mut rel) => {
            rewrite_grouped_relation(&mut rel, keys, input_arity, from_scope)?;
            Ok(HirScalarExpr::Exists(rel))
        }
        HirScalarExpr::Select(mut rel) => {
            rewrite_grouped_relation(&mut rel, keys, input_arity, from_scope)?;
            Ok(HirScalarExpr::Select(rel))
        }
        mut other => {
            let mut error = None;
            other.visit_children_mut(|child| {
                if error.is_some() {
                    return;
                }
                let taken = std::mem::replace(child, HirScalarExpr::literal_true());
                match rewrite_grouped(taken, keys, input_arity, from_scope) {
                    Ok(r) => *child = r,
                    Err(e) => error = Some(e),
                }
            });
            match error {
                Some(e) => Err(e),
                None => Ok(other),
            }
        }
    }
}

/// Correlated references from a subquery into a grouped query must be to group keys.
fn rewrite_grouped_relation(
    rel: &mut HirRelationExpr,
    keys: &[HirScalarExpr],
    input_arity: usize,
    from_scope: &Scope,
) -> Result<(), PlanError> {
    let mut error = None;
    rel.visit_columns_mut(0, &mut |c, depth| {
        if c.level == depth + 1 {
            let as_key = keys
                .iter()
                .position(|k| *k == HirScalarExpr::column(c.column));
            match as_key {
                Some(k) => c.column = k,
                None if c.column >= input_arity => c.column = keys.len() + c.column - input_arity,
                None => {
                    if error.is_none() {
                        let item = &from_scope.items[c.column];
                        error = Some(PlanError::Grouping(format!(
                            "subquery uses ungrouped column \"{}\" from outer query",
                            item.column
                        )));
                    }
                }
            }
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The grouped relation of `GROUP BY GROUPING SETS (…)` (and ROLLUP, CUBE): one Reduce per
/// grouping set, each padded to every key (NULL for the keys not in its set) and tagged with
/// its set's index, all unioned. Its columns are the keys, the aggregates and the set index.
/// Each Reduce keeps its own state (memory proportional to its groups), and an input change
/// updates one group in each set.
fn grouping_sets_union(
    input: HirRelationExpr,
    sets: &[Vec<usize>],
    key_columns: &[usize],
    group_keys: &[Typed],
    frame: &AggregateFrame,
) -> HirRelationExpr {
    let n_keys = group_keys.len();
    let n_aggs = frame.aggregates.len();
    let mut branches = sets.iter().enumerate().map(|(index, set)| {
        let reduced = HirRelationExpr::Reduce {
            input: Box::new(input.clone()),
            group_key: set.iter().map(|i| key_columns[*i]).collect(),
            aggregates: frame.aggregates.clone(),
        };
        let width = set.len() + n_aggs;
        let mut scalars: Vec<HirScalarExpr> = (0..n_keys)
            .map(|k| match set.iter().position(|i| *i == k) {
                Some(p) => HirScalarExpr::column(p),
                None => HirScalarExpr::literal_null(group_keys[k].typ.scalar_type.clone()),
            })
            .collect();
        scalars.extend((0..n_aggs).map(|a| HirScalarExpr::column(set.len() + a)));
        scalars.push(HirScalarExpr::literal(
            Datum::Int32(index as i32),
            ScalarType::Int32,
        ));
        let n = scalars.len();
        reduced.map(scalars).project((width..width + n).collect())
    });
    let base = branches.next().expect("at least one grouping set");
    let rest: Vec<HirRelationExpr> = branches.collect();
    if rest.is_empty() {
        base
    } else {
        HirRelationExpr::Union {
            base: Box::new(base),
            inputs: rest,
        }
    }
}

/// The value of each `GROUPING(…)` call of `frame` in each grouping set.
fn grouping_values(
    frame: &AggregateFrame,
    keys: &[HirScalarExpr],
    first_equal: &[usize],
    sets: &[Vec<usize>],
) -> Result<Vec<Vec<i32>>, PlanError> {
    frame
        .groupings
        .iter()
        .map(|args| {
            let positions = args
                .iter()
                .map(|a| {
                    keys.iter().position(|k| k == a).map(|p| first_equal[p]).ok_or_else(|| {
                        PlanError::Grouping(
                            "arguments to GROUPING must be grouping expressions of the associated query level".into(),
                        )
                    })
                })
                .collect::<Result<Vec<usize>, PlanError>>()?;
            Ok(sets
                .iter()
                .map(|set| {
                    positions.iter().fold(0i32, |bits, p| {
                        (bits << 1) | i32::from(!set.contains(p))
                    })
                })
                .collect())
        })
        .collect()
}

/// Replaces the placeholders of `GROUPING(…)` calls (after `rewrite_grouped`, at
/// `n_keys + GROUPING_PLACEHOLDER + g`) with their value in the row's grouping set, read
/// from the grouped relation's set index column.
fn replace_groupings(
    mut e: HirScalarExpr,
    n_keys: usize,
    set_column: usize,
    groupings: &[Vec<i32>],
) -> HirScalarExpr {
    if groupings.is_empty() {
        return e;
    }
    let base = n_keys + super::GROUPING_PLACEHOLDER;
    e.visit_post_mut(&mut |s| {
        if let HirScalarExpr::Column(ColumnRef { level: 0, column }) = s {
            if *column >= base {
                *s = grouping_case(&groupings[*column - base], set_column);
            }
        }
    });
    e
}

/// `CASE set WHEN 0 THEN values[0] WHEN 1 THEN … END`, or the value itself when every set
/// has the same.
fn grouping_case(values: &[i32], set_column: usize) -> HirScalarExpr {
    let literal = |v: i32| HirScalarExpr::literal(Datum::Int32(v), ScalarType::Int32);
    let last = *values.last().expect("at least one grouping set");
    if values.iter().all(|v| *v == last) {
        return literal(last);
    }
    let mut expr = literal(last);
    for (index, value) in values.iter().enumerate().rev().skip(1) {
        let is_set = HirScalarExpr::column(set_column).call_binary(
            HirScalarExpr::literal(Datum::Int32(index as i32), ScalarType::Int32),
            evert_expr::BinaryFunc::Eq,
        );
        expr = HirScalarExpr::if_then_else(is_set, literal(*value), expr);
    }
    expr
}

impl Binder<'_> {
    /// The distinct GROUP BY expressions, and the grouping sets over them (as indexes) when
    /// the clause has GROUPING SETS, ROLLUP or CUBE: the cross product of each item's sets,
    /// as in PostgreSQL (`GROUP BY a, ROLLUP (b, c)` is `(a, b, c), (a, b), (a)`).
    fn resolve_grouping_sets(
        &mut self,
        items: &[Expr],
        projection: &[ast::SelectItem],
        from_scope: &Scope,
    ) -> Result<(Vec<Expr>, Option<Vec<Vec<usize>>>), PlanError> {
        let mut keys: Vec<Expr> = Vec::new();
        let mut sets: Vec<Vec<usize>> = vec![vec![]];
        let mut has_sets = false;
        let index_of = |b: &mut Self, e: &Expr, keys: &mut Vec<Expr>| -> Result<usize, PlanError> {
            if matches!(e, Expr::GroupingSets(_) | Expr::Rollup(_) | Expr::Cube(_)) {
                return Err(PlanError::unsupported(
                    "nested GROUPING SETS, ROLLUP and CUBE",
                ));
            }
            let resolved = b.resolve_group_by_ast(e, projection, from_scope)?;
            Ok(match keys.iter().position(|k| *k == resolved) {
                Some(i) => i,
                None => {
                    keys.push(resolved);
                    keys.len() - 1
                }
            })
        };
        for item in items {
            let lists = |b: &mut Self, lists: &[Vec<Expr>], keys: &mut Vec<Expr>| {
                lists
                    .iter()
                    .map(|list| {
                        list.iter()
                            .map(|e| index_of(b, e, keys))
                            .collect::<Result<Vec<usize>, PlanError>>()
                    })
                    .collect::<Result<Vec<Vec<usize>>, PlanError>>()
            };
            let item_sets: Vec<Vec<usize>> = match item {
                Expr::Rollup(elements) => {
                    has_sets = true;
                    let elements = lists(self, elements, &mut keys)?;
                    (0..=elements.len())
                        .rev()
                        .map(|n| elements[..n].concat())
                        .collect()
                }
                Expr::Cube(elements) => {
                    has_sets = true;
                    let elements = lists(self, elements, &mut keys)?;
                    if elements.len() > 12 {
                        return Err(PlanError::unsupported("CUBE of more than 12 elements"));
                    }
                    let n = elements.len();
                    (0..1usize << n)
                        .rev()
                        .map(|mask| {
                            (0..n)
                                .filter(|i| mask & (1 << (n - 1 - i)) != 0)
                                .flat_map(|i| elements[i].clone())
                                .collect()
                        })
                        .collect()
                }
                Expr::GroupingSets(elements) => {
                    has_sets = true;
                    lists(self, elements, &mut keys)?
                }
                other => vec![vec![index_of(self, other, &mut keys)?]],
            };
            sets = sets
                .iter()
                .flat_map(|set| {
                    item_sets.iter().map(move |more| {
                        let mut s = set.clone();
                        s.extend(more.iter().copied());
                        s
                    })
                })
                .collect();
            if sets.len() > 4096 {
                return Err(PlanError::unsupported("more than 4096 grouping sets"));
            }
        }
        Ok((keys, has_sets.then_some(sets)))
    }
}
