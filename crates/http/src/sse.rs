//! `GET /api/subscribe?query=<name or SELECT>[&snapshot=false][&progress=true]`: a
//! subscription as server-sent events.
//!
//! ```text
//! data: {"columns":["k","v"]}
//!
//! data: {"timestamp":"1700000000123","diff":1,"row":{"k":1,"v":"a"}}
//!
//! data: {"timestamp":"1700000000124","progress":true}
//! ```
//!
//! Every message is one `data:` line (JSON never holds a raw newline), so `EventSource`'s
//! `onmessage` sees the same sequence a WebSocket client does: the columns first, then
//! changes and progress, and an `{"error": …}` last if the subscription fails. Errors before
//! the stream starts (an unknown relation, a syntax error) are an HTTP error status with
//! `{"error": …}` as the body. The response has no length: it ends when the connection does.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

use crate::http1::{streaming_head, Request, Response};
use crate::sql::error_response;
use crate::stream::{self, ClientEvent, End, Message, SubscribeRequest, Wire};
use crate::{HttpSession, Server, SubscriberGauge};

/// Server-sent events framing.
pub struct SseWire;

impl Wire for SseWire {
    fn encode(&mut self, out: &mut Vec<u8>, message: Message<'_>) {
        match message {
            Message::Columns(json) | Message::Event(json) | Message::Error(json) => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(json.as_bytes());
                out.extend_from_slice(b"\n\n");
            }
            Message::KeepAlive => out.extend_from_slice(b": keep-alive\n\n"),
        }
    }

    fn encode_end(&mut self, _out: &mut Vec<u8>, _end: End) {}

    async fn client_event(&mut self, read: &mut OwnedReadHalf) -> ClientEvent {
        // The client has nothing to say after its request; reading only notices it leave.
        let mut scratch = [0u8; 512];
        match read.read(&mut scratch).await {
            Ok(0) | Err(_) => ClientEvent::Gone,
            Ok(_) => ClientEvent::Ignore,
        }
    }
}

/// A boolean query parameter: `true`/`false` (also `1`/`0`, `on`/`off`).
pub fn bool_param(request: &Request, name: &str) -> Result<Option<bool>, String> {
    match request.query_param(name) {
        None => Ok(None),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" | "" => Ok(Some(true)),
            "false" | "0" | "off" | "no" => Ok(Some(false)),
            _ => Err(format!(
                "invalid value for {name}: \"{v}\" (expected true or false)"
            )),
        },
    }
}

/// Serves the stream; owns the connection until it ends. When the subscription cannot
/// start, the error is an ordinary response and the connection is handed back for the
/// client's next request (unless it asked to close).
pub async fn serve(server: &Server, socket: TcpStream, request: Request) -> Option<TcpStream> {
    let keep_alive = request.keep_alive();
    let refuse = |response: Response, mut socket: TcpStream| async move {
        let written = socket.write_all(&response.encode(keep_alive)).await;
        (written.is_ok() && keep_alive).then_some(socket)
    };
    let subscribe = match parse_request(&request) {
        Ok(s) => s,
        Err(message) => return refuse(error_response(400, "22023", &message), socket).await,
    };
    let mut session = HttpSession::new(&server.adapter);
    let sub = match stream::start(&server.adapter, &mut session, &subscribe).await {
        Ok(sub) => sub,
        Err(e) => {
            let response: Response =
                error_response(stream::status_for(e.code()), e.code(), &e.to_string());
            return refuse(response, socket).await;
        }
    };
    let _gauge = SubscriberGauge::new(&server.metrics, "sse");
    let head = streaming_head(
        200,
        &[
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            ("x-accel-buffering", "no"),
            ("connection", "close"),
        ],
    );
    let (mut read, mut write) = socket.into_split();
    stream::pump(
        sub,
        &mut SseWire,
        &mut read,
        &mut write,
        server,
        "sse",
        head,
    )
    .await;
    None
}

fn parse_request(request: &Request) -> Result<SubscribeRequest, String> {
    let text = request
        .query_param("query")
        .filter(|q| !q.trim().is_empty())
        .ok_or("the query parameter is required: a relation name or a SELECT query")?;
    Ok(SubscribeRequest {
        text: text.to_string(),
        snapshot: bool_param(request, "snapshot")?,
        progress: bool_param(request, "progress")?,
    })
}
