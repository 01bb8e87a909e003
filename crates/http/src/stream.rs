//! Subscriptions over HTTP: starting a SUBSCRIBE for a client, turning its rows into JSON
//! events, and pumping them to a socket without letting a slow client hurt anyone else.
//!
//! Both transports ([`crate::sse`] and [`crate::websocket`]) share this module; they differ
//! only in how a message is framed on the wire ([`Wire`]).
//!
//! ```text
//!  dataflow ─▶ SUBSCRIBE sink ─▶ bounded channel (SUBSCRIBE_BUFFER_BATCHES) ─▶ pump ─▶ socket
//!  (worker 0)   (compute/src/sink.rs)       SubscribeResponse::next()          │
//!                                                                               └─ at most one
//!                                                              batch (+ COALESCE_BYTES) in user space
//! ```
//!
//! Backpressure, the same policy as pgwire's: the pump takes the next batch off the channel
//! only once the previous one is written. When the client stops reading, the socket's
//! buffers fill, the write blocks, the channel fills, and the sink — which never waits on a
//! subscriber — sends a final error and stops (the dataflow and other subscribers never
//! notice). While a write is blocked the pump checks every [`OVERFLOW_CHECK`] whether the
//! channel is full; if it is, the client has fallen too far behind: the subscription is
//! dropped at once, the error message is queued after the last complete message, and the
//! client gets [`FINAL_FLUSH_GRACE`] to read it before the connection is closed.

use std::time::Duration;

use evert_adapter::{Adapter, AdapterError, ExecuteResponse, SubscribeResponse};
use evert_repr::{Datum, RelationDesc, Row};
use evert_sql::parse::{parse, ParsedStatement, Statement};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::time::{interval, sleep, timeout, Instant, MissedTickBehavior};
use tracing::{debug, info};

use crate::json::{write_datum, write_string};
use crate::sql::error_object;
use crate::{HttpSession, Server};

/// How often a blocked write checks whether the subscription's channel has filled.
pub const OVERFLOW_CHECK: Duration = Duration::from_millis(50);
/// How long a client that fell behind (or a stream that ended) has to read its last messages.
pub const FINAL_FLUSH_GRACE: Duration = Duration::from_secs(10);
/// An idle stream sends a keep-alive (an SSE comment, a WebSocket ping) this often, so that
/// proxies keep it open and a vanished client is noticed.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// Ready batches are gathered into one write up to this size.
const COALESCE_BYTES: usize = 64 * 1024;

/// The error a client that fell too far behind receives: the same as the sink's, so that
/// pgwire and HTTP clients see one policy.
pub const FELL_BEHIND: &str = "subscriber fell too far behind and was disconnected";

/// What a client asked to subscribe to.
pub struct SubscribeRequest {
    /// A relation name, a SELECT query, or a whole SUBSCRIBE statement.
    pub text: String,
    pub snapshot: Option<bool>,
    pub progress: Option<bool>,
}

/// The SUBSCRIBE statement for a request: `SUBSCRIBE <name>` or `SUBSCRIBE (<query>)`,
/// with the request's options taking precedence over the statement's own.
pub fn subscribe_statement(request: &SubscribeRequest) -> Result<ParsedStatement, AdapterError> {
    let text = request.text.trim().trim_end_matches(';').trim();
    let first_word = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let sql = match first_word.as_str() {
        "subscribe" => text.to_string(),
        // The newline keeps a trailing `-- comment` from swallowing the parenthesis.
        "select" | "with" | "values" | "table" => format!("SUBSCRIBE ({text}\n)"),
        _ if text.starts_with('(') => format!("SUBSCRIBE {text}"),
        _ => format!("SUBSCRIBE {text}"),
    };
    let mut statements = parse(&sql)?;
    let not_one = || AdapterError::Invalid {
        code: "42601",
        message: "expected one relation name, SELECT query or SUBSCRIBE statement".into(),
    };
    if statements.len() != 1 {
        return Err(not_one());
    }
    let mut statement = statements.pop().ok_or_else(not_one)?;
    match &mut statement.stmt {
        Statement::Subscribe(s) => {
            if request.snapshot.is_some() {
                s.snapshot = request.snapshot;
            }
            if request.progress.is_some() {
                s.progress = request.progress;
            }
        }
        _ => return Err(not_one()),
    }
    Ok(statement)
}

/// Starts the subscription in `session`.
pub async fn start(
    adapter: &Adapter,
    session: &mut HttpSession,
    request: &SubscribeRequest,
) -> Result<SubscribeResponse, AdapterError> {
    let statement = subscribe_statement(request)?;
    match adapter.execute(session.get(), &statement, None).await? {
        ExecuteResponse::Subscribe(sub) => Ok(*sub),
        _ => Err(AdapterError::internal(
            "SUBSCRIBE did not return a subscription",
        )),
    }
}

/// The HTTP status for an error that happens before a stream starts.
pub fn status_for(code: &str) -> u16 {
    match code {
        "57P01" => 503,
        c if c.starts_with("XX") || c.starts_with("58") || c.starts_with("53") => 500,
        _ => 400,
    }
}

/// Turns a subscription's rows (`mz_timestamp, [mz_progressed,] mz_diff | mz_state,
/// columns…`) into JSON messages.
pub struct EventEncoder {
    progress_column: Option<usize>,
    /// The column after the timestamp (and progress flag), and its JSON name: `diff`, or
    /// `state` for SUBSCRIBE's upsert and Debezium envelopes.
    change_column: (usize, &'static str),
    /// The relation's columns: their index in the row, and their names as JSON strings.
    data_columns: Vec<(usize, String)>,
}

impl EventEncoder {
    pub fn new(desc: &RelationDesc) -> EventEncoder {
        let names: Vec<&String> = desc.iter().map(|(n, _)| n).collect();
        let progress_column = names
            .iter()
            .position(|n| n.as_str() == "mz_progressed")
            .filter(|i| *i == 1);
        let change_index = if progress_column.is_some() { 2 } else { 1 };
        let change_name = if names.get(change_index).map(|n| n.as_str()) == Some("mz_state") {
            "state"
        } else {
            "diff"
        };
        let data_columns = names
            .iter()
            .enumerate()
            .skip(change_index + 1)
            .map(|(i, n)| {
                let mut quoted = String::new();
                write_string(&mut quoted, n);
                (i, quoted)
            })
            .collect();
        EventEncoder {
            progress_column,
            change_column: (change_index, change_name),
            data_columns,
        }
    }

    /// `{"columns": ["k", "v"]}`: the relation's column names, in order.
    pub fn columns_message(&self) -> String {
        let names: Vec<&str> = self.data_columns.iter().map(|(_, n)| n.as_str()).collect();
        format!("{{\"columns\":[{}]}}", names.join(","))
    }

    /// `{"timestamp": "…", "diff": 1, "row": {…}}` or `{"timestamp": "…", "progress": true}`.
    pub fn message(&self, row: &Row) -> String {
        let datums: Vec<Datum> = row.iter().collect();
        let mut out = String::with_capacity(64 + 16 * datums.len());
        out.push_str("{\"timestamp\":");
        write_string(
            &mut out,
            &datums.first().map(|d| d.to_string()).unwrap_or_default(),
        );
        if let Some(p) = self.progress_column {
            if datums.get(p) == Some(&Datum::True) {
                out.push_str(",\"progress\":true}");
                return out;
            }
        }
        let (index, name) = self.change_column;
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
        write_datum(&mut out, datums.get(index).copied().unwrap_or(Datum::Null));
        out.push_str(",\"row\":{");
        for (n, (i, quoted)) in self.data_columns.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(quoted);
            out.push(':');
            write_datum(&mut out, datums.get(*i).copied().unwrap_or(Datum::Null));
        }
        out.push_str("}}");
        out
    }
}

/// What a stream says, before framing.
pub enum Message<'a> {
    /// `{"columns": […]}`, first.
    Columns(&'a str),
    /// A change or a progress message.
    Event(&'a str),
    /// `{"error": {…}}`, last.
    Error(&'a str),
    KeepAlive,
}

/// How the stream ends, which the WebSocket close code reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The subscription is complete (`UP TO`, or a constant query).
    Complete,
    /// The subscription failed (an error in the view, for instance).
    Failed,
    /// The client fell too far behind.
    FellBehind,
    /// The server is shutting down.
    Shutdown,
    /// The client asked to close (WebSocket close frame).
    ClientClosed,
}

/// What the client did while the stream runs.
pub enum ClientEvent {
    /// Went away (EOF, reset, or a protocol violation).
    Gone,
    /// Sent a WebSocket close frame.
    Close,
    /// Something to answer (a pong for a ping), already framed.
    Reply(Vec<u8>),
    /// Nothing that matters to the stream.
    Ignore,
}

/// A transport's framing.
pub trait Wire {
    /// Appends `message` to `out`, framed.
    fn encode(&mut self, out: &mut Vec<u8>, message: Message<'_>);
    /// Appends whatever ends the stream (a WebSocket close frame; nothing for SSE).
    fn encode_end(&mut self, out: &mut Vec<u8>, end: End);
    /// Waits for the client to send something. Must be cancel-safe: it runs in `select!`
    /// beside the writes.
    fn client_event(
        &mut self,
        read: &mut OwnedReadHalf,
    ) -> impl std::future::Future<Output = ClientEvent> + Send;
}

/// Bytes waiting to be written, and how far the socket has taken them.
struct Output {
    buf: Vec<u8>,
    written: usize,
}

impl Output {
    fn pending(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    fn is_empty(&self) -> bool {
        self.written == self.buf.len()
    }

    fn advance(&mut self, n: usize) {
        self.written += n;
        if self.written == self.buf.len() {
            self.buf.clear();
            self.written = 0;
        }
    }
}

/// Whether the sink has given up on this subscriber: it stops by putting its final error in
/// the channel's last free slot, so a full channel means the subscriber fell behind.
fn channel_full(sub: &SubscribeResponse) -> bool {
    !sub.done && sub.receiver.len() >= sub.receiver.max_capacity()
}

/// Streams `sub` to the client until it ends, the client goes away or falls behind, or the
/// server shuts down. `first` holds bytes to send before any event (already framed).
pub async fn pump<W: Wire>(
    mut sub: SubscribeResponse,
    wire: &mut W,
    read: &mut OwnedReadHalf,
    write: &mut OwnedWriteHalf,
    server: &Server,
    transport: &'static str,
    first: Vec<u8>,
) -> End {
    let mut shutdown = server.shutdown.clone();
    let encoder = EventEncoder::new(&sub.desc);
    let mut out = Output {
        buf: first,
        written: 0,
    };
    wire.encode(&mut out.buf, Message::Columns(&encoder.columns_message()));
    let mut overflow_check = interval(OVERFLOW_CHECK);
    overflow_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_write = Instant::now();
    let end = loop {
        if out.is_empty() {
            let keepalive_at = last_write + KEEPALIVE;
            tokio::select! {
                next = sub.next() => match next {
                    Ok(Some(rows)) => {
                        encode_rows(&encoder, wire, &mut out.buf, &rows);
                        if let Some(finish) = coalesce(&mut sub, &encoder, wire, &mut out.buf) {
                            break finish;
                        }
                    }
                    Ok(None) => break Finish::End(End::Complete, None),
                    Err(e) => break Finish::End(End::Failed, Some(e)),
                },
                event = wire.client_event(read) => match event {
                    ClientEvent::Gone => break Finish::Gone,
                    ClientEvent::Close => break Finish::End(End::ClientClosed, None),
                    ClientEvent::Reply(bytes) => out.buf.extend_from_slice(&bytes),
                    ClientEvent::Ignore => {}
                },
                _ = shutting_down(&mut shutdown) => break Finish::End(End::Shutdown, Some(AdapterError::ShuttingDown)),
                _ = tokio::time::sleep_until(keepalive_at) => {
                    wire.encode(&mut out.buf, Message::KeepAlive);
                    last_write = Instant::now();
                }
            }
        } else {
            tokio::select! {
                written = write.write(out.pending()) => match written {
                    Ok(0) | Err(_) => break Finish::Gone,
                    Ok(n) => {
                        out.advance(n);
                        last_write = Instant::now();
                    }
                },
                _ = overflow_check.tick() => {
                    if channel_full(&sub) {
                        break Finish::End(End::FellBehind, Some(AdapterError::Invalid { code: "XX000", message: FELL_BEHIND.into() }));
                    }
                }
                event = wire.client_event(read) => match event {
                    ClientEvent::Gone => break Finish::Gone,
                    ClientEvent::Close => break Finish::End(End::ClientClosed, None),
                    ClientEvent::Reply(bytes) => out.buf.extend_from_slice(&bytes),
                    ClientEvent::Ignore => {}
                },
                _ = shutting_down(&mut shutdown) => break Finish::End(End::Shutdown, Some(AdapterError::ShuttingDown)),
            }
        }
    };
    // The dataflow goes first: nothing below waits on it. The end is counted now, not
    // after the last messages are flushed, which may take FINAL_FLUSH_GRACE.
    drop(sub);
    server.metrics.record_end(
        transport,
        match &end {
            Finish::Gone => End::ClientClosed,
            Finish::End(end, _) => *end,
        },
    );
    match end {
        Finish::Gone => End::ClientClosed,
        Finish::End(end, error) => {
            if let Some(e) = &error {
                let object = format!(
                    "{{\"error\":{}}}",
                    error_object(e.code(), &e.to_string(), e.detail(), e.hint(), e.position())
                );
                wire.encode(&mut out.buf, Message::Error(&object));
            }
            wire.encode_end(&mut out.buf, end);
            if end == End::FellBehind {
                info!(
                    grace_seconds = FINAL_FLUSH_GRACE.as_secs(),
                    "disconnecting a subscriber that fell too far behind"
                );
            }
            flush_with_grace(&mut out, wire, read, write).await;
            end
        }
    }
}

/// Completes when the server starts shutting down (or its handle is gone). Cancel-safe.
pub async fn shutting_down(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

enum Finish {
    End(End, Option<AdapterError>),
    Gone,
}

fn encode_rows<W: Wire>(encoder: &EventEncoder, wire: &mut W, out: &mut Vec<u8>, rows: &[Row]) {
    for row in rows {
        wire.encode(out, Message::Event(&encoder.message(row)));
    }
}

/// Takes batches that are already waiting, up to [`COALESCE_BYTES`], so that a burst is one
/// write. Returns how the stream ends if the subscription ended meanwhile.
fn coalesce<W: Wire>(
    sub: &mut SubscribeResponse,
    encoder: &EventEncoder,
    wire: &mut W,
    out: &mut Vec<u8>,
) -> Option<Finish> {
    while out.len() < COALESCE_BYTES {
        match sub.try_next() {
            Ok(Some(rows)) if rows.is_empty() => return None,
            Ok(Some(rows)) => encode_rows(encoder, wire, out, &rows),
            Ok(None) => return Some(Finish::End(End::Complete, None)),
            Err(e) => return Some(Finish::End(End::Failed, Some(e))),
        }
    }
    None
}

/// Writes what is left, giving the client [`FINAL_FLUSH_GRACE`] to take it, then closes our
/// side of the connection.
async fn flush_with_grace<W: Wire>(
    out: &mut Output,
    wire: &mut W,
    read: &mut OwnedReadHalf,
    write: &mut OwnedWriteHalf,
) {
    let deadline = sleep(FINAL_FLUSH_GRACE);
    tokio::pin!(deadline);
    while !out.is_empty() {
        tokio::select! {
            written = write.write(out.pending()) => match written {
                Ok(0) | Err(_) => return,
                Ok(n) => out.advance(n),
            },
            event = wire.client_event(read) => {
                if matches!(event, ClientEvent::Gone | ClientEvent::Close) {
                    return;
                }
            }
            _ = &mut deadline => {
                debug!(unsent_bytes = out.pending().len(), "closing a stream whose client did not read its last messages");
                return;
            }
        }
    }
    let _ = timeout(Duration::from_secs(1), write.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use evert_repr::{ColumnType, ScalarType};

    fn request(text: &str) -> SubscribeRequest {
        SubscribeRequest {
            text: text.into(),
            snapshot: Some(false),
            progress: None,
        }
    }

    #[test]
    fn names_queries_and_statements_become_one_subscribe() {
        for text in [
            "v",
            "public.v",
            "SELECT * FROM v -- all of it",
            "select 1;",
            "SUBSCRIBE v WITH (SNAPSHOT = true)",
            "(SELECT 1)",
        ] {
            let statement =
                subscribe_statement(&request(text)).unwrap_or_else(|e| panic!("{text}: {e}"));
            match statement.stmt {
                Statement::Subscribe(s) => {
                    assert_eq!(s.snapshot, Some(false), "request options win: {text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        for text in [
            "v; DROP TABLE t",
            "SELECT 1); DROP TABLE t; (SELECT 1",
            "INSERT INTO t VALUES (1)",
            "",
        ] {
            assert!(
                subscribe_statement(&request(text)).is_err(),
                "{text} must be refused"
            );
        }
    }

    #[test]
    fn rows_become_change_and_progress_messages() {
        let relation = RelationDesc::empty()
            .with_column("k", ColumnType::new(ScalarType::Int32, false))
            .with_column("v", ColumnType::new(ScalarType::String, true));
        let desc = SubscribeResponse::output_desc(&relation, true);
        let encoder = EventEncoder::new(&desc);
        assert_eq!(encoder.columns_message(), r#"{"columns":["k","v"]}"#);
        let change = Row::pack([
            Datum::Numeric(17.into()),
            Datum::False,
            Datum::Int64(-1),
            Datum::Int32(4),
            Datum::String("x"),
        ]);
        assert_eq!(
            encoder.message(&change),
            r#"{"timestamp":"17","diff":-1,"row":{"k":4,"v":"x"}}"#
        );
        let progress = Row::pack([
            Datum::Numeric(18.into()),
            Datum::True,
            Datum::Null,
            Datum::Null,
            Datum::Null,
        ]);
        assert_eq!(
            encoder.message(&progress),
            r#"{"timestamp":"18","progress":true}"#
        );

        let plain = EventEncoder::new(&SubscribeResponse::output_desc(&relation, false));
        let change = Row::pack([
            Datum::Numeric(17.into()),
            Datum::Int64(1),
            Datum::Int32(4),
            Datum::Null,
        ]);
        assert_eq!(
            plain.message(&change),
            r#"{"timestamp":"17","diff":1,"row":{"k":4,"v":null}}"#
        );
    }
}
