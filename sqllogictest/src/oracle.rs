//! # The PostgreSQL oracle
//!
//! Differential testing of evert's maintained views against PostgreSQL 15:
//!
//! 1. a [`Generator`] makes a random schema (2–3 tables of `integer`, `numeric` and `text`
//!    columns), NULL-heavy rows over small domains (so joins match and groups collide), and
//!    queries over the supported surface: inner/left/right/full joins, IN / NOT IN / EXISTS /
//!    scalar subqueries (correlated or not), aggregates with GROUP BY / HAVING, DISTINCT,
//!    UNION / INTERSECT / EXCEPT [ALL], CASE / COALESCE / NULLIF, ORDER BY + LIMIT / OFFSET,
//!    and the shapes of `oracle/shapes.rs`: window functions (over rows, over groups, and in a
//!    subquery filtered outside), `WITH RECURSIVE` (closures with `UNION`, depth-bounded
//!    walks with `UNION ALL`, joined to the tables) and `GROUPING SETS` / `ROLLUP` / `CUBE`
//!    with `GROUPING(…)`;
//! 2. [`run_case`] creates the tables in both systems, each query as a materialized view in
//!    evert, then applies batches of random INSERT / UPDATE / DELETE to both and, after every
//!    batch, compares every view with the query run from scratch by PostgreSQL;
//! 3. on a mismatch, [`minimize`] shrinks the [`Scenario`] (first to the table contents at the
//!    time of the mismatch, then statement by statement, then the query expression by
//!    expression) while the mismatch persists, and [`Scenario::reproduction`] prints it as a
//!    ready-to-paste `.slt` test.
//!
//! Both sides are reached through `tokio-postgres`' simple query protocol, so values are
//! compared in PostgreSQL's text format, as multisets of rows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio_postgres::Client;

use crate::corpus::{execute, Outcome};

mod shapes;
use shapes::WindowInput;

/// A column type the generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Num,
    Text,
    Bool,
}

impl Ty {
    fn sql(self) -> &'static str {
        match self {
            Ty::Int => "integer",
            Ty::Num => "numeric",
            Ty::Text => "text",
            Ty::Bool => "boolean",
        }
    }
    fn simple_literal(self) -> &'static str {
        match self {
            Ty::Int => "1",
            Ty::Num => "1.5",
            Ty::Text => "'a'",
            Ty::Bool => "true",
        }
    }
}

/// An expression: a leaf of SQL text, or text pieces around typed children (so a shrinker can
/// replace a node by one of its children, or by a literal, without knowing SQL).
#[derive(Debug, Clone)]
pub enum Expr {
    Leaf(String, Ty),
    Node {
        pieces: Vec<String>,
        children: Vec<Expr>,
        ty: Ty,
    },
}

impl Expr {
    fn leaf(text: impl Into<String>, ty: Ty) -> Expr {
        Expr::Leaf(text.into(), ty)
    }
    fn node(ty: Ty, pieces: &[&str], children: Vec<Expr>) -> Expr {
        debug_assert_eq!(pieces.len(), children.len() + 1);
        Expr::Node {
            pieces: pieces.iter().map(|s| s.to_string()).collect(),
            children,
            ty,
        }
    }
    pub fn ty(&self) -> Ty {
        match self {
            Expr::Leaf(_, ty) | Expr::Node { ty, .. } => *ty,
        }
    }
    pub fn sql(&self) -> String {
        let mut out = String::new();
        self.render(&mut out);
        out
    }
    fn render(&self, out: &mut String) {
        match self {
            Expr::Leaf(s, _) => out.push_str(s),
            Expr::Node {
                pieces, children, ..
            } => {
                for (i, p) in pieces.iter().enumerate() {
                    out.push_str(p);
                    if let Some(c) = children.get(i) {
                        c.render(out);
                    }
                }
            }
        }
    }
    /// Smaller expressions of the same type: each same-typed child, a literal, and this node
    /// with one child shrunk.
    fn shrinks(&self) -> Vec<Expr> {
        let mut out = Vec::new();
        let literal = Expr::leaf(self.ty().simple_literal(), self.ty());
        if let Expr::Node {
            pieces,
            children,
            ty,
        } = self
        {
            for c in children {
                if c.ty() == *ty {
                    out.push(c.clone());
                }
            }
            out.push(literal);
            for (i, c) in children.iter().enumerate() {
                for smaller in c.shrinks() {
                    let mut children = children.clone();
                    children[i] = smaller;
                    out.push(Expr::Node {
                        pieces: pieces.clone(),
                        children,
                        ty: *ty,
                    });
                }
            }
        } else if let Expr::Leaf(text, _) = self {
            if text.len() > literal.sql().len() + 2 {
                out.push(literal);
            }
        }
        out
    }
}

/// A column in scope: `qualifier.name`.
#[derive(Debug, Clone)]
struct Column {
    qualifier: String,
    name: String,
    ty: Ty,
}

impl Column {
    fn expr(&self) -> Expr {
        Expr::leaf(format!("{}.{}", self.qualifier, self.name), self.ty)
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Ty)>,
}

impl Table {
    fn create(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|(n, t)| format!("{n} {}", t.sql()))
            .collect();
        format!("CREATE TABLE {} ({})", self.name, cols.join(", "))
    }
    fn scope(&self, alias: &str) -> Vec<Column> {
        self.columns
            .iter()
            .map(|(n, t)| Column {
                qualifier: alias.to_string(),
                name: n.clone(),
                ty: *t,
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Join {
    pub kind: &'static str,
    pub table: String,
    pub alias: String,
    pub on: Expr,
}

/// How the keys of `GROUP BY` are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// `GROUP BY k1, k2`.
    Plain,
    /// `GROUP BY ROLLUP (k1, k2)`.
    Rollup,
    /// `GROUP BY CUBE (k1, k2)`.
    Cube,
    /// `GROUP BY k1, ROLLUP (k2)`.
    FirstThenRollup,
    /// `GROUP BY GROUPING SETS ((k1, k2), (k2), ())`: each set lists positions in the keys.
    Sets(Vec<Vec<usize>>),
}

/// A generated query, kept in parts so it can be shrunk.
#[derive(Debug, Clone)]
pub struct Query {
    /// A `WITH RECURSIVE …` prefix (fixed text: the query's tables refer to it).
    pub with: Option<String>,
    pub distinct: bool,
    pub select: Vec<Expr>,
    pub from: (String, String),
    pub joins: Vec<Join>,
    pub where_: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub grouping: Grouping,
    pub having: Option<Expr>,
    pub set_op: Option<(&'static str, Box<Query>)>,
    /// `ORDER BY` every output column (so the rows kept are determined), `LIMIT`, `OFFSET`.
    pub order_limit: Option<(Vec<&'static str>, u32, u32)>,
}

impl Query {
    pub fn sql(&self) -> String {
        let mut s = String::new();
        if let Some(with) = &self.with {
            let _ = write!(s, "{with} ");
        }
        s.push_str("SELECT ");
        if self.distinct {
            s.push_str("DISTINCT ");
        }
        let items: Vec<String> = self
            .select
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{} AS c{i}", e.sql()))
            .collect();
        s.push_str(&items.join(", "));
        let _ = write!(s, " FROM {} AS {}", self.from.0, self.from.1);
        for j in &self.joins {
            let _ = write!(
                s,
                " {} JOIN {} AS {} ON {}",
                j.kind,
                j.table,
                j.alias,
                j.on.sql()
            );
        }
        if let Some(w) = &self.where_ {
            let _ = write!(s, " WHERE {}", w.sql());
        }
        if !self.group_by.is_empty() {
            let keys: Vec<String> = self.group_by.iter().map(Expr::sql).collect();
            let list = keys.join(", ");
            let _ = match &self.grouping {
                Grouping::Plain => write!(s, " GROUP BY {list}"),
                Grouping::Rollup => write!(s, " GROUP BY ROLLUP ({list})"),
                Grouping::Cube => write!(s, " GROUP BY CUBE ({list})"),
                Grouping::FirstThenRollup => write!(
                    s,
                    " GROUP BY {}, ROLLUP ({})",
                    keys[0],
                    keys[1..].join(", ")
                ),
                Grouping::Sets(sets) => {
                    let sets: Vec<String> = sets
                        .iter()
                        .map(|set| {
                            let keys: Vec<&str> = set
                                .iter()
                                .filter_map(|&i| keys.get(i).map(String::as_str))
                                .collect();
                            format!("({})", keys.join(", "))
                        })
                        .collect();
                    write!(s, " GROUP BY GROUPING SETS ({})", sets.join(", "))
                }
            };
        }
        if let Some(h) = &self.having {
            let _ = write!(s, " HAVING {}", h.sql());
        }
        if let Some((op, right)) = &self.set_op {
            let _ = write!(s, " {op} {}", right.sql());
        }
        if let Some((directions, limit, offset)) = &self.order_limit {
            let keys: Vec<String> = directions
                .iter()
                .enumerate()
                .map(|(i, d)| format!("{} {d}", i + 1))
                .collect();
            let _ = write!(s, " ORDER BY {} LIMIT {limit}", keys.join(", "));
            if *offset > 0 {
                let _ = write!(s, " OFFSET {offset}");
            }
        }
        s
    }

    /// Every expression slot of the query (not of its set-operation partner).
    fn slots_mut(&mut self) -> Vec<&mut Expr> {
        let mut out: Vec<&mut Expr> = self.select.iter_mut().collect();
        out.extend(self.joins.iter_mut().map(|j| &mut j.on));
        out.extend(self.where_.iter_mut());
        out.extend(self.group_by.iter_mut());
        out.extend(self.having.iter_mut());
        out
    }

    /// Smaller queries, the most drastic first.
    fn shrinks(&self) -> Vec<Query> {
        let mut out = Vec::new();
        let mut push = |f: &dyn Fn(&mut Query)| {
            let mut q = self.clone();
            f(&mut q);
            out.push(q);
        };
        if self.set_op.is_some() {
            push(&|q| q.set_op = None);
            push(&|q| {
                if let Some((_, right)) = q.set_op.take() {
                    let with = q.with.take();
                    *q = *right;
                    q.with = with;
                }
            });
        }
        if self.order_limit.is_some() {
            push(&|q| q.order_limit = None);
        }
        for i in (0..self.joins.len()).rev() {
            push(&|q| {
                q.joins.remove(i);
            });
            if self.joins[i].kind != "INNER" {
                push(&|q| q.joins[i].kind = "INNER");
            }
        }
        if self.where_.is_some() {
            push(&|q| q.where_ = None);
        }
        if self.having.is_some() {
            push(&|q| q.having = None);
        }
        if self.grouping != Grouping::Plain {
            push(&|q| q.grouping = Grouping::Plain);
        }
        if self.distinct {
            push(&|q| q.distinct = false);
        }
        if self.select.len() > 1 && self.set_op.is_none() {
            for i in 0..self.select.len() {
                push(&|q| {
                    q.select.remove(i);
                    if let Some((d, _, _)) = &mut q.order_limit {
                        d.truncate(q.select.len());
                    }
                });
            }
        }
        // Grouping sets name keys by position: keep the keys while they are in use.
        for i in 0..self.group_by.len() * usize::from(self.grouping == Grouping::Plain) {
            push(&|q| {
                q.group_by.remove(i);
            });
        }
        let slots = self.clone().slots_mut().len();
        for slot in 0..slots {
            let current = self.clone().slots_mut()[slot].clone();
            for smaller in current.shrinks() {
                let mut q = self.clone();
                *q.slots_mut()[slot] = smaller;
                out.push(q);
            }
        }
        if let Some((op, right)) = &self.set_op {
            for smaller in right.shrinks() {
                let mut q = self.clone();
                q.set_op = Some((op, Box::new(smaller)));
                out.push(q);
            }
        }
        out
    }
}

/// Random schemas, data, queries and changes.
pub struct Generator {
    rng: StdRng,
    pub tables: Vec<Table>,
    aliases: usize,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tables = Vec::new();
        for t in 0..rng.gen_range(2..=3) {
            let mut columns = vec![("k".to_string(), Ty::Int)];
            for c in 0..rng.gen_range(2..=3) {
                let ty = *[Ty::Int, Ty::Int, Ty::Num, Ty::Text]
                    .choose(&mut rng)
                    .unwrap_or(&Ty::Int);
                columns.push((format!("{}{c}", ["a", "b", "c"][t]), ty));
            }
            tables.push(Table {
                name: format!("t{t}"),
                columns,
            });
        }
        Generator {
            rng,
            tables,
            aliases: 0,
        }
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    fn value(&mut self, ty: Ty) -> String {
        if self.rng.gen_bool(0.3) {
            return "NULL".into();
        }
        let pick = |rng: &mut StdRng, options: &[&str]| {
            options[rng.gen_range(0..options.len())].to_string()
        };
        match ty {
            Ty::Int => pick(&mut self.rng, &["0", "1", "2", "3", "-1", "4"]),
            Ty::Num => pick(&mut self.rng, &["0", "1.5", "-2.25", "3", "0.10", "10"]),
            Ty::Text => pick(&mut self.rng, &["'a'", "'b'", "''", "'ab'", "'B'", "'a b'"]),
            Ty::Bool => pick(&mut self.rng, &["true", "false"]),
        }
    }

    fn literal(&mut self, ty: Ty) -> Expr {
        let v = if self.rng.gen_bool(0.1) {
            format!("NULL::{}", ty.sql())
        } else {
            match ty {
                Ty::Int => ["0", "1", "2", "-1", "3"][self.rng.gen_range(0..5)].to_string(),
                Ty::Num => ["0.5", "1.25", "2", "-1.5"][self.rng.gen_range(0..4)].to_string(),
                Ty::Text => ["'a'", "'b'", "''", "'ab'"][self.rng.gen_range(0..4)].to_string(),
                Ty::Bool => ["true", "false"][self.rng.gen_range(0..2)].to_string(),
            }
        };
        Expr::leaf(v, ty)
    }

    /// Initial rows: one INSERT per row.
    pub fn initial_rows(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.tables.clone() {
            for _ in 0..self.rng.gen_range(0..=8) {
                out.push(self.insert(&t));
            }
        }
        out
    }

    fn insert(&mut self, t: &Table) -> String {
        let values: Vec<String> = t.columns.iter().map(|(_, ty)| self.value(*ty)).collect();
        format!("INSERT INTO {} VALUES ({})", t.name, values.join(", "))
    }

    /// One random change to a random table.
    pub fn change(&mut self) -> String {
        let t = self.tables[self.rng.gen_range(0..self.tables.len())].clone();
        let scope: Vec<Column> = t
            .columns
            .iter()
            .map(|(n, ty)| Column {
                qualifier: t.name.clone(),
                name: n.clone(),
                ty: *ty,
            })
            .collect();
        match self.rng.gen_range(0..10) {
            0..=3 => self.insert(&t),
            4..=7 => {
                let (column, ty) = t.columns[self.rng.gen_range(0..t.columns.len())].clone();
                let value = if self.rng.gen_bool(0.5) {
                    Expr::leaf(self.value(ty), ty)
                } else {
                    self.expr(ty, &scope, &[], 2)
                };
                let predicate = self.predicate(&scope, &[], 2);
                format!(
                    "UPDATE {} SET {column} = {} WHERE {}",
                    t.name,
                    value.sql(),
                    predicate.sql()
                )
            }
            _ => {
                let predicate = self.predicate(&scope, &[], 2);
                format!("DELETE FROM {} WHERE {}", t.name, predicate.sql())
            }
        }
    }

    fn column_of(&mut self, ty: Ty, scope: &[Column]) -> Option<Expr> {
        let matching: Vec<&Column> = scope.iter().filter(|c| c.ty == ty).collect();
        if matching.is_empty() {
            None
        } else {
            Some(matching[self.rng.gen_range(0..matching.len())].expr())
        }
    }

    /// A typed expression over `scope`; `outer` columns may appear in subqueries (correlation).
    fn expr(&mut self, ty: Ty, scope: &[Column], outer: &[Column], depth: u32) -> Expr {
        if ty == Ty::Bool {
            return self.predicate(scope, outer, depth);
        }
        let leaf_only = depth >= 3;
        // Columns are the most likely leaves: literals alone make constant-folded queries.
        let choice = if leaf_only {
            self.rng.gen_range(0..4)
        } else {
            self.rng.gen_range(0..17)
        };
        match (ty, choice) {
            (_, 0 | 1 | 3 | 14 | 15 | 16) if leaf_only || choice != 3 => self
                .column_of(ty, scope)
                .unwrap_or_else(|| self.literal(ty)),
            (_, 2) => self.literal(ty),
            (_, 3) => {
                let p = self.predicate(scope, outer, depth + 1);
                let a = self.expr(ty, scope, outer, depth + 1);
                if self.rng.gen_bool(0.5) {
                    let b = self.expr(ty, scope, outer, depth + 1);
                    Expr::node(
                        ty,
                        &["CASE WHEN ", " THEN ", " ELSE ", " END"],
                        vec![p, a, b],
                    )
                } else {
                    Expr::node(ty, &["CASE WHEN ", " THEN ", " END"], vec![p, a])
                }
            }
            (_, 4) => {
                let a = self.expr(ty, scope, outer, depth + 1);
                let b = self.expr(ty, scope, outer, depth + 1);
                Expr::node(ty, &["COALESCE(", ", ", ")"], vec![a, b])
            }
            (_, 5) => {
                let a = self.expr(ty, scope, outer, depth + 1);
                let b = self.expr(ty, scope, outer, depth + 1);
                Expr::node(ty, &["NULLIF(", ", ", ")"], vec![a, b])
            }
            (_, 6) if depth <= 1 => self.scalar_subquery(ty, scope, depth),
            (Ty::Int, 7) => {
                let a = self.expr(Ty::Int, scope, outer, depth + 1);
                let b = self.expr(Ty::Int, scope, outer, depth + 1);
                let op = ["+", "-", "*"][self.rng.gen_range(0..3)];
                Expr::node(Ty::Int, &["(", &format!(" {op} "), ")"], vec![a, b])
            }
            (Ty::Int, 8) => {
                let a = self.expr(Ty::Int, scope, outer, depth + 1);
                let op = ["/", "%"][self.rng.gen_range(0..2)];
                let k = ["2", "3", "-2"][self.rng.gen_range(0..3)];
                Expr::node(Ty::Int, &["(", &format!(" {op} {k})")], vec![a])
            }
            (Ty::Int, 9) => {
                let a = self.expr(Ty::Int, scope, outer, depth + 1);
                Expr::node(Ty::Int, &["abs(", ")"], vec![a])
            }
            (Ty::Int, 10) => {
                let a = self.expr(Ty::Text, scope, outer, depth + 1);
                Expr::node(Ty::Int, &["length(", ")"], vec![a])
            }
            (Ty::Num, 7) => {
                let a = self.expr(Ty::Num, scope, outer, depth + 1);
                let b = self.expr(Ty::Num, scope, outer, depth + 1);
                let op = ["+", "-", "*"][self.rng.gen_range(0..3)];
                Expr::node(Ty::Num, &["(", &format!(" {op} "), ")"], vec![a, b])
            }
            (Ty::Num, 8) => {
                let a = self.expr(Ty::Int, scope, outer, depth + 1);
                Expr::node(Ty::Num, &["(", " * 1.5)"], vec![a])
            }
            (Ty::Num, 9) => {
                let a = self.expr(Ty::Num, scope, outer, depth + 1);
                Expr::node(Ty::Num, &["round(", ", 1)"], vec![a])
            }
            (Ty::Text, 7) => {
                let a = self.expr(Ty::Text, scope, outer, depth + 1);
                let f = ["upper(", "lower("][self.rng.gen_range(0..2)];
                Expr::node(Ty::Text, &[f, ")"], vec![a])
            }
            (Ty::Text, 8) => {
                let a = self.expr(Ty::Text, scope, outer, depth + 1);
                let b = self.expr(Ty::Text, scope, outer, depth + 1);
                Expr::node(Ty::Text, &["(", " || ", ")"], vec![a, b])
            }
            (Ty::Text, 9) => {
                let a = self.expr(Ty::Text, scope, outer, depth + 1);
                Expr::node(Ty::Text, &["substr(", ", 1, 1)"], vec![a])
            }
            _ => self
                .column_of(ty, scope)
                .unwrap_or_else(|| self.literal(ty)),
        }
    }

    fn predicate(&mut self, scope: &[Column], outer: &[Column], depth: u32) -> Expr {
        let leaf_only = depth >= 3;
        let choice = if leaf_only {
            self.rng.gen_range(0..2)
        } else {
            self.rng.gen_range(0..14)
        };
        let any_ty = |rng: &mut StdRng| [Ty::Int, Ty::Int, Ty::Num, Ty::Text][rng.gen_range(0..4)];
        match choice {
            0..=2 => {
                let ty = any_ty(&mut self.rng);
                let a = self
                    .column_of(ty, scope)
                    .unwrap_or_else(|| self.literal(ty));
                let b = self.expr(ty, scope, outer, depth + 1);
                let op = ["=", "<>", "<", "<=", ">", ">="][self.rng.gen_range(0..6)];
                Expr::node(Ty::Bool, &["", &format!(" {op} "), ""], vec![a, b])
            }
            3 => {
                let ty = any_ty(&mut self.rng);
                let a = self.expr(ty, scope, outer, depth + 1);
                let not = ["", "NOT "][self.rng.gen_range(0..2)];
                Expr::node(Ty::Bool, &["", &format!(" IS {not}NULL")], vec![a])
            }
            4 | 5 => {
                let a = self.predicate(scope, outer, depth + 1);
                let b = self.predicate(scope, outer, depth + 1);
                let op = ["AND", "OR"][self.rng.gen_range(0..2)];
                Expr::node(Ty::Bool, &["(", &format!(" {op} "), ")"], vec![a, b])
            }
            6 => {
                let a = self.predicate(scope, outer, depth + 1);
                Expr::node(Ty::Bool, &["NOT (", ")"], vec![a])
            }
            7 => {
                let ty = any_ty(&mut self.rng);
                let a = self.expr(ty, scope, outer, depth + 1);
                let n = self.rng.gen_range(1..=3);
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(self.literal(ty).sql());
                }
                let not = ["", "NOT "][self.rng.gen_range(0..2)];
                Expr::node(
                    Ty::Bool,
                    &["", &format!(" {not}IN ({})", items.join(", "))],
                    vec![a],
                )
            }
            8 => {
                let a = self.expr(Ty::Int, scope, outer, depth + 1);
                let not = ["", "NOT "][self.rng.gen_range(0..2)];
                let (lo, hi) = (self.rng.gen_range(-1..2), self.rng.gen_range(1..4));
                Expr::node(
                    Ty::Bool,
                    &["", &format!(" {not}BETWEEN {lo} AND {hi}")],
                    vec![a],
                )
            }
            9 => {
                let a = self.expr(Ty::Text, scope, outer, depth + 1);
                let pattern = ["'a%'", "'%b'", "'_'", "'%'"][self.rng.gen_range(0..4)];
                Expr::node(Ty::Bool, &["", &format!(" LIKE {pattern}")], vec![a])
            }
            10 | 11 if depth <= 1 => self.subquery_predicate(scope, depth),
            12 => {
                let a = self.predicate(scope, outer, depth + 1);
                let is = ["TRUE", "NOT TRUE", "FALSE", "UNKNOWN"][self.rng.gen_range(0..4)];
                Expr::node(Ty::Bool, &["(", &format!(") IS {is}")], vec![a])
            }
            _ => {
                let ty = any_ty(&mut self.rng);
                let a = self
                    .column_of(ty, scope)
                    .unwrap_or_else(|| self.literal(ty));
                let b = self.literal(ty);
                Expr::node(Ty::Bool, &["", " = ", ""], vec![a, b])
            }
        }
    }

    /// `FROM t AS s WHERE …` of a subquery, maybe correlated with `outer`.
    fn subquery_from(&mut self, outer: &[Column], depth: u32) -> (String, Vec<Column>) {
        let t = self.tables[self.rng.gen_range(0..self.tables.len())].clone();
        let alias = self.alias("s");
        let inner = t.scope(&alias);
        let mut text = format!("FROM {} AS {alias}", t.name);
        let mut conditions = Vec::new();
        if self.rng.gen_bool(0.6) && !outer.is_empty() {
            // Correlation: an inner column equal to an outer one of the same type.
            let o = outer[self.rng.gen_range(0..outer.len())].clone();
            if let Some(i) = self.column_of(o.ty, &inner) {
                let op = if self.rng.gen_bool(0.8) { "=" } else { "<" };
                conditions.push(format!("{} {op} {}", i.sql(), o.expr().sql()));
            }
        }
        if self.rng.gen_bool(0.5) {
            conditions.push(self.predicate(&inner, &[], depth + 2).sql());
        }
        if !conditions.is_empty() {
            let _ = write!(text, " WHERE {}", conditions.join(" AND "));
        }
        (text, inner)
    }

    fn scalar_subquery(&mut self, ty: Ty, outer: &[Column], depth: u32) -> Expr {
        let (from, inner) = self.subquery_from(outer, depth);
        let select = match ty {
            Ty::Int => match self.column_of(Ty::Int, &inner) {
                Some(c) if self.rng.gen_bool(0.6) => {
                    format!(
                        "{}({})",
                        ["max", "min", "sum"][self.rng.gen_range(0..3)],
                        c.sql()
                    )
                }
                _ => "count(*)".to_string(),
            },
            _ => match self.column_of(ty, &inner) {
                Some(c) => format!("{}({})", ["max", "min"][self.rng.gen_range(0..2)], c.sql()),
                None => return self.literal(ty),
            },
        };
        Expr::leaf(format!("(SELECT {select} {from})"), ty)
    }

    fn subquery_predicate(&mut self, outer: &[Column], depth: u32) -> Expr {
        let (from, inner) = self.subquery_from(outer, depth);
        match self.rng.gen_range(0..2) {
            0 => {
                let not = ["", "NOT "][self.rng.gen_range(0..2)];
                Expr::leaf(format!("{not}EXISTS (SELECT 1 {from})"), Ty::Bool)
            }
            _ => {
                let c = inner[self.rng.gen_range(0..inner.len())].clone();
                let a = self.expr(c.ty, outer, &[], depth + 1);
                let not = ["", "NOT "][self.rng.gen_range(0..2)];
                Expr::node(
                    Ty::Bool,
                    &["", &format!(" {not}IN (SELECT {} {from})", c.expr().sql())],
                    vec![a],
                )
            }
        }
    }

    fn aggregate(&mut self, scope: &[Column]) -> Expr {
        match self.rng.gen_range(0..10) {
            0 => Expr::leaf("count(*)", Ty::Int),
            1 => {
                let e = self.expr(Ty::Int, scope, &[], 2);
                Expr::node(Ty::Int, &["count(", ")"], vec![e])
            }
            2 => {
                let e = self.expr(Ty::Int, scope, &[], 2);
                Expr::node(Ty::Int, &["sum(", ")"], vec![e])
            }
            3 => {
                let e = self.expr(Ty::Num, scope, &[], 2);
                Expr::node(Ty::Num, &["sum(", ")"], vec![e])
            }
            4 | 5 => {
                let ty = [Ty::Int, Ty::Num, Ty::Text][self.rng.gen_range(0..3)];
                let e = self.expr(ty, scope, &[], 2);
                let f = ["min(", "max("][self.rng.gen_range(0..2)];
                Expr::node(ty, &[f, ")"], vec![e])
            }
            6 => {
                let e = self.expr(Ty::Int, scope, &[], 2);
                Expr::node(Ty::Num, &["avg(", ")"], vec![e])
            }
            7 => {
                let ty = [Ty::Int, Ty::Text][self.rng.gen_range(0..2)];
                let e = self.expr(ty, scope, &[], 2);
                Expr::node(Ty::Int, &["count(DISTINCT ", ")"], vec![e])
            }
            8 => {
                let e = self.predicate(scope, &[], 2);
                let f = ["bool_and(", "bool_or("][self.rng.gen_range(0..2)];
                Expr::node(Ty::Bool, &[f, ")"], vec![e])
            }
            _ => {
                let e = self.expr(Ty::Int, scope, &[], 2);
                Expr::node(Ty::Int, &["sum(DISTINCT ", ")"], vec![e])
            }
        }
    }

    /// FROM with 0–2 joins; returns the scope of all joined columns.
    fn from(&mut self) -> ((String, String), Vec<Join>, Vec<Column>) {
        self.from_first(None)
    }

    /// FROM `first` (or a random table) with 0–2 joins.
    fn from_first(&mut self, first: Option<Table>) -> ((String, String), Vec<Join>, Vec<Column>) {
        let t = match first {
            Some(t) => t,
            None => self.tables[self.rng.gen_range(0..self.tables.len())].clone(),
        };
        let alias = self.alias("x");
        let mut scope = t.scope(&alias);
        let mut joins = Vec::new();
        let n = [0, 0, 1, 1, 1, 2][self.rng.gen_range(0..6)];
        for _ in 0..n {
            let t2 = self.tables[self.rng.gen_range(0..self.tables.len())].clone();
            let a2 = self.alias("x");
            let right = t2.scope(&a2);
            let kind =
                ["INNER", "LEFT", "RIGHT", "FULL", "INNER", "LEFT"][self.rng.gen_range(0..6)];
            // An equality between a new column and one already in scope.
            let r = right[self.rng.gen_range(0..right.len())].clone();
            let on_left = self
                .column_of(r.ty, &scope)
                .unwrap_or_else(|| self.literal(r.ty));
            let mut on = Expr::node(Ty::Bool, &["", " = ", ""], vec![on_left, r.expr()]);
            if kind != "FULL" && self.rng.gen_bool(0.3) {
                let mut both = scope.clone();
                both.extend(right.iter().cloned());
                let extra = self.predicate(&both, &[], 2);
                on = Expr::node(Ty::Bool, &["", " AND ", ""], vec![on, extra]);
            }
            joins.push(Join {
                kind,
                table: t2.name.clone(),
                alias: a2,
                on,
            });
            scope.extend(right);
        }
        ((t.name, alias), joins, scope)
    }

    fn any_ty(&mut self) -> Ty {
        [Ty::Int, Ty::Int, Ty::Num, Ty::Text, Ty::Bool][self.rng.gen_range(0..5)]
    }

    /// A random query.
    pub fn query(&mut self) -> Query {
        // What FROM starts with: a table, the result of a recursive CTE (which the rest of the
        // query may also join or read in subqueries), or a subquery with a window function
        // that the outer WHERE filters (top-N per group).
        match self.rng.gen_range(0..12) {
            0 => {
                let (with, cte) = self.recursive_cte();
                self.tables.push(cte.clone());
                let mut q = self.query_over(Some(cte), None);
                self.tables.pop();
                q.with = Some(with);
                q
            }
            1 => {
                let (derived, filter) = self.windowed_table();
                self.query_over(Some(derived), Some(filter))
            }
            _ => self.query_over(None, None),
        }
    }

    /// A random query whose FROM starts with `first`; `filter` (`" = 1"`) applies to its
    /// column `w`.
    fn query_over(&mut self, first: Option<Table>, filter: Option<String>) -> Query {
        let (from, joins, scope) = self.from_first(first);
        let mut where_ = if self.rng.gen_bool(0.6) {
            Some(self.predicate(&scope, &[], 0))
        } else {
            None
        };
        if let Some(filter) = filter {
            let w = Expr::leaf(format!("{}.w{filter}", from.1), Ty::Bool);
            where_ = Some(match where_ {
                Some(p) if self.rng.gen_bool(0.5) => {
                    Expr::node(Ty::Bool, &["", " AND ", ""], vec![w, p])
                }
                _ => w,
            });
        }
        let mut q = Query {
            with: None,
            distinct: false,
            select: Vec::new(),
            from,
            joins,
            where_,
            group_by: Vec::new(),
            grouping: Grouping::Plain,
            having: None,
            set_op: None,
            order_limit: None,
        };
        match self.rng.gen_range(0..10) {
            0 | 1 => {
                for _ in 0..self.rng.gen_range(1..=3) {
                    let ty = self.any_ty();
                    q.select.push(self.expr(ty, &scope, &[], 0));
                }
                q.distinct = self.rng.gen_bool(0.3);
            }
            2 | 3 => {
                for _ in 0..self.rng.gen_range(1..=2) {
                    let ty = [Ty::Int, Ty::Text, Ty::Num][self.rng.gen_range(0..3)];
                    // PostgreSQL reads a constant GROUP BY key as a position: group by columns.
                    let key = match self.rng.gen_bool(0.6) {
                        true => self.column_of(ty, &scope),
                        false => None,
                    };
                    let key = key.unwrap_or_else(|| self.expr(ty, &scope, &[], 2));
                    if let Expr::Leaf(text, _) = &key {
                        if !text.contains('.') {
                            continue;
                        }
                    }
                    q.group_by.push(key);
                }
                if q.group_by.is_empty() {
                    q.group_by.push(scope[0].expr());
                }
                q.select = q.group_by.clone();
                for _ in 0..self.rng.gen_range(1..=3) {
                    q.select.push(self.aggregate(&scope));
                }
                if self.rng.gen_bool(0.3) {
                    let a = self.aggregate(&scope);
                    let a = if a.ty() == Ty::Bool {
                        a
                    } else {
                        let lit = self.literal(a.ty());
                        Expr::node(Ty::Bool, &["", " > ", ""], vec![a, lit])
                    };
                    q.having = Some(a);
                }
                if self.rng.gen_bool(0.35) {
                    self.grouping_sets(&mut q);
                }
                // PostgreSQL 15 takes a key that is (or folds to) a constant expression, or is
                // equated to a constant or to another column in WHERE or ON, for constant
                // within a window over grouping sets, where it can be NULL, and drops it from
                // the window's PARTITION BY and ORDER BY (docs/conformance.md): windows over
                // grouping sets only with column keys, no WHERE and no joins.
                let window_safe = q.grouping == Grouping::Plain
                    || (q.where_.is_none()
                        && q.joins.is_empty()
                        && q.group_by
                            .iter()
                            .all(|k| matches!(k, Expr::Leaf(c, _) if c.contains('.'))));
                if window_safe && self.rng.gen_bool(0.3) {
                    let mut input = WindowInput::grouped(&q, &scope);
                    for _ in 0..self.rng.gen_range(1..=2) {
                        q.select.push(self.window_item(&mut input));
                    }
                }
            }
            8 | 9 => {
                // Window functions over the rows of FROM … WHERE.
                for _ in 0..self.rng.gen_range(0..=2) {
                    let ty = self.any_ty();
                    q.select.push(self.expr(ty, &scope, &[], 1));
                }
                let mut input = WindowInput::plain(&scope);
                for _ in 0..self.rng.gen_range(1..=2) {
                    q.select.push(self.window_item(&mut input));
                }
                q.distinct = self.rng.gen_bool(0.15);
            }
            4 => {
                for _ in 0..self.rng.gen_range(1..=3) {
                    q.select.push(self.aggregate(&scope));
                }
            }
            5 => {
                for _ in 0..self.rng.gen_range(1..=2) {
                    let ty = self.any_ty();
                    q.select.push(self.expr(ty, &scope, &[], 1));
                }
                if self.rng.gen_bool(0.25) {
                    // The top rows by a window function's value.
                    let mut input = WindowInput::plain(&scope);
                    q.select.push(self.window_item(&mut input));
                }
                let directions = (0..q.select.len())
                    .map(|_| {
                        ["ASC", "DESC", "ASC NULLS FIRST", "DESC NULLS LAST"]
                            [self.rng.gen_range(0..4)]
                    })
                    .collect();
                let limit = self.rng.gen_range(0..5);
                let offset = [0, 0, 1, 2][self.rng.gen_range(0..4)];
                q.order_limit = Some((directions, limit, offset));
            }
            _ => {
                // A set operation of two single-column queries of one type.
                let ty = [Ty::Int, Ty::Text, Ty::Num][self.rng.gen_range(0..3)];
                q.select.push(self.expr(ty, &scope, &[], 1));
                let (from2, joins2, scope2) = self.from();
                let mut right = Query {
                    with: None,
                    distinct: false,
                    select: vec![self.expr(ty, &scope2, &[], 1)],
                    from: from2,
                    joins: joins2,
                    where_: None,
                    group_by: Vec::new(),
                    grouping: Grouping::Plain,
                    having: None,
                    set_op: None,
                    order_limit: None,
                };
                if self.rng.gen_bool(0.5) {
                    right.where_ = Some(self.predicate(&scope2, &[], 1));
                }
                let op = [
                    "UNION",
                    "UNION ALL",
                    "INTERSECT",
                    "INTERSECT ALL",
                    "EXCEPT",
                    "EXCEPT ALL",
                ][self.rng.gen_range(0..6)];
                q.set_op = Some((op, Box::new(right)));
            }
        }
        q
    }
}

/// What a mismatch needs to happen again: tables, the statements run before the view is
/// created, the statements run after, and the query.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub tables: Vec<Table>,
    pub setup: Vec<String>,
    pub updates: Vec<String>,
    pub query: Query,
}

/// Rows as sorted text (a view has no order), or the error's SQLSTATE.
pub type Rows = Result<Vec<Vec<Option<String>>>, String>;

fn rows_of(outcome: Outcome) -> Rows {
    match outcome {
        Outcome::Rows { mut rows, .. } => {
            rows.sort();
            Ok(rows)
        }
        Outcome::Done => Ok(Vec::new()),
        Outcome::Error { sqlstate, message } => Err(format!("[{sqlstate}] {message}")),
    }
}

/// Whether evert's rows (`a`) agree with PostgreSQL's (`b`): the same rows, or both an
/// error, or the same rows but for which representation of equal numerics is shown (see
/// [`only_numeric_representations_differ`]).
fn agree(a: &Rows, b: &Rows) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b || only_numeric_representations_differ(a, b),
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

/// Whether the rows of evert (`evert`) and PostgreSQL (`postgres`) differ only in which of
/// several equal numerics they show, evert's having the smaller scale (`0` for `0.0`).
///
/// Where DISTINCT, GROUP BY, UNION, INTERSECT, EXCEPT, a window partition or ORDER BY …
/// LIMIT meets `0` and `0.0` in one group, PostgreSQL shows the value of the first row it
/// happens to read, which depends on its plan and on the physical order of the rows; evert
/// shows the one with the smallest scale. Neither is wrong; a different number of rows, a
/// different value, or a larger scale in evert is still a mismatch.
fn only_numeric_representations_differ(
    evert: &[Vec<Option<String>>],
    postgres: &[Vec<Option<String>>],
) -> bool {
    if evert.len() != postgres.len() {
        return false;
    }
    let normalized = |rows: &[Vec<Option<String>>]| {
        let mut rows: Vec<(Vec<Option<String>>, Vec<Option<String>>)> = rows
            .iter()
            .map(|r| {
                let n = r
                    .iter()
                    .map(|v| v.as_deref().map(normalize_numeric))
                    .collect();
                (n, r.clone())
            })
            .collect();
        rows.sort();
        rows
    };
    let (e, p) = (normalized(evert), normalized(postgres));
    e.iter().zip(&p).all(|((en, er), (pn, pr))| {
        en == pn
            && er.iter().zip(pr).all(|(ev, pv)| match (ev, pv) {
                (Some(ev), Some(pv)) if ev != pv => scale(ev) <= scale(pv),
                _ => true,
            })
    })
}

/// A numeric's text without trailing fractional zeros (`-0.50` → `-0.5`, `0.0` → `0`);
/// other text as it is.
fn normalize_numeric(v: &str) -> String {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let numeric = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.starts_with(|c: char| c.is_ascii_digit());
    if !numeric || !v.contains('.') {
        return v.to_string();
    }
    let trimmed = v.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "-0" | "" | "-" => "0".to_string(),
        t => t.to_string(),
    }
}

fn scale(v: &str) -> usize {
    v.split_once('.').map(|(_, f)| f.len()).unwrap_or(0)
}

fn show(rows: &Rows) -> String {
    match rows {
        Err(e) => format!("error {e}"),
        Ok(rows) => {
            let lines: Vec<String> = rows
                .iter()
                .take(20)
                .map(|r| {
                    r.iter()
                        .map(|v| v.as_deref().unwrap_or("NULL").to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            format!("{} rows: [{}]", rows.len(), lines.join(" | "))
        }
    }
}

/// How one replay of a scenario ended.
#[derive(Debug, Clone)]
pub enum Verdict {
    Agree,
    /// PostgreSQL rejects the query: not a valid case.
    Invalid(String),
    /// evert refuses the view as unsupported (0A000).
    Unsupported(String),
    Mismatch {
        evert: Rows,
        postgres: Rows,
    },
}

const VIEW: &str = "oracle_view";

async fn reset(evert: &Client, pg: &Client, tables: &[Table]) {
    let _ = execute(evert, &format!("DROP MATERIALIZED VIEW IF EXISTS {VIEW}")).await;
    for i in 0..8 {
        let _ = execute(
            evert,
            &format!("DROP MATERIALIZED VIEW IF EXISTS {VIEW}{i}"),
        )
        .await;
    }
    for t in tables {
        let _ = execute(evert, &format!("DROP TABLE IF EXISTS {}", t.name)).await;
        let _ = execute(pg, &format!("DROP TABLE IF EXISTS {} CASCADE", t.name)).await;
    }
}

impl Scenario {
    /// Replays the scenario on fresh tables and compares the view with PostgreSQL at the end.
    pub async fn replay(&self, evert: &Client, pg: &Client) -> Verdict {
        reset(evert, pg, &self.tables).await;
        for t in &self.tables {
            let _ = execute(evert, &t.create()).await;
            let _ = execute(pg, &t.create()).await;
        }
        for s in &self.setup {
            let _ = execute(evert, s).await;
            let _ = execute(pg, s).await;
        }
        let sql = self.query.sql();
        if let Outcome::Error { message, .. } = execute(pg, &sql).await {
            return Verdict::Invalid(message);
        }
        let create = execute(evert, &format!("CREATE MATERIALIZED VIEW {VIEW} AS {sql}")).await;
        let verdict = match create {
            Outcome::Error { sqlstate, message } if sqlstate == "0A000" => {
                Verdict::Unsupported(message)
            }
            Outcome::Error { sqlstate, message } => Verdict::Mismatch {
                evert: Err(format!("[{sqlstate}] CREATE MATERIALIZED VIEW: {message}")),
                postgres: rows_of(execute(pg, &sql).await),
            },
            _ => {
                for s in &self.updates {
                    let _ = execute(evert, s).await;
                    let _ = execute(pg, s).await;
                }
                let e = rows_of(execute(evert, &format!("SELECT * FROM {VIEW}")).await);
                let p = rows_of(execute(pg, &sql).await);
                if agree(&e, &p) {
                    Verdict::Agree
                } else {
                    Verdict::Mismatch {
                        evert: e,
                        postgres: p,
                    }
                }
            }
        };
        reset(evert, pg, &self.tables).await;
        verdict
    }

    /// The scenario as an `.slt` test (expected rows are PostgreSQL's).
    pub fn reproduction(&self, postgres: &Rows, evert: &Rows) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# evert: {}", show(evert));
        for t in &self.tables {
            let _ = writeln!(s, "statement ok\n{}\n", t.create());
        }
        for st in &self.setup {
            let _ = writeln!(s, "statement ok\n{st}\n");
        }
        let sql = self.query.sql();
        let _ = writeln!(s, "statement ok\nCREATE MATERIALIZED VIEW v AS {sql}\n");
        for st in &self.updates {
            let _ = writeln!(s, "statement ok\n{st}\n");
        }
        for source in ["SELECT * FROM v".to_string(), sql] {
            match postgres {
                Ok(rows) => {
                    let types = "T".repeat(rows.first().map(|r| r.len()).unwrap_or(1));
                    let _ = writeln!(s, "query {types} rowsort\n{source}\n----");
                    for r in rows {
                        let vals: Vec<String> = r
                            .iter()
                            .map(|v| match v.as_deref() {
                                None => "NULL".to_string(),
                                Some("") => "(empty)".to_string(),
                                Some(v) => v.to_string(),
                            })
                            .collect();
                        let _ = writeln!(s, "{}", vals.join(" "));
                    }
                    s.push('\n');
                }
                Err(e) => {
                    let _ = writeln!(s, "query error\n{source}\n# postgres: {e}\n");
                }
            }
        }
        s
    }
}

/// Removes chunks of `items` while `still_fails` holds (delta debugging, simplified).
async fn shrink_list<F, Fut>(items: &mut Vec<String>, budget: &mut Budget, mut still_fails: F)
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut chunk = items.len().div_ceil(2).max(1);
    while chunk >= 1 && !items.is_empty() {
        let mut i = 0;
        let mut removed_any = false;
        while i < items.len() {
            if !budget.spend() {
                return;
            }
            let mut candidate = items.clone();
            let end = (i + chunk).min(candidate.len());
            candidate.drain(i..end);
            if still_fails(candidate.clone()).await {
                *items = candidate;
                removed_any = true;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 && !removed_any {
            break;
        }
        if chunk > 1 {
            chunk /= 2;
        } else if !removed_any {
            break;
        }
    }
}

struct Budget {
    attempts: usize,
    deadline: Instant,
}

impl Budget {
    fn spend(&mut self) -> bool {
        if self.attempts == 0 || Instant::now() > self.deadline {
            return false;
        }
        self.attempts -= 1;
        true
    }
}

fn is_mismatch(v: &Verdict) -> bool {
    matches!(v, Verdict::Mismatch { .. })
}

/// The current contents of the tables in PostgreSQL, as one INSERT per row.
async fn contents_as_inserts(pg: &Client, tables: &[Table]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables {
        if let Outcome::Rows { rows, .. } = execute(pg, &format!("SELECT * FROM {}", t.name)).await
        {
            for r in rows {
                let values: Vec<String> = r
                    .iter()
                    .zip(&t.columns)
                    .map(|(v, (_, ty))| match v {
                        None => "NULL".to_string(),
                        Some(v) if *ty == Ty::Text => format!("'{}'", v.replace('\'', "''")),
                        Some(v) => v.clone(),
                    })
                    .collect();
                out.push(format!(
                    "INSERT INTO {} VALUES ({})",
                    t.name,
                    values.join(", ")
                ));
            }
        }
    }
    out
}

/// Shrinks a failing scenario: its data, then its query, then its data again.
pub async fn minimize(
    evert: &Client,
    pg: &Client,
    mut scenario: Scenario,
    time_limit: Duration,
) -> Scenario {
    let mut budget = Budget {
        attempts: 600,
        deadline: Instant::now() + time_limit,
    };
    // The data at the moment of the mismatch, with no history: does the bug need history?
    let flat = {
        let state = {
            // Replays the history on PostgreSQL alone to read the final contents.
            reset(evert, pg, &scenario.tables).await;
            for t in &scenario.tables {
                let _ = execute(pg, &t.create()).await;
            }
            for s in scenario.setup.iter().chain(&scenario.updates) {
                let _ = execute(pg, s).await;
            }
            let rows = contents_as_inserts(pg, &scenario.tables).await;
            reset(evert, pg, &scenario.tables).await;
            rows
        };
        Scenario {
            setup: state,
            updates: Vec::new(),
            ..scenario.clone()
        }
    };
    if budget.spend() && is_mismatch(&flat.replay(evert, pg).await) {
        scenario = flat;
    }
    for round in 0..2 {
        // Updates, then setup rows.
        let base = scenario.clone();
        let mut updates = scenario.updates.clone();
        shrink_list(&mut updates, &mut budget, |candidate| {
            let s = Scenario {
                updates: candidate,
                ..base.clone()
            };
            async move { is_mismatch(&s.replay(evert, pg).await) }
        })
        .await;
        scenario.updates = updates;
        let base = scenario.clone();
        let mut setup = scenario.setup.clone();
        shrink_list(&mut setup, &mut budget, |candidate| {
            let s = Scenario {
                setup: candidate,
                ..base.clone()
            };
            async move { is_mismatch(&s.replay(evert, pg).await) }
        })
        .await;
        scenario.setup = setup;
        if round == 1 {
            break;
        }
        // The query: take the first smaller query that still fails, until none does.
        'query: loop {
            for candidate in scenario.query.shrinks() {
                if !budget.spend() {
                    break 'query;
                }
                let s = Scenario {
                    query: candidate,
                    ..scenario.clone()
                };
                if is_mismatch(&s.replay(evert, pg).await) {
                    scenario = s;
                    continue 'query;
                }
            }
            break;
        }
    }
    scenario
}

/// Settings of an oracle run.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub cases: usize,
    pub views_per_case: usize,
    pub batches: usize,
    pub changes_per_batch: usize,
    /// Time allowed to minimize one mismatch.
    pub minimize_for: Duration,
    pub verbose: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 1,
            cases: 20,
            views_per_case: 4,
            batches: 4,
            changes_per_batch: 3,
            minimize_for: Duration::from_secs(60),
            verbose: false,
        }
    }
}

/// A mismatch found and minimized.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub seed: u64,
    pub query: String,
    pub reproduction: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub cases: usize,
    pub views: usize,
    /// Views with window functions, `WITH RECURSIVE` or grouping sets, by shape.
    pub shapes: BTreeMap<&'static str, usize>,
    pub comparisons: usize,
    /// Queries PostgreSQL rejected (generator slips), by message.
    pub invalid: BTreeMap<String, usize>,
    /// Views evert refused as unsupported, by message.
    pub unsupported: BTreeMap<String, usize>,
    /// Changes on which evert and PostgreSQL disagreed (error on one side only, or row count).
    pub change_disagreements: Vec<String>,
    pub mismatches: Vec<Mismatch>,
    /// Comparisons that agreed only up to which representation of equal numerics is shown
    /// (`only_numeric_representations_differ`).
    pub numeric_representations: usize,
}

fn count_message(map: &mut BTreeMap<String, usize>, message: &str) {
    let key: String = message.chars().take(100).collect();
    *map.entry(key).or_default() += 1;
}

/// The shapes of `oracle/shapes.rs` a query has.
fn shapes_of(sql: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if sql.contains(" OVER (") {
        out.push("window functions");
    }
    if sql.contains(") AS w FROM ") {
        out.push("window in a subquery");
    }
    if sql.starts_with("WITH RECURSIVE") {
        out.push("WITH RECURSIVE");
    }
    if sql.contains("GROUPING(") {
        out.push("grouping sets");
    }
    out
}

/// Runs one case: a schema, its views, its change batches.
pub async fn run_case(
    evert: &Client,
    pg: &Client,
    seed: u64,
    config: &Config,
    report: &mut Report,
) {
    let mut generator = Generator::new(seed);
    let tables = generator.tables.clone();
    reset(evert, pg, &tables).await;
    for t in &tables {
        let _ = execute(evert, &t.create()).await;
        let _ = execute(pg, &t.create()).await;
    }
    let setup = generator.initial_rows();
    for s in &setup {
        let _ = execute(evert, s).await;
        let _ = execute(pg, s).await;
    }
    report.cases += 1;
    // The views of this case: (name, query).
    let mut views: Vec<(String, Query)> = Vec::new();
    for i in 0..config.views_per_case {
        let query = generator.query();
        let sql = query.sql();
        if let Outcome::Error { message, .. } = execute(pg, &sql).await {
            count_message(&mut report.invalid, &message);
            continue;
        }
        let name = format!("{VIEW}{i}");
        match execute(evert, &format!("CREATE MATERIALIZED VIEW {name} AS {sql}")).await {
            Outcome::Error { sqlstate, message } if sqlstate == "0A000" => {
                count_message(&mut report.unsupported, &message);
            }
            _ => {
                report.views += 1;
                for shape in shapes_of(&sql) {
                    *report.shapes.entry(shape).or_default() += 1;
                }
                views.push((name, query));
            }
        }
    }
    let mut updates: Vec<String> = Vec::new();
    let mut failed: Vec<(Query, Rows, Rows, usize)> = Vec::new();
    for batch in 0..=config.batches {
        if batch > 0 {
            for _ in 0..config.changes_per_batch {
                let change = generator.change();
                let e = execute(evert, &change).await;
                let p = execute(pg, &change).await;
                let ok = |o: &Outcome| !matches!(o, Outcome::Error { .. });
                if ok(&e) != ok(&p) {
                    report.change_disagreements.push(format!(
                        "{change}: evert {:?}, postgres {:?}",
                        e.describe_error(),
                        p.describe_error()
                    ));
                }
                updates.push(change);
            }
        }
        let mut still = Vec::new();
        for (name, query) in views.drain(..) {
            report.comparisons += 1;
            let e = rows_of(execute(evert, &format!("SELECT * FROM {name}")).await);
            let p = rows_of(execute(pg, &query.sql()).await);
            if std::env::var_os("EVERT_ORACLE_TRACE").is_some() {
                eprintln!(
                    "{}\n  evert {}\n  pg    {}",
                    query.sql(),
                    show(&e),
                    show(&p)
                );
            }
            if agree(&e, &p) {
                if matches!((&e, &p), (Ok(a), Ok(b)) if a != b) {
                    report.numeric_representations += 1;
                }
                still.push((name, query));
            } else {
                if config.verbose {
                    eprintln!(
                        "mismatch (seed {seed}, batch {batch}): {}\n  evert:    {}\n  postgres: {}",
                        query.sql(),
                        show(&e),
                        show(&p)
                    );
                }
                let _ = execute(evert, &format!("DROP MATERIALIZED VIEW {name}")).await;
                failed.push((query, e, p, updates.len()));
            }
        }
        views = still;
    }
    for (name, _) in &views {
        let _ = execute(evert, &format!("DROP MATERIALIZED VIEW {name}")).await;
    }
    reset(evert, pg, &tables).await;
    for (query, e, p, n_updates) in failed {
        let original = query.sql();
        let scenario = Scenario {
            tables: tables.clone(),
            setup: setup.clone(),
            updates: updates[..n_updates].to_vec(),
            query,
        };
        let small = minimize(evert, pg, scenario.clone(), config.minimize_for).await;
        let (se, sp) = match small.replay_rows(evert, pg).await {
            Some(rows) => rows,
            None => (e.clone(), p.clone()),
        };
        let reproduction = small.reproduction(&sp, &se);
        if config.verbose {
            eprintln!("minimized reproduction (seed {seed}):\n{reproduction}");
        }
        report.mismatches.push(Mismatch {
            seed,
            query: original,
            reproduction,
        });
    }
}

impl Scenario {
    /// Replays and returns (evert, postgres) rows if it mismatches.
    async fn replay_rows(&self, evert: &Client, pg: &Client) -> Option<(Rows, Rows)> {
        match self.replay(evert, pg).await {
            Verdict::Mismatch { evert, postgres } => Some((evert, postgres)),
            _ => None,
        }
    }
}

/// Runs `config.cases` cases with seeds `config.seed`, `config.seed + 1`, ….
pub async fn run(evert: &Client, pg: &Client, config: &Config) -> Report {
    let mut report = Report::default();
    for case in 0..config.cases {
        run_case(evert, pg, config.seed + case as u64, config, &mut report).await;
    }
    report
}

impl Report {
    pub fn summary(&self) -> String {
        let mut s = format!(
            "cases {}, views {}, comparisons {}, mismatches {}, change disagreements {}, \
             invalid queries {}, unsupported views {}\n",
            self.cases,
            self.views,
            self.comparisons,
            self.mismatches.len(),
            self.change_disagreements.len(),
            self.invalid.values().sum::<usize>(),
            self.unsupported.values().sum::<usize>()
        );
        let _ = writeln!(
            s,
            "  comparisons equal up to the representation of equal numerics: {}",
            self.numeric_representations
        );
        let shapes: Vec<String> = self
            .shapes
            .iter()
            .map(|(shape, n)| format!("{shape} {n}"))
            .collect();
        let _ = writeln!(s, "  views by shape: {}", shapes.join(", "));
        for (m, n) in &self.unsupported {
            let _ = writeln!(s, "  unsupported x{n}: {m}");
        }
        for (m, n) in &self.invalid {
            let _ = writeln!(s, "  postgres rejects x{n}: {m}");
        }
        for d in &self.change_disagreements {
            let _ = writeln!(s, "  change disagreement: {d}");
        }
        for m in &self.mismatches {
            let _ = writeln!(
                s,
                "\n--- mismatch (seed {}): {}\n{}",
                m.seed, m.query, m.reproduction
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[&[&str]]) -> Vec<Vec<Option<String>>> {
        values
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| (*v != "NULL").then(|| v.to_string()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn equal_numerics_may_differ_in_representation_only() {
        let pg = rows(&[&["0.0", "a"], &["1.50000000000000000000", "NULL"]]);
        let evert = rows(&[&["0", "a"], &["1.5000000000000000", "NULL"]]);
        assert!(only_numeric_representations_differ(&evert, &pg));
        // A larger scale in evert, another value, another row count, or text: mismatches.
        assert!(!only_numeric_representations_differ(&pg, &evert));
        let other = rows(&[&["0", "a"], &["1.6", "NULL"]]);
        assert!(!only_numeric_representations_differ(&other, &pg));
        assert!(!only_numeric_representations_differ(&evert[..1], &pg));
        assert!(!only_numeric_representations_differ(
            &rows(&[&["a"]]),
            &rows(&[&["a "]])
        ));
        assert_eq!(normalize_numeric("-0.00"), "0");
        assert_eq!(normalize_numeric("10.0"), "10");
        assert_eq!(normalize_numeric("100"), "100");
        assert_eq!(normalize_numeric("a.0"), "a.0");
    }
}
