//! Query IR → parameterised SQL for one dialect. Identifiers are always quoted and must name a
//! table the manifest declares and a column of it; values only ever travel as bound
//! parameters. Fitz semantics are kept where SQL differs: `==` on a nullable side is null-safe,
//! `%` is euclidean, `+` on strings concatenates, and text search is case-sensitive in both
//! dialects (SQLite's `LIKE` is not, so neither dialect uses `LIKE`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use guest_abi::manifest::{Manifest, QuerySpec, Table};
use guest_abi::query::{BinaryOp, Expr, LikeMode, QueryKind};
use guest_abi::types::{RecordType, ValueType};
use guest_abi::value::Value;

use super::{DbError, Dialect};

/// The SQL type a parameter is bound as.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BindType {
    Int,
    Float,
    Bool,
    Text,
    /// `Bytes`: SQLite's BLOB, PostgreSQL's BYTEA.
    Blob,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    Null(BindType),
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Blob(Vec<u8>),
}

/// What the statement gives back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Returns {
    /// One row (`first`, `insert`); none is an error the guest sees.
    Row,
    Rows,
    /// One row with one integer column.
    Count,
    /// One row with one float column, `NULL` when no row was aggregated.
    Float,
    /// `group_by`: rows of the group's value and its count (an integer) or aggregate (a float).
    Groups {
        count: bool,
    },
    /// The number of rows changed.
    Affected,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sql: Arc<str>,
    pub binds: Vec<Bind>,
    pub returns: Returns,
    /// The column a grouped statement groups by (its first result column).
    pub group: Option<Arc<str>>,
}

pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The column type a value of `ty` is stored and bound as.
pub fn bind_type(ty: &ValueType) -> BindType {
    match ty {
        ValueType::Int | ValueType::DateTime | ValueType::Date => BindType::Int,
        ValueType::Float => BindType::Float,
        ValueType::Bool => BindType::Bool,
        ValueType::Bytes => BindType::Blob,
        ValueType::Nullable { inner } => bind_type(inner),
        _ => BindType::Text,
    }
}

/// Why a string with a NUL character is refused, on both databases.
pub const NUL_TEXT: &str = "text containing the NUL character (\\u0000)";

/// A value as a bound parameter; composite values are stored as their JSON text.
pub fn bind_value(records: &[RecordType], ty: &ValueType, v: &Value) -> Result<Bind, DbError> {
    let inner = match ty {
        ValueType::Nullable { inner } => inner.as_ref(),
        other => other,
    };
    Ok(match (inner, v) {
        (_, Value::Null) => Bind::Null(bind_type(inner)),
        (ValueType::Int, Value::Int(i)) | (ValueType::DateTime, Value::DateTime(i)) | (ValueType::Date, Value::Date(i)) => Bind::Int(*i),
        // SQLite keeps a REAL that is a whole number as an integer and reads -0.0 back as 0.0;
        // PostgreSQL keeps the sign. Both store 0.0, so both read back the same.
        (ValueType::Float, Value::Float(f)) => Bind::Float(if *f == 0.0 { 0.0 } else { *f }),
        (ValueType::Float, Value::Int(i)) => Bind::Float(*i as f64),
        (ValueType::Bool, Value::Bool(b)) => Bind::Bool(*b),
        // PostgreSQL's text cannot hold NUL and SQLite's can: neither is asked to.
        (ValueType::Str | ValueType::Uuid | ValueType::Secret, Value::Str(s)) if s.contains('\0') => return Err(DbError::Unstorable(NUL_TEXT)),
        (ValueType::Str | ValueType::Uuid | ValueType::Secret, Value::Str(s)) => Bind::Text(s.clone()),
        (ValueType::Bytes, Value::Bytes(b)) => Bind::Blob(b.clone()),
        (ValueType::List { .. } | ValueType::Map { .. } | ValueType::Record { .. } | ValueType::Result { .. }, v) => {
            Bind::Text(crate::json::to_json(records, inner, v).to_string())
        }
        _ => return Err(DbError::Invalid("a parameter does not match its declared type".into())),
    })
}

struct Builder<'a> {
    dialect: Dialect,
    /// The quoted, qualified table name.
    table_name: String,
    table: &'a Table,
    records: &'a [RecordType],
    spec: &'a QuerySpec,
    params: &'a [Value],
    binds: Vec<Bind>,
    /// Placeholder number of each parameter already bound.
    numbered: HashMap<u32, usize>,
    /// Where each bind came from: the parameter and the type it is bound as.
    sources: Vec<(u32, ValueType)>,
    /// Whether the text depends on the values (an `is_in` list's length, an `insert` that
    /// leaves a zero key to the database), so that it cannot be reused.
    value_dependent: bool,
    /// Parameters that are a `.limit` or `.offset`, checked at every run (`Plan::bind`).
    windows: Vec<(u32, &'static str)>,
}

impl Builder<'_> {
    fn placeholder(&self, n: usize) -> String {
        self.dialect.placeholder(n)
    }

    fn push(&mut self, b: Bind) -> String {
        self.binds.push(b);
        self.placeholder(self.binds.len())
    }

    fn param(&mut self, index: u32) -> Result<String, DbError> {
        if let Some(&n) = self.numbered.get(&index) {
            return Ok(self.placeholder(n));
        }
        let (ty, v) = self.param_value(index)?;
        let b = bind_value(self.records, ty, v)?;
        self.sources.push((index, ty.clone()));
        let p = self.push(b);
        self.numbered.insert(index, self.binds.len());
        Ok(p)
    }

    fn param_value(&self, index: u32) -> Result<(&ValueType, &Value), DbError> {
        let ty = self.spec.params.get(index as usize);
        let v = self.params.get(index as usize);
        ty.zip(v).ok_or_else(|| DbError::Invalid(format!("parameter {index} is missing")))
    }

    fn column(&self, name: &str) -> Result<String, DbError> {
        self.column_type(name)?;
        Ok(quote(name))
    }

    fn column_type(&self, name: &str) -> Result<&ValueType, DbError> {
        self.table.columns.iter().find(|c| c.name == name).map(|c| &c.ty).ok_or_else(|| DbError::Invalid(format!("table `{}` has no column `{name}`", self.table.name)))
    }

    /// The static type of an expression where the SQL depends on it.
    fn type_of(&self, e: &Expr) -> Option<ValueType> {
        match e {
            Expr::Column { name } => self.column_type(name).ok().cloned(),
            Expr::Param { index } => self.spec.params.get(*index as usize).cloned(),
            Expr::Binary { op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem, lhs, .. } => self.type_of(lhs),
            Expr::Neg { expr } => self.type_of(expr),
            _ => Some(ValueType::Bool),
        }
    }

    fn is_nullable(&self, e: &Expr) -> bool {
        matches!(self.type_of(e), Some(ValueType::Nullable { .. }))
    }

    fn is_text(&self, e: &Expr) -> bool {
        matches!(self.type_of(e), Some(ValueType::Str))
    }

    /// Whether `e` is stored as text, nullable or not: compared and ordered byte by byte.
    fn is_textual(&self, e: &Expr) -> bool {
        let ty = self.type_of(e);
        let inner = match &ty {
            Some(ValueType::Nullable { inner }) => Some(inner.as_ref()),
            other => other.as_ref(),
        };
        inner.is_some_and(|t| bind_type(t) == BindType::Text)
    }

    /// SQLite compares text byte by byte; PostgreSQL by the database's collation, which may
    /// order `B` before `a` or not. `COLLATE "C"` makes PostgreSQL compare bytes too.
    fn bytewise(&self, sql: String, textual: bool) -> String {
        match (self.dialect, textual) {
            (Dialect::Postgres, true) => format!("{sql} COLLATE \"C\""),
            _ => sql,
        }
    }

    /// A `.limit(…)` or `.offset(…)`: a negative one is refused the same way on both
    /// databases (SQLite reads a negative limit as none, PostgreSQL refuses it); one computed
    /// in the query is held at zero or more.
    fn window_bound(&mut self, e: &Expr, what: &'static str) -> Result<String, DbError> {
        if let Expr::Param { index } = e {
            check_window(what, self.param_value(*index)?.1)?;
            self.windows.push((*index, what));
        }
        let x = self.expr(e)?;
        Ok(match (e, self.dialect) {
            (Expr::Param { .. }, _) => x,
            (_, Dialect::Sqlite) => format!("max({x}, 0)"),
            (_, Dialect::Postgres) => format!("GREATEST({x}, 0)"),
        })
    }

    fn expr(&mut self, e: &Expr) -> Result<String, DbError> {
        Ok(match e {
            Expr::Column { name } => self.column(name)?,
            Expr::Param { index } => self.param(*index)?,
            Expr::Not { expr } => format!("(NOT {})", self.expr(expr)?),
            Expr::Neg { expr } => format!("(- {})", self.expr(expr)?),
            Expr::IsNull { expr } => format!("({} IS NULL)", self.expr(expr)?),
            Expr::IsNotNull { expr } => format!("({} IS NOT NULL)", self.expr(expr)?),
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs)?,
            Expr::Like { expr, mode, pattern } => {
                let (x, p) = (self.expr(expr)?, self.expr(pattern)?);
                match (self.dialect, mode) {
                    (Dialect::Sqlite, LikeMode::Contains) => format!("(instr({x}, {p}) > 0)"),
                    (Dialect::Sqlite, LikeMode::StartsWith) => format!("(substr({x}, 1, length({p})) = {p})"),
                    (Dialect::Sqlite, LikeMode::EndsWith) => format!("(length({p}) = 0 OR substr({x}, -length({p})) = {p})"),
                    (Dialect::Postgres, LikeMode::Contains) => format!("(strpos({x}, {p}) > 0)"),
                    (Dialect::Postgres, LikeMode::StartsWith) => format!("(left({x}, length({p})) = {p})"),
                    (Dialect::Postgres, LikeMode::EndsWith) => format!("(right({x}, length({p})) = {p})"),
                }
            }
            Expr::In { expr, list } => {
                let x = self.expr(expr)?;
                self.value_dependent = true;
                let (ty, v) = self.param_value(*list)?;
                let (ValueType::List { item }, Value::List(items)) = (ty, v) else {
                    return Err(DbError::Invalid("`is_in` needs a list".into()));
                };
                let item = item.as_ref().clone();
                let items = items.clone();
                if items.is_empty() {
                    return Ok("(1 = 0)".into());
                }
                let mut ps = Vec::with_capacity(items.len());
                for it in &items {
                    let b = bind_value(self.records, &item, it)?;
                    ps.push(self.push(b));
                }
                format!("({x} IN ({}))", ps.join(", "))
            }
        })
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr) -> Result<String, DbError> {
        let null_safe = self.is_nullable(lhs) || self.is_nullable(rhs);
        let text = self.is_text(lhs);
        let ordered = matches!(op, BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge) && self.is_textual(lhs);
        let (l, r) = (self.expr(lhs)?, self.expr(rhs)?);
        Ok(match op {
            BinaryOp::Eq if null_safe => match self.dialect {
                Dialect::Sqlite => format!("({l} IS {r})"),
                Dialect::Postgres => format!("({l} IS NOT DISTINCT FROM {r})"),
            },
            BinaryOp::Ne if null_safe => match self.dialect {
                Dialect::Sqlite => format!("({l} IS NOT {r})"),
                Dialect::Postgres => format!("({l} IS DISTINCT FROM {r})"),
            },
            BinaryOp::Add if text => format!("({l} || {r})"),
            // Fitz's `%` is euclidean: the result takes the sign of neither operand.
            BinaryOp::Rem => format!("((({l} % {r}) + abs({r})) % abs({r}))"),
            _ => {
                let sym = match op {
                    BinaryOp::Eq => "=",
                    BinaryOp::Ne => "<>",
                    BinaryOp::Lt => "<",
                    BinaryOp::Le => "<=",
                    BinaryOp::Gt => ">",
                    BinaryOp::Ge => ">=",
                    BinaryOp::And => "AND",
                    BinaryOp::Or => "OR",
                    BinaryOp::Add => "+",
                    BinaryOp::Sub => "-",
                    BinaryOp::Mul => "*",
                    BinaryOp::Div => "/",
                    BinaryOp::Rem => "%",
                };
                format!("({} {sym} {r})", self.bytewise(l, ordered))
            }
        })
    }

    fn columns(&self) -> String {
        self.table.columns.iter().map(|c| quote(&c.name)).collect::<Vec<_>>().join(", ")
    }

    /// `WHERE …` (or nothing).
    fn filter(&mut self) -> Result<String, DbError> {
        match &self.spec.query.filter {
            Some(f) => Ok(format!(" WHERE {}", self.expr(f)?)),
            None => Ok(String::new()),
        }
    }

    /// `ORDER BY … LIMIT … OFFSET …` (or nothing); `force_limit` is `first`'s `LIMIT 1`.
    fn tail(&mut self, force_limit: Option<&str>) -> Result<String, DbError> {
        let q = &self.spec.query;
        let mut out = String::new();
        if !q.order.is_empty() {
            let mut parts = Vec::new();
            for o in &q.order {
                let textual = self.is_textual(&Expr::Column { name: o.column.clone() });
                let column = self.bytewise(self.column(&o.column)?, textual);
                parts.push(format!("{column} {}", if o.ascending { "ASC" } else { "DESC" }));
            }
            out += &format!(" ORDER BY {}", parts.join(", "));
        }
        let limit = match (force_limit, &q.limit) {
            (Some(l), _) => Some(l.to_string()),
            (None, Some(e)) => Some(self.window_bound(e, "limit")?),
            (None, None) => None,
        };
        let offset = match &q.offset {
            Some(e) => Some(self.window_bound(e, "offset")?),
            None => None,
        };
        match (limit, offset, self.dialect) {
            (Some(l), o, _) => {
                out += &format!(" LIMIT {l}");
                if let Some(o) = o {
                    out += &format!(" OFFSET {o}");
                }
            }
            // SQLite has no OFFSET without LIMIT.
            (None, Some(o), Dialect::Sqlite) => out += &format!(" LIMIT -1 OFFSET {o}"),
            (None, Some(o), Dialect::Postgres) => out += &format!(" OFFSET {o}"),
            (None, None, _) => {}
        }
        Ok(out)
    }

    fn has_window(&self) -> bool {
        let q = &self.spec.query;
        !q.order.is_empty() || q.limit.is_some() || q.offset.is_some()
    }

    /// For `update`, `delete` and `count` with an order or a window: the rows they touch are
    /// those of the windowed select, by primary key.
    fn window_filter(&mut self) -> Result<String, DbError> {
        let pk = self.column(&self.table.primary_key.clone())?;
        let table = self.table_name.clone();
        let filter = self.filter()?;
        let tail = self.tail(None)?;
        Ok(format!(" WHERE {pk} IN (SELECT {pk} FROM {table}{filter}{tail})"))
    }

    fn build(mut self) -> Result<(Statement, Option<Plan>), DbError> {
        let table = self.table_name.clone();
        let (sql, returns) = match &self.spec.query.kind {
            QueryKind::First => {
                let filter = self.filter()?;
                let tail = self.tail(Some("1"))?;
                (format!("SELECT {} FROM {table}{filter}{tail}", self.columns()), Returns::Row)
            }
            QueryKind::All => {
                let filter = self.filter()?;
                let tail = self.tail(None)?;
                (format!("SELECT {} FROM {table}{filter}{tail}", self.columns()), Returns::Rows)
            }
            QueryKind::Count if self.spec.query.group_by.is_some() => {
                let group = self.column(self.spec.query.group_by.as_deref().unwrap_or_default())?;
                let filter = self.filter()?;
                (format!("SELECT {group}, COUNT(*) FROM {table}{filter} GROUP BY {group} ORDER BY {group}"), Returns::Groups { count: true })
            }
            QueryKind::Count => {
                let filter = if self.has_window() { self.window_filter()? } else { self.filter()? };
                (format!("SELECT COUNT(*) FROM {table}{filter}"), Returns::Count)
            }
            QueryKind::Aggregate { func, column } => {
                let col = self.column(column)?;
                let filter = self.filter()?;
                // A float on both databases: SQLite sums integers as integers, PostgreSQL as numeric.
                let float = match self.dialect {
                    Dialect::Sqlite => "REAL",
                    Dialect::Postgres => "DOUBLE PRECISION",
                };
                let value = format!("CAST({}({col}) AS {float})", func.sql());
                let value = if *func == guest_abi::query::Aggregate::Sum { format!("COALESCE({value}, 0)") } else { value };
                match self.spec.query.group_by.clone() {
                    Some(group) => {
                        let group = self.column(&group)?;
                        (format!("SELECT {group}, {value} FROM {table}{filter} GROUP BY {group} ORDER BY {group}"), Returns::Groups { count: false })
                    }
                    None => (format!("SELECT {value} FROM {table}{filter}"), Returns::Float),
                }
            }
            QueryKind::Delete => {
                let filter = if self.has_window() { self.window_filter()? } else { self.filter()? };
                (format!("DELETE FROM {table}{filter}"), Returns::Affected)
            }
            QueryKind::Update { set } => {
                let mut sets = Vec::new();
                for a in set {
                    let col = self.column(&a.column)?;
                    let col_ty = self.column_type(&a.column)?.clone();
                    let (_, v) = self.param_value(a.param)?;
                    let v = v.clone();
                    let b = bind_value(self.records, &col_ty, &v)?;
                    self.sources.push((a.param, col_ty));
                    sets.push(format!("{col} = {}", self.push(b)));
                }
                if sets.is_empty() {
                    return Err(DbError::Invalid("`update` sets no column".into()));
                }
                let filter = if self.has_window() { self.window_filter()? } else { self.filter()? };
                (format!("UPDATE {table} SET {}{filter}", sets.join(", ")), Returns::Affected)
            }
            QueryKind::Insert => {
                self.value_dependent = true;
                let (_, row) = self.param_value(0)?;
                let Value::Record(fields) = row.clone() else {
                    return Err(DbError::Invalid("`insert` needs a record".into()));
                };
                let mut cols = Vec::new();
                let mut vals = Vec::new();
                let record = self.records.get(self.table.record as usize).ok_or_else(|| DbError::Invalid("a table names no record".into()))?;
                let at = self.table.column_fields(record).ok_or_else(|| DbError::Invalid("a column names no field".into()))?;
                let values = at.iter().map(|i| fields.get(*i).ok_or_else(|| DbError::Invalid("`insert` needs a whole record".into()))).collect::<Result<Vec<_>, _>>()?;
                for (c, v) in self.table.columns.iter().zip(values) {
                    // An `Int` key written as 0 is assigned by the database.
                    if self.table.auto_id && c.name == self.table.primary_key && *v == Value::Int(0) {
                        continue;
                    }
                    let b = bind_value(self.records, &c.ty, v)?;
                    cols.push(quote(&c.name));
                    vals.push(self.push(b));
                }
                let returning = self.columns();
                let sql = if cols.is_empty() {
                    format!("INSERT INTO {table} DEFAULT VALUES RETURNING {returning}")
                } else {
                    format!("INSERT INTO {table} ({}) VALUES ({}) RETURNING {returning}", cols.join(", "), vals.join(", "))
                };
                (sql, Returns::Row)
            }
        };
        let sql: Arc<str> = sql.into();
        let group: Option<Arc<str>> = self.spec.query.group_by.as_deref().map(Into::into);
        let plan = (!self.value_dependent).then(|| Plan { sql: sql.clone(), sources: self.sources, windows: self.windows, returns, group: group.clone() });
        Ok((Statement { sql, binds: self.binds, returns, group }, plan))
    }
}

/// A statement whose text does not depend on its values: built once, then only bound.
#[derive(Debug)]
pub struct Plan {
    sql: Arc<str>,
    sources: Vec<(u32, ValueType)>,
    windows: Vec<(u32, &'static str)>,
    returns: Returns,
    group: Option<Arc<str>>,
}

/// A `.limit(n)` or `.offset(n)` with a negative `n`: refused the same way on both databases.
fn check_window(what: &str, v: &Value) -> Result<(), DbError> {
    match v {
        Value::Int(n) if *n < 0 => Err(DbError::Invalid(format!("`.{what}({n})` must be zero or more"))),
        _ => Ok(()),
    }
}

impl Plan {
    pub fn bind(&self, records: &[RecordType], params: &[Value]) -> Result<Statement, DbError> {
        for (index, what) in &self.windows {
            check_window(what, params.get(*index as usize).unwrap_or(&Value::Null))?;
        }
        let mut binds = Vec::with_capacity(self.sources.len());
        for (index, ty) in &self.sources {
            let v = params.get(*index as usize).ok_or_else(|| DbError::Invalid(format!("parameter {index} is missing")))?;
            binds.push(bind_value(records, ty, v)?);
        }
        Ok(Statement { sql: self.sql.clone(), binds, returns: self.returns, group: self.group.clone() })
    }
}

/// The plans of one app version's queries (on its one database), by query index: building
/// SQL text costs more than a cheap query's other host-side work, and a query's text rarely
/// depends on its values. Those whose text does are built on every run.
#[derive(Debug, Default)]
pub struct Plans {
    slots: OnceLock<Box<[OnceLock<Option<Plan>>]>>,
}

impl Plans {
    /// The statement for one run of query `index` of `manifest` with these values.
    pub fn statement(&self, dialect: Dialect, schema: Option<&str>, manifest: &Manifest, index: usize, params: &[Value]) -> Result<Statement, DbError> {
        let slots = self.slots.get_or_init(|| manifest.queries.iter().map(|_| OnceLock::new()).collect());
        let (slot, spec) = slots.get(index).zip(manifest.queries.get(index)).ok_or_else(|| DbError::Invalid(format!("unknown query {index}")))?;
        if let Some(Some(plan)) = slot.get() {
            return plan.bind(&manifest.records, params);
        }
        let (stmt, plan) = plan(dialect, schema, &manifest.tables, &manifest.records, spec, params)?;
        let _ = slot.set(plan);
        Ok(stmt)
    }
}

/// Builds the statement for one run of a query template with its parameter values; tables
/// are qualified with `schema` when there is one.
pub fn build(dialect: Dialect, schema: Option<&str>, tables: &[Table], records: &[RecordType], spec: &QuerySpec, params: &[Value]) -> Result<Statement, DbError> {
    plan(dialect, schema, tables, records, spec, params).map(|(stmt, _)| stmt)
}

/// `build`, and the plan to reuse for later runs when the text does not depend on the values.
pub fn plan(dialect: Dialect, schema: Option<&str>, tables: &[Table], records: &[RecordType], spec: &QuerySpec, params: &[Value]) -> Result<(Statement, Option<Plan>), DbError> {
    let table = tables.iter().find(|t| t.name == spec.query.table).ok_or_else(|| DbError::Invalid(format!("the manifest declares no table `{}`", spec.query.table)))?;
    let table_name = qualified(schema, &table.name);
    Builder { dialect, table_name, table, records, spec, params, binds: Vec::new(), numbered: HashMap::new(), sources: Vec::new(), value_dependent: false, windows: Vec::new() }
        .build()
}

/// `"schema"."name"`, or `"name"`.
pub fn qualified(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote(s), quote(name)),
        None => quote(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_abi::manifest::Column;
    use guest_abi::query::{Order, Query};

    fn table() -> Table {
        let col = |name: &str, ty: ValueType| Column { name: name.into(), ty, references: None };
        Table {
            name: "tasks".into(),
            record: 0,
            primary_key: "id".into(),
            auto_id: true,
            columns: vec![col("id", ValueType::Int), col("title", ValueType::Str), col("owner", ValueType::nullable(ValueType::Str))],
            relations: vec![],
        }
    }

    fn spec(kind: QueryKind, filter: Option<Expr>, params: Vec<ValueType>) -> QuerySpec {
        QuerySpec {
            query: Query { table: "tasks".into(), kind, filter, order: vec![], limit: None, offset: None, preload: vec![], group_by: None },
            record: 0,
            params,
            result: ValueType::Int,
        }
    }

    fn col(name: &str) -> Box<Expr> {
        Box::new(Expr::Column { name: name.into() })
    }

    fn param(index: u32) -> Box<Expr> {
        Box::new(Expr::Param { index })
    }

    #[test]
    fn placeholders_quoting_and_null_safe_equality() {
        let f = Expr::Binary {
            op: BinaryOp::And,
            lhs: Box::new(Expr::Binary { op: BinaryOp::Eq, lhs: col("owner"), rhs: param(0) }),
            rhs: Box::new(Expr::Binary { op: BinaryOp::Rem, lhs: col("id"), rhs: param(1) }),
        };
        let s = spec(QueryKind::Count, Some(f), vec![ValueType::nullable(ValueType::Str), ValueType::Int]);
        let params = [Value::Null, Value::Int(3)];
        let sqlite = build(Dialect::Sqlite, None, &[table()], &[], &s, &params).expect("sql");
        assert_eq!(&*sqlite.sql, r#"SELECT COUNT(*) FROM "tasks" WHERE (("owner" IS ?1) AND ((("id" % ?2) + abs(?2)) % abs(?2)))"#);
        assert_eq!(sqlite.binds, vec![Bind::Null(BindType::Text), Bind::Int(3)]);
        let pg = build(Dialect::Postgres, None, &[table()], &[], &s, &params).expect("sql");
        assert_eq!(&*pg.sql, r#"SELECT COUNT(*) FROM "tasks" WHERE (("owner" IS NOT DISTINCT FROM $1) AND ((("id" % $2) + abs($2)) % abs($2)))"#);
    }

    #[test]
    fn first_orders_limits_and_searches_without_like() {
        let mut s = spec(QueryKind::First, Some(Expr::Like { expr: col("title"), mode: LikeMode::Contains, pattern: param(0) }), vec![ValueType::Str]);
        s.query.order = vec![Order { column: "id".into(), ascending: false }];
        let params = [Value::Str("50%_off".into())];
        let pg = build(Dialect::Postgres, None, &[table()], &[], &s, &params).expect("sql");
        assert_eq!(&*pg.sql, r#"SELECT "id", "title", "owner" FROM "tasks" WHERE (strpos("title", $1) > 0) ORDER BY "id" DESC LIMIT 1"#);
        assert_eq!(pg.binds, vec![Bind::Text("50%_off".into())]);
    }

    #[test]
    fn insert_leaves_a_zero_key_to_the_database_and_lists_expand() {
        let s = QuerySpec { params: vec![ValueType::Record { id: 0 }], ..spec(QueryKind::Insert, None, vec![]) };
        let row = Value::Record(vec![Value::Int(0), Value::Str("t".into()), Value::Null]);
        let field = |name: &str, ty: ValueType| guest_abi::types::FieldType { name: name.into(), ty, hidden: false, has_default: false };
        let fields = vec![field("id", ValueType::Int), field("title", ValueType::Str), field("owner", ValueType::nullable(ValueType::Str))];
        let records = [RecordType { name: "Task".into(), fields }];
        let st = build(Dialect::Sqlite, None, &[table()], &records, &s, &[row]).expect("sql");
        assert_eq!(&*st.sql, r#"INSERT INTO "tasks" ("title", "owner") VALUES (?1, ?2) RETURNING "id", "title", "owner""#);
        let s = spec(QueryKind::Count, Some(Expr::In { expr: col("id"), list: 0 }), vec![ValueType::list(ValueType::Int)]);
        let st = build(Dialect::Postgres, None, &[table()], &[], &s, &[Value::List(vec![Value::Int(1), Value::Int(2)])]).expect("sql");
        assert_eq!(&*st.sql, r#"SELECT COUNT(*) FROM "tasks" WHERE ("id" IN ($1, $2))"#);
        let st = build(Dialect::Postgres, None, &[table()], &[], &s, &[Value::List(vec![])]).expect("sql");
        assert_eq!(&*st.sql, r#"SELECT COUNT(*) FROM "tasks" WHERE (1 = 0)"#);
    }

    #[test]
    fn plans_are_reused_only_where_the_text_does_not_depend_on_values() {
        let eq = Expr::Binary { op: BinaryOp::Eq, lhs: col("owner"), rhs: param(0) };
        let by_owner = spec(QueryKind::All, Some(eq), vec![ValueType::nullable(ValueType::Str)]);
        let in_list = spec(QueryKind::Count, Some(Expr::In { expr: col("id"), list: 0 }), vec![ValueType::list(ValueType::Int)]);
        let manifest = Manifest { tables: vec![table()], queries: vec![by_owner.clone(), in_list.clone()], ..Manifest::empty("t.fitz") };
        let plans = Plans::default();
        for owner in [Value::Str("ada".into()), Value::Null, Value::Str("bob".into())] {
            let params = [owner];
            let fresh = build(Dialect::Postgres, Some("t1"), &manifest.tables, &[], &by_owner, &params).expect("sql");
            let planned = plans.statement(Dialect::Postgres, Some("t1"), &manifest, 0, &params).expect("sql");
            assert_eq!(planned, fresh);
        }
        assert!(matches!(plans.slots.get().expect("slots")[0].get(), Some(Some(_))), "a fixed text is kept");
        for n in [2, 0, 3] {
            let params = [Value::List((0..n).map(Value::Int).collect())];
            let fresh = build(Dialect::Postgres, None, &manifest.tables, &[], &in_list, &params).expect("sql");
            assert_eq!(plans.statement(Dialect::Postgres, None, &manifest, 1, &params).expect("sql"), fresh);
        }
        assert!(matches!(plans.slots.get().expect("slots")[1].get(), Some(None)), "an `is_in` text is rebuilt");
        assert!(plans.statement(Dialect::Postgres, None, &manifest, 2, &[]).is_err(), "no query 2");
    }

    #[test]
    fn unknown_tables_and_columns_are_refused() {
        let mut s = spec(QueryKind::All, None, vec![]);
        s.query.table = "users; DROP TABLE x".into();
        assert!(matches!(build(Dialect::Sqlite, None, &[table()], &[], &s, &[]), Err(DbError::Invalid(_))));
        let s = spec(QueryKind::All, Some(Expr::IsNull { expr: col("nope") }), vec![]);
        assert_eq!(build(Dialect::Sqlite, None, &[table()], &[], &s, &[]), Err(DbError::Invalid("table `tasks` has no column `nope`".into())));
    }
}
