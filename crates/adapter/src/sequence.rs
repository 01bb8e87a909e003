//! Sequencing: which handler runs each statement, plus transactions, SET and SHOW.

use evert_repr::{Datum, RelationDesc, Row, ScalarType};
use evert_sql::parse::{ParsedStatement, ShowObjectKind, ShowStatement, Statement};
use evert_sql::PlanError;
use sqlparser::ast;

use crate::catalog::{ItemDetails, ItemKind};
use crate::coord::Adapter;
use crate::error::AdapterError;
use crate::response::ExecuteResponse;
use crate::session::{Session, Transaction, TransactionStatus, DEFAULT_VARS};

fn text_desc(columns: &[&str]) -> RelationDesc {
    let mut desc = RelationDesc::empty();
    for c in columns {
        desc = desc.with_column(*c, ScalarType::String.nullable(true));
    }
    desc
}

fn text_rows(rows: Vec<Vec<String>>) -> Vec<Row> {
    rows.into_iter()
        .map(|r| Row::pack(r.iter().map(|s| Datum::String(s))))
        .collect()
}

fn ddl_in_block_error() -> AdapterError {
    AdapterError::Transaction {
        code: "25001",
        message: "DDL statements cannot run inside a transaction block in evert".into(),
    }
}

impl Adapter {
    pub(crate) async fn sequence(
        &self,
        session: &mut Session,
        stmt: &ParsedStatement,
        params: Option<Vec<(Row, ScalarType)>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        match &stmt.stmt {
            Statement::Select { query, as_of } => {
                self.sequence_select(session, query, as_of.as_ref(), params)
                    .await
            }
            Statement::Subscribe(s) => self.sequence_subscribe(session, s).await,
            Statement::CopyTo { inner } => {
                let inner = match inner.as_ref() {
                    Statement::Select { query, as_of } => {
                        self.sequence_select(session, query, as_of.as_ref(), params)
                            .await?
                    }
                    Statement::Subscribe(s) => self.sequence_subscribe(session, s).await?,
                    _ => return Err(AdapterError::unsupported("COPY TO of this statement")),
                };
                Ok(ExecuteResponse::CopyTo(Box::new(inner)))
            }
            Statement::CopyFrom {
                table,
                columns,
                options,
            } => self.sequence_copy_from(session, table, columns, options),
            Statement::Show(show) => self.sequence_show(session, show),
            Statement::DeclareCursor { name, inner } => {
                self.declare_cursor(session, name, inner).await
            }
            Statement::Fetch {
                name,
                count,
                timeout,
            } => self.fetch(session, name, *count, timeout.as_ref()).await,
            Statement::CloseCursor { name } => {
                if session.cursors.remove(name).is_none() {
                    return Err(AdapterError::UnknownCursor(name.clone()));
                }
                Ok(ExecuteResponse::command("CLOSE CURSOR"))
            }
            Statement::Explain { query } => self.sequence_explain(session, query).await,
            Statement::ExplainTimestamp { query } => {
                self.sequence_explain_timestamp(session, query).await
            }
            Statement::CreateSource(s) => {
                if session.in_block() {
                    return Err(ddl_in_block_error());
                }
                crate::sources::create_source(self, session, s, &stmt.sql).await
            }
            Statement::DropSource {
                names,
                if_exists,
                cascade,
            } => {
                if session.in_block() {
                    return Err(ddl_in_block_error());
                }
                self.drop_items(ItemKind::Source, "DROP SOURCE", names, *if_exists, *cascade)
                    .await
            }
            Statement::AlterRetainHistory { name, retain } => {
                self.alter_retain_history(name, retain.as_deref()).await
            }
            Statement::Empty => Ok(ExecuteResponse::EmptyQuery),
            Statement::Sql(s) => self.sequence_sql(session, s, &stmt.sql, params).await,
        }
    }

    async fn sequence_sql(
        &self,
        session: &mut Session,
        stmt: &ast::Statement,
        sql: &str,
        params: Option<Vec<(Row, ScalarType)>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        use ast::Statement as S;
        let ddl_in_block = matches!(
            stmt,
            S::CreateTable(_) | S::CreateView(_) | S::CreateIndex(_) | S::Drop { .. }
        );
        if ddl_in_block && session.in_block() {
            return Err(ddl_in_block_error());
        }
        match stmt {
            S::Insert(insert) => self.sequence_insert(session, insert, params).await,
            S::Update(update) => self.sequence_update(session, update, params).await,
            S::Delete(delete) => self.sequence_delete(session, delete, params).await,
            S::CreateTable(create) => self.create_table(session, create, sql).await,
            S::CreateView(create) => self.create_view(session, create, sql).await,
            S::CreateIndex(create) => {
                if create.concurrently {
                    // Index creation never blocks writers in evert; CONCURRENTLY is accepted.
                }
                self.create_index(session, create, sql).await
            }
            S::Drop {
                object_type,
                if_exists,
                names,
                cascade,
                restrict: _,
                purge: _,
                temporary: _,
                table: _,
            } => {
                self.drop_objects(object_type, names, *if_exists, *cascade)
                    .await
            }
            S::StartTransaction { .. } => self.begin(session),
            S::Commit { chain, .. } => {
                if *chain {
                    return Err(AdapterError::unsupported("COMMIT AND CHAIN"));
                }
                self.commit(session).await
            }
            S::Rollback { chain, savepoint } => {
                if *chain || savepoint.is_some() {
                    return Err(AdapterError::unsupported(
                        "ROLLBACK AND CHAIN / TO SAVEPOINT",
                    ));
                }
                let tag = if matches!(session.transaction, TransactionStatus::Idle) {
                    "ROLLBACK"
                } else {
                    "ROLLBACK"
                };
                let notice = matches!(session.transaction, TransactionStatus::Idle)
                    .then(|| "there is no transaction in progress".to_string());
                session.transaction = TransactionStatus::Idle;
                session.cursors.clear();
                Ok(ExecuteResponse::Command {
                    tag: tag.into(),
                    notice,
                })
            }
            S::Set(set) => self.set(session, set),
            S::ShowVariable { variable } => {
                let name = variable
                    .iter()
                    .map(|i| i.value.to_lowercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                self.sequence_show(session, &ShowStatement::Variable(name))
            }
            S::Discard { .. } => {
                session.cursors.clear();
                Ok(ExecuteResponse::command("DISCARD ALL"))
            }
            S::Deallocate { .. } => Ok(ExecuteResponse::command("DEALLOCATE")),
            S::Savepoint { .. } | S::ReleaseSavepoint { .. } => {
                Err(AdapterError::unsupported("SAVEPOINT"))
            }
            S::Truncate(_) => Err(AdapterError::unsupported("TRUNCATE (use DELETE FROM)")),
            S::AlterTable(_) => Err(AdapterError::unsupported("ALTER TABLE")),
            S::CreateSchema { .. } => Err(AdapterError::unsupported("CREATE SCHEMA")),
            S::CreateDatabase { .. } => Err(AdapterError::unsupported("CREATE DATABASE")),
            other => {
                let text = other.to_string();
                let words: Vec<&str> = text.split_whitespace().take(2).collect();
                Err(AdapterError::unsupported(format!(
                    "{} statements",
                    words.join(" ").to_uppercase()
                )))
            }
        }
    }

    fn begin(&self, session: &mut Session) -> Result<ExecuteResponse, AdapterError> {
        if session.in_block() {
            return Ok(ExecuteResponse::Command {
                tag: "BEGIN".into(),
                notice: Some("there is already a transaction in progress".into()),
            });
        }
        session.transaction = TransactionStatus::InBlock(Transaction {
            started_millis: evert_repr::now_millis(),
            ..Default::default()
        });
        Ok(ExecuteResponse::command("BEGIN"))
    }

    async fn commit(&self, session: &mut Session) -> Result<ExecuteResponse, AdapterError> {
        let status = std::mem::take(&mut session.transaction);
        session.cursors.clear();
        match status {
            TransactionStatus::Idle => Ok(ExecuteResponse::Command {
                tag: "COMMIT".into(),
                notice: Some("there is no transaction in progress".into()),
            }),
            TransactionStatus::Failed => Ok(ExecuteResponse::command("ROLLBACK")),
            TransactionStatus::InBlock(txn) => {
                let writes: crate::committer::Batches = txn
                    .writes
                    .into_iter()
                    .filter(|(_, w)| !w.is_empty())
                    .collect();
                let _guard =
                    if txn.unlocked_writes && txn.write_guard.is_none() && !writes.is_empty() {
                        Some(self.inner.write_lock.clone().write_owned().await)
                    } else {
                        None
                    };
                if txn.unlocked_writes && !writes.is_empty() {
                    self.recheck_keys_at_commit(session, &writes).await?;
                }
                if !writes.is_empty() {
                    // All of the transaction's writes commit at one timestamp.
                    let ts = self.inner.committer.write(writes).await?;
                    session.last_write = session.last_write.max(ts);
                }
                drop(txn.write_guard);
                Ok(ExecuteResponse::command("COMMIT"))
            }
        }
    }

    fn set(&self, session: &mut Session, set: &ast::Set) -> Result<ExecuteResponse, AdapterError> {
        let (name, value) = match set {
            ast::Set::SingleAssignment {
                variable, values, ..
            } => {
                let name = variable.to_string().to_lowercase();
                let value = values
                    .iter()
                    .map(|v| match v {
                        ast::Expr::Value(v) => match &v.value {
                            ast::Value::SingleQuotedString(s) => s.clone(),
                            other => other.to_string(),
                        },
                        ast::Expr::Identifier(i) => i.value.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                (name, value)
            }
            ast::Set::SetTimeZone { value, .. } => (
                "timezone".to_string(),
                value.to_string().trim_matches('\'').to_string(),
            ),
            ast::Set::SetNames { charset_name, .. } => {
                ("client_encoding".to_string(), charset_name.value.clone())
            }
            ast::Set::SetTransaction { .. } => return Ok(ExecuteResponse::command("SET")),
            other => return Err(AdapterError::unsupported(format!("{other}"))),
        };
        let name = match name.as_str() {
            "time zone" => "timezone".to_string(),
            other => other.to_string(),
        };
        if value.eq_ignore_ascii_case("default")
            || value.eq_ignore_ascii_case("local") && name == "timezone"
        {
            let default = DEFAULT_VARS
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            session.vars.insert(name.clone(), default.clone());
            return Ok(ExecuteResponse::SetVariable {
                name,
                value: default,
            });
        }
        match name.as_str() {
            "timezone" => {
                let v = value.to_ascii_lowercase();
                if !matches!(
                    v.as_str(),
                    "utc" | "etc/utc" | "z" | "zulu" | "+00" | "+00:00" | "00:00" | "gmt" | "0"
                ) {
                    return Err(AdapterError::unsupported(format!(
                        "time zone \"{value}\" (evert sessions use UTC)"
                    )));
                }
                session.vars.insert(name.clone(), "UTC".into());
                return Ok(ExecuteResponse::SetVariable {
                    name,
                    value: "UTC".into(),
                });
            }
            "client_encoding" => {
                if !matches!(
                    value.to_ascii_uppercase().as_str(),
                    "UTF8" | "UTF-8" | "UNICODE"
                ) {
                    return Err(AdapterError::Invalid {
                        code: "22023",
                        message: format!(
                            "invalid value for parameter \"client_encoding\": \"{value}\""
                        ),
                    });
                }
                session.vars.insert(name.clone(), "UTF8".into());
                return Ok(ExecuteResponse::SetVariable {
                    name,
                    value: "UTF8".into(),
                });
            }
            "standard_conforming_strings"
                if !matches!(value.to_ascii_lowercase().as_str(), "on" | "true") =>
            {
                return Err(AdapterError::unsupported(
                    "standard_conforming_strings = off",
                ));
            }
            _ => {}
        }
        let known = DEFAULT_VARS.iter().any(|(k, _)| *k == name)
            || matches!(
                name.as_str(),
                "transaction_read_only"
                    | "default_transaction_read_only"
                    | "jit"
                    | "geqo"
                    | "enable_seqscan"
                    | "work_mem"
                    | "search_path"
                    | "role"
            );
        if !known {
            return Err(AdapterError::UnknownObject(format!(
                "unrecognized configuration parameter \"{name}\""
            )));
        }
        session.vars.insert(name.clone(), value.clone());
        Ok(ExecuteResponse::SetVariable { name, value })
    }

    fn sequence_show(
        &self,
        session: &Session,
        show: &ShowStatement,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let kind_of = |k: ShowObjectKind| match k {
            ShowObjectKind::Table => ItemKind::Table,
            ShowObjectKind::View => ItemKind::View,
            ShowObjectKind::MaterializedView => ItemKind::MaterializedView,
            ShowObjectKind::Index => ItemKind::Index,
            ShowObjectKind::Source => ItemKind::Source,
        };
        let resolve =
            |name: &ast::ObjectName| -> Result<&crate::catalog::CatalogItem, AdapterError> {
                let parts = evert_sql::parse::normalize_name(name)?;
                catalog
                    .resolve(&parts)
                    .ok_or_else(|| AdapterError::Plan(PlanError::UnknownRelation(parts.join("."))))
            };
        match show {
            ShowStatement::Objects { kind } => {
                let kind = kind_of(*kind);
                if kind == ItemKind::Source {
                    return Ok(crate::sources::show_sources(&catalog));
                }
                let mut names: Vec<Vec<String>> = catalog
                    .items()
                    .filter(|i| i.kind() == kind)
                    .map(|i| vec![i.name().to_string()])
                    .collect();
                names.sort();
                Ok(ExecuteResponse::Rows {
                    desc: text_desc(&["name"]),
                    rows: text_rows(names),
                    tag: None,
                })
            }
            ShowStatement::Subsources { on } => {
                let on = match on {
                    Some(name) => Some(resolve(name)?),
                    None => None,
                };
                crate::sources::show_subsources(&catalog, on)
            }
            ShowStatement::Indexes { on } => {
                let on_id = match on {
                    Some(name) => Some(resolve(name)?.id()),
                    None => None,
                };
                let mut rows = Vec::new();
                for item in catalog.items() {
                    if let ItemDetails::Index {
                        on: target,
                        key_text,
                        ..
                    } = &item.details
                    {
                        if on_id.is_some_and(|o| o != *target) {
                            continue;
                        }
                        let on_name = catalog
                            .get(*target)
                            .map(|t| t.name().to_string())
                            .unwrap_or_default();
                        rows.push(vec![
                            item.name().to_string(),
                            on_name,
                            format!("{{{}}}", key_text.join(",")),
                        ]);
                    }
                }
                rows.sort();
                Ok(ExecuteResponse::Rows {
                    desc: text_desc(&["name", "on", "key"]),
                    rows: text_rows(rows),
                    tag: None,
                })
            }
            ShowStatement::Columns { from } => {
                let parts = evert_sql::parse::normalize_name(from)?;
                let view = catalog.for_session(&session.database);
                let relation = evert_sql::SessionCatalog::resolve_relation(&view, &parts)
                    .ok_or_else(|| {
                        AdapterError::Plan(PlanError::UnknownRelation(parts.join(".")))
                    })?;
                let rows = relation
                    .desc
                    .iter()
                    .map(|(n, t)| {
                        vec![
                            n.clone(),
                            if t.nullable {
                                "true".into()
                            } else {
                                "false".into()
                            },
                            t.scalar_type.sql_name(),
                        ]
                    })
                    .collect();
                Ok(ExecuteResponse::Rows {
                    desc: text_desc(&["name", "nullable", "type"]),
                    rows: text_rows(rows),
                    tag: None,
                })
            }
            ShowStatement::Create { kind, name } => {
                let item = resolve(name)?;
                let kind = kind_of(*kind);
                if item.kind() != kind {
                    return Err(AdapterError::Plan(PlanError::WrongObjectType(format!(
                        "{} is not a {}",
                        item.name(),
                        kind.name()
                    ))));
                }
                let rows = vec![vec![
                    item.name().to_string(),
                    item.durable.create_sql.clone(),
                ]];
                Ok(ExecuteResponse::Rows {
                    desc: text_desc(&["name", "create_sql"]),
                    rows: text_rows(rows),
                    tag: None,
                })
            }
            ShowStatement::Variable(name) => {
                let name = match name.as_str() {
                    "time zone" => "timezone".to_string(),
                    "transaction isolation level" => "transaction_isolation".to_string(),
                    other => other.to_string(),
                };
                if name == "all" {
                    let rows = session
                        .vars
                        .iter()
                        .map(|(k, v)| vec![k.clone(), v.clone(), String::new()])
                        .collect();
                    return Ok(ExecuteResponse::Rows {
                        desc: text_desc(&["name", "setting", "description"]),
                        rows: text_rows(rows),
                        tag: None,
                    });
                }
                let value = session.vars.get(&name).cloned().ok_or_else(|| {
                    AdapterError::UnknownObject(format!(
                        "unrecognized configuration parameter \"{name}\""
                    ))
                })?;
                Ok(ExecuteResponse::Rows {
                    desc: text_desc(&[&name]),
                    rows: text_rows(vec![vec![value]]),
                    tag: None,
                })
            }
        }
    }
}
