//! `evert-slt`: runs `.slt` files against an in-process evert server, and the SQLite corpus.
//!
//! ```text
//! evert-slt FILE...             run each file against a fresh server
//! evert-slt --rewrite FILE...   replace expected results with evert's output (review the diff!)
//! evert-slt corpus [OPTIONS] [FILE|DIR]...
//!     run SQLite corpus files (default: every file under --root) against a fresh evert
//!     server per file and mode, and print pass/fail/skip per file and mode
//!     --root DIR            corpus root (default ../shared/corpus/sqlite)
//!     --mode direct|view|both   (default both)
//!     --view-every N        in view mode, every N-th query becomes a view (default 1)
//!     --batches N           random change batches per view (default 3)
//!     --seed N              seed of the random changes (default 1)
//!     --max-records N       stop each file after N records
//!     --baseline FILE       records PostgreSQL fails, to skip
//!                           (default sqllogictest/corpus-postgres-baseline.txt)
//!     --postgres CONNSTR    run against PostgreSQL instead of evert (direct mode), and with
//!     --write-baseline FILE write the records it fails as a baseline
//!     --show-failures N     print up to N failures per file (default 20)
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use evert_sqllogictest::corpus::{self, Baseline, FileReport, Mode, Options};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("corpus") {
        std::process::exit(corpus_main(&args[1..]).await);
    }
    let mut rewrite = false;
    let mut files = Vec::new();
    for arg in args {
        match arg.as_str() {
            "--rewrite" => rewrite = true,
            other => files.push(PathBuf::from(other)),
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

fn usage(message: &str) -> i32 {
    eprintln!(
        "evert-slt corpus: {message} (see the doc comment of sqllogictest/src/bin/evert-slt.rs)"
    );
    2
}

async fn corpus_main(args: &[String]) -> i32 {
    let mut root = PathBuf::from("../shared/corpus/sqlite");
    let mut modes = vec![Mode::Direct, Mode::View];
    let mut view_every = 1usize;
    let mut batches = 3usize;
    let mut seed = 1u64;
    let mut max_records = None;
    let mut baseline_path = PathBuf::from("sqllogictest/corpus-postgres-baseline.txt");
    let mut postgres: Option<String> = None;
    let mut write_baseline: Option<PathBuf> = None;
    let mut show_failures = 20usize;
    let mut targets = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let mut value = || {
            i += 1;
            args.get(i).cloned()
        };
        match arg {
            "--root" => root = PathBuf::from(value().unwrap_or_default()),
            "--mode" => {
                modes = match value().as_deref() {
                    Some("direct") => vec![Mode::Direct],
                    Some("view") => vec![Mode::View],
                    Some("both") => vec![Mode::Direct, Mode::View],
                    _ => return usage("--mode takes direct, view or both"),
                }
            }
            "--view-every" => match value().and_then(|v| v.parse().ok()) {
                Some(n) => view_every = n,
                None => return usage("--view-every takes a number"),
            },
            "--batches" => match value().and_then(|v| v.parse().ok()) {
                Some(n) => batches = n,
                None => return usage("--batches takes a number"),
            },
            "--seed" => match value().and_then(|v| v.parse().ok()) {
                Some(n) => seed = n,
                None => return usage("--seed takes a number"),
            },
            "--max-records" => match value().and_then(|v| v.parse().ok()) {
                Some(n) => max_records = Some(n),
                None => return usage("--max-records takes a number"),
            },
            "--show-failures" => match value().and_then(|v| v.parse().ok()) {
                Some(n) => show_failures = n,
                None => return usage("--show-failures takes a number"),
            },
            "--baseline" => baseline_path = PathBuf::from(value().unwrap_or_default()),
            "--postgres" => postgres = value(),
            "--write-baseline" => write_baseline = value().map(PathBuf::from),
            other if other.starts_with("--") => return usage(&format!("unknown option {other}")),
            other => targets.push(PathBuf::from(other)),
        }
        i += 1;
    }
    if targets.is_empty() {
        targets.push(root.clone());
    }
    let mut files = Vec::new();
    for t in &targets {
        if t.is_dir() {
            files.extend(corpus_files(t));
        } else {
            files.push(t.clone());
        }
    }
    let baseline = if postgres.is_some() {
        Baseline::default()
    } else {
        Baseline::load(&baseline_path)
    };
    if postgres.is_some() {
        modes = vec![Mode::Direct];
    }
    let started = Instant::now();
    let mut reports = Vec::new();
    for file in &files {
        let name = corpus_name(&root, file);
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot read {}: {e}", file.display());
                return 2;
            }
        };
        for &mode in &modes {
            let mut options = Options::new(&name, mode);
            options.view_every = view_every;
            options.batches = batches;
            options.seed = seed;
            options.max_records = max_records;
            let file_started = Instant::now();
            let report = match &postgres {
                Some(conn) => run_on_postgres(conn, &text, &options).await,
                None => run_on_evert(&text, &options, &baseline).await,
            };
            let report = match report {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{name}: {e}");
                    return 2;
                }
            };
            println!(
                "{:<48} {:<6} pass {:>6}  fail {:>5}  skip {:>5}  views {:>5}  {:.1}s",
                name,
                report.mode,
                report.passed,
                report.failed(),
                report.skipped_total(),
                report.views_checked,
                file_started.elapsed().as_secs_f64()
            );
            for f in report.failures.iter().take(show_failures) {
                println!(
                    "    {}:{}: {}\n        {}",
                    name,
                    f.line,
                    f.reason,
                    f.sql.replace('\n', " ")
                );
            }
            reports.push(report);
        }
    }
    print_summary(&reports, started.elapsed().as_secs_f64());
    if let Some(path) = write_baseline {
        let mut out = String::from(
            "# Records of the SQLite corpus that PostgreSQL 15 itself fails, as run by\n\
             # `evert-slt corpus --postgres ... --write-baseline`; evert's runs skip them.\n",
        );
        for r in &reports {
            for f in &r.failures {
                out.push_str(&format!(
                    "{}:{}\t{}\n",
                    r.name,
                    f.line,
                    baseline_reason(&f.reason)
                ));
            }
        }
        if let Err(e) = std::fs::write(&path, out) {
            eprintln!("cannot write {}: {e}", path.display());
            return 2;
        }
    }
    let failed: usize = reports.iter().map(FileReport::failed).sum();
    if failed == 0 {
        0
    } else {
        1
    }
}

/// A coarse reason for a baseline entry, so skip counts group well.
fn baseline_reason(reason: &str) -> String {
    if let Some(rest) = reason
        .strip_prefix("statement failed: [")
        .or_else(|| reason.strip_prefix("query failed: ["))
    {
        let code = rest.split(']').next().unwrap_or("");
        format!("postgresql rejects it ({code})")
    } else if reason.starts_with("statement succeeded") {
        "postgresql accepts what sqlite rejects".into()
    } else {
        "postgresql returns another result".into()
    }
}

fn print_summary(reports: &[FileReport], seconds: f64) {
    println!("\n| file | mode | pass | fail | skip | views checked |");
    println!("|---|---|---:|---:|---:|---:|");
    let mut total = [0usize; 4];
    for r in reports {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            r.mode,
            r.passed,
            r.failed(),
            r.skipped_total(),
            r.views_checked
        );
        total[0] += r.passed;
        total[1] += r.failed();
        total[2] += r.skipped_total();
        total[3] += r.views_checked;
    }
    println!(
        "| **total** | | {} | {} | {} | {} |",
        total[0], total[1], total[2], total[3]
    );
    let mut reasons = std::collections::BTreeMap::<(&str, &str), usize>::new();
    for r in reports {
        for (reason, n) in &r.skipped {
            *reasons.entry((r.mode, reason.as_str())).or_default() += n;
        }
    }
    println!("\n| mode | skip reason | records |");
    println!("|---|---|---:|");
    for ((mode, reason), n) in reasons {
        println!("| {mode} | {reason} | {n} |");
    }
    println!("\ntotal time {seconds:.0}s");
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    evert_sqllogictest::files_with_extension(dir, "test")
}

/// A file's name relative to the corpus root (the baseline's key).
fn corpus_name(root: &Path, file: &Path) -> String {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (root, file) = (canonical(root), canonical(file));
    file.strip_prefix(&root)
        .unwrap_or(&file)
        .display()
        .to_string()
}

async fn run_on_evert(
    text: &str,
    options: &Options,
    baseline: &Baseline,
) -> Result<FileReport, String> {
    let server = evert_sqllogictest::TestServer::start().await;
    let client = server.connect().await;
    let report = corpus::run_file(&client, text, options, baseline).await;
    drop(client);
    server.stop().await;
    report
}

async fn run_on_postgres(conn: &str, text: &str, options: &Options) -> Result<FileReport, String> {
    let connect = |c: String| async move {
        let (client, connection) = tokio_postgres::connect(&c, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("connect to postgres: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok::<_, String>(client)
    };
    let admin = connect(conn.to_string()).await?;
    let db = format!("corpus_{}", std::process::id());
    let _ = admin
        .simple_query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
    admin
        .simple_query(&format!("CREATE DATABASE {db}"))
        .await
        .map_err(|e| format!("create database: {e}"))?;
    let client = connect(format!("{conn} dbname={db}")).await?;
    let report = corpus::run_file(&client, text, options, &Baseline::default()).await;
    drop(client);
    let _ = admin
        .simple_query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
    report
}
