//! The HTTP interface through real clients: hyper's HTTP/1.1 client for `/api/sql`, server-
//! sent events and `/metrics`, tungstenite's WebSocket client for `/api/ws`, and Debian's
//! Chromium (driven over the DevTools protocol) for the live page. Writes go through pgwire,
//! as an application's would, and must reach HTTP subscribers within a second.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use evert_sqllogictest::TestServer;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;

type WebSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

fn http_addr(server: &TestServer) -> SocketAddr {
    server
        .handle
        .as_ref()
        .expect("running")
        .http_addr
        .expect("HTTP listener")
}

/// One HTTP/1.1 connection through hyper's client; requests on it reuse the connection.
struct HttpClient {
    addr: SocketAddr,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl HttpClient {
    async fn connect(addr: SocketAddr) -> HttpClient {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connect to the HTTP port");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        HttpClient { addr, sender }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> hyper::Response<Incoming> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request");
        self.sender.ready().await.expect("connection ready");
        self.sender.send_request(request).await.expect("response")
    }

    /// A request whose whole response is read: (status, content type, body).
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        let response = self.send(method, path, headers, body).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (
            status,
            content_type,
            String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
        )
    }
}

/// POST /api/sql with a JSON body; the parsed response.
async fn sql(client: &mut HttpClient, body: Value) -> (u16, Value) {
    let (status, content_type, text) = client
        .request(
            "POST",
            "/api/sql",
            &[("content-type", "application/json")],
            &body.to_string(),
        )
        .await;
    assert_eq!(content_type, "application/json", "{text}");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

/// A server-sent events stream read through hyper.
struct Sse {
    body: Incoming,
    buf: String,
    events: VecDeque<Value>,
}

impl Sse {
    async fn open(addr: SocketAddr, path: &str) -> Sse {
        let mut client = HttpClient::connect(addr).await;
        let response = client.send("GET", path, &[], "").await;
        assert_eq!(response.status().as_u16(), 200, "subscribing to {path}");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Sse {
            body: response.into_body(),
            buf: String::new(),
            events: VecDeque::new(),
        }
    }

    /// The next event's JSON, or `None` once the stream has ended. Panics at `deadline`.
    async fn next(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            let frame = tokio::time::timeout_at(deadline.into(), self.body.frame())
                .await
                .expect("an event in time");
            match frame {
                None | Some(Err(_)) => return None,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf
                            .push_str(std::str::from_utf8(&data).expect("UTF-8 events"));
                    }
                }
            }
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                for line in block.lines() {
                    if let Some(data) = line.strip_prefix("data: ") {
                        self.events.push_back(
                            serde_json::from_str(data)
                                .unwrap_or_else(|e| panic!("event is not JSON ({e}): {data}")),
                        );
                    }
                }
            }
        }
    }
}

/// Opens `/api/ws` and sends the subscription request.
async fn ws_subscribe(addr: SocketAddr, request: &str) -> WebSocket {
    let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/ws"))
        .await
        .expect("WebSocket handshake");
    assert_eq!(response.status().as_u16(), 101);
    ws.send(WsMessage::Text(request.into()))
        .await
        .expect("send the subscription");
    ws
}

/// The next JSON message, or `None` once the server closed. Panics at `deadline`.
async fn ws_next(ws: &mut WebSocket, deadline: Instant) -> Option<Value> {
    loop {
        let message = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(WsMessage::Text(text))) => {
                return Some(
                    serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
                )
            }
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Anything that yields a subscription's JSON messages.
trait Events {
    /// The next message, or `None` once the stream has ended. Panics at `deadline`.
    async fn next_message(&mut self, deadline: Instant) -> Option<Value>;
}

impl Events for Sse {
    async fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        self.next(deadline).await
    }
}

impl Events for WebSocket {
    async fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        ws_next(self, deadline).await
    }
}

/// Reads change messages (skipping progress) until `want` arrived.
async fn changes(events: &mut impl Events, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < want {
        let message = events.next_message(deadline).await.expect("stream open");
        if message.get("diff").is_some() {
            out.push(message);
        }
    }
    out
}

/// The next `n` messages, whatever they are.
async fn read_n(events: &mut impl Events, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(events.next_message(deadline).await.expect("stream open"));
    }
    out
}

/// `(diff, row)` pairs, sorted, for comparing a batch regardless of order.
fn diffs(messages: &[Value]) -> Vec<(i64, Value)> {
    let mut out: Vec<(i64, Value)> = messages
        .iter()
        .map(|m| (m["diff"].as_i64().expect("diff"), m["row"].clone()))
        .collect();
    out.sort_by_key(|(d, r)| (r.to_string(), *d));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sql_over_http_runs_statements_in_order_and_stops_at_the_first_error() {
    let server = TestServer::start().await;
    let addr = http_addr(&server);
    let mut client = HttpClient::connect(addr).await;

    let (status, _, body) = client.request("GET", "/health", &[], "").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    // Several statements in one string; every value type as the issue specifies. The same
    // connection serves every request below (keep-alive).
    let (status, response) = sql(
        &mut client,
        json!({"query": "CREATE TABLE t (k int, v text, n numeric(10, 2), f float8, b bool, j jsonb, a int[], d date, ts timestamp); \
                         INSERT INTO t VALUES (1, 'a', 12.50, 0.25, true, '{\"x\": [1, 2]}', ARRAY[1, NULL], '2024-01-02', '2024-01-02 03:04:05'), \
                                              (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL); \
                         SELECT * FROM t ORDER BY k"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        response,
        json!({"results": [
            {"ok": "CREATE TABLE"},
            {"ok": "INSERT 0 2"},
            {"columns": ["k", "v", "n", "f", "b", "j", "a", "d", "ts"], "rows": [
                [1, "a", "12.50", 0.25, true, {"x": [1, 2]}, [1, null], "2024-01-02", "2024-01-02 03:04:05"],
                [2, null, null, null, null, null, null, null, null],
            ]},
        ]})
    );

    // The first error ends the request: the statement after it does not run.
    let (status, response) = sql(&mut client, json!({"query": "INSERT INTO t (k) VALUES (3); SELECT 1 / 0; INSERT INTO t (k) VALUES (4)"})).await;
    assert_eq!(status, 200);
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{response}");
    assert_eq!(results[0], json!({"ok": "INSERT 0 1"}));
    assert_eq!(results[1]["error"]["code"], "22012", "{response}");
    assert_eq!(results[1]["error"]["message"], "division by zero");
    let pg = server.connect().await;
    let keys: Vec<i32> = pg
        .query("SELECT k FROM t ORDER BY k", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        keys,
        vec![1, 2, 3],
        "HTTP writes are visible over pgwire, and nothing after the error ran"
    );

    // Errors carry their SQLSTATE: unknown relation, syntax error.
    let (_, response) = sql(&mut client, json!({"query": "SELECT * FROM missing"})).await;
    assert_eq!(
        response["results"][0]["error"]["code"], "42P01",
        "{response}"
    );
    let (_, response) = sql(&mut client, json!({"query": "SELEC 1"})).await;
    assert_eq!(
        response["results"][0]["error"]["code"], "42601",
        "{response}"
    );

    // Parameters, read at the types the statement gives them, one statement per entry;
    // a transaction spans the entries of one request.
    let (_, response) = sql(
        &mut client,
        json!({"queries": [
            {"query": "BEGIN"},
            {"query": "INSERT INTO t (k, v, n, j) VALUES ($1, $2, $3, $4)", "params": [10, "ten", "10.10", {"ten": 10}]},
            {"query": "SELECT k, v, n, j FROM t WHERE k = $1", "params": ["10"]},
            {"query": "COMMIT"},
        ]}),
    )
    .await;
    assert_eq!(
        response,
        json!({"results": [
            {"ok": "BEGIN"},
            {"ok": "INSERT 0 1"},
            {"columns": ["k", "v", "n", "j"], "rows": [[10, "ten", "10.10", {"ten": 10}]]},
            {"ok": "COMMIT"},
        ]})
    );
    let (_, response) = sql(
        &mut client,
        json!({"queries": [{"query": "SELECT $1::int", "params": ["x"]}]}),
    )
    .await;
    assert_eq!(
        response["results"][0]["error"]["code"], "22P02",
        "{response}"
    );
    let (_, response) = sql(
        &mut client,
        json!({"queries": [{"query": "SELECT $1::int; SELECT 2", "params": [1]}]}),
    )
    .await;
    assert_eq!(
        response["results"][0]["error"]["code"], "42601",
        "{response}"
    );

    // SUBSCRIBE belongs to the streaming endpoints.
    let (_, response) = sql(&mut client, json!({"query": "SUBSCRIBE t"})).await;
    assert_eq!(
        response["results"][0]["error"]["code"], "0A000",
        "{response}"
    );

    // A body that is not a request is a 400 with an error object.
    let (status, response) = sql(&mut client, json!({"statement": "SELECT 1"})).await;
    assert_eq!(status, 400);
    assert_eq!(response["error"]["code"], "08P01", "{response}");

    // A page on another site cannot use the API; other methods and paths are refused.
    let (status, _, body) = client
        .request(
            "POST",
            "/api/sql",
            &[("origin", "http://elsewhere.example")],
            r#"{"query": "DROP TABLE t"}"#,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = client.request("GET", "/api/sql", &[], "").await;
    assert_eq!(status, 405);
    let (status, _, _) = client.request("GET", "/no/such/page", &[], "").await;
    assert_eq!(status, 404);
    let count: i64 = pg
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 4, "the cross-origin DROP did not run");
    drop(client);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sse_streams_the_snapshot_then_changes_written_through_pgwire() {
    let server = TestServer::start().await;
    let addr = http_addr(&server);
    let pg = server.connect().await;
    pg.batch_execute("CREATE TABLE t (k int, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');")
        .await
        .unwrap();
    pg.batch_execute("CREATE MATERIALIZED VIEW mv AS SELECT k, upper(v) AS v FROM t")
        .await
        .unwrap();

    let mut sse = Sse::open(addr, "/api/subscribe?query=mv").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    assert_eq!(
        sse.next(deadline).await,
        Some(json!({"columns": ["k", "v"]}))
    );
    let snapshot = changes(&mut sse, 2).await;
    assert_eq!(
        diffs(&snapshot),
        vec![
            (1, json!({"k": 1, "v": "A"})),
            (1, json!({"k": 2, "v": "B"}))
        ]
    );
    assert_eq!(
        snapshot[0]["timestamp"], snapshot[1]["timestamp"],
        "the snapshot is at one timestamp"
    );
    let snapshot_time: u64 = snapshot[0]["timestamp"]
        .as_str()
        .expect("timestamps are strings")
        .parse()
        .unwrap();

    pg.batch_execute("UPDATE t SET v = 'z' WHERE k = 1")
        .await
        .unwrap();
    let acknowledged = Instant::now();
    let change = changes(&mut sse, 2).await;
    let latency = acknowledged.elapsed();
    assert!(
        latency < Duration::from_secs(1),
        "SSE change took {latency:?}"
    );
    eprintln!("SSE: change arrived {latency:?} after the write was acknowledged");
    assert_eq!(
        diffs(&change),
        vec![
            (-1, json!({"k": 1, "v": "A"})),
            (1, json!({"k": 1, "v": "Z"}))
        ]
    );
    let change_time: u64 = change[0]["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(change_time > snapshot_time);

    // A SELECT query without its snapshot: only what changes afterwards.
    let query = "SELECT%20k%20*%2010%20AS%20k10%20FROM%20t%20WHERE%20k%20%3E%201";
    let mut filtered = Sse::open(
        addr,
        &format!("/api/subscribe?query={query}&snapshot=false"),
    )
    .await;
    assert_eq!(
        filtered
            .next(Instant::now() + Duration::from_secs(10))
            .await,
        Some(json!({"columns": ["k10"]}))
    );
    pg.batch_execute("INSERT INTO t VALUES (0, 'filtered out'), (5, 'e')")
        .await
        .unwrap();
    let change = changes(&mut filtered, 1).await;
    assert_eq!(diffs(&change), vec![(1, json!({"k10": 50}))]);

    // Errors before the stream starts are an HTTP status with an error object.
    let mut client = HttpClient::connect(addr).await;
    let (status, content_type, body) = client
        .request("GET", "/api/subscribe?query=missing", &[], "")
        .await;
    assert_eq!((status, content_type.as_str()), (400, "application/json"));
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "42P01", "{body}");
    let (status, _, body) = client
        .request(
            "GET",
            "/api/subscribe?query=t%3B%20DROP%20TABLE%20t",
            &[],
            "",
        )
        .await;
    assert_eq!(status, 400, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_messages_advance_over_sse_and_websocket() {
    let server = TestServer::start().await;
    let addr = http_addr(&server);
    let pg = server.connect().await;
    pg.batch_execute("CREATE TABLE t (k int); INSERT INTO t VALUES (1);")
        .await
        .unwrap();

    let mut sse = Sse::open(addr, "/api/subscribe?query=t&progress=true&snapshot=false").await;
    let mut ws = ws_subscribe(
        addr,
        r#"{"subscribe": "t", "progress": true, "snapshot": false}"#,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    assert_eq!(sse.next(deadline).await, Some(json!({"columns": ["k"]})));
    assert_eq!(
        ws_next(&mut ws, deadline).await,
        Some(json!({"columns": ["k"]}))
    );

    // With no writes, progress messages still arrive as time advances (the test server
    // ticks every 100 ms), with increasing timestamps and nothing else.
    for (transport, messages) in [
        ("sse", read_n(&mut sse, 3).await),
        ("ws", read_n(&mut ws, 3).await),
    ] {
        let mut last = 0u64;
        for m in &messages {
            assert_eq!(m.as_object().map(|o| o.len()), Some(2), "{transport}: {m}");
            assert_eq!(m["progress"], true, "{transport}: {m}");
            let t: u64 = m["timestamp"].as_str().unwrap().parse().unwrap();
            assert!(t > last, "{transport}: progress timestamps increase");
            last = t;
        }
    }

    // A write: its change, then progress past its timestamp.
    pg.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    for transport in ["sse", "ws"] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut change_time = None;
        loop {
            let m = if transport == "sse" {
                sse.next_message(deadline).await
            } else {
                ws.next_message(deadline).await
            }
            .expect("open");
            let t: u64 = m["timestamp"].as_str().unwrap().parse().unwrap();
            if m.get("diff").is_some() {
                assert_eq!(
                    m["row"],
                    json!({"k": 2}),
                    "{transport}: only the new row (no snapshot)"
                );
                change_time = Some(t);
            } else if let Some(c) = change_time {
                assert!(
                    t > c,
                    "{transport}: progress after the change passes its timestamp"
                );
                break;
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websocket_streams_the_snapshot_then_changes_and_reports_errors() {
    let server = TestServer::start().await;
    let addr = http_addr(&server);
    let pg = server.connect().await;
    pg.batch_execute("CREATE TABLE t (k int, v text); INSERT INTO t VALUES (1, 'a'), (1, 'a');")
        .await
        .unwrap();
    pg.batch_execute("CREATE MATERIALIZED VIEW mv AS SELECT k, v, k * 2 AS twice FROM t")
        .await
        .unwrap();

    // A SUBSCRIBE statement as the first text message.
    let mut ws = ws_subscribe(addr, "SUBSCRIBE mv").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    assert_eq!(
        ws_next(&mut ws, deadline).await,
        Some(json!({"columns": ["k", "v", "twice"]}))
    );
    // Duplicates are one change with diff 2, as SUBSCRIBE reports them.
    let snapshot = changes(&mut ws, 1).await;
    assert_eq!(
        diffs(&snapshot),
        vec![(2, json!({"k": 1, "v": "a", "twice": 2}))]
    );

    pg.batch_execute("DELETE FROM t; INSERT INTO t VALUES (7, 'g');")
        .await
        .unwrap();
    let acknowledged = Instant::now();
    let change = changes(&mut ws, 2).await;
    let latency = acknowledged.elapsed();
    assert!(
        latency < Duration::from_secs(1),
        "WebSocket change took {latency:?}"
    );
    eprintln!("WebSocket: change arrived {latency:?} after the write was acknowledged");
    assert_eq!(
        diffs(&change),
        vec![
            (-2, json!({"k": 1, "v": "a", "twice": 2})),
            (1, json!({"k": 7, "v": "g", "twice": 14}))
        ]
    );

    // Pings are answered while the stream runs.
    ws.send(WsMessage::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Pong(payload))) => return payload,
                Some(Ok(_)) => {}
                other => panic!("connection ended: {other:?}"),
            }
        }
    })
    .await
    .expect("a pong");
    assert_eq!(&pong[..], b"are you there");
    ws.close(None).await.unwrap();

    // An error: one error message with the SQLSTATE, then the server closes.
    let mut ws = ws_subscribe(addr, r#"{"subscribe": "SELECT * FROM missing"}"#).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let error = ws_next(&mut ws, deadline).await.expect("an error message");
    assert_eq!(error["error"]["code"], "42P01", "{error}");
    assert_eq!(
        ws_next(&mut ws, deadline).await,
        None,
        "the server closes after the error"
    );

    // A view failing while subscribed (division by zero inside it) ends the stream with the
    // error and close code 1011.
    pg.batch_execute("CREATE TABLE d (x int); INSERT INTO d VALUES (1); CREATE MATERIALIZED VIEW inv AS SELECT 10 / x AS y FROM d").await.unwrap();
    let mut ws = ws_subscribe(addr, "SUBSCRIBE inv").await;
    let snapshot = changes(&mut ws, 1).await;
    assert_eq!(diffs(&snapshot), vec![(1, json!({"y": 10}))]);
    pg.batch_execute("INSERT INTO d VALUES (0)").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let error = loop {
        let message = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("message");
        if let WsMessage::Text(text) = message {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value.get("error").is_some() {
                break value;
            }
        }
    };
    assert_eq!(error["error"]["code"], "22012", "{error}");
    match tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a close frame")
    {
        Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1011),
        other => panic!("expected a close frame, got {other:?}"),
    }
    server.stop().await;
}

/// Parses the exposition text into `name{labels}` → value.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("malformed metric line: {l}"));
            (
                name.to_string(),
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("malformed value: {l}")),
            )
        })
        .collect()
}

async fn metrics(addr: SocketAddr) -> BTreeMap<String, f64> {
    let mut client = HttpClient::connect(addr).await;
    let (status, content_type, text) = client.request("GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse_metrics(&text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_report_connections_statements_subscribers_commits_and_lag() {
    let server = TestServer::start().await;
    let addr = http_addr(&server);
    let pg = server.connect().await;
    pg.batch_execute("CREATE TABLE t (k int); CREATE MATERIALIZED VIEW mv AS SELECT k, count(*) FROM t GROUP BY k; CREATE INDEX t_k ON t (k)").await.unwrap();
    let mut ws = ws_subscribe(addr, "SUBSCRIBE mv").await;
    assert_eq!(
        ws_next(&mut ws, Instant::now() + Duration::from_secs(10)).await,
        Some(json!({"columns": ["k", "count"]}))
    );

    // Six writes of eleven rows, one after another: counters move by exactly that much.
    let before = metrics(addr).await;
    for i in 0..5 {
        pg.execute("INSERT INTO t VALUES ($1), ($1)", &[&i])
            .await
            .unwrap();
    }
    pg.batch_execute("INSERT INTO t VALUES (100)")
        .await
        .unwrap();
    changes(&mut ws, 6).await;
    let m = metrics(addr).await;
    let get = |name: &str| {
        *m.get(name)
            .unwrap_or_else(|| panic!("{name} missing from {m:#?}"))
    };
    let delta = |name: &str| get(name) - before.get(name).copied().unwrap_or(0.0);

    assert!(
        get("evert_connections") >= 2.0,
        "the pgwire client and the WebSocket's session"
    );
    assert_eq!(delta("evert_statements_total{kind=\"insert\"}"), 6.0);
    assert_eq!(get("evert_statements_total{kind=\"create_table\"}"), 1.0);
    assert_eq!(get("evert_statements_total{kind=\"subscribe\"}"), 1.0);
    assert_eq!(get("evert_subscribers"), 1.0);
    assert_eq!(get("evert_http_subscribers{transport=\"ws\"}"), 1.0);
    assert_eq!(delta("evert_rows_ingested_total"), 11.0);
    assert_eq!(
        delta("evert_commits_total"),
        6.0,
        "sequential writes commit one by one"
    );
    assert_eq!(delta("evert_commit_requests_total"), 6.0);
    assert_eq!(
        get("evert_commit_latency_seconds_count"),
        get("evert_commits_total")
    );
    let latency = delta("evert_commit_latency_seconds_sum");
    assert!(
        latency > 0.0 && latency / 6.0 < 1.0,
        "mean commit latency {} s",
        latency / 6.0
    );
    for name in ["mv", "t_k"] {
        let lag = get(&format!(
            "evert_frontier_lag_milliseconds{{name=\"{name}\"}}"
        ));
        assert!((0.0..5_000.0).contains(&lag), "{name} lags {lag} ms");
    }
    assert!(get("evert_http_requests_total{endpoint=\"ws\"}") >= 1.0);
    assert!(
        get("evert_http_connections") >= 2.0,
        "the WebSocket and this request"
    );

    // Closing the stream is counted, and the subscription's dataflow is gone.
    ws.close(None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = metrics(addr).await;
        if m.get("evert_subscribers") == Some(&0.0)
            && m.get("evert_http_stream_ends_total{transport=\"ws\",reason=\"client_closed\"}")
                == Some(&1.0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream is still counted: {m:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// What one healthy subscriber saw: each key's arrival time.
type Arrivals = Vec<(i32, Instant)>;

enum Subscriber {
    Sse(Sse),
    Ws(WebSocket),
}

impl Events for Subscriber {
    async fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        match self {
            Subscriber::Sse(s) => s.next(deadline).await,
            Subscriber::Ws(ws) => ws_next(ws, deadline).await,
        }
    }
}

/// 100 subscribers on one view — 50 over SSE, 49 over WebSocket, and one SSE client that
/// never reads — while a writer inserts rows through pgwire. The 99 must see every change
/// promptly; the stalled one must be disconnected with an error, without slowing the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_subscriber_is_disconnected_without_slowing_ninety_nine_others() {
    const SENTINEL: i32 = -1;
    let server = TestServer::start().await;
    let addr = http_addr(&server);
    let pg = server.connect().await;
    pg.batch_execute(
        "CREATE TABLE t (k int, pad text); CREATE MATERIALIZED VIEW v AS SELECT k, pad FROM t",
    )
    .await
    .unwrap();

    // The healthy subscribers, each in its own task, recording when each key arrives.
    let mut tasks = Vec::new();
    for i in 0..99 {
        let mut subscriber = if i % 2 == 0 {
            Subscriber::Sse(Sse::open(addr, "/api/subscribe?query=v").await)
        } else {
            Subscriber::Ws(ws_subscribe(addr, "SUBSCRIBE v").await)
        };
        let columns = subscriber
            .next_message(Instant::now() + Duration::from_secs(30))
            .await;
        assert_eq!(columns, Some(json!({"columns": ["k", "pad"]})));
        tasks.push(tokio::spawn(async move {
            let mut arrivals: Arrivals = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(300);
            while let Some(message) = subscriber.next_message(deadline).await {
                assert_eq!(message["diff"], 1, "{message}");
                let k = message["row"]["k"].as_i64().expect("k") as i32;
                arrivals.push((k, Instant::now()));
                if k == SENTINEL {
                    break;
                }
            }
            arrivals
        }));
    }

    // The stalled subscriber: a small receive buffer, and it never reads. Not smaller than
    // loopback's 64 KiB segment size, though: below it the receiver never advertises an open
    // window once it reads again, and the server's kernel only learns of one from its
    // zero-window probes, whose backoff grows with the length of the stall (to minutes).
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(128 * 1024).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    stalled
        .write_all(
            format!("GET /api/subscribe?query=v HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics(addr)
        .await
        .get("evert_http_subscribers{transport=\"sse\"}")
        != Some(&51.0)
    {
        assert!(
            Instant::now() < deadline,
            "the stalled subscriber's stream did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Write until the stalled subscriber has been cut off (its socket fills, then its 1024
    // batches of channel), then a little more, then the sentinel.
    let pad = "x".repeat(500);
    let insert = pg.prepare("INSERT INTO t VALUES ($1, $2)").await.unwrap();
    let mut acknowledged: BTreeMap<i32, Instant> = BTreeMap::new();
    let started = Instant::now();
    let mut cut_off_at: Option<i32> = None;
    let mut k = 0;
    loop {
        k += 1;
        pg.execute(&insert, &[&k, &pad]).await.unwrap();
        acknowledged.insert(k, Instant::now());
        if cut_off_at.is_none() && k % 50 == 0 {
            let m = metrics(addr).await;
            if m.get("evert_http_stream_ends_total{transport=\"sse\",reason=\"fell_behind\"}")
                == Some(&1.0)
            {
                cut_off_at = Some(k);
            }
        }
        if cut_off_at.is_some_and(|c| k >= c + 50) {
            break;
        }
        assert!(
            k < 20_000 && started.elapsed() < Duration::from_secs(240),
            "the stalled subscriber was never disconnected ({k} writes)"
        );
    }
    pg.execute(&insert, &[&SENTINEL, &pad]).await.unwrap();
    acknowledged.insert(SENTINEL, Instant::now());
    let writes = k as usize + 1;
    eprintln!(
        "{writes} writes in {:?}; the stalled subscriber was cut off after about {} writes",
        started.elapsed(),
        cut_off_at.unwrap()
    );

    // The stalled client now reads what it was sent: some changes, then the error, then the end.
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stalled.read_to_end(&mut received))
        .await
        .expect("the stalled connection is closed")
        .expect("read");
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        &text[..text.len().min(200)]
    );
    let (_, body) = text.split_once("\r\n\r\n").expect("a response head");
    let events: Vec<&str> = body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect();
    let last: Value = serde_json::from_str(events.last().expect("events")).expect("JSON");
    assert_eq!(
        last,
        json!({"error": {"code": "XX000", "message": "subscriber fell too far behind and was disconnected"}})
    );
    let stalled_changes = events.iter().filter(|e| e.contains("\"diff\"")).count();
    assert!(
        stalled_changes < writes,
        "the stalled subscriber did not see everything ({stalled_changes} of {writes})"
    );

    // Every healthy subscriber saw every change exactly once, promptly.
    let expected: BTreeSet<i32> = acknowledged.keys().copied().collect();
    let mut worst = Duration::ZERO;
    let mut latencies = Vec::new();
    for task in tasks {
        let arrivals = task.await.expect("subscriber task");
        let keys: Vec<i32> = arrivals.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys.len(), writes, "every change once");
        assert_eq!(keys.iter().copied().collect::<BTreeSet<i32>>(), expected);
        for (k, at) in arrivals {
            let latency = at.saturating_duration_since(acknowledged[&k]);
            worst = worst.max(latency);
            latencies.push(latency);
        }
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    eprintln!("99 subscribers x {writes} changes: latency after acknowledgement p50 {p50:?}, p99 {p99:?}, max {worst:?}");
    assert!(
        worst < Duration::from_secs(2),
        "a healthy subscriber waited {worst:?} for a change"
    );
    let m = metrics(addr).await;
    assert_eq!(
        m.get("evert_http_stream_ends_total{transport=\"sse\",reason=\"fell_behind\"}"),
        Some(&1.0),
        "only the stalled one was cut off"
    );
    server.stop().await;
}

/// Runs Chromium headless against the live page: the table shows the view's rows, follows
/// inserts and deletes within a second, counts duplicates, and loads nothing from elsewhere.
/// Saves a screenshot in the temp dir, or as docs/live-page.png when EVERT_UPDATE_SCREENSHOT
/// is set (so that a test run leaves the working tree clean).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_live_page_follows_a_view_in_chromium() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium is not installed: CI must install it (see .ci/run)"
        );
        eprintln!("skipping: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let server = TestServer::start().await;
    let addr = http_addr(&server);
    let pg = server.connect().await;
    pg.batch_execute(
        "CREATE TABLE orders (customer text, product text, quantity int); \
         INSERT INTO orders VALUES ('alice', 'apples', 3), ('bob', 'bread', 1), ('carol', 'cheese', 2); \
         CREATE MATERIALIZED VIEW v AS SELECT customer, product, quantity FROM orders",
    )
    .await
    .unwrap();

    let browser = Browser::launch(&chromium).await;
    let mut cdp = Cdp::connect(&browser.websocket_url).await;
    let target = cdp
        .call(None, "Target.createTarget", json!({"url": "about:blank"}))
        .await;
    let target_id = target["targetId"].as_str().expect("targetId").to_string();
    let attached = cdp
        .call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        )
        .await;
    let session = attached["sessionId"]
        .as_str()
        .expect("sessionId")
        .to_string();
    let session = Some(session.as_str());
    cdp.call(session, "Network.enable", json!({})).await;
    cdp.call(
        session,
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 760, "height": 380, "deviceScaleFactor": 1, "mobile": false}),
    )
    .await;
    cdp.call(
        session,
        "Page.navigate",
        json!({"url": format!("http://{addr}/live?view=v")}),
    )
    .await;

    let snapshot = vec![
        row("alice", "apples", "3", "1"),
        row("bob", "bread", "1", "1"),
        row("carol", "cheese", "2", "1"),
    ];
    let page = cdp
        .wait_for_rows(session, &snapshot, Duration::from_secs(15))
        .await;
    assert_eq!(
        page["head"],
        json!(["customer", "product", "quantity", "count"])
    );
    assert_eq!(page["state"], "live");

    // Inserts (one a duplicate) appear within a second of the write's acknowledgement.
    pg.batch_execute("INSERT INTO orders VALUES ('dave', 'dates', 12), ('bob', 'bread', 1)")
        .await
        .unwrap();
    let acknowledged = Instant::now();
    let after_insert = vec![
        row("alice", "apples", "3", "1"),
        row("bob", "bread", "1", "×2"),
        row("carol", "cheese", "2", "1"),
        row("dave", "dates", "12", "1"),
    ];
    cdp.wait_for_rows(session, &after_insert, Duration::from_secs(1))
        .await;
    eprintln!(
        "live page: inserts shown {:?} after the write was acknowledged",
        acknowledged.elapsed()
    );

    // A delete removes the row in place.
    pg.batch_execute("DELETE FROM orders WHERE customer = 'carol'")
        .await
        .unwrap();
    let acknowledged = Instant::now();
    let after_delete = vec![
        row("alice", "apples", "3", "1"),
        row("bob", "bread", "1", "×2"),
        row("dave", "dates", "12", "1"),
    ];
    cdp.wait_for_rows(session, &after_delete, Duration::from_secs(1))
        .await;
    eprintln!(
        "live page: delete shown {:?} after the write was acknowledged",
        acknowledged.elapsed()
    );

    // Everything the page loaded came from evert itself.
    let origin_http = format!("http://{addr}/");
    let origin_ws = format!("ws://{addr}/");
    let urls = cdp.requested_urls();
    assert!(urls.iter().any(|u| u.starts_with(&origin_http)), "{urls:?}");
    for url in &urls {
        assert!(
            url.starts_with(&origin_http)
                || url.starts_with(&origin_ws)
                || url.starts_with("data:"),
            "the page loaded {url}"
        );
    }

    // Let the change highlight fade before the picture.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let shot = cdp
        .call(session, "Page.captureScreenshot", json!({"format": "png"}))
        .await;
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        shot["data"].as_str().expect("data"),
    )
    .expect("base64");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let path = if std::env::var_os("EVERT_UPDATE_SCREENSHOT").is_some() {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/live-page.png")
    } else {
        std::env::temp_dir().join("evert-live-page.png")
    };
    std::fs::write(&path, &png).expect("write the screenshot");
    drop(cdp);
    drop(browser);
    server.stop().await;
}

fn row(customer: &str, product: &str, quantity: &str, count: &str) -> Vec<String> {
    [customer, product, quantity, count]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn find_chromium() -> Option<String> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .find(|p| std::path::Path::new(p).exists())
    .map(|p| p.to_string())
}

/// A headless Chromium, killed when dropped.
struct Browser {
    child: std::process::Child,
    websocket_url: String,
    _profile: evert_sqllogictest::TempDir,
}

impl Browser {
    async fn launch(path: &str) -> Browser {
        let profile = evert_sqllogictest::TempDir::new("evert-chromium");
        let mut child = std::process::Command::new(path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start Chromium");
        // Chromium prints "DevTools listening on ws://…" once it accepts connections.
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("ws://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(line[at..].trim().to_string());
                    }
                }
            }
        });
        let websocket_url = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("Chromium started in time")
            .expect("DevTools address");
        Browser {
            child,
            websocket_url,
            _profile: profile,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal Chrome DevTools Protocol client: commands by id, events remembered.
struct Cdp {
    ws: WebSocket,
    next_id: u64,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Cdp {
    async fn connect(url: &str) -> Cdp {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect to DevTools");
        Cdp {
            ws,
            next_id: 1,
            events: Arc::new(Mutex::new(Vec::new())),
        }
    }

    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            command["sessionId"] = json!(s);
        }
        self.ws
            .send(WsMessage::Text(command.to_string().into()))
            .await
            .expect("send to DevTools");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let message = tokio::time::timeout_at(deadline.into(), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{method} timed out"));
            let Some(Ok(WsMessage::Text(text))) = message else {
                panic!("DevTools connection ended during {method}")
            };
            let value: Value = serde_json::from_str(text.as_str()).expect("DevTools JSON");
            if value["id"] == json!(id) {
                if let Some(error) = value.get("error") {
                    panic!("{method} failed: {error}");
                }
                return value["result"].clone();
            }
            self.events.lock().unwrap().push(value);
        }
    }

    /// The page's table: header cells, rows' cell texts, and the connection state.
    async fn page_table(&mut self, session: Option<&str>) -> Value {
        let expression = "JSON.stringify({state: document.body.dataset.state, \
            head: [...document.querySelectorAll('thead th')].map(th => th.textContent), \
            rows: [...document.querySelectorAll('#rows tr')].map(tr => [...tr.cells].map(td => td.textContent)), \
            error: document.getElementById('error').textContent})";
        let result = self
            .call(
                session,
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        serde_json::from_str(result["result"]["value"].as_str().unwrap_or("{}"))
            .expect("table JSON")
    }

    async fn wait_for_rows(
        &mut self,
        session: Option<&str>,
        rows: &[Vec<String>],
        within: Duration,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let page = self.page_table(session).await;
            if page["rows"] == json!(rows) {
                return page;
            }
            assert!(
                Instant::now() < deadline,
                "the page shows {page} instead of {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn requested_urls(&self) -> Vec<String> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter_map(|e| match e["method"].as_str() {
                Some("Network.requestWillBeSent") => {
                    e["params"]["request"]["url"].as_str().map(str::to_string)
                }
                Some("Network.webSocketCreated") => e["params"]["url"].as_str().map(str::to_string),
                _ => None,
            })
            .collect()
    }
}
