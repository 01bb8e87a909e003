//! COPY through a real client: `COPY t TO STDOUT`, `COPY (query) TO STDOUT` and
//! `COPY t FROM STDIN`, in PostgreSQL's text format.

use bytes::Bytes;
use evert_sqllogictest::TestServer;
use futures::{SinkExt, StreamExt};

async fn copy_out(client: &tokio_postgres::Client, sql: &str) -> String {
    let stream = client
        .copy_out(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    futures::pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("copy data"));
    }
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_in_and_out() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client.batch_execute("CREATE TABLE c (k int, v text); CREATE MATERIALIZED VIEW cn AS SELECT count(*) AS n FROM c").await.unwrap();

    let sink = client.copy_in("COPY c FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(
        b"1\tone\n2\t\\N\n3\tthree, with\\ttab\n",
    ))
    .await
    .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);

    let mut table = copy_out(&client, "COPY c TO STDOUT")
        .await
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    table.sort();
    assert_eq!(table, vec!["1\tone", "2\t\\N", "3\tthree, with\\ttab"]);
    let columns = copy_out(&client, "COPY c (v) TO STDOUT").await;
    assert_eq!(columns.lines().count(), 3);
    assert!(
        !columns.contains('\t') || columns.contains("\\t"),
        "one column per line: {columns:?}"
    );
    assert_eq!(
        copy_out(&client, "COPY (SELECT n FROM cn) TO STDOUT").await,
        "3\n"
    );
    server.stop().await;
}

/// `COPY FROM STDIN` into a table with a unique index: a duplicate (with a row already
/// there, or inside the copied data) fails the whole COPY with PostgreSQL's 23505.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_in_checks_unique_indexes() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE u (k int, v text); INSERT INTO u VALUES (1, 'one');
             CREATE UNIQUE INDEX u_k ON u (k)",
        )
        .await
        .unwrap();
    for data in [&b"2\ttwo\n1\tagain\n"[..], &b"3\tthree\n3\tthrice\n"[..]] {
        let sink = client.copy_in("COPY u FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(Bytes::from(data.to_vec())).await.unwrap();
        let err = sink.finish().await.expect_err("duplicate key");
        let db = err.as_db_error().expect("a database error");
        assert_eq!(db.code().code(), "23505");
        assert_eq!(
            db.message(),
            "duplicate key value violates unique constraint \"u_k\""
        );
    }
    let sink = client.copy_in("COPY u FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"2\ttwo\n\\N\tnull\n\\N\tnull\n"))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);
    let mut table = copy_out(&client, "COPY u TO STDOUT")
        .await
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    table.sort();
    assert_eq!(table, vec!["1\tone", "2\ttwo", "\\N\tnull", "\\N\tnull"]);
    server.stop().await;
}
