//! Describing statements for the extended protocol: parameter types and result shape,
//! without executing anything.

use evert_repr::{RelationDesc, ScalarType};
use evert_sql::parse::{ParsedStatement, ShowStatement, Statement};
use evert_sql::plan::statement::{describe_query, plan_delete, plan_insert, plan_update};
use evert_sql::plan::ParamTypes;
use sqlparser::ast;

use crate::coord::Adapter;
use crate::error::AdapterError;
use crate::session::{Cursor, Session};

/// What a prepared statement takes and returns.
#[derive(Clone, Debug)]
pub struct StatementDesc {
    pub params: Vec<ScalarType>,
    /// The rows it returns (None: no rows, or a COPY stream).
    pub result: Option<RelationDesc>,
}

fn text_desc(columns: &[&str]) -> RelationDesc {
    let mut desc = RelationDesc::empty();
    for c in columns {
        desc = desc.with_column(*c, ScalarType::String.nullable(true));
    }
    desc
}

impl Adapter {
    pub fn describe(
        &self,
        session: &Session,
        stmt: &ParsedStatement,
        given: &[Option<ScalarType>],
    ) -> Result<StatementDesc, AdapterError> {
        let catalog = self.catalog();
        let view = catalog.for_session(&session.database);
        let mut params = ParamTypes::default();
        for (i, t) in given.iter().enumerate() {
            if let Some(t) = t {
                params.set(i + 1, t.clone());
            }
        }
        let count = given.len();
        let fill = |mut types: Vec<ScalarType>| {
            while types.len() < count {
                types.push(ScalarType::String);
            }
            for (i, t) in given.iter().enumerate() {
                if let Some(t) = t {
                    types[i] = t.clone();
                }
            }
            types
        };
        Ok(match &stmt.stmt {
            Statement::Select { query, .. } => {
                let (desc, types) = describe_query(&view, query, params)?;
                StatementDesc {
                    params: fill(types),
                    result: Some(desc),
                }
            }
            Statement::Sql(s) => match s.as_ref() {
                ast::Statement::Insert(insert) => {
                    let plan = plan_insert(&view, insert, params, None)?;
                    StatementDesc {
                        params: fill(plan.param_types),
                        result: plan.returning.map(|(_, d)| d),
                    }
                }
                ast::Statement::Update(update) => {
                    let plan = plan_update(&view, update, params, None)?;
                    StatementDesc {
                        params: fill(plan.param_types),
                        result: plan.returning.map(|(_, d)| d),
                    }
                }
                ast::Statement::Delete(delete) => {
                    let plan = plan_delete(&view, delete, params, None)?;
                    StatementDesc {
                        params: fill(plan.param_types),
                        result: plan.returning.map(|(_, d)| d),
                    }
                }
                ast::Statement::ShowVariable { variable } => {
                    let name = variable
                        .iter()
                        .map(|i| i.value.to_lowercase())
                        .collect::<Vec<_>>()
                        .join(" ");
                    StatementDesc {
                        params: fill(vec![]),
                        result: Some(text_desc(&[&name])),
                    }
                }
                _ => StatementDesc {
                    params: fill(vec![]),
                    result: None,
                },
            },
            Statement::Show(show) => {
                let desc = match show {
                    ShowStatement::Objects {
                        kind: evert_sql::parse::ShowObjectKind::Source,
                    } => text_desc(&["name", "type", "cluster"]),
                    ShowStatement::Subsources { .. } => text_desc(&["name", "type"]),
                    ShowStatement::Objects { .. } => text_desc(&["name"]),
                    ShowStatement::Indexes { .. } => text_desc(&["name", "on", "key"]),
                    ShowStatement::Columns { .. } => text_desc(&["name", "nullable", "type"]),
                    ShowStatement::Create { .. } => text_desc(&["name", "create_sql"]),
                    ShowStatement::Variable(name) if name == "all" => {
                        text_desc(&["name", "setting", "description"])
                    }
                    ShowStatement::Variable(name) => {
                        let name = match name.as_str() {
                            "time zone" => "timezone",
                            "transaction isolation level" => "transaction_isolation",
                            other => other,
                        };
                        text_desc(&[name])
                    }
                };
                StatementDesc {
                    params: fill(vec![]),
                    result: Some(desc),
                }
            }
            Statement::Explain { .. } => StatementDesc {
                params: fill(vec![]),
                result: Some(text_desc(&["Optimized Plan"])),
            },
            Statement::ExplainTimestamp { .. } => StatementDesc {
                params: fill(vec![]),
                result: Some(text_desc(&["Timestamp"])),
            },
            Statement::Fetch { name, .. } => {
                let desc = session.cursors.get(name).map(Cursor::desc).cloned();
                StatementDesc {
                    params: fill(vec![]),
                    result: desc,
                }
            }
            _ => StatementDesc {
                params: fill(vec![]),
                result: None,
            },
        })
    }
}
