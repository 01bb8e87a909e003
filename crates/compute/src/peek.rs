//! Peeks: reading an arrangement at a timestamp.
//!
//! A peek waits until the arrangement's upper frontier has passed its timestamp (every update
//! at or before it is present), then walks the arrangement with a cursor, accumulating each
//! row's multiplicity over the updates at times at or before the timestamp. The collection's
//! errors are read first: if any error is present at that time, the reader gets it instead
//! of rows.

use differential_dataflow::trace::cursor::{cursor_list, Cursor};
use differential_dataflow::trace::TraceReader;
use evert_expr::EvalError;
use evert_repr::{Datum, Diff, Row, RowArena, Timestamp};
use timely::progress::Antichain;

use crate::command::{Peek, PeekResponse};
use crate::registry::TraceRegistry;

/// Serves the peek if its time is complete; `None` means "not yet".
pub fn try_peek(registry: &mut TraceRegistry, peek: &Peek) -> Option<PeekResponse> {
    let Some(traces) = registry.get_mut(&peek.collection) else {
        return Some(PeekResponse::Failed(format!(
            "collection {} no longer exists",
            peek.collection
        )));
    };
    let Some(arranged) = traces.arrangements.get_mut(&peek.key) else {
        return Some(PeekResponse::Failed(format!(
            "collection {} has no such arrangement",
            peek.collection
        )));
    };
    let time = peek.timestamp;

    let mut upper = Antichain::new();
    arranged.oks.read_upper(&mut upper);
    if upper.less_equal(&time) {
        return None;
    }
    if let Some(errs) = &mut traces.errs {
        let mut err_upper = Antichain::new();
        errs.read_upper(&mut err_upper);
        if err_upper.less_equal(&time) {
            return None;
        }
    }
    let since = arranged.oks.get_logical_compaction().to_owned();
    if !since.less_equal(&time) {
        return Some(PeekResponse::Failed(format!(
            "timestamp {time} is not readable: history before {:?} has been compacted",
            since.elements()
        )));
    }

    if let Some(errs) = &mut traces.errs {
        if let Some(error) = first_error(errs, time) {
            return Some(PeekResponse::Error(error));
        }
    }

    let Some(batches) = arranged.oks.batches_through(Antichain::new().borrow()) else {
        return Some(PeekResponse::Failed("arrangement could not be read".into()));
    };
    let (mut cursor, storage) = cursor_list(batches);
    let arena = RowArena::new();
    let mut rows: Vec<(Row, Diff)> = Vec::new();
    let mut out = Row::default();
    let identity = arranged.identity;

    // Index lookups visit the wanted keys in order (cursors only seek forward); a scan
    // visits every key.
    let mut wanted: Option<std::vec::IntoIter<Row>> = peek.literal_keys.as_ref().map(|keys| {
        let mut keys = keys.clone();
        keys.sort();
        keys.dedup();
        keys.into_iter()
    });
    loop {
        let target = match &mut wanted {
            Some(keys) => match keys.next() {
                Some(k) => {
                    cursor.seek_key(&storage, &k);
                    match cursor.get_key(&storage) {
                        Some(found) if *found == k => Some(k),
                        _ => continue,
                    }
                }
                None => break,
            },
            None => None,
        };
        let Some(key) = cursor.get_key(&storage) else {
            break;
        };
        if let Some(t) = &target {
            if key != t {
                continue;
            }
        }
        while let Some(val) = cursor.get_val(&storage) {
            let mut count: Diff = 0;
            cursor.map_times(&storage, |t, d| {
                if *t <= time {
                    count += *d;
                }
            });
            if count != 0 {
                let row: &Row = if identity { key } else { val };
                let mut datums: Vec<Datum> = row.iter().collect();
                match peek.mfp.evaluate_into(&mut datums, &arena, &mut out) {
                    Ok(true) => rows.push((out.clone(), count)),
                    Ok(false) => {}
                    Err(e) => return Some(PeekResponse::Error(e)),
                }
            }
            cursor.step_val(&storage);
        }
        if wanted.is_none() {
            cursor.step_key(&storage);
        }
    }
    Some(PeekResponse::Rows(rows))
}

/// An error present in the trace at `time`, if any.
fn first_error(errs: &mut crate::types::ErrAgent, time: Timestamp) -> Option<EvalError> {
    let batches = errs.batches_through(Antichain::new().borrow())?;
    let (mut cursor, storage) = cursor_list(batches);
    while let Some(err) = cursor.get_key(&storage) {
        let mut count: Diff = 0;
        while cursor.val_valid(&storage) {
            cursor.map_times(&storage, |t, d| {
                if *t <= time {
                    count += *d;
                }
            });
            cursor.step_val(&storage);
        }
        if count > 0 {
            return Some(err.clone());
        }
        cursor.step_key(&storage);
    }
    None
}
