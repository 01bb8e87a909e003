//! DDL: creating and dropping catalog items, durably and in compute.
//!
//! Every change follows the same order, chosen so that a crash at any point leaves a
//! state that restart can clean up:
//!
//! 1. create the item's log collection, if it has one (tables, sources);
//! 2. commit the catalog change (a row in the catalog collection) through group commit;
//! 3. create the item's dataflow input or dataflow;
//! 4. publish the new catalog snapshot.
//!
//! A crash between 1 and 2 leaves a collection without a catalog entry, which restart
//! drops. Drops run in the reverse order: catalog retraction first, then the collection.

use std::sync::Arc;

use evert_compute::ComputeCommand;
use evert_expr::{
    AggregateExpr, AggregateFunc, BinaryFunc, ColumnOrder, MirRelationExpr, MirScalarExpr,
};
use evert_repr::{Datum, GlobalId, Interval, ScalarType, Timestamp};
use evert_sql::parse::{normalize_name, Statement};
use evert_sql::plan::statement::{plan_create_index, plan_create_table, plan_maintained_query};
use evert_sql::plan::QueryLifetime;
use evert_sql::PlanError;
use sqlparser::ast;

use crate::catalog::{
    Catalog, CatalogItem, DurableItem, ItemDetails, ItemKind, TableDetails, CATALOG_ID,
    DEFAULT_SCHEMA,
};
use crate::coord::Adapter;
use crate::error::AdapterError;
use crate::response::ExecuteResponse;
use crate::session::Session;

/// The retention window an item asks for (`RETAIN HISTORY FOR`), in milliseconds.
pub fn retention_ms(item: &CatalogItem) -> Option<u64> {
    parse_duration_ms(evert_sql::parse::retain_history(&item.durable.create_sql)?)
}

pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let iv = Interval::parse(text).ok()?;
    let micros = iv.as_span_micros();
    (micros >= 0).then(|| (micros / 1000) as u64)
}

pub(crate) fn relation_name(name: &[String]) -> Result<(String, String), AdapterError> {
    match name {
        [n] => Ok((DEFAULT_SCHEMA.to_string(), n.clone())),
        [s, n] | [_, s, n] => {
            if s != DEFAULT_SCHEMA {
                return Err(AdapterError::Invalid {
                    code: "3F000",
                    message: format!(
                        "schema \"{s}\" does not exist (only \"public\" holds user objects)"
                    ),
                });
            }
            Ok((s.clone(), n.clone()))
        }
        _ => Err(AdapterError::Invalid {
            code: "42601",
            message: format!("improper qualified name: {}", name.join(".")),
        }),
    }
}

impl Adapter {
    /// Rebuilds a catalog item from its durable record (at startup).
    pub(crate) async fn build_item(
        &self,
        catalog: &Catalog,
        durable: &DurableItem,
        since: Timestamp,
    ) -> Result<CatalogItem, AdapterError> {
        if durable.kind == ItemKind::Source {
            // Subsources are not SQL a user can write; the sources module reads them.
            return crate::sources::build_source_item(durable, since);
        }
        let statements = evert_sql::parse::parse(&durable.create_sql)?;
        let stmt = statements.into_iter().next().ok_or_else(|| {
            AdapterError::internal(format!("empty definition for {}", durable.id))
        })?;
        let view = catalog.for_session("materialize");
        let item = match (&durable.kind, &stmt.stmt) {
            (ItemKind::Table, Statement::Sql(s)) => match s.as_ref() {
                ast::Statement::CreateTable(create) => {
                    let plan = plan_create_table(&view, create)?;
                    table_item(durable.clone(), plan, since)?
                }
                _ => {
                    return Err(AdapterError::internal(
                        "table definition is not CREATE TABLE",
                    ))
                }
            },
            (ItemKind::View | ItemKind::MaterializedView, Statement::Sql(s)) => match s.as_ref() {
                ast::Statement::CreateView(create) => {
                    let (expr, desc, _) =
                        plan_maintained_query(&view, &create.query, QueryLifetime::Maintained)?;
                    let desc = rename_columns(desc, &create.columns)?;
                    let uses = expr.global_uses();
                    let details = if durable.kind == ItemKind::View {
                        ItemDetails::View { expr }
                    } else {
                        ItemDetails::MaterializedView { expr }
                    };
                    CatalogItem {
                        durable: durable.clone(),
                        desc,
                        details,
                        uses,
                        since,
                    }
                }
                _ => return Err(AdapterError::internal("view definition is not CREATE VIEW")),
            },
            (ItemKind::Index, Statement::Sql(s)) => match s.as_ref() {
                ast::Statement::CreateIndex(create) => {
                    let plan = plan_create_index(&view, create)?;
                    let on = catalog
                        .get(plan.on)
                        .ok_or_else(|| AdapterError::internal("index on a missing object"))?;
                    CatalogItem {
                        durable: durable.clone(),
                        desc: on.desc.clone(),
                        details: ItemDetails::Index {
                            on: plan.on,
                            keys: plan.keys,
                            key_text: plan.key_text,
                            unique: plan.unique,
                        },
                        uses: vec![plan.on],
                        since,
                    }
                }
                _ => {
                    return Err(AdapterError::internal(
                        "index definition is not CREATE INDEX",
                    ))
                }
            },
            _ => {
                return Err(AdapterError::internal(format!(
                    "cannot rebuild {}",
                    durable.id
                )))
            }
        };
        Ok(item)
    }

    /// Commits catalog changes (rows added and removed) durably.
    pub(crate) async fn commit_catalog(
        &self,
        added: &[&DurableItem],
        removed: &[&DurableItem],
    ) -> Result<Timestamp, AdapterError> {
        let mut updates = Vec::new();
        for item in added {
            updates.push((item.to_row(), 1));
        }
        for item in removed {
            updates.push((item.to_row(), -1));
        }
        self.inner
            .committer
            .write(vec![(CATALOG_ID, updates)])
            .await
    }

    pub(crate) async fn create_table(
        &self,
        session: &Session,
        create: &ast::CreateTable,
        sql: &str,
    ) -> Result<ExecuteResponse, AdapterError> {
        let _write = self.inner.write_lock.clone().write_owned().await;
        let mut catalog = (*self.catalog()).clone();
        let plan = plan_create_table(&catalog.for_session(&session.database), create)?;
        let (schema, name) = relation_name(&plan.name)?;
        if catalog.name_taken(&schema, &name).is_some() {
            if plan.if_not_exists {
                return Ok(ExecuteResponse::Command {
                    tag: "CREATE TABLE".into(),
                    notice: Some(format!("relation \"{name}\" already exists, skipping")),
                });
            }
            return Err(
                PlanError::DuplicateObject(format!("relation \"{name}\" already exists")).into(),
            );
        }
        let id = catalog.allocate_id();
        let durable = DurableItem {
            id,
            schema,
            name,
            kind: ItemKind::Table,
            create_sql: sql.to_string(),
        };
        let item = table_item(durable.clone(), plan, self.inner.oracle.applied())?;
        {
            let storage = Arc::clone(&self.inner.storage);
            tokio::task::spawn_blocking(move || -> Result<(), AdapterError> {
                let mut log = storage
                    .lock()
                    .map_err(|_| AdapterError::internal("storage lock poisoned"))?;
                log.create_collection(id)?;
                Ok(())
            })
            .await
            .map_err(|e| AdapterError::internal(e.to_string()))??;
        }
        let ts = self.commit_catalog(&[&durable], &[]).await?;
        self.install_input(id);
        let mut item = item;
        item.since = ts;
        self.install_dataflow(&catalog, &item)?;
        catalog.insert(item);
        self.set_catalog(catalog);
        Ok(ExecuteResponse::command("CREATE TABLE"))
    }

    pub(crate) async fn create_view(
        &self,
        session: &Session,
        create: &ast::CreateView,
        sql: &str,
    ) -> Result<ExecuteResponse, AdapterError> {
        let materialized = create.materialized;
        let tag = if materialized {
            "CREATE MATERIALIZED VIEW"
        } else {
            "CREATE VIEW"
        };
        if create.or_alter
            || create.secure
            || !create.cluster_by.is_empty()
            || create.comment.is_some()
        {
            return Err(AdapterError::unsupported("this CREATE VIEW option"));
        }
        if !matches!(create.options, ast::CreateTableOptions::None) {
            return Err(AdapterError::unsupported("CREATE VIEW options"));
        }
        let _write = self.inner.write_lock.clone().write_owned().await;
        let mut catalog = (*self.catalog()).clone();
        let (expr, desc, _) = {
            let view = catalog.for_session(&session.database);
            plan_maintained_query(&view, &create.query, QueryLifetime::Maintained)?
        };
        let desc = rename_columns(desc, &create.columns)?;
        let name_parts = normalize_name(&create.name)?;
        let (schema, name) = relation_name(&name_parts)?;
        let mut replaced: Option<CatalogItem> = None;
        if let Some(existing) = catalog.name_taken(&schema, &name) {
            if create.if_not_exists {
                return Ok(ExecuteResponse::Command {
                    tag: tag.into(),
                    notice: Some(format!("relation \"{name}\" already exists, skipping")),
                });
            }
            let same_kind = existing.kind()
                == if materialized {
                    ItemKind::MaterializedView
                } else {
                    ItemKind::View
                };
            if create.or_replace && same_kind {
                let dependents: Vec<GlobalId> = catalog
                    .dependents(existing.id())
                    .into_iter()
                    .filter(|d| catalog.get(*d).is_some_and(|i| i.kind() != ItemKind::Index))
                    .collect();
                if !dependents.is_empty() {
                    return Err(AdapterError::Plan(PlanError::DependentObjects {
                        message: format!(
                            "cannot replace {} \"{name}\" because other objects depend on it",
                            existing.kind().name()
                        ),
                        detail: describe_dependents(&catalog, existing.id(), &dependents),
                    }));
                }
                replaced = Some(existing.clone());
            } else {
                return Err(PlanError::DuplicateObject(format!(
                    "relation \"{name}\" already exists"
                ))
                .into());
            }
        }
        // The view must not read the system catalog (it cannot be maintained from the log).
        if expr
            .global_uses()
            .iter()
            .any(|id| crate::builtins::is_builtin(*id))
        {
            return Err(AdapterError::unsupported(
                "views over system catalog relations",
            ));
        }
        if let Some(old) = &replaced {
            if expr.global_uses().contains(&old.id()) {
                return Err(AdapterError::Invalid {
                    code: "42P17",
                    message: format!("view \"{name}\" cannot refer to itself"),
                });
            }
        }
        let id = catalog.allocate_id();
        let kind = if materialized {
            ItemKind::MaterializedView
        } else {
            ItemKind::View
        };
        let durable = DurableItem {
            id,
            schema,
            name,
            kind,
            create_sql: sql.to_string(),
        };
        let uses = expr.global_uses();
        let details = if materialized {
            ItemDetails::MaterializedView { expr }
        } else {
            ItemDetails::View { expr }
        };
        let mut item = CatalogItem {
            durable: durable.clone(),
            desc,
            details,
            uses,
            since: 0,
        };
        // Check that the plan can be prepared before anything becomes durable.
        if let ItemDetails::MaterializedView { expr } | ItemDetails::View { expr } = &item.details {
            let mut scratch = catalog.clone();
            if let Some(old) = &replaced {
                scratch.remove(old.id());
            }
            self.prepare_maintained(&scratch, expr.clone())?;
        }
        let mut removed = Vec::new();
        if let Some(old) = &replaced {
            for index in catalog.indexes_on(old.id()) {
                removed.push(index.clone());
            }
            removed.push(old.clone());
        }
        let removed_durable: Vec<&DurableItem> = removed.iter().map(|i| &i.durable).collect();
        let ts = self.commit_catalog(&[&durable], &removed_durable).await?;
        for old in &removed {
            self.drop_compute_state(old);
            catalog.remove(old.id());
        }
        item.since = ts;
        self.install_dataflow(&catalog, &item)?;
        catalog.insert(item);
        self.set_catalog(catalog);
        Ok(ExecuteResponse::command(tag))
    }

    pub(crate) async fn create_index(
        &self,
        session: &Session,
        create: &ast::CreateIndex,
        sql: &str,
    ) -> Result<ExecuteResponse, AdapterError> {
        let _write = self.inner.write_lock.clone().write_owned().await;
        let mut catalog = (*self.catalog()).clone();
        let plan = plan_create_index(&catalog.for_session(&session.database), create)?;
        let on = catalog
            .get(plan.on)
            .ok_or_else(|| AdapterError::internal("index on a missing object"))?
            .clone();
        let name = match &plan.name {
            Some(n) => n.clone(),
            None => {
                // PostgreSQL's default: <relation>_<columns>_idx, made unique with a number.
                let columns: Vec<String> = plan
                    .keys
                    .iter()
                    .map(|k| match k {
                        MirScalarExpr::Column(c) => on.desc.names[*c].clone(),
                        _ => "expr".to_string(),
                    })
                    .collect();
                let base = format!("{}_{}_idx", on.name(), columns.join("_"));
                let mut candidate = base.clone();
                let mut n = 1;
                while catalog.name_taken(DEFAULT_SCHEMA, &candidate).is_some() {
                    candidate = format!("{base}{n}");
                    n += 1;
                }
                candidate
            }
        };
        if catalog.name_taken(DEFAULT_SCHEMA, &name).is_some() {
            if plan.if_not_exists {
                return Ok(ExecuteResponse::Command {
                    tag: "CREATE INDEX".into(),
                    notice: Some(format!("relation \"{name}\" already exists, skipping")),
                });
            }
            return Err(
                PlanError::DuplicateObject(format!("relation \"{name}\" already exists")).into(),
            );
        }
        let id = catalog.allocate_id();
        // The durable SQL names the index explicitly so that restart recreates the same name.
        let create_sql = if plan.name.is_some() {
            sql.to_string()
        } else {
            format!(
                "CREATE {}INDEX {} ON {} ({})",
                if plan.unique { "UNIQUE " } else { "" },
                quote_ident(&name),
                quote_ident(on.name()),
                plan.key_text.join(", ")
            )
        };
        let durable = DurableItem {
            id,
            schema: DEFAULT_SCHEMA.to_string(),
            name,
            kind: ItemKind::Index,
            create_sql,
        };
        let mut item = CatalogItem {
            durable: durable.clone(),
            desc: on.desc.clone(),
            details: ItemDetails::Index {
                on: plan.on,
                keys: plan.keys,
                key_text: plan.key_text,
                unique: plan.unique,
            },
            uses: vec![plan.on],
            since: 0,
        };
        if plan.unique {
            // Under the exclusive write lock, so no write slips in between the check and the
            // constraint taking effect.
            self.check_no_duplicates(session, &catalog, &on, &item)
                .await?;
        }
        let ts = self.commit_catalog(&[&durable], &[]).await?;
        item.since = ts;
        self.install_dataflow(&catalog, &item)?;
        catalog.insert(item);
        self.set_catalog(catalog);
        Ok(ExecuteResponse::command("CREATE INDEX"))
    }

    /// `ALTER ... SET (RETAIN HISTORY FOR '...')` / `RESET (RETAIN HISTORY)`: records the new
    /// retention in the item's durable definition.
    pub(crate) async fn alter_retain_history(
        &self,
        name: &ast::ObjectName,
        retain: Option<&str>,
    ) -> Result<ExecuteResponse, AdapterError> {
        if let Some(d) = retain {
            if parse_duration_ms(d).is_none() {
                return Err(AdapterError::Invalid {
                    code: "22023",
                    message: format!("invalid RETAIN HISTORY duration {d:?}"),
                });
            }
        }
        let _write = self.inner.write_lock.clone().write_owned().await;
        let mut catalog = (*self.catalog()).clone();
        let parts = normalize_name(name)?;
        let item = catalog
            .resolve(&parts)
            .ok_or_else(|| PlanError::UnknownRelation(parts.join(".")))?
            .clone();
        if item.kind() == ItemKind::View {
            return Err(AdapterError::unsupported(
                "RETAIN HISTORY on a view (it keeps no state; set it on what it reads)",
            ));
        }
        let (base, _) = evert_sql::parse::strip_retain_history(&item.durable.create_sql);
        let create_sql = match retain {
            Some(d) => format!(
                "{} WITH (RETAIN HISTORY FOR '{}')",
                base.trim_end(),
                d.replace('\'', "''")
            ),
            None => base.trim_end().to_string(),
        };
        let mut updated = item.clone();
        updated.durable.create_sql = create_sql;
        self.commit_catalog(&[&updated.durable], &[&item.durable])
            .await?;
        catalog.insert(updated);
        self.set_catalog(catalog);
        let tag = match item.kind() {
            ItemKind::Table => "ALTER TABLE",
            ItemKind::MaterializedView => "ALTER MATERIALIZED VIEW",
            ItemKind::Index => "ALTER INDEX",
            ItemKind::Source => "ALTER SOURCE",
            ItemKind::View => "ALTER VIEW",
        };
        Ok(ExecuteResponse::command(tag))
    }

    /// Removes an item's compute state (dataflows, inputs).
    pub(crate) fn drop_compute_state(&self, item: &CatalogItem) {
        match item.kind() {
            ItemKind::Table | ItemKind::Source => {
                self.remove_input(item.id());
                self.inner
                    .compute
                    .send(ComputeCommand::DropCollection { id: item.id() });
                crate::sources::stop_source(self, item.id());
            }
            ItemKind::MaterializedView | ItemKind::Index => {
                self.inner
                    .compute
                    .send(ComputeCommand::DropCollection { id: item.id() });
            }
            ItemKind::View => {}
        }
    }

    pub(crate) async fn drop_objects(
        &self,
        object_type: &ast::ObjectType,
        names: &[ast::ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<ExecuteResponse, AdapterError> {
        let (kind, tag) = match object_type {
            ast::ObjectType::Table => (ItemKind::Table, "DROP TABLE"),
            ast::ObjectType::View => (ItemKind::View, "DROP VIEW"),
            ast::ObjectType::MaterializedView => {
                (ItemKind::MaterializedView, "DROP MATERIALIZED VIEW")
            }
            ast::ObjectType::Index => (ItemKind::Index, "DROP INDEX"),
            other => return Err(AdapterError::unsupported(format!("DROP {other}"))),
        };
        self.drop_items(kind, tag, names, if_exists, cascade).await
    }

    /// Drops the named items of one kind, and with `cascade` everything that depends on
    /// them. Indexes and a source's subsources go with their object in any case.
    pub(crate) async fn drop_items(
        &self,
        kind: ItemKind,
        tag: &str,
        names: &[ast::ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<ExecuteResponse, AdapterError> {
        let _write = self.inner.write_lock.clone().write_owned().await;
        let mut catalog = (*self.catalog()).clone();
        let mut targets: Vec<GlobalId> = Vec::new();
        let mut notices = Vec::new();
        for name in names {
            let parts = normalize_name(name)?;
            match catalog.resolve(&parts) {
                None => {
                    if if_exists {
                        notices.push(format!(
                            "{} \"{}\" does not exist, skipping",
                            kind.name(),
                            parts.join(".")
                        ));
                        continue;
                    }
                    if kind == ItemKind::Index {
                        return Err(AdapterError::UnknownObject(format!(
                            "index \"{}\" does not exist",
                            parts.join(".")
                        )));
                    }
                    return Err(PlanError::UnknownRelation(parts.join(".")).into());
                }
                Some(item) if item.kind() != kind => {
                    let hint = match item.kind() {
                        ItemKind::Table => "DROP TABLE",
                        ItemKind::View => "DROP VIEW",
                        ItemKind::MaterializedView => "DROP MATERIALIZED VIEW",
                        ItemKind::Index => "DROP INDEX",
                        ItemKind::Source => "DROP SOURCE",
                    };
                    return Err(AdapterError::Plan(PlanError::WrongObjectType(format!(
                        "\"{}\" is not a {} (use {hint} to remove a {})",
                        item.name(),
                        kind.name(),
                        item.kind().name()
                    ))));
                }
                Some(item) => {
                    if let Some(parent) = crate::sources::parent_of(item) {
                        let parent = catalog.get(parent).map(|p| p.name().to_string());
                        return Err(AdapterError::Invalid {
                            code: "2BP01",
                            message: format!(
                                "cannot drop subsource \"{}\": it belongs to source \"{}\" (drop the source instead)",
                                item.name(),
                                parent.unwrap_or_default()
                            ),
                        });
                    }
                    if !targets.contains(&item.id()) {
                        targets.push(item.id());
                    }
                }
            }
        }
        // Everything that depends on the targets; indexes go with their object regardless.
        let mut to_drop: Vec<GlobalId> = Vec::new();
        for target in &targets {
            for id in catalog.dependency_closure(*target) {
                if !to_drop.contains(&id) {
                    to_drop.push(id);
                }
            }
        }
        if !cascade {
            let blocking: Vec<GlobalId> = to_drop
                .iter()
                .copied()
                .filter(|id| !targets.contains(id))
                .filter(|id| {
                    let item = catalog.get(*id).expect("closure holds catalog items");
                    // An index of a target is dropped with it, as in PostgreSQL.
                    !(item.kind() == ItemKind::Index && matches!(&item.details, ItemDetails::Index { on, .. } if targets.contains(on)))
                        // A source's subsources are part of it.
                        && !crate::sources::parent_of(item).is_some_and(|p| targets.contains(&p))
                })
                .collect();
            if !blocking.is_empty() {
                let target = targets[0];
                let item = catalog.get(target).expect("target exists");
                return Err(AdapterError::Plan(PlanError::DependentObjects {
                    message: format!(
                        "cannot drop {} \"{}\" because other objects depend on it",
                        item.kind().name(),
                        item.name()
                    ),
                    detail: describe_dependents(&catalog, target, &blocking),
                }));
            }
        }
        if to_drop.is_empty() {
            return Ok(ExecuteResponse::Command {
                tag: tag.into(),
                notice: notices.into_iter().next(),
            });
        }
        to_drop.sort();
        let items: Vec<CatalogItem> = to_drop
            .iter()
            .rev()
            .filter_map(|id| catalog.get(*id).cloned())
            .collect();
        let durable: Vec<&DurableItem> = items.iter().map(|i| &i.durable).collect();
        self.commit_catalog(&[], &durable).await?;
        let dropped: Vec<(GlobalId, String, &'static str)> = items
            .iter()
            .map(|i| (i.id(), i.name().to_string(), i.kind().name()))
            .collect();
        self.end_subscriptions_reading(&dropped);
        for item in &items {
            self.drop_compute_state(item);
            catalog.remove(item.id());
        }
        self.set_catalog(catalog);
        // Tables' and sources' logs go last: the catalog no longer mentions them.
        let collections: Vec<GlobalId> = items
            .iter()
            .filter(|i| matches!(i.kind(), ItemKind::Table | ItemKind::Source))
            .map(|i| i.id())
            .collect();
        if !collections.is_empty() {
            let storage = Arc::clone(&self.inner.storage);
            tokio::task::spawn_blocking(move || -> Result<(), AdapterError> {
                let mut log = storage
                    .lock()
                    .map_err(|_| AdapterError::internal("storage lock poisoned"))?;
                for id in collections {
                    log.drop_collection(id)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| AdapterError::internal(e.to_string()))??;
        }
        let notice = if cascade && items.len() > targets.len() {
            Some(format!(
                "drop cascades to {} other objects",
                items.len() - targets.len()
            ))
        } else {
            notices.into_iter().next()
        };
        Ok(ExecuteResponse::Command {
            tag: tag.into(),
            notice,
        })
    }
}

fn describe_dependents(catalog: &Catalog, target: GlobalId, dependents: &[GlobalId]) -> String {
    let target = catalog.get(target).expect("target exists");
    dependents
        .iter()
        .filter_map(|id| catalog.get(*id))
        .map(|d| {
            format!(
                "{} {} depends on {} {}",
                d.kind().name(),
                d.name(),
                target.kind().name(),
                target.name()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn rename_columns(
    mut desc: evert_repr::RelationDesc,
    columns: &[ast::ViewColumnDef],
) -> Result<evert_repr::RelationDesc, AdapterError> {
    if columns.is_empty() {
        return Ok(desc);
    }
    if columns.len() > desc.arity() {
        return Err(AdapterError::Invalid {
            code: "42601",
            message: "CREATE VIEW specifies more column names than columns".into(),
        });
    }
    for (i, c) in columns.iter().enumerate() {
        desc.names[i] = evert_sql::parse::normalize_ident(&c.name);
    }
    Ok(desc)
}

fn table_item(
    durable: DurableItem,
    plan: evert_sql::plan::statement::CreateTablePlan,
    since: Timestamp,
) -> Result<CatalogItem, AdapterError> {
    let mut checks = Vec::new();
    for check in &plan.checks {
        let predicate = crate::write::plan_check(&plan.desc, check)?;
        checks.push((check.clone(), predicate));
    }
    Ok(CatalogItem {
        durable,
        desc: plan.desc,
        details: ItemDetails::Table(TableDetails {
            defaults: plan.defaults,
            primary_key: plan.primary_key,
            unique: plan.unique,
            checks,
        }),
        uses: vec![],
        since,
    })
}

impl Adapter {
    /// `CREATE UNIQUE INDEX` on a table that already holds two rows with the same non-NULL
    /// key fails, as in PostgreSQL, naming one duplicated key (the least).
    async fn check_no_duplicates(
        &self,
        session: &Session,
        catalog: &Catalog,
        table: &CatalogItem,
        index: &CatalogItem,
    ) -> Result<(), AdapterError> {
        let ItemDetails::Index { keys, .. } = &index.details else {
            return Err(AdapterError::internal("not an index"));
        };
        let columns: Vec<usize> = keys
            .iter()
            .map(|k| match k {
                MirScalarExpr::Column(c) => Ok(*c),
                _ => Err(AdapterError::internal("unique index on an expression")),
            })
            .collect::<Result<_, _>>()?;
        // SELECT keys FROM t WHERE keys are not NULL GROUP BY keys HAVING count(*) > 1
        // ORDER BY keys LIMIT 1, run once as a transient dataflow.
        let arity = columns.len();
        let count = AggregateExpr {
            func: AggregateFunc::Count,
            args: vec![],
            distinct: false,
            filter: None,
            order_by: vec![],
        };
        let duplicated = MirRelationExpr::global_get(table.id(), table.desc.typ.clone())
            .filter(
                columns
                    .iter()
                    .map(|c| MirScalarExpr::column(*c).is_null().not())
                    .collect(),
            )
            .reduce(columns.clone(), vec![count])
            .filter(vec![MirScalarExpr::column(arity).call_binary(
                MirScalarExpr::literal(Datum::Int64(1), ScalarType::Int64),
                BinaryFunc::Gt,
            )]);
        let first = MirRelationExpr::TopK {
            input: Box::new(duplicated),
            group_key: vec![],
            order_key: (0..arity).map(ColumnOrder::asc).collect(),
            limit: Some(1),
            offset: 0,
        }
        .project((0..arity).collect());
        let plan = evert_transform::optimize(first)?;
        self.inner.committer.barrier().await?;
        let ts = self.read_timestamp(session);
        let rows = self.peek_expr(catalog, plan, ts, session).await?;
        let Some((key, _)) = rows.into_iter().min() else {
            return Ok(());
        };
        let names: Vec<&str> = columns
            .iter()
            .map(|c| table.desc.names[*c].as_str())
            .collect();
        let values: Vec<String> = key.iter().map(|d| d.to_string()).collect();
        Err(AdapterError::Constraint {
            code: "23505",
            message: format!("could not create unique index \"{}\"", index.name()),
            detail: Some(format!(
                "Key ({})=({}) is duplicated.",
                names.join(", "),
                values.join(", ")
            )),
        })
    }
}
