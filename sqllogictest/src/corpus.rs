//! # Running the SQLite sqllogictest corpus
//!
//! The SQLite corpus (`../shared/corpus/sqlite`, about 7 million queries upstream, a subset here)
//! is written for many engines at once, in a format of its own:
//!
//! - `skipif <engine>` / `onlyif <engine>` before a record; we run as engine `postgresql`;
//! - `query <types> <sort> [label]`: one letter per column (`I` integer, `T` text, `R` real,
//!   printed with three decimals), sort mode `nosort`, `rowsort` or `valuesort`;
//! - results one *value* per line, or `N values hashing to <md5>` (the md5 of every value
//!   followed by a newline), as the `hash-threshold` record of the file decided;
//! - `halt` ends a file, `(empty)` is the empty string, `NULL` is NULL.
//!
//! [`run_file`] runs one file on a connection in one of two [`Mode`]s:
//!
//! - **direct**: every statement and query as written, results compared with the file;
//! - **view**: as direct, and every query also becomes a materialized view. The runner then
//!   applies batches of random INSERT / UPDATE / DELETE to the tables the query reads, and after
//!   each batch checks that the view holds exactly what the query returns when computed from
//!   scratch (an ad hoc SELECT). It then restores the tables (one more batch, one more check)
//!   so the next records of the file see the data they expect, and drops the view.
//!
//! Records PostgreSQL itself rejects, or answers differently from SQLite, are not evert's to
//! pass: a [`Baseline`] (made by running the corpus against PostgreSQL 15 with this same
//! runner, `evert-slt corpus --baseline`) lists them, and the runner skips them with their
//! reason counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use md5::{Digest, Md5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The engine name the corpus's `skipif` / `onlyif` records are matched against.
pub const ENGINE: &str = "postgresql";

/// How a query's rows are put in order before they are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortMode {
    NoSort,
    RowSort,
    ValueSort,
}

/// A query's expected output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// One value per line (a line may also hold a whole row, values separated by spaces).
    Values(Vec<String>),
    /// `count values hashing to md5`.
    Hash { count: usize, md5: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKind {
    Statement {
        expect_error: bool,
        sql: String,
    },
    Query {
        types: Vec<char>,
        sort: SortMode,
        sql: String,
        expected: Expected,
    },
    HashThreshold(usize),
    Halt,
}

/// One record of a corpus file: its first line (1-based), its conditions, what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub skip_if: Vec<String>,
    pub only_if: Vec<String>,
    pub kind: RecordKind,
}

impl Record {
    /// Why the record does not apply to PostgreSQL, if it does not.
    pub fn engine_skip(&self) -> Option<String> {
        if self.skip_if.iter().any(|e| e == ENGINE) {
            return Some("skipif postgresql".into());
        }
        if let Some(other) = self.only_if.iter().find(|e| *e != ENGINE) {
            return Some(format!("onlyif {other}"));
        }
        None
    }
}

/// Parses a corpus file (CRLF or LF line endings).
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut records = Vec::new();
    let mut skip_if = Vec::new();
    let mut only_if = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let start = i + 1;
        // Collects SQL lines up to a blank line or `----`.
        let sql_block = |i: &mut usize| {
            let mut sql = Vec::new();
            while *i < lines.len() && !lines[*i].trim().is_empty() && lines[*i].trim() != "----" {
                sql.push(lines[*i]);
                *i += 1;
            }
            sql.join("\n")
        };
        match words[0] {
            "skipif" | "onlyif" => {
                let engine = words.get(1).copied().unwrap_or("").to_string();
                if words[0] == "skipif" {
                    skip_if.push(engine);
                } else {
                    only_if.push(engine);
                }
                i += 1;
                continue;
            }
            "statement" => {
                i += 1;
                let sql = sql_block(&mut i);
                // A `statement` has no results, but skip a stray `----` block if one is there.
                if i < lines.len() && lines[i].trim() == "----" {
                    while i < lines.len() && !lines[i].trim().is_empty() {
                        i += 1;
                    }
                }
                let expect_error = match words.get(1).copied() {
                    Some("ok") | Some("count") => false,
                    Some("error") => true,
                    other => return Err(format!("line {start}: bad statement mode {other:?}")),
                };
                records.push(Record {
                    line: start,
                    skip_if: std::mem::take(&mut skip_if),
                    only_if: std::mem::take(&mut only_if),
                    kind: RecordKind::Statement { expect_error, sql },
                });
            }
            "query" => {
                let types: Vec<char> = words.get(1).copied().unwrap_or("").chars().collect();
                let sort = match words.get(2).copied() {
                    None | Some("nosort") => SortMode::NoSort,
                    Some("rowsort") => SortMode::RowSort,
                    Some("valuesort") => SortMode::ValueSort,
                    Some(other) => return Err(format!("line {start}: bad sort mode {other}")),
                };
                i += 1;
                let sql = sql_block(&mut i);
                let mut values = Vec::new();
                if i < lines.len() && lines[i].trim() == "----" {
                    i += 1;
                    while i < lines.len() && !lines[i].trim().is_empty() {
                        values.push(lines[i].trim().to_string());
                        i += 1;
                    }
                }
                let expected = parse_hash(&values).unwrap_or(Expected::Values(values));
                records.push(Record {
                    line: start,
                    skip_if: std::mem::take(&mut skip_if),
                    only_if: std::mem::take(&mut only_if),
                    kind: RecordKind::Query {
                        types,
                        sort,
                        sql,
                        expected,
                    },
                });
            }
            "hash-threshold" => {
                let n = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(0);
                records.push(Record {
                    line: start,
                    skip_if: std::mem::take(&mut skip_if),
                    only_if: std::mem::take(&mut only_if),
                    kind: RecordKind::HashThreshold(n),
                });
                i += 1;
            }
            "halt" => {
                records.push(Record {
                    line: start,
                    skip_if: std::mem::take(&mut skip_if),
                    only_if: std::mem::take(&mut only_if),
                    kind: RecordKind::Halt,
                });
                i += 1;
            }
            other => return Err(format!("line {start}: unknown record {other}")),
        }
    }
    Ok(records)
}

fn parse_hash(values: &[String]) -> Option<Expected> {
    if values.len() != 1 {
        return None;
    }
    let words: Vec<&str> = values[0].split_whitespace().collect();
    match words.as_slice() {
        [count, "values", "hashing", "to", md5] => Some(Expected::Hash {
            count: count.parse().ok()?,
            md5: md5.to_string(),
        }),
        _ => None,
    }
}

/// A value as the SQLite runner prints it for a column of type `ty`.
pub fn format_value(value: Option<&str>, ty: char) -> String {
    let Some(v) = value else {
        return "NULL".into();
    };
    match ty {
        'I' => {
            if let Ok(i) = v.parse::<i64>() {
                i.to_string()
            } else if v == "t" || v == "f" {
                if v == "t" { "1" } else { "0" }.into()
            } else if let Ok(f) = v.parse::<f64>() {
                format!("{}", f.trunc() as i64)
            } else {
                // SQLite reads a text's leading integer, or 0 ('abc' in an I column is 0).
                let sign = usize::from(v.starts_with(['-', '+']));
                let digits = v[sign..].chars().take_while(char::is_ascii_digit).count();
                v[..sign + digits].parse::<i64>().unwrap_or(0).to_string()
            }
        }
        'R' => match v.parse::<f64>() {
            Ok(f) => {
                let s = format!("{f:.3}");
                if s == "-0.000" {
                    "0.000".into()
                } else {
                    s
                }
            }
            Err(_) => v.to_string(),
        },
        _ => {
            if v.is_empty() {
                "(empty)".into()
            } else {
                v.chars()
                    .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                    .collect()
            }
        }
    }
}

/// Rows formatted per column type and ordered per sort mode (valuesort yields one-value rows).
pub fn normalize(
    rows: Vec<Vec<Option<String>>>,
    types: &[char],
    sort: SortMode,
) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(i, v)| format_value(v.as_deref(), types.get(i).copied().unwrap_or('T')))
                .collect()
        })
        .collect();
    match sort {
        SortMode::NoSort => {}
        SortMode::RowSort => out.sort(),
        SortMode::ValueSort => {
            let mut values: Vec<String> = out.into_iter().flatten().collect();
            values.sort();
            out = values.into_iter().map(|v| vec![v]).collect();
        }
    }
    out
}

/// The md5 of every value followed by a newline, as the corpus hashes results.
pub fn hash_values(rows: &[Vec<String>]) -> String {
    let mut md5 = Md5::new();
    for v in rows.iter().flatten() {
        md5.update(v.as_bytes());
        md5.update(b"\n");
    }
    let mut s = String::new();
    for b in md5.finalize() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Whether normalized rows match what the file expects.
pub fn matches(rows: &[Vec<String>], expected: &Expected) -> bool {
    let count: usize = rows.iter().map(|r| r.len()).sum();
    match expected {
        Expected::Hash { count: n, md5 } => count == *n && hash_values(rows) == *md5,
        Expected::Values(lines) => {
            let values: Vec<&str> = rows.iter().flatten().map(|s| s.as_str()).collect();
            if lines.len() == values.len() && lines.iter().zip(&values).all(|(l, v)| l == v) {
                return true;
            }
            // Some files write a whole row per line.
            let by_row: Vec<String> = rows.iter().map(|r| r.join(" ")).collect();
            let lines: Vec<String> = lines
                .iter()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            by_row == lines
        }
    }
}

/// The result of one statement, as text rows, or the server's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Rows {
        columns: usize,
        rows: Vec<Vec<Option<String>>>,
    },
    Done,
    Error {
        sqlstate: String,
        message: String,
    },
}

impl Outcome {
    pub fn describe_error(&self) -> Option<String> {
        match self {
            Outcome::Error { sqlstate, message } => Some(format!("[{sqlstate}] {message}")),
            _ => None,
        }
    }
}

/// Runs one statement with the simple query protocol.
pub async fn execute(client: &Client, sql: &str) -> Outcome {
    match client.simple_query(sql).await {
        Ok(messages) => {
            let mut columns = None;
            let mut rows = Vec::new();
            for m in messages {
                match m {
                    SimpleQueryMessage::RowDescription(cols) => columns = Some(cols.len()),
                    SimpleQueryMessage::Row(row) => {
                        columns.get_or_insert(row.len());
                        rows.push(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_string))
                                .collect(),
                        )
                    }
                    _ => {}
                }
            }
            match columns {
                Some(columns) => Outcome::Rows { columns, rows },
                None => Outcome::Done,
            }
        }
        Err(e) => match e.as_db_error() {
            Some(db) => Outcome::Error {
                sqlstate: db.code().code().to_string(),
                message: db.message().to_string(),
            },
            None => Outcome::Error {
                sqlstate: "XX000".into(),
                message: e.to_string(),
            },
        },
    }
}

/// How the runner runs each query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Direct,
    View,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Direct => "direct",
            Mode::View => "view",
        }
    }
}

/// Records known to fail on PostgreSQL 15 itself, by `file:line`, with the reason.
#[derive(Debug, Default, Clone)]
pub struct Baseline {
    pub records: HashMap<String, String>,
}

impl Baseline {
    /// Parses lines `relative/path.test:LINE<TAB>reason` (`#` starts a comment).
    pub fn parse(text: &str) -> Baseline {
        let mut records = HashMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (key, reason) = line.split_once('\t').unwrap_or((line, "postgresql fails"));
            records.insert(key.trim().to_string(), reason.trim().to_string());
        }
        Baseline { records }
    }

    pub fn load(path: &Path) -> Baseline {
        std::fs::read_to_string(path)
            .map(|t| Baseline::parse(&t))
            .unwrap_or_default()
    }
}

/// How to run a file.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// The file's name in reports and baseline keys (its path relative to the corpus root).
    pub name: String,
    /// Seed of the random changes in view mode.
    pub seed: u64,
    /// Batches of random changes per view (a restoring batch follows them).
    pub batches: usize,
    /// In view mode, only every `view_every`-th query (counting from the first) becomes a view;
    /// the others run directly. 1 checks every query.
    pub view_every: usize,
    /// Stop after this many records (for bounded runs).
    pub max_records: Option<usize>,
}

impl Options {
    pub fn new(name: &str, mode: Mode) -> Options {
        Options {
            mode,
            name: name.to_string(),
            seed: 1,
            batches: 3,
            view_every: 1,
            max_records: None,
        }
    }
}

/// A record that failed, with why.
#[derive(Debug, Clone)]
pub struct Failure {
    pub line: usize,
    pub sql: String,
    pub reason: String,
}

/// The result of running one file in one mode.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    pub name: String,
    pub mode: &'static str,
    pub passed: usize,
    /// Queries that were also checked as materialized views (view mode).
    pub views_checked: usize,
    pub failures: Vec<Failure>,
    /// Skipped records, by reason.
    pub skipped: BTreeMap<String, usize>,
}

impl FileReport {
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
    fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }
    fn fail(&mut self, record: &Record, sql: &str, reason: String) {
        self.failures.push(Failure {
            line: record.line,
            sql: sql.to_string(),
            reason,
        });
    }
}

/// Runs one corpus file on `client`, which must be connected to an empty database.
pub async fn run_file(
    client: &Client,
    text: &str,
    options: &Options,
    baseline: &Baseline,
) -> Result<FileReport, String> {
    let records = parse(text)?;
    let mut report = FileReport {
        name: options.name.clone(),
        mode: options.mode.name(),
        ..FileReport::default()
    };
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut queries_seen = 0usize;
    for (index, record) in records.iter().enumerate() {
        if options.max_records.is_some_and(|m| index >= m) {
            break;
        }
        if let Some(reason) = record.engine_skip() {
            if matches!(record.kind, RecordKind::Halt | RecordKind::HashThreshold(_)) {
                continue;
            }
            report.skip(reason);
            continue;
        }
        let key = format!("{}:{}", options.name, record.line);
        if let Some(reason) = baseline.records.get(&key) {
            report.skip(reason.clone());
            continue;
        }
        match &record.kind {
            RecordKind::Halt => break,
            RecordKind::HashThreshold(_) => {}
            RecordKind::Statement { expect_error, sql } => {
                let outcome = execute(client, sql).await;
                match (expect_error, &outcome) {
                    (false, Outcome::Error { .. }) => report.fail(
                        record,
                        sql,
                        format!(
                            "statement failed: {}",
                            outcome.describe_error().unwrap_or_default()
                        ),
                    ),
                    (true, Outcome::Rows { .. } | Outcome::Done) => {
                        report.fail(record, sql, "statement succeeded, expected an error".into())
                    }
                    _ => report.passed += 1,
                }
            }
            RecordKind::Query {
                types,
                sort,
                sql,
                expected,
            } => {
                queries_seen += 1;
                let outcome = execute(client, sql).await;
                let rows = match outcome {
                    Outcome::Rows { columns, rows } => {
                        if columns != types.len() {
                            report.fail(
                                record,
                                sql,
                                format!("{columns} columns, expected {}", types.len()),
                            );
                            continue;
                        }
                        rows
                    }
                    other => {
                        report.fail(
                            record,
                            sql,
                            format!(
                                "query failed: {}",
                                other.describe_error().unwrap_or_else(|| "no rows".into())
                            ),
                        );
                        continue;
                    }
                };
                let got = normalize(rows, types, *sort);
                if !matches(&got, expected) {
                    report.fail(
                        record,
                        sql,
                        format!("wrong result: got {}", render(&got, expected)),
                    );
                    continue;
                }
                if options.mode == Mode::View
                    && (queries_seen - 1).is_multiple_of(options.view_every.max(1))
                {
                    report.views_checked += 1;
                    if let Err(reason) =
                        check_as_view(client, sql, types, options.batches, &mut rng).await
                    {
                        report.fail(record, sql, format!("view mode: {reason}"));
                        continue;
                    }
                }
                report.passed += 1;
            }
        }
    }
    Ok(report)
}

fn render(got: &[Vec<String>], expected: &Expected) -> String {
    let values: Vec<&str> = got.iter().flatten().map(|s| s.as_str()).collect();
    let mut s = if values.len() > 12 {
        format!(
            "{} values hashing to {} (first: {})",
            values.len(),
            hash_values(got),
            values[..12].join(" ")
        )
    } else {
        values.join(" ")
    };
    match expected {
        Expected::Hash { count, md5 } => {
            let _ = write!(s, "; expected {count} values hashing to {md5}");
        }
        Expected::Values(v) => {
            let _ = write!(s, "; expected {}", v.join(" "));
        }
    }
    s
}

/// A table's columns: names and `information_schema` data types.
#[derive(Debug, Clone)]
struct TableInfo {
    name: String,
    columns: Vec<(String, String)>,
}

/// The base tables a query may read: those named in it, and every base table if it names a view.
async fn tables_read(client: &Client, sql: &str) -> Result<Vec<TableInfo>, String> {
    let words: BTreeSet<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let tables = match execute(
        client,
        "SELECT table_name, table_type FROM information_schema.tables \
         WHERE table_schema = 'public'",
    )
    .await
    {
        Outcome::Rows { rows, .. } => rows,
        other => return Err(format!("listing tables: {other:?}")),
    };
    let mut base = Vec::new();
    let mut names_view = false;
    for row in &tables {
        let (Some(name), Some(kind)) = (&row[0], &row[1]) else {
            continue;
        };
        if kind == "BASE TABLE" {
            base.push(name.clone());
        } else if words.contains(&name.to_ascii_lowercase()) {
            names_view = true;
        }
    }
    base.sort();
    let mut out = Vec::new();
    for name in base {
        if !names_view && !words.contains(&name.to_ascii_lowercase()) {
            continue;
        }
        let columns = match execute(
            client,
            &format!(
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{name}' ORDER BY ordinal_position"
            ),
        )
        .await
        {
            Outcome::Rows { rows, .. } => rows
                .into_iter()
                .map(|r| {
                    (
                        r[0].clone().unwrap_or_default(),
                        r[1].clone().unwrap_or_default(),
                    )
                })
                .collect(),
            other => return Err(format!("columns of {name}: {other:?}")),
        };
        out.push(TableInfo { name, columns });
    }
    Ok(out)
}

fn is_numeric_type(data_type: &str) -> bool {
    let t = data_type.to_ascii_lowercase();
    ["int", "numeric", "decimal", "real", "double", "float"]
        .iter()
        .any(|k| t.contains(k))
}

fn is_integer_type(data_type: &str) -> bool {
    data_type.to_ascii_lowercase().contains("int")
}

/// A SQL literal for a value of a column of `data_type`, from its text form.
fn literal(value: &Option<String>, data_type: &str) -> String {
    match value {
        None => "NULL".into(),
        Some(v) => {
            if is_numeric_type(data_type) && v.parse::<f64>().is_ok_and(|f| f.is_finite()) {
                v.clone()
            } else {
                format!("'{}'", v.replace('\'', "''"))
            }
        }
    }
}

/// A predicate selecting rows whose `column` equals `value`.
fn equals(column: &str, value: &Option<String>, data_type: &str) -> String {
    match value {
        None => format!("{column} IS NULL"),
        Some(_) => format!("{column} = {}", literal(value, data_type)),
    }
}

/// A random value for a column: often one already in it (so joins and filters keep matching),
/// sometimes NULL, sometimes new.
fn random_value(
    rng: &mut StdRng,
    existing: &[Vec<Option<String>>],
    column: usize,
    data_type: &str,
    fresh: &mut i64,
) -> Option<String> {
    let roll: f64 = rng.r#gen();
    if roll < 0.2 {
        return None;
    }
    if roll < 0.6 && !existing.is_empty() {
        let row = &existing[rng.gen_range(0..existing.len())];
        if row[column].is_some() {
            return row[column].clone();
        }
    }
    if is_integer_type(data_type) {
        *fresh += 1;
        Some(if rng.gen_bool(0.5) {
            rng.gen_range(-20..1000i64).to_string()
        } else {
            (*fresh + 5000).to_string()
        })
    } else if is_numeric_type(data_type) {
        Some(format!("{:.2}", rng.gen_range(-100.0..1000.0f64)))
    } else {
        let words = ["", "a", "abc", "x y", "zz", "Q", "hello"];
        Some(words[rng.gen_range(0..words.len())].to_string())
    }
}

async fn snapshot(client: &Client, table: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    match execute(client, &format!("SELECT * FROM {table}")).await {
        Outcome::Rows { rows, .. } => Ok(rows),
        other => Err(format!("reading {table}: {other:?}")),
    }
}

/// Random INSERT / UPDATE / DELETE statements for one table.
fn random_changes(
    rng: &mut StdRng,
    table: &TableInfo,
    rows: &[Vec<Option<String>>],
    fresh: &mut i64,
) -> Vec<String> {
    let mut out = Vec::new();
    let columns = &table.columns;
    for _ in 0..rng.gen_range(1..=3) {
        let kind = rng.gen_range(0..10);
        if kind < 4 || rows.is_empty() {
            let values: Vec<String> = (0..columns.len())
                .map(|c| {
                    let v = random_value(rng, rows, c, &columns[c].1, fresh);
                    // A column named like a key gets a fresh value, so the row can go in.
                    let v = if c == 0 && columns[c].0 == "pk" {
                        *fresh += 1;
                        Some((*fresh + 100_000).to_string())
                    } else {
                        v
                    };
                    literal(&v, &columns[c].1)
                })
                .collect();
            out.push(format!(
                "INSERT INTO {} VALUES ({})",
                table.name,
                values.join(", ")
            ));
        } else {
            let row = &rows[rng.gen_range(0..rows.len())];
            let key = rng.gen_range(0..columns.len());
            let predicate = equals(&columns[key].0, &row[key], &columns[key].1);
            if kind < 8 {
                let mut target = rng.gen_range(0..columns.len());
                if columns[target].0 == "pk" && columns.len() > 1 {
                    target = 1 + rng.gen_range(0..columns.len() - 1);
                }
                let value = random_value(rng, rows, target, &columns[target].1, fresh);
                out.push(format!(
                    "UPDATE {} SET {} = {} WHERE {predicate}",
                    table.name,
                    columns[target].0,
                    literal(&value, &columns[target].1)
                ));
            } else {
                out.push(format!("DELETE FROM {} WHERE {predicate}", table.name));
            }
        }
    }
    out
}

/// Rows of a result, formatted for comparison and sorted (a view has no order).
fn comparable(outcome: Outcome, types: &[char]) -> Result<Vec<Vec<String>>, String> {
    match outcome {
        Outcome::Rows { rows, .. } => Ok(normalize(rows, types, SortMode::RowSort)),
        Outcome::Done => Ok(Vec::new()),
        Outcome::Error { sqlstate, .. } => Err(sqlstate),
    }
}

/// Checks the view against the query computed from scratch.
async fn compare_view(
    client: &Client,
    view: &str,
    sql: &str,
    types: &[char],
) -> Result<(), String> {
    let maintained = execute(client, &format!("SELECT * FROM {view}")).await;
    let adhoc = execute(client, sql).await;
    let (m_err, a_err) = (maintained.describe_error(), adhoc.describe_error());
    let m = comparable(maintained, types);
    let a = comparable(adhoc, types);
    if m == a {
        return Ok(());
    }
    let show = |r: &Result<Vec<Vec<String>>, String>, err: Option<String>| match r {
        Ok(rows) => {
            let values: Vec<String> = rows.iter().map(|r| r.join(" ")).collect();
            let n = values.len();
            format!(
                "{n} rows [{}]",
                values.into_iter().take(10).collect::<Vec<_>>().join(", ")
            )
        }
        Err(_) => err.unwrap_or_default(),
    };
    Err(format!(
        "view holds {}, query returns {}",
        show(&m, m_err),
        show(&a, a_err)
    ))
}

/// The view-mode check of one query: create the view, change its inputs batch by batch and
/// compare after each, restore the inputs, compare, drop the view.
async fn check_as_view(
    client: &Client,
    sql: &str,
    types: &[char],
    batches: usize,
    rng: &mut StdRng,
) -> Result<(), String> {
    const VIEW: &str = "corpus_view";
    let columns: Vec<String> = (1..=types.len()).map(|i| format!("c{i}")).collect();
    let create = format!(
        "CREATE MATERIALIZED VIEW {VIEW} ({}) AS {sql}",
        columns.join(", ")
    );
    if let Some(e) = execute(client, &create).await.describe_error() {
        return Err(format!("CREATE MATERIALIZED VIEW failed: {e}"));
    }
    let result = change_and_compare(client, VIEW, sql, types, batches, rng).await;
    let dropped = execute(client, &format!("DROP MATERIALIZED VIEW {VIEW}")).await;
    result?;
    if let Some(e) = dropped.describe_error() {
        return Err(format!("DROP MATERIALIZED VIEW failed: {e}"));
    }
    Ok(())
}

async fn change_and_compare(
    client: &Client,
    view: &str,
    sql: &str,
    types: &[char],
    batches: usize,
    rng: &mut StdRng,
) -> Result<(), String> {
    compare_view(client, view, sql, types)
        .await
        .map_err(|e| format!("after creation: {e}"))?;
    let tables = tables_read(client, sql).await?;
    if tables.is_empty() {
        return Ok(());
    }
    let mut saved = Vec::new();
    for t in &tables {
        saved.push(snapshot(client, &t.name).await?);
    }
    let mut fresh = 0i64;
    let mut outcome = Ok(());
    'batches: for batch in 0..batches {
        let mut applied = Vec::new();
        for (t, original) in tables.iter().zip(&saved) {
            let current = if batch == 0 {
                original.clone()
            } else {
                snapshot(client, &t.name).await?
            };
            for change in random_changes(rng, t, &current, &mut fresh) {
                // A change the table refuses (a key collision, say) is simply not applied.
                let _ = execute(client, &change).await;
                applied.push(change);
            }
        }
        if std::env::var_os("EVERT_CORPUS_TRACE").is_some() {
            eprintln!(
                "view of {sql}\n  batch {}: {}",
                batch + 1,
                applied.join("; ")
            );
        }
        if let Err(e) = compare_view(client, view, sql, types).await {
            outcome = Err(format!(
                "after batch {} ({}): {e}",
                batch + 1,
                applied.join("; ")
            ));
            break 'batches;
        }
    }
    // Restore the tables, so the rest of the file sees the data it expects.
    for (t, original) in tables.iter().zip(&saved) {
        restore(client, t, original).await?;
    }
    outcome?;
    compare_view(client, view, sql, types)
        .await
        .map_err(|e| format!("after restoring the tables: {e}"))
}

async fn restore(
    client: &Client,
    table: &TableInfo,
    rows: &[Vec<Option<String>>],
) -> Result<(), String> {
    let mut sql = format!("DELETE FROM {}", table.name);
    if let Some(e) = execute(client, &sql).await.describe_error() {
        return Err(format!("restoring {}: {e}", table.name));
    }
    for chunk in rows.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|row| {
                let v: Vec<String> = row
                    .iter()
                    .zip(&table.columns)
                    .map(|(v, (_, ty))| literal(v, ty))
                    .collect();
                format!("({})", v.join(", "))
            })
            .collect();
        sql = format!("INSERT INTO {} VALUES {}", table.name, values.join(", "));
        if let Some(e) = execute(client, &sql).await.describe_error() {
            return Err(format!("restoring {}: {e}", table.name));
        }
    }
    let mut now = snapshot(client, &table.name).await?;
    let mut before = rows.to_vec();
    now.sort();
    before.sort();
    if now != before {
        return Err(format!(
            "restoring {} did not give back its rows",
            table.name
        ));
    }
    Ok(())
}

/// Sums of reports for the summary table.
pub fn summary_line(report: &FileReport) -> String {
    format!(
        "| {} | {} | {} | {} | {} |",
        report.name,
        report.mode,
        report.passed,
        report.failed(),
        report.skipped_total()
    )
}
