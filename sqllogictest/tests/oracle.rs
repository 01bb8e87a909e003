//! The PostgreSQL oracle, bounded for CI: random views maintained by evert through random
//! changes, compared after every batch with PostgreSQL 15 (started here, from the Debian
//! package's binaries). A longer run is made by hand with `evert-oracle` (docs/conformance.md).

use std::path::Path;
use std::time::Duration;

use evert_sqllogictest::oracle::{self, Config};
use evert_sqllogictest::pgserver::{PgServer, DEFAULT_BIN_DIR};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oracle_fixed_seed() {
    let bin = std::env::var_os("EVERT_PG_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(DEFAULT_BIN_DIR).to_path_buf());
    if !PgServer::available(&bin) {
        eprintln!(
            "\n\n*** SKIPPING the PostgreSQL oracle: no PostgreSQL 15 binaries in {} \
             (install postgresql-15, or set EVERT_PG_BIN) ***\n",
            bin.display()
        );
        return;
    }
    let mut postgres = PgServer::start(&bin).expect("start PostgreSQL 15");
    let pg = postgres
        .connect("postgres")
        .await
        .expect("connect to PostgreSQL");
    let evert = evert_sqllogictest::TestServer::start().await;
    let client = evert.connect().await;
    let config = Config {
        seed: 20261124,
        cases: 80,
        minimize_for: Duration::from_secs(60),
        ..Config::default()
    };
    let report = oracle::run(&client, &pg, &config).await;
    eprintln!("{}", report.summary());
    drop(client);
    evert.stop().await;
    drop(pg);
    postgres.stop();
    assert!(
        report.views >= 200,
        "too few views were compared: {}",
        report.summary()
    );
    for shape in [
        "window functions",
        "window in a subquery",
        "WITH RECURSIVE",
        "grouping sets",
    ] {
        let n = report.shapes.get(shape).copied().unwrap_or(0);
        assert!(
            n >= 5,
            "too few views with {shape} were compared ({n}): {}",
            report.summary()
        );
    }
    assert!(
        report.mismatches.is_empty() && report.change_disagreements.is_empty(),
        "evert disagrees with PostgreSQL:\n{}",
        report.summary()
    );
}
