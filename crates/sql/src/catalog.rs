//! What the planner needs to know about the catalog, as a read-only interface.
//!
//! The adapter owns the catalog and implements [`SessionCatalog`]; the planner only resolves
//! names to relations and reads their shapes.

use evert_repr::{GlobalId, RelationDesc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
    MaterializedView,
    Source,
    /// A built-in relation (`pg_catalog`, `mz_catalog`, `information_schema`).
    System,
}

impl RelationKind {
    pub fn name(&self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized view",
            RelationKind::Source => "source",
            RelationKind::System => "system view",
        }
    }
}

/// A relation the planner can read from.
#[derive(Clone, Debug)]
pub struct CatalogRelation {
    pub id: GlobalId,
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    pub desc: RelationDesc,
    /// For tables: each column's `DEFAULT` expression as SQL text.
    pub defaults: Vec<Option<String>>,
}

pub trait SessionCatalog {
    /// Resolves a name of one part (searched in the session's search path) or two
    /// (`schema.name`).
    fn resolve_relation(&self, name: &[String]) -> Option<CatalogRelation>;
    fn relation_by_id(&self, id: GlobalId) -> Option<CatalogRelation>;
    /// The database name the session connected to (for three-part names and
    /// `current_database()`).
    fn database(&self) -> String;
}
