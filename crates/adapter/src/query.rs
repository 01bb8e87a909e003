//! Reads: SELECT, SUBSCRIBE, EXPLAIN, COPY TO and cursors.
//!
//! A SELECT is planned, its views inlined and the plan optimized; then it is answered at a
//! chosen timestamp in one of three ways:
//!
//! - a constant plan is evaluated here;
//! - a map-filter-project over an arranged collection (a table, a materialized view, an
//!   indexed view) is a *peek* of that arrangement, with an index lookup when the filter
//!   pins every key column of an index;
//! - anything else is built as a transient dataflow over the arrangements it reads, peeked
//!   once, and dropped.
//!
//! ORDER BY, LIMIT and OFFSET of the outermost query are applied to the result here.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use evert_compute::{
    ComputeCommand, DataflowDescription, DataflowExport, PeekError, PeekTarget, SubscribeSink,
};
use evert_expr::{
    compare_by_order, BinaryFunc, Id, MapFilterProject, MirRelationExpr, MirScalarExpr,
    UnmaterializableFunc,
};
use evert_repr::{
    DateTime, Datum, Diff, GlobalId, RelationDesc, Row, RowArena, ScalarType, Timestamp,
};
use evert_sql::parse::{Envelope, SubscribeRelation, SubscribeStatement};
use evert_sql::plan::statement::{plan_maintained_query, plan_select};
use evert_sql::plan::{Finishing, ParamTypes, QueryLifetime};
use rust_decimal::prelude::ToPrimitive;
use sqlparser::ast;

use crate::catalog::{Catalog, ItemDetails, ItemKind};
use crate::coord::{inline_views, overlay_pending_writes, Adapter};
use crate::error::AdapterError;
use crate::response::{ActiveSubscription, DataflowGuard, ExecuteResponse, SubscribeResponse};
use crate::session::{Cursor, Session, TransactionStatus};
use crate::subscribe::{EnvelopeKind, EnvelopeState};

/// Rows a one-off query may return before it is refused (a guard against `count` values
/// that would expand to more rows than memory holds).
const MAX_RESULT_ROWS: i64 = 100_000_000;

/// Replaces `now()`, `mz_now()` and session functions with their values.
pub(crate) fn substitute_unmaterializable(
    mut expr: MirRelationExpr,
    session: &Session,
    ts: Timestamp,
) -> Result<MirRelationExpr, AdapterError> {
    let mut error = None;
    expr.visit_mut_post(&mut |e| {
        for s in e.scalars_mut() {
            let taken = std::mem::replace(s, MirScalarExpr::literal_true());
            match substitute_scalar(taken, session, ts) {
                Ok(r) => *s = r,
                Err(err) => error = Some(err),
            }
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(expr),
    }
}

pub(crate) fn substitute_scalar(
    mut expr: MirScalarExpr,
    session: &Session,
    ts: Timestamp,
) -> Result<MirScalarExpr, AdapterError> {
    let now_millis = match &session.transaction {
        TransactionStatus::InBlock(txn) if txn.started_millis > 0 => txn.started_millis,
        _ => evert_repr::now_millis(),
    };
    expr.visit_mut_post(&mut |e| {
        if let MirScalarExpr::CallUnmaterializable(f) = e {
            let (datum_row, typ) = match f {
                UnmaterializableFunc::Now => (
                    Row::of(Datum::TimestampTz(DateTime::from_millis(now_millis))),
                    ScalarType::TimestampTz,
                ),
                UnmaterializableFunc::MzNow => (
                    Row::of(crate::response::numeric_timestamp(ts)),
                    ScalarType::numeric(),
                ),
                UnmaterializableFunc::CurrentDatabase => (
                    Row::of(Datum::String(&session.database)),
                    ScalarType::String,
                ),
                UnmaterializableFunc::CurrentUser => {
                    (Row::of(Datum::String(&session.user)), ScalarType::String)
                }
                UnmaterializableFunc::CurrentSchema => {
                    (Row::of(Datum::String("public")), ScalarType::String)
                }
                UnmaterializableFunc::Version => (
                    Row::of(Datum::String(concat!(
                        "PostgreSQL 15.0 on evert ",
                        env!("CARGO_PKG_VERSION")
                    ))),
                    ScalarType::String,
                ),
                UnmaterializableFunc::PgBackendPid => (
                    Row::of(Datum::Int32(session.conn_id as i32)),
                    ScalarType::Int32,
                ),
            };
            *e = MirScalarExpr::literal_ok(datum_row, typ.nullable(false));
        }
    });
    Ok(expr)
}

/// Sorts, windows and projects a result.
pub(crate) fn finish(
    rows: Vec<(Row, Diff)>,
    finishing: &Finishing,
    arity: usize,
) -> Result<Vec<Row>, AdapterError> {
    let total: i64 = rows.iter().map(|(_, d)| *d).sum();
    if rows.iter().any(|(_, d)| *d < 0) {
        return Err(AdapterError::internal(
            "query produced a negative multiplicity",
        ));
    }
    if total > MAX_RESULT_ROWS {
        return Err(AdapterError::Invalid {
            code: "54000",
            message: format!("result exceeds the maximum of {MAX_RESULT_ROWS} rows"),
        });
    }
    let mut rows = rows;
    if !finishing.order_by.is_empty() {
        let mut decorated: Vec<(Vec<Datum>, usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, (r, _))| (r.unpack(), i))
            .collect();
        decorated.sort_by(|a, b| {
            compare_by_order(&a.0, &b.0, &finishing.order_by).then_with(|| a.0.cmp(&b.0))
        });
        let order: Vec<usize> = decorated.into_iter().map(|(_, i)| i).collect();
        let mut sorted = Vec::with_capacity(rows.len());
        let mut slots: Vec<Option<(Row, Diff)>> = rows.into_iter().map(Some).collect();
        for i in order {
            sorted.push(slots[i].take().expect("each index once"));
        }
        rows = sorted;
    }
    let mut out = Vec::new();
    let mut to_skip = finishing.offset as i64;
    let mut remaining = finishing.limit.map(|l| l as i64).unwrap_or(i64::MAX);
    let identity = finishing.project.len() == arity
        && finishing.project.iter().enumerate().all(|(i, c)| i == *c);
    for (row, diff) in rows {
        let skipped = to_skip.min(diff);
        to_skip -= skipped;
        let take = (diff - skipped).min(remaining);
        if take <= 0 {
            if remaining == 0 {
                break;
            }
            continue;
        }
        remaining -= take;
        let projected = if identity {
            row
        } else {
            let datums: Vec<Datum> = row.iter().collect();
            Row::pack(finishing.project.iter().map(|c| datums[*c]))
        };
        for _ in 0..take {
            out.push(projected.clone());
        }
    }
    Ok(out)
}

fn params_of(params: &Option<Vec<(Row, ScalarType)>>) -> ParamTypes {
    let mut types = ParamTypes::default();
    if let Some(p) = params {
        for (i, (_, t)) in p.iter().enumerate() {
            types.set(i + 1, t.clone());
        }
    }
    types
}

impl Adapter {
    /// Evaluates a timestamp expression (`AS OF`, `UP TO`): a number of milliseconds, a
    /// timestamp, or `mz_now()`-relative arithmetic.
    pub(crate) fn eval_timestamp(
        &self,
        session: &Session,
        expr: &ast::Expr,
    ) -> Result<Timestamp, AdapterError> {
        let catalog = self.catalog();
        let view = catalog.for_session(&session.database);
        let mut binder = evert_sql::plan::Binder::new(&view, QueryLifetime::OneShot);
        let scope = evert_sql::plan::Scope::empty();
        let ecx = evert_sql::plan::expr::ExprContext::new(&scope, "AS OF");
        let bound = binder.bind_expr(&ecx, expr)?;
        let typ = bound.typ.scalar_type.clone();
        let mir = evert_sql::plan::lowering::lower_constant_scalar(&bound.expr)?;
        let mir = substitute_scalar(mir, session, self.read_timestamp(session))?;
        let arena = RowArena::new();
        let value = mir.eval(&[], &arena)?;
        let ts = match value {
            Datum::Int16(i) => i64::from(i),
            Datum::Int32(i) => i64::from(i),
            Datum::Int64(i) => i,
            Datum::Numeric(n) => n.trunc().to_i64().unwrap_or(-1),
            Datum::Timestamp(t) | Datum::TimestampTz(t) => t.0 / 1000,
            Datum::String(s) => s.trim().parse::<i64>().map_err(|_| AdapterError::Invalid {
                code: "22023",
                message: format!("cannot use {s:?} as a timestamp"),
            })?,
            Datum::Null => {
                return Err(AdapterError::Invalid {
                    code: "22004",
                    message: "timestamp must not be NULL".into(),
                })
            }
            other => {
                return Err(AdapterError::Invalid {
                    code: "42804",
                    message: format!(
                        "cannot use a value of type {} as a timestamp ({other})",
                        typ.pg_name()
                    ),
                })
            }
        };
        u64::try_from(ts).map_err(|_| AdapterError::Invalid {
            code: "22023",
            message: format!("timestamp {ts} is out of range"),
        })
    }

    /// Checks that every collection a plan reads is readable at `ts`.
    pub(crate) fn check_since(
        &self,
        catalog: &Catalog,
        expr: &MirRelationExpr,
        ts: Timestamp,
    ) -> Result<(), AdapterError> {
        for id in expr.global_uses() {
            if let Some(item) = catalog.get(id) {
                let retention = crate::ddl::retention_ms(item)
                    .unwrap_or(self.inner.config.retain_history.as_millis() as u64);
                let since = self
                    .inner
                    .oracle
                    .compaction_frontier(retention)
                    .max(item.since);
                if ts < since {
                    return Err(AdapterError::Invalid {
                        code: "22000",
                        message: format!(
                            "timestamp {ts} is not valid for {} \"{}\": its history is only kept from {since} (its since)",
                            item.kind().name(),
                            item.name()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Reads an optimized plan at `ts`.
    pub(crate) async fn peek_expr(
        &self,
        catalog: &Catalog,
        expr: MirRelationExpr,
        ts: Timestamp,
        session: &Session,
    ) -> Result<Vec<(Row, Diff)>, AdapterError> {
        if let Some(rows) = expr.as_const() {
            return rows.clone().map_err(AdapterError::from);
        }
        let compute = Arc::clone(&self.inner.compute);
        let (mfp, input) = MapFilterProject::extract_from(&expr);
        let read = if let MirRelationExpr::Get {
            id: Id::Global(id), ..
        } = input
        {
            if Adapter::is_arranged(catalog, *id) {
                let (key, literal_key) = choose_arrangement(catalog, *id, &mfp);
                let target = PeekTarget {
                    collection: *id,
                    key,
                    literal_keys: literal_key.map(|k| vec![k]),
                    timestamp: ts,
                    mfp,
                };
                let peek = compute.peek(target);
                Some(self.cancellable(session, peek).await)
            } else {
                None
            }
        } else {
            None
        };
        let result = match read {
            Some(result) => result,
            None => {
                // A transient dataflow, dropped when the read completes or is canceled.
                let arity = expr.arity();
                let id = self.new_transient_id();
                compute.send(ComputeCommand::CreateDataflow(Arc::new(
                    DataflowDescription {
                        id,
                        debug_name: format!("query {id}"),
                        plan: expr,
                        export: DataflowExport::Index { on: id, key: None },
                    },
                )));
                let guard = TransientGuard {
                    compute: Arc::clone(&compute),
                    id,
                };
                let peek = compute.peek(PeekTarget {
                    collection: id,
                    key: None,
                    literal_keys: None,
                    timestamp: ts,
                    mfp: MapFilterProject::new(arity),
                });
                let result = self.cancellable(session, peek).await;
                drop(guard);
                result
            }
        };
        result
    }

    async fn cancellable<F>(
        &self,
        session: &Session,
        peek: F,
    ) -> Result<Vec<(Row, Diff)>, AdapterError>
    where
        F: std::future::Future<Output = Result<Vec<(Row, Diff)>, PeekError>>,
    {
        tokio::select! {
            result = peek => result.map_err(|e| match e {
                PeekError::Eval(e) => AdapterError::Eval(e),
                PeekError::Failed(m) => AdapterError::Invalid { code: "XX000", message: m },
                PeekError::Canceled => AdapterError::Canceled,
            }),
            _ = session.cancel.canceled() => Err(AdapterError::Canceled),
        }
    }

    /// The timestamp for a read in `session` (inside a transaction, its fixed one).
    fn transaction_read_timestamp(&self, session: &mut Session) -> Timestamp {
        let latest = self.read_timestamp(session);
        match &mut session.transaction {
            TransactionStatus::InBlock(txn) => {
                if txn.read.is_none() {
                    txn.read = Some(self.inner.oracle.hold(latest));
                }
                txn.read_timestamp().unwrap_or(latest)
            }
            _ => latest,
        }
    }

    pub(crate) async fn sequence_select(
        &self,
        session: &mut Session,
        query: &ast::Query,
        as_of: Option<&ast::Expr>,
        params: Option<Vec<(Row, ScalarType)>>,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let plan = plan_select(
            &catalog.for_session(&session.database),
            query,
            params_of(&params),
            params.clone(),
        )?;
        let ts = match as_of {
            Some(e) => self.eval_timestamp(session, e)?,
            None => self.transaction_read_timestamp(session),
        };
        let _hold = self.inner.oracle.hold(ts);
        let expr = substitute_unmaterializable(plan.expr, session, ts)?;
        let expr = inline_views(&catalog, expr, Some(&session.database))?;
        let expr = match &session.transaction {
            TransactionStatus::InBlock(txn) => overlay_pending_writes(&catalog, expr, &txn.writes),
            _ => expr,
        };
        let expr = evert_transform::optimize(expr)?;
        self.check_since(&catalog, &expr, ts)?;
        if as_of.is_some() && ts > self.inner.oracle.applied() {
            // A future AS OF waits until that time is complete.
        }
        let arity = expr.arity();
        let rows = self.peek_expr(&catalog, expr, ts, session).await?;
        let rows = finish(rows, &plan.finishing, arity)?;
        Ok(ExecuteResponse::Rows {
            desc: plan.desc,
            rows,
            tag: None,
        })
    }

    pub(crate) async fn sequence_explain(
        &self,
        session: &Session,
        query: &ast::Query,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let plan = plan_select(
            &catalog.for_session(&session.database),
            query,
            ParamTypes::default(),
            None,
        )?;
        let expr = inline_views(&catalog, plan.expr, Some(&session.database))?;
        let expr = evert_transform::optimize(expr)?;
        let name_of = |id: &Id| -> Option<String> {
            match id {
                Id::Global(g) => catalog.get(*g).map(|i| i.name().to_string()),
                Id::Local(_) => None,
            }
        };
        let mut text = evert_expr::explain::explain(&expr, &name_of);
        if !plan.finishing.order_by.is_empty()
            || plan.finishing.limit.is_some()
            || plan.finishing.offset > 0
        {
            let order: Vec<String> = plan
                .finishing
                .order_by
                .iter()
                .map(|o| format!("#{}{}", o.column, if o.desc { " desc" } else { " asc" }))
                .collect();
            text = format!(
                "Finish order_by=[{}]{}{}\n{}",
                order.join(", "),
                plan.finishing
                    .limit
                    .map(|l| format!(" limit={l}"))
                    .unwrap_or_default(),
                if plan.finishing.offset > 0 {
                    format!(" offset={}", plan.finishing.offset)
                } else {
                    String::new()
                },
                text.lines()
                    .map(|l| format!("  {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let desc =
            RelationDesc::empty().with_column("Optimized Plan", ScalarType::String.nullable(false));
        Ok(ExecuteResponse::Rows {
            desc,
            rows: vec![Row::of(Datum::String(text.trim_end()))],
            tag: None,
        })
    }

    /// `EXPLAIN TIMESTAMP FOR query`: the timestamp a SELECT would read at, and each input's
    /// readable range.
    pub(crate) async fn sequence_explain_timestamp(
        &self,
        session: &mut Session,
        query: &ast::Query,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let plan = plan_select(
            &catalog.for_session(&session.database),
            query,
            ParamTypes::default(),
            None,
        )?;
        let expr = inline_views(&catalog, plan.expr, Some(&session.database))?;
        let ts = self.transaction_read_timestamp(session);
        let ids: Vec<GlobalId> = expr.global_uses();
        let frontiers = self.inner.compute.frontiers(ids.clone()).await;
        let mut lines = vec![
            format!("                query timestamp: {ts}"),
            format!(
                "          oracle read timestamp: {}",
                self.inner.oracle.applied()
            ),
        ];
        for (id, upper) in frontiers {
            let (name, since) = match catalog.get(id) {
                Some(item) => {
                    let retention = crate::ddl::retention_ms(item)
                        .unwrap_or(self.inner.config.retain_history.as_millis() as u64);
                    (
                        item.name().to_string(),
                        self.inner
                            .oracle
                            .compaction_frontier(retention)
                            .max(item.since),
                    )
                }
                None => (id.to_string(), 0),
            };
            lines.push(String::new());
            lines.push(format!("source {name} ({id}):"));
            lines.push(format!("                  read frontier: [{since}]"));
            lines.push(format!(
                "                 write frontier: [{}]",
                upper.map(|u| u.to_string()).unwrap_or_default()
            ));
        }
        let desc =
            RelationDesc::empty().with_column("Timestamp", ScalarType::String.nullable(false));
        Ok(ExecuteResponse::Rows {
            desc,
            rows: vec![Row::of(Datum::String(&lines.join("\n")))],
            tag: None,
        })
    }

    pub(crate) async fn sequence_subscribe(
        &self,
        session: &mut Session,
        s: &SubscribeStatement,
    ) -> Result<ExecuteResponse, AdapterError> {
        let catalog = self.catalog();
        let (expr, desc) = match &s.relation {
            SubscribeRelation::Name(name) => {
                let parts = evert_sql::parse::normalize_name(name)?;
                let view = catalog.for_session(&session.database);
                let relation = evert_sql::SessionCatalog::resolve_relation(&view, &parts)
                    .ok_or_else(|| evert_sql::PlanError::UnknownRelation(parts.join(".")))?;
                (
                    MirRelationExpr::global_get(relation.id, relation.desc.typ.clone()),
                    relation.desc,
                )
            }
            SubscribeRelation::Query(q) => {
                let (expr, desc, _) = plan_maintained_query(
                    &catalog.for_session(&session.database),
                    q,
                    QueryLifetime::Maintained,
                )?;
                (expr, desc)
            }
        };
        let reads = subscription_reads(&catalog, &expr);
        let expr = inline_views(&catalog, expr, None)?;
        let expr = evert_transform::optimize(expr)?;
        let as_of = match &s.as_of {
            Some(e) => self.eval_timestamp(session, e)?,
            None => self.read_timestamp(session),
        };
        let up_to = match &s.up_to {
            Some(e) => Some(self.eval_timestamp(session, e)?),
            None => None,
        };
        let _hold = self.inner.oracle.hold(as_of);
        self.check_since(&catalog, &expr, as_of)?;
        let progress = s.progress.unwrap_or(false);
        let envelope = match &s.envelope {
            None => None,
            Some((kind, key_names)) => {
                let mut key = Vec::new();
                for k in key_names {
                    key.push(
                        desc.column_index(k)
                            .ok_or_else(|| evert_sql::PlanError::UnknownColumn(k.clone()))?,
                    );
                }
                let kind = match kind {
                    Envelope::Upsert => EnvelopeKind::Upsert,
                    Envelope::Debezium => EnvelopeKind::Debezium,
                };
                Some(EnvelopeState::new(kind, key, desc.arity()))
            }
        };
        let output_desc = match &envelope {
            Some(e) => e.output_desc(&desc, progress),
            None => SubscribeResponse::output_desc(&desc, progress),
        };
        let (sender, receiver) = tokio::sync::mpsc::channel(crate::SUBSCRIBE_BUFFER_BATCHES);
        let id = self.new_transient_id();
        let constant = expr.as_const().is_some();
        self.inner
            .compute
            .send(ComputeCommand::CreateDataflow(Arc::new(
                DataflowDescription {
                    id,
                    debug_name: format!("subscribe {id}"),
                    plan: expr,
                    export: DataflowExport::Subscribe(SubscribeSink {
                        as_of,
                        // A constant input never changes: end once its snapshot is out.
                        up_to: if constant {
                            Some(up_to.unwrap_or(as_of + 1).min(as_of + 1))
                        } else {
                            up_to
                        },
                        with_snapshot: s.snapshot.unwrap_or(true),
                        sender,
                    }),
                },
            )));
        self.inner
            .metrics
            .subscribers
            .fetch_add(1, Ordering::Relaxed);
        let (end, ended) = tokio::sync::oneshot::channel();
        if let Ok(mut subscriptions) = self.inner.subscriptions.lock() {
            subscriptions.insert(id, ActiveSubscription { reads, end });
        }
        let guard = DataflowGuard {
            compute: Arc::clone(&self.inner.compute),
            id,
            metrics: Arc::clone(&self.inner.metrics),
            subscriptions: Arc::clone(&self.inner.subscriptions),
        };
        Ok(ExecuteResponse::Subscribe(Box::new(SubscribeResponse {
            desc: output_desc,
            receiver,
            progress,
            as_of,
            done: false,
            arity: desc.arity(),
            envelope,
            ended: Some(ended),
            _guard: guard,
        })))
    }

    /// Ends, with an error, every subscription that reads one of `dropped`. Called before
    /// their dataflows go, so that a subscriber sees the error rather than a silent end.
    pub(crate) fn end_subscriptions_reading(&self, dropped: &[(GlobalId, String, &'static str)]) {
        let Ok(mut subscriptions) = self.inner.subscriptions.lock() else {
            return;
        };
        let ending: Vec<GlobalId> = subscriptions
            .iter()
            .filter(|(_, s)| dropped.iter().any(|(id, _, _)| s.reads.contains(id)))
            .map(|(id, _)| *id)
            .collect();
        for id in ending {
            if let Some(subscription) = subscriptions.remove(&id) {
                let (_, name, kind) = dropped
                    .iter()
                    .find(|(d, _, _)| subscription.reads.contains(d))
                    .expect("a dropped item it reads");
                let _ = subscription.end.send(AdapterError::Invalid {
                    code: "42P01",
                    message: format!("subscription ended because {kind} \"{name}\" was dropped"),
                });
            }
        }
    }

    pub(crate) async fn declare_cursor(
        &self,
        session: &mut Session,
        name: &str,
        inner: &evert_sql::parse::Statement,
    ) -> Result<ExecuteResponse, AdapterError> {
        if !session.in_block() {
            return Err(AdapterError::Transaction {
                code: "25P01",
                message: "DECLARE CURSOR can only be used in transaction blocks".into(),
            });
        }
        if session.cursors.contains_key(name) {
            return Err(AdapterError::Invalid {
                code: "42P03",
                message: format!("cursor \"{name}\" already exists"),
            });
        }
        let cursor = match inner {
            evert_sql::parse::Statement::Select { query, as_of } => match self
                .sequence_select(session, query, as_of.as_ref(), None)
                .await?
            {
                ExecuteResponse::Rows { desc, rows, .. } => Cursor::Rows {
                    desc,
                    rows: rows.into(),
                },
                _ => return Err(AdapterError::internal("SELECT did not return rows")),
            },
            evert_sql::parse::Statement::Subscribe(s) => {
                match self.sequence_subscribe(session, s).await? {
                    ExecuteResponse::Subscribe(response) => Cursor::Subscribe {
                        response,
                        buffered: VecDeque::new(),
                    },
                    _ => {
                        return Err(AdapterError::internal(
                            "SUBSCRIBE did not return a subscription",
                        ))
                    }
                }
            }
            _ => return Err(AdapterError::unsupported("DECLARE for this statement")),
        };
        session.cursors.insert(name.to_string(), cursor);
        Ok(ExecuteResponse::command("DECLARE CURSOR"))
    }

    /// `FETCH`: rows from a cursor. A subscription cursor waits for at least one row unless a
    /// timeout says otherwise.
    pub(crate) async fn fetch(
        &self,
        session: &mut Session,
        name: &str,
        count: Option<u64>,
        timeout: Option<&ast::Expr>,
    ) -> Result<ExecuteResponse, AdapterError> {
        let timeout = match timeout {
            None => None,
            Some(e) => Some(self.eval_duration(session, e)?),
        };
        let cancel = Arc::clone(&session.cancel);
        let cursor = session
            .cursors
            .get_mut(name)
            .ok_or_else(|| AdapterError::UnknownCursor(name.to_string()))?;
        let limit = count.map(|c| c as usize).unwrap_or(usize::MAX);
        let (desc, rows) = match cursor {
            Cursor::Rows { desc, rows } => {
                let n = limit.min(rows.len());
                (desc.clone(), rows.drain(..n).collect::<Vec<_>>())
            }
            Cursor::Subscribe { response, buffered } => {
                // Take what is ready without waiting.
                while buffered.len() < limit {
                    match response.try_next()? {
                        Some(rows) if !rows.is_empty() => buffered.extend(rows),
                        _ => break,
                    }
                }
                if buffered.is_empty() && !response.done {
                    let wait = async {
                        loop {
                            match response.next().await? {
                                Some(rows) if !rows.is_empty() => {
                                    buffered.extend(rows);
                                    return Ok::<(), AdapterError>(());
                                }
                                Some(_) => continue,
                                None => return Ok(()),
                            }
                        }
                    };
                    tokio::select! {
                        result = async {
                            match timeout {
                                Some(t) => match tokio::time::timeout(t, wait).await {
                                    Ok(r) => r,
                                    Err(_) => Ok(()),
                                },
                                None => wait.await,
                            }
                        } => result?,
                        _ = cancel.canceled() => return Err(AdapterError::Canceled),
                    }
                }
                let n = limit.min(buffered.len());
                (
                    response.desc.clone(),
                    buffered.drain(..n).collect::<Vec<_>>(),
                )
            }
        };
        let tag = format!("FETCH {}", rows.len());
        Ok(ExecuteResponse::Rows {
            desc,
            rows,
            tag: Some(tag),
        })
    }

    fn eval_duration(&self, session: &Session, expr: &ast::Expr) -> Result<Duration, AdapterError> {
        let text = match expr {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                ast::Value::Number(n, _) => format!("{n}ms"),
                other => other.to_string(),
            },
            other => {
                let _ = session;
                other.to_string()
            }
        };
        let ms = crate::ddl::parse_duration_ms(&text).ok_or_else(|| AdapterError::Invalid {
            code: "22023",
            message: format!("invalid TIMEOUT {text:?}"),
        })?;
        Ok(Duration::from_millis(ms))
    }
}

/// Drops a transient dataflow when a read finishes (or is abandoned).
struct TransientGuard {
    compute: Arc<evert_compute::ComputeController>,
    id: GlobalId,
}

impl Drop for TransientGuard {
    fn drop(&mut self) {
        self.compute
            .send(ComputeCommand::DropCollection { id: self.id });
    }
}

/// Picks the arrangement of `id` to read, and a key to look up if the filter pins one.
fn choose_arrangement(
    catalog: &Catalog,
    id: GlobalId,
    mfp: &MapFilterProject,
) -> (Option<Vec<MirScalarExpr>>, Option<Row>) {
    // Equalities between an input column and a literal.
    let mut pinned: Vec<(usize, Row)> = Vec::new();
    for (_, p) in &mfp.predicates {
        if let MirScalarExpr::CallBinary {
            func: BinaryFunc::Eq,
            expr1,
            expr2,
        } = p
        {
            let (col, lit) = match (expr1.as_ref(), expr2.as_ref()) {
                (MirScalarExpr::Column(c), MirScalarExpr::Literal(Ok(row), _))
                | (MirScalarExpr::Literal(Ok(row), _), MirScalarExpr::Column(c)) => (*c, row),
                _ => continue,
            };
            if col < mfp.input_arity && !lit.unpack_first().is_null() {
                pinned.push((col, lit.clone()));
            }
        }
    }
    // Candidate arrangements: user indexes, and a table's key arrangements.
    let mut candidates: Vec<Vec<MirScalarExpr>> = catalog
        .indexes_on(id)
        .into_iter()
        .filter_map(|i| match &i.details {
            ItemDetails::Index { keys, .. } => Some(keys.clone()),
            _ => None,
        })
        .collect();
    if let Some(ItemDetails::Table(details)) = catalog.get(id).map(|i| &i.details) {
        candidates.extend(crate::write::constraint_keys(details));
    }
    for keys in &candidates {
        {
            let key_values: Option<Vec<&Row>> = keys
                .iter()
                .map(|k| match k {
                    MirScalarExpr::Column(c) => {
                        pinned.iter().find(|(pc, _)| pc == c).map(|(_, r)| r)
                    }
                    _ => None,
                })
                .collect();
            if let Some(values) = key_values {
                let mut key = Row::default();
                for v in values {
                    key.appender().extend_by_row(v);
                }
                return (Some(keys.clone()), Some(key));
            }
        }
    }
    match catalog.get(id).map(|i| i.kind()) {
        Some(ItemKind::View) => {
            // An indexed view has only keyed arrangements.
            let index = catalog.indexes_on(id).into_iter().next();
            match index.map(|i| &i.details) {
                Some(ItemDetails::Index { keys, .. }) => (Some(keys.clone()), None),
                _ => (None, None),
            }
        }
        _ => (None, None),
    }
}

/// The catalog items a subscription to `expr` reads: those it names, what they read in turn,
/// and the indexes on any of them (the dataflow may read through an index's arrangement).
fn subscription_reads(
    catalog: &Catalog,
    expr: &MirRelationExpr,
) -> std::collections::BTreeSet<GlobalId> {
    let mut stack = Vec::new();
    expr.visit_post(&mut |e| {
        if let MirRelationExpr::Get {
            id: Id::Global(id), ..
        } = e
        {
            stack.push(*id);
        }
    });
    let mut reads = std::collections::BTreeSet::new();
    while let Some(id) = stack.pop() {
        if reads.insert(id) {
            if let Some(item) = catalog.get(id) {
                stack.extend(item.uses.iter().copied());
                stack.extend(catalog.indexes_on(id).iter().map(|i| i.id()));
            }
        }
    }
    reads
}
