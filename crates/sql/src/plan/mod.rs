//! Planning: from the SQL AST to HIR (binding) and from HIR to MIR (lowering).
//!
//! The [`Binder`] walks a statement's AST with a stack of scopes (one per enclosing query,
//! for correlated references), resolving names against the [`SessionCatalog`], choosing
//! functions and operators by argument types, and inserting casts. It produces HIR, which
//! [`lowering`] then decorrelates into MIR.

use evert_expr::LocalId;
use evert_repr::{ColumnType, RelationDesc, Row, ScalarType};

use crate::catalog::SessionCatalog;
use crate::error::PlanError;
use crate::hir::{HirAggregateExpr, HirScalarExpr};

pub mod expr;
pub mod func;
pub mod lowering;
pub mod query;
pub mod recursive;
pub mod scope;
pub mod statement;
pub mod typeconv;
pub mod window;

pub use query::{Finishing, PlannedQuery};
pub use scope::{Scope, ScopeItem};
pub use typeconv::{CastContext, ParamTypes, Typed};

/// Whether a query runs once (a SELECT) or is maintained (a view, an index, a subscription),
/// which decides whether functions like `now()` are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryLifetime {
    OneShot,
    Maintained,
}

/// Aggregates found while binding one grouped query level. Each is replaced in the bound
/// expression by a placeholder column numbered after the input's columns.
#[derive(Debug, Default)]
pub(crate) struct AggregateFrame {
    pub input_arity: usize,
    pub aggregates: Vec<HirAggregateExpr>,
    pub types: Vec<ColumnType>,
    /// The arguments of each `GROUPING(…)` call; call `g` is bound as the placeholder column
    /// `input_arity + GROUPING_PLACEHOLDER + g` until the grouping sets are known.
    pub groupings: Vec<Vec<HirScalarExpr>>,
}

/// Offset of the placeholder columns of `GROUPING(…)` calls (see `AggregateFrame`).
pub(crate) const GROUPING_PLACEHOLDER: usize = 1 << 40;

/// Binding state for one statement.
pub struct Binder<'a> {
    pub catalog: &'a dyn SessionCatalog,
    /// Scopes of the enclosing queries, innermost last (level 1 is the last).
    pub(crate) outer: Vec<Scope>,
    /// Common table expressions in scope, innermost last.
    pub(crate) ctes: Vec<(String, LocalId, RelationDesc)>,
    pub params: ParamTypes,
    /// Values for `$n`, when executing a prepared statement.
    pub param_values: Option<Vec<(Row, ScalarType)>>,
    next_local: u64,
    pub(crate) aggregate_frames: Vec<AggregateFrame>,
    pub lifetime: QueryLifetime,
    /// Set when the statement calls `now()` or similar.
    pub uses_unmaterializable: bool,
}

impl<'a> Binder<'a> {
    pub fn new(catalog: &'a dyn SessionCatalog, lifetime: QueryLifetime) -> Binder<'a> {
        Binder {
            catalog,
            outer: Vec::new(),
            ctes: Vec::new(),
            params: ParamTypes::default(),
            param_values: None,
            next_local: 0,
            aggregate_frames: Vec::new(),
            lifetime,
            uses_unmaterializable: false,
        }
    }

    pub fn with_params(
        mut self,
        types: ParamTypes,
        values: Option<Vec<(Row, ScalarType)>>,
    ) -> Binder<'a> {
        self.params = types;
        self.param_values = values;
        self
    }

    pub(crate) fn next_local_id(&mut self) -> LocalId {
        self.next_local += 1;
        LocalId(self.next_local)
    }

    /// Runs `f` with `scope` pushed as the innermost enclosing scope.
    pub(crate) fn with_outer<T>(
        &mut self,
        scope: Scope,
        f: impl FnOnce(&mut Self) -> Result<T, PlanError>,
    ) -> Result<T, PlanError> {
        self.outer.push(scope);
        let result = f(self);
        self.outer.pop();
        result
    }

    /// The inferred parameter types, `$1` first; parameters never given a type are text.
    pub fn param_types(&self, count_hint: usize) -> Vec<ScalarType> {
        let max = self
            .params
            .types
            .keys()
            .max()
            .copied()
            .unwrap_or(0)
            .max(count_hint);
        (1..=max)
            .map(|n| self.params.get(n).cloned().unwrap_or(ScalarType::String))
            .collect()
    }
}
