//! A fixed, small subset of the SQLite sqllogictest corpus, run directly and as maintained
//! views (see `evert_sqllogictest::corpus`). The full corpus is run by hand with
//! `evert-slt corpus` (docs/conformance.md gives the command and its results).

use std::path::{Path, PathBuf};

use evert_sqllogictest::corpus::{self, Baseline, Mode, Options};

fn corpus_root() -> Option<PathBuf> {
    let root = std::env::var_os("EVERT_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/sqlite")
        });
    root.join("select1.test").exists().then_some(root)
}

/// (file, records to run, in view mode every n-th query becomes a view). The index/ family is
/// left out: every file of it uses CREATE UNIQUE INDEX, which evert refuses (0A000).
const SUBSET: &[(&str, usize, usize)] = &[
    ("select1.test", 300, 1),
    ("evidence/in1.test", usize::MAX, 1),
    ("evidence/in2.test", usize::MAX, 1),
    ("evidence/slt_lang_createview.test", usize::MAX, 1),
    ("evidence/slt_lang_update.test", usize::MAX, 1),
    ("random/aggregates/slt_good_0.test", 200, 5),
    ("random/groupby/slt_good_0.test", 200, 5),
    ("random/select/slt_good_0.test", 200, 5),
    ("random/expr/slt_good_0.test", 200, 5),
    ("random/select/slt_good_1.test", 200, 5),
    ("select2.test", 100, 2),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corpus_subset_direct_and_view() {
    let Some(root) = corpus_root() else {
        eprintln!(
            "\n\n*** SKIPPING the SQLite corpus subset: no corpus at ../shared/corpus/sqlite \
             (set EVERT_CORPUS_DIR) ***\n"
        );
        return;
    };
    let baseline =
        Baseline::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus-postgres-baseline.txt"));
    assert!(
        !baseline.records.is_empty(),
        "the PostgreSQL baseline is missing"
    );
    let mut failures = Vec::new();
    let mut views = 0;
    let mut passed = 0;
    for &(name, max_records, view_every) in SUBSET {
        let text = std::fs::read_to_string(root.join(name)).expect("read corpus file");
        for mode in [Mode::Direct, Mode::View] {
            let mut options = Options::new(name, mode);
            options.max_records = Some(max_records);
            options.view_every = view_every;
            let server = evert_sqllogictest::TestServer::start().await;
            let client = server.connect().await;
            let report = corpus::run_file(&client, &text, &options, &baseline)
                .await
                .expect("corpus file parses");
            drop(client);
            server.stop().await;
            eprintln!(
                "{name} {}: pass {} fail {} skip {} views {}",
                report.mode,
                report.passed,
                report.failed(),
                report.skipped_total(),
                report.views_checked
            );
            passed += report.passed;
            views += report.views_checked;
            for f in report.failures {
                failures.push(format!(
                    "{name}:{} ({}): {}\n    {}",
                    f.line, report.mode, f.reason, f.sql
                ));
            }
        }
    }
    assert!(passed > 1500, "too few records ran: {passed}");
    assert!(views > 400, "too few views checked: {views}");
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}
