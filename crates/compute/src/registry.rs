//! The arrangements a worker holds, by collection and key: the indexes every dataflow can
//! import instead of rebuilding.

use std::collections::BTreeMap;

use differential_dataflow::trace::TraceReader;
use evert_expr::MirScalarExpr;
use evert_repr::{GlobalId, Timestamp};
use timely::progress::Antichain;

use crate::types::{ErrAgent, RowAgent};

/// One arrangement of a collection.
pub struct ArrangedTrace {
    pub oks: RowAgent,
    /// True if the key is the whole row and the value empty; otherwise the value is the row.
    pub identity: bool,
    /// The dataflow that maintains this arrangement.
    pub owner: GlobalId,
}

/// Everything arranged for one collection.
#[derive(Default)]
pub struct CollectionTraces {
    /// By key expressions; `None` is the whole-row arrangement.
    pub arrangements: BTreeMap<Option<Vec<MirScalarExpr>>, ArrangedTrace>,
    /// Arrangements by a key already in `arrangements`, maintained by another dataflow (an
    /// index on a table's constraint columns, two indexes on the same key). Readers use the
    /// first; a shadowed one takes its place when the first's owner is dropped, so dropping
    /// one of them never leaves the key without an arrangement.
    pub shadowed: Vec<(Option<Vec<MirScalarExpr>>, ArrangedTrace)>,
    /// The collection's errors (absent for tables, which cannot have any).
    pub errs: Option<ErrAgent>,
    /// The compaction frontier the adapter allows.
    pub allowed_compaction: Timestamp,
}

#[derive(Default)]
pub struct TraceRegistry {
    pub collections: BTreeMap<GlobalId, CollectionTraces>,
}

impl TraceRegistry {
    pub fn get(&self, id: &GlobalId) -> Option<&CollectionTraces> {
        self.collections.get(id)
    }

    pub fn get_mut(&mut self, id: &GlobalId) -> Option<&mut CollectionTraces> {
        self.collections.get_mut(id)
    }

    /// Registers an arrangement of `on`, maintained by dataflow `owner`.
    pub fn insert(
        &mut self,
        on: GlobalId,
        key: Option<Vec<MirScalarExpr>>,
        trace: ArrangedTrace,
        errs: Option<ErrAgent>,
    ) {
        let entry = self.collections.entry(on).or_default();
        if entry.arrangements.contains_key(&key) {
            entry.shadowed.push((key, trace));
        } else {
            entry.arrangements.insert(key, trace);
        }
        if errs.is_some() && entry.errs.is_none() {
            entry.errs = errs;
        }
    }

    /// Removes every arrangement maintained by `owner` (and the collection's entry itself
    /// when `owner` is the collection and nothing else indexes it).
    pub fn remove_owned_by(&mut self, owner: GlobalId) {
        for traces in self.collections.values_mut() {
            traces.arrangements.retain(|_, t| t.owner != owner);
            traces.shadowed.retain(|(_, t)| t.owner != owner);
            let mut promoted = Vec::new();
            for (key, trace) in std::mem::take(&mut traces.shadowed) {
                if traces.arrangements.contains_key(&key) {
                    promoted.push((key, trace));
                } else {
                    traces.arrangements.insert(key, trace);
                }
            }
            traces.shadowed = promoted;
        }
        if let Some(traces) = self.collections.get(&owner) {
            if traces.arrangements.is_empty() {
                self.collections.remove(&owner);
            }
        }
        self.collections.retain(|_, t| !t.arrangements.is_empty());
    }

    /// The upper frontier of a collection: the least upper of its arrangements.
    pub fn upper(&mut self, id: &GlobalId) -> Option<Antichain<Timestamp>> {
        let traces = self.collections.get_mut(id)?;
        let mut result: Option<Antichain<Timestamp>> = None;
        for t in traces.arrangements.values_mut() {
            let mut upper = Antichain::new();
            t.oks.read_upper(&mut upper);
            result = Some(match result {
                None => upper,
                Some(r) => meet(&r, &upper),
            });
        }
        result
    }
}

fn meet(a: &Antichain<Timestamp>, b: &Antichain<Timestamp>) -> Antichain<Timestamp> {
    match (a.as_option(), b.as_option()) {
        (Some(x), Some(y)) => Antichain::from_elem(*x.min(y)),
        (Some(x), None) | (None, Some(x)) => Antichain::from_elem(*x),
        (None, None) => Antichain::new(),
    }
}
