//! Parsing: a query string into statements.
//!
//! Standard SQL goes to `sqlparser` with the PostgreSQL dialect. evert's own statements
//! (`SUBSCRIBE`, `... AS OF`, `SHOW MATERIALIZED VIEWS`, `FETCH ... WITH (TIMEOUT ...)`,
//! `COPY (SUBSCRIBE ...) TO STDOUT`, …) are recognised by their leading keywords and parsed
//! with sqlparser's building blocks (its expression and query parsers), so that embedded
//! queries and expressions parse exactly as they do elsewhere.

use sqlparser::ast::{self, Expr, ObjectName, Query};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::PlanError;

/// A parsed statement with the text it came from.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    pub stmt: Statement,
    /// The statement's own text (without the terminating semicolon).
    pub sql: String,
}

#[derive(Debug, Clone)]
pub enum Statement {
    /// A query, possibly with `AS OF <timestamp>`.
    Select {
        query: Box<Query>,
        as_of: Option<Expr>,
    },
    Subscribe(SubscribeStatement),
    /// `COPY (query | SUBSCRIBE ...) TO STDOUT`
    CopyTo {
        inner: Box<Statement>,
    },
    /// `COPY table [(columns)] FROM STDIN [WITH (FORMAT ..., ...)]`
    CopyFrom {
        table: ObjectName,
        columns: Vec<String>,
        options: Vec<(String, Option<String>)>,
    },
    Show(ShowStatement),
    /// `DECLARE name CURSOR FOR <SELECT | SUBSCRIBE>`
    DeclareCursor {
        name: String,
        inner: Box<Statement>,
    },
    /// `FETCH [n | ALL | NEXT] [FROM | IN] name [WITH (TIMEOUT = '...')]`
    Fetch {
        name: String,
        count: Option<u64>,
        timeout: Option<Expr>,
    },
    /// `CLOSE name`
    CloseCursor {
        name: String,
    },
    /// `EXPLAIN [PLAN FOR] query`
    Explain {
        query: Box<Query>,
    },
    /// `EXPLAIN TIMESTAMP FOR query`
    ExplainTimestamp {
        query: Box<Query>,
    },
    /// `CREATE SOURCE name FROM LOAD GENERATOR kind [(options)] [FOR ALL TABLES]`
    CreateSource(CreateSourceStatement),
    /// `DROP SOURCE [IF EXISTS] name [, ...] [CASCADE | RESTRICT]`
    DropSource {
        names: Vec<ObjectName>,
        if_exists: bool,
        cascade: bool,
    },
    /// `ALTER ... SET (RETAIN HISTORY FOR '...')` and similar evert options.
    AlterRetainHistory {
        name: ObjectName,
        retain: Option<String>,
    },
    /// An empty statement (only whitespace or comments).
    Empty,
    /// Anything else, as sqlparser parsed it.
    Sql(Box<ast::Statement>),
}

#[derive(Debug, Clone)]
pub enum SubscribeRelation {
    Name(ObjectName),
    Query(Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    Upsert,
    Debezium,
}

#[derive(Debug, Clone)]
pub struct SubscribeStatement {
    pub relation: SubscribeRelation,
    pub snapshot: Option<bool>,
    pub progress: Option<bool>,
    pub envelope: Option<(Envelope, Vec<String>)>,
    pub as_of: Option<Expr>,
    pub up_to: Option<Expr>,
}

#[derive(Debug, Clone)]
pub enum ShowStatement {
    /// `SHOW TABLES | VIEWS | MATERIALIZED VIEWS | SOURCES [FROM schema]`
    Objects { kind: ShowObjectKind },
    /// `SHOW INDEXES [ON | FROM | IN name]`
    Indexes { on: Option<ObjectName> },
    /// `SHOW SUBSOURCES [ON source | FROM schema]`
    Subsources { on: Option<ObjectName> },
    /// `SHOW COLUMNS FROM name`
    Columns { from: ObjectName },
    /// `SHOW CREATE TABLE | VIEW | MATERIALIZED VIEW | INDEX | SOURCE name`
    Create {
        kind: ShowObjectKind,
        name: ObjectName,
    },
    /// `SHOW variable` / `SHOW ALL`
    Variable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowObjectKind {
    Table,
    View,
    MaterializedView,
    Index,
    Source,
}

#[derive(Debug, Clone)]
pub struct CreateSourceStatement {
    pub name: ObjectName,
    pub if_not_exists: bool,
    pub generator: String,
    pub options: Vec<(String, Expr)>,
    pub for_all_tables: bool,
}

/// Parses a query string into its statements.
pub fn parse(sql: &str) -> Result<Vec<ParsedStatement>, PlanError> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| PlanError::Syntax {
            message: e.message.clone(),
            position: char_position(sql, e.location.line, e.location.column),
        })?;
    let mut statements = Vec::new();
    for (start, end) in statement_ranges(sql, &tokens) {
        let text = &sql[start..end];
        let parsed = parse_one(text).map_err(|e| match e {
            PlanError::Syntax { message, position } => PlanError::Syntax {
                message,
                position: position.map(|p| sql[..start].chars().count() + p),
            },
            other => other,
        })?;
        if !matches!(parsed, Statement::Empty) {
            statements.push(ParsedStatement {
                stmt: parsed,
                sql: text.trim().to_string(),
            });
        }
    }
    Ok(statements)
}

/// Byte ranges of the statements: split at top-level semicolons.
fn statement_ranges(sql: &str, tokens: &[TokenWithSpan]) -> Vec<(usize, usize)> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let byte_of = |line: u64, column: u64| -> usize {
        let line_start = line_starts
            .get((line.max(1) - 1) as usize)
            .copied()
            .unwrap_or(sql.len());
        sql[line_start..]
            .char_indices()
            .nth((column.max(1) - 1) as usize)
            .map(|(i, _)| line_start + i)
            .unwrap_or(sql.len())
    };
    let mut ranges = Vec::new();
    let mut start = 0;
    for t in tokens {
        if t.token == Token::SemiColon {
            let end = byte_of(t.span.start.line, t.span.start.column);
            ranges.push((start, end));
            start = (end + 1).min(sql.len());
        }
    }
    if start < sql.len() || ranges.is_empty() {
        ranges.push((start, sql.len()));
    }
    ranges
}

/// Converts a (1-based line, 1-based column) location into a 1-based character position.
fn char_position(sql: &str, line: u64, column: u64) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut chars = 0;
    for (i, l) in sql.split('\n').enumerate() {
        if i as u64 + 1 == line {
            return Some(chars + column as usize);
        }
        chars += l.chars().count() + 1;
    }
    Some(sql.chars().count() + 1)
}

fn syntax_error(text: &str, e: ParserError) -> PlanError {
    let message = match &e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "statement is nested too deeply".to_string(),
    };
    // sqlparser appends " at Line: L, Column: C"; turn that into a position.
    let mut position = None;
    let mut clean = message.clone();
    if let Some(idx) = message.rfind(" at Line: ") {
        let tail = &message[idx + " at Line: ".len()..];
        if let Some((line, col)) = tail.split_once(", Column: ") {
            if let (Ok(line), Ok(col)) = (line.trim().parse::<u64>(), col.trim().parse::<u64>()) {
                position = char_position(text, line, col);
                clean = message[..idx].to_string();
            }
        }
    }
    if position.is_none() {
        position = Some(text.chars().count().max(1));
    }
    let clean = clean.replace("sql parser error: ", "");
    let message = if let Some(rest) = clean.strip_prefix("Expected: ") {
        match rest.split_once(", found: ") {
            Some((expected, found)) if found.trim() == "EOF" => {
                format!("syntax error at end of input (expected {expected})")
            }
            Some((expected, found)) => format!(
                "syntax error at or near \"{}\" (expected {expected})",
                found.trim()
            ),
            None => format!("syntax error: expected {rest}"),
        }
    } else {
        format!("syntax error: {clean}")
    };
    PlanError::Syntax { message, position }
}

fn word_is(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.value.eq_ignore_ascii_case(word) && w.quote_style.is_none())
}

fn significant_tokens(text: &str) -> Result<Vec<TokenWithSpan>, PlanError> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| PlanError::Syntax {
            message: e.message.clone(),
            position: char_position(text, e.location.line, e.location.column),
        })?;
    Ok(tokens
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect())
}

/// How deeply expressions and subqueries may nest. sqlparser's default (50) refuses queries
/// PostgreSQL runs (the SQLite corpus has WHERE clauses nested ~60 deep); every later stage
/// recurses over the tree too, so the limit stays well within a thread's stack.
const RECURSION_LIMIT: usize = 128;

fn parser_for(text: &str) -> Result<Parser<'static>, PlanError> {
    static DIALECT: PostgreSqlDialect = PostgreSqlDialect {};
    Parser::new(&DIALECT)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(text)
        .map_err(|e| syntax_error(text, e))
}

fn expect_end(parser: &mut Parser, text: &str) -> Result<(), PlanError> {
    let t = parser.peek_token();
    if t.token == Token::EOF || t.token == Token::SemiColon {
        Ok(())
    } else {
        Err(syntax_error(
            text,
            ParserError::ParserError(format!(
                "Expected: end of statement, found: {}{}",
                t.token, t.span.start
            )),
        ))
    }
}

fn parse_one(text: &str) -> Result<Statement, PlanError> {
    match rewrite_mutually_recursive(text)? {
        None => parse_one_statement(text),
        Some(rewrite) => parse_one_statement(&rewrite.text).map_err(|e| match e {
            PlanError::Syntax { message, position } => PlanError::Syntax {
                message,
                position: position.map(|p| rewrite.original_position(p)),
            },
            other => other,
        }),
    }
}

/// The prefix of the name of the marker binding that `rewrite_mutually_recursive` puts first
/// in a `WITH MUTUALLY RECURSIVE` clause. A control character keeps it apart from any name
/// a user would write.
pub const MUTUALLY_RECURSIVE_MARKER: &str = "\u{1}mutually recursive";

/// `WITH MUTUALLY RECURSIVE [(RETURN | ERROR) AT RECURSION LIMIT n]` rewritten for sqlparser.
struct MutuallyRecursiveRewrite {
    text: String,
    /// `(start, old_len, new_len)` of each replaced span, in characters, in text order.
    edits: Vec<(usize, usize, usize)>,
}

impl MutuallyRecursiveRewrite {
    /// Maps a 1-based character position in the rewritten text back to the original.
    fn original_position(&self, position: usize) -> usize {
        let mut shift: isize = 0;
        for (start, old_len, new_len) in &self.edits {
            let rewritten_start = (*start as isize + shift) as usize;
            if position <= rewritten_start {
                break;
            }
            if position <= rewritten_start + new_len {
                return start + 1;
            }
            shift += *new_len as isize - *old_len as isize;
        }
        (position as isize - shift).max(1) as usize
    }
}

/// sqlparser knows `WITH RECURSIVE` and typed CTE columns (`name (a int, b text) AS (…)`),
/// but not Materialize's `WITH MUTUALLY RECURSIVE` or its recursion-limit option. The clause
/// is rewritten to `WITH RECURSIVE "<marker>" AS (SELECT 1), …`, where the marker binding's
/// name carries the option; the binder (`plan::recursive`) recognises the marker, drops it,
/// and plans the rest with mutually recursive semantics.
fn rewrite_mutually_recursive(text: &str) -> Result<Option<MutuallyRecursiveRewrite>, PlanError> {
    if !text.to_ascii_lowercase().contains("mutually") {
        return Ok(None);
    }
    let tokens = significant_tokens(text)?;
    let offset = |t: &TokenWithSpan, end: bool| -> Option<usize> {
        let location = if end { t.span.end } else { t.span.start };
        char_position(text, location.line, location.column).map(|p| p - 1)
    };
    // (start char, end char, replacement)
    let mut replacements: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0;
    while i + 2 < tokens.len() {
        if !(word_is(&tokens[i].token, "with")
            && word_is(&tokens[i + 1].token, "mutually")
            && word_is(&tokens[i + 2].token, "recursive"))
        {
            i += 1;
            continue;
        }
        let mut last = i + 2;
        let mut option = String::new();
        if tokens.get(i + 3).map(|t| &t.token) == Some(&Token::LParen) {
            let words = ["at", "recursion", "limit"];
            let action = tokens.get(i + 4).map(|t| &t.token);
            let action = match action {
                Some(t) if word_is(t, "return") => Some("return"),
                Some(t) if word_is(t, "error") => Some("error"),
                _ => None,
            };
            let shaped = action.is_some()
                && words
                    .iter()
                    .enumerate()
                    .all(|(k, w)| tokens.get(i + 5 + k).is_some_and(|t| word_is(&t.token, w)));
            // A binding starts with its name, so a parenthesis right after RECURSIVE opens the
            // option list.
            if !shaped {
                return Err(PlanError::unsupported(
                    "WITH MUTUALLY RECURSIVE options other than RETURN/ERROR AT RECURSION LIMIT",
                ));
            }
            let limit = match tokens.get(i + 8).map(|t| &t.token) {
                Some(Token::Number(n, _)) => n.parse::<u64>().ok().filter(|n| *n > 0),
                _ => None,
            };
            let Some(limit) = limit else {
                return Err(PlanError::Invalid(
                    "the recursion limit of WITH MUTUALLY RECURSIVE must be a positive integer"
                        .into(),
                ));
            };
            if tokens.get(i + 9).map(|t| &t.token) != Some(&Token::RParen) {
                return Err(PlanError::unsupported(
                    "more than one WITH MUTUALLY RECURSIVE option",
                ));
            }
            option = format!(" {} {limit}", action.unwrap_or("error"));
            last = i + 9;
        }
        let (Some(start), Some(end)) = (offset(&tokens[i + 1], false), offset(&tokens[last], true))
        else {
            i += 1;
            continue;
        };
        replacements.push((
            start,
            end,
            format!("RECURSIVE \"{MUTUALLY_RECURSIVE_MARKER}{option}\" AS (SELECT 1),"),
        ));
        i = last + 1;
    }
    if replacements.is_empty() {
        return Ok(None);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 64);
    let mut edits = Vec::new();
    let mut at = 0;
    for (start, end, replacement) in replacements {
        out.extend(&chars[at..start]);
        out.push_str(&replacement);
        edits.push((start, end - start, replacement.chars().count()));
        at = end;
    }
    out.extend(&chars[at..]);
    Ok(Some(MutuallyRecursiveRewrite { text: out, edits }))
}

/// The recursion limit of a `WITH` clause that `rewrite_mutually_recursive` produced, or
/// `None` if `with` is not `WITH MUTUALLY RECURSIVE`.
pub fn mutually_recursive_limit(with: &ast::With) -> Option<Option<evert_expr::LetRecLimit>> {
    let first = with.cte_tables.first()?;
    let name = first
        .alias
        .name
        .value
        .strip_prefix(MUTUALLY_RECURSIVE_MARKER)?;
    let mut words = name.split_whitespace();
    let limit = match (
        words.next(),
        words.next().and_then(|n| n.parse::<u64>().ok()),
    ) {
        (Some(action), Some(max_iterations)) => Some(evert_expr::LetRecLimit {
            max_iterations,
            return_at_limit: action == "return",
        }),
        _ => None,
    };
    Some(limit)
}

fn parse_one_statement(text: &str) -> Result<Statement, PlanError> {
    let tokens = significant_tokens(text)?;
    let Some(first) = tokens.first() else {
        return Ok(Statement::Empty);
    };
    let second = tokens.get(1).map(|t| &t.token);
    if word_is(&first.token, "subscribe") {
        return parse_subscribe_text(text).map(Statement::Subscribe);
    }
    if word_is(&first.token, "copy") && second == Some(&Token::LParen) {
        return parse_copy_to(text);
    }
    if word_is(&first.token, "copy") {
        return parse_copy_from(text);
    }
    if word_is(&first.token, "show") {
        return parse_show(text);
    }
    if word_is(&first.token, "declare") {
        return parse_declare(text);
    }
    if word_is(&first.token, "fetch") {
        return parse_fetch(text);
    }
    if word_is(&first.token, "close") {
        let mut parser = parser_for(text)?;
        parser.next_token();
        let name = parser
            .parse_identifier()
            .map_err(|e| syntax_error(text, e))?;
        expect_end(&mut parser, text)?;
        return Ok(Statement::CloseCursor {
            name: normalize_ident(&name),
        });
    }
    if word_is(&first.token, "explain") {
        if let Some(stmt) = parse_explain(text, &tokens)? {
            return Ok(stmt);
        }
    }
    if word_is(&first.token, "create")
        && tokens
            .iter()
            .skip(1)
            .take(2)
            .any(|t| word_is(&t.token, "source"))
    {
        return parse_create_source(text);
    }
    if word_is(&first.token, "drop") && second.is_some_and(|t| word_is(t, "source")) {
        return parse_drop_source(text);
    }
    if word_is(&first.token, "alter") && tokens.iter().any(|t| word_is(&t.token, "retain")) {
        return parse_alter_retain(text);
    }
    let is_query = word_is(&first.token, "select")
        || word_is(&first.token, "with")
        || word_is(&first.token, "values")
        || word_is(&first.token, "table")
        || first.token == Token::LParen;
    if is_query {
        let (query_text, as_of_text) = split_as_of(text, &tokens);
        let mut parser = parser_for(query_text)?;
        let query = parser.parse_query().map_err(|e| syntax_error(text, e))?;
        expect_end(&mut parser, text)?;
        let as_of = match as_of_text {
            Some(t) => Some(parse_expr_text(t, text)?),
            None => None,
        };
        return Ok(Statement::Select { query, as_of });
    }
    // `WITH (RETAIN HISTORY FOR '...')` is evert's (and Materialize's) option; sqlparser does
    // not know it. It is removed here; the catalog keeps the original text, from which the
    // adapter reads the retention.
    let stripped;
    let text = if word_is(&first.token, "create") {
        let (rest, _) = strip_retain_history(text);
        stripped = rest;
        stripped.as_str()
    } else {
        text
    };
    let mut parser = parser_for(text)?;
    let stmt = parser
        .parse_statement()
        .map_err(|e| syntax_error(text, e))?;
    expect_end(&mut parser, text)?;
    Ok(match stmt {
        ast::Statement::Query(query) => Statement::Select { query, as_of: None },
        other => Statement::Sql(Box::new(other)),
    })
}

fn parse_expr_text(expr_text: &str, whole: &str) -> Result<Expr, PlanError> {
    let mut parser = parser_for(expr_text)?;
    let expr = parser.parse_expr().map_err(|e| syntax_error(whole, e))?;
    expect_end(&mut parser, whole)?;
    Ok(expr)
}

/// Splits a trailing top-level `AS OF <expr>` off a query's text.
fn split_as_of<'a>(text: &'a str, tokens: &[TokenWithSpan]) -> (&'a str, Option<&'a str>) {
    let mut depth = 0i32;
    let mut found = None;
    for (i, t) in tokens.iter().enumerate() {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if depth == 0 && matches!(&t.token, Token::Word(w) if w.keyword == Keyword::AS) {
            if let Some(next) = tokens.get(i + 1) {
                if matches!(&next.token, Token::Word(w) if w.keyword == Keyword::OF) {
                    found = Some((t.span.start, next.span.end));
                }
            }
        }
    }
    let Some((start, end)) = found else {
        return (text, None);
    };
    let offset = |loc: sqlparser::tokenizer::Location| -> usize {
        let mut byte = 0;
        for (i, line) in text.split('\n').enumerate() {
            if i as u64 + 1 == loc.line {
                return byte
                    + line
                        .char_indices()
                        .nth((loc.column.max(1) - 1) as usize)
                        .map(|(b, _)| b)
                        .unwrap_or(line.len());
            }
            byte += line.len() + 1;
        }
        text.len()
    };
    let (a, b) = (offset(start), offset(end));
    (&text[..a], Some(&text[b..]))
}

fn parse_with_options(
    parser: &mut Parser,
    text: &str,
) -> Result<Vec<(String, Option<Expr>)>, PlanError> {
    let mut options = Vec::new();
    if !parser.parse_keyword(Keyword::WITH) {
        return Ok(options);
    }
    parser
        .expect_token(&Token::LParen)
        .map_err(|e| syntax_error(text, e))?;
    loop {
        let name = parser
            .parse_identifier()
            .map_err(|e| syntax_error(text, e))?;
        let name = name.value.to_ascii_lowercase();
        let value = if parser.consume_token(&Token::Eq)
            || !matches!(parser.peek_token().token, Token::Comma | Token::RParen)
        {
            Some(parser.parse_expr().map_err(|e| syntax_error(text, e))?)
        } else {
            None
        };
        options.push((name, value));
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser
        .expect_token(&Token::RParen)
        .map_err(|e| syntax_error(text, e))?;
    Ok(options)
}

fn bool_option(name: &str, value: &Option<Expr>) -> Result<bool, PlanError> {
    match value {
        None => Ok(true),
        Some(Expr::Value(v)) => match &v.value {
            ast::Value::Boolean(b) => Ok(*b),
            ast::Value::SingleQuotedString(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "on" | "t" => Ok(true),
                "false" | "off" | "f" => Ok(false),
                _ => Err(PlanError::InvalidParameterValue(format!(
                    "invalid value for option {name}: {s}"
                ))),
            },
            other => Err(PlanError::InvalidParameterValue(format!(
                "invalid value for option {name}: {other}"
            ))),
        },
        Some(Expr::Identifier(i))
            if i.value.eq_ignore_ascii_case("true") || i.value.eq_ignore_ascii_case("on") =>
        {
            Ok(true)
        }
        Some(Expr::Identifier(i))
            if i.value.eq_ignore_ascii_case("false") || i.value.eq_ignore_ascii_case("off") =>
        {
            Ok(false)
        }
        Some(other) => Err(PlanError::InvalidParameterValue(format!(
            "invalid value for option {name}: {other}"
        ))),
    }
}

fn parse_subscribe_text(text: &str) -> Result<SubscribeStatement, PlanError> {
    let mut parser = parser_for(text)?;
    let stmt = parse_subscribe(&mut parser, text)?;
    expect_end(&mut parser, text)?;
    Ok(stmt)
}

fn parse_subscribe(parser: &mut Parser, text: &str) -> Result<SubscribeStatement, PlanError> {
    parser.next_token(); // SUBSCRIBE
    let _ = parser.parse_keyword(Keyword::TO);
    let relation = if parser.consume_token(&Token::LParen) {
        let q = parser.parse_query().map_err(|e| syntax_error(text, e))?;
        parser
            .expect_token(&Token::RParen)
            .map_err(|e| syntax_error(text, e))?;
        SubscribeRelation::Query(q)
    } else {
        SubscribeRelation::Name(
            parser
                .parse_object_name(false)
                .map_err(|e| syntax_error(text, e))?,
        )
    };
    let mut stmt = SubscribeStatement {
        relation,
        snapshot: None,
        progress: None,
        envelope: None,
        as_of: None,
        up_to: None,
    };
    loop {
        let t = parser.peek_token().token;
        if word_is(&t, "envelope") {
            parser.next_token();
            let kind = parser.next_token().token;
            let envelope = if word_is(&kind, "upsert") {
                Envelope::Upsert
            } else if word_is(&kind, "debezium") {
                Envelope::Debezium
            } else {
                return Err(PlanError::unsupported(format!("ENVELOPE {kind}")));
            };
            parser
                .expect_token(&Token::LParen)
                .map_err(|e| syntax_error(text, e))?;
            if !word_is(&parser.next_token().token, "key") {
                return Err(PlanError::Invalid("expected KEY in ENVELOPE".into()));
            }
            let columns = parser
                .parse_parenthesized_column_list(sqlparser::parser::IsOptional::Mandatory, false)
                .map_err(|e| syntax_error(text, e))?;
            parser
                .expect_token(&Token::RParen)
                .map_err(|e| syntax_error(text, e))?;
            stmt.envelope = Some((envelope, columns.iter().map(normalize_ident).collect()));
        } else if matches!(&t, Token::Word(w) if w.keyword == Keyword::WITH) {
            for (name, value) in parse_with_options(parser, text)? {
                match name.as_str() {
                    "snapshot" => stmt.snapshot = Some(bool_option(&name, &value)?),
                    "progress" => stmt.progress = Some(bool_option(&name, &value)?),
                    other => {
                        return Err(PlanError::unsupported(format!(
                            "SUBSCRIBE option {}",
                            other.to_uppercase()
                        )))
                    }
                }
            }
        } else if matches!(&t, Token::Word(w) if w.keyword == Keyword::AS) {
            parser.next_token();
            parser
                .expect_keyword(Keyword::OF)
                .map_err(|e| syntax_error(text, e))?;
            stmt.as_of = Some(parser.parse_expr().map_err(|e| syntax_error(text, e))?);
        } else if word_is(&t, "up") {
            parser.next_token();
            parser
                .expect_keyword(Keyword::TO)
                .map_err(|e| syntax_error(text, e))?;
            stmt.up_to = Some(parser.parse_expr().map_err(|e| syntax_error(text, e))?);
        } else {
            break;
        }
    }
    Ok(stmt)
}

fn parse_copy_to(text: &str) -> Result<Statement, PlanError> {
    let mut parser = parser_for(text)?;
    parser.next_token(); // COPY
    parser
        .expect_token(&Token::LParen)
        .map_err(|e| syntax_error(text, e))?;
    let inner = if word_is(&parser.peek_token().token, "subscribe") {
        Statement::Subscribe(parse_subscribe(&mut parser, text)?)
    } else {
        let query = parser.parse_query().map_err(|e| syntax_error(text, e))?;
        Statement::Select { query, as_of: None }
    };
    parser
        .expect_token(&Token::RParen)
        .map_err(|e| syntax_error(text, e))?;
    parser
        .expect_keyword(Keyword::TO)
        .map_err(|e| syntax_error(text, e))?;
    if !word_is(&parser.next_token().token, "stdout") {
        return Err(PlanError::unsupported("COPY TO anything other than STDOUT"));
    }
    // Options such as WITH (FORMAT text) are accepted; only text is produced.
    let options = parse_with_options(&mut parser, text)?;
    for (name, value) in options {
        if name == "format" {
            let v = value
                .map(|v| v.to_string().trim_matches('\'').to_ascii_lowercase())
                .unwrap_or_default();
            if v != "text" {
                return Err(PlanError::unsupported(format!("COPY TO with FORMAT {v}")));
            }
        }
    }
    expect_end(&mut parser, text)?;
    Ok(Statement::CopyTo {
        inner: Box::new(inner),
    })
}

fn parse_copy_from(text: &str) -> Result<Statement, PlanError> {
    let mut parser = parser_for(text)?;
    parser.next_token(); // COPY
    let table = parser
        .parse_object_name(false)
        .map_err(|e| syntax_error(text, e))?;
    let columns = if parser.peek_token().token == Token::LParen {
        parser
            .parse_parenthesized_column_list(sqlparser::parser::IsOptional::Optional, false)
            .map_err(|e| syntax_error(text, e))?
            .iter()
            .map(normalize_ident)
            .collect()
    } else {
        vec![]
    };
    // `COPY t [(cols)] TO ...` is `COPY (SELECT cols FROM t) TO ...`.
    if parser.parse_keyword(Keyword::TO) {
        let mut rest = String::new();
        loop {
            let token = parser.next_token().token;
            if token == Token::EOF {
                break;
            }
            rest.push_str(&token.to_string());
            rest.push(' ');
        }
        let projection = if columns.is_empty() {
            "*".to_string()
        } else {
            columns
                .iter()
                .map(|c: &String| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return parse_copy_to(&format!(
            "COPY (SELECT {projection} FROM {table}) TO {rest}"
        ));
    }
    parser
        .expect_keyword(Keyword::FROM)
        .map_err(|e| syntax_error(text, e))?;
    if !word_is(&parser.next_token().token, "stdin") {
        return Err(PlanError::unsupported(
            "COPY FROM anything other than STDIN",
        ));
    }
    let mut options = Vec::new();
    let with = parser.parse_keyword(Keyword::WITH);
    if with || parser.peek_token().token == Token::LParen {
        parser
            .expect_token(&Token::LParen)
            .map_err(|e| syntax_error(text, e))?;
        loop {
            let name = parser
                .parse_identifier()
                .map_err(|e| syntax_error(text, e))?
                .value
                .to_ascii_lowercase();
            let value = match parser.peek_token().token {
                Token::Comma | Token::RParen => None,
                _ => Some(
                    parser
                        .next_token()
                        .token
                        .to_string()
                        .trim_matches('\'')
                        .to_string(),
                ),
            };
            options.push((name, value));
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
        parser
            .expect_token(&Token::RParen)
            .map_err(|e| syntax_error(text, e))?;
    }
    expect_end(&mut parser, text)?;
    Ok(Statement::CopyFrom {
        table,
        columns,
        options,
    })
}

fn parse_show(text: &str) -> Result<Statement, PlanError> {
    let tokens = significant_tokens(text)?;
    let words: Vec<String> = tokens
        .iter()
        .take_while(|t| t.token != Token::EOF && t.token != Token::SemiColon)
        .map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_lowercase(),
            other => other.to_string(),
        })
        .collect();
    let rest_name = |skip: usize| -> Result<ObjectName, PlanError> {
        let mut parser = parser_for(text)?;
        for _ in 0..skip {
            parser.next_token();
        }
        let name = parser
            .parse_object_name(false)
            .map_err(|e| syntax_error(text, e))?;
        expect_end(&mut parser, text)?;
        Ok(name)
    };
    let w: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
    let object_kind = |w: &[&str]| -> Option<(ShowObjectKind, usize)> {
        match w {
            ["tables", ..] | ["table", ..] => Some((ShowObjectKind::Table, 1)),
            ["views", ..] | ["view", ..] => Some((ShowObjectKind::View, 1)),
            ["materialized", "views", ..] | ["materialized", "view", ..] => {
                Some((ShowObjectKind::MaterializedView, 2))
            }
            ["indexes", ..] | ["index", ..] | ["indices", ..] => Some((ShowObjectKind::Index, 1)),
            ["sources", ..] | ["source", ..] => Some((ShowObjectKind::Source, 1)),
            _ => None,
        }
    };
    let show = match &w[1..] {
        ["create", rest @ ..] => {
            let (kind, n) = object_kind(rest).ok_or_else(|| {
                PlanError::unsupported(format!("SHOW CREATE {}", rest.join(" ").to_uppercase()))
            })?;
            ShowStatement::Create {
                kind,
                name: rest_name(2 + n)?,
            }
        }
        ["columns", "from" | "in", ..] => ShowStatement::Columns {
            from: rest_name(3)?,
        },
        ["subsources", after @ ..] => match after {
            [] => ShowStatement::Subsources { on: None },
            ["on", ..] => ShowStatement::Subsources {
                on: Some(rest_name(3)?),
            },
            // As for SHOW SOURCES: user objects live in public, FROM public is accepted.
            ["from" | "in", _schema] => ShowStatement::Subsources { on: None },
            _ => {
                return Err(PlanError::Invalid(format!(
                    "syntax error in SHOW: {}",
                    w.join(" ")
                )))
            }
        },
        [first, ..]
            if object_kind(&w[1..]).is_some()
                && matches!(
                    *first,
                    "tables" | "views" | "materialized" | "indexes" | "indices" | "sources"
                ) =>
        {
            let (kind, n) = object_kind(&w[1..]).expect("checked");
            let after = &w[1 + n..];
            match kind {
                ShowObjectKind::Index => match after {
                    [] => ShowStatement::Indexes { on: None },
                    ["on" | "from" | "in", ..] => ShowStatement::Indexes {
                        on: Some(rest_name(2 + n)?),
                    },
                    _ => {
                        return Err(PlanError::Invalid(format!(
                            "syntax error in SHOW: {}",
                            w.join(" ")
                        )))
                    }
                },
                _ => match after {
                    [] => ShowStatement::Objects { kind },
                    // Schemas other than public hold no user objects; FROM public is accepted.
                    ["from" | "in", _schema] => ShowStatement::Objects { kind },
                    _ => {
                        return Err(PlanError::Invalid(format!(
                            "syntax error in SHOW: {}",
                            w.join(" ")
                        )))
                    }
                },
            }
        }
        [] => {
            return Err(PlanError::Syntax {
                message: "syntax error at end of input".into(),
                position: Some(text.chars().count()),
            })
        }
        rest => ShowStatement::Variable(rest.join(" ").replace(" . ", ".")),
    };
    Ok(Statement::Show(show))
}

fn parse_declare(text: &str) -> Result<Statement, PlanError> {
    let mut parser = parser_for(text)?;
    parser.next_token(); // DECLARE
    let name = normalize_ident(
        &parser
            .parse_identifier()
            .map_err(|e| syntax_error(text, e))?,
    );
    // Accept the usual cursor options, which do not change evert's behaviour.
    while matches!(parser.peek_token().token, Token::Word(ref w) if ["binary", "insensitive", "no", "scroll"].contains(&w.value.to_ascii_lowercase().as_str()))
    {
        parser.next_token();
    }
    parser
        .expect_keyword(Keyword::CURSOR)
        .map_err(|e| syntax_error(text, e))?;
    if parser.parse_keyword(Keyword::WITH) || parser.parse_keyword(Keyword::WITHOUT) {
        parser
            .expect_keyword(Keyword::HOLD)
            .map_err(|e| syntax_error(text, e))?;
    }
    parser
        .expect_keyword(Keyword::FOR)
        .map_err(|e| syntax_error(text, e))?;
    let inner = if word_is(&parser.peek_token().token, "subscribe") {
        Statement::Subscribe(parse_subscribe(&mut parser, text)?)
    } else {
        let query = parser.parse_query().map_err(|e| syntax_error(text, e))?;
        Statement::Select { query, as_of: None }
    };
    expect_end(&mut parser, text)?;
    Ok(Statement::DeclareCursor {
        name,
        inner: Box::new(inner),
    })
}

fn parse_fetch(text: &str) -> Result<Statement, PlanError> {
    let mut parser = parser_for(text)?;
    parser.next_token(); // FETCH
    let mut count = Some(1);
    let t = parser.peek_token().token;
    match &t {
        Token::Number(n, _) => {
            count = Some(n.parse::<u64>().map_err(|_| {
                PlanError::InvalidParameterValue(format!("invalid FETCH count {n}"))
            })?);
            parser.next_token();
        }
        Token::Word(w) if w.keyword == Keyword::ALL => {
            count = None;
            parser.next_token();
        }
        Token::Word(w) if w.keyword == Keyword::NEXT => {
            parser.next_token();
        }
        Token::Word(w) if w.keyword == Keyword::FORWARD => {
            parser.next_token();
            match parser.peek_token().token {
                Token::Number(n, _) => {
                    count = Some(n.parse::<u64>().map_err(|_| {
                        PlanError::InvalidParameterValue(format!("invalid FETCH count {n}"))
                    })?);
                    parser.next_token();
                }
                Token::Word(w) if w.keyword == Keyword::ALL => {
                    count = None;
                    parser.next_token();
                }
                _ => {}
            }
        }
        _ => {}
    }
    if !parser.parse_keyword(Keyword::FROM) {
        let _ = parser.parse_keyword(Keyword::IN);
    }
    let name = normalize_ident(
        &parser
            .parse_identifier()
            .map_err(|e| syntax_error(text, e))?,
    );
    let mut timeout = None;
    for (option, value) in parse_with_options(&mut parser, text)? {
        match option.as_str() {
            "timeout" => timeout = value,
            other => {
                return Err(PlanError::unsupported(format!(
                    "FETCH option {}",
                    other.to_uppercase()
                )))
            }
        }
    }
    expect_end(&mut parser, text)?;
    Ok(Statement::Fetch {
        name,
        count,
        timeout,
    })
}

fn parse_explain(text: &str, tokens: &[TokenWithSpan]) -> Result<Option<Statement>, PlanError> {
    let second = tokens.get(1).map(|t| &t.token);
    if second.is_some_and(|t| word_is(t, "timestamp")) {
        let mut parser = parser_for(text)?;
        parser.next_token();
        parser.next_token();
        parser
            .expect_keyword(Keyword::FOR)
            .map_err(|e| syntax_error(text, e))?;
        let query = parser.parse_query().map_err(|e| syntax_error(text, e))?;
        expect_end(&mut parser, text)?;
        return Ok(Some(Statement::ExplainTimestamp { query }));
    }
    let mut parser = parser_for(text)?;
    parser.next_token();
    if word_is(&parser.peek_token().token, "plan") {
        parser.next_token();
        parser
            .expect_keyword(Keyword::FOR)
            .map_err(|e| syntax_error(text, e))?;
    } else if matches!(parser.peek_token().token, Token::Word(ref w) if w.keyword == Keyword::ANALYZE || w.keyword == Keyword::VERBOSE)
    {
        return Err(PlanError::unsupported("EXPLAIN ANALYZE"));
    }
    let t = parser.peek_token().token;
    let is_query = matches!(&t, Token::Word(w) if matches!(w.keyword, Keyword::SELECT | Keyword::WITH | Keyword::VALUES))
        || t == Token::LParen;
    if !is_query {
        return Err(PlanError::unsupported(
            "EXPLAIN of statements other than queries",
        ));
    }
    let query = parser.parse_query().map_err(|e| syntax_error(text, e))?;
    expect_end(&mut parser, text)?;
    Ok(Some(Statement::Explain { query }))
}

fn parse_drop_source(text: &str) -> Result<Statement, PlanError> {
    let mut parser = parser_for(text)?;
    parser.next_token(); // DROP
    parser.next_token(); // SOURCE
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let mut names = Vec::new();
    loop {
        names.push(
            parser
                .parse_object_name(false)
                .map_err(|e| syntax_error(text, e))?,
        );
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    let cascade = parser.parse_keyword(Keyword::CASCADE);
    if !cascade {
        let _ = parser.parse_keyword(Keyword::RESTRICT);
    }
    expect_end(&mut parser, text)?;
    Ok(Statement::DropSource {
        names,
        if_exists,
        cascade,
    })
}

fn parse_create_source(text: &str) -> Result<Statement, PlanError> {
    // `WITH (RETAIN HISTORY FOR '...')` is read by the adapter from the catalog's text.
    let (text, _) = strip_retain_history(text);
    let text = text.as_str();
    let mut parser = parser_for(text)?;
    parser.next_token(); // CREATE
    if !word_is(&parser.next_token().token, "source") {
        return Err(PlanError::Invalid("expected SOURCE".into()));
    }
    let if_not_exists = parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = parser
        .parse_object_name(false)
        .map_err(|e| syntax_error(text, e))?;
    parser
        .expect_keyword(Keyword::FROM)
        .map_err(|e| syntax_error(text, e))?;
    let kind = parser.next_token().token;
    if !word_is(&kind, "load") {
        return Err(PlanError::unsupported(format!("CREATE SOURCE FROM {kind}")));
    }
    if !word_is(&parser.next_token().token, "generator") {
        return Err(PlanError::Invalid("expected GENERATOR after LOAD".into()));
    }
    let generator = parser
        .parse_identifier()
        .map_err(|e| syntax_error(text, e))?
        .value
        .to_ascii_lowercase();
    let mut options = Vec::new();
    if parser.consume_token(&Token::LParen) {
        loop {
            let mut words = Vec::new();
            while let Token::Word(w) = parser.peek_token().token {
                if w.quote_style.is_some() {
                    break;
                }
                words.push(w.value.to_ascii_lowercase());
                parser.next_token();
            }
            let _ = parser.consume_token(&Token::Eq);
            let value = parser.parse_expr().map_err(|e| syntax_error(text, e))?;
            options.push((words.join(" "), value));
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
        parser
            .expect_token(&Token::RParen)
            .map_err(|e| syntax_error(text, e))?;
    }
    let mut for_all_tables = false;
    if parser.parse_keyword(Keyword::FOR) {
        parser
            .expect_keyword(Keyword::ALL)
            .map_err(|e| syntax_error(text, e))?;
        parser
            .expect_keyword(Keyword::TABLES)
            .map_err(|e| syntax_error(text, e))?;
        for_all_tables = true;
    }
    expect_end(&mut parser, text)?;
    Ok(Statement::CreateSource(CreateSourceStatement {
        name,
        if_not_exists,
        generator,
        options,
        for_all_tables,
    }))
}

fn parse_alter_retain(text: &str) -> Result<Statement, PlanError> {
    let mut parser = parser_for(text)?;
    parser.next_token(); // ALTER
                         // ALTER [TABLE | MATERIALIZED VIEW | SOURCE | INDEX] name SET (RETAIN HISTORY [=] FOR '...') / RESET (RETAIN HISTORY)
    while let Token::Word(w) = parser.peek_token().token {
        if ["table", "materialized", "view", "source", "index"]
            .contains(&w.value.to_ascii_lowercase().as_str())
            && w.quote_style.is_none()
        {
            parser.next_token();
        } else {
            break;
        }
    }
    let name = parser
        .parse_object_name(false)
        .map_err(|e| syntax_error(text, e))?;
    let reset = if parser.parse_keyword(Keyword::SET) {
        false
    } else if parser.parse_keyword(Keyword::RESET) {
        true
    } else {
        return Err(PlanError::unsupported("this ALTER statement"));
    };
    parser
        .expect_token(&Token::LParen)
        .map_err(|e| syntax_error(text, e))?;
    if !word_is(&parser.next_token().token, "retain")
        || !word_is(&parser.next_token().token, "history")
    {
        return Err(PlanError::unsupported(
            "ALTER options other than RETAIN HISTORY",
        ));
    }
    let retain = if reset {
        None
    } else {
        let _ = parser.consume_token(&Token::Eq);
        parser
            .expect_keyword(Keyword::FOR)
            .map_err(|e| syntax_error(text, e))?;
        match parser.next_token().token {
            Token::SingleQuotedString(s) => Some(s),
            other => {
                return Err(PlanError::Invalid(format!(
                    "expected a duration string, found {other}"
                )))
            }
        }
    };
    parser
        .expect_token(&Token::RParen)
        .map_err(|e| syntax_error(text, e))?;
    expect_end(&mut parser, text)?;
    Ok(Statement::AlterRetainHistory { name, retain })
}

/// Removes a `WITH (RETAIN HISTORY [=] FOR '<duration>')` clause from statement text,
/// returning the remaining text and the duration.
pub fn strip_retain_history(text: &str) -> (String, Option<String>) {
    match RETAIN_HISTORY.captures(text) {
        Some(c) => {
            let whole = c.get(0).expect("match");
            let duration = c.get(1).map(|m| m.as_str().to_string());
            (
                format!("{}{}", &text[..whole.start()], &text[whole.end()..]),
                duration,
            )
        }
        None => (text.to_string(), None),
    }
}

/// The duration of a `WITH (RETAIN HISTORY FOR '…')` clause in `text`, if any, without
/// copying the text: reads ask each item they touch for its retention window.
pub fn retain_history(text: &str) -> Option<&str> {
    RETAIN_HISTORY
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

// Compiled once: compiling it per call was an eighth of a point lookup's CPU time.
static RETAIN_HISTORY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?is)\bwith\s*\(\s*retain\s+history\s*(?:=\s*)?for\s*'([^']*)'\s*\)")
        .expect("valid regex")
});

/// An identifier as PostgreSQL folds it: unquoted identifiers are lowercased.
pub fn normalize_ident(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// The parts of an object name, folded.
pub fn normalize_name(name: &ObjectName) -> Result<Vec<String>, PlanError> {
    name.0
        .iter()
        .map(|part| match part {
            ast::ObjectNamePart::Identifier(i) => Ok(normalize_ident(i)),
            other => Err(PlanError::unsupported(format!("object name part {other}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_recognises_statements() {
        let stmts =
            parse("SELECT 1; SUBSCRIBE TO v WITH (PROGRESS); select * from t as of 5;;").unwrap();
        assert_eq!(stmts.len(), 3);
        assert!(matches!(
            stmts[1].stmt,
            Statement::Subscribe(SubscribeStatement {
                progress: Some(true),
                ..
            })
        ));
        assert!(matches!(
            stmts[2].stmt,
            Statement::Select { as_of: Some(_), .. }
        ));
        assert!(matches!(
            parse("COPY (SUBSCRIBE (SELECT 1)) TO STDOUT").unwrap()[0].stmt,
            Statement::CopyTo { .. }
        ));
        assert!(matches!(
            parse("SHOW MATERIALIZED VIEWS").unwrap()[0].stmt,
            Statement::Show(ShowStatement::Objects {
                kind: ShowObjectKind::MaterializedView
            })
        ));
        assert!(matches!(
            parse("FETCH 10 c WITH (TIMEOUT = '1s')").unwrap()[0].stmt,
            Statement::Fetch {
                count: Some(10),
                timeout: Some(_),
                ..
            }
        ));
        assert!(parse("  -- just a comment\n").unwrap().is_empty());
        let (rest, d) =
            strip_retain_history("CREATE TABLE t (a int) WITH (RETAIN HISTORY FOR '1h')");
        assert_eq!(
            (rest.trim(), d.as_deref()),
            ("CREATE TABLE t (a int)", Some("1h"))
        );
        assert!(
            parse("CREATE MATERIALIZED VIEW v WITH (RETAIN HISTORY = FOR '10s') AS SELECT 1")
                .is_ok()
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("SELECT 1; SELEC 2").unwrap_err();
        assert_eq!(err.code(), "42601");
        assert!(err.position().unwrap() >= 11, "{err:?}");
    }
}
