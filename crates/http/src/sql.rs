//! `POST /api/sql`: SQL over JSON, for clients without a PostgreSQL driver.
//!
//! ```text
//! {"query": "CREATE TABLE t (k int); INSERT INTO t VALUES (1); SELECT * FROM t"}
//! {"queries": [{"query": "SELECT * FROM t WHERE k = $1", "params": [1]}]}
//!   ──▶ {"results": [{"ok": "CREATE TABLE"}, {"ok": "INSERT 0 1"}, {"columns": ["k"], "rows": [[1]]}]}
//! ```
//!
//! Every request is one session: the statements run in order, as PostgreSQL's simple query
//! protocol runs a query string, and the first error ends the request (its entry is
//! `{"error": {"code": SQLSTATE, "message": ...}}`, with `detail`, `hint` and `position`
//! when the error has them). A transaction left open at the end is rolled back with the
//! session. Statements are parsed with `evert_sql::parse::parse` and executed with
//! `Adapter::execute`, exactly as pgwire does.

use evert_adapter::{Adapter, AdapterError, ExecuteResponse};
use evert_repr::RelationDesc;
use evert_sql::parse::{parse, ParsedStatement};
use serde_json::Value;

use crate::http1::Response;
use crate::json::{param_row, write_datum, write_string};
use crate::HttpSession;

/// One entry of the request: statement text and, optionally, parameters for `$1`, `$2`, ….
struct Query {
    text: String,
    params: Option<Vec<Value>>,
}

/// Handles one request body.
pub async fn handle(adapter: &Adapter, body: &[u8]) -> Response {
    let queries = match parse_request(body) {
        Ok(q) => q,
        Err(message) => return error_response(400, "08P01", &message),
    };
    let mut session = HttpSession::new(adapter);
    let mut results: Vec<String> = Vec::new();
    'queries: for query in queries {
        let statements = match parse(&query.text) {
            Ok(s) => s,
            Err(e) => {
                results.push(error_entry(&AdapterError::from(e)));
                break;
            }
        };
        if query.params.is_some() && statements.len() > 1 {
            results.push(error_entry(&AdapterError::Invalid {
                code: "42601",
                message: "cannot insert multiple commands into a prepared statement".into(),
            }));
            break;
        }
        for statement in statements {
            match execute(adapter, &mut session, &statement, query.params.as_deref()).await {
                Ok(Some(entry)) => results.push(entry),
                Ok(None) => {}
                Err(e) => {
                    results.push(error_entry(&e));
                    break 'queries;
                }
            }
        }
    }
    let mut body = String::from("{\"results\":[");
    body.push_str(&results.join(","));
    body.push_str("]}");
    Response::json(200, body)
}

/// `{"query": "..."}` or `{"queries": [{"query": "...", "params": [...]}, ...]}`.
fn parse_request(body: &[u8]) -> Result<Vec<Query>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("request body must be a JSON object with \"query\" or \"queries\"".into());
    };
    match (object.get("query"), object.get("queries")) {
        (Some(Value::String(text)), None) => Ok(vec![Query {
            text: text.clone(),
            params: None,
        }]),
        (None, Some(Value::Array(items))) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let text = item
                    .get("query")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("queries[{i}] must have a \"query\" string"))?;
                let params = match item.get("params") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(p)) => Some(p.clone()),
                    Some(_) => return Err(format!("queries[{i}].params must be an array")),
                };
                Ok(Query {
                    text: text.to_string(),
                    params,
                })
            })
            .collect(),
        _ => Err("request body must have either a \"query\" string or a \"queries\" array".into()),
    }
}

/// Runs one statement; `None` for statements that produce no result entry (empty ones).
async fn execute(
    adapter: &Adapter,
    session: &mut HttpSession,
    statement: &ParsedStatement,
    params: Option<&[Value]>,
) -> Result<Option<String>, AdapterError> {
    let bound = match params {
        None => None,
        Some(values) => Some(bind(adapter, session, statement, values)?),
    };
    let response = adapter.execute(session.get(), statement, bound).await?;
    render(response)
}

/// Reads parameter values at the types the statement gives its parameters.
fn bind(
    adapter: &Adapter,
    session: &mut HttpSession,
    statement: &ParsedStatement,
    values: &[Value],
) -> Result<Vec<(evert_repr::Row, evert_repr::ScalarType)>, AdapterError> {
    let desc = adapter.describe(session.get(), statement, &vec![None; values.len()])?;
    if desc.params.len() != values.len() {
        return Err(AdapterError::Invalid {
            code: "08P01",
            message: format!(
                "request supplies {} parameters, but the statement requires {}",
                values.len(),
                desc.params.len()
            ),
        });
    }
    values
        .iter()
        .zip(desc.params)
        .enumerate()
        .map(|(i, (value, typ))| {
            let row = param_row(value, &typ).map_err(|m| AdapterError::Invalid {
                code: "22P02",
                message: format!("invalid value for parameter ${}: {m}", i + 1),
            })?;
            Ok((row, typ))
        })
        .collect()
}

fn render(response: ExecuteResponse) -> Result<Option<String>, AdapterError> {
    match response {
        ExecuteResponse::Rows { desc, rows, .. } => Ok(Some(rows_entry(&desc, &rows))),
        ExecuteResponse::Command { tag, .. } => Ok(Some(ok_entry(&tag))),
        ExecuteResponse::SetVariable { .. } => Ok(Some(ok_entry("SET"))),
        ExecuteResponse::EmptyQuery => Ok(None),
        ExecuteResponse::CopyTo(inner) => match *inner {
            ExecuteResponse::Rows { desc, rows, .. } => Ok(Some(rows_entry(&desc, &rows))),
            _ => Err(subscribe_unsupported()),
        },
        ExecuteResponse::Subscribe(_) => Err(subscribe_unsupported()),
        ExecuteResponse::CopyIn(_) => Err(AdapterError::Invalid {
            code: "0A000",
            message: "COPY FROM STDIN is not supported over HTTP; use INSERT".into(),
        }),
    }
}

fn subscribe_unsupported() -> AdapterError {
    AdapterError::Invalid { code: "0A000", message: "SUBSCRIBE is not supported in /api/sql; use /api/subscribe (server-sent events) or /api/ws (WebSocket)".into() }
}

fn rows_entry(desc: &RelationDesc, rows: &[evert_repr::Row]) -> String {
    let mut out = String::from("{\"columns\":[");
    for (i, (name, _)) in desc.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, name);
    }
    out.push_str("],\"rows\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, datum) in row.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_datum(&mut out, datum);
        }
        out.push(']');
    }
    out.push_str("]}");
    out
}

fn ok_entry(tag: &str) -> String {
    let mut out = String::from("{\"ok\":");
    write_string(&mut out, tag);
    out.push('}');
    out
}

/// `{"error": {"code": ..., "message": ..., ["detail", "hint", "position"]}}`
pub fn error_entry(e: &AdapterError) -> String {
    let mut out = String::from("{\"error\":");
    out.push_str(&error_object(
        e.code(),
        &e.to_string(),
        e.detail(),
        e.hint(),
        e.position(),
    ));
    out.push('}');
    out
}

pub fn error_object(
    code: &str,
    message: &str,
    detail: Option<String>,
    hint: Option<String>,
    position: Option<usize>,
) -> String {
    let mut out = String::from("{\"code\":");
    write_string(&mut out, code);
    out.push_str(",\"message\":");
    write_string(&mut out, message);
    if let Some(d) = detail {
        out.push_str(",\"detail\":");
        write_string(&mut out, &d);
    }
    if let Some(h) = hint {
        out.push_str(",\"hint\":");
        write_string(&mut out, &h);
    }
    if let Some(p) = position {
        out.push_str(&format!(",\"position\":{p}"));
    }
    out.push('}');
    out
}

/// A request-level failure (the body is not a request at all): HTTP `status` and one error.
pub fn error_response(status: u16, code: &str, message: &str) -> Response {
    let mut body = String::from("{\"error\":");
    body.push_str(&error_object(code, message, None, None, None));
    body.push('}');
    Response::json(status, body)
}
