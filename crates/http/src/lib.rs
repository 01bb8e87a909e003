//! # evert-http: the HTTP interface
//!
//! SQL over JSON for clients without a PostgreSQL driver, subscriptions as server-sent
//! events and over WebSocket, Prometheus metrics, and a live page that shows a view
//! changing. Every endpoint drives the adapter exactly as pgwire does — statements are
//! parsed with `evert_sql::parse::parse` and run with `Adapter::execute` in a session — so
//! the two protocols cannot disagree about what a statement means.
//!
//! | endpoint | module | what |
//! |---|---|---|
//! | `POST /api/sql` | [`sql`] | statements in, `{"results": [...]}` out ([`json`] for values) |
//! | `GET /api/subscribe?query=…` | [`sse`] | a subscription as server-sent events |
//! | `GET /api/ws` | [`websocket`] | a subscription over WebSocket (RFC 6455, framed here) |
//! | `GET /metrics` | [`metrics`] | Prometheus text format |
//! | `GET /live?view=…` | [`live`] | an HTML page that keeps a table of the view's rows up to date |
//! | `GET /health` | | `ok` |
//!
//! [`http1`] is the HTTP/1.1 server itself (keep-alive, chunked bodies, limits), and
//! [`stream`] the part both subscription transports share: starting the SUBSCRIBE, turning
//! rows into JSON events, and the backpressure policy (docs/STREAMING.md).
//!
//! This crate does not know plans or dataflows; it sees statements, rows and
//! `SubscribeResponse`s.
//!
//! Requests to `/api/*` that carry an `Origin` header (browsers send one) must come from a
//! page served by evert itself: a page on another site cannot run SQL here on a visitor's
//! behalf. Clients that are not browsers send no `Origin` and are not affected.

pub mod http1;
pub mod json;
pub mod live;
pub mod metrics;
pub mod sql;
pub mod sse;
pub mod stream;
pub mod websocket;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use evert_adapter::{Adapter, Session};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info};

use crate::http1::{read_request, ReadError, Request, Response};
use crate::metrics::HttpMetrics;
use crate::stream::shutting_down;

/// A connection with no request in progress is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What every connection shares.
pub struct Server {
    pub adapter: Adapter,
    pub metrics: HttpMetrics,
    pub shutdown: watch::Receiver<bool>,
}

/// Accepts connections until `shutdown` turns true. Streams in progress end with an error
/// message when it does.
pub async fn serve(listener: TcpListener, adapter: Adapter, shutdown: watch::Receiver<bool>) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "accepting HTTP connections");
    }
    let server = Arc::new(Server {
        adapter,
        metrics: HttpMetrics::default(),
        shutdown: shutdown.clone(),
    });
    let mut shutdown = shutdown;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    tokio::spawn(handle_connection(Arc::clone(&server), socket));
                }
                Err(e) => {
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = shutting_down(&mut shutdown) => break,
        }
    }
}

/// A session for one HTTP request or stream, ended when dropped (also when the request's
/// future is dropped because the client went away).
pub struct HttpSession {
    adapter: Adapter,
    session: Session,
}

impl HttpSession {
    pub fn new(adapter: &Adapter) -> HttpSession {
        HttpSession {
            adapter: adapter.clone(),
            session: adapter.new_session("evert".into(), "materialize".into()),
        }
    }

    pub fn get(&mut self) -> &mut Session {
        &mut self.session
    }
}

impl Drop for HttpSession {
    fn drop(&mut self) {
        self.adapter.end_session(&mut self.session);
    }
}

/// Counts a stream in `evert_http_subscribers` while it lives.
pub struct SubscriberGauge<'a> {
    metrics: &'a HttpMetrics,
    transport: &'static str,
}

impl<'a> SubscriberGauge<'a> {
    pub fn new(metrics: &'a HttpMetrics, transport: &'static str) -> SubscriberGauge<'a> {
        metrics
            .subscribers(transport)
            .fetch_add(1, Ordering::Relaxed);
        SubscriberGauge { metrics, transport }
    }
}

impl Drop for SubscriberGauge<'_> {
    fn drop(&mut self) {
        self.metrics
            .subscribers(self.transport)
            .fetch_sub(1, Ordering::Relaxed);
    }
}

struct ConnectionGauge(Arc<Server>);

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.0.metrics.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves requests on one connection until it closes or a stream takes it over.
async fn handle_connection(server: Arc<Server>, mut socket: TcpStream) {
    let _ = socket.set_nodelay(true);
    server.metrics.connections.fetch_add(1, Ordering::Relaxed);
    let _gauge = ConnectionGauge(Arc::clone(&server));
    let mut buf = BytesMut::with_capacity(4096);
    let mut shutdown = server.shutdown.clone();
    loop {
        let read = tokio::select! {
            read = tokio::time::timeout(IDLE_TIMEOUT, read_request(&mut socket, &mut buf)) => read,
            _ = shutting_down(&mut shutdown) => return,
        };
        let request = match read {
            Ok(Ok(request)) => request,
            Ok(Err(ReadError::Bad(status, message))) => {
                let _ = socket
                    .write_all(&Response::text(status, format!("{message}\n")).encode(false))
                    .await;
                return;
            }
            Ok(Err(ReadError::Closed | ReadError::Io(_))) | Err(_) => return,
        };
        let keep_alive = request.keep_alive();
        let route = route(&request);
        server.metrics.record_request(route.endpoint());
        if request.path.starts_with("/api/") && !same_origin(&request) {
            let response =
                sql::error_response(403, "42501", "cross-origin requests to /api are refused");
            if socket
                .write_all(&response.encode(keep_alive))
                .await
                .is_err()
                || !keep_alive
            {
                return;
            }
            continue;
        }
        let response = match route {
            Route::Subscribe => match sse::serve(&server, socket, request).await {
                Some(returned) => {
                    socket = returned;
                    continue;
                }
                None => return,
            },
            Route::WebSocket => {
                return websocket::serve(&server, socket, request, std::mem::take(&mut buf)).await
            }
            Route::Health => Response::text(200, "ok\n"),
            Route::Sql => sql::handle(&server.adapter, &request.body).await,
            Route::Metrics => Response::new(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics::render(&server.adapter, &server.metrics).await,
            ),
            Route::Live => live::page(),
            Route::Index => Response::text(200, INDEX),
            Route::WrongMethod(allow) => Response::text(
                405,
                format!(
                    "{} {} is not supported; use {allow}\n",
                    request.method, request.path
                ),
            )
            .with_header("allow", allow),
            Route::NotFound => Response::text(404, format!("no such endpoint: {}\n", request.path)),
        };
        if socket
            .write_all(&response.encode(keep_alive))
            .await
            .is_err()
            || !keep_alive
        {
            return;
        }
    }
}

const INDEX: &str = "evert\n\n\
POST /api/sql                 {\"query\": \"...\"} or {\"queries\": [{\"query\": \"...\", \"params\": [...]}]}\n\
GET  /api/subscribe?query=... a subscription as server-sent events (&snapshot=false, &progress=true)\n\
GET  /api/ws                  a subscription over WebSocket: send SUBSCRIBE ... as the first message\n\
GET  /live?view=...           a page showing a view's rows as they change\n\
GET  /metrics                 Prometheus metrics\n\
GET  /health                  ok\n";

enum Route {
    Health,
    Sql,
    Subscribe,
    WebSocket,
    Metrics,
    Live,
    Index,
    WrongMethod(&'static str),
    NotFound,
}

impl Route {
    /// The `endpoint` label of `evert_http_requests_total`.
    fn endpoint(&self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::Sql => "sql",
            Route::Subscribe => "subscribe",
            Route::WebSocket => "ws",
            Route::Metrics => "metrics",
            Route::Live => "live",
            Route::Index => "index",
            Route::WrongMethod(_) => "wrong_method",
            Route::NotFound => "not_found",
        }
    }
}

fn route(request: &Request) -> Route {
    let get = request.method == "GET";
    let (route, allow) = match request.path.trim_end_matches('/') {
        "/health" => (Route::Health, "GET"),
        "/api/sql" => {
            return if request.method == "POST" {
                Route::Sql
            } else {
                Route::WrongMethod("POST")
            }
        }
        "/api/subscribe" => (Route::Subscribe, "GET"),
        "/api/ws" => (Route::WebSocket, "GET"),
        "/metrics" => (Route::Metrics, "GET"),
        "/live" => (Route::Live, "GET"),
        "" => (Route::Index, "GET"),
        _ => return Route::NotFound,
    };
    if get {
        route
    } else {
        Route::WrongMethod(allow)
    }
}

/// Whether a request's `Origin` (if any) is this server, as the `Host` header names it.
fn same_origin(request: &Request) -> bool {
    let Some(origin) = request.header("origin") else {
        return true;
    };
    let Some(host) = request.header("host") else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: vec![],
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: vec![],
            minor_version: 1,
        }
    }

    #[test]
    fn routes_and_methods() {
        assert!(matches!(
            route(&request("POST", "/api/sql", &[])),
            Route::Sql
        ));
        assert!(matches!(
            route(&request("GET", "/api/sql", &[])),
            Route::WrongMethod("POST")
        ));
        assert!(matches!(route(&request("GET", "/live/", &[])), Route::Live));
        assert!(matches!(
            route(&request("DELETE", "/metrics", &[])),
            Route::WrongMethod("GET")
        ));
        assert!(matches!(
            route(&request("GET", "/nope", &[])),
            Route::NotFound
        ));
    }

    #[test]
    fn browsers_may_only_call_the_api_from_evert_pages() {
        assert!(same_origin(&request(
            "POST",
            "/api/sql",
            &[("host", "127.0.0.1:6876")]
        )));
        assert!(same_origin(&request(
            "GET",
            "/api/ws",
            &[
                ("host", "127.0.0.1:6876"),
                ("origin", "http://127.0.0.1:6876")
            ]
        )));
        assert!(!same_origin(&request(
            "POST",
            "/api/sql",
            &[
                ("host", "127.0.0.1:6876"),
                ("origin", "https://evil.example")
            ]
        )));
        assert!(!same_origin(&request(
            "POST",
            "/api/sql",
            &[("host", "127.0.0.1:6876"), ("origin", "null")]
        )));
    }
}
