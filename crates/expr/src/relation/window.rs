//! Window functions: values computed for each row from the ordered rows of its partition.
//!
//! A `Window` node appends one column per [`WindowCall`] to every input row. All calls of
//! one node share a partitioning and an ordering; the planner makes one node per distinct
//! `OVER (PARTITION BY … ORDER BY …)`. [`eval_partition`] computes the values of a whole
//! partition at once; the dataflow calls it for each partition that changed, so the cost of
//! an update is proportional to the partitions it touches, not to the relation.
//!
//! Frames follow PostgreSQL: with an ORDER BY the default frame is `RANGE BETWEEN UNBOUNDED
//! PRECEDING AND CURRENT ROW`, which includes the current row's *peers* (rows with equal
//! ORDER BY keys); without one, every row of the partition is a peer.

use std::collections::BTreeMap;
use std::fmt;

use evert_repr::{ColumnType, Datum, RowArena, ScalarType};

use crate::error::EvalError;
use crate::relation::agg::{Accumulator, AggregateFunc};
use crate::relation::{compare_by_order, ColumnOrder};

/// The rows of the partition a window function sees for each row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowFrame {
    /// ROWS (true) or RANGE (false) framing. RANGE frames only have unbounded or
    /// current-row (peer) bounds.
    pub rows: bool,
    /// Start: `None` is UNBOUNDED PRECEDING, `Some(n)` is n rows before (negative: after);
    /// for RANGE, `Some(0)` is the first peer.
    pub start: Option<i64>,
    /// End: `None` is UNBOUNDED FOLLOWING, `Some(n)` is n rows after (negative: before);
    /// for RANGE, `Some(0)` is the last peer.
    pub end: Option<i64>,
}

impl WindowFrame {
    /// SQL's default frame: from the partition start to the current row's last peer.
    pub fn default_frame() -> WindowFrame {
        WindowFrame {
            rows: false,
            start: None,
            end: Some(0),
        }
    }

    /// The whole partition.
    pub fn whole() -> WindowFrame {
        WindowFrame {
            rows: true,
            start: None,
            end: None,
        }
    }
}

impl fmt::Display for WindowFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |b: Option<i64>, unbounded: &str| match b {
            None => unbounded.to_string(),
            Some(0) => "CURRENT ROW".to_string(),
            Some(n) if n < 0 => format!("{} FOLLOWING", -n),
            Some(n) => format!("{n} PRECEDING"),
        };
        let end = match self.end {
            None => "UNBOUNDED FOLLOWING".to_string(),
            Some(0) => "CURRENT ROW".to_string(),
            Some(n) if n < 0 => format!("{} PRECEDING", -n),
            Some(n) => format!("{n} FOLLOWING"),
        };
        write!(
            f,
            "{} BETWEEN {} AND {end}",
            if self.rows { "ROWS" } else { "RANGE" },
            bound(self.start, "UNBOUNDED PRECEDING")
        )
    }
}

/// A window function.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// `lag(value, offset, default)`: the value `offset` rows before (negative: after, which
    /// is `lead`); `None` is a NULL offset, which gives NULL. Arguments: value, default.
    Lag {
        offset: Option<i64>,
    },
    /// Arguments: value.
    FirstValue,
    LastValue,
    /// An aggregate over the frame. Arguments: the aggregate's arguments.
    Aggregate(AggregateFunc),
}

/// One window function call of a `Window` node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowCall {
    pub func: WindowFunc,
    /// Input columns holding the arguments.
    pub args: Vec<usize>,
    /// For aggregates: an input column whose value must be TRUE for the row to count.
    pub filter: Option<usize>,
    pub frame: WindowFrame,
    /// The type of the result.
    pub typ: ColumnType,
}

impl WindowCall {
    pub fn name(&self) -> String {
        match &self.func {
            WindowFunc::RowNumber => "row_number".into(),
            WindowFunc::Rank => "rank".into(),
            WindowFunc::DenseRank => "dense_rank".into(),
            WindowFunc::PercentRank => "percent_rank".into(),
            WindowFunc::CumeDist => "cume_dist".into(),
            WindowFunc::Lag { offset } => match offset {
                Some(n) if *n < 0 => format!("lead[{}]", -n),
                Some(n) => format!("lag[{n}]"),
                None => "lag[null]".into(),
            },
            WindowFunc::FirstValue => "first_value".into(),
            WindowFunc::LastValue => "last_value".into(),
            WindowFunc::Aggregate(a) => a.name().into(),
        }
    }

    /// The columns of the input the call reads.
    pub fn support(&self) -> Vec<usize> {
        let mut s = self.args.clone();
        s.extend(self.filter);
        s
    }
}

impl fmt::Display for WindowCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<String> = self.args.iter().map(|c| format!("#{c}")).collect();
        write!(f, "{}({})", self.name(), args.join(", "))?;
        if let Some(c) = self.filter {
            write!(f, " filter #{c}")?;
        }
        if matches!(
            self.func,
            WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::Aggregate(_)
        ) {
            write!(f, " {}", self.frame)?;
        }
        Ok(())
    }
}

/// Computes every call's value for every row of one partition. `rows` are the partition's
/// rows, one entry per copy, already sorted by `order_by` (ties in any fixed order).
/// Returns, per row, the values of the calls in order.
pub fn eval_partition<'a>(
    rows: &[Vec<Datum<'a>>],
    order_by: &[ColumnOrder],
    calls: &[WindowCall],
    arena: &'a RowArena,
) -> Result<Vec<Vec<Datum<'a>>>, EvalError> {
    let n = rows.len();
    // Peer groups: rows whose ORDER BY keys compare equal.
    let mut peer_start = vec![0usize; n];
    let mut peer_end = vec![0usize; n];
    let mut dense = vec![0i64; n];
    let mut group = 0;
    let mut start = 0;
    for i in 0..n {
        if i > 0 && compare_by_order(&rows[i - 1], &rows[i], order_by) != std::cmp::Ordering::Equal
        {
            for e in &mut peer_end[start..i] {
                *e = i;
            }
            start = i;
            group += 1;
        }
        peer_start[i] = start;
        dense[i] = group + 1;
    }
    for e in &mut peer_end[start..n] {
        *e = n;
    }
    let mut out: Vec<Vec<Datum<'a>>> = (0..n).map(|_| Vec::with_capacity(calls.len())).collect();
    for call in calls {
        let values = eval_call(rows, call, &peer_start, &peer_end, &dense, arena)?;
        for (row, v) in out.iter_mut().zip(values) {
            row.push(v);
        }
    }
    Ok(out)
}

/// The frame of row `i` as a half-open range of row indexes (possibly empty).
fn frame_bounds(
    frame: &WindowFrame,
    i: usize,
    n: usize,
    peer_start: &[usize],
    peer_end: &[usize],
) -> (usize, usize) {
    let n_i = n as i64;
    let i_i = i as i64;
    let lo = match frame.start {
        None => 0,
        Some(_) if !frame.rows => peer_start[i] as i64,
        Some(k) => (i_i - k).clamp(0, n_i),
    };
    let hi = match frame.end {
        None => n_i,
        Some(_) if !frame.rows => peer_end[i] as i64,
        Some(k) => (i_i + k + 1).clamp(0, n_i),
    };
    let lo = lo as usize;
    let hi = (hi as usize).max(lo);
    (lo, hi)
}

fn eval_call<'a>(
    rows: &[Vec<Datum<'a>>],
    call: &WindowCall,
    peer_start: &[usize],
    peer_end: &[usize],
    dense: &[i64],
    arena: &'a RowArena,
) -> Result<Vec<Datum<'a>>, EvalError> {
    let n = rows.len();
    let arg = |i: usize, a: usize| -> Datum<'a> {
        call.args.get(a).map(|c| rows[i][*c]).unwrap_or(Datum::Null)
    };
    Ok(match &call.func {
        WindowFunc::RowNumber => (0..n).map(|i| Datum::Int64(i as i64 + 1)).collect(),
        WindowFunc::Rank => (0..n)
            .map(|i| Datum::Int64(peer_start[i] as i64 + 1))
            .collect(),
        WindowFunc::DenseRank => dense.iter().map(|d| Datum::Int64(*d)).collect(),
        WindowFunc::PercentRank => (0..n)
            .map(|i| {
                Datum::Float64(if n <= 1 {
                    0.0
                } else {
                    peer_start[i] as f64 / (n - 1) as f64
                })
            })
            .collect(),
        WindowFunc::CumeDist => (0..n)
            .map(|i| Datum::Float64(peer_end[i] as f64 / n as f64))
            .collect(),
        WindowFunc::Lag { offset } => (0..n)
            .map(|i| match offset {
                None => Datum::Null,
                Some(k) => {
                    let j = i as i64 - k;
                    if (0..n as i64).contains(&j) {
                        arg(j as usize, 0)
                    } else {
                        arg(i, 1)
                    }
                }
            })
            .collect(),
        WindowFunc::FirstValue | WindowFunc::LastValue => (0..n)
            .map(|i| {
                let (lo, hi) = frame_bounds(&call.frame, i, n, peer_start, peer_end);
                if lo == hi {
                    Datum::Null
                } else if call.func == WindowFunc::FirstValue {
                    arg(lo, 0)
                } else {
                    arg(hi - 1, 0)
                }
            })
            .collect(),
        WindowFunc::Aggregate(func) => {
            eval_aggregate(rows, call, func, peer_start, peer_end, arena)?
        }
    })
}

/// An aggregate over each row's frame. Frame bounds never move backwards from one row to
/// the next, so accumulable aggregates slide an accumulator (adding rows that enter,
/// retracting rows that leave) and min/max slide a multiset: both linear in the partition.
/// Other aggregates are recomputed per distinct frame.
fn eval_aggregate<'a>(
    rows: &[Vec<Datum<'a>>],
    call: &WindowCall,
    func: &AggregateFunc,
    peer_start: &[usize],
    peer_end: &[usize],
    arena: &'a RowArena,
) -> Result<Vec<Datum<'a>>, EvalError> {
    let n = rows.len();
    let counts = |i: usize| -> bool {
        match call.filter {
            Some(c) => rows[i][c] == Datum::True,
            None => true,
        }
    };
    let mut out = Vec::with_capacity(n);
    if func.is_accumulable() {
        let mut acc = Accumulator::default();
        let (mut lo, mut hi) = (0usize, 0usize);
        let add = |acc: &mut Accumulator, i: usize, d: i64| -> Result<(), EvalError> {
            if !counts(i) {
                return Ok(());
            }
            // count(*) counts every row; other aggregates skip NULL arguments.
            let value = match call.args.first() {
                None => Datum::True,
                Some(c) => rows[i][*c],
            };
            acc.add_value(func, value, d)
        };
        for i in 0..n {
            let (l, h) = frame_bounds(&call.frame, i, n, peer_start, peer_end);
            while hi < h {
                add(&mut acc, hi, 1)?;
                hi += 1;
            }
            while lo < l {
                if lo < hi {
                    add(&mut acc, lo, -1)?;
                }
                lo += 1;
            }
            hi = hi.max(lo);
            out.push(acc.finish(func)?);
        }
        return Ok(out);
    }
    if matches!(func, AggregateFunc::Min | AggregateFunc::Max) {
        let mut window: BTreeMap<Datum<'a>, i64> = BTreeMap::new();
        let (mut lo, mut hi) = (0usize, 0usize);
        let change = |w: &mut BTreeMap<Datum<'a>, i64>, i: usize, d: i64| {
            let v = rows[i][call.args[0]];
            if v.is_null() || !counts(i) {
                return;
            }
            let e = w.entry(v).or_insert(0);
            *e += d;
            if *e == 0 {
                w.remove(&v);
            }
        };
        for i in 0..n {
            let (l, h) = frame_bounds(&call.frame, i, n, peer_start, peer_end);
            while hi < h {
                change(&mut window, hi, 1);
                hi += 1;
            }
            while lo < l {
                if lo < hi {
                    change(&mut window, lo, -1);
                }
                lo += 1;
            }
            hi = hi.max(lo);
            let v = if *func == AggregateFunc::Min {
                window.keys().next()
            } else {
                window.keys().next_back()
            };
            out.push(v.copied().unwrap_or(Datum::Null));
        }
        return Ok(out);
    }
    let mut previous: Option<((usize, usize), Datum<'a>)> = None;
    for i in 0..n {
        let bounds = frame_bounds(&call.frame, i, n, peer_start, peer_end);
        if let Some((b, v)) = previous {
            if b == bounds {
                out.push(v);
                continue;
            }
        }
        let values: Vec<(Vec<Datum<'a>>, i64)> = (bounds.0..bounds.1)
            .filter(|j| counts(*j))
            .map(|j| (call.args.iter().map(|c| rows[j][*c]).collect(), 1))
            .collect();
        let v = if values.is_empty() {
            func.default_value()
        } else {
            func.eval_group(values, &[], arena)?
        };
        previous = Some((bounds, v));
        out.push(v);
    }
    Ok(out)
}

/// The result type of a ranking function.
pub fn ranking_type(func: &WindowFunc) -> ColumnType {
    match func {
        WindowFunc::PercentRank | WindowFunc::CumeDist => ScalarType::Float64.nullable(false),
        _ => ScalarType::Int64.nullable(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(func: WindowFunc, args: Vec<usize>, frame: WindowFrame) -> WindowCall {
        WindowCall {
            func,
            args,
            filter: None,
            frame,
            typ: ScalarType::Int64.nullable(true),
        }
    }

    #[test]
    fn ranks_and_default_frame_sum() {
        let arena = RowArena::new();
        // (order key, value)
        let rows: Vec<Vec<Datum>> = [(1, 10), (2, 20), (2, 30), (3, 40)]
            .iter()
            .map(|(k, v)| vec![Datum::Int32(*k), Datum::Int32(*v)])
            .collect();
        let order = vec![ColumnOrder::asc(0)];
        let calls = vec![
            call(WindowFunc::RowNumber, vec![], WindowFrame::default_frame()),
            call(WindowFunc::Rank, vec![], WindowFrame::default_frame()),
            call(WindowFunc::DenseRank, vec![], WindowFrame::default_frame()),
            call(
                WindowFunc::Aggregate(AggregateFunc::SumInt32),
                vec![1],
                WindowFrame::default_frame(),
            ),
            call(
                WindowFunc::Aggregate(AggregateFunc::Max),
                vec![1],
                WindowFrame {
                    rows: true,
                    start: Some(1),
                    end: Some(0),
                },
            ),
            call(WindowFunc::LastValue, vec![1], WindowFrame::default_frame()),
        ];
        let out = eval_partition(&rows, &order, &calls, &arena).unwrap();
        let ints: Vec<Vec<i64>> = out
            .iter()
            .map(|r| {
                r.iter()
                    .map(|d| match d {
                        Datum::Int64(i) => *i,
                        Datum::Int32(i) => i64::from(*i),
                        other => panic!("{other:?}"),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            ints,
            vec![
                vec![1, 1, 1, 10, 10, 10],
                vec![2, 2, 2, 60, 20, 30],
                vec![3, 2, 2, 60, 30, 30],
                vec![4, 4, 3, 100, 40, 40],
            ]
        );
    }
}
