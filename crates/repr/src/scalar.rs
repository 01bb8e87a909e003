//! SQL scalar types and their PostgreSQL identities (names and OIDs).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a single SQL value.
///
/// Each variant corresponds to one PostgreSQL type; the parameters that only constrain values
/// (`numeric(p, s)`, `varchar(n)`) are kept so that assignment can enforce them and so that
/// `SHOW CREATE` and `SHOW COLUMNS` can print them back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScalarType {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// `numeric(precision, scale)`; `None` means unconstrained.
    Numeric {
        precision: Option<u8>,
        scale: Option<u8>,
    },
    /// `text`
    String,
    /// `varchar(n)`; `None` means no length limit.
    VarChar {
        max_length: Option<u32>,
    },
    /// `char(n)`, blank-padded.
    Char {
        length: u32,
    },
    Bytes,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Jsonb,
    /// A one-dimensional array of the element type.
    Array(Box<ScalarType>),
    /// The type of an untyped literal (`'abc'`, `NULL`) before context decides.
    /// Never appears in a planned expression; the planner resolves it.
    Unknown,
}

impl ScalarType {
    /// Every type evert has, without modifiers, followed by the array of each: what the
    /// catalog lists in `pg_type` and what `format_type` can name.
    pub fn builtin_types() -> Vec<ScalarType> {
        let scalars = [
            ScalarType::Bool,
            ScalarType::Int16,
            ScalarType::Int32,
            ScalarType::Int64,
            ScalarType::Float32,
            ScalarType::Float64,
            ScalarType::numeric(),
            ScalarType::String,
            ScalarType::VarChar { max_length: None },
            ScalarType::Char { length: 1 },
            ScalarType::Bytes,
            ScalarType::Date,
            ScalarType::Time,
            ScalarType::Timestamp,
            ScalarType::TimestampTz,
            ScalarType::Interval,
            ScalarType::Uuid,
            ScalarType::Jsonb,
        ];
        let arrays: Vec<ScalarType> = scalars
            .iter()
            .map(|t| ScalarType::Array(Box::new(t.clone())))
            .collect();
        scalars.into_iter().chain(arrays).collect()
    }

    /// The PostgreSQL type OID reported in `RowDescription` and `ParameterDescription`.
    pub fn oid(&self) -> u32 {
        match self {
            ScalarType::Bool => 16,
            ScalarType::Int16 => 21,
            ScalarType::Int32 => 23,
            ScalarType::Int64 => 20,
            ScalarType::Float32 => 700,
            ScalarType::Float64 => 701,
            ScalarType::Numeric { .. } => 1700,
            ScalarType::String => 25,
            ScalarType::VarChar { .. } => 1043,
            ScalarType::Char { .. } => 1042,
            ScalarType::Bytes => 17,
            ScalarType::Date => 1082,
            ScalarType::Time => 1083,
            ScalarType::Timestamp => 1114,
            ScalarType::TimestampTz => 1184,
            ScalarType::Interval => 1186,
            ScalarType::Uuid => 2950,
            ScalarType::Jsonb => 3802,
            ScalarType::Array(elem) => match **elem {
                ScalarType::Bool => 1000,
                ScalarType::Int16 => 1005,
                ScalarType::Int32 => 1007,
                ScalarType::Int64 => 1016,
                ScalarType::Float32 => 1021,
                ScalarType::Float64 => 1022,
                ScalarType::Numeric { .. } => 1231,
                ScalarType::String => 1009,
                ScalarType::VarChar { .. } => 1015,
                ScalarType::Char { .. } => 1014,
                ScalarType::Bytes => 1001,
                ScalarType::Date => 1182,
                ScalarType::Time => 1183,
                ScalarType::Timestamp => 1115,
                ScalarType::TimestampTz => 1185,
                ScalarType::Interval => 1187,
                ScalarType::Uuid => 2951,
                ScalarType::Jsonb => 3807,
                _ => 1009,
            },
            ScalarType::Unknown => 705,
        }
    }

    /// The `typlen` reported in `RowDescription`: fixed size in bytes, or -1 for variable.
    pub fn type_len(&self) -> i16 {
        match self {
            ScalarType::Bool => 1,
            ScalarType::Int16 => 2,
            ScalarType::Int32 | ScalarType::Float32 | ScalarType::Date => 4,
            ScalarType::Int64
            | ScalarType::Float64
            | ScalarType::Time
            | ScalarType::Timestamp
            | ScalarType::TimestampTz => 8,
            ScalarType::Interval | ScalarType::Uuid => 16,
            _ => -1,
        }
    }

    /// The `atttypmod` reported in `RowDescription` (-1 when unconstrained).
    pub fn type_mod(&self) -> i32 {
        match self {
            ScalarType::Numeric {
                precision: Some(p),
                scale,
            } => ((i32::from(*p) << 16) | i32::from(scale.unwrap_or(0))) + 4,
            ScalarType::VarChar {
                max_length: Some(n),
            } => *n as i32 + 4,
            ScalarType::Char { length } => *length as i32 + 4,
            _ => -1,
        }
    }

    /// Strips value constraints: `varchar(10)` and `text` compute alike, as do all numerics.
    pub fn base_eq(&self, other: &ScalarType) -> bool {
        self.unconstrained() == other.unconstrained()
    }

    /// The type with its value constraints removed.
    pub fn unconstrained(&self) -> ScalarType {
        match self {
            ScalarType::Numeric { .. } => ScalarType::Numeric {
                precision: None,
                scale: None,
            },
            ScalarType::VarChar { .. } => ScalarType::VarChar { max_length: None },
            ScalarType::Array(e) => ScalarType::Array(Box::new(e.unconstrained())),
            other => other.clone(),
        }
    }

    pub fn is_numeric_family(&self) -> bool {
        matches!(
            self,
            ScalarType::Int16
                | ScalarType::Int32
                | ScalarType::Int64
                | ScalarType::Float32
                | ScalarType::Float64
                | ScalarType::Numeric { .. }
        )
    }

    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            ScalarType::Int16 | ScalarType::Int32 | ScalarType::Int64
        )
    }

    pub fn is_string_family(&self) -> bool {
        matches!(
            self,
            ScalarType::String | ScalarType::VarChar { .. } | ScalarType::Char { .. }
        )
    }

    /// The unconstrained numeric type.
    pub fn numeric() -> ScalarType {
        ScalarType::Numeric {
            precision: None,
            scale: None,
        }
    }

    /// Looks a type up by the name PostgreSQL's `format_type` prints or the parser accepts
    /// without parameters (`int4`, `integer`, `text`, …).
    pub fn from_name(name: &str) -> Option<ScalarType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => ScalarType::Bool,
            "int2" | "smallint" => ScalarType::Int16,
            "int4" | "int" | "integer" => ScalarType::Int32,
            "int8" | "bigint" => ScalarType::Int64,
            "float4" | "real" => ScalarType::Float32,
            "float8" | "double precision" | "float" | "double" => ScalarType::Float64,
            "numeric" | "decimal" => ScalarType::numeric(),
            "text" | "string" => ScalarType::String,
            "varchar" | "character varying" => ScalarType::VarChar { max_length: None },
            "char" | "character" | "bpchar" => ScalarType::Char { length: 1 },
            "bytea" => ScalarType::Bytes,
            "date" => ScalarType::Date,
            "time" | "time without time zone" => ScalarType::Time,
            "timestamp" | "timestamp without time zone" => ScalarType::Timestamp,
            "timestamptz" | "timestamp with time zone" => ScalarType::TimestampTz,
            "interval" => ScalarType::Interval,
            "uuid" => ScalarType::Uuid,
            "jsonb" | "json" => ScalarType::Jsonb,
            _ => return None,
        })
    }

    /// The name PostgreSQL's `format_type` would print (used by `SHOW COLUMNS`, `SHOW CREATE`).
    pub fn sql_name(&self) -> String {
        match self {
            ScalarType::Bool => "boolean".into(),
            ScalarType::Int16 => "smallint".into(),
            ScalarType::Int32 => "integer".into(),
            ScalarType::Int64 => "bigint".into(),
            ScalarType::Float32 => "real".into(),
            ScalarType::Float64 => "double precision".into(),
            ScalarType::Numeric {
                precision: Some(p),
                scale,
            } => format!("numeric({},{})", p, scale.unwrap_or(0)),
            ScalarType::Numeric { .. } => "numeric".into(),
            ScalarType::String => "text".into(),
            ScalarType::VarChar {
                max_length: Some(n),
            } => format!("character varying({n})"),
            ScalarType::VarChar { max_length: None } => "character varying".into(),
            ScalarType::Char { length } => format!("character({length})"),
            ScalarType::Bytes => "bytea".into(),
            ScalarType::Date => "date".into(),
            ScalarType::Time => "time without time zone".into(),
            ScalarType::Timestamp => "timestamp without time zone".into(),
            ScalarType::TimestampTz => "timestamp with time zone".into(),
            ScalarType::Interval => "interval".into(),
            ScalarType::Uuid => "uuid".into(),
            ScalarType::Jsonb => "jsonb".into(),
            ScalarType::Array(elem) => format!("{}[]", elem.sql_name()),
            ScalarType::Unknown => "unknown".into(),
        }
    }

    /// The short internal name PostgreSQL uses in error messages (`integer`, `text`).
    pub fn pg_name(&self) -> String {
        match self {
            ScalarType::Numeric { .. } => "numeric".into(),
            ScalarType::VarChar { .. } => "character varying".into(),
            ScalarType::Char { .. } => "character".into(),
            other => other.sql_name(),
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pg_name())
    }
}

/// The type of a column: a scalar type and whether it may hold NULL.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnType {
    pub scalar_type: ScalarType,
    pub nullable: bool,
}

impl ColumnType {
    pub fn new(scalar_type: ScalarType, nullable: bool) -> Self {
        ColumnType {
            scalar_type,
            nullable,
        }
    }

    pub fn nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }
}

impl ScalarType {
    pub fn nullable(self, nullable: bool) -> ColumnType {
        ColumnType::new(self, nullable)
    }
}
