//! Load generator sources across restarts: a source is a durable catalog item, and its
//! generator resumes at the offset committed with its last batch, so after any number of
//! restarts the data has no duplicates and no gaps, and views over it stay equal to their
//! queries.

use std::time::{Duration, Instant};

use evert_sqllogictest::{run_simple, TempDir, TestServer};
use sqllogictest::DBOutput;

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<String>> {
    match run_simple(client, sql).await.unwrap() {
        DBOutput::Rows { mut rows, .. } => {
            rows.sort();
            rows
        }
        _ => panic!("{sql} returned no rows"),
    }
}

async fn number(client: &tokio_postgres::Client, sql: &str) -> i64 {
    let r = rows(client, sql).await;
    r[0][0]
        .parse()
        .unwrap_or_else(|_| panic!("{sql} returned {r:?}"))
}

/// Polls `sql` (one number) until it is at least `at_least`.
async fn wait_for(client: &tokio_postgres::Client, sql: &str, at_least: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = number(client, sql).await;
        if n >= at_least {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "{sql} stuck at {n} (waiting for {at_least})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The counter's contents are exactly 1..=n: no duplicates, no gaps; its progress relation
/// and its view agree with it. One query, so everything is read at one timestamp.
async fn check_counter(client: &tokio_postgres::Client) -> i64 {
    let r = rows(
        client,
        "SELECT a.n, a.d, a.lo, a.hi, a.s, p.\"offset\", v.n, v.s \
         FROM (SELECT count(*) AS n, count(DISTINCT counter) AS d, min(counter) AS lo, max(counter) AS hi, sum(counter) AS s FROM c) a, \
              c_progress p, c_sum v",
    )
    .await;
    let n: i64 = r[0][0].parse().unwrap();
    let sum = (n * (n + 1) / 2).to_string();
    assert_eq!(
        r[0],
        vec![
            n.to_string(),
            n.to_string(),
            "1".into(),
            n.to_string(),
            sum.clone(),
            n.to_string(),
            n.to_string(),
            sum
        ],
        "counter has duplicates or gaps, or its progress or view disagree"
    );
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generators_resume_after_restart() {
    let mut server = TestServer::start_in(TempDir::new("evert-loadgen-restart")).await;
    let (mut last, mut nexmark_before) = {
        let client = server.connect().await;
        client
            .batch_execute(
                "CREATE SOURCE c FROM LOAD GENERATOR COUNTER (TICK INTERVAL '5ms');
                 CREATE MATERIALIZED VIEW c_sum AS SELECT count(*) AS n, sum(counter) AS s FROM c;
                 CREATE SOURCE nx FROM LOAD GENERATOR NEXMARK (TICK INTERVAL '0', UP TO 20000, BATCH SIZE 200) FOR ALL TABLES;
                 CREATE MATERIALIZED VIEW bids_per_auction AS SELECT auction, count(*) AS n FROM bid GROUP BY auction;
                 ALTER SOURCE bid SET (RETAIN HISTORY FOR '10s');
                 ALTER SOURCE c SET (RETAIN HISTORY FOR '10s');",
            )
            .await
            .unwrap();
        wait_for(&client, "SELECT count(*) FROM c", 10).await;
        (
            check_counter(&client).await,
            number(&client, "SELECT \"offset\" FROM nx_progress").await,
        )
    };
    for round in 0..3 {
        let dir = server.stop_keep().await;
        server = TestServer::start_in(dir).await;
        let client = server.connect().await;
        // Nothing was lost in the restart, and the counter goes on from where it was.
        let resumed = check_counter(&client).await;
        assert!(
            resumed >= last,
            "round {round}: counter went back from {last} to {resumed}"
        );
        wait_for(&client, "SELECT count(*) FROM c", resumed + 10).await;
        last = check_counter(&client).await;
        let nexmark = number(&client, "SELECT \"offset\" FROM nx_progress").await;
        assert!(
            nexmark >= nexmark_before,
            "round {round}: nexmark went back"
        );
        nexmark_before = nexmark;
    }
    let client = server.connect().await;
    // Nexmark finishes its 20,000 events exactly once (1 person, 3 auctions, 46 bids in 50).
    wait_for(&client, "SELECT \"offset\" FROM nx_progress", 20_000).await;
    assert_eq!(
        rows(&client, "SELECT (SELECT count(*) FROM person), (SELECT count(DISTINCT id) FROM person), (SELECT count(*) FROM auction), (SELECT count(DISTINCT id) FROM auction), (SELECT count(*) FROM bid)").await,
        vec![vec!["400".to_string(), "400".into(), "1200".into(), "1200".into(), "18400".into()]]
    );
    assert_eq!(
        rows(&client, "SELECT * FROM bids_per_auction").await,
        rows(
            &client,
            "SELECT auction, count(*) FROM bid GROUP BY auction"
        )
        .await
    );
    // DROP SOURCE stops the generators and removes them durably.
    client
        .batch_execute("DROP SOURCE c CASCADE; DROP SOURCE nx CASCADE;")
        .await
        .unwrap();
    drop(client);
    let dir = server.stop_keep().await;
    let server = TestServer::start_in(dir).await;
    let client = server.connect().await;
    assert_eq!(
        rows(&client, "SHOW SOURCES").await,
        Vec::<Vec<String>>::new()
    );
    server.stop().await;
}
