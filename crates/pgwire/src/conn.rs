//! One client connection: startup, the simple and extended query protocols, COPY, and
//! streaming SUBSCRIBE.
//!
//! The connection loop owns the socket. Messages are decoded with the `pgwire` crate's
//! codec; every response is written by this loop, so a streaming SUBSCRIBE flushes each batch
//! as it arrives, and a cancel request (which arrives on another connection and reaches the
//! session through the adapter) interrupts whatever the loop is waiting on.

use std::collections::{BTreeMap, VecDeque};

use bytes::{BufMut, BytesMut};
use evert_adapter::{
    Adapter, AdapterError, CopyInTarget, ExecuteResponse, Session, StatementDesc, SubscribeResponse,
};
use evert_repr::{RelationDesc, Row, ScalarType};
use evert_sql::parse::{parse, ParsedStatement};
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{
    DataRow, FieldDescription, NoData, ParameterDescription, RowDescription,
};
use pgwire::messages::extendedquery::{
    BindComplete, CloseComplete, ParseComplete, PortalSuspended,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ErrorResponse, NoticeResponse, ReadyForQuery, SslResponse,
    TransactionStatus,
};
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus, SecretKey};
use pgwire::messages::{
    DecodeContext, PgWireBackendMessage, PgWireFrontendMessage, ProtocolVersion,
    SslNegotiationMetaMessage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tracing::{debug, warn};

use crate::copy::{encode_copy_row, parse_copy_rows};
use crate::values::{decode_param, encode_binary, encode_text, type_from_oid};

/// Flush the output buffer once it holds this much.
const FLUSH_BYTES: usize = 64 * 1024;

struct Reader {
    stream: OwnedReadHalf,
    buf: BytesMut,
    ctx: DecodeContext,
}

impl Reader {
    async fn next(&mut self) -> std::io::Result<Option<PgWireFrontendMessage>> {
        loop {
            match PgWireFrontendMessage::decode(&mut self.buf, &self.ctx) {
                Ok(Some(message)) => return Ok(Some(message)),
                Ok(None) => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        e.to_string(),
                    ))
                }
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }
}

struct Writer {
    stream: OwnedWriteHalf,
    buf: BytesMut,
}

impl Writer {
    fn send(&mut self, message: PgWireBackendMessage) {
        if let Err(e) = message.encode(&mut self.buf) {
            warn!(error = %e, "could not encode a message");
        }
    }

    async fn send_and_maybe_flush(&mut self, message: PgWireBackendMessage) -> std::io::Result<()> {
        self.send(message);
        if self.buf.len() >= FLUSH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.stream.write_all(&self.buf).await?;
            self.buf.clear();
        }
        self.stream.flush().await
    }
}

struct Prepared {
    stmt: Option<ParsedStatement>,
    desc: StatementDesc,
}

struct Portal {
    stmt: Option<ParsedStatement>,
    params: Vec<(Row, ScalarType)>,
    result_formats: Vec<bool>,
    desc: Option<RelationDesc>,
    /// Rows left over from an Execute with a row limit.
    pending: Option<(VecDeque<Row>, String, RelationDesc)>,
}

/// Serves one connection until it closes.
pub async fn handle_connection(adapter: Adapter, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let mut reader = Reader {
        stream: read,
        buf: BytesMut::with_capacity(8192),
        ctx: DecodeContext::new(ProtocolVersion::PROTOCOL3_0),
    };
    let mut writer = Writer {
        stream: write,
        buf: BytesMut::with_capacity(8192),
    };
    match startup(&adapter, &mut reader, &mut writer).await {
        Ok(Some(mut session)) => {
            let mut conn = Connection {
                adapter: adapter.clone(),
                reader,
                writer,
                prepared: BTreeMap::new(),
                portals: BTreeMap::new(),
                skip_until_sync: false,
                deferred: VecDeque::new(),
            };
            if let Err(e) = conn.run(&mut session).await {
                debug!(error = %e, "connection ended");
            }
            adapter.end_session(&mut session);
        }
        Ok(None) => {}
        Err(e) => debug!(error = %e, "connection failed during startup"),
    }
}

/// SSL refusal, the startup message or a cancel request, then authentication (trust).
async fn startup(
    adapter: &Adapter,
    reader: &mut Reader,
    writer: &mut Writer,
) -> std::io::Result<Option<Session>> {
    loop {
        let Some(message) = reader.next().await? else {
            return Ok(None);
        };
        match message {
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::PostgresSsl(_)) => {
                writer.send(PgWireBackendMessage::SslResponse(SslResponse::Refuse));
                writer.flush().await?;
            }
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::PostgresGss(_)) => {
                writer.send(PgWireBackendMessage::GssEncResponse(
                    pgwire::messages::response::GssEncResponse::Refuse,
                ));
                writer.flush().await?;
            }
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::None) => {
                reader.ctx.awaiting_frontend_ssl = false;
            }
            PgWireFrontendMessage::CancelRequest(cancel) => {
                let secret = match cancel.secret_key {
                    SecretKey::I32(s) => s,
                    SecretKey::Bytes(b) if b.len() == 4 => {
                        i32::from_be_bytes([b[0], b[1], b[2], b[3]])
                    }
                    SecretKey::Bytes(_) => return Ok(None),
                };
                adapter.cancel(cancel.pid as u32, secret);
                return Ok(None);
            }
            PgWireFrontendMessage::Startup(startup) => {
                reader.ctx.awaiting_frontend_ssl = false;
                reader.ctx.awaiting_frontend_startup = false;
                if startup.protocol_number_major != 3 {
                    send_error_fields(
                        writer,
                        "FATAL",
                        "0A000",
                        &format!(
                            "unsupported frontend protocol {}.{}",
                            startup.protocol_number_major, startup.protocol_number_minor
                        ),
                        None,
                        None,
                        None,
                    );
                    writer.flush().await?;
                    return Ok(None);
                }
                let user = startup
                    .parameters
                    .get("user")
                    .cloned()
                    .unwrap_or_else(|| "evert".to_string());
                let database = startup
                    .parameters
                    .get("database")
                    .cloned()
                    .unwrap_or_else(|| user.clone());
                let mut session = adapter.new_session(user, database);
                for (key, value) in &startup.parameters {
                    let key = key.to_lowercase();
                    if matches!(
                        key.as_str(),
                        "application_name" | "datestyle" | "extra_float_digits" | "search_path"
                    ) {
                        session.vars.insert(key, value.clone());
                    }
                }
                writer.send(PgWireBackendMessage::Authentication(Authentication::Ok));
                for name in evert_adapter::session::REPORTED_VARS {
                    let value = session.vars.get(*name).cloned().unwrap_or_default();
                    writer.send(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                        Session::display_name(name).to_string(),
                        value,
                    )));
                }
                writer.send(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(
                    session.conn_id as i32,
                    SecretKey::I32(session.secret_key),
                )));
                writer.send(ready(&session));
                writer.flush().await?;
                return Ok(Some(session));
            }
            _ => {
                send_error_fields(
                    writer,
                    "FATAL",
                    "08P01",
                    "expected a startup message",
                    None,
                    None,
                    None,
                );
                writer.flush().await?;
                return Ok(None);
            }
        }
    }
}

fn ready(session: &Session) -> PgWireBackendMessage {
    let status = match session.transaction_indicator() {
        b'T' => TransactionStatus::Transaction,
        b'E' => TransactionStatus::Error,
        _ => TransactionStatus::Idle,
    };
    PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status))
}

fn send_error_fields(
    writer: &mut Writer,
    severity: &str,
    code: &str,
    message: &str,
    detail: Option<String>,
    hint: Option<String>,
    position: Option<usize>,
) {
    let mut fields = vec![
        (b'S', severity.to_string()),
        (b'V', severity.to_string()),
        (b'C', code.to_string()),
        (b'M', message.to_string()),
    ];
    if let Some(d) = detail {
        fields.push((b'D', d));
    }
    if let Some(h) = hint {
        fields.push((b'H', h));
    }
    if let Some(p) = position {
        fields.push((b'P', p.to_string()));
    }
    writer.send(PgWireBackendMessage::ErrorResponse(ErrorResponse::new(
        fields,
    )));
}

fn send_error(writer: &mut Writer, e: &AdapterError) {
    send_error_fields(
        writer,
        "ERROR",
        e.code(),
        &e.to_string(),
        e.detail(),
        e.hint(),
        e.position(),
    );
}

fn send_notice(writer: &mut Writer, message: &str) {
    let severity = if message.contains("already a transaction")
        || message.contains("no transaction in progress")
    {
        "WARNING"
    } else {
        "NOTICE"
    };
    let code = if severity == "WARNING" {
        "25001"
    } else {
        "00000"
    };
    let fields = vec![
        (b'S', severity.to_string()),
        (b'V', severity.to_string()),
        (b'C', code.to_string()),
        (b'M', message.to_string()),
    ];
    writer.send(PgWireBackendMessage::NoticeResponse(NoticeResponse::new(
        fields,
    )));
}

fn row_description(desc: &RelationDesc, formats: &[bool]) -> PgWireBackendMessage {
    let fields = desc
        .iter()
        .enumerate()
        .map(|(i, (name, typ))| {
            let binary = formats.get(i).copied().unwrap_or(false);
            FieldDescription::new(
                name.clone(),
                0,
                0,
                typ.scalar_type.oid(),
                typ.scalar_type.type_len(),
                typ.scalar_type.type_mod(),
                if binary { 1 } else { 0 },
            )
        })
        .collect();
    PgWireBackendMessage::RowDescription(RowDescription::new(fields))
}

fn data_row(row: &Row, desc: &RelationDesc, formats: &[bool]) -> PgWireBackendMessage {
    let mut data = BytesMut::new();
    let mut count = 0i16;
    for (i, datum) in row.iter().enumerate() {
        count += 1;
        if datum.is_null() {
            data.put_i32(-1);
            continue;
        }
        let at = data.len();
        data.put_i32(0);
        if formats.get(i).copied().unwrap_or(false) {
            let typ = desc
                .typ
                .column_types
                .get(i)
                .map(|c| c.scalar_type.clone())
                .unwrap_or(ScalarType::String);
            encode_binary(datum, &typ, &mut data);
        } else {
            encode_text(datum, &mut data);
        }
        let len = (data.len() - at - 4) as i32;
        data[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    PgWireBackendMessage::DataRow(DataRow::new(data, count))
}

/// Result format codes as booleans (binary or not) for `n` columns.
fn formats_for(codes: &[i16], n: usize) -> Vec<bool> {
    match codes.len() {
        0 => vec![false; n],
        1 => vec![codes[0] == 1; n],
        _ => (0..n)
            .map(|i| codes.get(i).copied().unwrap_or(0) == 1)
            .collect(),
    }
}

struct Connection {
    adapter: Adapter,
    reader: Reader,
    writer: Writer,
    prepared: BTreeMap<String, Prepared>,
    portals: BTreeMap<String, Portal>,
    /// After an error in the extended protocol, messages are ignored until Sync.
    skip_until_sync: bool,
    /// Messages that arrived while a SUBSCRIBE was streaming (a driver's Sync after its
    /// Execute, say), to be handled in order once the stream ends.
    deferred: VecDeque<PgWireFrontendMessage>,
}

impl Connection {
    async fn run(&mut self, session: &mut Session) -> std::io::Result<()> {
        loop {
            let message = match self.deferred.pop_front() {
                Some(message) => message,
                None => match self.reader.next().await? {
                    Some(message) => message,
                    None => return Ok(()),
                },
            };
            if self.skip_until_sync && !matches!(message, PgWireFrontendMessage::Sync(_)) {
                continue;
            }
            match message {
                PgWireFrontendMessage::Query(q) => {
                    self.simple_query(session, &q.query).await?;
                    self.writer.send(ready(session));
                    self.writer.flush().await?;
                }
                PgWireFrontendMessage::Parse(p) => {
                    let name = p.name.unwrap_or_default();
                    match self.parse(session, &p.query, &p.type_oids) {
                        Ok(prepared) => {
                            self.prepared.insert(name, prepared);
                            self.writer
                                .send(PgWireBackendMessage::ParseComplete(ParseComplete::new()));
                        }
                        Err(e) => self.extended_error(session, &e),
                    }
                }
                PgWireFrontendMessage::Bind(b) => {
                    let statement = b.statement_name.unwrap_or_default();
                    let portal = b.portal_name.unwrap_or_default();
                    match self.bind(
                        &statement,
                        &b.parameter_format_codes,
                        &b.parameters,
                        &b.result_column_format_codes,
                    ) {
                        Ok(p) => {
                            self.portals.insert(portal, p);
                            self.writer
                                .send(PgWireBackendMessage::BindComplete(BindComplete::new()));
                        }
                        Err(e) => self.extended_error(session, &e),
                    }
                }
                PgWireFrontendMessage::Describe(d) => {
                    let name = d.name.unwrap_or_default();
                    if d.target_type == b'S' {
                        match self.prepared.get(&name) {
                            Some(p) => {
                                let types = p.desc.params.iter().map(|t| t.oid()).collect();
                                self.writer.send(PgWireBackendMessage::ParameterDescription(
                                    ParameterDescription::new(types),
                                ));
                                match &p.desc.result {
                                    Some(desc) => self.writer.send(row_description(desc, &[])),
                                    None => self
                                        .writer
                                        .send(PgWireBackendMessage::NoData(NoData::new())),
                                }
                            }
                            None => self.extended_error(session, &unknown_statement(&name)),
                        }
                    } else {
                        match self.portals.get(&name) {
                            Some(p) => match &p.desc {
                                Some(desc) => {
                                    self.writer.send(row_description(desc, &p.result_formats))
                                }
                                None => self
                                    .writer
                                    .send(PgWireBackendMessage::NoData(NoData::new())),
                            },
                            None => self.extended_error(session, &unknown_portal(&name)),
                        }
                    }
                }
                PgWireFrontendMessage::Execute(e) => {
                    let name = e.name.unwrap_or_default();
                    self.execute_portal(session, &name, e.max_rows).await?;
                }
                PgWireFrontendMessage::Close(c) => {
                    let name = c.name.unwrap_or_default();
                    if c.target_type == b'S' {
                        self.prepared.remove(&name);
                    } else {
                        self.portals.remove(&name);
                    }
                    self.writer
                        .send(PgWireBackendMessage::CloseComplete(CloseComplete::new()));
                }
                PgWireFrontendMessage::Sync(_) => {
                    self.skip_until_sync = false;
                    self.portals.remove("");
                    self.writer.send(ready(session));
                    self.writer.flush().await?;
                }
                PgWireFrontendMessage::Flush(_) => self.writer.flush().await?,
                PgWireFrontendMessage::Terminate(_) => return Ok(()),
                PgWireFrontendMessage::CopyData(_)
                | PgWireFrontendMessage::CopyDone(_)
                | PgWireFrontendMessage::CopyFail(_) => {
                    // Stray COPY messages outside a COPY are ignored, as PostgreSQL does.
                }
                other => {
                    send_error_fields(
                        &mut self.writer,
                        "ERROR",
                        "08P01",
                        &format!("unexpected message {other:?}"),
                        None,
                        None,
                        None,
                    );
                    self.writer.flush().await?;
                }
            }
        }
    }

    fn extended_error(&mut self, session: &mut Session, e: &AdapterError) {
        send_error(&mut self.writer, e);
        session.fail_transaction();
        self.skip_until_sync = true;
    }

    async fn simple_query(&mut self, session: &mut Session, sql: &str) -> std::io::Result<()> {
        let statements = match parse(sql) {
            Ok(s) => s,
            Err(e) => {
                send_error(&mut self.writer, &AdapterError::from(e));
                session.fail_transaction();
                return Ok(());
            }
        };
        if statements.is_empty() {
            self.writer.send(PgWireBackendMessage::EmptyQueryResponse(
                EmptyQueryResponse::new(),
            ));
            return Ok(());
        }
        for stmt in statements {
            let result = self.adapter.execute(session, &stmt, None).await;
            match result {
                Ok(response) => {
                    if !self.send_response(session, response, &[], 0, None).await? {
                        break;
                    }
                }
                Err(e) => {
                    send_error(&mut self.writer, &e);
                    break;
                }
            }
        }
        Ok(())
    }

    /// Sends a response. Returns false if an error was sent (later statements are skipped).
    async fn send_response(
        &mut self,
        session: &mut Session,
        response: ExecuteResponse,
        formats: &[i16],
        max_rows: i32,
        portal: Option<&str>,
    ) -> std::io::Result<bool> {
        match response {
            ExecuteResponse::Rows { desc, rows, tag } => {
                let formats = formats_for(formats, desc.arity());
                if portal.is_none() {
                    self.writer.send(row_description(&desc, &formats));
                }
                let tag = tag.unwrap_or_else(|| format!("SELECT {}", rows.len()));
                let mut rows: VecDeque<Row> = rows.into();
                let limit = if max_rows > 0 {
                    max_rows as usize
                } else {
                    usize::MAX
                };
                let mut sent = 0;
                while sent < limit {
                    let Some(row) = rows.pop_front() else { break };
                    self.writer
                        .send_and_maybe_flush(data_row(&row, &desc, &formats))
                        .await?;
                    sent += 1;
                }
                if !rows.is_empty() {
                    if let Some(name) = portal {
                        if let Some(p) = self.portals.get_mut(name) {
                            p.pending = Some((rows, tag, desc));
                        }
                    }
                    self.writer
                        .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()));
                } else {
                    self.writer
                        .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            tag,
                        )));
                }
                Ok(true)
            }
            ExecuteResponse::Command { tag, notice } => {
                if let Some(n) = notice {
                    send_notice(&mut self.writer, &n);
                }
                self.writer
                    .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )));
                Ok(true)
            }
            ExecuteResponse::SetVariable { name, value } => {
                if evert_adapter::session::REPORTED_VARS.contains(&name.as_str()) {
                    self.writer
                        .send(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                            Session::display_name(&name).to_string(),
                            value,
                        )));
                }
                self.writer
                    .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        "SET".into(),
                    )));
                Ok(true)
            }
            ExecuteResponse::EmptyQuery => {
                self.writer.send(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ));
                Ok(true)
            }
            ExecuteResponse::Subscribe(sub) => self.stream_subscribe(session, *sub).await,
            ExecuteResponse::CopyTo(inner) => {
                match *inner {
                    ExecuteResponse::Subscribe(sub) => self.stream_subscribe(session, *sub).await,
                    ExecuteResponse::Rows { desc, rows, .. } => {
                        self.writer.send(PgWireBackendMessage::CopyOutResponse(
                            CopyOutResponse::new(0, desc.arity() as i16, vec![0; desc.arity()]),
                        ));
                        let count = rows.len();
                        for row in rows {
                            let mut line = BytesMut::new();
                            encode_copy_row(&row, &mut line);
                            self.writer
                                .send_and_maybe_flush(PgWireBackendMessage::CopyData(
                                    CopyData::new(line.freeze()),
                                ))
                                .await?;
                        }
                        self.writer
                            .send(PgWireBackendMessage::CopyDone(CopyDone::new()));
                        self.writer.send(PgWireBackendMessage::CommandComplete(
                            CommandComplete::new(format!("COPY {count}")),
                        ));
                        Ok(true)
                    }
                    _ => {
                        send_error(
                            &mut self.writer,
                            &AdapterError::unsupported("COPY TO of this statement"),
                        );
                        Ok(false)
                    }
                }
            }
            ExecuteResponse::CopyIn(target) => self.copy_in(session, target).await,
        }
    }

    /// Streams a subscription as COPY data, flushing each batch, until it ends, the client
    /// goes away, or the statement is canceled.
    async fn stream_subscribe(
        &mut self,
        session: &mut Session,
        mut sub: SubscribeResponse,
    ) -> std::io::Result<bool> {
        let columns = sub.desc.arity();
        self.writer
            .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                0,
                columns as i16,
                vec![0; columns],
            )));
        self.writer.flush().await?;
        let cancel = std::sync::Arc::clone(&session.cancel);
        let mut count = 0usize;
        loop {
            tokio::select! {
                next = sub.next() => match next {
                    Ok(Some(rows)) => {
                        for row in rows {
                            let mut line = BytesMut::new();
                            encode_copy_row(&row, &mut line);
                            self.writer.send(PgWireBackendMessage::CopyData(CopyData::new(line.freeze())));
                            count += 1;
                        }
                        self.writer.flush().await?;
                    }
                    Ok(None) => {
                        self.writer.send(PgWireBackendMessage::CopyDone(CopyDone::new()));
                        self.writer.send(PgWireBackendMessage::CommandComplete(CommandComplete::new(format!("COPY {count}"))));
                        return Ok(true);
                    }
                    Err(e) => {
                        send_error(&mut self.writer, &e);
                        session.fail_transaction();
                        return Ok(false);
                    }
                },
                _ = cancel.canceled() => {
                    send_error(&mut self.writer, &AdapterError::Canceled);
                    session.fail_transaction();
                    return Ok(false);
                }
                message = self.reader.next() => match message? {
                    // The client closed the connection or ended the COPY.
                    None | Some(PgWireFrontendMessage::Terminate(_)) => {
                        return Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "client went away during SUBSCRIBE"));
                    }
                    Some(PgWireFrontendMessage::CopyFail(f)) => {
                        send_error_fields(&mut self.writer, "ERROR", "57014", &format!("COPY canceled by client: {}", f.message), None, None, None);
                        return Ok(false);
                    }
                    Some(PgWireFrontendMessage::CopyData(_) | PgWireFrontendMessage::CopyDone(_)) => {}
                    // Sync, Flush, or a pipelined next statement: after the stream.
                    Some(other) => self.deferred.push_back(other),
                },
            }
        }
    }

    async fn copy_in(
        &mut self,
        session: &mut Session,
        target: CopyInTarget,
    ) -> std::io::Result<bool> {
        let columns = target.columns.len();
        self.writer
            .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                0,
                columns as i16,
                vec![0; columns],
            )));
        self.writer.flush().await?;
        let mut data = BytesMut::new();
        loop {
            match self.reader.next().await? {
                Some(PgWireFrontendMessage::CopyData(d)) => data.extend_from_slice(&d.data),
                Some(PgWireFrontendMessage::CopyDone(_)) => break,
                Some(PgWireFrontendMessage::CopyFail(f)) => {
                    send_error_fields(
                        &mut self.writer,
                        "ERROR",
                        "57014",
                        &format!("COPY from stdin failed: {}", f.message),
                        None,
                        None,
                        None,
                    );
                    session.fail_transaction();
                    return Ok(false);
                }
                Some(PgWireFrontendMessage::Flush(_)) | Some(PgWireFrontendMessage::Sync(_)) => {}
                Some(_) => {
                    send_error_fields(
                        &mut self.writer,
                        "ERROR",
                        "08P01",
                        "unexpected message during COPY FROM STDIN",
                        None,
                        None,
                        None,
                    );
                    return Ok(false);
                }
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "client went away during COPY",
                    ))
                }
            }
        }
        let text = match std::str::from_utf8(&data) {
            Ok(t) => t,
            Err(_) => {
                send_error_fields(
                    &mut self.writer,
                    "ERROR",
                    "22021",
                    "invalid byte sequence for encoding \"UTF8\"",
                    None,
                    None,
                    None,
                );
                return Ok(false);
            }
        };
        let rows = match parse_copy_rows(text, &target) {
            Ok(rows) => rows,
            Err(message) => {
                send_error_fields(
                    &mut self.writer,
                    "ERROR",
                    "22P04",
                    &message,
                    None,
                    None,
                    None,
                );
                session.fail_transaction();
                return Ok(false);
            }
        };
        match self.adapter.copy_in(session, &target, rows).await {
            Ok(ExecuteResponse::Command { tag, .. }) => {
                self.writer
                    .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )));
                Ok(true)
            }
            Ok(_) => {
                send_error(
                    &mut self.writer,
                    &AdapterError::internal("COPY FROM returned rows"),
                );
                Ok(false)
            }
            Err(e) => {
                send_error(&mut self.writer, &e);
                session.fail_transaction();
                Ok(false)
            }
        }
    }

    fn parse(
        &mut self,
        session: &Session,
        sql: &str,
        oids: &[u32],
    ) -> Result<Prepared, AdapterError> {
        let mut statements = parse(sql)?;
        if statements.len() > 1 {
            return Err(AdapterError::Invalid {
                code: "42601",
                message: "cannot insert multiple commands into a prepared statement".into(),
            });
        }
        let stmt = statements.pop();
        let given: Vec<Option<ScalarType>> = oids.iter().map(|o| type_from_oid(*o)).collect();
        let desc = match &stmt {
            Some(s) => self.adapter.describe(session, s, &given)?,
            None => StatementDesc {
                params: vec![],
                result: None,
            },
        };
        Ok(Prepared { stmt, desc })
    }

    fn bind(
        &mut self,
        statement: &str,
        param_formats: &[i16],
        params: &[Option<bytes::Bytes>],
        result_formats: &[i16],
    ) -> Result<Portal, AdapterError> {
        let prepared = self
            .prepared
            .get(statement)
            .ok_or_else(|| unknown_statement(statement))?;
        if params.len() != prepared.desc.params.len() {
            return Err(AdapterError::Invalid {
                code: "08P01",
                message: format!("bind message supplies {} parameters, but prepared statement \"{statement}\" requires {}", params.len(), prepared.desc.params.len()),
            });
        }
        let param_binary = formats_for(param_formats, params.len());
        let mut values = Vec::with_capacity(params.len());
        for (i, (value, typ)) in params.iter().zip(prepared.desc.params.iter()).enumerate() {
            let row = decode_param(value.as_deref(), typ, param_binary[i]).map_err(|m| {
                AdapterError::Invalid {
                    code: "22P02",
                    message: format!("invalid value for parameter ${}: {m}", i + 1),
                }
            })?;
            values.push((row, typ.clone()));
        }
        let n = prepared
            .desc
            .result
            .as_ref()
            .map(|d| d.arity())
            .unwrap_or(0);
        Ok(Portal {
            stmt: prepared.stmt.clone(),
            params: values,
            result_formats: formats_for(result_formats, n),
            desc: prepared.desc.result.clone(),
            pending: None,
        })
    }

    async fn execute_portal(
        &mut self,
        session: &mut Session,
        name: &str,
        max_rows: i32,
    ) -> std::io::Result<()> {
        let Some(portal) = self.portals.get_mut(name) else {
            let e = unknown_portal(name);
            self.extended_error(session, &e);
            return Ok(());
        };
        // Continue a suspended portal.
        if let Some((rows, tag, desc)) = portal.pending.take() {
            let formats: Vec<i16> = portal
                .result_formats
                .iter()
                .map(|b| i16::from(*b))
                .collect();
            let response = ExecuteResponse::Rows {
                desc,
                rows: rows.into(),
                tag: Some(tag),
            };
            let name = name.to_string();
            self.send_response(session, response, &formats, max_rows, Some(&name))
                .await?;
            return Ok(());
        }
        let Some(stmt) = portal.stmt.clone() else {
            self.writer.send(PgWireBackendMessage::EmptyQueryResponse(
                EmptyQueryResponse::new(),
            ));
            return Ok(());
        };
        let params = if portal.params.is_empty() {
            None
        } else {
            Some(portal.params.clone())
        };
        let formats: Vec<i16> = portal
            .result_formats
            .iter()
            .map(|b| i16::from(*b))
            .collect();
        let result = self.adapter.execute(session, &stmt, params).await;
        match result {
            Ok(response) => {
                let name = name.to_string();
                if !self
                    .send_response(session, response, &formats, max_rows, Some(&name))
                    .await?
                {
                    self.skip_until_sync = true;
                }
            }
            Err(e) => self.extended_error(session, &e),
        }
        Ok(())
    }
}

fn unknown_statement(name: &str) -> AdapterError {
    AdapterError::Invalid {
        code: "26000",
        message: format!("prepared statement \"{name}\" does not exist"),
    }
}

fn unknown_portal(name: &str) -> AdapterError {
    AdapterError::Invalid {
        code: "34000",
        message: format!("portal \"{name}\" does not exist"),
    }
}
