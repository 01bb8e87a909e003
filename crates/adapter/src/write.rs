//! Writes: INSERT, UPDATE, DELETE and COPY FROM.
//!
//! A write statement becomes a batch of `(row, diff)` for one table. Its rows are computed
//! first (a constant for `INSERT ... VALUES`, a read of the table for UPDATE and DELETE),
//! checked against the table's constraints, and then committed through group commit, or
//! added to the open transaction's pending writes.
//!
//! UPDATE and DELETE read before they write; they hold the write lock exclusively from the
//! read to the commit so that no other write can slip in between (which would let two
//! concurrent UPDATEs both retract the same row).

use std::collections::BTreeMap;

use evert_expr::{MapFilterProject, MirRelationExpr, MirScalarExpr};
use evert_repr::{Datum, Diff, GlobalId, RelationDesc, Row, RowArena, ScalarType};
use evert_sql::plan::statement::{parse_expr, plan_delete, plan_insert, plan_update};
use evert_sql::plan::{lowering, Binder, ParamTypes, QueryLifetime, Scope, ScopeItem};
use sqlparser::ast;
use tokio::sync::OwnedRwLockWriteGuard;

use crate::catalog::{Catalog, ItemDetails, TableDetails, UniqueKey};
use crate::coord::Adapter;
use crate::error::AdapterError;
use crate::response::{CopyInTarget, ExecuteResponse};
use crate::session::{Session, TransactionStatus};

/// Plans a CHECK constraint as a predicate over the table's columns.
pub(crate) fn plan_check(desc: &RelationDesc, sql: &str) -> Result<MirScalarExpr, AdapterError> {
    struct NoCatalog;
    impl evert_sql::SessionCatalog for NoCatalog {
        fn resolve_relation(&self, _: &[String]) -> Option<evert_sql::CatalogRelation> {
            None
        }
        fn relation_by_id(&self, _: GlobalId) -> Option<evert_sql::CatalogRelation> {
            None
        }
        fn database(&self) -> String {
            String::new()
        }
    }
    let expr = parse_expr(sql)?;
    let scope = Scope::new(
        desc.iter()
            .map(|(n, t)| ScopeItem::new(None, n.clone(), t.clone()))
            .collect(),
    );
    let catalog = NoCatalog;
    let mut binder = Binder::new(&catalog, QueryLifetime::Maintained);
    let ecx = evert_sql::plan::expr::ExprContext {
        allow_subqueries: false,
        ..evert_sql::plan::expr::ExprContext::new(&scope, "CHECK")
    };
    let bound = binder.bind_bool(&ecx, &expr, "CHECK")?;
    Ok(lowering::lower_scalar_over(&bound, desc.arity())?)
}

fn params_of(
    params: &Option<Vec<(Row, ScalarType)>>,
) -> (ParamTypes, Option<Vec<(Row, ScalarType)>>) {
    let mut types = ParamTypes::default();
    if let Some(p) = params {
        for (i, (_, t)) in p.iter().enumerate() {
            types.set(i + 1, t.clone());
        }
    }
    (types, params.clone())
}

impl Adapter {
    /// Evaluates a plan that should be constant (VALUES); falls back to reading it.
    async fn rows_of(
        &self,
        session: &Session,
        expr: MirRelationExpr,
    ) -> Result<Vec<(Row, Diff)>, AdapterError> {
        let catalog = self.catalog();
        let expr =
            crate::query::substitute_unmaterializable(expr, session, self.read_timestamp(session))?;
        let expr = crate::coord::inline_views(&catalog, expr, Some(&session.database))?;
        let expr = match &session.transaction {
            TransactionStatus::InBlock(txn) => {
                crate::coord::overlay_pending_writes(&catalog, expr, &txn.writes)
            }
            _ => expr,
        };
        let expr = evert_transform::optimize(expr)?;
        if let Some(result) = expr.as_const() {
            return result.clone().map_err(AdapterError::from);
        }
        let ts = self.read_timestamp(session);
        self.peek_expr(&catalog, expr, ts, session).await
    }

    /// The exclusive write lock for statements that read before writing: held until the
    /// transaction ends when inside a block, otherwise for this statement.
    async fn exclusive(&self, session: &mut Session) -> Option<OwnedRwLockWriteGuard<()>> {
        if let TransactionStatus::InBlock(txn) = &mut session.transaction {
            if txn.write_guard.is_none() {
                txn.write_guard = Some(self.inner.write_lock.clone().write_owned().await);
            }
            None
        } else {
            Some(self.inner.write_lock.clone().write_owned().await)
        }
    }

    pub(crate) async fn sequence_insert(
        &self,
        session: &mut Session,
        insert: &ast::Insert,
        params: Option<Vec<(Row, ScalarType)>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let (types, values) = params_of(&params);
        let plan = plan_insert(
            &catalog.for_session(&session.database),
            insert,
            types,
            values,
        )?;
        let table = catalog
            .get(plan.table)
            .ok_or_else(|| AdapterError::internal("table vanished"))?
            .clone();
        let ItemDetails::Table(details) = &table.details else {
            return Err(AdapterError::internal("INSERT target is not a table"));
        };
        // Reading (INSERT ... SELECT) or checking keys needs the exclusive lock.
        let reads =
            !plan.values.global_uses().is_empty() || !catalog.unique_keys(plan.table).is_empty();
        let _guard = if reads {
            self.exclusive(session).await
        } else {
            None
        };
        let _shared = if reads || session.in_block() {
            None
        } else {
            Some(self.inner.write_lock.clone().read_owned().await)
        };
        let rows = self.rows_of(session, plan.values.clone()).await?;
        let mut updates = Vec::with_capacity(rows.len());
        let mut count: i64 = 0;
        for (row, diff) in rows {
            if diff < 0 {
                return Err(AdapterError::internal(
                    "INSERT produced a negative multiplicity",
                ));
            }
            count += diff;
            updates.push((row, diff));
        }
        self.check_constraints(
            &catalog,
            session,
            plan.table,
            &table.desc,
            details,
            &updates,
        )
        .await?;
        let returning = match &plan.returning {
            Some((exprs, desc)) => Some((desc.clone(), evaluate_returning(exprs, &updates)?)),
            None => None,
        };
        self.apply_writes(session, vec![(plan.table, updates)])
            .await?;
        let tag = format!("INSERT 0 {count}");
        Ok(match returning {
            Some((desc, rows)) => ExecuteResponse::Rows {
                desc,
                rows,
                tag: Some(tag),
            },
            None => ExecuteResponse::command(tag),
        })
    }

    pub(crate) async fn sequence_update(
        &self,
        session: &mut Session,
        update: &ast::Update,
        params: Option<Vec<(Row, ScalarType)>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let (types, values) = params_of(&params);
        let plan = plan_update(
            &catalog.for_session(&session.database),
            update,
            types,
            values,
        )?;
        let table = catalog
            .get(plan.table)
            .ok_or_else(|| AdapterError::internal("table vanished"))?
            .clone();
        let ItemDetails::Table(details) = &table.details else {
            return Err(AdapterError::internal("UPDATE target is not a table"));
        };
        let _guard = self.exclusive(session).await;
        let changes = self
            .read_changes(session, &catalog, plan.table, plan.changes)
            .await?;
        let arity = table.desc.arity();
        let mut updates: Vec<(Row, Diff)> = Vec::new();
        let mut new_rows: Vec<(Row, Diff)> = Vec::new();
        let mut count = 0i64;
        for (row, diff) in changes {
            let datums: Vec<Datum> = row.iter().collect();
            let old = Row::pack(&datums[..arity]);
            let new = Row::pack(&datums[arity..]);
            count += diff;
            if old != new {
                updates.push((old, -diff));
                updates.push((new.clone(), diff));
            }
            new_rows.push((new, diff));
        }
        self.check_constraints(
            &catalog,
            session,
            plan.table,
            &table.desc,
            details,
            &updates,
        )
        .await?;
        let returning = match &plan.returning {
            Some((exprs, desc)) => Some((desc.clone(), evaluate_returning(exprs, &new_rows)?)),
            None => None,
        };
        self.apply_writes(session, vec![(plan.table, updates)])
            .await?;
        let tag = format!("UPDATE {count}");
        Ok(match returning {
            Some((desc, rows)) => ExecuteResponse::Rows {
                desc,
                rows,
                tag: Some(tag),
            },
            None => ExecuteResponse::command(tag),
        })
    }

    pub(crate) async fn sequence_delete(
        &self,
        session: &mut Session,
        delete: &ast::Delete,
        params: Option<Vec<(Row, ScalarType)>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let (types, values) = params_of(&params);
        let plan = plan_delete(
            &catalog.for_session(&session.database),
            delete,
            types,
            values,
        )?;
        let _guard = self.exclusive(session).await;
        let rows = self
            .read_changes(session, &catalog, plan.table, plan.selection)
            .await?;
        let count: i64 = rows.iter().map(|(_, d)| *d).sum();
        let returning = match &plan.returning {
            Some((exprs, desc)) => Some((desc.clone(), evaluate_returning(exprs, &rows)?)),
            None => None,
        };
        let updates: Vec<(Row, Diff)> = rows.into_iter().map(|(r, d)| (r, -d)).collect();
        self.apply_writes(session, vec![(plan.table, updates)])
            .await?;
        let tag = format!("DELETE {count}");
        Ok(match returning {
            Some((desc, rows)) => ExecuteResponse::Rows {
                desc,
                rows,
                tag: Some(tag),
            },
            None => ExecuteResponse::command(tag),
        })
    }

    /// Evaluates a plan over one table (an UPDATE's or DELETE's selection) against the
    /// table's latest contents plus this transaction's pending writes to it.
    async fn read_changes(
        &self,
        session: &Session,
        catalog: &Catalog,
        table: GlobalId,
        plan: MirRelationExpr,
    ) -> Result<Vec<(Row, Diff)>, AdapterError> {
        let plan =
            crate::query::substitute_unmaterializable(plan, session, self.read_timestamp(session))?;
        let plan = evert_transform::optimize(plan)?;
        // Wait until every committed write is visible, then read at the latest time.
        self.inner.committer.barrier().await?;
        let ts = self.read_timestamp(session);
        let mut rows = self.peek_expr(catalog, plan.clone(), ts, session).await?;
        let pending = match &session.transaction {
            TransactionStatus::InBlock(txn) => txn.pending_for(table),
            _ => vec![],
        };
        if !pending.is_empty() {
            // The plan is a map-filter-project over the table, which is linear: applying
            // it to the pending changes gives the changes to its result.
            let (mfp, input) = MapFilterProject::extract_from(&plan);
            if !matches!(input, MirRelationExpr::Get { .. }) {
                return Err(AdapterError::unsupported(
                    "this UPDATE/DELETE inside a transaction block",
                ));
            }
            let arena = RowArena::new();
            for (row, diff) in pending {
                if let Some(out) = mfp.evaluate(&row, &arena)? {
                    rows.push((out, diff));
                }
            }
            rows = consolidate(rows);
        }
        Ok(rows)
    }

    /// Commits writes now, or adds them to the open transaction.
    pub(crate) async fn apply_writes(
        &self,
        session: &mut Session,
        batches: crate::committer::Batches,
    ) -> Result<(), AdapterError> {
        let batches: crate::committer::Batches =
            batches.into_iter().filter(|(_, u)| !u.is_empty()).collect();
        match &mut session.transaction {
            TransactionStatus::InBlock(txn) => {
                if txn.read.is_some()
                    && txn.writes.is_empty()
                    && txn.write_guard.is_none()
                    && !batches.is_empty()
                {
                    // A transaction that read at one time and writes at another would not be
                    // serializable; PostgreSQL users expect this to work, so the write simply
                    // commits at COMMIT with the reads' snapshot unchanged.
                }
                if txn.write_guard.is_none() && !batches.is_empty() {
                    txn.unlocked_writes = true;
                }
                txn.add_writes(batches);
                Ok(())
            }
            _ => {
                if batches.is_empty() {
                    return Ok(());
                }
                let ts = self.inner.committer.write(batches).await?;
                session.last_write = session.last_write.max(ts);
                Ok(())
            }
        }
    }

    /// At COMMIT of a transaction that wrote without the exclusive lock: checks its writes
    /// again against the keys their tables have now (a unique index may have been created
    /// meanwhile), under the exclusive lock, which the caller holds until the commit.
    pub(crate) async fn recheck_keys_at_commit(
        &self,
        session: &Session,
        writes: &crate::committer::Batches,
    ) -> Result<(), AdapterError> {
        let catalog = self.catalog();
        for (table, updates) in writes {
            if catalog.unique_keys(*table).is_empty() {
                continue;
            }
            let Some(item) = catalog.get(*table) else {
                continue;
            };
            let ItemDetails::Table(details) = &item.details else {
                continue;
            };
            let updates = consolidate(updates.clone());
            self.check_constraints(&catalog, session, *table, &item.desc, details, &updates)
                .await?;
        }
        Ok(())
    }

    /// NOT NULL, CHECK, PRIMARY KEY, UNIQUE and unique indexes.
    async fn check_constraints(
        &self,
        catalog: &Catalog,
        session: &Session,
        table: GlobalId,
        desc: &RelationDesc,
        details: &TableDetails,
        updates: &[(Row, Diff)],
    ) -> Result<(), AdapterError> {
        let name = catalog
            .get(table)
            .map(|t| t.name().to_string())
            .unwrap_or_default();
        let arena = RowArena::new();
        for (row, diff) in updates {
            if *diff <= 0 {
                continue;
            }
            let datums: Vec<Datum> = row.iter().collect();
            for (i, (column, typ)) in desc.iter().enumerate() {
                if !typ.nullable && datums[i].is_null() {
                    return Err(AdapterError::Constraint {
                        code: "23502",
                        message: format!("null value in column \"{column}\" of relation \"{name}\" violates not-null constraint"),
                        detail: Some(format!("Failing row contains {}.", failing_row(row))),
                    });
                }
            }
            for (sql, predicate) in &details.checks {
                match predicate.eval(&datums, &arena)? {
                    Datum::False => {
                        return Err(AdapterError::Constraint {
                            code: "23514",
                            message: format!("new row for relation \"{name}\" violates check constraint \"{name}_check\""),
                            detail: Some(format!("Failing row contains {}. The constraint is CHECK ({sql}).", failing_row(row))),
                        })
                    }
                    _ => continue,
                }
            }
        }
        let keys = catalog.unique_keys(table);
        if keys.is_empty() {
            return Ok(());
        }
        // After the write, each key may hold at most one row. Only the keys this write adds
        // rows for can be violated; their current rows are looked up in an arrangement of
        // the table by that key (the table's own for PRIMARY KEY and UNIQUE, the index's for
        // a unique index): work proportional to the write, not the table. Rows with a NULL
        // in the key never conflict.
        self.inner.committer.barrier().await?;
        let ts = self.read_timestamp(session);
        let pending = match &session.transaction {
            TransactionStatus::InBlock(txn) => txn.pending_for(table),
            _ => vec![],
        };
        for UniqueKey {
            name: constraint,
            columns,
        } in keys
        {
            let key_of = |row: &Row| -> Option<Row> {
                let datums: Vec<Datum> = row.iter().collect();
                if columns.iter().any(|c| datums[*c].is_null()) {
                    return None;
                }
                Some(Row::pack(columns.iter().map(|c| datums[*c])))
            };
            let added: Vec<Row> = updates
                .iter()
                .filter(|(_, d)| *d > 0)
                .filter_map(|(r, _)| key_of(r))
                .collect();
            if added.is_empty() {
                continue;
            }
            let exprs: Vec<MirScalarExpr> =
                columns.iter().map(|c| MirScalarExpr::Column(*c)).collect();
            let existing = self
                .inner
                .compute
                .peek(evert_compute::PeekTarget {
                    collection: table,
                    key: Some(exprs),
                    literal_keys: Some(added.clone()),
                    timestamp: ts,
                    mfp: MapFilterProject::new(desc.arity()),
                })
                .await
                .map_err(|e| match e {
                    evert_compute::PeekError::Eval(e) => AdapterError::Eval(e),
                    evert_compute::PeekError::Failed(m) => AdapterError::internal(m),
                    evert_compute::PeekError::Canceled => AdapterError::Canceled,
                })?;
            let wanted: std::collections::BTreeSet<Row> = added.iter().cloned().collect();
            let mut counts: BTreeMap<Row, Diff> = BTreeMap::new();
            for (row, diff) in existing.iter().chain(pending.iter()).chain(updates.iter()) {
                if let Some(k) = key_of(row) {
                    if wanted.contains(&k) {
                        *counts.entry(k).or_insert(0) += diff;
                    }
                }
            }
            // PostgreSQL reports the first row of the statement that conflicts.
            if let Some(key) = added
                .iter()
                .find(|k| counts.get(*k).is_some_and(|n| *n > 1))
            {
                let names: Vec<&str> = columns.iter().map(|c| desc.names[*c].as_str()).collect();
                let values: Vec<String> = key.iter().map(|d| d.to_string()).collect();
                return Err(AdapterError::Constraint {
                    code: "23505",
                    message: format!(
                        "duplicate key value violates unique constraint \"{constraint}\""
                    ),
                    detail: Some(format!(
                        "Key ({})=({}) already exists.",
                        names.join(", "),
                        values.join(", ")
                    )),
                });
            }
        }
        Ok(())
    }

    /// `COPY t FROM STDIN`: prepares the target; rows arrive through `copy_in`.
    pub(crate) fn sequence_copy_from(
        &self,
        session: &Session,
        table: &ast::ObjectName,
        columns: &[String],
        options: &[(String, Option<String>)],
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let parts = evert_sql::parse::normalize_name(table)?;
        let view = catalog.for_session(&session.database);
        let relation = evert_sql::SessionCatalog::resolve_relation(&view, &parts)
            .ok_or_else(|| evert_sql::PlanError::UnknownRelation(parts.join(".")))?;
        if relation.kind != evert_sql::RelationKind::Table {
            return Err(AdapterError::Plan(evert_sql::PlanError::WrongObjectType(
                format!(
                    "cannot copy to {} \"{}\"",
                    relation.kind.name(),
                    relation.name
                ),
            )));
        }
        let indices = if columns.is_empty() {
            (0..relation.desc.arity()).collect()
        } else {
            columns
                .iter()
                .map(|c| {
                    relation.desc.column_index(c).ok_or_else(|| {
                        AdapterError::Plan(evert_sql::PlanError::UnknownColumnMessage(format!(
                            "column \"{c}\" of relation \"{}\" does not exist",
                            relation.name
                        )))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let mut target = CopyInTarget {
            table: relation.id,
            table_name: relation.name.clone(),
            columns: indices,
            desc: relation.desc.clone(),
            delimiter: '\t',
            null: "\\N".into(),
            csv: false,
            header: false,
        };
        for (name, value) in options {
            match (name.as_str(), value.as_deref()) {
                ("format", Some(v)) if v.eq_ignore_ascii_case("text") => {}
                ("format", Some(v)) if v.eq_ignore_ascii_case("csv") => {
                    target.csv = true;
                    target.delimiter = ',';
                    target.null = String::new();
                }
                ("delimiter", Some(v)) if v.chars().count() == 1 => {
                    target.delimiter = v.chars().next().expect("one char")
                }
                ("null", Some(v)) => target.null = v.to_string(),
                ("header", v) => target.header = !matches!(v, Some("false") | Some("off")),
                (other, _) => {
                    return Err(AdapterError::unsupported(format!("COPY option {other}")))
                }
            }
        }
        Ok(ExecuteResponse::CopyIn(target))
    }

    /// Inserts rows received by `COPY FROM STDIN` (already parsed into the target columns).
    pub async fn copy_in(
        &self,
        session: &mut Session,
        target: &CopyInTarget,
        rows: Vec<Vec<Option<String>>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let table = catalog
            .get(target.table)
            .ok_or_else(|| AdapterError::internal("table vanished"))?
            .clone();
        let ItemDetails::Table(details) = &table.details else {
            return Err(AdapterError::internal("COPY target is not a table"));
        };
        let arity = table.desc.arity();
        // Defaults for the columns the input does not provide.
        let mut defaults: Vec<Option<Row>> = vec![None; arity];
        for c in 0..arity {
            if target.columns.contains(&c) {
                continue;
            }
            let value = match details.defaults.get(c).and_then(|d| d.clone()) {
                Some(sql) => {
                    let expr = parse_expr(&sql)?;
                    let view = catalog.for_session(&session.database);
                    let mut binder = Binder::new(&view, QueryLifetime::OneShot);
                    let scope = Scope::empty();
                    let ecx = evert_sql::plan::expr::ExprContext::new(&scope, "DEFAULT");
                    let bound = binder.bind_expr_as(
                        &ecx,
                        &expr,
                        &table.desc.typ.column_types[c].scalar_type,
                        evert_sql::plan::CastContext::Assignment,
                    )?;
                    let mir = lowering::lower_constant_scalar(&bound)?;
                    let mir = crate::query::substitute_scalar(
                        mir,
                        session,
                        self.read_timestamp(session),
                    )?;
                    let arena = RowArena::new();
                    Row::of(mir.eval(&[], &arena)?)
                }
                None => Row::of(Datum::Null),
            };
            defaults[c] = Some(value);
        }
        let mut updates = Vec::with_capacity(rows.len());
        let arena = RowArena::new();
        for fields in rows {
            if fields.len() != target.columns.len() {
                return Err(AdapterError::Invalid {
                    code: "22P04",
                    message: format!(
                        "COPY row has {} columns, expected {}",
                        fields.len(),
                        target.columns.len()
                    ),
                });
            }
            let mut row = Row::default();
            {
                let mut packer = row.packer();
                for c in 0..arity {
                    match target.columns.iter().position(|t| *t == c) {
                        Some(i) => match &fields[i] {
                            None => packer.push(Datum::Null),
                            Some(text) => {
                                let typ = &table.desc.typ.column_types[c].scalar_type;
                                let d = evert_repr::strconv::parse_datum(
                                    text,
                                    &typ.unconstrained(),
                                    &arena,
                                )?;
                                let d = evert_expr::scalar::cast::cast(d, typ, true, &arena)?;
                                packer.push(d);
                            }
                        },
                        None => {
                            packer.extend_by_row(defaults[c].as_ref().expect("default computed"))
                        }
                    }
                }
            }
            updates.push((row, 1));
        }
        let count = updates.len();
        let keyed = !catalog.unique_keys(target.table).is_empty();
        let _guard = if keyed {
            self.exclusive(session).await
        } else {
            None
        };
        let _shared = if keyed || session.in_block() {
            None
        } else {
            Some(self.inner.write_lock.clone().read_owned().await)
        };
        self.check_constraints(
            &catalog,
            session,
            target.table,
            &table.desc,
            details,
            &updates,
        )
        .await?;
        self.apply_writes(session, vec![(target.table, updates)])
            .await?;
        Ok(ExecuteResponse::command(format!("COPY {count}")))
    }
}

/// The key columns of a table's PRIMARY KEY and UNIQUE constraints, as arrangement keys.
pub(crate) fn constraint_keys(details: &TableDetails) -> Vec<Vec<MirScalarExpr>> {
    details
        .primary_key
        .iter()
        .chain(details.unique.iter())
        .map(|cols| cols.iter().map(|c| MirScalarExpr::Column(*c)).collect())
        .collect()
}

fn evaluate_returning(
    exprs: &[MirScalarExpr],
    rows: &[(Row, Diff)],
) -> Result<Vec<Row>, AdapterError> {
    let arena = RowArena::new();
    let mut out = Vec::new();
    for (row, diff) in rows {
        let datums: Vec<Datum> = row.iter().collect();
        let mut values = Vec::with_capacity(exprs.len());
        for e in exprs {
            values.push(e.eval(&datums, &arena)?);
        }
        let r = Row::pack(values.iter());
        for _ in 0..*diff {
            out.push(r.clone());
        }
    }
    Ok(out)
}

fn failing_row(row: &Row) -> String {
    let values: Vec<String> = row
        .iter()
        .map(|d| {
            if d.is_null() {
                "null".to_string()
            } else {
                d.to_string()
            }
        })
        .collect();
    format!("({})", values.join(", "))
}

pub(crate) fn consolidate(mut rows: Vec<(Row, Diff)>) -> Vec<(Row, Diff)> {
    rows.sort();
    let mut out: Vec<(Row, Diff)> = Vec::with_capacity(rows.len());
    for (row, diff) in rows {
        match out.last_mut() {
            Some((last, d)) if *last == row => *d += diff,
            _ => out.push((row, diff)),
        }
    }
    out.retain(|(_, d)| *d != 0);
    out
}
