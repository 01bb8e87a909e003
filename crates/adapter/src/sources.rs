//! Sources: collections fed from outside SQL (load generators).

use evert_repr::{GlobalId, Timestamp};

use crate::catalog::{CatalogItem, DurableItem};
use crate::coord::Adapter;
use crate::error::AdapterError;

/// Rebuilds a source's catalog item from its durable record.
pub(crate) fn build_source_item(
    durable: &DurableItem,
    _since: Timestamp,
) -> Result<CatalogItem, AdapterError> {
    Err(AdapterError::unsupported(format!(
        "source {} (load generators are not built yet)",
        durable.name
    )))
}

/// Stops a source's generator task, if it has one.
pub(crate) fn stop_source(_adapter: &Adapter, _id: GlobalId) {}

/// `CREATE SOURCE ... FROM LOAD GENERATOR`.
pub(crate) async fn create_source(
    _adapter: &Adapter,
    _session: &crate::session::Session,
    _stmt: &evert_sql::parse::CreateSourceStatement,
    _sql: &str,
) -> Result<crate::response::ExecuteResponse, AdapterError> {
    Err(AdapterError::unsupported(
        "CREATE SOURCE (load generators are not built yet)",
    ))
}

/// The generator kind shown by SHOW SOURCES.
pub(crate) fn source_type(_item: &CatalogItem) -> String {
    "load-generator".to_string()
}
