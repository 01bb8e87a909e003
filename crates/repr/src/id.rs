//! Identifiers of catalog objects.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The identity of a catalog object (table, view, index, source, …) and of the collection
/// or arrangement it names everywhere below the adapter.
///
/// User objects are numbered in creation order, so an object's dependencies always have
/// smaller ids: replaying the catalog in id order recreates everything in a valid order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GlobalId {
    /// Built-in objects (the catalog's own collection, system views).
    System(u64),
    /// Objects users create.
    User(u64),
    /// Objects that live for one query (peek and subscribe dataflows).
    Transient(u64),
}

impl fmt::Display for GlobalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlobalId::System(i) => write!(f, "s{i}"),
            GlobalId::User(i) => write!(f, "u{i}"),
            GlobalId::Transient(i) => write!(f, "t{i}"),
        }
    }
}

impl std::str::FromStr for GlobalId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, number) = s.split_at(1.min(s.len()));
        let number: u64 = number.parse().map_err(|_| format!("invalid id: {s}"))?;
        match kind {
            "s" => Ok(GlobalId::System(number)),
            "u" => Ok(GlobalId::User(number)),
            "t" => Ok(GlobalId::Transient(number)),
            _ => Err(format!("invalid id: {s}")),
        }
    }
}
