//! Planning statements that carry expressions: queries, INSERT/UPDATE/DELETE, CREATE TABLE,
//! CREATE [MATERIALIZED] VIEW and CREATE INDEX. Statements that only name catalog objects
//! (DROP, SHOW, SET) are planned by the adapter, which owns the catalog.

use evert_expr::{MirRelationExpr, MirScalarExpr, UnaryFunc};
use evert_repr::{ColumnType, GlobalId, RelationDesc, Row, ScalarType};
use sqlparser::ast::{self, Expr, SetExpr};

use super::expr::{scalar_type_from_sql, ExprContext};
use super::lowering::{lower, lower_scalar_over};
use super::query::{derive_name, Finishing};
use super::scope::{Scope, ScopeItem};
use super::typeconv::{coerce, CastContext, ParamTypes, Typed};
use super::{Binder, QueryLifetime};
use crate::catalog::{CatalogRelation, RelationKind, SessionCatalog};
use crate::error::PlanError;
use crate::hir::{HirRelationExpr, HirScalarExpr};
use crate::parse::{normalize_ident, normalize_name};

/// A planned query: MIR (not yet optimized), the shape of its result, and what to do with
/// the rows at the end.
#[derive(Clone, Debug)]
pub struct QueryPlan {
    pub expr: MirRelationExpr,
    pub desc: RelationDesc,
    pub finishing: Finishing,
    pub uses_unmaterializable: bool,
    pub param_types: Vec<ScalarType>,
}

/// Plans a one-off SELECT.
pub fn plan_select(
    catalog: &dyn SessionCatalog,
    query: &ast::Query,
    params: ParamTypes,
    values: Option<Vec<(Row, ScalarType)>>,
) -> Result<QueryPlan, PlanError> {
    let mut binder = Binder::new(catalog, QueryLifetime::OneShot).with_params(params, values);
    let planned = binder.plan_query(query)?;
    let expr = lower(planned.expr)?;
    Ok(QueryPlan {
        expr,
        desc: planned.desc,
        finishing: planned.finishing,
        uses_unmaterializable: binder.uses_unmaterializable,
        param_types: binder.param_types(0),
    })
}

/// Plans the query of a view or subscription: ORDER BY without LIMIT is dropped, LIMIT and
/// OFFSET become a TopK.
pub fn plan_maintained_query(
    catalog: &dyn SessionCatalog,
    query: &ast::Query,
    lifetime: QueryLifetime,
) -> Result<(MirRelationExpr, RelationDesc, bool), PlanError> {
    let mut binder = Binder::new(catalog, lifetime);
    let planned = binder.plan_query(query)?;
    let desc = planned.desc.clone();
    let (hir, _) = planned.into_subquery();
    let expr = lower(hir)?;
    Ok((expr, desc, binder.uses_unmaterializable))
}

#[derive(Clone, Debug)]
pub struct InsertPlan {
    pub table: GlobalId,
    pub table_name: String,
    /// The rows to insert, in the table's column order.
    pub values: MirRelationExpr,
    /// RETURNING expressions over the inserted rows, and their shape.
    pub returning: Option<(Vec<MirScalarExpr>, RelationDesc)>,
    pub param_types: Vec<ScalarType>,
}

#[derive(Clone, Debug)]
pub struct UpdatePlan {
    pub table: GlobalId,
    pub table_name: String,
    /// Rows `(old columns ++ new columns)` for every row the UPDATE changes.
    pub changes: MirRelationExpr,
    pub returning: Option<(Vec<MirScalarExpr>, RelationDesc)>,
    pub param_types: Vec<ScalarType>,
}

#[derive(Clone, Debug)]
pub struct DeletePlan {
    pub table: GlobalId,
    pub table_name: String,
    /// The rows to delete.
    pub selection: MirRelationExpr,
    pub returning: Option<(Vec<MirScalarExpr>, RelationDesc)>,
    pub param_types: Vec<ScalarType>,
}

fn writable_table(
    catalog: &dyn SessionCatalog,
    name: &ast::ObjectName,
) -> Result<CatalogRelation, PlanError> {
    let parts = normalize_name(name)?;
    let relation = catalog
        .resolve_relation(&parts)
        .ok_or_else(|| PlanError::UnknownRelation(parts.join(".")))?;
    match relation.kind {
        RelationKind::Table => Ok(relation),
        RelationKind::MaterializedView => Err(PlanError::WrongObjectType(format!(
            "cannot change materialized view \"{}\"",
            relation.name
        ))),
        RelationKind::View => Err(PlanError::WrongObjectType(format!(
            "cannot change view \"{}\"",
            relation.name
        ))),
        RelationKind::Source => Err(PlanError::WrongObjectType(format!(
            "cannot change source \"{}\"",
            relation.name
        ))),
        RelationKind::System => Err(PlanError::WrongObjectType(format!(
            "cannot change system relation \"{}\"",
            relation.name
        ))),
    }
}

fn table_scope(relation: &CatalogRelation, alias: Option<&str>) -> Scope {
    let table = alias.unwrap_or(&relation.name).to_string();
    Scope::new(
        relation
            .desc
            .iter()
            .map(|(n, t)| ScopeItem::new(Some(table.clone()), n.clone(), t.clone()))
            .collect(),
    )
}

/// Binds a column's DEFAULT expression (or NULL) as the column's type.
fn default_expr(
    binder: &mut Binder,
    relation: &CatalogRelation,
    column: usize,
) -> Result<HirScalarExpr, PlanError> {
    let typ = relation.desc.typ.column_types[column].scalar_type.clone();
    match relation.defaults.get(column).and_then(|d| d.as_ref()) {
        Some(sql) => {
            let expr = parse_expr(sql)?;
            let empty = Scope::empty();
            let ecx = ExprContext {
                allow_subqueries: false,
                ..ExprContext::new(&empty, "DEFAULT")
            };
            binder.bind_expr_as(&ecx, &expr, &typ, CastContext::Assignment)
        }
        None => Ok(HirScalarExpr::literal_null(typ)),
    }
}

/// Parses a standalone expression (stored DEFAULT and CHECK text).
pub fn parse_expr(sql: &str) -> Result<Expr, PlanError> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut parser = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| PlanError::Invalid(format!("invalid expression {sql:?}: {e}")))?;
    parser
        .parse_expr()
        .map_err(|e| PlanError::Invalid(format!("invalid expression {sql:?}: {e}")))
}

fn plan_returning(
    binder: &mut Binder,
    relation: &CatalogRelation,
    items: &Option<Vec<ast::SelectItem>>,
) -> Result<Option<(Vec<MirScalarExpr>, RelationDesc)>, PlanError> {
    let Some(items) = items else { return Ok(None) };
    let scope = table_scope(relation, None);
    let ecx = ExprContext {
        allow_subqueries: false,
        ..ExprContext::new(&scope, "RETURNING")
    };
    let mut exprs = Vec::new();
    let mut desc = RelationDesc::empty();
    for item in items {
        match item {
            ast::SelectItem::Wildcard(_) => {
                for (i, (n, t)) in relation.desc.iter().enumerate() {
                    exprs.push(MirScalarExpr::Column(i));
                    desc = desc.with_column(n.clone(), t.clone());
                }
            }
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                let t = binder.bind_expr(&ecx, e)?;
                let name = match item {
                    ast::SelectItem::ExprWithAlias { alias, .. } => normalize_ident(alias),
                    _ => derive_name(e),
                };
                exprs.push(lower_scalar_over(&t.expr, relation.desc.arity())?);
                desc = desc.with_column(name, t.typ);
            }
            other => return Err(PlanError::unsupported(format!("RETURNING {other}"))),
        }
    }
    Ok(Some((exprs, desc)))
}

pub fn plan_insert(
    catalog: &dyn SessionCatalog,
    insert: &ast::Insert,
    params: ParamTypes,
    values: Option<Vec<(Row, ScalarType)>>,
) -> Result<InsertPlan, PlanError> {
    if insert.on.is_some() {
        return Err(PlanError::unsupported("INSERT ... ON CONFLICT"));
    }
    if insert.overwrite
        || insert.partitioned.is_some()
        || !insert.after_columns.is_empty()
        || insert.or.is_some()
        || insert.ignore
    {
        return Err(PlanError::unsupported("this INSERT form"));
    }
    let table_name = match &insert.table {
        ast::TableObject::TableName(name) => name.clone(),
        other => return Err(PlanError::unsupported(format!("INSERT INTO {other}"))),
    };
    let relation = writable_table(catalog, &table_name)?;
    let mut binder = Binder::new(catalog, QueryLifetime::OneShot).with_params(params, values);
    let arity = relation.desc.arity();
    // Target columns.
    let targets: Vec<usize> = if insert.columns.is_empty() {
        (0..arity).collect()
    } else {
        let mut targets = Vec::new();
        for c in &insert.columns {
            let name = normalize_name(c)?.last().cloned().unwrap_or_default();
            let index = relation.desc.column_index(&name).ok_or_else(|| {
                PlanError::UnknownColumn(format!("{name}\" of relation \"{}", relation.name))
                    .with_column_message(&name, &relation.name)
            })?;
            if targets.contains(&index) {
                return Err(PlanError::DuplicateColumn(format!(
                    "column \"{name}\" specified more than once"
                )));
            }
            targets.push(index);
        }
        targets
    };
    let target_types: Vec<ScalarType> = targets
        .iter()
        .map(|i| relation.desc.typ.column_types[*i].scalar_type.clone())
        .collect();

    // The source rows, one column per target, already of the target types.
    let source: HirRelationExpr = match &insert.source {
        None => HirRelationExpr::unit().map(vec![]),
        Some(query) => match query.body.as_ref() {
            SetExpr::Values(v)
                if query.order_by.is_none()
                    && query.limit_clause.is_none()
                    && query.with.is_none() =>
            {
                let empty = Scope::empty();
                let ecx = ExprContext::new(&empty, "VALUES");
                let mut rows = Vec::with_capacity(v.rows.len());
                // Without a column list, fewer values than columns fill the leading columns.
                let width = v.rows.first().map(|r| r.content.len()).unwrap_or(0);
                for row in &v.rows {
                    if row.content.len() > targets.len() {
                        return Err(PlanError::Invalid(
                            "INSERT has more expressions than target columns".into(),
                        ));
                    }
                    if row.content.len() < targets.len() && !insert.columns.is_empty() {
                        return Err(PlanError::Invalid(
                            "INSERT has more target columns than expressions".into(),
                        ));
                    }
                    if row.content.len() != width {
                        return Err(PlanError::Invalid(
                            "VALUES lists must all be the same length".into(),
                        ));
                    }
                    let mut exprs = Vec::with_capacity(targets.len());
                    for (i, e) in row.content.iter().enumerate() {
                        let is_default = matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"));
                        let bound = if is_default {
                            default_expr(&mut binder, &relation, targets[i])?
                        } else {
                            let t = binder.bind_expr(&ecx, e)?;
                            coerce(
                                t,
                                &target_types[i],
                                CastContext::Assignment,
                                &mut binder.params,
                            )
                            .map_err(|err| assignment_error(err, &relation, targets[i]))?
                        };
                        exprs.push(bound);
                    }
                    rows.push(HirRelationExpr::unit().map(exprs));
                }
                let first = rows.remove(0);
                if rows.is_empty() {
                    first
                } else {
                    HirRelationExpr::Union {
                        base: Box::new(first),
                        inputs: rows,
                    }
                }
            }
            _ => {
                let planned = binder.plan_query(query)?;
                let scope = planned.scope.clone();
                let (rel, _) = planned.into_subquery();
                if scope.len() > targets.len() {
                    return Err(PlanError::Invalid(
                        "INSERT has more expressions than target columns".into(),
                    ));
                }
                if scope.len() < targets.len() && !insert.columns.is_empty() {
                    return Err(PlanError::Invalid(
                        "INSERT has more target columns than expressions".into(),
                    ));
                }
                let mut casts = Vec::with_capacity(scope.len());
                for (i, item) in scope.items.iter().enumerate() {
                    let t = Typed::new(HirScalarExpr::column(i), item.typ.clone());
                    casts.push(
                        coerce(
                            t,
                            &target_types[i],
                            CastContext::Assignment,
                            &mut binder.params,
                        )
                        .map_err(|err| assignment_error(err, &relation, targets[i]))?,
                    );
                }
                let n = scope.len();
                rel.map(casts).project((n..2 * n).collect())
            }
        },
    };
    let provided = match &insert.source {
        None => 0,
        Some(_) => hir_width(&source),
    };
    // Reorder into table columns, filling the others with their defaults.
    let mut fill = Vec::with_capacity(arity);
    for column in 0..arity {
        match targets.iter().position(|t| *t == column) {
            Some(i) if i < provided => fill.push(HirScalarExpr::column(i)),
            _ => fill.push(default_expr(&mut binder, &relation, column)?),
        }
    }
    let rows = source
        .map(fill)
        .project((provided..provided + arity).collect());
    let returning = plan_returning(&mut binder, &relation, &insert.returning)?;
    Ok(InsertPlan {
        table: relation.id,
        table_name: relation.name.clone(),
        values: lower(rows)?,
        returning,
        param_types: binder.param_types(0),
    })
}

fn hir_width(rel: &HirRelationExpr) -> usize {
    super::lowering::hir_arity(rel)
}

fn assignment_error(err: PlanError, relation: &CatalogRelation, column: usize) -> PlanError {
    match err {
        PlanError::DatatypeMismatch(_) => {
            let (name, typ) = relation.desc.iter().nth(column).expect("column exists");
            PlanError::DatatypeMismatch(format!(
                "column \"{name}\" is of type {} but expression is of another type that cannot be assigned to it",
                typ.scalar_type.pg_name()
            ))
        }
        other => other,
    }
}

pub fn plan_update(
    catalog: &dyn SessionCatalog,
    update: &ast::Update,
    params: ParamTypes,
    values: Option<Vec<(Row, ScalarType)>>,
) -> Result<UpdatePlan, PlanError> {
    if update.from.is_some() {
        return Err(PlanError::unsupported("UPDATE ... FROM"));
    }
    if !update.table.joins.is_empty() {
        return Err(PlanError::unsupported("UPDATE of a join"));
    }
    let (name, alias) = match &update.table.relation {
        ast::TableFactor::Table { name, alias, .. } => (
            name.clone(),
            alias.as_ref().map(|a| normalize_ident(&a.name)),
        ),
        other => return Err(PlanError::unsupported(format!("UPDATE of {other}"))),
    };
    let relation = writable_table(catalog, &name)?;
    let mut binder = Binder::new(catalog, QueryLifetime::OneShot).with_params(params, values);
    let scope = table_scope(&relation, alias.as_deref());
    let arity = relation.desc.arity();
    let mut new_values: Vec<HirScalarExpr> = (0..arity).map(HirScalarExpr::column).collect();
    let mut assigned = Vec::new();
    {
        let ecx = ExprContext::new(&scope, "UPDATE");
        for a in &update.assignments {
            let column_name = match &a.target {
                ast::AssignmentTarget::ColumnName(c) => {
                    normalize_name(c)?.last().cloned().unwrap_or_default()
                }
                ast::AssignmentTarget::Tuple(_) => {
                    return Err(PlanError::unsupported("UPDATE with a tuple of columns"))
                }
            };
            let index = relation.desc.column_index(&column_name).ok_or_else(|| {
                PlanError::UnknownColumn(column_name.clone())
                    .with_column_message(&column_name, &relation.name)
            })?;
            if assigned.contains(&index) {
                return Err(PlanError::Invalid(format!(
                    "multiple assignments to same column \"{column_name}\""
                )));
            }
            assigned.push(index);
            let typ = relation.desc.typ.column_types[index].scalar_type.clone();
            let is_default = matches!(&a.value, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"));
            new_values[index] = if is_default {
                default_expr(&mut binder, &relation, index)?
            } else {
                let t = binder.bind_expr(&ecx, &a.value)?;
                coerce(t, &typ, CastContext::Assignment, &mut binder.params)
                    .map_err(|err| assignment_error(err, &relation, index))?
            };
        }
    }
    let mut rel = HirRelationExpr::Get {
        id: evert_expr::Id::Global(relation.id),
        typ: relation.desc.typ.clone(),
    };
    if let Some(selection) = &update.selection {
        let ecx = ExprContext::new(&scope, "WHERE");
        let pred = binder.bind_bool(&ecx, selection, "WHERE")?;
        rel = rel.filter(vec![pred]);
    }
    let mut projection: Vec<usize> = (0..arity).collect();
    projection.extend(arity..2 * arity);
    let changes = rel.map(new_values).project(projection);
    let returning = plan_returning(&mut binder, &relation, &update.returning)?;
    Ok(UpdatePlan {
        table: relation.id,
        table_name: relation.name.clone(),
        changes: lower(changes)?,
        returning,
        param_types: binder.param_types(0),
    })
}

pub fn plan_delete(
    catalog: &dyn SessionCatalog,
    delete: &ast::Delete,
    params: ParamTypes,
    values: Option<Vec<(Row, ScalarType)>>,
) -> Result<DeletePlan, PlanError> {
    if delete.using.is_some() {
        return Err(PlanError::unsupported("DELETE ... USING"));
    }
    if !delete.tables.is_empty() || delete.limit.is_some() || !delete.order_by.is_empty() {
        return Err(PlanError::unsupported("this DELETE form"));
    }
    let from = match &delete.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    if from.len() != 1 || !from[0].joins.is_empty() {
        return Err(PlanError::unsupported("DELETE from several tables"));
    }
    let (name, alias) = match &from[0].relation {
        ast::TableFactor::Table { name, alias, .. } => (
            name.clone(),
            alias.as_ref().map(|a| normalize_ident(&a.name)),
        ),
        other => return Err(PlanError::unsupported(format!("DELETE from {other}"))),
    };
    let relation = writable_table(catalog, &name)?;
    let mut binder = Binder::new(catalog, QueryLifetime::OneShot).with_params(params, values);
    let scope = table_scope(&relation, alias.as_deref());
    let mut rel = HirRelationExpr::Get {
        id: evert_expr::Id::Global(relation.id),
        typ: relation.desc.typ.clone(),
    };
    if let Some(selection) = &delete.selection {
        let ecx = ExprContext::new(&scope, "WHERE");
        let pred = binder.bind_bool(&ecx, selection, "WHERE")?;
        rel = rel.filter(vec![pred]);
    }
    let returning = plan_returning(&mut binder, &relation, &delete.returning)?;
    Ok(DeletePlan {
        table: relation.id,
        table_name: relation.name.clone(),
        selection: lower(rel)?,
        returning,
        param_types: binder.param_types(0),
    })
}

#[derive(Clone, Debug)]
pub struct CreateTablePlan {
    pub name: Vec<String>,
    pub desc: RelationDesc,
    pub defaults: Vec<Option<String>>,
    pub if_not_exists: bool,
    /// Columns of the primary key (enforced unique and not null).
    pub primary_key: Option<Vec<usize>>,
    /// Other UNIQUE constraints.
    pub unique: Vec<Vec<usize>>,
    /// CHECK constraints as SQL text.
    pub checks: Vec<String>,
    /// `WITH (RETAIN HISTORY FOR '...')`
    pub retain_history: Option<String>,
}

pub fn plan_create_table(
    catalog: &dyn SessionCatalog,
    create: &ast::CreateTable,
) -> Result<CreateTablePlan, PlanError> {
    if create.query.is_some() {
        return Err(PlanError::unsupported("CREATE TABLE ... AS"));
    }
    if create.temporary {
        return Err(PlanError::unsupported("temporary tables"));
    }
    if create.like.is_some()
        || create.clone.is_some()
        || create.inherits.is_some()
        || create.partition_of.is_some()
    {
        return Err(PlanError::unsupported(
            "CREATE TABLE LIKE/INHERITS/PARTITION OF",
        ));
    }
    let name = normalize_name(&create.name)?;
    let mut desc = RelationDesc::empty();
    let mut defaults = Vec::new();
    let mut primary_key: Option<Vec<usize>> = None;
    let mut unique = Vec::new();
    let mut checks = Vec::new();
    let mut binder = Binder::new(catalog, QueryLifetime::OneShot);
    for (index, column) in create.columns.iter().enumerate() {
        let column_name = normalize_ident(&column.name);
        if desc.column_index(&column_name).is_some() {
            return Err(PlanError::DuplicateColumn(format!(
                "column \"{column_name}\" specified more than once"
            )));
        }
        let typ = scalar_type_from_sql(&column.data_type)?;
        let mut nullable = true;
        let mut default = None;
        for option in &column.options {
            match &option.option {
                ast::ColumnOption::Null => nullable = true,
                ast::ColumnOption::NotNull => nullable = false,
                ast::ColumnOption::Default(e) => {
                    // Check the default now: it must be an expression of the column's type.
                    let empty = Scope::empty();
                    let ecx = ExprContext {
                        allow_subqueries: false,
                        ..ExprContext::new(&empty, "DEFAULT")
                    };
                    binder
                        .bind_expr_as(&ecx, e, &typ, CastContext::Assignment)
                        .map_err(|err| match err {
                            PlanError::UnknownColumn(_) => PlanError::Invalid(
                                "cannot use column reference in DEFAULT expression".into(),
                            ),
                            other => other,
                        })?;
                    default = Some(e.to_string());
                }
                ast::ColumnOption::PrimaryKey(_) => {
                    if primary_key.is_some() {
                        return Err(PlanError::Invalid(format!(
                            "multiple primary keys for table \"{}\" are not allowed",
                            name.join(".")
                        )));
                    }
                    primary_key = Some(vec![index]);
                    nullable = false;
                }
                ast::ColumnOption::Unique(_) => unique.push(vec![index]),
                ast::ColumnOption::Check(c) => checks.push(c.expr.to_string()),
                ast::ColumnOption::ForeignKey(_) => {
                    return Err(PlanError::unsupported("FOREIGN KEY constraints"))
                }
                ast::ColumnOption::Comment(_) => {}
                other => return Err(PlanError::unsupported(format!("column option {other}"))),
            }
        }
        desc = desc.with_column(column_name, ColumnType::new(typ, nullable));
        defaults.push(default);
    }
    let column_index = |desc: &RelationDesc, c: &ast::IndexColumn| -> Result<usize, PlanError> {
        match &c.column.expr {
            Expr::Identifier(i) => {
                let n = normalize_ident(i);
                desc.column_index(&n)
                    .ok_or_else(|| PlanError::UnknownColumn(format!("{n}")))
            }
            other => Err(PlanError::unsupported(format!(
                "constraint on expression {other}"
            ))),
        }
    };
    for constraint in &create.constraints {
        match constraint {
            ast::TableConstraint::PrimaryKey(pk) => {
                if primary_key.is_some() {
                    return Err(PlanError::Invalid(format!(
                        "multiple primary keys for table \"{}\" are not allowed",
                        name.join(".")
                    )));
                }
                let cols = pk
                    .columns
                    .iter()
                    .map(|c| column_index(&desc, c))
                    .collect::<Result<Vec<_>, _>>()?;
                for c in &cols {
                    desc.typ.column_types[*c].nullable = false;
                }
                primary_key = Some(cols);
            }
            ast::TableConstraint::Unique(u) => {
                unique.push(
                    u.columns
                        .iter()
                        .map(|c| column_index(&desc, c))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            ast::TableConstraint::Check(c) => checks.push(c.expr.to_string()),
            ast::TableConstraint::ForeignKey(_) => {
                return Err(PlanError::unsupported("FOREIGN KEY constraints"))
            }
            other => return Err(PlanError::unsupported(format!("table constraint {other}"))),
        }
    }
    // CHECK constraints must be boolean expressions over the columns.
    let scope = Scope::new(
        desc.iter()
            .map(|(n, t)| ScopeItem::new(None, n.clone(), t.clone()))
            .collect(),
    );
    for check in &checks {
        let e = parse_expr(check)?;
        let ecx = ExprContext {
            allow_subqueries: false,
            ..ExprContext::new(&scope, "CHECK")
        };
        binder.bind_bool(&ecx, &e, "CHECK")?;
    }
    let mut retain_history = None;
    if let ast::CreateTableOptions::With(options) = &create.table_options {
        for option in options {
            match option {
                ast::SqlOption::KeyValue { key, value }
                    if key.to_string().to_lowercase().replace(' ', "_") == "retain_history" =>
                {
                    retain_history = Some(
                        value
                            .to_string()
                            .trim_matches('\'')
                            .trim_start_matches("FOR ")
                            .trim_matches('\'')
                            .to_string(),
                    );
                }
                other => return Err(PlanError::unsupported(format!("table option {other}"))),
            }
        }
    }
    Ok(CreateTablePlan {
        name,
        desc,
        defaults,
        if_not_exists: create.if_not_exists,
        primary_key,
        unique,
        checks,
        retain_history,
    })
}

#[derive(Clone, Debug)]
pub struct CreateIndexPlan {
    pub name: Option<String>,
    pub on: GlobalId,
    pub on_name: String,
    pub keys: Vec<MirScalarExpr>,
    /// The key expressions as written (for SHOW INDEXES).
    pub key_text: Vec<String>,
    pub if_not_exists: bool,
    /// `CREATE UNIQUE INDEX`: a uniqueness constraint on a table's columns (NULLs
    /// distinct), enforced on every later write.
    pub unique: bool,
}

pub fn plan_create_index(
    catalog: &dyn SessionCatalog,
    create: &ast::CreateIndex,
) -> Result<CreateIndexPlan, PlanError> {
    if create.predicate.is_some() {
        return Err(PlanError::unsupported("partial indexes"));
    }
    if !create.include.is_empty() {
        return Err(PlanError::unsupported("INCLUDE columns"));
    }
    let parts = normalize_name(&create.table_name)?;
    let relation = catalog
        .resolve_relation(&parts)
        .ok_or_else(|| PlanError::UnknownRelation(parts.join(".")))?;
    if relation.kind == RelationKind::System {
        return Err(PlanError::WrongObjectType(format!(
            "cannot create an index on system relation \"{}\"",
            relation.name
        )));
    }
    if create.unique {
        // A unique index is a constraint on stored rows. A view's or materialized view's
        // rows are derived, and evert keeps them up to date rather than refreshing them,
        // so there is no write to refuse: such an index is not supported.
        match relation.kind {
            RelationKind::Table => {}
            other => {
                return Err(PlanError::unsupported(format!(
                    "CREATE UNIQUE INDEX on a {}",
                    other.name()
                )))
            }
        }
        if create.nulls_distinct == Some(false) {
            return Err(PlanError::unsupported("NULLS NOT DISTINCT"));
        }
    }
    let scope = table_scope(&relation, None);
    let mut binder = Binder::new(catalog, QueryLifetime::Maintained);
    let ecx = ExprContext {
        allow_subqueries: false,
        ..ExprContext::new(&scope, "index expression")
    };
    let mut keys = Vec::new();
    let mut key_text = Vec::new();
    for c in &create.columns {
        let t = binder.bind_expr(&ecx, &c.column.expr)?;
        let key = lower_scalar_over(&t.expr, relation.desc.arity())?;
        if create.unique && !matches!(key, MirScalarExpr::Column(_)) {
            return Err(PlanError::unsupported(
                "CREATE UNIQUE INDEX on an expression",
            ));
        }
        keys.push(key);
        key_text.push(c.column.expr.to_string());
    }
    if keys.is_empty() {
        return Err(PlanError::Invalid(
            "an index needs at least one key expression".into(),
        ));
    }
    let name = match &create.name {
        Some(n) => Some(normalize_name(n)?.last().cloned().unwrap_or_default()),
        None => None,
    };
    Ok(CreateIndexPlan {
        name,
        on: relation.id,
        on_name: relation.name.clone(),
        keys,
        key_text,
        if_not_exists: create.if_not_exists,
        unique: create.unique,
    })
}

/// Describes a statement for the extended protocol: its parameter types and result shape.
pub fn describe_query(
    catalog: &dyn SessionCatalog,
    query: &ast::Query,
    params: ParamTypes,
) -> Result<(RelationDesc, Vec<ScalarType>), PlanError> {
    let mut binder = Binder::new(catalog, QueryLifetime::OneShot).with_params(params, None);
    let planned = binder.plan_query(query)?;
    Ok((planned.desc, binder.param_types(0)))
}

/// Applies `CastAssign` to each column of a constant row set so that values meet their
/// column constraints (used by COPY FROM, which parses text straight into column types).
pub fn assignment_casts(desc: &RelationDesc) -> Vec<MirScalarExpr> {
    desc.iter()
        .enumerate()
        .map(|(i, (_, t))| {
            MirScalarExpr::Column(i).call_unary(UnaryFunc::CastAssign(t.scalar_type.clone()))
        })
        .collect()
}

impl PlanError {
    fn with_column_message(self, column: &str, relation: &str) -> PlanError {
        PlanError::UnknownColumnMessage(format!(
            "column \"{column}\" of relation \"{relation}\" does not exist"
        ))
    }
}
