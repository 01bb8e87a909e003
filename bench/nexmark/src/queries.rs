//! The 23 Nexmark queries in evert's dialect (see `bench/nexmark/README.md` for every change
//! from the corpus) and the schema of the three relations they read.

/// The `person`, `auction` and `bid` tables, with RisingWave's Nexmark columns.
pub const SCHEMA: &str = include_str!("../queries/schema.sql");

/// `(name, SQL)` for q0 to q22: each SQL text creates `nexmark_<name>` (q13 first creates and
/// fills its side table).
pub const QUERIES: [(&str, &str); 23] = [
    ("q0", include_str!("../queries/q0.sql")),
    ("q1", include_str!("../queries/q1.sql")),
    ("q2", include_str!("../queries/q2.sql")),
    ("q3", include_str!("../queries/q3.sql")),
    ("q4", include_str!("../queries/q4.sql")),
    ("q5", include_str!("../queries/q5.sql")),
    ("q6", include_str!("../queries/q6.sql")),
    ("q7", include_str!("../queries/q7.sql")),
    ("q8", include_str!("../queries/q8.sql")),
    ("q9", include_str!("../queries/q9.sql")),
    ("q10", include_str!("../queries/q10.sql")),
    ("q11", include_str!("../queries/q11.sql")),
    ("q12", include_str!("../queries/q12.sql")),
    ("q13", include_str!("../queries/q13.sql")),
    ("q14", include_str!("../queries/q14.sql")),
    ("q15", include_str!("../queries/q15.sql")),
    ("q16", include_str!("../queries/q16.sql")),
    ("q17", include_str!("../queries/q17.sql")),
    ("q18", include_str!("../queries/q18.sql")),
    ("q19", include_str!("../queries/q19.sql")),
    ("q20", include_str!("../queries/q20.sql")),
    ("q21", include_str!("../queries/q21.sql")),
    ("q22", include_str!("../queries/q22.sql")),
];

/// The queries with a hand-written differential dataflow baseline.
pub const HANDWRITTEN: [&str; 8] = ["q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"];

/// The SQL of a query by name (`q0` … `q22`).
pub fn sql(name: &str) -> Option<&'static str> {
    QUERIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, sql)| *sql)
}

/// The materialized view a query creates.
pub fn view_name(name: &str) -> String {
    format!("nexmark_{name}")
}
