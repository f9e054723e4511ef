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
    let read = matches!(spec.query.kind, QueryKind::First | QueryKind::All | QueryKind::Count);
    let cap = RowCap { rows: limits.rows_per_query, bytes: limits.host_bytes };
    let out = match db.run(&stmt, table, &manifest.records, cap).await {
        // A pooled connection may have died since its last use; a read is safe to repeat.
        Err(QueryError::Db(DbError::Unavailable)) if read => db.run(&stmt, table, &manifest.records, cap).await?,
        other => other?,
    };
    match (stmt.returns, out) {
        (Returns::Row, Output::Rows(mut rows)) => match rows.pop() {
            Some(row) if rows.is_empty() => Ok(row),
            Some(_) => Err(DbError::Invalid("more than one row".into()).into()),
            None => Err(QueryError::NoRow),
        },
        (Returns::Rows, Output::Rows(rows)) => Ok(Value::List(rows)),
        (Returns::Count | Returns::Affected, Output::Count(n)) => Ok(Value::Int(n)),
        _ => Err(DbError::Invalid("unexpected result shape".into()).into()),
    }
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
    fn take(&self, seen: &mut (usize, u64), value: &Value) -> Result<(), QueryError> {
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
                Bind::Null(BindType::Int) => q.bind(None::<i64>),
                Bind::Null(BindType::Float) => q.bind(None::<f64>),
                Bind::Null(BindType::Bool) => q.bind(None::<bool>),
                Bind::Null(BindType::Text) => q.bind(None::<&str>),
            };
        }
        q
    }};
}

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

/// A row as the record of `table`'s columns.
macro_rules! record {
    ($row:expr, $table:expr, $records:expr, $get:ident) => {{
        let mut fields = Vec::with_capacity($table.columns.len());
        for (i, c) in $table.columns.iter().enumerate() {
            fields.push(column_value!($row, i, c.name, &c.ty, $records, $get));
        }
        Value::Record(fields)
    }};
}

fn sqlite_record(row: &sqlx::sqlite::SqliteRow, table: &Table, records: &[RecordType]) -> Result<Value, DbError> {
    Ok(record!(row, table, records, try_get_unchecked))
}

fn pg_record(row: &sqlx::postgres::PgRow, table: &Table, records: &[RecordType]) -> Result<Value, DbError> {
    Ok(record!(row, table, records, try_get))
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
        match &self.pool {
            Pool::Sqlite(pool) => {
                let q = bind_all!(sqlx::query(&stmt.sql), &stmt.binds);
                match stmt.returns {
                    Returns::Affected => Ok(Output::Count(q.execute(pool).await.map_err(DbError::from)?.rows_affected() as i64)),
                    Returns::Count => Ok(Output::Count(q.fetch_one(pool).await.map_err(DbError::from)?.try_get::<i64, _>(0).map_err(DbError::from)?)),
                    // At most one row (`LIMIT 1`, or one inserted): no stream and no list.
                    Returns::Row => match q.fetch_optional(pool).await.map_err(DbError::from)? {
                        Some(row) => Ok(Output::Rows(vec![sqlite_record(&row, table, records)?])),
                        None => Ok(Output::Rows(Vec::new())),
                    },
                    Returns::Rows => {
                        let mut rows = q.fetch(pool);
                        let (mut out, mut seen) = (Vec::new(), (0, 0));
                        while let Some(row) = rows.try_next().await.map_err(DbError::from)? {
                            let v = sqlite_record(&row, table, records)?;
                            cap.take(&mut seen, &v)?;
                            out.push(v);
                        }
                        Ok(Output::Rows(out))
                    }
                }
            }
            Pool::Postgres(_) => {
                let q = bind_all!(sqlx::query(&stmt.sql), &stmt.binds);
                match stmt.returns {
                    Returns::Affected => Ok(Output::Count(self.leased(async |c| q.execute(c).await).await?.rows_affected() as i64)),
                    Returns::Count => Ok(Output::Count(self.leased(async |c| q.fetch_one(c).await).await?.try_get::<i64, _>(0).map_err(DbError::from)?)),
                    Returns::Row => match self.leased(async |c| q.fetch_optional(c).await).await? {
                        Some(row) => Ok(Output::Rows(vec![pg_record(&row, table, records)?])),
                        None => Ok(Output::Rows(Vec::new())),
                    },
                    Returns::Rows => {
                        // Rows past the cap end the stream early; the connection, left mid-query,
                        // is then closed rather than kept (`lease`).
                        let read = self
                            .leased(async |c| {
                                let mut rows = q.fetch(c);
                                let (mut out, mut seen) = (Vec::new(), (0, 0));
                                while let Some(row) = rows.try_next().await? {
                                    let v = match pg_record(&row, table, records) {
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
            }
        }
    }
}
