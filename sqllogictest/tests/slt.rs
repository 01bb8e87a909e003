//! Runs every `.slt` file in `sqllogictest/test` against a fresh evert server each.

use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slt_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test");
    let files = evert_sqllogictest::slt_files(&dir);
    assert!(
        !files.is_empty(),
        "no .slt files found in {}",
        dir.display()
    );
    let only = std::env::var("SLT_FILTER").ok();
    let mut failures = Vec::new();
    for file in &files {
        if let Some(filter) = &only {
            if !file.to_string_lossy().contains(filter.as_str()) {
                continue;
            }
        }
        eprintln!("running {}", file.display());
        if let Err(e) = evert_sqllogictest::run_file(file).await {
            eprintln!("FAILED {}:\n{e}", file.display());
            failures.push(file.display().to_string());
        }
    }
    assert!(failures.is_empty(), "failed files: {failures:?}");
}
