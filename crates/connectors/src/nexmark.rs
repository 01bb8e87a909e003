//! The Nexmark benchmark's event stream: people, auctions and bids.
//!
//! Events come from the `nexmark` crate (RisingWave's generator), which makes event `n` a
//! pure function of `n` and the configuration: the generator seeds its random numbers with
//! the event's number. That is what makes this stream usable as a durable source (a source
//! resumed at event `n` produces exactly the events a fresh one would from `n` on) and as a
//! benchmark input (a hand-written baseline that reads [`Generator`] sees the same events
//! as evert's `CREATE SOURCE ... FROM LOAD GENERATOR NEXMARK`).
//!
//! Rows use the column names and types of RisingWave's Nexmark schema, which the queries in
//! the Nexmark corpus are written against:
//!
//! | relation | columns |
//! |---|---|
//! | `person`  | `id, name, email_address, credit_card, city, state, date_time, extra` |
//! | `auction` | `id, item_name, description, initial_bid, reserve, date_time, expires, seller, category, extra` |
//! | `bid`     | `auction, bidder, price, channel, url, date_time, extra` |
//!
//! Identifiers and prices are `bigint`, `date_time` and `expires` are `timestamp` (without
//! time zone), everything else is `text`; no column is nullable.
//!
//! ```
//! use evert_connectors::nexmark::{Generator, NexmarkConfig, NexmarkTable};
//!
//! let mut generator = Generator::new(&NexmarkConfig { event_count: Some(50), ..Default::default() });
//! let mut bids = 0;
//! while let Some((table, _row)) = generator.next_row() {
//!     if table == NexmarkTable::Bid {
//!         bids += 1;
//!     }
//! }
//! // Of every 50 events, 1 is a person, 3 are auctions and 46 are bids.
//! assert_eq!(bids, 46);
//! ```

use evert_repr::{ColumnType, DateTime, Datum, RelationDesc, RelationType, Row, ScalarType};

pub use nexmark::event::{Auction, Bid, Event, EventType, Person};

/// 2024-01-01 00:00:00 UTC in milliseconds: the `date_time` of event 0 unless configured.
/// A fixed default (the `nexmark` crate's own default is the wall clock) keeps the stream
/// the same from run to run.
pub const DEFAULT_BASE_TIME_MS: u64 = 1_704_067_200_000;

/// The event-time rate of the default configuration: events per second of `date_time`.
pub const DEFAULT_EVENTS_PER_SECOND: u64 = 10_000;

/// Which events to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NexmarkConfig {
    /// The number of the first event to produce (0 for the start of the stream). A
    /// generator started at `n` produces exactly what a generator started at 0 produces
    /// after its first `n` events.
    pub first_event: u64,
    /// How many events to produce (from `first_event`); `None` for an endless stream.
    pub event_count: Option<u64>,
    /// The event-time rate: consecutive events' `date_time` are `1 / events_per_second`
    /// seconds apart. This is the timeline the events describe, not how fast they are made.
    pub events_per_second: u64,
    /// The `date_time` of event 0, in milliseconds since the Unix epoch.
    pub base_time_ms: u64,
}

impl Default for NexmarkConfig {
    fn default() -> Self {
        NexmarkConfig {
            first_event: 0,
            event_count: None,
            events_per_second: DEFAULT_EVENTS_PER_SECOND,
            base_time_ms: DEFAULT_BASE_TIME_MS,
        }
    }
}

/// The three Nexmark relations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NexmarkTable {
    Person,
    Auction,
    Bid,
}

impl NexmarkTable {
    pub const ALL: [NexmarkTable; 3] = [
        NexmarkTable::Person,
        NexmarkTable::Auction,
        NexmarkTable::Bid,
    ];

    /// The relation's name: `person`, `auction` or `bid`.
    pub fn name(self) -> &'static str {
        match self {
            NexmarkTable::Person => "person",
            NexmarkTable::Auction => "auction",
            NexmarkTable::Bid => "bid",
        }
    }

    /// Position in [`NexmarkTable::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The relation's columns.
    pub fn desc(self) -> RelationDesc {
        use ScalarType::{Int64, String, Timestamp};
        let columns: &[(&str, ScalarType)] = match self {
            NexmarkTable::Person => &[
                ("id", Int64),
                ("name", String),
                ("email_address", String),
                ("credit_card", String),
                ("city", String),
                ("state", String),
                ("date_time", Timestamp),
                ("extra", String),
            ],
            NexmarkTable::Auction => &[
                ("id", Int64),
                ("item_name", String),
                ("description", String),
                ("initial_bid", Int64),
                ("reserve", Int64),
                ("date_time", Timestamp),
                ("expires", Timestamp),
                ("seller", Int64),
                ("category", Int64),
                ("extra", String),
            ],
            NexmarkTable::Bid => &[
                ("auction", Int64),
                ("bidder", Int64),
                ("price", Int64),
                ("channel", String),
                ("url", String),
                ("date_time", Timestamp),
                ("extra", String),
            ],
        };
        desc_of(columns)
    }
}

pub(crate) fn desc_of(columns: &[(&str, ScalarType)]) -> RelationDesc {
    RelationDesc::new(
        RelationType::new(
            columns
                .iter()
                .map(|(_, t)| ColumnType::new(t.clone(), false))
                .collect(),
        ),
        columns.iter().map(|(n, _)| n.to_string()).collect(),
    )
}

/// A deterministic stream of Nexmark events, as `nexmark` events or as evert rows.
#[derive(Clone, Debug)]
pub struct Generator {
    events: nexmark::EventGenerator,
    /// The number of the next event.
    position: u64,
    /// The number of the first event not to produce.
    end: Option<u64>,
}

impl Generator {
    pub fn new(config: &NexmarkConfig) -> Generator {
        let nexmark_config = nexmark::config::NexmarkConfig {
            base_time: config.base_time_ms,
            first_rate: config.events_per_second.max(1) as usize,
            next_rate: config.events_per_second.max(1) as usize,
            ..Default::default()
        };
        Generator {
            events: nexmark::EventGenerator::new(nexmark_config).with_offset(config.first_event),
            position: config.first_event,
            end: config
                .event_count
                .map(|n| config.first_event.saturating_add(n)),
        }
    }

    /// The number of the next event (the count of events before it in the stream).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether the configured number of events has been produced.
    pub fn is_done(&self) -> bool {
        self.end.is_some_and(|end| self.position >= end)
    }

    /// The next event, or `None` after the configured count.
    pub fn next_event(&mut self) -> Option<Event> {
        if self.is_done() {
            return None;
        }
        self.position += 1;
        self.events.next()
    }

    /// The next event as a row of its relation.
    pub fn next_row(&mut self) -> Option<(NexmarkTable, Row)> {
        self.next_event().map(|e| event_row(&e))
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.next_event()
    }
}

/// An event as a row of its relation.
pub fn event_row(event: &Event) -> (NexmarkTable, Row) {
    match event {
        Event::Person(p) => (NexmarkTable::Person, person_row(p)),
        Event::Auction(a) => (NexmarkTable::Auction, auction_row(a)),
        Event::Bid(b) => (NexmarkTable::Bid, bid_row(b)),
    }
}

fn int(v: usize) -> Datum<'static> {
    Datum::Int64(v as i64)
}

fn time(ms: u64) -> Datum<'static> {
    Datum::Timestamp(DateTime::from_millis(ms))
}

pub fn person_row(p: &Person) -> Row {
    Row::pack_slice(&[
        int(p.id),
        Datum::String(&p.name),
        Datum::String(&p.email_address),
        Datum::String(&p.credit_card),
        Datum::String(&p.city),
        Datum::String(&p.state),
        time(p.date_time),
        Datum::String(&p.extra),
    ])
}

pub fn auction_row(a: &Auction) -> Row {
    Row::pack_slice(&[
        int(a.id),
        Datum::String(&a.item_name),
        Datum::String(&a.description),
        int(a.initial_bid),
        int(a.reserve),
        time(a.date_time),
        time(a.expires),
        int(a.seller),
        int(a.category),
        Datum::String(&a.extra),
    ])
}

pub fn bid_row(b: &Bid) -> Row {
    Row::pack_slice(&[
        int(b.auction),
        int(b.bidder),
        int(b.price),
        Datum::String(&b.channel),
        Datum::String(&b.url),
        time(b.date_time),
        Datum::String(&b.extra),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_and_columns() {
        let mut generator = Generator::new(&NexmarkConfig {
            event_count: Some(1000),
            ..Default::default()
        });
        let mut counts = [0usize; 3];
        while let Some((table, row)) = generator.next_row() {
            assert_eq!(row.len(), table.desc().arity());
            counts[table.index()] += 1;
        }
        assert_eq!(counts, [20, 60, 920]);
        assert!(generator.is_done());
        assert_eq!(generator.position(), 1000);
    }

    #[test]
    fn resuming_repeats_nothing() {
        let all: Vec<Event> = Generator::new(&NexmarkConfig {
            event_count: Some(300),
            ..Default::default()
        })
        .collect();
        let mut resumed: Vec<Event> = Generator::new(&NexmarkConfig {
            event_count: Some(100),
            ..Default::default()
        })
        .collect();
        resumed.extend(Generator::new(&NexmarkConfig {
            first_event: 100,
            event_count: Some(200),
            ..Default::default()
        }));
        assert_eq!(all, resumed);
    }

    #[test]
    fn event_time_follows_the_rate() {
        let events: Vec<Event> = Generator::new(&NexmarkConfig {
            event_count: Some(20_001),
            ..Default::default()
        })
        .collect();
        assert_eq!(events[0].timestamp(), DEFAULT_BASE_TIME_MS);
        // 10,000 events per second of event time.
        assert_eq!(events[20_000].timestamp(), DEFAULT_BASE_TIME_MS + 2_000);
    }
}
