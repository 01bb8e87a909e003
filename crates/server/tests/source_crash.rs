//! Load generator sources under SIGKILL: the `evert` process is killed while unthrottled
//! generators commit batch after batch. Each batch is committed with the source's next
//! offset in one atomic commit, so after every restart each source holds exactly the rows
//! of offsets `0 .. offset` (no duplicates, no gaps), no offset a reader saw before the kill
//! is lost, views over the sources equal their queries, and the generators go on to `UP TO`.
//!
//! `EVERT_SOURCE_CRASH_CYCLES` sets the number of kill cycles (default 6).

mod common;

use std::time::{Duration, Instant};

use common::{connect, row_list, rows, start, Server};
use rand::{Rng, SeedableRng};
use tokio_postgres::Client;

/// Where the generators stop: far enough that the kills land mid-generation (together, the
/// three make some thousands of offsets a second in a debug build), near enough to be
/// reached within the test's budget.
const COUNTER_UP_TO: i64 = 150_000;
const AUCTION_UP_TO: i64 = 30_000;
const NEXMARK_UP_TO: i64 = 300_000;

/// The sources, small batches so that there are many commits to kill, and views over them.
/// Every view is maintained in time proportional to the change: `max(counter)` over the
/// whole counter would be one group of every value, which evert's reduce recomputes on each
/// change (see the `reduce` module); the checks compute it ad hoc instead.
fn setup() -> String {
    format!(
        "CREATE SOURCE c FROM LOAD GENERATOR COUNTER (TICK INTERVAL '0', BATCH SIZE 500, UP TO {COUNTER_UP_TO});
         CREATE MATERIALIZED VIEW c_sum AS SELECT count(*) AS n, sum(counter) AS s FROM c;
         CREATE SOURCE ah FROM LOAD GENERATOR AUCTION (TICK INTERVAL '0', BATCH SIZE 100, UP TO {AUCTION_UP_TO}) FOR ALL TABLES;
         CREATE MATERIALIZED VIEW top_bids AS SELECT auction_id, count(*) AS n, max(amount) AS top FROM bids GROUP BY auction_id;
         CREATE VIEW sellers AS SELECT a.seller, count(*) AS n FROM auctions a JOIN users u ON a.seller = u.id GROUP BY a.seller;
         CREATE INDEX sellers_idx ON sellers (seller);
         CREATE SOURCE nx FROM LOAD GENERATOR NEXMARK (TICK INTERVAL '0', BATCH SIZE 1000, UP TO {NEXMARK_UP_TO}) FOR ALL TABLES;
         CREATE MATERIALIZED VIEW bids_per_auction AS SELECT auction, count(*) AS n, max(price) AS top FROM bid GROUP BY auction;"
    )
}

fn int(s: &str) -> i64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
}

/// The three sources' next offsets (0 before a source's first commit). A scalar subquery
/// over a progress relation that held more than one row would fail the query.
const OFFSETS: &str = "SELECT coalesce((SELECT \"offset\" FROM c_progress), 0),
    coalesce((SELECT \"offset\" FROM ah_progress), 0), coalesce((SELECT \"offset\" FROM nx_progress), 0)";

/// The three sources' offsets, read at one timestamp.
async fn offsets(client: &Client) -> [i64; 3] {
    let r = row_list(client, OFFSETS).await;
    [int(&r[0][0]), int(&r[0][1]), int(&r[0][2])]
}

/// Checks every source and view in one read-only transaction (one timestamp), and returns
/// the offsets it saw.
async fn verify(client: &mut Client, cycle: usize) -> [i64; 3] {
    let tx = client.transaction().await.unwrap();
    let r = row_list(&tx, OFFSETS).await;
    let [co, ao, no] = [int(&r[0][0]), int(&r[0][1]), int(&r[0][2])];

    // COUNTER: exactly 1..=offset.
    let c = row_list(
        &tx,
        "SELECT count(*), count(DISTINCT counter), coalesce(min(counter), 0), coalesce(max(counter), 0), coalesce(sum(counter), 0) FROM c",
    )
    .await;
    let sum = (co as i128 * (co as i128 + 1) / 2).to_string();
    let expected = vec![
        co.to_string(),
        co.to_string(),
        (if co > 0 { "1" } else { "0" }).to_string(),
        co.to_string(),
        sum.clone(),
    ];
    assert_eq!(
        c[0], expected,
        "cycle {cycle}: COUNTER at offset {co} has duplicates or gaps (count, distinct, min, max, sum)"
    );
    let view = row_list(&tx, "SELECT n, coalesce(s, 0) FROM c_sum").await;
    assert_eq!(
        view,
        vec![vec![co.to_string(), sum]],
        "cycle {cycle}: c_sum differs from its query"
    );

    // AUCTION: offset 0 makes the organizations, users and accounts; every tenth offset an
    // auction, the others bids; auction and bid ids are 1, 2, 3, … without gaps.
    let a = row_list(
        &tx,
        "SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM users), (SELECT count(*) FROM accounts),
                (SELECT count(*) FROM auctions), (SELECT count(DISTINCT id) FROM auctions), (SELECT coalesce(max(id), 0) FROM auctions),
                (SELECT count(*) FROM bids), (SELECT count(DISTINCT id) FROM bids), (SELECT coalesce(max(id), 0) FROM bids)",
    )
    .await;
    let auctions = (ao + 9) / 10;
    let bids = ao - auctions;
    let snapshot = |n: i64| if ao > 0 { n } else { 0 };
    let expected: Vec<String> = [
        snapshot(12),
        snapshot(1000),
        snapshot(12),
        auctions,
        auctions,
        auctions,
        bids,
        bids,
        bids,
    ]
    .iter()
    .map(|n| n.to_string())
    .collect();
    assert_eq!(
        a[0], expected,
        "cycle {cycle}: AUCTION at offset {ao} has duplicates or gaps"
    );
    assert_eq!(
        rows(&tx, "SELECT * FROM top_bids").await,
        rows(
            &tx,
            "SELECT auction_id, count(*), max(amount) FROM bids GROUP BY auction_id"
        )
        .await,
        "cycle {cycle}: top_bids differs from its query"
    );
    assert_eq!(
        rows(&tx, "SELECT * FROM sellers").await,
        rows(
            &tx,
            "SELECT a.seller, count(*) FROM auctions a JOIN users u ON a.seller = u.id GROUP BY a.seller"
        )
        .await,
        "cycle {cycle}: sellers differs from its query"
    );

    // NEXMARK: one row per event, people and auctions with distinct ids.
    let n = row_list(
        &tx,
        "SELECT (SELECT count(*) FROM person) + (SELECT count(*) FROM auction) + (SELECT count(*) FROM bid),
                (SELECT count(*) - count(DISTINCT id) FROM person), (SELECT count(*) - count(DISTINCT id) FROM auction)",
    )
    .await;
    assert_eq!(
        n[0],
        vec![no.to_string(), "0".into(), "0".into()],
        "cycle {cycle}: NEXMARK at offset {no} has duplicates or gaps (events, duplicate people, duplicate auctions)"
    );
    assert_eq!(
        rows(&tx, "SELECT * FROM bids_per_auction").await,
        rows(
            &tx,
            "SELECT auction, count(*), max(price) FROM bid GROUP BY auction"
        )
        .await,
        "cycle {cycle}: bids_per_auction differs from its query"
    );
    tx.commit().await.unwrap();
    [co, ao, no]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sources_survive_sigkill() {
    let cycles: usize = std::env::var("EVERT_SOURCE_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(6);
    let root = std::env::temp_dir().join(format!("evert-source-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let dir = root.join("data");
    let log = root.join("evert.log");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EED);
    let ups = [COUNTER_UP_TO, AUCTION_UP_TO, NEXMARK_UP_TO];

    let mut server: Server = start(&dir, &log);
    let client = connect(server.port, Duration::from_secs(30)).await;
    client.batch_execute(&setup()).await.unwrap();
    let mut killed_mid_generation = 0;
    for cycle in 0..cycles {
        // Read the offsets while the generators run: every value read was committed.
        let client = connect(server.port, Duration::from_secs(10)).await;
        let until = Instant::now() + Duration::from_millis(rng.gen_range(200..1200));
        let mut seen = offsets(&client).await;
        while Instant::now() < until {
            seen = offsets(&client).await;
        }
        if seen.iter().zip(ups).any(|(o, up)| *o < up) {
            killed_mid_generation += 1;
        }
        server.kill();

        server = start(&dir, &log);
        let mut client = connect(server.port, Duration::from_secs(60)).await;
        let after = verify(&mut client, cycle).await;
        for ((before, after), name) in seen.iter().zip(after).zip(["c", "ah", "nx"]) {
            assert!(
                after >= *before,
                "cycle {cycle}: {name} lost acknowledged offsets: read {before} before the kill, {after} after the restart"
            );
        }
        eprintln!("cycle {cycle}: offsets before the kill {seen:?}, after the restart {after:?}");
    }
    assert!(
        killed_mid_generation >= cycles.min(2),
        "only {killed_mid_generation} of {cycles} kills landed while a generator was running"
    );

    // The generators go on to UP TO, and stop there.
    let mut client = connect(server.port, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let now = offsets(&client).await;
        if now == ups {
            break;
        }
        assert!(
            now.iter().zip(ups).all(|(o, up)| *o <= up),
            "a generator went past UP TO: {now:?}"
        );
        assert!(
            Instant::now() < deadline,
            "generators stuck at {now:?} (UP TO {ups:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(verify(&mut client, cycles).await, ups);
    // Nexmark's proportions over whole blocks of 50 events: 1 person, 3 auctions, 46 bids.
    assert_eq!(
        row_list(
            &client,
            "SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM auction), (SELECT count(*) FROM bid)"
        )
        .await,
        vec![vec![
            (NEXMARK_UP_TO / 50).to_string(),
            (NEXMARK_UP_TO / 50 * 3).to_string(),
            (NEXMARK_UP_TO / 50 * 46).to_string()
        ]]
    );
    // And after one more kill, still exactly that.
    server.kill();
    server = start(&dir, &log);
    let mut client = connect(server.port, Duration::from_secs(60)).await;
    assert_eq!(verify(&mut client, cycles + 1).await, ups);
    server.kill();
    let _ = std::fs::remove_dir_all(&root);
}
