//! Scopes: the columns a name can refer to at a point in a query.

use evert_repr::ColumnType;

use crate::error::PlanError;

#[derive(Clone, Debug)]
pub struct ScopeItem {
    /// The relation the column belongs to (its alias or name), for qualified references.
    pub table: Option<String>,
    pub column: String,
    pub typ: ColumnType,
    /// Reachable only through its qualified name (the right-hand copy of a `USING` column).
    pub qualified_only: bool,
    /// Not shown by `SELECT *` (helper columns the binder added).
    pub hidden: bool,
}

impl ScopeItem {
    pub fn new(table: Option<String>, column: impl Into<String>, typ: ColumnType) -> ScopeItem {
        ScopeItem {
            table,
            column: column.into(),
            typ,
            qualified_only: false,
            hidden: false,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub items: Vec<ScopeItem>,
}

impl Scope {
    pub fn new(items: Vec<ScopeItem>) -> Scope {
        Scope { items }
    }

    pub fn empty() -> Scope {
        Scope::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The scope of `left` followed by `right` (a join's).
    pub fn product(mut self, right: Scope) -> Scope {
        self.items.extend(right.items);
        self
    }

    /// All items renamed to belong to `table`.
    pub fn with_table(mut self, table: Option<String>) -> Scope {
        for item in &mut self.items {
            item.table = table.clone();
        }
        self
    }

    /// Finds the column a (possibly qualified) name refers to. `Ok(None)` means "not here"
    /// (the caller then looks in enclosing scopes).
    pub fn resolve(&self, table: Option<&str>, column: &str) -> Result<Option<usize>, PlanError> {
        let matches: Vec<usize> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                item.column == column
                    && match table {
                        Some(t) => item.table.as_deref() == Some(t),
                        None => !item.qualified_only,
                    }
            })
            .map(|(i, _)| i)
            .collect();
        match matches.len() {
            0 => Ok(None),
            1 => Ok(Some(matches[0])),
            _ => {
                let name = match table {
                    Some(t) => format!("{t}.{column}"),
                    None => column.to_string(),
                };
                Err(PlanError::AmbiguousColumn(name))
            }
        }
    }

    /// True if some item belongs to `table` (to tell "no such column" from "no such table").
    pub fn has_table(&self, table: &str) -> bool {
        self.items.iter().any(|i| i.table.as_deref() == Some(table))
    }
}
