//! Running a query template: build the statement, bind its parameters, decode the rows into
//! guest values by the manifest's column types.

use futures_util::TryStreamExt;
use guest_abi::manifest::{Manifest, Table};
use guest_abi::query::QueryKind;
use guest_abi::types::{RecordType, ValueType};
use guest_abi::value::Value;
use sqlx::Row;

use super::sql::{self, Bind, BindType, Returns, Statement};
use super::{Database, DbError, Pool};
use crate::limits::Limits;

/// The outcome query `index` gives the guest: the value of its `result` type, or an error in
/// words the app may show. `plans` belong to `manifest` on `db`.
pub async fn run_query(db: &Database, manifest: &Manifest, plans: &sql::Plans, index: usize, params: &[Value], limits: &Limits) -> Result<Value, QueryError> {
    let spec = manifest.queries.get(index).ok_or_else(|| DbError::Invalid(format!("unknown query {index}")))?;
    let stmt = plans.statement(db.dialect(), db.schema(), manifest, index, params)?;
    let table = manifest.tables.iter().find(|t| t.name == spec.query.table).ok_or_else(|| DbError::Invalid("unknown table".into()))?;
    let read = matches!(spec.query.kind, QueryKind::First | QueryKind::All | QueryKind::Count | QueryKind::Aggregate { .. });
    let cap = RowCap { rows: limits.rows_per_query, bytes: limits.host_bytes };
    let out = match db.run(&stmt, table, &manifest.records, cap).await {
        // A pooled connection may have died since its last use; a read is safe to repeat.
        Err(QueryError::Db(DbError::Unavailable)) if read => db.run(&stmt, table, &manifest.records, cap).await?,
        other => other?,
    };
    let mut rows = match (stmt.returns, out) {
        (Returns::Row | Returns::Rows, Output::Rows(rows)) => rows,
        (Returns::Count | Returns::Affected, Output::Count(n)) => return Ok(Value::Int(n)),
        (Returns::Float, Output::Float(Some(f))) => return Ok(Value::Float(f)),
        (Returns::Float, Output::Float(None)) => return Err(QueryError::NoRow),
        (Returns::Groups { .. }, Output::Groups(groups)) => return Ok(grouped(&spec.query, table, groups)),
        _ => return Err(DbError::Invalid("unexpected result shape".into()).into()),
    };
    for relation in &spec.query.preload {
        preload(db, manifest, table, relation, &mut rows, cap).await?;
    }
    match stmt.returns {
        Returns::Row => match rows.pop() {
            Some(row) if rows.is_empty() => Ok(row),
            Some(_) => Err(DbError::Invalid("more than one row".into()).into()),
            None => Err(QueryError::NoRow),
        },
        _ => Ok(Value::List(rows)),
    }
}

/// Grouped rows as upstream answers them: `[{"region": "north", "count": 2}, …]`.
fn grouped(query: &guest_abi::query::Query, table: &Table, groups: Vec<(Value, Value)>) -> Value {
    let column = query.group_by.clone().unwrap_or_default();
    let key = match &query.kind {
        QueryKind::Aggregate { func, column } => func.key(column),
        _ => "count".to_string(),
    };
    let group_ty = table.columns.iter().find(|c| c.name == column).map(|c| match &c.ty {
        ValueType::Nullable { inner } => (**inner).clone(),
        other => other.clone(),
    });
    let boxed = |ty: Option<ValueType>, v: Value| {
        let ty = if v == Value::Null { ValueType::Null } else { ty.unwrap_or(ValueType::Null) };
        Value::Any { ty, value: Box::new(v) }
    };
    Value::List(
        groups
            .into_iter()
            .map(|(g, v)| {
                let v_ty = if matches!(v, Value::Int(_)) { ValueType::Int } else { ValueType::Float };
                Value::Map(vec![(Value::Str(column.clone()), boxed(group_ty.clone(), g)), (Value::Str(key.clone()), boxed(Some(v_ty), v))])
            })
            .collect(),
    )
}

/// The group's column of a grouped statement: the one its query groups by.
fn group_column<'t>(stmt: &Statement, table: &'t Table) -> Result<(&'t str, &'t ValueType), QueryError> {
    let name = stmt.group.as_deref().unwrap_or_default();
    table.columns.iter().find(|c| c.name == name).map(|c| (c.name.as_str(), &c.ty)).ok_or(QueryError::Db(DbError::Invalid("no such column".into())))
}

/// Keys one preload statement asks for at most (`IN (…)` of this many parameters).
const PRELOAD_CHUNK: usize = 500;

/// Fills relation `name` of `rows` (records of `table`) with the rows of its table that point
/// at each: one statement per `PRELOAD_CHUNK` parents, never one per parent.
async fn preload(db: &Database, manifest: &Manifest, table: &Table, name: &str, rows: &mut [Value], cap: RowCap) -> Result<(), QueryError> {
    let invalid = |what: &str| QueryError::Db(DbError::Invalid(what.to_string()));
    let rel = table.relations.iter().find(|r| r.field == name).ok_or_else(|| invalid("unknown relation"))?;
    let child = manifest.tables.iter().find(|t| t.name == rel.table).ok_or_else(|| invalid("unknown table"))?;
    let (parent, child_record) = (manifest.records.get(table.record as usize), manifest.records.get(child.record as usize));
    let (Some(parent), Some(child_record)) = (parent, child_record) else { return Err(invalid("a table names no record")) };
    let field_of = |r: &RecordType, name: &str| r.fields.iter().position(|f| f.name == name);
    let (Some(into), Some(key), Some(fk)) = (field_of(parent, &rel.field), field_of(parent, &table.primary_key), field_of(child_record, &rel.foreign_key)) else {
        return Err(invalid("a relation names no field"));
    };
    let fk_ty = child.columns.iter().find(|c| c.name == rel.foreign_key).map(|c| &c.ty).ok_or_else(|| invalid("a relation names no column"))?;
    // Values have no hash (floats); their debug text tells them apart as `==` does, so the
    // parents' keys and the children's grouping are each one pass, not one per pair.
    let hashed = |v: &Value| format!("{v:?}");
    let field_of = |row: &Value, at: usize| if let Value::Record(f) = row { f.get(at).cloned() } else { None };
    let mut seen = std::collections::HashSet::new();
    let keys: Vec<Value> = rows.iter().filter_map(|r| field_of(r, key)).filter(|k| seen.insert(hashed(k))).collect();
    let mut children: Vec<Value> = Vec::new();
    let dialect = db.dialect();
    let columns = child.columns.iter().map(|c| sql::quote(&c.name)).collect::<Vec<_>>().join(", ");
    for chunk in keys.chunks(PRELOAD_CHUNK) {
        let mut binds = Vec::with_capacity(chunk.len());
        for k in chunk {
            binds.push(sql::bind_value(&manifest.records, fk_ty, k)?);
        }
        let marks: Vec<String> = (1..=chunk.len()).map(|n| dialect.placeholder(n)).collect();
        let order = sql::quote(&child.primary_key);
        let text = format!("SELECT {columns} FROM {} WHERE {} IN ({}) ORDER BY {order}", db.table(&child.name), sql::quote(&rel.foreign_key), marks.join(", "));
        let stmt = Statement { sql: text.into(), binds, returns: Returns::Rows, group: None };
        match db.run(&stmt, child, &manifest.records, cap).await? {
            Output::Rows(mut found) => children.append(&mut found),
            Output::Count(_) | Output::Float(_) | Output::Groups(_) => return Err(invalid("unexpected result shape")),
        }
    }
    let mut by_parent: std::collections::HashMap<String, Vec<Value>> = std::collections::HashMap::new();
    for c in children {
        if let Some(k) = field_of(&c, fk) {
            by_parent.entry(hashed(&k)).or_default().push(c);
        }
    }
    for row in rows.iter_mut() {
        let Value::Record(fields) = row else { continue };
        let Some(k) = fields.get(key) else { continue };
        // A parent read twice (a join of the same row) gets its children each time.
        let mine = by_parent.get(&hashed(k)).cloned().unwrap_or_default();
        if let Some(slot) = fields.get_mut(into) {
            *slot = Value::List(mine);
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
pub enum QueryError {
    /// `first` found nothing.
    NoRow,
    /// More rows than `Limits::rows_per_query`.
    TooManyRows(usize),
    /// Rows larger in all than `Limits::host_bytes`.
    TooLarge(usize),
    Db(DbError),
}

/// What one query may read: rows, and the host memory they take as values.
#[derive(Clone, Copy, Debug)]
pub struct RowCap {
    pub rows: usize,
    pub bytes: usize,
}

impl RowCap {
    /// Counts one more row of `value`; the error once past either bound.
    pub(crate) fn take(&self, seen: &mut (usize, u64), value: &Value) -> Result<(), QueryError> {
        seen.0 += 1;
        seen.1 += value.host_bytes();
        if seen.0 > self.rows {
            return Err(QueryError::TooManyRows(self.rows));
        }
        if seen.1 > self.bytes as u64 {
            return Err(QueryError::TooLarge(self.bytes));
        }
        Ok(())
    }
}

impl From<DbError> for QueryError {
    fn from(e: DbError) -> Self {
        QueryError::Db(e)
    }
}

impl QueryError {
    /// As the host logs it (`DbError::log_text`).
    pub fn log_text(&self) -> String {
        match self {
            QueryError::Db(e) => e.log_text(),
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::NoRow => f.write_str("not found"),
            QueryError::TooManyRows(n) => write!(f, "the query returned more than {n} rows; add .limit(…)"),
            QueryError::TooLarge(n) => write!(f, "the query's rows are larger than {} MiB in all; add .limit(…)", n >> 20),
            QueryError::Db(e) => e.fmt(f),
        }
    }
}

pub enum Output {
    Rows(Vec<Value>),
    Count(i64),
    /// An aggregate: `None` when no row was aggregated.
    Float(Option<f64>),
    /// Grouped: each group's value, and its count (`Int`) or aggregate (`Float`, or `Null`).
    Groups(Vec<(Value, Value)>),
}

macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Int(v) => q.bind(*v),
                Bind::Float(v) => q.bind(*v),
                Bind::Bool(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.as_str()),
                Bind::Blob(v) => q.bind(v.as_slice()),
                Bind::Null(BindType::Blob) => q.bind(None::<&[u8]>),
                Bind::Null(BindType::Int) => q.bind(None::<i64>),
                Bind::Null(BindType::Float) => q.bind(None::<f64>),
                Bind::Null(BindType::Bool) => q.bind(None::<bool>),
                Bind::Null(BindType::Text) => q.bind(None::<&str>),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// One column of a row as the guest value of `ty`. SQLite is dynamically typed, so its values
/// are read without sqlx's declared-type check; what does not decode is an error, not a guess.
macro_rules! column_value {
    ($row:expr, $i:expr, $name:expr, $ty:expr, $records:expr, $get:ident) => {{
        let decode = |_: sqlx::Error| DbError::Decode { column: $name.to_string() };
        let (inner, nullable) = match $ty {
            ValueType::Nullable { inner } => (inner.as_ref(), true),
            other => (other, false),
        };
        let v: Option<Value> = match sql::bind_type(inner) {
            BindType::Int => $row.$get::<Option<i64>, _>($i).map_err(decode)?.map(|n| match inner {
                ValueType::DateTime => Value::DateTime(n),
                ValueType::Date => Value::Date(n),
                _ => Value::Int(n),
            }),
            BindType::Float => $row.$get::<Option<f64>, _>($i).map_err(decode)?.map(Value::Float),
            BindType::Bool => $row.$get::<Option<bool>, _>($i).map_err(decode)?.map(Value::Bool),
            BindType::Blob => $row.$get::<Option<Vec<u8>>, _>($i).map_err(decode)?.map(Value::Bytes),
            BindType::Text => match $row.$get::<Option<String>, _>($i).map_err(decode)? {
                None => None,
                Some(s) => Some(text_value($records, inner, s).ok_or_else(|| DbError::Decode { column: $name.to_string() })?),
            },
        };
        match (v, nullable) {
            (Some(v), _) => v,
            (None, true) => Value::Null,
            (None, false) => return Err(DbError::Decode { column: $name.to_string() }),
        }
    }};
}

/// Where a table's rows go in its record, worked out once per statement: the record's field
/// count, and each column's field (the others are relations, empty until preloaded).
struct Shape {
    fields: usize,
    at: Vec<usize>,
}

impl Shape {
    fn of(table: &Table, records: &[RecordType]) -> Result<Shape, DbError> {
        let record = records.get(table.record as usize).ok_or_else(|| DbError::Invalid("a table names no record".into()))?;
        let at = table.column_fields(record).ok_or_else(|| DbError::Invalid("a column names no field".into()))?;
        Ok(Shape { fields: record.fields.len(), at })
    }
}

/// A row as the record of `table`, laid out by `shape`.
macro_rules! record {
    ($row:expr, $table:expr, $shape:expr, $records:expr, $get:ident) => {{
        let mut fields: Vec<Value> = (0..$shape.fields).map(|_| Value::List(Vec::new())).collect();
        for ((i, c), at) in $table.columns.iter().enumerate().zip(&$shape.at) {
            fields[*at] = column_value!($row, i, c.name, &c.ty, $records, $get);
        }
        Value::Record(fields)
    }};
}

/// A grouped row: the group's column (`ty`) and its count or aggregate.
macro_rules! group_row {
    ($row:expr, $name:expr, $ty:expr, $records:expr, $count:expr, $get:ident) => {{
        let group = column_value!($row, 0, $name, $ty, $records, $get);
        let value = if $count {
            Value::Int($row.$get::<i64, _>(1).map_err(|_| DbError::Decode { column: "count".into() })?)
        } else {
            $row.$get::<Option<f64>, _>(1).map_err(|_| DbError::Decode { column: "aggregate".into() })?.map_or(Value::Null, Value::Float)
        };
        (group, value)
    }};
}

fn sqlite_group(row: &sqlx::sqlite::SqliteRow, name: &str, ty: &ValueType, records: &[RecordType], count: bool) -> Result<(Value, Value), DbError> {
    Ok(group_row!(row, name, ty, records, count, try_get_unchecked))
}

fn pg_group(row: &sqlx::postgres::PgRow, name: &str, ty: &ValueType, records: &[RecordType], count: bool) -> Result<(Value, Value), DbError> {
    Ok(group_row!(row, name, ty, records, count, try_get))
}

fn sqlite_record(row: &sqlx::sqlite::SqliteRow, table: &Table, shape: &Shape, records: &[RecordType]) -> Result<Value, DbError> {
    Ok(record!(row, table, shape, records, try_get_unchecked))
}

fn pg_record(row: &sqlx::postgres::PgRow, table: &Table, shape: &Shape, records: &[RecordType]) -> Result<Value, DbError> {
    Ok(record!(row, table, shape, records, try_get))
}

fn text_value(records: &[RecordType], ty: &ValueType, s: String) -> Option<Value> {
    match ty {
        ValueType::Str | ValueType::Uuid | ValueType::Secret => Some(Value::Str(s)),
        _ => {
            let json: serde_json::Value = serde_json::from_str(&s).ok()?;
            crate::json::from_json(records, ty, &json).ok()
        }
    }
}

impl Database {
    /// Runs one statement. A list of rows is read as a stream and abandoned past `cap`, so a
    /// table larger than the app may read is never fetched whole.
    pub async fn run(&self, stmt: &Statement, table: &Table, records: &[RecordType], cap: RowCap) -> Result<Output, QueryError> {
        self.statements.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let shape = Shape::of(table, records)?;
        // The same statement on either database: on a connection of the pool or the
        // transaction's (`on_sqlite`), or on a lease (`leased`). Rows past the cap end the
        // stream early; a PostgreSQL connection left mid-query is then closed, not kept.
        macro_rules! run_on {
            ($on:ident ($($pool:expr)?), $record:ident, $group:ident, $get_float:ident) => {{
                let q = bind_all!(sqlx::query(&stmt.sql), &stmt.binds);
                match stmt.returns {
                    Returns::Affected => Ok(Output::Count(self.$on($($pool,)? async |c| q.execute(c).await).await?.rows_affected() as i64)),
                    Returns::Count => Ok(Output::Count(self.$on($($pool,)? async |c| q.fetch_one(c).await).await?.try_get::<i64, _>(0).map_err(DbError::from)?)),
                    Returns::Float => Ok(Output::Float(self.$on($($pool,)? async |c| q.fetch_one(c).await).await?.$get_float::<Option<f64>, _>(0).map_err(DbError::from)?)),
                    Returns::Groups { count } => {
                        let (name, ty) = group_column(stmt, table)?;
                        let read = self
                            .$on($($pool,)? async |c| {
                                let mut rows = q.fetch(c);
                                let mut out = Vec::new();
                                while let Some(row) = rows.try_next().await? {
                                    match $group(&row, name, ty, records, count) {
                                        Ok(g) => out.push(g),
                                        Err(e) => return Ok(Err(QueryError::Db(e))),
                                    }
                                    if out.len() > cap.rows {
                                        return Ok(Err(QueryError::TooManyRows(cap.rows)));
                                    }
                                }
                                Ok(Ok(out))
                            })
                            .await?;
                        Ok(Output::Groups(read?))
                    }
                    // At most one row (`LIMIT 1`, or one inserted): no stream and no list.
                    Returns::Row => match self.$on($($pool,)? async |c| q.fetch_optional(c).await).await? {
                        Some(row) => Ok(Output::Rows(vec![$record(&row, table, &shape, records)?])),
                        None => Ok(Output::Rows(Vec::new())),
                    },
                    Returns::Rows => {
                        let read = self
                            .$on($($pool,)? async |c| {
                                let mut rows = q.fetch(c);
                                let (mut out, mut seen) = (Vec::new(), (0, 0));
                                while let Some(row) = rows.try_next().await? {
                                    let v = match $record(&row, table, &shape, records) {
                                        Ok(v) => v,
                                        Err(e) => return Ok(Err(QueryError::Db(e))),
                                    };
                                    if let Err(e) = cap.take(&mut seen, &v) {
                                        return Ok(Err(e));
                                    }
                                    out.push(v);
                                }
                                Ok(Ok(out))
                            })
                            .await?;
                        Ok(Output::Rows(read?))
                    }
                }
            }};
        }
        match &self.pool {
            // SQLite's columns have affinities, not types: an average may come back as an integer.
            Pool::Sqlite(pool) => run_on!(on_sqlite(pool), sqlite_record, sqlite_group, try_get_unchecked),
            Pool::Postgres(_) => run_on!(leased(), pg_record, pg_group, try_get),
        }
    }
}
