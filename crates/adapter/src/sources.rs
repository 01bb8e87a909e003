//! Sources: collections fed by load generators, written like any table.
//!
//! `CREATE SOURCE auction_house FROM LOAD GENERATOR AUCTION FOR ALL TABLES` makes several
//! catalog items, all of kind [`ItemKind::Source`], each with its own log collection and
//! dataflow input:
//!
//! ```text
//!   auction_house            the source (SourceDetails::Generator: what to generate)
//!   auction_house_progress   one row: the next offset to generate  (SourceDetails::Progress)
//!   organizations, users,    one subsource per output of a multi-output generator
//!   accounts, auctions, bids (SourceDetails::Subsource); a single-output generator
//!                            (COUNTER) writes into the source's own collection instead
//! ```
//!
//! A tokio task per source ([`run_generator`]) produces a batch of offsets, then commits
//! the rows *and* the new offset in the progress relation as one write through the
//! [`Committer`](crate::committer::Committer): the same group commit, fsync, timestamp
//! and `ComputeCommand::Append` an `INSERT` goes through, so every view over a source is
//! consistent with every table at every timestamp. Because the offset is committed
//! atomically with the rows it covers, a restart resumes from the offset in the log,
//! neither repeating nor skipping anything ([`resume_all`]).
//!
//! Backpressure: a batch is committed only after the previous one is durable, and only
//! once every arrangement fed by the source has caught up with the batch before that, so
//! at most two batches are ever waiting in the dataflows and memory stays bounded even
//! when the generator is unthrottled (`TICK INTERVAL '0'`).
//!
//! A generator task takes the write lock shared for each commit, as an INSERT does; DDL
//! takes it exclusively, so `DROP SOURCE` never races a commit into a dropped collection.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evert_connectors::generator::{empty_updates, GeneratorKind, GeneratorOptions};
use evert_repr::{Datum, GlobalId, RelationDesc, Row, Timestamp};
use evert_sql::parse::CreateSourceStatement;
use evert_sql::PlanError;
use evert_storage::RecoveredCollection;
use sqlparser::ast;
use tracing::{debug, info, warn};

use crate::catalog::{Catalog, CatalogItem, DurableItem, ItemDetails, ItemKind};
use crate::coord::Adapter;
use crate::ddl::quote_ident;
use crate::error::AdapterError;
use crate::response::ExecuteResponse;

/// How many offsets an unthrottled generator commits at a time, unless `BATCH SIZE` says.
pub const UNTHROTTLED_BATCH_SIZE: u64 = 10_000;

/// The largest TPC-H scale factor accepted (the data set is generated in memory and
/// committed at once; SF 1 is about 8.7 million rows).
pub const MAX_SCALE_FACTOR: f64 = 10.0;

/// What a source generates and how fast: the planned form of `CREATE SOURCE`'s options.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    pub kind: GeneratorKind,
    pub options: GeneratorOptions,
    /// Time between batches; `None` produces batches as fast as the dataflows take them.
    pub tick: Option<Duration>,
    /// Offsets per batch (per tick).
    pub batch_size: u64,
    /// The first offset (`AS OF`).
    pub as_of: u64,
    /// The offset at which to stop (`UP TO`), exclusive.
    pub up_to: Option<u64>,
}

impl SourceSpec {
    /// Where the generator stops: `UP TO`, or its own end (TPCH after its snapshot).
    fn end(&self) -> Option<u64> {
        let own = evert_connectors::build(self.kind, &self.options, 0).end();
        match (self.up_to, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What a source item is.
#[derive(Clone, Debug)]
pub enum SourceDetails {
    /// The source itself.
    Generator(Arc<SourceSpec>),
    /// One output of a multi-output generator.
    Subsource { parent: GlobalId, output: usize },
    /// The source's progress: one row holding the next offset to generate.
    Progress { parent: GlobalId },
}

/// The running generator tasks, by source.
#[derive(Default)]
pub struct SourceTasks {
    tasks: Mutex<BTreeMap<GlobalId, RunningSource>>,
}

struct RunningSource {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<()>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> AdapterError {
    AdapterError::Invalid {
        code,
        message: message.into(),
    }
}

/// An option's value as text: a number, a string, or a bare word.
fn option_text(name: &str, value: &ast::Expr) -> Result<String, AdapterError> {
    match value {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Ok(n.clone()),
            ast::Value::SingleQuotedString(s) => Ok(s.clone()),
            other => Err(invalid(
                "22023",
                format!("invalid value for LOAD GENERATOR option {name}: {other}"),
            )),
        },
        ast::Expr::Identifier(i) => Ok(i.value.clone()),
        ast::Expr::Interval(i) => Ok(i.to_string()),
        other => Err(invalid(
            "22023",
            format!("invalid value for LOAD GENERATOR option {name}: {other}"),
        )),
    }
}

fn option_count(name: &str, value: &ast::Expr) -> Result<u64, AdapterError> {
    let text = option_text(name, value)?;
    text.trim().parse::<u64>().map_err(|_| {
        invalid(
            "22023",
            format!("LOAD GENERATOR option {name} must be a non-negative integer, not {text:?}"),
        )
    })
}

/// Plans `CREATE SOURCE ... FROM LOAD GENERATOR`: the generator and its options, checked.
pub fn plan_source(stmt: &CreateSourceStatement) -> Result<SourceSpec, AdapterError> {
    let kind = match GeneratorKind::from_name(&stmt.generator) {
        Some(kind) => kind,
        None => {
            let upper = stmt.generator.to_ascii_uppercase();
            // Materialize's other generators are known, but not built here.
            if ["marketing", "datums", "clock", "key", "keyvalue"]
                .contains(&stmt.generator.as_str())
            {
                return Err(AdapterError::unsupported(format!("LOAD GENERATOR {upper}")));
            }
            return Err(invalid(
                "42601",
                format!(
                    "unknown load generator {upper} (expected COUNTER, AUCTION, NEXMARK or TPCH)"
                ),
            ));
        }
    };
    let mut spec = SourceSpec {
        kind,
        options: GeneratorOptions::default(),
        tick: Some(Duration::from_secs(1)),
        batch_size: 0,
        as_of: 0,
        up_to: None,
    };
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &stmt.options {
        let upper = name.to_ascii_uppercase();
        if seen.contains(&name.as_str()) {
            return Err(invalid(
                "42601",
                format!("LOAD GENERATOR option {upper} specified more than once"),
            ));
        }
        seen.push(name);
        let only_for = |wanted: GeneratorKind| -> Result<(), AdapterError> {
            if kind == wanted {
                Ok(())
            } else {
                Err(invalid(
                    "22023",
                    format!(
                        "LOAD GENERATOR option {upper} is only valid for {}",
                        wanted.name()
                    ),
                ))
            }
        };
        match name.as_str() {
            "tick interval" => {
                let text = option_text(&upper, value)?;
                let ms = crate::ddl::parse_duration_ms(&text)
                    .ok_or_else(|| invalid("22023", format!("invalid TICK INTERVAL {text:?}")))?;
                spec.tick = (ms > 0).then(|| Duration::from_millis(ms));
                spec.options.tick_interval_ms = ms;
            }
            "up to" => spec.up_to = Some(option_count(&upper, value)?),
            "as of" => spec.as_of = option_count(&upper, value)?,
            "batch size" => {
                spec.batch_size = option_count(&upper, value)?;
                if spec.batch_size == 0 {
                    return Err(invalid("22023", "BATCH SIZE must be at least 1"));
                }
            }
            "max cardinality" => {
                only_for(GeneratorKind::Counter)?;
                spec.options.max_cardinality = Some(option_count(&upper, value)?);
            }
            "scale factor" => {
                only_for(GeneratorKind::Tpch)?;
                let text = option_text(&upper, value)?;
                let sf: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| invalid("22023", format!("invalid SCALE FACTOR {text:?}")))?;
                if !(sf > 0.0 && sf <= MAX_SCALE_FACTOR) {
                    return Err(invalid(
                        "22023",
                        format!(
                            "SCALE FACTOR must be greater than 0 and at most {MAX_SCALE_FACTOR}"
                        ),
                    ));
                }
                spec.options.scale_factor = sf;
            }
            "keys"
            | "snapshot rounds"
            | "transactional snapshot"
            | "value size"
            | "seed"
            | "partitions" => {
                return Err(AdapterError::unsupported(format!(
                    "LOAD GENERATOR option {upper}"
                )))
            }
            _ => {
                return Err(invalid(
                    "42601",
                    format!("unknown LOAD GENERATOR option {upper}"),
                ))
            }
        }
    }
    if spec.batch_size == 0 {
        spec.batch_size = if spec.tick.is_some() {
            kind.default_batch_size()
        } else {
            UNTHROTTLED_BATCH_SIZE
        };
    }
    if let Some(up_to) = spec.up_to {
        if up_to < spec.as_of {
            return Err(invalid("22023", "UP TO cannot be less than AS OF"));
        }
    }
    if kind.is_multi_output() && !stmt.for_all_tables {
        return Err(invalid(
            "42601",
            format!(
                "LOAD GENERATOR {} produces several relations: add FOR ALL TABLES",
                kind.name()
            ),
        ));
    }
    if !kind.is_multi_output() && stmt.for_all_tables {
        return Err(invalid(
            "42601",
            format!(
                "FOR ALL TABLES is only valid for multi-output load generators, not {}",
                kind.name()
            ),
        ));
    }
    Ok(spec)
}

/// The relation a source item holds.
fn generator_desc(spec: &SourceSpec) -> RelationDesc {
    if spec.kind.is_multi_output() {
        // The data lives in the subsources; the source itself has no columns and no rows.
        RelationDesc::empty()
    } else {
        spec.kind
            .outputs()
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .unwrap_or_else(RelationDesc::empty)
    }
}

fn progress_desc() -> RelationDesc {
    RelationDesc::empty().with_column("offset", evert_repr::ScalarType::Int64.nullable(false))
}

/// The durable text of a subsource: what it is part of, and which output it holds.
fn subsource_sql(name: &str, parent: GlobalId, what: &str) -> String {
    format!(
        "CREATE SUBSOURCE {} OF SOURCE {parent} ({what})",
        quote_ident(name)
    )
}

/// Reads [`subsource_sql`] back: (parent, what).
fn parse_subsource_sql(sql: &str) -> Option<(GlobalId, String)> {
    // ALTER ... SET (RETAIN HISTORY ...) appends its option to the text.
    let (sql, _) = evert_sql::parse::strip_retain_history(sql);
    let sql = sql.trim_end();
    let at = sql.rfind(" OF SOURCE ")?;
    let rest = &sql[at + " OF SOURCE ".len()..];
    let (id, what) = rest.split_once(' ')?;
    let what = what.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some((id.parse().ok()?, what.to_string()))
}

/// Rebuilds a source item (the source, a subsource or its progress) from its durable record.
pub(crate) fn build_source_item(
    durable: &DurableItem,
    since: Timestamp,
) -> Result<CatalogItem, AdapterError> {
    let item = |desc, details, uses| CatalogItem {
        durable: durable.clone(),
        desc,
        details: ItemDetails::Source(details),
        uses,
        since,
    };
    if durable.create_sql.starts_with("CREATE SUBSOURCE ") {
        let (parent, what) = parse_subsource_sql(&durable.create_sql).ok_or_else(|| {
            AdapterError::internal(format!("unreadable subsource {}", durable.id))
        })?;
        if what == "PROGRESS" {
            return Ok(item(
                progress_desc(),
                SourceDetails::Progress { parent },
                vec![parent],
            ));
        }
        // "<GENERATOR> OUTPUT <name>"
        let mut words = what.split_whitespace();
        let (Some(generator), Some("OUTPUT"), Some(output)) =
            (words.next(), words.next(), words.next())
        else {
            return Err(AdapterError::internal(format!(
                "unreadable subsource {}",
                durable.id
            )));
        };
        let kind = GeneratorKind::from_name(generator).ok_or_else(|| {
            AdapterError::internal(format!("unknown generator of subsource {}", durable.id))
        })?;
        let outputs = kind.outputs();
        let index = outputs
            .iter()
            .position(|(n, _)| *n == output)
            .ok_or_else(|| {
                AdapterError::internal(format!("unknown output of subsource {}", durable.id))
            })?;
        let desc = outputs[index].1.clone();
        return Ok(item(
            desc,
            SourceDetails::Subsource {
                parent,
                output: index,
            },
            vec![parent],
        ));
    }
    let statements = evert_sql::parse::parse(&durable.create_sql)?;
    let Some(evert_sql::parse::Statement::CreateSource(stmt)) =
        statements.into_iter().next().map(|s| s.stmt)
    else {
        return Err(AdapterError::internal(format!(
            "source {} is not defined by CREATE SOURCE",
            durable.id
        )));
    };
    let spec = plan_source(&stmt)?;
    Ok(item(
        generator_desc(&spec),
        SourceDetails::Generator(Arc::new(spec)),
        vec![],
    ))
}

/// The source a subsource or progress relation belongs to.
pub(crate) fn parent_of(item: &CatalogItem) -> Option<GlobalId> {
    match &item.details {
        ItemDetails::Source(SourceDetails::Subsource { parent, .. })
        | ItemDetails::Source(SourceDetails::Progress { parent }) => Some(*parent),
        _ => None,
    }
}

/// The cluster `SHOW SOURCES` names for a source: evert runs every source in its one
/// process, which `SHOW cluster` calls `default`.
pub const CLUSTER: &str = "default";

/// The type `SHOW SOURCES` reports, as Materialize does.
fn source_type(item: &CatalogItem) -> &'static str {
    match &item.details {
        ItemDetails::Source(SourceDetails::Subsource { .. }) => "subsource",
        ItemDetails::Source(SourceDetails::Progress { .. }) => "progress",
        _ => "load-generator",
    }
}

fn text_row(values: &[Option<&str>]) -> Row {
    Row::pack(values.iter().map(|v| match v {
        Some(s) => Datum::String(s),
        None => Datum::Null,
    }))
}

fn text_desc(columns: &[&str]) -> RelationDesc {
    let mut desc = RelationDesc::empty();
    for c in columns {
        desc = desc.with_column(*c, evert_repr::ScalarType::String.nullable(true));
    }
    desc
}

/// `SHOW SOURCES`: every source, subsource and progress relation with its type and the
/// cluster that maintains it, Materialize's columns `name, type, cluster`. As there,
/// subsources and progress relations have no cluster of their own (NULL): the source's
/// generator writes them.
pub(crate) fn show_sources(catalog: &Catalog) -> ExecuteResponse {
    let mut rows: Vec<(&str, &str)> = catalog
        .items()
        .filter(|i| i.kind() == ItemKind::Source)
        .map(|i| (i.name(), source_type(i)))
        .collect();
    rows.sort();
    ExecuteResponse::Rows {
        desc: text_desc(&["name", "type", "cluster"]),
        rows: rows
            .into_iter()
            .map(|(name, kind)| {
                let cluster = (kind == "load-generator").then_some(CLUSTER);
                text_row(&[Some(name), Some(kind), cluster])
            })
            .collect(),
        tag: None,
    }
}

/// `SHOW SUBSOURCES [ON source]`: the subsources and progress relations of one source, or
/// of every source, with their type (`subsource` or `progress`), ordered by name.
pub(crate) fn show_subsources(
    catalog: &Catalog,
    on: Option<&CatalogItem>,
) -> Result<ExecuteResponse, AdapterError> {
    if let Some(on) = on {
        if on.kind() != ItemKind::Source {
            return Err(invalid(
                "42809",
                format!(
                    "cannot show subsources on {} because it is a {}",
                    on.name(),
                    on.kind().name()
                ),
            ));
        }
    }
    let mut rows: Vec<(&str, &str)> = catalog
        .items()
        .filter(|i| match on {
            Some(on) => parent_of(i) == Some(on.id()),
            None => parent_of(i).is_some(),
        })
        .map(|i| (i.name(), source_type(i)))
        .collect();
    rows.sort();
    Ok(ExecuteResponse::Rows {
        desc: text_desc(&["name", "type"]),
        rows: rows
            .into_iter()
            .map(|(name, kind)| text_row(&[Some(name), Some(kind)]))
            .collect(),
        tag: None,
    })
}

/// `CREATE SOURCE ... FROM LOAD GENERATOR`.
pub(crate) async fn create_source(
    adapter: &Adapter,
    session: &crate::session::Session,
    stmt: &CreateSourceStatement,
    sql: &str,
) -> Result<ExecuteResponse, AdapterError> {
    let spec = plan_source(stmt)?;
    let parts = evert_sql::parse::normalize_name(&stmt.name)?;
    let (schema, name) = crate::ddl::relation_name(&parts)?;
    let _ = &session.database;
    let _write = adapter.inner.write_lock.clone().write_owned().await;
    let mut catalog = (*adapter.catalog()).clone();
    if let Some(existing) = catalog.name_taken(&schema, &name) {
        if stmt.if_not_exists {
            return Ok(ExecuteResponse::Command {
                tag: "CREATE SOURCE".into(),
                notice: Some(format!("source \"{name}\" already exists, skipping")),
            });
        }
        return Err(PlanError::DuplicateObject(format!(
            "{} \"{name}\" already exists",
            existing.kind().name()
        ))
        .into());
    }
    // The source, then its progress relation, then one subsource per output.
    let mut names = vec![name.clone(), format!("{name}_progress")];
    let outputs = spec.kind.outputs();
    if spec.kind.is_multi_output() {
        names.extend(outputs.iter().map(|(n, _)| n.to_string()));
    }
    for (i, n) in names.iter().enumerate().skip(1) {
        if names[..i].contains(n) {
            return Err(
                PlanError::DuplicateObject(format!("relation \"{n}\" already exists")).into(),
            );
        }
        if let Some(existing) = catalog.name_taken(&schema, n) {
            return Err(PlanError::DuplicateObject(format!(
                "{} \"{n}\" already exists (CREATE SOURCE {name} needs that name for a subsource)",
                existing.kind().name()
            ))
            .into());
        }
    }
    let spec = Arc::new(spec);
    let parent = catalog.allocate_id();
    let mut items = vec![CatalogItem {
        durable: DurableItem {
            id: parent,
            schema: schema.clone(),
            name: name.clone(),
            kind: ItemKind::Source,
            create_sql: sql.to_string(),
        },
        desc: generator_desc(&spec),
        details: ItemDetails::Source(SourceDetails::Generator(Arc::clone(&spec))),
        uses: vec![],
        since: 0,
    }];
    let progress_id = catalog.allocate_id();
    items.push(CatalogItem {
        durable: DurableItem {
            id: progress_id,
            schema: schema.clone(),
            name: names[1].clone(),
            kind: ItemKind::Source,
            create_sql: subsource_sql(&names[1], parent, "PROGRESS"),
        },
        desc: progress_desc(),
        details: ItemDetails::Source(SourceDetails::Progress { parent }),
        uses: vec![parent],
        since: 0,
    });
    if spec.kind.is_multi_output() {
        for (index, (output, desc)) in outputs.iter().enumerate() {
            let id = catalog.allocate_id();
            items.push(CatalogItem {
                durable: DurableItem {
                    id,
                    schema: schema.clone(),
                    name: output.to_string(),
                    kind: ItemKind::Source,
                    create_sql: subsource_sql(
                        output,
                        parent,
                        &format!("{} OUTPUT {output}", spec.kind.name()),
                    ),
                },
                desc: desc.clone(),
                details: ItemDetails::Source(SourceDetails::Subsource {
                    parent,
                    output: index,
                }),
                uses: vec![parent],
                since: 0,
            });
        }
    }
    {
        let ids: Vec<GlobalId> = items.iter().map(|i| i.id()).collect();
        let storage = Arc::clone(&adapter.inner.storage);
        tokio::task::spawn_blocking(move || -> Result<(), AdapterError> {
            let mut log = storage
                .lock()
                .map_err(|_| AdapterError::internal("storage lock poisoned"))?;
            for id in ids {
                log.create_collection(id)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| AdapterError::internal(e.to_string()))??;
    }
    let durable: Vec<&DurableItem> = items.iter().map(|i| &i.durable).collect();
    let ts = adapter.commit_catalog(&durable, &[]).await?;
    for mut item in items {
        adapter.install_input(item.id());
        item.since = ts;
        catalog.insert(item);
    }
    adapter.set_catalog(catalog);
    start_generator(adapter, parent, None);
    Ok(ExecuteResponse::command("CREATE SOURCE"))
}

/// The offset a progress relation's recovered log records, if any.
fn recorded_offset(collection: &RecoveredCollection) -> Option<u64> {
    let mut counts: BTreeMap<Row, i64> = BTreeMap::new();
    for (row, _, diff) in &collection.updates {
        *counts.entry(row.clone()).or_insert(0) += diff;
    }
    counts
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .find_map(|(row, _)| match row.unpack_first() {
            Datum::Int64(n) => Some(n as u64),
            _ => None,
        })
}

/// Restarts every source's generator after recovery, each at the offset its progress
/// relation recorded.
pub(crate) fn resume_all(adapter: &Adapter, recovered: &BTreeMap<GlobalId, RecoveredCollection>) {
    let catalog = adapter.catalog();
    for item in catalog.items() {
        if let ItemDetails::Source(SourceDetails::Progress { parent }) = &item.details {
            let offset = recovered.get(&item.id()).and_then(recorded_offset);
            info!(source = %parent, ?offset, "resuming load generator");
            start_generator(adapter, *parent, offset);
        }
    }
}

/// Starts the generator task of source `id`, resuming after `recorded` (the offset in its
/// progress relation) if it has one.
fn start_generator(adapter: &Adapter, id: GlobalId, recorded: Option<u64>) {
    let catalog = adapter.catalog();
    let Some(ItemDetails::Source(SourceDetails::Generator(spec))) =
        catalog.get(id).map(|i| &i.details)
    else {
        return;
    };
    let mut outputs = vec![None; spec.kind.outputs().len()];
    let mut progress = None;
    for item in catalog.items() {
        match &item.details {
            ItemDetails::Source(SourceDetails::Subsource { parent, output }) if *parent == id => {
                outputs[*output] = Some(item.id());
            }
            ItemDetails::Source(SourceDetails::Progress { parent }) if *parent == id => {
                progress = Some(item.id());
            }
            _ => {}
        }
    }
    if !spec.kind.is_multi_output() {
        outputs = vec![Some(id)];
    }
    let (Some(progress), Some(outputs)) =
        (progress, outputs.into_iter().collect::<Option<Vec<_>>>())
    else {
        warn!(source = %id, "source is missing subsources; not started");
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let task = Generator {
        adapter: adapter.clone(),
        source: id,
        spec: Arc::clone(spec),
        outputs,
        progress,
        stop: Arc::clone(&stop),
    };
    let handle = tokio::spawn(run_generator(task, recorded));
    let previous = adapter
        .inner
        .sources
        .tasks
        .lock()
        .expect("source tasks lock")
        .insert(id, RunningSource { stop, handle });
    if let Some(previous) = previous {
        previous.stop.store(true, Ordering::SeqCst);
        previous.handle.abort();
    }
}

/// Stops a source's generator task, if it has one. Called with the write lock held
/// exclusively (by DROP), so no commit of the task is in flight.
pub(crate) fn stop_source(adapter: &Adapter, id: GlobalId) {
    let running = adapter
        .inner
        .sources
        .tasks
        .lock()
        .expect("source tasks lock")
        .remove(&id);
    if let Some(running) = running {
        running.stop.store(true, Ordering::SeqCst);
        running.handle.abort();
    }
}

/// Stops every generator (at shutdown).
pub(crate) fn stop_all(adapter: &Adapter) {
    let running: Vec<RunningSource> = std::mem::take(
        &mut *adapter
            .inner
            .sources
            .tasks
            .lock()
            .expect("source tasks lock"),
    )
    .into_values()
    .collect();
    for r in running {
        r.stop.store(true, Ordering::SeqCst);
        r.handle.abort();
    }
}

struct Generator {
    adapter: Adapter,
    source: GlobalId,
    spec: Arc<SourceSpec>,
    /// The collection each output is written to.
    outputs: Vec<GlobalId>,
    progress: GlobalId,
    stop: Arc<AtomicBool>,
}

fn progress_row(offset: u64) -> Row {
    Row::of(Datum::Int64(offset as i64))
}

/// The generator loop: produce a batch, commit it with the new offset, repeat.
async fn run_generator(task: Generator, recorded: Option<u64>) {
    let spec = Arc::clone(&task.spec);
    let mut recorded = recorded;
    let mut generator =
        evert_connectors::build(spec.kind, &spec.options, recorded.unwrap_or(spec.as_of));
    let end = spec.end();
    let mut interval = spec.tick.map(|tick| {
        let mut i = tokio::time::interval(tick);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    // The timestamps of the last two commits, oldest first.
    let mut recent: [Option<Timestamp>; 2] = [None, None];
    loop {
        let position = generator.position();
        if end.is_some_and(|e| position >= e) {
            debug!(source = %task.source, position, "load generator finished");
            break;
        }
        if let Some(interval) = &mut interval {
            interval.tick().await;
        }
        if let Some(ts) = recent[0] {
            if !wait_caught_up(&task, ts).await {
                break;
            }
        }
        let count = match end {
            Some(e) => spec.batch_size.min(e - position),
            None => spec.batch_size,
        };
        let mut updates = empty_updates(spec.kind);
        generator.produce(count, evert_repr::now_millis(), &mut updates);
        let next = generator.position();
        let mut batches: crate::committer::Batches = task
            .outputs
            .iter()
            .copied()
            .zip(updates)
            .filter(|(_, u)| !u.is_empty())
            .collect();
        let mut progress = vec![(progress_row(next), 1)];
        if let Some(old) = recorded {
            progress.push((progress_row(old), -1));
        }
        batches.push((task.progress, progress));
        let _shared = task.adapter.inner.write_lock.clone().read_owned().await;
        if task.stop.load(Ordering::SeqCst) {
            break;
        }
        match task.adapter.inner.committer.write(batches).await {
            Ok(ts) => {
                recorded = Some(next);
                recent = [recent[1], Some(ts)];
            }
            Err(e) => {
                warn!(source = %task.source, error = %e, "load generator stopped: commit failed");
                break;
            }
        }
    }
}

/// Waits until every arrangement fed by the source has absorbed the updates at `ts`.
/// Returns false if the source was stopped meanwhile.
async fn wait_caught_up(task: &Generator, ts: Timestamp) -> bool {
    let mut pause = Duration::from_micros(200);
    loop {
        if task.stop.load(Ordering::SeqCst) {
            return false;
        }
        let ids = {
            let catalog = task.adapter.catalog();
            let mut ids: Vec<GlobalId> = Vec::new();
            for output in &task.outputs {
                for id in catalog.dependency_closure(*output) {
                    let arranged = match catalog.get(id).map(|i| &i.details) {
                        Some(ItemDetails::Index { on, .. }) => *on,
                        _ => id,
                    };
                    if !ids.contains(&arranged) {
                        ids.push(arranged);
                    }
                }
            }
            ids
        };
        let frontiers = task.adapter.inner.compute.frontiers(ids).await;
        if frontiers
            .iter()
            .all(|(_, upper)| upper.is_none_or(|u| u > ts))
        {
            return true;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
