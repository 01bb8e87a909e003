//! Query shapes beyond joins and plain aggregates: window functions, `WITH RECURSIVE` and
//! grouping sets.
//!
//! A window function's result is only comparable when the data determine it. Functions that
//! look at row positions (`row_number`, `lag`/`lead`, `first_value`/`last_value`, any `ROWS`
//! frame) are ordered by a *total* order over their input: the random keys, then every
//! column of the input (numerics as text too, since `0` and `0.0` tie but print differently).
//! Rows that still tie are equal in everything the query can show, so which comes first does
//! not change the result — as long as only one such function is in the select list: rows
//! equal in every column (tables have duplicates) may come in different orders in two
//! windows, so that the pairs of values of two positional functions are not determined.
//! Functions that treat peers alike (`rank`, `dense_rank`, aggregates
//! with the default frame or a `RANGE` frame without offsets) keep the random, partial order,
//! so ties are exercised too.
//!
//! Recursive CTEs always terminate: a closure over integer pairs with `UNION` (its rows are
//! pairs of values present in the tables), or a walk with `UNION ALL` bounded by a depth
//! column.

use rand::Rng;

use super::{Column, Expr, Generator, Grouping, Query, Table, Ty};

/// The rows a window function runs over.
pub(super) struct WindowInput {
    /// The columns of FROM.
    scope: Vec<Column>,
    /// The group keys when the query is grouped: partition and order keys are then group
    /// keys or aggregates, and values are group keys or aggregates.
    group_keys: Option<Vec<Expr>>,
    /// Expressions that order the input totally (up to rows equal in every column).
    total: Vec<String>,
    /// Whether a window function that depends on the positions of rows equal in every
    /// column (`row_number`, `lag`/`lead`, a `ROWS` frame) was already made for this select
    /// list: a second one could pair its values with the first one's in any way.
    positional: bool,
}

impl WindowInput {
    /// The rows of FROM … WHERE.
    pub(super) fn plain(scope: &[Column]) -> WindowInput {
        let total = scope
            .iter()
            .map(|c| match c.ty {
                Ty::Num => format!("{}::text", c.expr().sql()),
                _ => c.expr().sql(),
            })
            .collect();
        WindowInput {
            scope: scope.to_vec(),
            group_keys: None,
            total,
            positional: false,
        }
    }

    /// The groups of a grouped query: one row per combination of its keys (and, with
    /// grouping sets, per set, which `GROUPING` of every key tells apart).
    pub(super) fn grouped(q: &Query, scope: &[Column]) -> WindowInput {
        let mut total: Vec<String> = q.group_by.iter().map(Expr::sql).collect();
        if q.grouping != Grouping::Plain {
            total.push(format!("GROUPING({})", total.join(", ")));
        }
        WindowInput {
            scope: scope.to_vec(),
            group_keys: Some(q.group_by.clone()),
            total,
            positional: false,
        }
    }
}

const ROWS_FRAMES: &[&str] = &[
    "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
    "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW",
    "ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING",
    "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
    "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
    "ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING",
    "ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING",
    "ROWS 2 PRECEDING",
];

/// `RANGE` frames without offsets: their contents are whole peer groups, so a partial order
/// determines them.
const RANGE_FRAMES: &[&str] = &[
    "RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
    "RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
    "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
    "RANGE CURRENT ROW",
];

impl Generator {
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.rng.gen_range(0..options.len())]
    }

    fn value_ty(&mut self) -> Ty {
        [Ty::Int, Ty::Int, Ty::Num, Ty::Text][self.rng.gen_range(0..4)]
    }

    /// An aggregate of type `ty` (`Int`, `Num` or `Text`) over `scope`.
    fn aggregate_of(&mut self, ty: Ty, scope: &[Column]) -> Expr {
        match (ty, self.rng.gen_range(0..3)) {
            (Ty::Int, 0) => Expr::leaf("count(*)", Ty::Int),
            (Ty::Int, 1) => {
                let e = self.expr(Ty::Int, scope, &[], 2);
                Expr::node(Ty::Int, &["sum(", ")"], vec![e])
            }
            (Ty::Num, 0) => {
                let e = self.expr(Ty::Num, scope, &[], 2);
                Expr::node(Ty::Num, &["sum(", ")"], vec![e])
            }
            (Ty::Num, _) => {
                let e = self.expr(Ty::Int, scope, &[], 2);
                Expr::node(Ty::Num, &["avg(", ")"], vec![e])
            }
            _ => {
                let e = self.expr(ty, scope, &[], 2);
                let f = self.pick(&["min(", "max("]);
                Expr::node(ty, &[f, ")"], vec![e])
            }
        }
    }

    /// A value a window function reads: an expression over the input's columns, or, over
    /// groups, a group key or an aggregate.
    fn window_value(&mut self, ty: Ty, input: &WindowInput) -> Expr {
        let value = self.window_value_any(ty, input);
        // PostgreSQL cannot type `lag('a')` or `min('a')`: a text literal gets a type.
        if ty == Ty::Text && !value.sql().contains('.') {
            return Expr::node(Ty::Text, &["(", ")::text"], vec![value]);
        }
        value
    }

    fn window_value_any(&mut self, ty: Ty, input: &WindowInput) -> Expr {
        match &input.group_keys {
            None => self.expr(ty, &input.scope, &[], 2),
            Some(keys) => {
                let same: Vec<&Expr> = keys.iter().filter(|k| k.ty() == ty).collect();
                if !same.is_empty() && self.rng.gen_bool(0.4) {
                    same[self.rng.gen_range(0..same.len())].clone()
                } else {
                    self.aggregate_of(ty, &input.scope)
                }
            }
        }
    }

    /// A partition or order key.
    fn window_key(&mut self, input: &WindowInput) -> String {
        match &input.group_keys {
            None if self.rng.gen_bool(0.2) => {
                let ty = self.value_ty();
                self.expr(ty, &input.scope, &[], 2).sql()
            }
            None => input.scope[self.rng.gen_range(0..input.scope.len())]
                .expr()
                .sql(),
            Some(_) if self.rng.gen_bool(0.25) => {
                let ty = self.value_ty();
                self.aggregate_of(ty, &input.scope).sql()
            }
            Some(keys) => keys[self.rng.gen_range(0..keys.len())].sql(),
        }
    }

    /// `PARTITION BY …` (maybe empty) and a partial `ORDER BY …` of random keys.
    fn window_spec(&mut self, input: &WindowInput) -> (String, String) {
        let partition: Vec<String> = (0..self.rng.gen_range(0..=2))
            .map(|_| self.window_key(input))
            .collect();
        let partition = if partition.is_empty() {
            String::new()
        } else {
            format!("PARTITION BY {} ", partition.join(", "))
        };
        let order: Vec<String> = (0..self.rng.gen_range(1..=2))
            .map(|_| {
                let key = self.window_key(input);
                let direction = self.pick(&["", " DESC", " NULLS FIRST", " DESC NULLS LAST"]);
                format!("{key}{direction}")
            })
            .collect();
        (partition, format!("ORDER BY {}", order.join(", ")))
    }

    /// A window function over `input` for the select list, maybe inside an expression
    /// (`COALESCE(lag(x) OVER …, 0)`, `sum(x) - sum(sum(x)) OVER …`).
    pub(super) fn window_item(&mut self, input: &mut WindowInput) -> Expr {
        let w = self.window_function(input);
        let ty = w.ty();
        match (ty, self.rng.gen_range(0..8)) {
            (_, 0) => {
                let other = self.literal(ty);
                Expr::node(ty, &["COALESCE(", ", ", ")"], vec![w, other])
            }
            (Ty::Int | Ty::Num, 1) => {
                let other = self.window_value(ty, input);
                let op = self.pick(&[" + ", " - ", " * "]);
                Expr::node(ty, &["(", op, ")"], vec![w, other])
            }
            (_, 2) => {
                let other = self.window_value(ty, input);
                let p = self.pick(&[" IS NULL", " IS NOT NULL"]);
                let when = format!("CASE WHEN {}{p} THEN ", other.sql());
                Expr::node(ty, &[&when, " ELSE ", " END"], vec![other, w])
            }
            _ => w,
        }
    }

    /// A window function over `input`.
    fn window_function(&mut self, input: &mut WindowInput) -> Expr {
        let (partition, order) = self.window_spec(input);
        let partial = format!("{partition}{order}");
        let total = format!("{partial}, {}", input.total.join(", "));
        let over = |spec: &str| format!(" OVER ({})", spec.trim_end());
        let rows_frames = if input.positional {
            RANGE_FRAMES
        } else {
            ROWS_FRAMES
        };
        let choice = match self.rng.gen_range(0..10) {
            0 | 2 | 3 if input.positional => 5,
            0 | 2 | 3 => {
                input.positional = true;
                0
            }
            c => c,
        };
        match choice {
            0 if self.rng.gen_bool(0.35) => {
                Expr::leaf(format!("row_number(){}", over(&total)), Ty::Int)
            }
            1 => {
                let f = self.pick(&["rank()", "dense_rank()"]);
                Expr::leaf(format!("{f}{}", over(&partial)), Ty::Int)
            }
            0 => {
                let ty = self.value_ty();
                let value = self.window_value(ty, input);
                let f = self.pick(&["lag(", "lead("]);
                let offset = self.rng.gen_range(1..=2);
                let args = match self.rng.gen_range(0..3) {
                    0 => String::new(),
                    1 => format!(", {offset}"),
                    _ => format!(", {offset}, {}", self.literal(ty).sql()),
                };
                let tail = format!("{args}){}", over(&total));
                Expr::node(ty, &[f, &tail], vec![value])
            }
            4 => {
                let ty = self.value_ty();
                let value = self.window_value(ty, input);
                let f = self.pick(&["first_value(", "last_value("]);
                let frame = match self.rng.gen_range(0..3) {
                    0 => "",
                    1 => self.pick(rows_frames),
                    _ => self.pick(RANGE_FRAMES),
                };
                input.positional |= frame.starts_with("ROWS");
                let tail = format!("){}", over(&format!("{total} {frame}")));
                Expr::node(ty, &[f, &tail], vec![value])
            }
            _ => {
                // An aggregate over the whole partition, over peers (default or RANGE
                // frame, partial order) or over a ROWS frame (total order).
                let spec = match self.rng.gen_range(0..3) {
                    0 => partition.clone(),
                    1 if self.rng.gen_bool(0.5) => partial.clone(),
                    1 => format!("{partial} {}", self.pick(RANGE_FRAMES)),
                    _ => {
                        let frame = self.pick(rows_frames);
                        input.positional |= frame.starts_with("ROWS");
                        format!("{total} {frame}")
                    }
                };
                let (f, arg, ty) = match self.rng.gen_range(0..7) {
                    0 => return Expr::leaf(format!("count(*){}", over(&spec)), Ty::Int),
                    1 => ("sum(", Ty::Int, Ty::Int),
                    2 => ("sum(", Ty::Num, Ty::Num),
                    3 => {
                        let ty = self.value_ty();
                        ("count(", ty, Ty::Int)
                    }
                    4 | 5 => {
                        let ty = self.value_ty();
                        (self.pick(&["min(", "max("]), ty, ty)
                    }
                    _ => ("avg(", self.pick_numeric(), Ty::Num),
                };
                let value = self.window_value(arg, input);
                Expr::node(ty, &[f, &format!("){}", over(&spec))], vec![value])
            }
        }
    }

    fn pick_numeric(&mut self) -> Ty {
        [Ty::Int, Ty::Num][self.rng.gen_range(0..2)]
    }

    /// A subquery over one table with a window function as its column `w`, for FROM, and the
    /// condition on `w` (`" = 1"`) the outer query filters by: mostly the top rows of each
    /// partition by `row_number`, `rank` or `dense_rank`.
    pub(super) fn windowed_table(&mut self) -> (Table, String) {
        let t = self.tables[self.rng.gen_range(0..self.tables.len())].clone();
        let alias = self.alias("y");
        let scope = t.scope(&alias);
        let mut input = WindowInput::plain(&scope);
        let (window, filter) = if self.rng.gen_bool(0.7) {
            let (partition, order) = self.window_spec(&input);
            let window = match self.rng.gen_range(0..3) {
                0 => format!(
                    "row_number() OVER ({partition}{order}, {})",
                    input.total.join(", ")
                ),
                1 => format!("rank() OVER ({partition}{order})"),
                _ => format!("dense_rank() OVER ({partition}{order})"),
            };
            let filter = self.pick(&[" = 1", " = 1", " <= 2", " > 1"]);
            (Expr::leaf(window, Ty::Int), filter.to_string())
        } else {
            let window = self.window_function(&mut input);
            let filter = match window.ty() {
                Ty::Int => self.pick(&[" > 1", " <= 2", " IS NULL"]),
                Ty::Num => self.pick(&[" > 0", " IS NOT NULL"]),
                _ => self.pick(&[" IS NOT NULL", " < 'b'"]),
            };
            (window, filter.to_string())
        };
        let columns: Vec<String> = t
            .columns
            .iter()
            .map(|(n, _)| format!("{alias}.{n} AS {n}"))
            .collect();
        let mut text = format!(
            "(SELECT {}, {} AS w FROM {} AS {alias}",
            columns.join(", "),
            window.sql(),
            t.name
        );
        if self.rng.gen_bool(0.4) {
            let p = self.predicate(&scope, &[], 1);
            text.push_str(&format!(" WHERE {}", p.sql()));
        }
        text.push(')');
        let mut columns = t.columns.clone();
        columns.push(("w".to_string(), window.ty()));
        (
            Table {
                name: text,
                columns,
            },
            filter,
        )
    }

    /// Two integer columns of `t` (distinct when it has two).
    fn integer_pair(&mut self, t: &Table) -> (String, String) {
        let ints: Vec<&String> = t
            .columns
            .iter()
            .filter(|(_, ty)| *ty == Ty::Int)
            .map(|(n, _)| n)
            .collect();
        let i = self.rng.gen_range(0..ints.len());
        let mut j = self.rng.gen_range(0..ints.len());
        if ints.len() > 1 && i == j {
            j = (i + 1) % ints.len();
        }
        (ints[i].clone(), ints[j].clone())
    }

    /// `WITH RECURSIVE r(…) AS (…)` in PostgreSQL's form, and `r` as a table: the transitive
    /// closure of an integer pair of columns (`UNION`), or walks of at most a few steps along
    /// such pairs (`UNION ALL` with a depth column `n`); maybe carrying a column `p` of the
    /// starting row.
    pub(super) fn recursive_cte(&mut self) -> (String, Table) {
        let base = self.tables[self.rng.gen_range(0..self.tables.len())].clone();
        let step = self.tables[self.rng.gen_range(0..self.tables.len())].clone();
        let (from, to) = self.integer_pair(&base);
        let (step_from, step_to) = self.integer_pair(&step);
        let payload = if self.rng.gen_bool(0.4) {
            let (name, ty) = base.columns[self.rng.gen_range(0..base.columns.len())].clone();
            Some((name, ty))
        } else {
            None
        };
        let base_where = if self.rng.gen_bool(0.4) {
            let p = self.predicate(&base.scope("e"), &[], 2);
            format!(" WHERE {}", p.sql())
        } else {
            String::new()
        };
        let step_condition = if self.rng.gen_bool(0.3) {
            let p = self.predicate(&step.scope("f"), &[], 2);
            format!(" AND {}", p.sql())
        } else {
            String::new()
        };
        // The step may keep the rows of `r` that reach nothing (`r` on the preserved side).
        let join = self.pick(&["JOIN", "JOIN", "LEFT JOIN"]);
        // The base term may read a plain CTE defined in the same WITH.
        let (helper, base_from, base_where) = if self.rng.gen_bool(0.3) {
            (
                format!("e0 AS (SELECT * FROM {} AS e{base_where}), ", base.name),
                "e0".to_string(),
                String::new(),
            )
        } else {
            (String::new(), base.name.clone(), base_where)
        };
        let (p_column, p_base, p_step) = match &payload {
            Some((name, _)) => (", p", format!(", e.{name}"), ", r.p".to_string()),
            None => ("", String::new(), String::new()),
        };
        let mut columns = Vec::new();
        let text = if self.rng.gen_bool(0.5) {
            // Forwards (a reaches b) or backwards (a is reached from b).
            let step_select = if self.rng.gen_bool(0.6) {
                format!(
                    "SELECT r.a, f.{step_to}{p_step} FROM r {join} {} AS f ON r.b = f.{step_from}",
                    step.name
                )
            } else {
                format!(
                    "SELECT f.{step_from}, r.b{p_step} FROM r {join} {} AS f ON f.{step_to} = r.a",
                    step.name
                )
            };
            format!(
                "WITH RECURSIVE {helper}r(a, b{p_column}) AS (SELECT e.{from}, e.{to}{p_base} FROM {base_from} AS e{base_where} UNION {step_select}{step_condition})"
            )
        } else {
            columns.push(("n".to_string(), Ty::Int));
            let bound = self.rng.gen_range(1..=3);
            format!(
                "WITH RECURSIVE {helper}r(n, a, b{p_column}) AS (SELECT 0, e.{from}, e.{to}{p_base} FROM {base_from} AS e{base_where} UNION ALL SELECT r.n + 1, r.a, f.{step_to}{p_step} FROM r {join} {} AS f ON r.b = f.{step_from} WHERE r.n < {bound}{step_condition})",
                step.name
            )
        };
        columns.push(("a".to_string(), Ty::Int));
        columns.push(("b".to_string(), Ty::Int));
        if let Some((_, ty)) = payload {
            columns.push(("p".to_string(), ty));
        }
        (
            text,
            Table {
                name: "r".to_string(),
                columns,
            },
        )
    }

    /// Turns the plain `GROUP BY` of `q` into `ROLLUP`, `CUBE` or `GROUPING SETS`, and adds
    /// a `GROUPING(…)` column.
    pub(super) fn grouping_sets(&mut self, q: &mut Query) {
        let n = q.group_by.len();
        q.grouping = match self.rng.gen_range(0..4) {
            0 => Grouping::Rollup,
            3 if n >= 2 => Grouping::FirstThenRollup,
            3 => Grouping::Rollup,
            1 => Grouping::Cube,
            _ => {
                // Every key in some set (the first), so the select list may show them all.
                let mut sets = vec![(0..n).collect()];
                for _ in 0..self.rng.gen_range(1..=2) {
                    sets.push((0..n).filter(|_| self.rng.gen_bool(0.5)).collect());
                }
                Grouping::Sets(sets)
            }
        };
        let keys: Vec<String> = q.group_by.iter().map(Expr::sql).collect();
        let arguments = if self.rng.gen_bool(0.6) {
            keys.join(", ")
        } else {
            keys[self.rng.gen_range(0..n)].clone()
        };
        q.select
            .push(Expr::leaf(format!("GROUPING({arguments})"), Ty::Int));
    }
}
