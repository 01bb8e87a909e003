//! The data every workload uses, generated identically for both systems.
//!
//! ```sql
//! CREATE TABLE customers (id bigint, region int, name text);        -- `customers` rows
//! CREATE TABLE events (id bigint, customer bigint, kind int, amount int, note text);
//! ```
//!
//! Event `i` belongs to customer `i % customers`, has kind `i % 10` and amount `i % 100`.

use std::fmt::Write as _;

use evert_bench_common::db;
use futures::SinkExt;
use tokio_postgres::Client;

pub const SCHEMA: &str = "CREATE TABLE customers (id bigint, region int, name text); \
     CREATE TABLE events (id bigint, customer bigint, kind int, amount int, note text);";

/// Drops what [`SCHEMA`] and the workloads create (PostgreSQL is shared between runs).
pub const CLEANUP: &str =
    "DROP TABLE IF EXISTS events CASCADE; DROP TABLE IF EXISTS customers CASCADE;";

/// The three materialized views that the ingest workload maintains and the creation
/// workload times: an aggregate, a join + aggregate, and a filter.
pub const VIEWS: [(&str, &str); 3] = [
    (
        "by_customer",
        "SELECT customer, count(*) AS n, sum(amount) AS total FROM events GROUP BY customer",
    ),
    (
        "by_region",
        "SELECT c.region, e.kind, count(*) AS n, sum(e.amount) AS total \
         FROM events e JOIN customers c ON e.customer = c.id GROUP BY c.region, e.kind",
    ),
    (
        "large",
        "SELECT id, customer, amount FROM events WHERE amount >= 90",
    ),
];

/// `CREATE MATERIALIZED VIEW {name}{suffix} AS …` for each of [`VIEWS`].
pub fn create_view(name: &str, query: &str, suffix: &str) -> String {
    format!("CREATE MATERIALIZED VIEW {name}{suffix} AS {query}")
}

pub async fn create_schema(client: &Client, customers: u64) -> Result<(), String> {
    client.batch_execute(SCHEMA).await.map_err(db)?;
    client
        .batch_execute(&format!(
            "INSERT INTO customers SELECT g, (g % 20)::int, 'customer ' || g FROM generate_series(0, {}) AS g",
            customers.saturating_sub(1)
        ))
        .await
        .map_err(db)
}

/// One event as a line of COPY's text format.
pub fn event_line(out: &mut String, i: u64, customers: u64) {
    let _ = writeln!(
        out,
        "{i}\t{}\t{}\t{}\tevent {i}",
        i % customers.max(1),
        i % 10,
        i % 100
    );
}

/// One event as a row of a `VALUES` list.
pub fn event_values(out: &mut String, i: u64, customers: u64) {
    let _ = write!(
        out,
        "({i},{},{},{},'event {i}')",
        i % customers.max(1),
        i % 10,
        i % 100
    );
}

/// Loads events `first..first+rows` with `COPY events FROM STDIN`, `chunk` rows per COPY
/// statement.
pub async fn copy_events(
    client: &Client,
    first: u64,
    rows: u64,
    chunk: u64,
    customers: u64,
) -> Result<(), String> {
    let mut next = first;
    let end = first + rows;
    while next < end {
        let last = (next + chunk).min(end);
        let sink = client
            .copy_in::<_, bytes::Bytes>("COPY events FROM STDIN")
            .await
            .map_err(db)?;
        futures::pin_mut!(sink);
        // Sent in pieces of ~1 MB, as a client streaming a file would.
        let mut text = String::with_capacity(1 << 20);
        for i in next..last {
            event_line(&mut text, i, customers);
            if text.len() >= 1 << 20 {
                sink.send(bytes::Bytes::from(std::mem::take(&mut text)))
                    .await
                    .map_err(db)?;
            }
        }
        if !text.is_empty() {
            sink.send(bytes::Bytes::from(text)).await.map_err(db)?;
        }
        let n = sink.finish().await.map_err(db)?;
        if n != last - next {
            return Err(format!("COPY reported {n} rows for {}", last - next));
        }
        next = last;
    }
    Ok(())
}

/// Loads events `first..first+rows` with multi-row `INSERT … VALUES`, `batch` rows each.
pub async fn insert_events(
    client: &Client,
    first: u64,
    rows: u64,
    batch: u64,
    customers: u64,
) -> Result<(), String> {
    let mut next = first;
    let end = first + rows;
    while next < end {
        let last = (next + batch).min(end);
        let mut sql = String::with_capacity(40 * (last - next) as usize + 32);
        sql.push_str("INSERT INTO events VALUES ");
        for i in next..last {
            if i > next {
                sql.push(',');
            }
            event_values(&mut sql, i, customers);
        }
        client.batch_execute(&sql).await.map_err(db)?;
        next = last;
    }
    Ok(())
}

/// Loads events quickly by generating them in the server (both systems run this SQL).
pub async fn generate_events(client: &Client, rows: u64, customers: u64) -> Result<(), String> {
    const CHUNK: u64 = 200_000;
    let mut next = 0;
    while next < rows {
        let last = (next + CHUNK).min(rows) - 1;
        client
            .batch_execute(&format!(
                "INSERT INTO events SELECT g, g % {customers}, (g % 10)::int, (g % 100)::int, 'event ' || g \
                 FROM generate_series({next}::bigint, {last}::bigint) AS g"
            ))
            .await
            .map_err(db)?;
        next = last + 1;
    }
    Ok(())
}

/// `SELECT count(*) FROM events`: in evert, also waits until the table has caught up.
pub async fn count_events(client: &Client) -> Result<u64, String> {
    let n: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .map_err(db)?
        .get(0);
    Ok(n as u64)
}
