//! The catalog: every table, view, materialized view, index and source, by id and by name.
//!
//! The catalog is durable as a collection of its own in the log (`CATALOG_ID`): each item is
//! one row holding a JSON record with its id, name, kind and the SQL that created it.
//! Creating an item appends the row with diff +1, dropping it appends the same row with
//! diff -1, so the catalog at any time is the consolidation of that collection, exactly like
//! a table. On restart the items are re-planned from their SQL in id order, which is a valid
//! dependency order because an item only ever refers to items created before it.

use std::collections::BTreeMap;

use evert_expr::{MirRelationExpr, MirScalarExpr};
use evert_repr::{Datum, GlobalId, RelationDesc, Row};
use evert_sql::{CatalogRelation, RelationKind, SessionCatalog};
use serde::{Deserialize, Serialize};

use crate::builtins;

/// The collection holding the catalog itself.
pub const CATALOG_ID: GlobalId = GlobalId::System(1);

pub const DEFAULT_SCHEMA: &str = "public";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemKind {
    Table,
    View,
    MaterializedView,
    Index,
    Source,
}

impl ItemKind {
    pub fn name(&self) -> &'static str {
        match self {
            ItemKind::Table => "table",
            ItemKind::View => "view",
            ItemKind::MaterializedView => "materialized view",
            ItemKind::Index => "index",
            ItemKind::Source => "source",
        }
    }
}

/// The durable record of an item: what is written to the catalog collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurableItem {
    pub id: GlobalId,
    pub schema: String,
    pub name: String,
    pub kind: ItemKind,
    pub create_sql: String,
}

impl DurableItem {
    pub fn to_row(&self) -> Row {
        let json = serde_json::to_string(self).expect("catalog items serialize");
        Row::of(Datum::String(&json))
    }

    pub fn from_row(row: &Row) -> Result<DurableItem, String> {
        match row.unpack_first() {
            Datum::String(s) => {
                serde_json::from_str(s).map_err(|e| format!("unreadable catalog entry: {e}"))
            }
            other => Err(format!("unexpected catalog entry {other:?}")),
        }
    }
}

/// What the rest of the adapter knows about an item beyond its durable record.
#[derive(Clone, Debug)]
pub enum ItemDetails {
    Table(TableDetails),
    /// A view's plan (optimizable MIR over other catalog items).
    View {
        expr: MirRelationExpr,
    },
    MaterializedView {
        expr: MirRelationExpr,
    },
    Index {
        on: GlobalId,
        keys: Vec<MirScalarExpr>,
        key_text: Vec<String>,
        /// `CREATE UNIQUE INDEX`: the keys (plain columns of a table) are a uniqueness
        /// constraint named after the index.
        unique: bool,
    },
    Source(SourceDetails),
}

#[derive(Clone, Debug, Default)]
pub struct TableDetails {
    pub defaults: Vec<Option<String>>,
    pub primary_key: Option<Vec<usize>>,
    pub unique: Vec<Vec<usize>>,
    /// CHECK constraints: SQL text and the predicate over the table's columns.
    pub checks: Vec<(String, MirScalarExpr)>,
}

/// A set of columns on which a table may hold at most one row per non-NULL key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueKey {
    /// The constraint's name in error messages (`t_pkey`, `t_a_key`, or the index's name).
    pub name: String,
    pub columns: Vec<usize>,
}

pub use crate::sources::SourceDetails;

#[derive(Clone, Debug)]
pub struct CatalogItem {
    pub durable: DurableItem,
    pub desc: RelationDesc,
    pub details: ItemDetails,
    /// The items this one reads (its dependencies).
    pub uses: Vec<GlobalId>,
    /// The earliest timestamp at which the item's contents are defined.
    pub since: evert_repr::Timestamp,
}

impl CatalogItem {
    pub fn id(&self) -> GlobalId {
        self.durable.id
    }

    pub fn name(&self) -> &str {
        &self.durable.name
    }

    pub fn kind(&self) -> ItemKind {
        self.durable.kind
    }

    pub fn relation_kind(&self) -> Option<RelationKind> {
        Some(match self.kind() {
            ItemKind::Table => RelationKind::Table,
            ItemKind::View => RelationKind::View,
            ItemKind::MaterializedView => RelationKind::MaterializedView,
            ItemKind::Source => RelationKind::Source,
            ItemKind::Index => return None,
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct Catalog {
    items: BTreeMap<GlobalId, CatalogItem>,
    by_name: BTreeMap<(String, String), GlobalId>,
    next_user_id: u64,
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog {
            items: BTreeMap::new(),
            by_name: BTreeMap::new(),
            next_user_id: 1,
        }
    }

    pub fn allocate_id(&mut self) -> GlobalId {
        let id = GlobalId::User(self.next_user_id);
        self.next_user_id += 1;
        id
    }

    pub fn insert(&mut self, item: CatalogItem) {
        if let GlobalId::User(n) = item.id() {
            self.next_user_id = self.next_user_id.max(n + 1);
        }
        self.by_name.insert(
            (item.durable.schema.clone(), item.durable.name.clone()),
            item.id(),
        );
        self.items.insert(item.id(), item);
    }

    pub fn remove(&mut self, id: GlobalId) -> Option<CatalogItem> {
        let item = self.items.remove(&id)?;
        self.by_name
            .remove(&(item.durable.schema.clone(), item.durable.name.clone()));
        Some(item)
    }

    pub fn get(&self, id: GlobalId) -> Option<&CatalogItem> {
        self.items.get(&id)
    }

    pub fn get_mut(&mut self, id: GlobalId) -> Option<&mut CatalogItem> {
        self.items.get_mut(&id)
    }

    pub fn items(&self) -> impl Iterator<Item = &CatalogItem> {
        self.items.values()
    }

    /// Resolves `name` or `schema.name` among user items.
    pub fn resolve(&self, parts: &[String]) -> Option<&CatalogItem> {
        let (schema, name) = match parts {
            [name] => (DEFAULT_SCHEMA, name.as_str()),
            [schema, name] => (schema.as_str(), name.as_str()),
            [_db, schema, name] => (schema.as_str(), name.as_str()),
            _ => return None,
        };
        let id = self.by_name.get(&(schema.to_string(), name.to_string()))?;
        self.items.get(id)
    }

    pub fn name_taken(&self, schema: &str, name: &str) -> Option<&CatalogItem> {
        self.by_name
            .get(&(schema.to_string(), name.to_string()))
            .and_then(|id| self.items.get(id))
    }

    /// Items that use `id` directly.
    pub fn dependents(&self, id: GlobalId) -> Vec<GlobalId> {
        self.items
            .values()
            .filter(|i| i.uses.contains(&id))
            .map(|i| i.id())
            .collect()
    }

    /// `id` and everything depending on it, transitively, dependents last.
    pub fn dependency_closure(&self, id: GlobalId) -> Vec<GlobalId> {
        let mut result = vec![id];
        let mut i = 0;
        while i < result.len() {
            for d in self.dependents(result[i]) {
                if !result.contains(&d) {
                    result.push(d);
                }
            }
            i += 1;
        }
        result.sort();
        result
    }

    /// Indexes on `id`.
    pub fn indexes_on(&self, id: GlobalId) -> Vec<&CatalogItem> {
        self.items
            .values()
            .filter(|i| matches!(&i.details, ItemDetails::Index { on, .. } if *on == id))
            .collect()
    }

    /// The uniqueness constraints of table `id`: its PRIMARY KEY, its UNIQUE constraints
    /// and its unique indexes, each named as PostgreSQL names it.
    pub fn unique_keys(&self, id: GlobalId) -> Vec<UniqueKey> {
        let Some(item) = self.get(id) else {
            return vec![];
        };
        let mut keys = Vec::new();
        if let ItemDetails::Table(details) = &item.details {
            if let Some(pk) = &details.primary_key {
                keys.push(UniqueKey {
                    name: format!("{}_pkey", item.name()),
                    columns: pk.clone(),
                });
            }
            for columns in &details.unique {
                let names: Vec<&str> = columns
                    .iter()
                    .map(|c| item.desc.names[*c].as_str())
                    .collect();
                keys.push(UniqueKey {
                    name: format!("{}_{}_key", item.name(), names.join("_")),
                    columns: columns.clone(),
                });
            }
        }
        for index in self.indexes_on(id) {
            if let ItemDetails::Index {
                keys: exprs,
                unique: true,
                ..
            } = &index.details
            {
                let columns: Option<Vec<usize>> = exprs
                    .iter()
                    .map(|e| match e {
                        MirScalarExpr::Column(c) => Some(*c),
                        _ => None,
                    })
                    .collect();
                keys.push(UniqueKey {
                    name: index.name().to_string(),
                    columns: columns.expect("unique index keys are columns (checked at planning)"),
                });
            }
        }
        keys
    }

    /// A read-only view for the planner, for a session connected to `database`.
    pub fn for_session<'a>(&'a self, database: &'a str) -> SessionCatalogView<'a> {
        SessionCatalogView {
            catalog: self,
            database,
        }
    }
}

pub struct SessionCatalogView<'a> {
    pub catalog: &'a Catalog,
    pub database: &'a str,
}

fn relation_of(item: &CatalogItem) -> Option<CatalogRelation> {
    let kind = item.relation_kind()?;
    let defaults = match &item.details {
        ItemDetails::Table(t) => t.defaults.clone(),
        _ => vec![None; item.desc.arity()],
    };
    Some(CatalogRelation {
        id: item.id(),
        schema: item.durable.schema.clone(),
        name: item.durable.name.clone(),
        kind,
        desc: item.desc.clone(),
        defaults,
    })
}

impl SessionCatalog for SessionCatalogView<'_> {
    fn resolve_relation(&self, name: &[String]) -> Option<CatalogRelation> {
        // Three-part names must name this database.
        if name.len() == 3 && name[0] != self.database {
            return None;
        }
        if let Some(item) = self.catalog.resolve(name) {
            return relation_of(item);
        }
        builtins::resolve(name)
    }

    fn relation_by_id(&self, id: GlobalId) -> Option<CatalogRelation> {
        match self.catalog.get(id) {
            Some(item) => relation_of(item),
            None => builtins::by_id(id),
        }
    }

    fn database(&self) -> String {
        self.database.to_string()
    }
}
