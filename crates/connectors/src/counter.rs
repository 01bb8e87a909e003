//! COUNTER: the numbers 1, 2, 3, … one per offset, in a column `counter bigint`.
//!
//! With a maximum cardinality `m`, offset `n >= m` also retracts the value emitted at
//! offset `n - m`, so the relation holds the latest `m` values.

use evert_repr::{Datum, RelationDesc, Row, ScalarType};

use crate::generator::{LoadGenerator, OutputUpdates};

pub fn desc() -> RelationDesc {
    crate::nexmark::desc_of(&[("counter", ScalarType::Int64)])
}

pub struct Counter {
    max_cardinality: Option<u64>,
    next: u64,
}

impl Counter {
    pub fn new(max_cardinality: Option<u64>, offset: u64) -> Counter {
        Counter {
            max_cardinality,
            next: offset,
        }
    }
}

fn value(offset: u64) -> Row {
    Row::of(Datum::Int64(offset as i64 + 1))
}

impl LoadGenerator for Counter {
    fn position(&self) -> u64 {
        self.next
    }

    fn produce(&mut self, count: u64, _now_ms: u64, out: &mut OutputUpdates) {
        for offset in self.next..self.next + count {
            out[0].push((value(offset), 1));
            if let Some(max) = self.max_cardinality {
                if offset >= max {
                    out[0].push((value(offset - max), -1));
                }
            }
        }
        self.next += count;
    }
}
