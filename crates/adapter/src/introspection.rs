//! Introspection for operators: how far each maintained collection trails the clock.

use evert_repr::GlobalId;

use crate::catalog::ItemDetails;
use crate::coord::Adapter;

impl Adapter {
    /// For each materialized view and index, by name: how many milliseconds its upper
    /// frontier trails the oracle's applied timestamp. A collection that has caught up has
    /// `upper = applied + 1` (every update at or before `applied` is in it), so its lag is 0.
    ///
    /// An index is measured by the frontier of the collection it indexes, which the compute
    /// layer reports as the meet of that collection's arrangements (the index's among them).
    /// Collections whose frontier the workers do not report (being dropped) are left out.
    pub async fn frontier_lags(&self) -> Vec<(String, u64)> {
        let catalog = self.catalog();
        let mut measured: Vec<(String, GlobalId)> = Vec::new();
        for item in catalog.items() {
            let collection = match &item.details {
                ItemDetails::MaterializedView { .. } => item.id(),
                ItemDetails::Index { on, .. } => *on,
                _ => continue,
            };
            let name = if item.durable.schema == crate::catalog::DEFAULT_SCHEMA {
                item.name().to_string()
            } else {
                format!("{}.{}", item.durable.schema, item.name())
            };
            measured.push((name, collection));
        }
        if measured.is_empty() {
            return Vec::new();
        }
        // Read the clock first: frontiers reported afterwards are at least as recent, so a
        // caught-up collection never shows a spurious lag.
        let applied = self.inner.oracle.applied();
        let frontiers = self
            .inner
            .compute
            .frontiers(measured.iter().map(|(_, id)| *id).collect())
            .await;
        measured
            .into_iter()
            .zip(frontiers)
            .filter_map(|((name, _), (_, upper))| {
                upper.map(|upper| (name, (applied + 1).saturating_sub(upper)))
            })
            .collect()
    }
}
