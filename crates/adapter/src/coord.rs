//! The adapter: the one place that knows every layer.
//!
//! [`Adapter::start`] opens the durable log, starts the compute workers, and rebuilds the
//! catalog and every dataflow from the log. [`Adapter::execute`] then sequences each
//! statement a session sends: plans it against a snapshot of the catalog, picks a timestamp,
//! and drives storage and compute.
//!
//! Concurrency: the catalog is an immutable snapshot (`Arc<Catalog>`) swapped by DDL, so
//! planning never blocks. Writers take the write lock shared (plain INSERT) or exclusive
//! (statements that read before they write, and DDL), so that a read-modify-write never
//! interleaves with another write.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use evert_compute::{
    ComputeCommand, ComputeController, DataflowDescription, DataflowExport, InputBatch,
};
use evert_expr::{Id, MirRelationExpr};
use evert_repr::{GlobalId, Timestamp};
use evert_sql::parse::{ParsedStatement, Statement};
use evert_storage::{Log, LogConfig};
use tokio::sync::RwLock as AsyncRwLock;
use tracing::{debug, info, warn};

use crate::catalog::{Catalog, CatalogItem, DurableItem, ItemDetails, ItemKind, CATALOG_ID};
use crate::committer::Committer;
use crate::error::AdapterError;
use crate::metrics::Metrics;
use crate::oracle::TimestampOracle;
use crate::response::ExecuteResponse;
use crate::session::{CancelState, Session};

#[derive(Clone, Debug)]
pub struct AdapterConfig {
    pub data_dir: PathBuf,
    pub workers: usize,
    /// How often the clock advances without writes.
    pub tick: Duration,
    /// How much history arrangements keep by default (for AS OF).
    pub retain_history: Duration,
    /// How often the log is checked for collections worth compacting.
    pub log_compaction_interval: Duration,
    /// A collection's log is not compacted below this size.
    pub log_compaction_min_bytes: u64,
}

impl AdapterConfig {
    pub fn new(data_dir: impl Into<PathBuf>, workers: usize) -> AdapterConfig {
        AdapterConfig {
            data_dir: data_dir.into(),
            workers,
            tick: Duration::from_millis(1000),
            retain_history: Duration::from_secs(1),
            log_compaction_interval: Duration::from_secs(5),
            log_compaction_min_bytes: crate::LOG_COMPACTION_MIN_BYTES,
        }
    }
}

/// A handle on the running system; cheap to clone, one per connection.
#[derive(Clone)]
pub struct Adapter {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub catalog: RwLock<Arc<Catalog>>,
    pub compute: Arc<ComputeController>,
    pub storage: Arc<Mutex<Log>>,
    pub oracle: Arc<TimestampOracle>,
    pub committer: Committer,
    /// Plain INSERTs share it; read-then-write statements and DDL hold it exclusively.
    pub write_lock: Arc<AsyncRwLock<()>>,
    pub next_transient: AtomicU64,
    pub next_conn_id: AtomicU32,
    pub sessions: Mutex<BTreeMap<u32, (i32, Arc<CancelState>)>>,
    pub metrics: Arc<Metrics>,
    pub config: AdapterConfig,
    pub secret_seed: AtomicI32,
    /// Collections with dataflow inputs; the committer sends their updates to compute.
    pub input_ids: Arc<RwLock<std::collections::BTreeSet<GlobalId>>>,
    /// Running subscriptions and what they read.
    pub subscriptions: crate::response::Subscriptions,
    /// The load generators' tasks.
    pub sources: crate::sources::SourceTasks,
}

impl Adapter {
    /// Opens the data directory, starts the dataflow workers and rebuilds everything the
    /// log describes.
    pub async fn start(config: AdapterConfig) -> Result<Adapter, AdapterError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            AdapterError::internal(format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let started = std::time::Instant::now();
        let log_config = LogConfig::new(config.data_dir.join("log"));
        let (mut log, recovered) = tokio::task::spawn_blocking(move || Log::open(log_config))
            .await
            .map_err(|e| AdapterError::internal(format!("opening the log failed: {e}")))??;
        for repair in &recovered.repairs {
            warn!(repair = %repair, "log repaired on open");
        }
        if !recovered.collections.contains_key(&CATALOG_ID) {
            log.create_collection(CATALOG_ID)?;
        }
        let compute = ComputeController::start(config.workers).map_err(AdapterError::internal)?;
        let oracle = TimestampOracle::new(recovered.upper);
        let metrics = Arc::new(Metrics::default());
        let storage = Arc::new(Mutex::new(log));

        // The catalog is the consolidation of its collection.
        let mut durable: BTreeMap<evert_repr::Row, i64> = BTreeMap::new();
        if let Some(c) = recovered.collections.get(&CATALOG_ID) {
            for (row, _, diff) in &c.updates {
                *durable.entry(row.clone()).or_insert(0) += diff;
            }
        }
        let mut items: Vec<DurableItem> = Vec::new();
        for (row, count) in durable {
            if count <= 0 {
                continue;
            }
            items.push(DurableItem::from_row(&row).map_err(AdapterError::internal)?);
        }
        items.sort_by_key(|i| i.id);

        let catalog_ids: std::collections::BTreeSet<GlobalId> =
            items.iter().map(|i| i.id).collect();
        let has_input_ids: Arc<RwLock<std::collections::BTreeSet<GlobalId>>> =
            Arc::new(RwLock::new(Default::default()));
        let has_input = {
            let ids = Arc::clone(&has_input_ids);
            Arc::new(move |id: GlobalId| ids.read().map(|s| s.contains(&id)).unwrap_or(false))
                as crate::committer::HasInput
        };
        let (grown_tx, grown_rx) = tokio::sync::mpsc::unbounded_channel();
        let (committer, committer_start) = Committer::start(
            Arc::clone(&storage),
            Arc::clone(&compute),
            Arc::clone(&oracle),
            config.tick,
            has_input,
            Arc::clone(&metrics),
            grown_tx,
        );
        let adapter = Adapter {
            inner: Arc::new(Inner {
                catalog: RwLock::new(Arc::new(Catalog::new())),
                compute,
                storage,
                oracle,
                committer,
                write_lock: Arc::new(AsyncRwLock::new(())),
                next_transient: AtomicU64::new(1),
                next_conn_id: AtomicU32::new(1),
                sessions: Mutex::new(BTreeMap::new()),
                metrics,
                config: config.clone(),
                secret_seed: AtomicI32::new((evert_repr::now_millis() % 1_000_000_007) as i32),
                input_ids: has_input_ids,
                subscriptions: Default::default(),
                sources: Default::default(),
            }),
        };

        // Rebuild: tables (with their data) first, then everything else in id order.
        let mut rows_replayed = 0usize;
        let mut catalog = Catalog::new();
        for item in items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Table | ItemKind::Source))
        {
            let built = adapter.build_item(&catalog, item, 0).await?;
            adapter.install_input(item.id);
            adapter.install_dataflow(&catalog, &built)?;
            let mut built = built;
            if let Some(c) = recovered.collections.get(&item.id) {
                rows_replayed += c.updates.len();
                info!(collection = %item.id, name = %item.name, rows = c.updates.len(), since = c.since, "replaying collection");
                // History before the log's since was consolidated away: it cannot be read.
                built.since = c.since;
                if !c.updates.is_empty() {
                    adapter.inner.compute.send(ComputeCommand::Append {
                        batches: Arc::new(vec![InputBatch {
                            id: item.id,
                            updates: c.updates.clone(),
                        }]),
                        advance_to: 0,
                    });
                }
            }
            catalog.insert(built);
        }
        let upper = adapter.inner.oracle.applied();
        adapter
            .inner
            .compute
            .send(ComputeCommand::AdvanceInputs { to: upper + 1 });
        for item in items
            .iter()
            .filter(|i| !matches!(i.kind, ItemKind::Table | ItemKind::Source))
        {
            let built = adapter.build_item(&catalog, item, upper).await?;
            adapter.install_dataflow(&catalog, &built)?;
            catalog.insert(built);
        }
        adapter.set_catalog(catalog);

        // Collections the log has but the catalog does not (a crash between creating a
        // collection and committing its catalog entry) are removed.
        let orphans: Vec<GlobalId> = recovered
            .collections
            .keys()
            .copied()
            .filter(|id| *id != CATALOG_ID && !catalog_ids.contains(id))
            .collect();
        if !orphans.is_empty() {
            let mut log = adapter
                .inner
                .storage
                .lock()
                .map_err(|_| AdapterError::internal("storage lock poisoned"))?;
            for id in orphans {
                warn!(collection = %id, "dropping a collection with no catalog entry");
                log.drop_collection(id)?;
            }
        }
        let elapsed = started.elapsed();
        adapter
            .inner
            .metrics
            .rows_replayed
            .store(rows_replayed as u64, Ordering::Relaxed);
        info!(
            items = items.len(),
            rows_replayed,
            elapsed_ms = elapsed.as_millis() as u64,
            rows_per_second = (rows_replayed as f64 / elapsed.as_secs_f64().max(1e-9)) as u64,
            "catalog and logs replayed"
        );
        // Generators resume where their progress relations say; their first commits queue
        // until the committer starts.
        crate::sources::resume_all(&adapter, &recovered.collections);
        committer_start.go();
        adapter.spawn_compaction_task();
        adapter.spawn_log_compaction_task(grown_rx);
        Ok(adapter)
    }

    /// Stops the workers. Acknowledged writes are already durable.
    pub async fn shutdown(&self) {
        crate::sources::stop_all(self);
        let _ = self.inner.committer.barrier().await;
        // Waits for a compaction in progress (it holds the lock), then refuses every later
        // operation and releases the directory lock, so the directory can be reopened.
        let storage = Arc::clone(&self.inner.storage);
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(mut log) = storage.lock() {
                log.close();
            }
        })
        .await;
        self.inner.compute.shutdown();
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.inner.metrics)
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.inner.catalog.read().expect("catalog lock"))
    }

    pub(crate) fn set_catalog(&self, catalog: Catalog) {
        *self.inner.catalog.write().expect("catalog lock") = Arc::new(catalog);
    }

    pub(crate) fn install_input(&self, id: GlobalId) {
        let arity = 0;
        self.inner
            .compute
            .send(ComputeCommand::CreateInput { id, arity });
        self.inner
            .input_ids
            .write()
            .expect("input ids lock")
            .insert(id);
    }

    pub(crate) fn remove_input(&self, id: GlobalId) {
        self.inner
            .input_ids
            .write()
            .expect("input ids lock")
            .remove(&id);
    }

    /// Opens a session for a new connection.
    pub fn new_session(&self, user: String, database: String) -> Session {
        let conn_id = self.inner.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let secret = self
            .inner
            .secret_seed
            .fetch_add(0x5bd1_e995u32 as i32, Ordering::Relaxed)
            .wrapping_mul(31)
            .wrapping_add(conn_id as i32);
        let session = Session::new(conn_id, secret, user, database);
        self.inner
            .sessions
            .lock()
            .expect("sessions lock")
            .insert(conn_id, (secret, Arc::clone(&session.cancel)));
        self.inner
            .metrics
            .connections
            .fetch_add(1, Ordering::Relaxed);
        session
    }

    /// Forgets a session (its cursors and subscriptions end with it).
    pub fn end_session(&self, session: &mut Session) {
        session.cursors.clear();
        session.transaction = crate::session::TransactionStatus::Idle;
        self.inner
            .sessions
            .lock()
            .expect("sessions lock")
            .remove(&session.conn_id);
        self.inner
            .metrics
            .connections
            .fetch_sub(1, Ordering::Relaxed);
    }

    /// Handles a cancel request: interrupts the statement running on `conn_id` if the
    /// secret matches.
    pub fn cancel(&self, conn_id: u32, secret: i32) {
        if let Some((s, cancel)) = self
            .inner
            .sessions
            .lock()
            .expect("sessions lock")
            .get(&conn_id)
        {
            if *s == secret {
                cancel.cancel();
            }
        }
    }

    pub(crate) fn new_transient_id(&self) -> GlobalId {
        GlobalId::Transient(self.inner.next_transient.fetch_add(1, Ordering::Relaxed))
    }

    /// Executes one statement.
    pub async fn execute(
        &self,
        session: &mut Session,
        stmt: &ParsedStatement,
        params: Option<Vec<(evert_repr::Row, evert_repr::ScalarType)>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        session.cancel.reset();
        if matches!(
            session.transaction,
            crate::session::TransactionStatus::Failed
        ) && !is_transaction_end(&stmt.stmt)
        {
            return Err(AdapterError::Transaction {
                code: "25P02",
                message: "current transaction is aborted, commands ignored until end of transaction block".into(),
            });
        }
        self.inner
            .metrics
            .record_statement(statement_kind(&stmt.stmt));
        let result = self.sequence(session, stmt, params).await;
        if result.is_err() {
            session.fail_transaction();
        }
        result
    }

    /// Makes an item's compute state: a dataflow for materialized views and indexes, and
    /// for tables with PRIMARY KEY or UNIQUE constraints an arrangement by each key, which
    /// constraint checks look keys up in.
    pub(crate) fn install_dataflow(
        &self,
        catalog: &Catalog,
        item: &CatalogItem,
    ) -> Result<(), AdapterError> {
        match &item.details {
            ItemDetails::Table(details) => {
                for key in crate::write::constraint_keys(details) {
                    self.inner
                        .compute
                        .send(ComputeCommand::CreateDataflow(Arc::new(
                            DataflowDescription {
                                id: item.id(),
                                debug_name: format!("key of {}", item.name()),
                                plan: MirRelationExpr::global_get(item.id(), item.desc.typ.clone()),
                                export: DataflowExport::Index {
                                    on: item.id(),
                                    key: Some(key),
                                },
                            },
                        )));
                }
            }
            ItemDetails::MaterializedView { expr } => {
                let plan = self.prepare_maintained(catalog, expr.clone())?;
                self.inner
                    .compute
                    .send(ComputeCommand::CreateDataflow(Arc::new(
                        DataflowDescription {
                            id: item.id(),
                            debug_name: format!("materialized view {}", item.name()),
                            plan,
                            export: DataflowExport::Index {
                                on: item.id(),
                                key: None,
                            },
                        },
                    )));
            }
            ItemDetails::Index { on, keys, .. } => {
                let on_item = catalog
                    .get(*on)
                    .ok_or_else(|| AdapterError::internal("index on a missing object"))?;
                let source = match &on_item.details {
                    ItemDetails::View { expr } => self.prepare_maintained(catalog, expr.clone())?,
                    _ => MirRelationExpr::global_get(*on, on_item.desc.typ.clone()),
                };
                self.inner
                    .compute
                    .send(ComputeCommand::CreateDataflow(Arc::new(
                        DataflowDescription {
                            id: item.id(),
                            debug_name: format!("index {}", item.name()),
                            plan: source,
                            export: DataflowExport::Index {
                                on: *on,
                                key: Some(keys.clone()),
                            },
                        },
                    )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Inlines views that have no arrangement of their own, then optimizes.
    pub(crate) fn prepare_maintained(
        &self,
        catalog: &Catalog,
        expr: MirRelationExpr,
    ) -> Result<MirRelationExpr, AdapterError> {
        let expr = inline_views(catalog, expr, None)?;
        Ok(evert_transform::optimize(expr)?)
    }

    /// Whether a collection has arrangements in compute (so queries can read it directly).
    pub(crate) fn is_arranged(catalog: &Catalog, id: GlobalId) -> bool {
        match catalog.get(id) {
            Some(item) => match item.kind() {
                ItemKind::Table | ItemKind::MaterializedView | ItemKind::Source => true,
                ItemKind::View => !catalog.indexes_on(id).is_empty(),
                ItemKind::Index => false,
            },
            None => false,
        }
    }

    /// Periodically lets arrangements forget history older than the retention window.
    fn spawn_compaction_task(&self) {
        let adapter = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(adapter.inner.config.tick);
            loop {
                interval.tick().await;
                if Arc::strong_count(&adapter.inner) <= 1 {
                    break;
                }
                let catalog = adapter.catalog();
                let default = adapter.inner.config.retain_history.as_millis() as u64;
                let mut frontiers = Vec::new();
                for item in catalog.items() {
                    if Adapter::is_arranged(&catalog, item.id()) {
                        let retention = crate::ddl::retention_ms(item).unwrap_or(default);
                        let frontier = adapter
                            .inner
                            .oracle
                            .compaction_frontier(retention)
                            .max(item.since);
                        frontiers.push((item.id(), frontier));
                    }
                }
                if !frontiers.is_empty() {
                    adapter
                        .inner
                        .compute
                        .send(ComputeCommand::AllowCompaction { frontiers });
                }
            }
        });
    }

    /// Consolidates each collection's log below its since, so that a log stays proportional
    /// to the live data (plus the history its retention window keeps) rather than to its
    /// age. The committer reports which collections it appended to; a collection is
    /// compacted as soon as its log has doubled since its last compaction (at least
    /// `log_compaction_min_bytes`), which amortizes the cost of rewriting it, and once more
    /// when it has taken writes and then been quiet for a few intervals, so that history
    /// leaving the retention window is dropped even when writes stop.
    fn spawn_log_compaction_task(&self, mut grown: tokio::sync::mpsc::UnboundedReceiver<GlobalId>) {
        let adapter = self.clone();
        tokio::spawn(async move {
            struct State {
                /// Size right after this collection's last compaction.
                after_last: u64,
                /// When it was last written.
                last_write: std::time::Instant,
                /// Compacted since its last write fell out of the retention window.
                settled: bool,
            }
            let mut states: BTreeMap<GlobalId, State> = BTreeMap::new();
            let interval_length = adapter.inner.config.log_compaction_interval;
            let mut interval = tokio::time::interval(interval_length);
            loop {
                let mut touched: std::collections::BTreeSet<GlobalId> =
                    std::collections::BTreeSet::new();
                tokio::select! {
                    _ = interval.tick() => {}
                    id = grown.recv() => match id {
                        Some(id) => { touched.insert(id); }
                        None => break,
                    },
                }
                while let Ok(id) = grown.try_recv() {
                    touched.insert(id);
                }
                if Arc::strong_count(&adapter.inner) <= 1 {
                    break;
                }
                let now = std::time::Instant::now();
                for id in &touched {
                    let state = states.entry(*id).or_insert(State {
                        after_last: 0,
                        last_write: now,
                        settled: false,
                    });
                    state.last_write = now;
                    state.settled = false;
                }
                let catalog = adapter.catalog();
                let default = adapter.inner.config.retain_history.as_millis() as u64;
                let min_bytes = adapter.inner.config.log_compaction_min_bytes;
                let retention_of = |id: GlobalId| -> Option<u64> {
                    if id == CATALOG_ID {
                        return Some(default);
                    }
                    let item = catalog.get(id)?;
                    matches!(item.kind(), ItemKind::Table | ItemKind::Source)
                        .then(|| crate::ddl::retention_ms(item).unwrap_or(default))
                };
                // Sizes of the candidates, read under one short lock.
                let candidates: Vec<GlobalId> = states.keys().copied().collect();
                let sizes: Vec<(GlobalId, Option<u64>)> = {
                    let Ok(log) = adapter.inner.storage.lock() else {
                        break;
                    };
                    if log.is_closed() {
                        break;
                    }
                    candidates
                        .iter()
                        .map(|id| (*id, log.collection_bytes(*id)))
                        .collect()
                };
                for (id, size) in sizes {
                    let (Some(bytes), Some(retention)) = (size, retention_of(id)) else {
                        states.remove(&id);
                        continue;
                    };
                    let state = states.get_mut(&id).expect("candidate has state");
                    let doubled = bytes > min_bytes.max(2 * state.after_last);
                    // Once the last write is older than the retention window, one more pass
                    // drops the history that was still retained while writes went on.
                    let quiet = !state.settled
                        && now.duration_since(state.last_write)
                            >= Duration::from_millis(retention) + interval_length
                        && bytes > min_bytes;
                    if !(doubled || quiet) {
                        continue;
                    }
                    let since = adapter.inner.oracle.compaction_frontier(retention);
                    let storage = Arc::clone(&adapter.inner.storage);
                    let result = tokio::task::spawn_blocking(
                        move || -> Result<evert_storage::CompactionStats, AdapterError> {
                            let mut log = storage
                                .lock()
                                .map_err(|_| AdapterError::internal("storage lock poisoned"))?;
                            Ok(log.compact(id, since)?)
                        },
                    )
                    .await;
                    match result {
                        Ok(Ok(stats)) => {
                            debug!(
                                collection = %id,
                                since,
                                bytes_before = stats.bytes_before,
                                bytes_after = stats.bytes_after,
                                updates_before = stats.records_before,
                                updates_after = stats.records_after,
                                "compacted log"
                            );
                            state.after_last = stats.bytes_after;
                            state.settled |= quiet;
                        }
                        Ok(Err(AdapterError::Storage(evert_storage::StorageError::Closed))) => {
                            return
                        }
                        Ok(Err(e)) => warn!(collection = %id, error = %e, "log compaction failed"),
                        Err(e) => warn!(collection = %id, error = %e, "log compaction task failed"),
                    }
                }
            }
        });
    }

    /// The timestamp a read in `session` uses: the latest applied one, never earlier than
    /// the session's own last write.
    pub(crate) fn read_timestamp(&self, session: &Session) -> Timestamp {
        self.inner.oracle.applied().max(session.last_write)
    }
}

fn is_transaction_end(stmt: &Statement) -> bool {
    matches!(stmt, Statement::Sql(s) if matches!(**s, sqlparser::ast::Statement::Rollback { .. } | sqlparser::ast::Statement::Commit { .. }))
}

fn statement_kind(stmt: &Statement) -> &'static str {
    use sqlparser::ast::Statement as S;
    match stmt {
        Statement::Select { .. } => "select",
        Statement::Subscribe(_) => "subscribe",
        Statement::CopyTo { .. } => "copy_to",
        Statement::CopyFrom { .. } => "copy_from",
        Statement::Show(_) => "show",
        Statement::DeclareCursor { .. }
        | Statement::Fetch { .. }
        | Statement::CloseCursor { .. } => "cursor",
        Statement::Explain { .. } | Statement::ExplainTimestamp { .. } => "explain",
        Statement::CreateSource(_) => "create_source",
        Statement::DropSource { .. } => "drop",
        Statement::AlterRetainHistory { .. } => "alter",
        Statement::Empty => "empty",
        Statement::Sql(s) => match **s {
            S::Insert(_) => "insert",
            S::Update(_) => "update",
            S::Delete(_) => "delete",
            S::CreateTable(_) => "create_table",
            S::CreateView(_) => "create_view",
            S::CreateIndex(_) => "create_index",
            S::Drop { .. } => "drop",
            S::StartTransaction { .. } | S::Commit { .. } | S::Rollback { .. } => "transaction",
            S::Set(_) => "set",
            _ => "other",
        },
    }
}

/// Replaces each `Get` of a view without an arrangement by the view's own plan, and each
/// built-in relation by its current contents.
/// A read inside a transaction block sees the block's own pending writes, as it would in
/// PostgreSQL. Each table with pending writes is read as its committed contents (at the
/// transaction's timestamp) plus those changes, and every view or materialized view that
/// reads such a table, directly or through other views, is computed from its definition
/// instead of from its arrangement, which cannot know of writes not yet committed.
/// `expr` must already have gone through [`inline_views`].
pub(crate) fn overlay_pending_writes(
    catalog: &Catalog,
    mut expr: MirRelationExpr,
    pending: &[(GlobalId, Vec<(evert_repr::Row, evert_repr::Diff)>)],
) -> MirRelationExpr {
    let written: std::collections::BTreeSet<GlobalId> = pending
        .iter()
        .filter(|(_, updates)| !updates.is_empty())
        .map(|(id, _)| *id)
        .collect();
    if written.is_empty() {
        return expr;
    }
    // Views first: each pass replaces the views that read a written table by their plans,
    // which may name further such views. Item ids only refer to older ones, so this ends.
    let mut reads_written = BTreeMap::new();
    loop {
        let mut changed = false;
        expr.visit_mut_post(&mut |e| {
            if let MirRelationExpr::Get {
                id: Id::Global(id), ..
            } = e
            {
                if written.contains(id) {
                    return;
                }
                if let Some(item) = catalog.get(*id) {
                    let plan = match &item.details {
                        ItemDetails::View { expr } | ItemDetails::MaterializedView { expr } => expr,
                        _ => return,
                    };
                    if depends_on_any(catalog, *id, &written, &mut reads_written) {
                        *e = plan.clone();
                        changed = true;
                    }
                }
            }
        });
        if !changed {
            break;
        }
    }
    expr.visit_mut_post(&mut |e| {
        if let MirRelationExpr::Get {
            id: Id::Global(id),
            typ,
        } = e
        {
            if written.contains(id) {
                let changes: Vec<_> = pending
                    .iter()
                    .filter(|(i, _)| i == id)
                    .flat_map(|(_, updates)| updates.iter().cloned())
                    .collect();
                let typ = typ.clone();
                let constant = MirRelationExpr::Constant {
                    rows: Ok(changes),
                    typ: typ.clone(),
                };
                let get = std::mem::replace(e, MirRelationExpr::empty(typ));
                *e = get.union(constant);
            }
        }
    });
    expr
}

/// Whether item `id` reads any of `ids`, directly or through the items it reads.
fn depends_on_any(
    catalog: &Catalog,
    id: GlobalId,
    ids: &std::collections::BTreeSet<GlobalId>,
    memo: &mut BTreeMap<GlobalId, bool>,
) -> bool {
    if ids.contains(&id) {
        return true;
    }
    if let Some(known) = memo.get(&id) {
        return *known;
    }
    let uses = catalog.get(id).map(|i| i.uses.clone()).unwrap_or_default();
    let result = uses.iter().any(|u| depends_on_any(catalog, *u, ids, memo));
    memo.insert(id, result);
    result
}

pub(crate) fn inline_views(
    catalog: &Catalog,
    mut expr: MirRelationExpr,
    builtins_db: Option<&str>,
) -> Result<MirRelationExpr, AdapterError> {
    let mut error = None;
    let mut depth = 0;
    loop {
        let mut changed = false;
        expr.visit_mut_post(&mut |e| {
            if let MirRelationExpr::Get {
                id: Id::Global(id),
                typ,
            } = e
            {
                if let Some(item) = catalog.get(*id) {
                    if let ItemDetails::View { expr: view } = &item.details {
                        if catalog.indexes_on(*id).is_empty() {
                            *e = view.clone();
                            changed = true;
                        }
                    }
                } else if crate::builtins::is_builtin(*id) {
                    match builtins_db {
                        Some(db) => {
                            let rows = crate::builtins::contents(*id, catalog, db);
                            *e = MirRelationExpr::constant(rows, typ.clone());
                            changed = true;
                        }
                        None => {
                            error = Some(AdapterError::unsupported(
                                "maintaining a view over system catalog relations",
                            ));
                        }
                    }
                }
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        depth += 1;
        if !changed || depth > 64 {
            break;
        }
    }
    Ok(expr)
}
