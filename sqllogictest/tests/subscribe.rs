//! SUBSCRIBE through real clients: the snapshot, then live changes within a second of the
//! write, progress rows, SNAPSHOT = false, and cursors with FETCH.

use std::time::{Duration, Instant};

use bytes::Bytes;
use evert_sqllogictest::{connect, TestServer};
use futures::StreamExt;

/// Reads COPY text lines from the stream until `want` data lines arrived (or 10 s passed).
async fn read_lines(
    stream: &mut std::pin::Pin<Box<tokio_postgres::CopyOutStream>>,
    want: usize,
    progress_too: bool,
) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines
        .iter()
        .filter(|l: &&Vec<String>| progress_too || l.get(1).map(|s| s.as_str()) != Some("t"))
        .count()
        < want
    {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let chunk: Bytes = tokio::time::timeout(remaining, stream.next())
            .await
            .expect("subscription delivered in time")
            .expect("stream open")
            .expect("copy data");
        for line in String::from_utf8(chunk.to_vec()).unwrap().lines() {
            lines.push(line.split('\t').map(str::to_string).collect());
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribe_streams_snapshot_then_changes() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    writer
        .batch_execute("CREATE TABLE t (k int, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');")
        .await
        .unwrap();
    writer
        .batch_execute("CREATE MATERIALIZED VIEW mv AS SELECT k, upper(v) AS v FROM t")
        .await
        .unwrap();

    let reader = connect(server.port()).await;
    let stream = reader
        .copy_out("COPY (SUBSCRIBE mv) TO STDOUT")
        .await
        .unwrap();
    let mut stream = Box::pin(stream);

    // The snapshot: both rows, at one timestamp, with diff +1.
    let snapshot = read_lines(&mut stream, 2, false).await;
    assert_eq!(snapshot.len(), 2, "{snapshot:?}");
    let mut rows: Vec<(String, String, String)> = snapshot
        .iter()
        .map(|l| (l[1].clone(), l[2].clone(), l[3].clone()))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            ("1".into(), "1".into(), "A".into()),
            ("1".into(), "2".into(), "B".into())
        ]
    );
    let snapshot_ts: u64 = snapshot[0][0].parse().unwrap();
    assert!(
        snapshot.iter().all(|l| l[0] == snapshot[0][0]),
        "snapshot rows share a timestamp"
    );

    // A live change arrives within a second of the write's acknowledgement.
    writer
        .batch_execute("UPDATE t SET v = 'z' WHERE k = 1")
        .await
        .unwrap();
    let acknowledged = Instant::now();
    let change = read_lines(&mut stream, 2, false).await;
    let latency = acknowledged.elapsed();
    assert!(latency < Duration::from_secs(1), "change took {latency:?}");
    let mut diffs: Vec<(String, String)> = change
        .iter()
        .map(|l| (l[1].clone(), l[3].clone()))
        .collect();
    diffs.sort();
    assert_eq!(
        diffs,
        vec![("-1".into(), "A".into()), ("1".into(), "Z".into())]
    );
    let change_ts: u64 = change[0][0].parse().unwrap();
    assert!(change_ts > snapshot_ts, "changes come after the snapshot");
    drop(stream);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribe_progress_and_no_snapshot() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    writer
        .batch_execute("CREATE TABLE t (k int); INSERT INTO t VALUES (1);")
        .await
        .unwrap();

    let reader = connect(server.port()).await;
    let mut stream = Box::pin(
        reader
            .copy_out("COPY (SUBSCRIBE t WITH (SNAPSHOT = false, PROGRESS)) TO STDOUT")
            .await
            .unwrap(),
    );
    // With no writes, progress rows still arrive as time advances (the test server ticks
    // every 100 ms): mz_progressed is t and the other columns are NULL.
    let progress = read_lines(&mut stream, 2, true).await;
    assert!(
        progress
            .iter()
            .all(|l| l[1] == "t" && l[2] == "\\N" && l[3] == "\\N"),
        "{progress:?}"
    );
    let first: u64 = progress[0][0].parse().unwrap();
    let second: u64 = progress[1][0].parse().unwrap();
    assert!(second > first, "progress timestamps advance");

    // Without a snapshot, the existing row is not reported; a new one is.
    writer
        .batch_execute("INSERT INTO t VALUES (2)")
        .await
        .unwrap();
    let data = read_lines(&mut stream, 1, false).await;
    let rows: Vec<&Vec<String>> = data.iter().filter(|l| l[1] == "f").collect();
    assert_eq!(rows.len(), 1, "{data:?}");
    assert_eq!((rows[0][2].as_str(), rows[0][3].as_str()), ("1", "2"));
    drop(stream);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribe_through_a_cursor() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE t (k int); INSERT INTO t VALUES (1), (2);")
        .await
        .unwrap();
    client
        .batch_execute("BEGIN; DECLARE c CURSOR FOR SUBSCRIBE t;")
        .await
        .unwrap();
    let rows = client.simple_query("FETCH ALL c").await.unwrap();
    let data: Vec<_> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(2).unwrap().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(data.len(), 2, "the snapshot");

    // Nothing new: a zero timeout returns at once with no rows.
    let started = Instant::now();
    let rows = client
        .simple_query("FETCH ALL c WITH (TIMEOUT = '0s')")
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(!rows
        .iter()
        .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))));

    // A write from another session arrives through the next FETCH.
    let other = connect(server.port()).await;
    other
        .batch_execute("INSERT INTO t VALUES (3)")
        .await
        .unwrap();
    let rows = client
        .simple_query("FETCH 1 c WITH (TIMEOUT = '5s')")
        .await
        .unwrap();
    let data: Vec<_> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((r.get(1).unwrap().to_string(), r.get(2).unwrap().to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(data, vec![("1".to_string(), "3".to_string())]);
    client.batch_execute("COMMIT").await.unwrap();
    server.stop().await;
}

/// The rows of a simple-query response, as text (`None` for NULL), and the column names.
fn fetched(
    messages: &[tokio_postgres::SimpleQueryMessage],
) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for m in messages {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
            if columns.is_empty() {
                columns = r.columns().iter().map(|c| c.name().to_string()).collect();
            }
            rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
        }
    }
    (columns, rows)
}

fn strs(row: &[&str]) -> Vec<Option<String>> {
    row.iter()
        .map(|s| (*s != "NULL").then(|| s.to_string()))
        .collect()
}

/// `rows` without their first column (mz_timestamp), sorted.
fn without_timestamps(rows: &[Vec<Option<String>>]) -> Vec<Vec<Option<String>>> {
    let mut out: Vec<_> = rows.iter().map(|r| r[1..].to_vec()).collect();
    out.sort();
    out
}

/// Reads the whole COPY stream until it ends (an error ends it too); panics after 10 s.
async fn read_to_end(
    stream: &mut std::pin::Pin<Box<tokio_postgres::CopyOutStream>>,
) -> (Vec<Vec<String>>, Option<tokio_postgres::Error>) {
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline.into(), stream.next())
            .await
            .expect("the subscription ended in time");
        match next {
            None => return (lines, None),
            Some(Err(e)) => return (lines, Some(e)),
            Some(Ok(chunk)) => {
                for line in String::from_utf8(chunk.to_vec()).unwrap().lines() {
                    lines.push(line.split('\t').map(str::to_string).collect());
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribe_envelopes_report_upserts_and_deletes_by_key() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    writer
        .batch_execute(
            "CREATE TABLE t (k int, v text, w int); \
             INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20);",
        )
        .await
        .unwrap();
    let upsert = connect(server.port()).await;
    let debezium = connect(server.port()).await;
    upsert
        .batch_execute("BEGIN; DECLARE c CURSOR FOR SUBSCRIBE t ENVELOPE UPSERT (KEY (k));")
        .await
        .unwrap();
    debezium
        .batch_execute("BEGIN; DECLARE c CURSOR FOR SUBSCRIBE (SELECT k, v FROM t) ENVELOPE DEBEZIUM (KEY (k));")
        .await
        .unwrap();

    // The snapshot: every key as an upsert (an insert, for Debezium).
    let (columns, rows) = fetched(&upsert.simple_query("FETCH ALL c").await.unwrap());
    assert_eq!(columns, ["mz_timestamp", "mz_state", "k", "v", "w"]);
    assert_eq!(
        without_timestamps(&rows),
        [
            strs(&["upsert", "1", "a", "10"]),
            strs(&["upsert", "2", "b", "20"])
        ]
    );
    let (columns, rows) = fetched(&debezium.simple_query("FETCH ALL c").await.unwrap());
    assert_eq!(
        columns,
        ["mz_timestamp", "mz_state", "k", "before_v", "after_v"]
    );
    assert_eq!(
        without_timestamps(&rows),
        [
            strs(&["insert", "1", "NULL", "a"]),
            strs(&["insert", "2", "NULL", "b"])
        ]
    );

    // An update of a key is one upsert row with the new value (before and after, for
    // Debezium); a delete has NULL values; a new key is an upsert (an insert).
    for (statement, want_upsert, want_debezium) in [
        (
            "UPDATE t SET v = 'z' WHERE k = 1",
            vec![strs(&["upsert", "1", "z", "10"])],
            vec![strs(&["upsert", "1", "a", "z"])],
        ),
        (
            "DELETE FROM t WHERE k = 2",
            vec![strs(&["delete", "2", "NULL", "NULL"])],
            vec![strs(&["delete", "2", "b", "NULL"])],
        ),
        (
            "INSERT INTO t VALUES (3, 'c', 30)",
            vec![strs(&["upsert", "3", "c", "30"])],
            vec![strs(&["insert", "3", "NULL", "c"])],
        ),
    ] {
        writer.batch_execute(statement).await.unwrap();
        for (client, want) in [(&upsert, &want_upsert), (&debezium, &want_debezium)] {
            let (_, rows) = fetched(
                &client
                    .simple_query("FETCH ALL c WITH (TIMEOUT = '5s')")
                    .await
                    .unwrap(),
            );
            assert_eq!(&without_timestamps(&rows), want, "after {statement}");
        }
    }

    // Two rows for one key at once is a key violation.
    writer
        .batch_execute("INSERT INTO t VALUES (3, 'again', 31)")
        .await
        .unwrap();
    let (_, rows) = fetched(
        &upsert
            .simple_query("FETCH ALL c WITH (TIMEOUT = '5s')")
            .await
            .unwrap(),
    );
    assert_eq!(
        without_timestamps(&rows),
        [strs(&["key_violation", "3", "NULL", "NULL"])]
    );
    upsert.batch_execute("COMMIT").await.unwrap();
    debezium.batch_execute("COMMIT").await.unwrap();

    // The key must be columns of the relation.
    let error = writer
        .batch_execute("BEGIN; DECLARE d CURSOR FOR SUBSCRIBE t ENVELOPE UPSERT (KEY (nope));")
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("42703"), "{error:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribe_as_of_up_to_and_constant_queries_end() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    writer
        .batch_execute("CREATE TABLE t (k int)")
        .await
        .unwrap();

    // Learn the timestamps of three writes through a cursor.
    let watcher = connect(server.port()).await;
    watcher
        .batch_execute("BEGIN; DECLARE c CURSOR FOR SUBSCRIBE t WITH (SNAPSHOT = false);")
        .await
        .unwrap();
    let mut times = Vec::new();
    for k in 1..=3 {
        writer
            .execute("INSERT INTO t VALUES ($1)", &[&k])
            .await
            .unwrap();
        let (_, rows) = fetched(
            &watcher
                .simple_query("FETCH ALL c WITH (TIMEOUT = '5s')")
                .await
                .unwrap(),
        );
        assert_eq!(rows.len(), 1);
        times.push(rows[0][0].clone().unwrap().parse::<u64>().unwrap());
    }
    watcher.batch_execute("COMMIT").await.unwrap();
    assert!(times[0] < times[1] && times[1] < times[2]);

    // AS OF the second write: its snapshot holds the first two rows, at that time; UP TO the
    // third write's time (exclusive) ends the stream before the third row.
    let reader = connect(server.port()).await;
    let mut stream = Box::pin(
        reader
            .copy_out(&format!(
                "COPY (SUBSCRIBE t AS OF {} UP TO {}) TO STDOUT",
                times[1], times[2]
            ))
            .await
            .unwrap(),
    );
    let (lines, error) = read_to_end(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    let expected: Vec<Vec<String>> = [1, 2]
        .iter()
        .map(|k| vec![times[1].to_string(), "1".into(), k.to_string()])
        .collect();
    let mut lines = lines;
    lines.sort();
    assert_eq!(lines, expected);

    // UP TO one past the third write: the third row arrives as a change, then the end.
    let mut stream = Box::pin(
        reader
            .copy_out(&format!(
                "COPY (SUBSCRIBE t AS OF {} UP TO {}) TO STDOUT",
                times[1],
                times[2] + 1
            ))
            .await
            .unwrap(),
    );
    let (lines, error) = read_to_end(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines.last().unwrap(),
        &vec![times[2].to_string(), "1".into(), "3".into()]
    );

    // A constant query ends once its snapshot is out.
    let started = Instant::now();
    let mut stream = Box::pin(
        reader
            .copy_out("COPY (SUBSCRIBE (SELECT 1 AS one UNION ALL SELECT 2)) TO STDOUT")
            .await
            .unwrap(),
    );
    let (lines, error) = read_to_end(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    let mut values: Vec<(String, String)> =
        lines.iter().map(|l| (l[1].clone(), l[2].clone())).collect();
    values.sort();
    assert_eq!(
        values,
        [("1".to_string(), "1".to_string()), ("1".into(), "2".into())]
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // The session is usable after each ended stream.
    let one: i32 = reader.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fetch_with_a_zero_timeout_returns_what_is_ready() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE t (k int); INSERT INTO t VALUES (1);")
        .await
        .unwrap();
    client
        .batch_execute("BEGIN; DECLARE c CURSOR FOR SUBSCRIBE t;")
        .await
        .unwrap();
    let (_, snapshot) = fetched(&client.simple_query("FETCH ALL c").await.unwrap());
    assert_eq!(snapshot.len(), 1);

    // Two writes from another session; zero-timeout FETCHes never wait, and between them
    // return both changes, each once.
    let other = connect(server.port()).await;
    other
        .batch_execute("INSERT INTO t VALUES (2)")
        .await
        .unwrap();
    other
        .batch_execute("INSERT INTO t VALUES (3)")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        assert!(Instant::now() < deadline, "only {seen:?} arrived");
        let started = Instant::now();
        let (_, rows) = fetched(
            &client
                .simple_query("FETCH ALL c WITH (TIMEOUT = '0s')")
                .await
                .unwrap(),
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "FETCH with a zero timeout waited {:?}",
            started.elapsed()
        );
        for row in rows {
            seen.push((row[1].clone().unwrap(), row[2].clone().unwrap()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, [("1".into(), "2".into()), ("1".into(), "3".into())]);
    client.batch_execute("COMMIT").await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_request_stops_a_subscribe_and_the_session_goes_on() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE t (k int); INSERT INTO t VALUES (1);")
        .await
        .unwrap();
    let mut stream = Box::pin(
        client
            .copy_out("COPY (SUBSCRIBE t) TO STDOUT")
            .await
            .unwrap(),
    );
    let snapshot = read_lines(&mut stream, 1, false).await;
    assert_eq!(snapshot.len(), 1);

    client
        .cancel_token()
        .cancel_query(tokio_postgres::NoTls)
        .await
        .expect("cancel request sent");
    let (_, error) = read_to_end(&mut stream).await;
    let error = error.expect("the canceled SUBSCRIBE ends with an error");
    assert_eq!(error.code().map(|c| c.code()), Some("57014"), "{error:?}");
    drop(stream);
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1, "the session is usable after the cancel");

    // A FETCH waiting on a cursor is canceled the same way.
    client
        .batch_execute("BEGIN; DECLARE c CURSOR FOR SUBSCRIBE t WITH (SNAPSHOT = false);")
        .await
        .unwrap();
    let token = client.cancel_token();
    let canceler = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await
    });
    let started = Instant::now();
    let error = client.simple_query("FETCH ALL c").await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("57014"), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    canceler.await.unwrap().unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropping_a_subscribed_relation_ends_the_subscription_with_an_error() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    writer
        .batch_execute(
            "CREATE TABLE t (k int); INSERT INTO t VALUES (1); \
             CREATE MATERIALIZED VIEW mv AS SELECT k * 2 AS k2 FROM t; \
             CREATE VIEW v AS SELECT k + 1 AS k1 FROM t;",
        )
        .await
        .unwrap();

    // One subscription to each: the materialized view, the (inlined) view, and a query
    // over the table.
    let mut readers = Vec::new();
    for (relation, name) in [
        ("mv", "materialized view \"mv\""),
        ("v", "view \"v\""),
        ("(SELECT k FROM t WHERE k > 0)", "table \"t\""),
    ] {
        let client = connect(server.port()).await;
        let mut stream = Box::pin(
            client
                .copy_out(&format!("COPY (SUBSCRIBE {relation}) TO STDOUT"))
                .await
                .unwrap(),
        );
        assert_eq!(read_lines(&mut stream, 1, false).await.len(), 1);
        readers.push((client, stream, name));
    }

    writer
        .batch_execute("DROP MATERIALIZED VIEW mv")
        .await
        .unwrap();
    writer.batch_execute("DROP VIEW v").await.unwrap();
    writer.batch_execute("DROP TABLE t").await.unwrap();
    for (client, mut stream, name) in readers {
        let (_, error) = read_to_end(&mut stream).await;
        let error = error.unwrap_or_else(|| panic!("subscription to {name} ended silently"));
        let db = error.as_db_error().expect("an ErrorResponse");
        assert_eq!(db.code().code(), "42P01", "{db:?}");
        assert_eq!(
            db.message(),
            format!("subscription ended because {name} was dropped")
        );
        drop(stream);
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1, "the session is usable after the error");
    }
    server.stop().await;
}
