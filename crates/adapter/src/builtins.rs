//! Built-in relations: a small `information_schema` and `pg_catalog`, computed from the
//! catalog when a query reads them, so that tools and users can list what exists with SQL.
//!
//! They are snapshots taken when the query is planned; a materialized view or subscription
//! over them is refused (they do not change through the log).

use evert_repr::{ColumnType, Datum, GlobalId, RelationDesc, Row, ScalarType};
use evert_sql::{CatalogRelation, RelationKind};

use crate::catalog::{Catalog, CatalogItem, ItemDetails, ItemKind, DEFAULT_SCHEMA};

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
const INT2: ScalarType = ScalarType::Int16;
const FLOAT4: ScalarType = ScalarType::Float32;
/// Array columns (ACLs, options, key lists) are always NULL here; their type only has to exist.
const TEXT_ARRAY: ScalarType = ScalarType::String;
const INT2_ARRAY: ScalarType = ScalarType::Int16;
const OID_ARRAY: ScalarType = ScalarType::Int64;

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
        columns: &[
            col("oid", OID),
            col("nspname", TEXT),
            col("nspowner", OID),
            col("nspacl", TEXT_ARRAY),
        ],
    },
    Builtin {
        id: 108,
        schema: "pg_catalog",
        name: "pg_database",
        columns: &[
            col("oid", OID),
            col("datname", TEXT),
            col("datdba", OID),
            col("encoding", INT),
            col("datlocprovider", TEXT),
            col("datistemplate", BOOL),
            col("datallowconn", BOOL),
            col("datconnlimit", INT),
            col("datcollate", TEXT),
            col("datctype", TEXT),
            col("daticulocale", TEXT),
            col("datacl", TEXT_ARRAY),
        ],
    },
    Builtin {
        id: 109,
        schema: "pg_catalog",
        name: "pg_type",
        columns: &[
            col("oid", OID),
            col("typname", TEXT),
            col("typnamespace", OID),
            col("typowner", OID),
            col("typlen", INT),
            col("typbyval", BOOL),
            col("typtype", TEXT),
            col("typcategory", TEXT),
            col("typrelid", OID),
            col("typelem", OID),
            col("typarray", OID),
            col("typnotnull", BOOL),
            col("typbasetype", OID),
            col("typtypmod", INT),
            col("typcollation", OID),
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
    Builtin {
        id: 111,
        schema: "pg_catalog",
        name: "pg_class",
        columns: &[
            col("oid", OID),
            col("relname", TEXT),
            col("relnamespace", OID),
            col("reltype", OID),
            col("reloftype", OID),
            col("relowner", OID),
            col("relam", OID),
            col("relfilenode", OID),
            col("reltablespace", OID),
            col("relpages", INT),
            col("reltuples", FLOAT4),
            col("relallvisible", INT),
            col("reltoastrelid", OID),
            col("relhasindex", BOOL),
            col("relisshared", BOOL),
            col("relpersistence", TEXT),
            col("relkind", TEXT),
            col("relnatts", INT2),
            col("relchecks", INT2),
            col("relhasrules", BOOL),
            col("relhastriggers", BOOL),
            col("relhassubclass", BOOL),
            col("relrowsecurity", BOOL),
            col("relforcerowsecurity", BOOL),
            col("relispopulated", BOOL),
            col("relreplident", TEXT),
            col("relispartition", BOOL),
            col("relacl", TEXT_ARRAY),
            col("reloptions", TEXT_ARRAY),
            col("relpartbound", TEXT),
        ],
    },
    Builtin {
        id: 112,
        schema: "pg_catalog",
        name: "pg_attribute",
        columns: &[
            col("attrelid", OID),
            col("attname", TEXT),
            col("atttypid", OID),
            col("attstattarget", INT),
            col("attlen", INT2),
            col("attnum", INT2),
            col("attndims", INT),
            col("atttypmod", INT),
            col("attbyval", BOOL),
            col("attnotnull", BOOL),
            col("atthasdef", BOOL),
            col("atthasmissing", BOOL),
            col("attidentity", TEXT),
            col("attgenerated", TEXT),
            col("attisdropped", BOOL),
            col("attislocal", BOOL),
            col("attinhcount", INT),
            col("attcollation", OID),
            col("attacl", TEXT_ARRAY),
            col("attoptions", TEXT_ARRAY),
            col("attstorage", TEXT),
            col("attcompression", TEXT),
        ],
    },
    Builtin {
        id: 113,
        schema: "pg_catalog",
        name: "pg_am",
        columns: &[
            col("oid", OID),
            col("amname", TEXT),
            col("amhandler", TEXT),
            col("amtype", TEXT),
        ],
    },
    Builtin {
        id: 114,
        schema: "pg_catalog",
        name: "pg_index",
        columns: &[
            col("indexrelid", OID),
            col("indrelid", OID),
            col("indnatts", INT2),
            col("indnkeyatts", INT2),
            col("indisunique", BOOL),
            col("indisprimary", BOOL),
            col("indisexclusion", BOOL),
            col("indimmediate", BOOL),
            col("indisclustered", BOOL),
            col("indisvalid", BOOL),
            col("indcheckxmin", BOOL),
            col("indisready", BOOL),
            col("indislive", BOOL),
            col("indisreplident", BOOL),
            col("indnullsnotdistinct", BOOL),
            col("indkey", TEXT),
            col("indexprs", TEXT),
            col("indpred", TEXT),
        ],
    },
    Builtin {
        id: 115,
        schema: "pg_catalog",
        name: "pg_attrdef",
        columns: &[
            col("oid", OID),
            col("adrelid", OID),
            col("adnum", INT2),
            col("adbin", TEXT),
        ],
    },
    Builtin {
        id: 116,
        schema: "pg_catalog",
        name: "pg_constraint",
        columns: &[
            col("oid", OID),
            col("conname", TEXT),
            col("connamespace", OID),
            col("contype", TEXT),
            col("condeferrable", BOOL),
            col("condeferred", BOOL),
            col("convalidated", BOOL),
            col("conrelid", OID),
            col("contypid", OID),
            col("conindid", OID),
            col("confrelid", OID),
            col("conkey", INT2_ARRAY),
            col("confkey", INT2_ARRAY),
        ],
    },
    Builtin {
        id: 117,
        schema: "pg_catalog",
        name: "pg_collation",
        columns: &[
            col("oid", OID),
            col("collname", TEXT),
            col("collnamespace", OID),
            col("collprovider", TEXT),
        ],
    },
    Builtin {
        id: 118,
        schema: "pg_catalog",
        name: "pg_inherits",
        columns: &[
            col("inhrelid", OID),
            col("inhparent", OID),
            col("inhseqno", INT),
            col("inhdetachpending", BOOL),
        ],
    },
    Builtin {
        id: 119,
        schema: "pg_catalog",
        name: "pg_description",
        columns: &[
            col("objoid", OID),
            col("classoid", OID),
            col("objsubid", INT),
            col("description", TEXT),
        ],
    },
    Builtin {
        id: 120,
        schema: "pg_catalog",
        name: "pg_policy",
        columns: &[
            col("oid", OID),
            col("polname", TEXT),
            col("polrelid", OID),
            col("polcmd", TEXT),
            col("polpermissive", BOOL),
            col("polroles", OID_ARRAY),
            col("polqual", TEXT),
            col("polwithcheck", TEXT),
        ],
    },
    Builtin {
        id: 121,
        schema: "pg_catalog",
        name: "pg_statistic_ext",
        columns: &[
            col("oid", OID),
            col("stxrelid", OID),
            col("stxname", TEXT),
            col("stxnamespace", OID),
            col("stxowner", OID),
            col("stxstattarget", INT),
            col("stxkeys", TEXT),
            col("stxkind", TEXT_ARRAY),
        ],
    },
    Builtin {
        id: 122,
        schema: "pg_catalog",
        name: "pg_publication",
        columns: &[
            col("oid", OID),
            col("pubname", TEXT),
            col("pubowner", OID),
            col("puballtables", BOOL),
            col("pubinsert", BOOL),
            col("pubupdate", BOOL),
            col("pubdelete", BOOL),
            col("pubtruncate", BOOL),
            col("pubviaroot", BOOL),
        ],
    },
    Builtin {
        id: 123,
        schema: "pg_catalog",
        name: "pg_publication_rel",
        columns: &[
            col("oid", OID),
            col("prpubid", OID),
            col("prrelid", OID),
            col("prqual", TEXT),
            col("prattrs", INT2_ARRAY),
        ],
    },
    Builtin {
        id: 124,
        schema: "pg_catalog",
        name: "pg_publication_namespace",
        columns: &[col("oid", OID), col("pnpubid", OID), col("pnnspid", OID)],
    },
    Builtin {
        id: 125,
        schema: "pg_catalog",
        name: "pg_roles",
        columns: &[
            col("oid", OID),
            col("rolname", TEXT),
            col("rolsuper", BOOL),
            col("rolinherit", BOOL),
            col("rolcreaterole", BOOL),
            col("rolcreatedb", BOOL),
            col("rolcanlogin", BOOL),
            col("rolreplication", BOOL),
            col("rolconnlimit", INT),
            col("rolbypassrls", BOOL),
            col("rolvaliduntil", ScalarType::TimestampTz),
            col("rolconfig", TEXT_ARRAY),
        ],
    },
    Builtin {
        id: 126,
        schema: "pg_catalog",
        name: "pg_trigger",
        columns: &[
            col("oid", OID),
            col("tgrelid", OID),
            col("tgname", TEXT),
            col("tgenabled", TEXT),
            col("tgisinternal", BOOL),
        ],
    },
    Builtin {
        id: 127,
        schema: "mz_internal",
        name: "evert_object_definitions",
        columns: &[col("oid", OID), col("definition", TEXT)],
    },
    // Role membership (psql's \du): evert has one role, a member of nothing.
    Builtin {
        id: 140,
        schema: "pg_catalog",
        name: "pg_auth_members",
        columns: &[
            col("roleid", OID),
            col("member", OID),
            col("grantor", OID),
            col("admin_option", BOOL),
        ],
    },
    // Functions (psql's \df): empty, as evert has no user-defined functions and does not
    // list its built-in ones here.
    Builtin {
        id: 141,
        schema: "pg_catalog",
        name: "pg_proc",
        columns: &[
            col("oid", OID),
            col("proname", TEXT),
            col("pronamespace", OID),
            col("proowner", OID),
            col("prolang", OID),
            col("procost", FLOAT4),
            col("prorows", FLOAT4),
            col("provariadic", OID),
            col("prosupport", TEXT),
            col("prokind", TEXT),
            col("prosecdef", BOOL),
            col("proleakproof", BOOL),
            col("proisstrict", BOOL),
            col("proretset", BOOL),
            col("provolatile", TEXT),
            col("proparallel", TEXT),
            col("pronargs", INT2),
            col("pronargdefaults", INT2),
            col("prorettype", OID),
            col("proargtypes", TEXT),
            col("proallargtypes", OID_ARRAY),
            col("proargmodes", TEXT_ARRAY),
            col("proargnames", TEXT_ARRAY),
            col("proargdefaults", TEXT),
            col("protrftypes", OID_ARRAY),
            col("prosrc", TEXT),
            col("probin", TEXT),
            col("prosqlbody", TEXT),
            col("proconfig", TEXT_ARRAY),
            col("proacl", TEXT_ARRAY),
        ],
    },
    Builtin {
        id: 142,
        schema: "pg_catalog",
        name: "pg_language",
        columns: &[
            col("oid", OID),
            col("lanname", TEXT),
            col("lanowner", OID),
            col("lanispl", BOOL),
            col("lanpltrusted", BOOL),
            col("lanplcallfoid", OID),
            col("laninline", OID),
            col("lanvalidator", OID),
            col("lanacl", TEXT_ARRAY),
        ],
    },
];

/// Columns whose PostgreSQL type is an array (declared with their element type above,
/// because a `const` cannot box).
const ARRAY_COLUMNS: &[&str] = &[
    "nspacl",
    "datacl",
    "relacl",
    "reloptions",
    "attacl",
    "attoptions",
    "polroles",
    "stxkind",
    "prattrs",
    "conkey",
    "confkey",
    "rolconfig",
    "proallargtypes",
    "proargmodes",
    "proargnames",
    "protrftypes",
    "proconfig",
    "proacl",
    "lanacl",
];

fn desc_of(b: &Builtin) -> RelationDesc {
    let mut desc = RelationDesc::empty();
    for (name, t) in b.columns {
        let t = if ARRAY_COLUMNS.contains(name) {
            ScalarType::Array(Box::new(t.clone()))
        } else {
            t.clone()
        };
        desc = desc.with_column(*name, ColumnType::new(t, true));
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
                let definition = view_definition(&item.durable.create_sql);
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
                        Some(index_definition(catalog, item)),
                    ]));
                }
            }
        }
        107 => {
            for (name, oid) in NAMESPACES {
                rows.push(Row::pack([
                    Datum::Int64(*oid),
                    Datum::String(name),
                    Datum::Int64(OWNER_OID),
                    Datum::Null,
                ]));
            }
        }
        108 => rows.push(Row::pack([
            Datum::Int64(16384),
            Datum::String(database),
            Datum::Int64(OWNER_OID),
            Datum::Int32(6), // UTF8
            Datum::String("c"),
            Datum::False,
            Datum::True,
            Datum::Int32(-1),
            Datum::String("C.UTF-8"),
            Datum::String("C.UTF-8"),
            Datum::Null,
            Datum::Null,
        ])),
        109 => {
            for t in ScalarType::builtin_types() {
                let element = match &t {
                    ScalarType::Array(e) => i64::from(e.oid()),
                    _ => 0,
                };
                let array = match &t {
                    ScalarType::Array(_) => 0,
                    other => i64::from(ScalarType::Array(Box::new(other.clone())).oid()),
                };
                let name = type_name(&t);
                rows.push(Row::pack([
                    Datum::Int64(i64::from(t.oid())),
                    Datum::String(&name),
                    Datum::Int64(11),
                    Datum::Int64(OWNER_OID),
                    Datum::Int32(i32::from(t.type_len())),
                    Datum::from_bool(t.type_len() > 0 && t.type_len() <= 8),
                    Datum::String("b"),
                    Datum::String(type_category(&t)),
                    Datum::Int64(0),
                    Datum::Int64(element),
                    Datum::Int64(array),
                    Datum::False,
                    Datum::Int64(0),
                    Datum::Int32(-1),
                    Datum::Int64(if is_collatable(&t) {
                        DEFAULT_COLLATION
                    } else {
                        0
                    }),
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
        111 => {
            for (id, schema, name, kind, desc) in relations(catalog) {
                let item = catalog.get(id);
                let has_index = !catalog.indexes_on(id).is_empty();
                let checks = match item.map(|i| &i.details) {
                    Some(ItemDetails::Table(t)) => t.checks.len() as i16,
                    _ => 0,
                };
                let am = match kind {
                    "r" | "m" => HEAP_AM,
                    "i" => BTREE_AM,
                    _ => 0,
                };
                rows.push(Row::pack([
                    Datum::Int64(oid_of(id)),
                    Datum::String(&name),
                    Datum::Int64(namespace_oid(&schema)),
                    Datum::Int64(0),
                    Datum::Int64(0),
                    Datum::Int64(OWNER_OID),
                    Datum::Int64(am),
                    Datum::Int64(0),
                    Datum::Int64(0),
                    Datum::Int32(0),
                    Datum::Float32((-1.0f32).into()),
                    Datum::Int32(0),
                    Datum::Int64(0),
                    Datum::from_bool(has_index),
                    Datum::False,
                    Datum::String("p"),
                    Datum::String(kind),
                    Datum::Int16(desc.as_ref().map(|d| d.arity() as i16).unwrap_or(0)),
                    Datum::Int16(checks),
                    Datum::False,
                    Datum::False,
                    Datum::False,
                    Datum::False,
                    Datum::False,
                    Datum::True,
                    Datum::String("d"),
                    Datum::False,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]));
            }
        }
        112 => {
            for (id, _, _, kind, desc) in relations(catalog) {
                let (Some(desc), false) = (desc, kind == "i") else {
                    continue;
                };
                let defaults = match catalog.get(id).map(|i| &i.details) {
                    Some(ItemDetails::Table(t)) => t.defaults.clone(),
                    _ => vec![],
                };
                for (i, (name, typ)) in desc.iter().enumerate() {
                    let t = &typ.scalar_type;
                    rows.push(Row::pack([
                        Datum::Int64(oid_of(id)),
                        Datum::String(name),
                        Datum::Int64(i64::from(t.oid())),
                        Datum::Int32(-1),
                        Datum::Int16(t.type_len()),
                        Datum::Int16(i as i16 + 1),
                        Datum::Int32(i32::from(matches!(t, ScalarType::Array(_)))),
                        Datum::Int32(typmod(t)),
                        Datum::from_bool(t.type_len() > 0 && t.type_len() <= 8),
                        Datum::from_bool(!typ.nullable),
                        Datum::from_bool(defaults.get(i).is_some_and(|d| d.is_some())),
                        Datum::False,
                        Datum::String(""),
                        Datum::String(""),
                        Datum::False,
                        Datum::True,
                        Datum::Int32(0),
                        Datum::Int64(if is_collatable(t) {
                            DEFAULT_COLLATION
                        } else {
                            0
                        }),
                        Datum::Null,
                        Datum::Null,
                        Datum::String(if t.type_len() > 0 { "p" } else { "x" }),
                        Datum::String(""),
                    ]));
                }
            }
        }
        113 => {
            for (oid, name, handler, kind) in [
                (HEAP_AM, "heap", "heap_tableam_handler", "t"),
                (BTREE_AM, "btree", "bthandler", "i"),
            ] {
                rows.push(Row::pack([
                    Datum::Int64(oid),
                    Datum::String(name),
                    Datum::String(handler),
                    Datum::String(kind),
                ]));
            }
        }
        114 => {
            for item in catalog.items() {
                let ItemDetails::Index {
                    on, keys, unique, ..
                } = &item.details
                else {
                    continue;
                };
                // Plain column keys are listed by number; expressions as 0, as PostgreSQL does.
                let indkey: Vec<String> = keys
                    .iter()
                    .map(|k| match k {
                        evert_expr::MirScalarExpr::Column(c) => (c + 1).to_string(),
                        _ => "0".to_string(),
                    })
                    .collect();
                let n = keys.len() as i16;
                rows.push(Row::pack([
                    Datum::Int64(oid_of(item.id())),
                    Datum::Int64(oid_of(*on)),
                    Datum::Int16(n),
                    Datum::Int16(n),
                    Datum::from_bool(*unique),
                    Datum::False,
                    Datum::False,
                    Datum::True,
                    Datum::False,
                    Datum::True,
                    Datum::False,
                    Datum::True,
                    Datum::True,
                    Datum::False,
                    Datum::False,
                    Datum::String(&indkey.join(" ")),
                    Datum::Null,
                    Datum::Null,
                ]));
            }
        }
        115 => {
            let mut oid = 1_000_000i64;
            for item in catalog.items() {
                let ItemDetails::Table(t) = &item.details else {
                    continue;
                };
                for (i, d) in t.defaults.iter().enumerate() {
                    if let Some(d) = d {
                        oid += 1;
                        rows.push(Row::pack([
                            Datum::Int64(oid),
                            Datum::Int64(oid_of(item.id())),
                            Datum::Int16(i as i16 + 1),
                            Datum::String(d),
                        ]));
                    }
                }
            }
        }
        117 => rows.push(Row::pack([
            Datum::Int64(DEFAULT_COLLATION),
            Datum::String("default"),
            Datum::Int64(11),
            Datum::String("d"),
        ])),
        125 => rows.push(Row::pack([
            Datum::Int64(OWNER_OID),
            Datum::String(&user),
            Datum::True,
            Datum::True,
            Datum::True,
            Datum::True,
            Datum::True,
            Datum::False,
            Datum::Int32(-1),
            Datum::True,
            Datum::Null,
            Datum::Null,
        ])),
        142 => {
            // PostgreSQL's three built-in languages, with its OIDs.
            for (oid, name) in [(12, "internal"), (13, "c"), (14, "sql")] {
                rows.push(Row::pack([
                    Datum::Int64(oid),
                    Datum::String(name),
                    Datum::Int64(OWNER_OID),
                    Datum::False,
                    Datum::from_bool(name == "sql"),
                    Datum::Int64(0),
                    Datum::Int64(0),
                    Datum::Int64(0),
                    Datum::Null,
                ]));
            }
        }
        127 => {
            // What pg_get_indexdef and pg_get_viewdef return.
            for item in catalog.items() {
                let definition = match &item.details {
                    // PostgreSQL's spelling, which psql shows from " USING " on.
                    ItemDetails::Index { .. } => index_definition(catalog, item),
                    _ => match item.kind() {
                        ItemKind::View | ItemKind::MaterializedView => {
                            view_definition(&item.durable.create_sql)
                        }
                        _ => continue,
                    },
                };
                rows.push(Row::pack([
                    Datum::Int64(oid_of(item.id())),
                    Datum::String(&definition),
                ]));
            }
        }
        _ => {}
    }
    rows
}

/// The owner of everything: the one role evert has.
const OWNER_OID: i64 = 10;
const HEAP_AM: i64 = 2;
const BTREE_AM: i64 = 403;
const DEFAULT_COLLATION: i64 = 100;
/// User objects get OIDs from here up (PostgreSQL's first normal OID is 16384).
const FIRST_USER_OID: i64 = 20000;

const NAMESPACES: &[(&str, i64)] = &[
    ("pg_catalog", 11),
    (DEFAULT_SCHEMA, 2200),
    ("information_schema", 13000),
    ("mz_catalog", 16000),
    ("mz_internal", 16001),
];

/// The OID a catalog relation reports for an item.
pub fn oid_of(id: GlobalId) -> i64 {
    match id {
        GlobalId::User(n) => FIRST_USER_OID + n as i64,
        GlobalId::System(n) => n as i64,
        GlobalId::Transient(_) => 0,
    }
}

fn namespace_oid(schema: &str) -> i64 {
    NAMESPACES
        .iter()
        .find(|(n, _)| *n == schema)
        .map(|(_, o)| *o)
        .unwrap_or(2200)
}

/// Every relation `pg_class` lists: user items and the built-in relations, with their
/// `relkind` and (for all but indexes) their columns.
fn relations(
    catalog: &Catalog,
) -> Vec<(GlobalId, String, String, &'static str, Option<RelationDesc>)> {
    let mut out = Vec::new();
    for item in catalog.items() {
        let kind = match item.kind() {
            ItemKind::Table | ItemKind::Source => "r",
            ItemKind::View => "v",
            ItemKind::MaterializedView => "m",
            ItemKind::Index => "i",
        };
        out.push((
            item.id(),
            item.durable.schema.clone(),
            item.name().to_string(),
            kind,
            Some(item.desc.clone()),
        ));
    }
    for b in BUILTINS {
        out.push((
            GlobalId::System(b.id),
            b.schema.to_string(),
            b.name.to_string(),
            "v",
            Some(desc_of(b)),
        ));
    }
    out
}

/// `atttypmod`: PostgreSQL's encoding of a type's modifiers, -1 when there are none.
fn typmod(t: &ScalarType) -> i32 {
    match t {
        ScalarType::Numeric {
            precision: Some(p),
            scale,
        } => ((i32::from(*p) << 16) | i32::from(scale.unwrap_or(0))) + 4,
        ScalarType::VarChar {
            max_length: Some(n),
        } => *n as i32 + 4,
        ScalarType::Char { length } => *length as i32 + 4,
        _ => -1,
    }
}

fn is_collatable(t: &ScalarType) -> bool {
    matches!(
        t,
        ScalarType::String | ScalarType::VarChar { .. } | ScalarType::Char { .. }
    )
}

fn type_category(t: &ScalarType) -> &'static str {
    match t {
        ScalarType::Bool => "B",
        ScalarType::Int16
        | ScalarType::Int32
        | ScalarType::Int64
        | ScalarType::Float32
        | ScalarType::Float64
        | ScalarType::Numeric { .. } => "N",
        ScalarType::String | ScalarType::VarChar { .. } | ScalarType::Char { .. } => "S",
        ScalarType::Date | ScalarType::Time | ScalarType::Timestamp | ScalarType::TimestampTz => {
            "D"
        }
        ScalarType::Interval => "T",
        ScalarType::Array(_) => "A",
        _ => "U",
    }
}

/// `typname`: PostgreSQL's internal type names.
fn type_name(t: &ScalarType) -> String {
    match t {
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
        ScalarType::Numeric { .. } => "numeric".to_string(),
        ScalarType::Array(e) => format!("_{}", type_name(e)),
        other => other.sql_name(),
    }
}

/// The query of a `CREATE [MATERIALIZED] VIEW ... AS query` statement.
fn view_definition(create_sql: &str) -> String {
    match create_sql.to_ascii_uppercase().find(" AS ") {
        Some(i) => create_sql[i + 4..].trim().to_string(),
        None => String::new(),
    }
}

/// An index's definition as `pg_get_indexdef` and `pg_indexes.indexdef` spell it in
/// PostgreSQL (psql's `\d` shows it from " USING " on).
fn index_definition(catalog: &Catalog, item: &CatalogItem) -> String {
    let ItemDetails::Index {
        on,
        key_text,
        unique,
        ..
    } = &item.details
    else {
        return String::new();
    };
    let on = catalog.get(*on);
    format!(
        "CREATE {}INDEX {} ON {}.{} USING btree ({})",
        if *unique { "UNIQUE " } else { "" },
        item.name(),
        on.map(|o| o.durable.schema.as_str())
            .unwrap_or(DEFAULT_SCHEMA),
        on.map(|o| o.name()).unwrap_or("?"),
        key_text.join(", ")
    )
}
