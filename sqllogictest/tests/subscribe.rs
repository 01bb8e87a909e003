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
