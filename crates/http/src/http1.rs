//! A small HTTP/1.1 server: what evert's handful of endpoints need and no more.
//!
//! Request heads are parsed with `httparse`; bodies are read by `Content-Length` or decoded
//! from `Transfer-Encoding: chunked`; `Expect: 100-continue` is answered; connections are
//! kept alive between requests unless the client (or HTTP/1.0) says otherwise. Responses
//! always carry a `Content-Length`, except the streams (server-sent events and WebSocket),
//! which take the socket over from this module.
//!
//! Limits keep a misbehaving client from holding memory: request heads are at most
//! [`MAX_HEAD_BYTES`], bodies at most [`MAX_BODY_BYTES`].

use std::fmt::Write as _;
use std::io;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most a request line plus headers may take.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most a request body may take (a batch of SQL statements with their parameters).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 64;

/// One request, with its body read in full.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path, percent-decoded, without the query string.
    pub path: String,
    /// The query string's parameters, percent-decoded (`+` is a space), in order.
    pub query: Vec<(String, String)>,
    /// Header names are lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub minor_version: u8,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a comma-separated header (`Connection`, `Upgrade`, …) lists `token`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection stays open after the response.
    pub fn keep_alive(&self) -> bool {
        if self.header_has_token("connection", "close") {
            return false;
        }
        self.minor_version >= 1 || self.header_has_token("connection", "keep-alive")
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection between requests.
    Closed,
    Io(io::Error),
    /// The request is malformed or too large: answer with this status and close.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads the next request from the connection. `buf` holds bytes read past the previous
/// request (pipelining) and keeps any read past this one.
pub async fn read_request(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
) -> Result<Request, ReadError> {
    let (mut request, body) = loop {
        if let Some(parsed) = parse_head(buf)? {
            break parsed;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ReadError::Bad(431, "request header fields too large"));
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(if buf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Io(io::ErrorKind::UnexpectedEof.into())
            });
        }
    };
    let expects_continue = request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    match body {
        BodyLength::None => {}
        BodyLength::Fixed(length) => {
            if length > MAX_BODY_BYTES {
                return Err(ReadError::Bad(413, "request body too large"));
            }
            if buf.len() < length && expects_continue {
                stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            }
            fill(stream, buf, length).await?;
            request.body = buf.split_to(length).to_vec();
        }
        BodyLength::Chunked => {
            if buf.is_empty() && expects_continue {
                stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            }
            request.body = read_chunked(stream, buf).await?;
        }
    }
    Ok(request)
}

enum BodyLength {
    None,
    Fixed(usize),
    Chunked,
}

/// Parses a complete request head off the front of `buf`, if one is there.
fn parse_head(buf: &mut BytesMut) -> Result<Option<(Request, BodyLength)>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_length = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ReadError::Bad(431, "too many header fields"))
        }
        Err(_) => return Err(ReadError::Bad(400, "malformed request")),
    };
    let method = parsed.method.unwrap_or("GET").to_string();
    let target = parsed.path.unwrap_or("/");
    let minor_version = parsed.version.unwrap_or(1);
    let mut header_list = Vec::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| ReadError::Bad(400, "header values must be UTF-8"))?;
        header_list.push((h.name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let path =
        percent_decode(raw_path, false).ok_or(ReadError::Bad(400, "malformed request path"))?;
    let query = parse_query(raw_query).ok_or(ReadError::Bad(400, "malformed query string"))?;
    let request = Request {
        method,
        path,
        query,
        headers: header_list,
        body: Vec::new(),
        minor_version,
    };
    let chunked = request
        .headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        BodyLength::Chunked
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| ReadError::Bad(400, "malformed content-length"))?;
        if length == 0 {
            BodyLength::None
        } else {
            BodyLength::Fixed(length)
        }
    } else {
        BodyLength::None
    };
    buf.advance(head_length);
    Ok(Some((request, body)))
}

/// Reads until `buf` holds at least `length` bytes.
async fn fill(stream: &mut TcpStream, buf: &mut BytesMut, length: usize) -> Result<(), ReadError> {
    while buf.len() < length {
        buf.reserve(length - buf.len());
        if stream.read_buf(buf).await? == 0 {
            return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
    }
    Ok(())
}

/// Reads one CRLF-terminated line (without the CRLF).
async fn read_line(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<String, ReadError> {
    loop {
        if let Some(at) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf.split_to(at + 2);
            return String::from_utf8(line[..at].to_vec())
                .map_err(|_| ReadError::Bad(400, "malformed chunked body"));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ReadError::Bad(400, "malformed chunked body"));
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 section 7.1); trailers are read
/// and ignored.
async fn read_chunked(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Bad(400, "malformed chunk size"))?;
        if size == 0 {
            while !read_line(stream, buf).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadError::Bad(413, "request body too large"));
        }
        fill(stream, buf, size + 2).await?;
        body.extend_from_slice(&buf[..size]);
        if &buf[size..size + 2] != b"\r\n" {
            return Err(ReadError::Bad(400, "malformed chunked body"));
        }
        buf.advance(size + 2);
    }
}

/// Decodes `%XX` escapes (and `+` as a space in query strings). `None` if the result is
/// not UTF-8 or an escape is malformed.
pub fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn parse_query(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(name, true)?, percent_decode(value, true)?))
        })
        .collect()
}

/// A complete response.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("content-type", content_type.to_string())],
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body.into())
    }

    pub fn json(status: u16, body: String) -> Response {
        Response::new(status, "application/json", body)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The status line, headers and body, as sent.
    pub fn encode(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        let _ = write!(head, "content-length: {}\r\n", self.body.len());
        head.push_str(if keep_alive {
            "connection: keep-alive\r\n\r\n"
        } else {
            "connection: close\r\n\r\n"
        });
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// The head of a response whose body is a stream ending when the connection closes.
pub fn streaming_head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", status, reason(status));
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_percent_escapes_and_plus() {
        let q = parse_query("query=SELECT+*+FROM+t%20WHERE+k%3D1&snapshot=false&flag").unwrap();
        assert_eq!(
            q,
            vec![
                ("query".to_string(), "SELECT * FROM t WHERE k=1".to_string()),
                ("snapshot".to_string(), "false".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
        assert_eq!(parse_query("x=%zz"), None);
        assert_eq!(percent_decode("caf%C3%A9", false).as_deref(), Some("café"));
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
    }

    #[test]
    fn heads_parse_with_bodies_by_length_or_chunks() {
        let mut buf = BytesMut::from(&b"POST /api/sql?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"[..]);
        let (request, body) = parse_head(&mut buf).unwrap().unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/api/sql");
        assert_eq!(request.query_param("x"), Some("1"));
        assert!(!request.keep_alive());
        assert!(matches!(body, BodyLength::Fixed(2)));
        assert_eq!(&buf[..], b"{}");

        let mut partial = BytesMut::from(&b"GET / HTTP/1.1\r\nHost:"[..]);
        assert!(parse_head(&mut partial).unwrap().is_none());

        let mut chunked =
            BytesMut::from(&b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
        let (request, body) = parse_head(&mut chunked).unwrap().unwrap();
        assert!(matches!(body, BodyLength::Chunked));
        assert!(!request.keep_alive(), "HTTP/1.0 closes by default");
    }

    #[test]
    fn responses_carry_length_and_connection() {
        let encoded = Response::text(200, "ok\n").encode(true);
        let text = String::from_utf8(encoded).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("content-length: 3\r\n"), "{text}");
        assert!(
            text.contains("connection: keep-alive\r\n\r\nok\n"),
            "{text}"
        );
    }
}
