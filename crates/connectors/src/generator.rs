//! Load generators: deterministic functions from a position in a stream to rows.
//!
//! Every generator counts its progress in *offsets*: offset `n` is the `n`th unit of work
//! (one counter value, one auction-house event, one Nexmark event, or the whole TPC-H
//! snapshot at offset 0). What a generator produces for an offset depends only on the
//! offset, its options and, for the auction house, the wall clock. A source that records
//! the next offset in the same atomic commit as the rows (evert's adapter does, in the
//! source's progress relation) therefore resumes after a restart without repeating or
//! losing anything: it builds its generator with [`build`] at the recorded offset.
//!
//! ```text
//!   offsets:      0        1        2        3   ...
//!   COUNTER:     +1       +2       +3       +4        (MAX CARDINALITY 2: -1 at offset 2, ...)
//!   AUCTION:  org/user/account snapshot + an auction, then bids, a new auction every 10
//!   NEXMARK:   person  auction  auction  auction  bid x 46 ...   (nexmark's proportions)
//!   TPCH:     the 8 tables (offset 0 only)
//! ```

use evert_repr::{Diff, RelationDesc, Row};

use crate::{auction, counter, nexmark, tpch};

/// The kinds of load generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorKind {
    Counter,
    Auction,
    Nexmark,
    Tpch,
}

impl GeneratorKind {
    /// The generator named in `FROM LOAD GENERATOR <name>` (case-insensitive).
    pub fn from_name(name: &str) -> Option<GeneratorKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "counter" => GeneratorKind::Counter,
            "auction" => GeneratorKind::Auction,
            "nexmark" => GeneratorKind::Nexmark,
            "tpch" => GeneratorKind::Tpch,
            _ => return None,
        })
    }

    /// The name as written in SQL.
    pub fn name(self) -> &'static str {
        match self {
            GeneratorKind::Counter => "COUNTER",
            GeneratorKind::Auction => "AUCTION",
            GeneratorKind::Nexmark => "NEXMARK",
            GeneratorKind::Tpch => "TPCH",
        }
    }

    /// Whether the generator feeds several relations (one subsource each, created by
    /// `FOR ALL TABLES`) rather than the source itself.
    pub fn is_multi_output(self) -> bool {
        !matches!(self, GeneratorKind::Counter)
    }

    /// The relations the generator produces, in output order.
    pub fn outputs(self) -> Vec<(&'static str, RelationDesc)> {
        match self {
            GeneratorKind::Counter => vec![("counter", counter::desc())],
            GeneratorKind::Auction => auction::outputs(),
            GeneratorKind::Nexmark => nexmark::NexmarkTable::ALL
                .iter()
                .map(|t| (t.name(), t.desc()))
                .collect(),
            GeneratorKind::Tpch => tpch::outputs(),
        }
    }

    /// How many offsets make a batch when none is configured: one a tick for the small
    /// demo generators (as Materialize's do), a thousand Nexmark events.
    pub fn default_batch_size(self) -> u64 {
        match self {
            GeneratorKind::Counter | GeneratorKind::Auction => 1,
            GeneratorKind::Nexmark => 1_000,
            GeneratorKind::Tpch => 1,
        }
    }
}

/// The options a generator is built with (the SQL options that change what it produces).
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorOptions {
    /// COUNTER: keep at most this many rows, retracting the oldest.
    pub max_cardinality: Option<u64>,
    /// TPCH: the TPC-H scale factor (1.0 is about 1 GB of text).
    pub scale_factor: f64,
    /// AUCTION: the tick interval, which sets how long auctions run.
    pub tick_interval_ms: u64,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            max_cardinality: None,
            scale_factor: 0.01,
            tick_interval_ms: 1000,
        }
    }
}

/// Updates for each output of a generator, indexed like [`GeneratorKind::outputs`].
pub type OutputUpdates = Vec<Vec<(Row, Diff)>>;

/// A load generator positioned at an offset.
pub trait LoadGenerator: Send {
    /// The next offset it will produce.
    fn position(&self) -> u64;

    /// The first offset it will never produce (`None`: it runs forever). TPCH ends at 1.
    fn end(&self) -> Option<u64> {
        None
    }

    /// Appends the updates of offsets `position() .. position() + count` (fewer at the end)
    /// to `out`, and advances. `now_ms` is the wall clock, for generators whose rows carry
    /// it (the auction house).
    fn produce(&mut self, count: u64, now_ms: u64, out: &mut OutputUpdates);
}

/// Builds a generator that resumes at `offset`.
pub fn build(
    kind: GeneratorKind,
    options: &GeneratorOptions,
    offset: u64,
) -> Box<dyn LoadGenerator> {
    match kind {
        GeneratorKind::Counter => Box::new(counter::Counter::new(options.max_cardinality, offset)),
        GeneratorKind::Auction => {
            Box::new(auction::AuctionHouse::new(options.tick_interval_ms, offset))
        }
        GeneratorKind::Nexmark => Box::new(NexmarkSource {
            generator: nexmark::Generator::new(&nexmark::NexmarkConfig {
                first_event: offset,
                ..Default::default()
            }),
        }),
        GeneratorKind::Tpch => Box::new(tpch::Tpch::new(options.scale_factor, offset)),
    }
}

/// Empty update lists, one per output of `kind`.
pub fn empty_updates(kind: GeneratorKind) -> OutputUpdates {
    vec![Vec::new(); kind.outputs().len()]
}

struct NexmarkSource {
    generator: nexmark::Generator,
}

impl LoadGenerator for NexmarkSource {
    fn position(&self) -> u64 {
        self.generator.position()
    }

    fn produce(&mut self, count: u64, _now_ms: u64, out: &mut OutputUpdates) {
        for _ in 0..count {
            match self.generator.next_row() {
                Some((table, row)) => out[table.index()].push((row, 1)),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Producing in one go or in pieces, resumed at each piece's start, gives the same rows.
    #[test]
    fn batches_and_resumption_agree() {
        for kind in [GeneratorKind::Counter, GeneratorKind::Nexmark] {
            let options = GeneratorOptions {
                max_cardinality: Some(7),
                ..Default::default()
            };
            let mut whole = empty_updates(kind);
            build(kind, &options, 0).produce(100, 0, &mut whole);
            let mut pieces = empty_updates(kind);
            let mut offset = 0;
            for size in [1, 13, 30, 56] {
                let mut generator = build(kind, &options, offset);
                generator.produce(size, 0, &mut pieces);
                offset = generator.position();
            }
            assert_eq!(offset, 100);
            assert_eq!(whole, pieces, "{kind:?}");
        }
    }
}
