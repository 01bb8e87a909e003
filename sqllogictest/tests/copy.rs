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
