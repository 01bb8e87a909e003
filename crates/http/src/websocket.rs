//! `GET /api/ws`: subscriptions over WebSocket (RFC 6455), framed here.
//!
//! ```text
//! client: SUBSCRIBE v WITH (PROGRESS)                   (or {"subscribe": "v", "progress": true})
//! server: {"columns":["k","v"]}
//!         {"timestamp":"1700000000123","diff":1,"row":{"k":1,"v":"a"}}
//!         {"timestamp":"1700000000124","progress":true}
//!         …
//!         {"error":{"code":"XX000","message":"…"}}        then a close frame, if it fails
//! ```
//!
//! The first text message names the subscription: a SUBSCRIBE statement, a relation name
//! or a SELECT query, or a JSON object `{"subscribe": …, "snapshot": bool, "progress":
//! bool}`. One subscription per connection; later messages are ignored. The close code
//! says how the stream ended: 1000 complete, 1001 server shutting down, 1008 the client
//! fell too far behind, 1011 the subscription failed.
//!
//! Only what evert needs of RFC 6455 is implemented: no extensions (permessage-deflate is
//! not negotiated, so clients send plain frames), no subprotocols. Client frames must be
//! masked; messages may be fragmented; control frames are answered between fragments.

use base64::Engine;
use bytes::{Buf, BytesMut};
use serde_json::Value;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::{timeout, Duration};

use crate::http1::{Request, Response};
use crate::sql::error_object;
use crate::stream::{self, shutting_down, ClientEvent, End, Message, SubscribeRequest, Wire};
use crate::{HttpSession, Server, SubscriberGauge};

/// RFC 6455 section 1.3: appended to the client's key before hashing.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest message a client may send (a SUBSCRIBE statement).
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

const OPCODE_CONTINUATION: u8 = 0x0;
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(key.trim().as_bytes());
    hasher.update(ACCEPT_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

/// Checks the upgrade request; the 101 response, or the error to answer with.
fn handshake(request: &Request) -> Result<Vec<u8>, Response> {
    if request.method != "GET" {
        return Err(Response::text(405, "WebSocket upgrades use GET\n").with_header("allow", "GET"));
    }
    if !request.header_has_token("upgrade", "websocket")
        || !request.header_has_token("connection", "upgrade")
    {
        return Err(Response::text(
            426,
            "this endpoint speaks WebSocket: send Upgrade: websocket\n",
        )
        .with_header("upgrade", "websocket"));
    }
    if request.header("sec-websocket-version") != Some("13") {
        return Err(
            Response::text(426, "unsupported WebSocket version (13 is supported)\n")
                .with_header("sec-websocket-version", "13"),
        );
    }
    let key = request
        .header("sec-websocket-key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Response::text(400, "missing Sec-WebSocket-Key\n"))?;
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {}\r\n\r\n",
        accept_key(key)
    )
    .into_bytes())
}

/// Appends one unmasked, unfragmented frame (servers never mask).
pub fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= u16::MAX as usize => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

fn encode_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let mut payload = code.to_be_bytes().to_vec();
    // Control frames hold at most 125 bytes.
    let mut reason_len = reason.len().min(123);
    while !reason.is_char_boundary(reason_len) {
        reason_len -= 1;
    }
    payload.extend_from_slice(&reason.as_bytes()[..reason_len]);
    encode_frame(out, OPCODE_CLOSE, &payload);
}

#[derive(Debug, PartialEq, Eq)]
pub enum WsMessage {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    Close,
}

#[derive(Debug)]
pub enum WsError {
    /// The connection ended or failed.
    Io,
    /// The client broke the protocol; the close code to send.
    Protocol(u16, &'static str),
}

struct Frame {
    fin: bool,
    opcode: u8,
    payload: Vec<u8>,
}

/// Reads client messages. Everything it has read lives in `buf` and `fragments`, so a
/// pending [`WsReader::next_message`] can be dropped and called again without losing data.
pub struct WsReader {
    buf: BytesMut,
    fragments: Vec<u8>,
    fragment_opcode: Option<u8>,
}

impl WsReader {
    pub fn new(buf: BytesMut) -> WsReader {
        WsReader {
            buf,
            fragments: Vec::new(),
            fragment_opcode: None,
        }
    }

    pub async fn next_message(&mut self, read: &mut OwnedReadHalf) -> Result<WsMessage, WsError> {
        loop {
            while let Some(frame) = parse_frame(&mut self.buf)? {
                if let Some(message) = self.assemble(frame)? {
                    return Ok(message);
                }
            }
            match read.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Err(WsError::Io),
                Ok(_) => {}
            }
        }
    }

    fn assemble(&mut self, frame: Frame) -> Result<Option<WsMessage>, WsError> {
        match frame.opcode {
            OPCODE_PING => Ok(Some(WsMessage::Ping(frame.payload))),
            OPCODE_PONG => Ok(Some(WsMessage::Pong)),
            OPCODE_CLOSE => Ok(Some(WsMessage::Close)),
            OPCODE_TEXT | OPCODE_BINARY => {
                if self.fragment_opcode.is_some() {
                    return Err(WsError::Protocol(
                        1002,
                        "a new message began inside a fragmented one",
                    ));
                }
                if frame.fin {
                    return message(frame.opcode, frame.payload).map(Some);
                }
                self.fragment_opcode = Some(frame.opcode);
                self.fragments = frame.payload;
                Ok(None)
            }
            OPCODE_CONTINUATION => {
                let Some(opcode) = self.fragment_opcode else {
                    return Err(WsError::Protocol(
                        1002,
                        "a continuation frame without a message",
                    ));
                };
                if self.fragments.len() + frame.payload.len() > MAX_MESSAGE_BYTES {
                    return Err(WsError::Protocol(1009, "message too big"));
                }
                self.fragments.extend_from_slice(&frame.payload);
                if !frame.fin {
                    return Ok(None);
                }
                self.fragment_opcode = None;
                message(opcode, std::mem::take(&mut self.fragments)).map(Some)
            }
            _ => Err(WsError::Protocol(1002, "unknown opcode")),
        }
    }
}

fn message(opcode: u8, payload: Vec<u8>) -> Result<WsMessage, WsError> {
    if opcode == OPCODE_TEXT {
        String::from_utf8(payload)
            .map(WsMessage::Text)
            .map_err(|_| WsError::Protocol(1007, "text message is not UTF-8"))
    } else {
        Ok(WsMessage::Binary(payload))
    }
}

/// Takes one complete frame off the front of `buf`, unmasked, if one is there.
fn parse_frame(buf: &mut BytesMut) -> Result<Option<Frame>, WsError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(WsError::Protocol(
            1002,
            "reserved bits set without an extension",
        ));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    if b1 & 0x80 == 0 {
        return Err(WsError::Protocol(1002, "client frames must be masked"));
    }
    let (length, mut offset) = match b1 & 0x7F {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() >= 10 => (
            u64::from_be_bytes([
                buf[2], buf[3], buf[4], buf[5], buf[6], buf[7], buf[8], buf[9],
            ]),
            10,
        ),
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    if opcode >= 0x8 && (!fin || length > 125) {
        return Err(WsError::Protocol(
            1002,
            "control frames must be whole and short",
        ));
    }
    if length > MAX_MESSAGE_BYTES as u64 {
        return Err(WsError::Protocol(1009, "message too big"));
    }
    let length = length as usize;
    if buf.len() < offset + 4 + length {
        return Ok(None);
    }
    let mask = [
        buf[offset],
        buf[offset + 1],
        buf[offset + 2],
        buf[offset + 3],
    ];
    offset += 4;
    let mut payload = buf[offset..offset + length].to_vec();
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
    buf.advance(offset + length);
    Ok(Some(Frame {
        fin,
        opcode,
        payload,
    }))
}

/// WebSocket framing for [`stream::pump`].
pub struct WsWire {
    reader: WsReader,
}

impl Wire for WsWire {
    fn encode(&mut self, out: &mut Vec<u8>, message: Message<'_>) {
        match message {
            Message::Columns(json) | Message::Event(json) | Message::Error(json) => {
                encode_frame(out, OPCODE_TEXT, json.as_bytes())
            }
            Message::KeepAlive => encode_frame(out, OPCODE_PING, b""),
        }
    }

    fn encode_end(&mut self, out: &mut Vec<u8>, end: End) {
        let (code, reason) = close_code(end);
        encode_close(out, code, reason);
    }

    async fn client_event(&mut self, read: &mut OwnedReadHalf) -> ClientEvent {
        match self.reader.next_message(read).await {
            Ok(WsMessage::Ping(payload)) => {
                let mut pong = Vec::new();
                encode_frame(&mut pong, OPCODE_PONG, &payload);
                ClientEvent::Reply(pong)
            }
            Ok(WsMessage::Close) => ClientEvent::Close,
            Ok(_) => ClientEvent::Ignore,
            Err(_) => ClientEvent::Gone,
        }
    }
}

fn close_code(end: End) -> (u16, &'static str) {
    match end {
        End::Complete | End::ClientClosed => (1000, ""),
        End::Shutdown => (1001, "server shutting down"),
        End::FellBehind => (1008, "subscriber fell too far behind"),
        End::Failed => (1011, "subscription failed"),
    }
}

/// The subscription a client's first message asks for.
pub fn parse_subscribe_message(text: &str) -> Result<SubscribeRequest, String> {
    if !text.trim_start().starts_with('{') {
        return Ok(SubscribeRequest {
            text: text.to_string(),
            snapshot: None,
            progress: None,
        });
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON message: {e}"))?;
    let subscribe = value
        .get("subscribe")
        .and_then(Value::as_str)
        .ok_or("the message must have a \"subscribe\" string")?;
    let flag = |name: &str| -> Result<Option<bool>, String> {
        match value.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("\"{name}\" must be a boolean")),
        }
    };
    Ok(SubscribeRequest {
        text: subscribe.to_string(),
        snapshot: flag("snapshot")?,
        progress: flag("progress")?,
    })
}

/// Writes `bytes` (an error and a close frame), giving a client a moment to take them.
async fn send_final(write: &mut OwnedWriteHalf, bytes: &[u8]) {
    let _ = timeout(Duration::from_secs(5), async {
        let _ = write.write_all(bytes).await;
        let _ = write.shutdown().await;
    })
    .await;
}

fn error_then_close(code: &str, message: &str, close: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let json = format!(
        "{{\"error\":{}}}",
        error_object(code, message, None, None, None)
    );
    encode_frame(&mut out, OPCODE_TEXT, json.as_bytes());
    encode_close(&mut out, close, "");
    out
}

/// Serves the upgrade and then the subscription; owns the connection until it ends.
pub async fn serve(server: &Server, mut socket: TcpStream, request: Request, leftover: BytesMut) {
    let accept = match handshake(&request) {
        Ok(accept) => accept,
        Err(response) => {
            let _ = socket.write_all(&response.encode(false)).await;
            return;
        }
    };
    if socket.write_all(&accept).await.is_err() {
        return;
    }
    let (mut read, mut write) = socket.into_split();
    let mut reader = WsReader::new(leftover);
    let mut shutdown = server.shutdown.clone();

    // The first text message says what to subscribe to.
    let subscribe = loop {
        let message = tokio::select! {
            message = reader.next_message(&mut read) => message,
            _ = shutting_down(&mut shutdown) => {
                let mut out = Vec::new();
                encode_close(&mut out, 1001, "server shutting down");
                send_final(&mut write, &out).await;
                return;
            }
        };
        match message {
            Ok(WsMessage::Text(text)) => match parse_subscribe_message(&text) {
                Ok(s) => break s,
                Err(message) => {
                    return send_final(&mut write, &error_then_close("22023", &message, 1008)).await
                }
            },
            Ok(WsMessage::Binary(_)) => {
                return send_final(
                    &mut write,
                    &error_then_close("22023", "send the subscription as a text message", 1003),
                )
                .await;
            }
            Ok(WsMessage::Ping(payload)) => {
                let mut pong = Vec::new();
                encode_frame(&mut pong, OPCODE_PONG, &payload);
                if write.write_all(&pong).await.is_err() {
                    return;
                }
            }
            Ok(WsMessage::Pong) => {}
            Ok(WsMessage::Close) => {
                let mut out = Vec::new();
                encode_close(&mut out, 1000, "");
                return send_final(&mut write, &out).await;
            }
            Err(WsError::Protocol(code, reason)) => {
                let mut out = Vec::new();
                encode_close(&mut out, code, reason);
                return send_final(&mut write, &out).await;
            }
            Err(WsError::Io) => return,
        }
    };

    let mut session = HttpSession::new(&server.adapter);
    let sub = match stream::start(&server.adapter, &mut session, &subscribe).await {
        Ok(sub) => sub,
        Err(e) => {
            let mut out = Vec::new();
            let json = format!(
                "{{\"error\":{}}}",
                error_object(e.code(), &e.to_string(), e.detail(), e.hint(), e.position())
            );
            encode_frame(&mut out, OPCODE_TEXT, json.as_bytes());
            encode_close(&mut out, 1011, "subscription failed");
            return send_final(&mut write, &out).await;
        }
    };
    let _gauge = SubscriberGauge::new(&server.metrics, "ws");
    let mut wire = WsWire { reader };
    stream::pump(
        sub,
        &mut wire,
        &mut read,
        &mut write,
        server,
        "ws",
        Vec::new(),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn masked(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        if payload.len() < 126 {
            out.push(0x80 | payload.len() as u8);
        } else {
            out.push(0x80 | 126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    #[test]
    fn frames_unmask_and_fragments_assemble_around_pings() {
        let mut bytes = masked(OPCODE_TEXT, false, b"SUBSCRIBE ");
        bytes.extend(masked(OPCODE_PING, true, b"p"));
        bytes.extend(masked(OPCODE_CONTINUATION, true, &vec![b'v'; 300]));
        let mut reader = WsReader::new(BytesMut::from(&bytes[..]));
        let mut messages = Vec::new();
        while let Some(frame) = parse_frame(&mut reader.buf).unwrap() {
            if let Some(m) = reader.assemble(frame).unwrap() {
                messages.push(m);
            }
        }
        assert_eq!(
            messages,
            vec![
                WsMessage::Ping(b"p".to_vec()),
                WsMessage::Text(format!("SUBSCRIBE {}", "v".repeat(300)))
            ]
        );
        assert!(reader.buf.is_empty());
    }

    #[test]
    fn partial_frames_wait_and_unmasked_frames_are_refused() {
        let bytes = masked(OPCODE_TEXT, true, b"hello");
        let mut partial = BytesMut::from(&bytes[..bytes.len() - 1]);
        assert!(parse_frame(&mut partial).unwrap().is_none());
        assert_eq!(
            partial.len(),
            bytes.len() - 1,
            "nothing is consumed until the frame is whole"
        );
        let mut unmasked = BytesMut::from(&[0x81u8, 0x01, b'x'][..]);
        assert!(matches!(
            parse_frame(&mut unmasked),
            Err(WsError::Protocol(1002, _))
        ));
    }

    #[test]
    fn server_frames_use_the_shortest_length() {
        let mut out = Vec::new();
        encode_frame(&mut out, OPCODE_TEXT, &[b'a'; 125]);
        assert_eq!(&out[..2], &[0x81, 125]);
        out.clear();
        encode_frame(&mut out, OPCODE_TEXT, &[b'a'; 126]);
        assert_eq!(&out[..4], &[0x81, 126, 0, 126]);
        out.clear();
        encode_frame(&mut out, OPCODE_BINARY, &vec![0; 70_000]);
        assert_eq!(&out[..2], &[0x82, 127]);
        assert_eq!(out.len(), 10 + 70_000);
    }

    #[test]
    fn subscribe_messages_are_statements_or_json() {
        let plain = parse_subscribe_message("SUBSCRIBE v").unwrap();
        assert_eq!(
            (plain.text.as_str(), plain.snapshot, plain.progress),
            ("SUBSCRIBE v", None, None)
        );
        let json =
            parse_subscribe_message(r#"{"subscribe": "v", "snapshot": false, "progress": true}"#)
                .unwrap();
        assert_eq!(
            (json.text.as_str(), json.snapshot, json.progress),
            ("v", Some(false), Some(true))
        );
        assert!(parse_subscribe_message(r#"{"snapshot": false}"#).is_err());
        assert!(parse_subscribe_message(r#"{"subscribe": "v", "progress": "yes"}"#).is_err());
    }
}
