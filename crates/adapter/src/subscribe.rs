//! SUBSCRIBE envelopes: presenting a stream of `(row, time, diff)` changes keyed by some
//! columns, as upserts and deletes per key.
//!
//! `ENVELOPE UPSERT (KEY (k))` reports, for every key that changed at a timestamp, its new
//! value (`mz_state = 'upsert'`) or its removal (`'delete'`, value columns NULL). If a key has
//! more than one row at once, the state is `'key_violation'`. `ENVELOPE DEBEZIUM` reports
//! `'insert'`, `'upsert'` or `'delete'` with `before_` and `after_` value columns.

use std::collections::BTreeMap;

use evert_repr::{ColumnType, Datum, Diff, RelationDesc, Row, ScalarType, Timestamp};

use crate::response::numeric_timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvelopeKind {
    Upsert,
    Debezium,
}

/// Per-key state a subscription keeps to report upserts.
pub struct EnvelopeState {
    pub kind: EnvelopeKind,
    pub key: Vec<usize>,
    pub values: Vec<usize>,
    /// The current rows of each key (normally one).
    current: BTreeMap<Row, Vec<(Row, Diff)>>,
}

impl EnvelopeState {
    pub fn new(kind: EnvelopeKind, key: Vec<usize>, arity: usize) -> EnvelopeState {
        let values = (0..arity).filter(|c| !key.contains(c)).collect();
        EnvelopeState {
            kind,
            key,
            values,
            current: BTreeMap::new(),
        }
    }

    /// The output shape: `mz_timestamp, [mz_progressed,] mz_state, key columns, values`.
    pub fn output_desc(&self, desc: &RelationDesc, progress: bool) -> RelationDesc {
        let mut out = RelationDesc::empty().with_column(
            "mz_timestamp",
            ColumnType::new(ScalarType::numeric(), false),
        );
        if progress {
            out = out.with_column("mz_progressed", ColumnType::new(ScalarType::Bool, false));
        }
        out = out.with_column("mz_state", ColumnType::new(ScalarType::String, true));
        for k in &self.key {
            let (name, typ) = desc.iter().nth(*k).expect("key column");
            out = out.with_column(name.clone(), typ.clone().nullable(true));
        }
        match self.kind {
            EnvelopeKind::Upsert => {
                for v in &self.values {
                    let (name, typ) = desc.iter().nth(*v).expect("value column");
                    out = out.with_column(name.clone(), typ.clone().nullable(true));
                }
            }
            EnvelopeKind::Debezium => {
                for prefix in ["before_", "after_"] {
                    for v in &self.values {
                        let (name, typ) = desc.iter().nth(*v).expect("value column");
                        out =
                            out.with_column(format!("{prefix}{name}"), typ.clone().nullable(true));
                    }
                }
            }
        }
        out
    }

    /// The given columns of a row, as a new row.
    fn project(row: &Row, columns: &[usize]) -> Row {
        let datums: Vec<Datum> = row.iter().collect();
        Row::pack(columns.iter().map(|c| datums[*c]))
    }

    /// Converts a batch of changes into envelope rows, one per changed key per timestamp.
    pub fn rows_for(&mut self, updates: Vec<(Row, Timestamp, Diff)>, progress: bool) -> Vec<Row> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < updates.len() {
            let time = updates[i].1;
            let mut changed: BTreeMap<Row, ()> = BTreeMap::new();
            let mut before: BTreeMap<Row, Vec<(Row, Diff)>> = BTreeMap::new();
            while i < updates.len() && updates[i].1 == time {
                let (row, _, diff) = &updates[i];
                let key = Self::project(row, &self.key);
                before
                    .entry(key.clone())
                    .or_insert_with(|| self.current.get(&key).cloned().unwrap_or_default());
                let entry = self.current.entry(key.clone()).or_default();
                match entry.iter_mut().find(|(r, _)| r == row) {
                    Some((_, d)) => *d += diff,
                    None => entry.push((row.clone(), *diff)),
                }
                entry.retain(|(_, d)| *d != 0);
                if entry.is_empty() {
                    self.current.remove(&key);
                }
                changed.insert(key, ());
                i += 1;
            }
            for key in changed.keys() {
                let after = self.current.get(key).cloned().unwrap_or_default();
                let prior = before.remove(key).unwrap_or_default();
                if after == prior {
                    continue;
                }
                let count: Diff = after.iter().map(|(_, d)| *d).sum();
                let state = match (self.kind, count, prior.is_empty()) {
                    (_, 0, _) => "delete",
                    (_, c, _) if c > 1 => "key_violation",
                    (EnvelopeKind::Debezium, _, true) => "insert",
                    _ => "upsert",
                };
                let nulls = Row::pack(std::iter::repeat_n(Datum::Null, self.values.len()));
                let value_of = |rows: &Vec<(Row, Diff)>| -> Row {
                    match rows.as_slice() {
                        [(r, 1)] => Self::project(r, &self.values),
                        _ => nulls.clone(),
                    }
                };
                let mut row = Row::default();
                let mut packer = row.packer();
                packer.push(numeric_timestamp(time));
                if progress {
                    packer.push(Datum::False);
                }
                packer.push(Datum::String(state));
                packer.extend_by_row(&key);
                if self.kind == EnvelopeKind::Debezium {
                    packer.extend_by_row(&value_of(&prior));
                }
                packer.extend_by_row(&value_of(&after));
                out.push(row);
            }
        }
        out
    }
}
