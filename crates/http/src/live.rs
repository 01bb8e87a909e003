//! `GET /live?view=<name>`: a page that shows a view's rows and keeps them up to date.
//!
//! The page (`live.html`, compiled into the binary) is plain HTML and JavaScript with no
//! build step and nothing loaded from elsewhere, so it works offline. It opens `/api/ws`,
//! subscribes to the view with progress, and keeps the rows as a multiset keyed by their
//! values: each `+1`/`-1` diff changes a row's count, a row whose count reaches zero leaves
//! the table, and duplicates show their count. Without `?view=` it lists the views.

use crate::http1::Response;

const PAGE: &str = include_str!("live.html");

/// Nothing may be loaded from anywhere but evert itself; the page's own script and style
/// are inline.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'";

pub fn page() -> Response {
    Response::new(200, "text/html; charset=utf-8", PAGE)
        .with_header("content-security-policy", CONTENT_SECURITY_POLICY)
        .with_header("cache-control", "no-cache")
}
