//! Built-in relations: a small `information_schema` and `pg_catalog`, computed from the
//! catalog when a query reads them, so that tools and users can list what exists with SQL.
//!
//! They are snapshots taken when the query is planned; a materialized view or subscription
//! over them is refused (they do not change through the log).

use evert_repr::{ColumnType, Datum, GlobalId, RelationDesc, Row, ScalarType};
use evert_sql::{CatalogRelation, RelationKind};

use crate::catalog::{Catalog, ItemDetails, ItemKind, DEFAULT_SCHEMA};

struct Builtin {
    id: u64,
    schema: &'static str,
    name: &'static str,
    columns: &'static [(&'static str, ScalarType)],
}

const fn col(name: &'static str, t: ScalarType) -> (&'static str, ScalarType) {
    (name, t)
}

const TEXT: ScalarType = ScalarType::String;
const INT: ScalarType = ScalarType::Int32;
const OID: ScalarType = ScalarType::Int64;
const BOOL: ScalarType = ScalarType::Bool;

const BUILTINS: &[Builtin] = &[
    Builtin {
        id: 100,
        schema: "information_schema",
        name: "tables",
        columns: &[
            col("table_catalog", TEXT),
            col("table_schema", TEXT),
            col("table_name", TEXT),
            col("table_type", TEXT),
        ],
    },
    Builtin {
        id: 101,
        schema: "information_schema",
        name: "columns",
        columns: &[
            col("table_catalog", TEXT),
            col("table_schema", TEXT),
            col("table_name", TEXT),
            col("column_name", TEXT),
            col("ordinal_position", INT),
            col("is_nullable", TEXT),
            col("data_type", TEXT),
            col("column_default", TEXT),
        ],
    },
    Builtin {
        id: 102,
        schema: "information_schema",
        name: "schemata",
        columns: &[col("catalog_name", TEXT), col("schema_name", TEXT)],
    },
    Builtin {
        id: 103,
        schema: "pg_catalog",
        name: "pg_tables",
        columns: &[
            col("schemaname", TEXT),
            col("tablename", TEXT),
            col("tableowner", TEXT),
            col("hasindexes", BOOL),
        ],
    },
    Builtin {
        id: 104,
        schema: "pg_catalog",
        name: "pg_views",
        columns: &[
            col("schemaname", TEXT),
            col("viewname", TEXT),
            col("viewowner", TEXT),
            col("definition", TEXT),
        ],
    },
    Builtin {
        id: 105,
        schema: "pg_catalog",
        name: "pg_matviews",
        columns: &[
            col("schemaname", TEXT),
            col("matviewname", TEXT),
            col("matviewowner", TEXT),
            col("definition", TEXT),
        ],
    },
    Builtin {
        id: 106,
        schema: "pg_catalog",
        name: "pg_indexes",
        columns: &[
            col("schemaname", TEXT),
            col("tablename", TEXT),
            col("indexname", TEXT),
            col("indexdef", TEXT),
        ],
    },
    Builtin {
        id: 107,
        schema: "pg_catalog",
        name: "pg_namespace",
        columns: &[col("oid", OID), col("nspname", TEXT)],
    },
    Builtin {
        id: 108,
        schema: "pg_catalog",
        name: "pg_database",
        columns: &[col("oid", OID), col("datname", TEXT)],
    },
    Builtin {
        id: 109,
        schema: "pg_catalog",
        name: "pg_type",
        columns: &[
            col("oid", OID),
            col("typname", TEXT),
            col("typlen", INT),
            col("typtype", TEXT),
        ],
    },
    Builtin {
        id: 110,
        schema: "mz_catalog",
        name: "mz_objects",
        columns: &[
            col("id", TEXT),
            col("schema_name", TEXT),
            col("name", TEXT),
            col("type", TEXT),
            col("create_sql", TEXT),
        ],
    },
];

fn desc_of(b: &Builtin) -> RelationDesc {
    let mut desc = RelationDesc::empty();
    for (name, t) in b.columns {
        desc = desc.with_column(*name, ColumnType::new(t.clone(), true));
    }
    desc
}

fn relation(b: &Builtin) -> CatalogRelation {
    CatalogRelation {
        id: GlobalId::System(b.id),
        schema: b.schema.to_string(),
        name: b.name.to_string(),
        kind: RelationKind::System,
        desc: desc_of(b),
        defaults: vec![None; b.columns.len()],
    }
}

pub fn resolve(parts: &[String]) -> Option<CatalogRelation> {
    let (schema, name) = match parts {
        [name] => (None, name.as_str()),
        [schema, name] | [_, schema, name] => (Some(schema.as_str()), name.as_str()),
        _ => return None,
    };
    BUILTINS
        .iter()
        .find(|b| {
            b.name == name
                && match schema {
                    Some(s) => s == b.schema,
                    // Unqualified names find pg_catalog (always on PostgreSQL's search path) and mz_catalog.
                    None => b.schema == "pg_catalog" || b.schema == "mz_catalog",
                }
        })
        .map(relation)
}

pub fn by_id(id: GlobalId) -> Option<CatalogRelation> {
    match id {
        GlobalId::System(n) => BUILTINS.iter().find(|b| b.id == n).map(relation),
        _ => None,
    }
}

pub fn is_builtin(id: GlobalId) -> bool {
    matches!(id, GlobalId::System(n) if BUILTINS.iter().any(|b| b.id == n))
}

fn text_row(values: &[Option<String>]) -> Row {
    Row::pack(values.iter().map(|v| match v {
        Some(s) => Datum::String(s),
        None => Datum::Null,
    }))
}

/// The current contents of a built-in relation.
pub fn contents(id: GlobalId, catalog: &Catalog, database: &str) -> Vec<Row> {
    let GlobalId::System(n) = id else {
        return vec![];
    };
    let user = "evert".to_string();
    let s = |x: &str| Some(x.to_string());
    let mut rows = Vec::new();
    match n {
        100 => {
            for item in catalog.items() {
                let kind = match item.kind() {
                    ItemKind::Table | ItemKind::Source => "BASE TABLE",
                    ItemKind::View | ItemKind::MaterializedView => "VIEW",
                    ItemKind::Index => continue,
                };
                rows.push(text_row(&[
                    s(database),
                    s(&item.durable.schema),
                    s(item.name()),
                    s(kind),
                ]));
            }
        }
        101 => {
            for item in catalog.items() {
                if item.kind() == ItemKind::Index {
                    continue;
                }
                let defaults = match &item.details {
                    ItemDetails::Table(t) => t.defaults.clone(),
                    _ => vec![],
                };
                for (i, (name, typ)) in item.desc.iter().enumerate() {
                    rows.push(Row::pack([
                        Datum::String(database),
                        Datum::String(&item.durable.schema),
                        Datum::String(item.name()),
                        Datum::String(name),
                        Datum::Int32(i as i32 + 1),
                        Datum::String(if typ.nullable { "YES" } else { "NO" }),
                        Datum::String(&typ.scalar_type.sql_name()),
                        match defaults.get(i).and_then(|d| d.as_deref()) {
                            Some(d) => Datum::String(d),
                            None => Datum::Null,
                        },
                    ]));
                }
            }
        }
        102 => {
            for schema in [
                DEFAULT_SCHEMA,
                "pg_catalog",
                "information_schema",
                "mz_catalog",
            ] {
                rows.push(text_row(&[s(database), s(schema)]));
            }
        }
        103 => {
            for item in catalog.items().filter(|i| i.kind() == ItemKind::Table) {
                let has_indexes = !catalog.indexes_on(item.id()).is_empty();
                rows.push(Row::pack([
                    Datum::String(&item.durable.schema),
                    Datum::String(item.name()),
                    Datum::String(&user),
                    Datum::from_bool(has_indexes),
                ]));
            }
        }
        104 | 105 => {
            let kind = if n == 104 {
                ItemKind::View
            } else {
                ItemKind::MaterializedView
            };
            for item in catalog.items().filter(|i| i.kind() == kind) {
                let definition = item
                    .durable
                    .create_sql
                    .split_once(" AS ")
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default();
                rows.push(text_row(&[
                    s(&item.durable.schema),
                    s(item.name()),
                    s(&user),
                    Some(definition),
                ]));
            }
        }
        106 => {
            for item in catalog.items() {
                if let ItemDetails::Index { on, .. } = &item.details {
                    let table = catalog
                        .get(*on)
                        .map(|t| t.name().to_string())
                        .unwrap_or_default();
                    rows.push(text_row(&[
                        s(&item.durable.schema),
                        Some(table),
                        s(item.name()),
                        s(&item.durable.create_sql),
                    ]));
                }
            }
        }
        107 => {
            for (oid, name) in [
                (11i64, "pg_catalog"),
                (2200, DEFAULT_SCHEMA),
                (13000, "information_schema"),
                (16000, "mz_catalog"),
            ] {
                rows.push(Row::pack([Datum::Int64(oid), Datum::String(name)]));
            }
        }
        108 => rows.push(Row::pack([Datum::Int64(16384), Datum::String(database)])),
        109 => {
            for t in [
                ScalarType::Bool,
                ScalarType::Int16,
                ScalarType::Int32,
                ScalarType::Int64,
                ScalarType::Float32,
                ScalarType::Float64,
                ScalarType::numeric(),
                ScalarType::String,
                ScalarType::VarChar { max_length: None },
                ScalarType::Char { length: 1 },
                ScalarType::Bytes,
                ScalarType::Date,
                ScalarType::Time,
                ScalarType::Timestamp,
                ScalarType::TimestampTz,
                ScalarType::Interval,
                ScalarType::Uuid,
                ScalarType::Jsonb,
            ] {
                let name = match &t {
                    ScalarType::Int16 => "int2".to_string(),
                    ScalarType::Int32 => "int4".to_string(),
                    ScalarType::Int64 => "int8".to_string(),
                    ScalarType::Float32 => "float4".to_string(),
                    ScalarType::Float64 => "float8".to_string(),
                    ScalarType::VarChar { .. } => "varchar".to_string(),
                    ScalarType::Char { .. } => "bpchar".to_string(),
                    ScalarType::Bool => "bool".to_string(),
                    ScalarType::TimestampTz => "timestamptz".to_string(),
                    ScalarType::Timestamp => "timestamp".to_string(),
                    ScalarType::Time => "time".to_string(),
                    other => other.sql_name(),
                };
                rows.push(Row::pack([
                    Datum::Int64(i64::from(t.oid())),
                    Datum::String(&name),
                    Datum::Int32(i32::from(t.type_len())),
                    Datum::String("b"),
                ]));
            }
        }
        110 => {
            for item in catalog.items() {
                rows.push(text_row(&[
                    Some(item.id().to_string()),
                    s(&item.durable.schema),
                    s(item.name()),
                    s(item.kind().name()),
                    s(&item.durable.create_sql),
                ]));
            }
        }
        _ => {}
    }
    rows
}
