//! Hand-written timely/differential programs for q0–q5, q7 and q8: the ceiling evert's SQL
//! layer is measured against.
//!
//! Each program computes what the query's SQL computes (the equivalence test compares their
//! final contents with evert's views), written the way one would write it by hand: events
//! are parsed once into tuples of just the fields the query reads, windows are integer
//! arithmetic on milliseconds, and the result is kept in an arrangement (the hand-written
//! counterpart of a materialized view's index), whose logical compaction follows the input.
//!
//! Events come from the same generator as evert's (`evert_connectors::nexmark`). Worker
//! `i` of `w` generates the `i`th slice of each batch of `batch` events, so the workers
//! together produce the same event sequence as evert's run; each batch is one timestamp.
//! Workers keep at most two batches in flight before waiting for the output to catch up.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use differential_dataflow::input::InputSession;
use differential_dataflow::trace::TraceReader;
use differential_dataflow::VecCollection;
use evert_connectors::nexmark::{Event, Generator};
use evert_repr::DateTime;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::progress::frontier::AntichainRef;

use crate::Workload;

/// A person as the baselines read it: `(id, name, city, state, date_time ms)`.
pub type PersonTuple = (u64, String, String, String, u64);
/// An auction as the baselines read it: `(id, seller, category, date_time ms, expires ms)`.
pub type AuctionTuple = (u64, u64, u64, u64, u64);
/// A bid as the baselines read it: `(auction, bidder, price, date_time ms)`.
pub type BidTuple = (u64, u64, u64, u64);

/// A result row as text, as evert's pgwire would print it.
pub type TextRow = Vec<String>;

#[derive(Clone, Debug)]
pub struct HandwrittenRun {
    pub elapsed: Duration,
    /// The program's final output (consolidated, each row repeated by its count), when asked for.
    pub rows: Option<Vec<TextRow>>,
}

type Collection<'s, D> = VecCollection<'s, u64, D, isize>;
type Captured = Rc<RefCell<Vec<(TextRow, isize)>>>;

const TUMBLE_MS: u64 = 10_000;
const HOP_SLIDE_MS: u64 = 2_000;
const HOP_SIZE_MS: u64 = 10_000;

fn timestamp_text(ms: u64) -> String {
    DateTime::from_millis(ms).to_string()
}

/// A number of thousandths as PostgreSQL prints a numeric of scale 3.
fn thousandths_text(milli: u64) -> String {
    format!("{}.{:03}", milli / 1000, milli % 1000)
}

/// Arranges the output (as a view's index) and, in verification mode, records it as text.
fn finish<D>(
    output: Collection<'_, D>,
    captured: Option<Captured>,
    text: fn(&D) -> TextRow,
    probe: &ProbeHandle<u64>,
) -> Box<dyn FnMut(u64)>
where
    D: differential_dataflow::ExchangeData
        + differential_dataflow::Hashable
        + Ord
        + Clone
        + 'static,
{
    let output = match captured {
        Some(captured) => output.inspect(move |(row, _time, diff)| {
            captured.borrow_mut().push((text(row), *diff));
        }),
        None => output,
    };
    let arranged = output.arrange_by_self();
    arranged.stream.probe_with(probe);
    let mut trace = arranged.trace;
    // Readers of the result need only the present: let the arrangement compact to `time`.
    Box::new(move |time| {
        trace.set_logical_compaction(AntichainRef::new(&[time]));
        trace.set_physical_compaction(AntichainRef::new(&[time]));
    })
}

/// Runs `query`'s hand-written program with `workers` threads over `events` events.
pub fn run(
    query: &str,
    workers: usize,
    workload: &Workload,
    collect_rows: bool,
) -> Result<HandwrittenRun, String> {
    let query = query.to_string();
    let workload = *workload;
    let (events, batch) = (workload.events, workload.batch);
    if !crate::queries::HANDWRITTEN.contains(&query.as_str()) {
        return Err(format!("no hand-written program for {query}"));
    }
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let captured: Option<Captured> = collect_rows.then(Default::default);
        let probe = ProbeHandle::new();
        let mut people = InputSession::<u64, PersonTuple, isize>::new();
        let mut auctions = InputSession::<u64, AuctionTuple, isize>::new();
        let mut bids = InputSession::<u64, BidTuple, isize>::new();
        let mut compact_output = worker.dataflow::<u64, _, _>(|scope| {
            let person = people.to_collection(scope.clone());
            let auction = auctions.to_collection(scope.clone());
            let bid = bids.to_collection(scope.clone());
            let c = captured.clone();
            match query.as_str() {
                "q0" => finish(q0(bid), c, |r| text4(r), &probe),
                "q1" => finish(q1(bid), c, q1_text, &probe),
                "q2" => finish(
                    q2(bid),
                    c,
                    |(a, p)| vec![a.to_string(), p.to_string()],
                    &probe,
                ),
                "q3" => finish(q3(person, auction), c, q3_text, &probe),
                "q4" => finish(q4(auction, bid), c, q4_text, &probe),
                "q5" => finish(
                    q5(bid),
                    c,
                    |(a, n)| vec![a.to_string(), n.to_string()],
                    &probe,
                ),
                "q7" => finish(q7(bid), c, |r| text4(r), &probe),
                "q8" => finish(q8(person, auction), c, q8_text, &probe),
                other => unreachable!("checked above: {other}"),
            }
        });

        let start = Instant::now();
        let (index, peers) = (worker.index() as u64, worker.peers() as u64);
        let batches = events.div_ceil(batch);
        for round in 0..batches {
            let first = round * batch;
            let count = batch.min(events - first);
            let (from, to) = (
                first + count * index / peers,
                first + count * (index + 1) / peers,
            );
            let generator = Generator::new(&workload.generator_config(from, to - from));
            for event in generator {
                match event {
                    Event::Person(p) => {
                        people.insert((p.id as u64, p.name, p.city, p.state, p.date_time))
                    }
                    Event::Auction(a) => auctions.insert((
                        a.id as u64,
                        a.seller as u64,
                        a.category as u64,
                        a.date_time,
                        a.expires,
                    )),
                    Event::Bid(b) => bids.insert((
                        b.auction as u64,
                        b.bidder as u64,
                        b.price as u64,
                        b.date_time,
                    )),
                }
            }
            let next = round + 1;
            for time in [&mut people as &mut dyn Advance, &mut auctions, &mut bids] {
                time.advance(next);
            }
            // Let the output follow, at most two batches behind.
            while probe.less_than(&next.saturating_sub(2)) {
                worker.step();
            }
            compact_output(next.saturating_sub(2));
        }
        let end = batches;
        worker.step_while(|| probe.less_than(&end));
        let elapsed = start.elapsed();
        let rows = captured.map(|c| c.borrow().clone());
        (elapsed, rows)
    })
    .map_err(|e| format!("timely: {e}"))?;

    let mut elapsed = Duration::ZERO;
    let mut updates: Vec<(TextRow, isize)> = Vec::new();
    let mut collected = false;
    for result in guards.join() {
        let (worker_elapsed, rows) = result.map_err(|e| format!("worker failed: {e}"))?;
        elapsed = elapsed.max(worker_elapsed);
        if let Some(rows) = rows {
            collected = true;
            updates.extend(rows);
        }
    }
    let rows = collected.then(|| consolidate_text(updates));
    Ok(HandwrittenRun { elapsed, rows })
}

/// Sums the updates per row and lists each row as many times as its count.
fn consolidate_text(updates: Vec<(TextRow, isize)>) -> Vec<TextRow> {
    let mut counts = std::collections::BTreeMap::<TextRow, isize>::new();
    for (row, diff) in updates {
        *counts.entry(row).or_default() += diff;
    }
    let mut rows = Vec::new();
    for (row, count) in counts {
        assert!(count >= 0, "negative multiplicity for {row:?}");
        for _ in 0..count {
            rows.push(row.clone());
        }
    }
    rows
}

/// Advancing an input of any row type.
trait Advance {
    fn advance(&mut self, time: u64);
}

impl<D: differential_dataflow::ExchangeData + Clone> Advance for InputSession<u64, D, isize> {
    fn advance(&mut self, time: u64) {
        self.advance_to(time);
        self.flush();
    }
}

fn text4(&(a, b, c, t): &(u64, u64, u64, u64)) -> TextRow {
    vec![
        a.to_string(),
        b.to_string(),
        c.to_string(),
        timestamp_text(t),
    ]
}

/// q0: `SELECT auction, bidder, price, date_time FROM bid`.
fn q0(bid: Collection<'_, BidTuple>) -> Collection<'_, BidTuple> {
    bid
}

/// q1: the price in another currency, `0.908 * price`, kept as the integer `908 * price`
/// (thousandths).
fn q1(bid: Collection<'_, BidTuple>) -> Collection<'_, (u64, u64, u64, u64)> {
    bid.map(|(auction, bidder, price, time)| (auction, bidder, price * 908, time))
}

fn q1_text(&(auction, bidder, milli_price, time): &(u64, u64, u64, u64)) -> TextRow {
    vec![
        auction.to_string(),
        bidder.to_string(),
        thousandths_text(milli_price),
        timestamp_text(time),
    ]
}

/// q2: bids on five given auctions.
fn q2(bid: Collection<'_, BidTuple>) -> Collection<'_, (u64, u64)> {
    bid.filter(|(auction, ..)| matches!(auction, 1007 | 1020 | 2001 | 2019 | 2087))
        .map(|(auction, _, price, _)| (auction, price))
}

/// q3: sellers in three states of auctions in category 10: `(name, city, state, auction id)`.
fn q3<'s>(
    person: Collection<'s, PersonTuple>,
    auction: Collection<'s, AuctionTuple>,
) -> Collection<'s, (String, String, String, u64)> {
    let sellers = person
        .filter(|(_, _, _, state, _)| matches!(state.as_str(), "or" | "id" | "ca"))
        .map(|(id, name, city, state, _)| (id, (name, city, state)));
    auction
        .filter(|&(_, _, category, _, _)| category == 10)
        .map(|(id, seller, ..)| (seller, id))
        .join_map(sellers, |_seller, &id, (name, city, state)| {
            (name.clone(), city.clone(), state.clone(), id)
        })
}

fn q3_text((name, city, state, id): &(String, String, String, u64)) -> TextRow {
    vec![name.clone(), city.clone(), state.clone(), id.to_string()]
}

/// q4: per category, the average over its auctions of the highest bid made while the
/// auction was open: `(category, sum of maxima, number of auctions)`.
fn q4<'s>(
    auction: Collection<'s, AuctionTuple>,
    bid: Collection<'s, BidTuple>,
) -> Collection<'s, (u64, (u128, u64))> {
    let auctions =
        auction.map(|(id, _, category, start, expires)| (id, (category, start, expires)));
    bid.map(|(auction, _, price, time)| (auction, (price, time)))
        .join_map(
            auctions,
            |&id, &(price, time), &(category, start, expires)| {
                ((id, category, time >= start && time <= expires), price)
            },
        )
        .filter(|((_, _, open), _)| *open)
        .map(|((id, category, _), price)| ((id, category), price))
        .reduce(|_auction, prices, out| out.push((*prices[prices.len() - 1].0, 1isize)))
        .map(|((_id, category), final_price)| (category, final_price))
        .reduce(|_category, finals, out| {
            let (mut sum, mut count) = (0u128, 0u64);
            for (price, n) in finals {
                sum += u128::from(**price) * (*n as u128);
                count += *n as u64;
            }
            out.push(((sum, count), 1isize));
        })
}

fn q4_text(&(category, (sum, count)): &(u64, (u128, u64))) -> TextRow {
    vec![
        category.to_string(),
        decimal_quotient(sum, u128::from(count)),
    ]
}

/// `a / b` with 20 decimals (the equivalence test compares numerics rounded).
fn decimal_quotient(a: u128, b: u128) -> String {
    let mut text = format!("{}.", a / b);
    let mut rest = a % b;
    for _ in 0..20 {
        rest *= 10;
        text.push(char::from(b'0' + (rest / b) as u8));
        rest %= b;
    }
    text
}

/// q5: per hopping window (2 s slide, 10 s size), the auctions with the most bids:
/// `(auction, bids)`.
fn q5(bid: Collection<'_, BidTuple>) -> Collection<'_, (u64, u64)> {
    let counts = bid
        .flat_map(|(auction, _, _, time)| {
            let last_start = time / HOP_SLIDE_MS * HOP_SLIDE_MS;
            (0..HOP_SIZE_MS / HOP_SLIDE_MS).map(move |k| (last_start - k * HOP_SLIDE_MS, auction))
        })
        .count()
        .map(|((start, auction), count)| (start, (auction, count as u64)));
    let maxima = counts
        .clone()
        .map(|(start, (_auction, count))| (start, count))
        .reduce(|_start, counts, out| out.push((*counts[counts.len() - 1].0, 1isize)));
    counts
        .join_map(maxima, |_start, &(auction, count), &max| {
            (auction, count, max)
        })
        .filter(|&(_, count, max)| count >= max)
        .map(|(auction, count, _)| (auction, count))
}

/// q7: the bids with the highest price of a 10 s tumbling window, paired with every window
/// end `e` with `e - 10 s <= date_time <= e`: `(auction, price, bidder, date_time)`.
fn q7(bid: Collection<'_, BidTuple>) -> Collection<'_, (u64, u64, u64, u64)> {
    let maxima = bid
        .clone()
        .map(|(_, _, price, time)| (time / TUMBLE_MS * TUMBLE_MS + TUMBLE_MS, price))
        .reduce(|_end, prices, out| out.push((*prices[prices.len() - 1].0, 1isize)));
    // A bid at `t` lies within `[e - 10 s, e]` for the window end after `t`, and also for
    // `e = t` when `t` is itself a window boundary.
    bid.flat_map(|(auction, bidder, price, time)| {
        let next_end = time / TUMBLE_MS * TUMBLE_MS + TUMBLE_MS;
        let on_boundary = (time % TUMBLE_MS == 0).then_some(time);
        std::iter::once(next_end)
            .chain(on_boundary)
            .map(move |end| ((end, price), (auction, bidder, time)))
    })
    .semijoin(maxima)
    .map(|((_end, price), (auction, bidder, time))| (auction, price, bidder, time))
}

/// q8: people who opened an auction in the 10 s tumbling window they registered in:
/// `(id, name, window start)`.
fn q8<'s>(
    person: Collection<'s, PersonTuple>,
    auction: Collection<'s, AuctionTuple>,
) -> Collection<'s, (u64, String, u64)> {
    let people = person
        .map(|(id, name, _, _, time)| ((id, time / TUMBLE_MS * TUMBLE_MS), name))
        .distinct();
    let sellers = auction
        .map(|(_, seller, _, time, _)| (seller, time / TUMBLE_MS * TUMBLE_MS))
        .distinct();
    people
        .semijoin(sellers)
        .map(|((id, start), name)| (id, name, start))
}

fn q8_text((id, name, start): &(u64, String, u64)) -> TextRow {
    vec![id.to_string(), name.clone(), timestamp_text(*start)]
}
