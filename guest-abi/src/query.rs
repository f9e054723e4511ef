//! The query IR: what an ORM chain compiles to. A module carries these as templates; the values
//! of `Param`s arrive at run time. The host alone turns them into SQL, with quoted identifiers,
//! for tables the manifest declares.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub table: String,
    pub kind: QueryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Expr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<Order>,
    /// A `Param` holding the row limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Expr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Expr>,
    /// `.group_by(fn(r) => r.col)`: a `count` or aggregate per value of the column, as rows of
    /// `{col: value, "count": n}` (or `"sum_x"`, `"avg_x"`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// `.preload("posts")`: relations of the table filled in for the rows read, one statement
    /// each whatever the number of rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preload: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum QueryKind {
    /// One row (`LIMIT 1`); no row is an error the guest sees.
    First,
    All,
    Count,
    /// `sum`, `avg`, `min` or `max` of a numeric column, as a `Float`; `sum` of no rows is 0,
    /// the others an error the guest sees.
    Aggregate {
        func: Aggregate,
        column: String,
    },
    Insert,
    Update {
        set: Vec<Assignment>,
    },
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Sum,
    Avg,
    Min,
    Max,
}

impl Aggregate {
    /// The key of a grouped row's aggregate: `sum_units`, `avg_price` (upstream's names).
    pub fn key(self, column: &str) -> String {
        format!("{}_{column}", self.sql().to_ascii_lowercase())
    }

    pub fn sql(self) -> &'static str {
        match self {
            Aggregate::Sum => "SUM",
            Aggregate::Avg => "AVG",
            Aggregate::Min => "MIN",
            Aggregate::Max => "MAX",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub column: String,
    /// Index of the run-time parameter holding the value.
    pub param: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub column: String,
    pub ascending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LikeMode {
    StartsWith,
    EndsWith,
    Contains,
}

/// A predicate or value over the row's columns and the query's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Expr {
    Column {
        name: String,
    },
    /// A value computed by the guest and passed at run time.
    Param {
        index: u32,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Not {
        expr: Box<Expr>,
    },
    Neg {
        expr: Box<Expr>,
    },
    /// `LIKE` with the parameter escaped by the host (`%` and `_` are literal).
    Like {
        expr: Box<Expr>,
        mode: LikeMode,
        pattern: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
    },
    IsNotNull {
        expr: Box<Expr>,
    },
    /// Membership in a list parameter; an empty list matches nothing.
    In {
        expr: Box<Expr>,
        list: u32,
    },
}
