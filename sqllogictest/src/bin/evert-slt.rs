//! `evert-slt`: runs `.slt` files against an in-process evert server.
//!
//! ```text
//! evert-slt FILE...             run each file against a fresh server
//! evert-slt --rewrite FILE...   replace expected results with evert's output (review the diff!)
//! ```

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut rewrite = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--rewrite" => rewrite = true,
            other => files.push(std::path::PathBuf::from(other)),
        }
    }
    let mut failed = 0;
    for f in &files {
        let result = if rewrite {
            evert_sqllogictest::rewrite_file(f).await
        } else {
            evert_sqllogictest::run_file(f).await
        };
        match result {
            Ok(()) => println!("ok      {}", f.display()),
            Err(e) => {
                failed += 1;
                println!("FAILED  {}\n{e}", f.display());
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
