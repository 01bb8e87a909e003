//! The shape of a relation: column types and column names.

use serde::{Deserialize, Serialize};

use crate::scalar::{ColumnType, ScalarType};

/// The types of a relation's columns, and the column sets known to be unique keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct RelationType {
    pub column_types: Vec<ColumnType>,
    /// Each entry is a set of columns whose values are unique in the relation.
    pub keys: Vec<Vec<usize>>,
}

impl RelationType {
    pub fn new(column_types: Vec<ColumnType>) -> Self {
        RelationType {
            column_types,
            keys: Vec::new(),
        }
    }

    pub fn empty() -> Self {
        RelationType::default()
    }

    pub fn with_key(mut self, key: Vec<usize>) -> Self {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
        self
    }

    pub fn arity(&self) -> usize {
        self.column_types.len()
    }

    /// True if both describe the same columns, ignoring nullability and keys.
    pub fn same_columns(&self, other: &RelationType) -> bool {
        self.arity() == other.arity()
            && self
                .column_types
                .iter()
                .zip(other.column_types.iter())
                .all(|(a, b)| a.scalar_type.base_eq(&b.scalar_type))
    }
}

/// A relation's type together with its column names, as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct RelationDesc {
    pub typ: RelationType,
    pub names: Vec<String>,
}

impl RelationDesc {
    pub fn new(typ: RelationType, names: Vec<String>) -> Self {
        assert_eq!(typ.arity(), names.len(), "relation type and names disagree");
        RelationDesc { typ, names }
    }

    pub fn empty() -> Self {
        RelationDesc::default()
    }

    pub fn with_column(mut self, name: impl Into<String>, column_type: ColumnType) -> Self {
        self.names.push(name.into());
        self.typ.column_types.push(column_type);
        self
    }

    pub fn arity(&self) -> usize {
        self.names.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ColumnType)> {
        self.names.iter().zip(self.typ.column_types.iter())
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn scalar_types(&self) -> impl Iterator<Item = &ScalarType> {
        self.typ.column_types.iter().map(|c| &c.scalar_type)
    }
}
