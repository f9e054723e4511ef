//! Raw SQL, as upstream writes it: `conn.exec(sql, params)` and `conn.query(sql, params)`,
//! `$1, $2, …` bound to the values given. A tenant writes this SQL, so before it runs a real
//! parser (sqlparser, the dialect of the app's database) decides what it is, and the host
//! refuses what would reach past the app's own rows:
//!
//! - one statement, and only `SELECT` (without `INTO`), `INSERT`, `UPDATE` or `DELETE`: no
//!   `SET`/`RESET` (a tenant's role is a setting of the session), no DDL (the schema is the app's
//!   types'), no `ATTACH`, `PRAGMA`, `VACUUM`, `COPY`, `DO`, `CALL`, transaction control;
//! - tables named without a schema (the host qualifies them with the app's on PostgreSQL),
//!   none of the catalogs (`pg_…`, `sqlite_…`, `information_schema`) or the host's (`fitz_…`),
//!   no table functions;
//! - no function that changes the session, runs SQL given as text or touches files
//!   (`set_config`, `pg_…`, `dblink…`, `lo_…`, `…_to_xml…`, `load_extension`, …), and none
//!   named with a schema;
//! - parameters written `$1…$n`, each given.
//!
//! Behind that, on PostgreSQL under `fitz host`, the statement runs in the tenant's role, which
//! owns only its schema, and the host checks after it that the role is still the tenant's
//! (else the connection is closed, never reused).

use std::ops::ControlFlow;

use guest_abi::types::ValueType;
use guest_abi::value::Value;
use sqlparser::ast::{Expr, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Value as SqlValue, Visit, VisitMut, Visitor, VisitorMut};
use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use super::Dialect;

/// The longest raw statement the host reads.
pub const MAX_SQL_BYTES: usize = 64 << 10;
/// The most parameters one statement takes.
pub const MAX_PARAMS: usize = 1000;

/// A statement the host will run: its SQL as the database reads it, and how many parameters.
#[derive(Debug, PartialEq)]
pub struct Prepared {
    pub sql: String,
    pub params: usize,
}

/// Reads `sql` as the app's database would, refuses what raw SQL may not do, and writes it
/// back with the app's schema on every table (`schema`) and the dialect's parameters.
pub fn prepare(sql: &str, dialect: Dialect, schema: Option<&str>) -> Result<Prepared, String> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(format!("raw SQL is longer than {} KiB", MAX_SQL_BYTES >> 10));
    }
    let parsed = match dialect {
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
        Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, sql),
    };
    let mut statements = parsed.map_err(|e| {
        // Only where it stopped: the parser's own words stay in the log.
        tracing::debug!(target: "fitz::db", "raw SQL does not parse: {e}");
        let at = e.to_string().split_once(" at Line: ").map(|(_, at)| format!(" (line {})", at.replace(", Column: ", ", column "))).unwrap_or_default();
        format!("raw SQL does not parse{at}")
    })?;
    let mut statement = match statements.len() {
        1 => statements.remove(0),
        0 => return Err("raw SQL holds no statement".into()),
        _ => return Err("raw SQL runs one statement at a time".into()),
    };
    let allowed = match &statement {
        Statement::Query(q) => !selects_into(q),
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => true,
        _ => false,
    };
    if !allowed {
        return Err("raw SQL runs SELECT, INSERT, UPDATE and DELETE only (the schema is the app's types', the session the host's)".into());
    }
    let mut check = Check { ctes: Vec::new() };
    if let ControlFlow::Break(why) = statement.visit(&mut check) {
        return Err(why);
    }
    let mut rewrite = Rewrite { dialect, schema, ctes: check.ctes, highest: 0, seen: Vec::new() };
    if let ControlFlow::Break(why) = VisitMut::visit(&mut statement, &mut rewrite) {
        return Err(why);
    }
    let params = rewrite.highest;
    if let Some(missing) = (1..=params).find(|n| !rewrite.seen.contains(n)) {
        return Err(format!("raw SQL uses ${params} but not ${missing}: parameters are numbered from $1 without gaps"));
    }
    Ok(Prepared { sql: statement.to_string(), params })
}

/// `SELECT … INTO new_table` makes a table.
fn selects_into(q: &Query) -> bool {
    match q.body.as_ref() {
        SetExpr::Select(s) => s.into.is_some(),
        SetExpr::Query(inner) => selects_into(inner),
        _ => false,
    }
}

fn plain_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Some(id.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// Functions raw SQL may not call: they change the session, run SQL given as text, reach
/// files, other databases or the server, or take locks other apps' transactions wait on.
fn denied_function(name: &str) -> bool {
    const EXACT: &[&str] = &["set_config", "current_setting", "load_extension", "fts3_tokenizer", "readfile", "writefile", "edit", "version"];
    const PREFIXES: &[&str] = &["pg_", "dblink", "lo_", "sqlite_", "txid_"];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) || name.contains("_to_xml") || name.starts_with("xml") && name.contains("query")
}

fn denied_table(name: &str) -> bool {
    ["pg_", "sqlite_", "fitz_"].iter().any(|p| name.starts_with(p)) || name == "information_schema"
}

/// Refuses what raw SQL may not name; notes the names of common table expressions.
struct Check {
    ctes: Vec<String>,
}

impl Visitor for Check {
    type Break = String;

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<String> {
        if let Some(with) = &q.with {
            self.ctes.extend(with.cte_tables.iter().map(|c| c.alias.name.value.to_ascii_lowercase()));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<String> {
        match plain_name(name) {
            None => ControlFlow::Break(format!("raw SQL names the app's own tables, without a schema: `{name}`")),
            Some(n) if denied_table(&n) => ControlFlow::Break(format!("raw SQL cannot read `{name}`: it is not a table of the app")),
            Some(_) => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<String> {
        match t {
            TableFactor::Table { args: Some(_), name, .. } => ControlFlow::Break(format!("raw SQL cannot call table function `{name}`")),
            TableFactor::Function { name, .. } => ControlFlow::Break(format!("raw SQL cannot call table function `{name}`")),
            TableFactor::TableFunction { .. } => ControlFlow::Break("raw SQL cannot call table functions".into()),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<String> {
        if let Expr::Function(f) = e {
            match plain_name(&f.name) {
                None => return ControlFlow::Break(format!("raw SQL calls functions by their plain name: `{}`", f.name)),
                Some(n) if denied_function(&n) => return ControlFlow::Break(format!("raw SQL cannot call `{n}`")),
                Some(_) => {}
            }
        }
        ControlFlow::Continue(())
    }
}

/// Qualifies tables with the app's schema and renumbers parameters for the dialect.
struct Rewrite<'a> {
    dialect: Dialect,
    schema: Option<&'a str>,
    ctes: Vec<String>,
    highest: usize,
    seen: Vec<usize>,
}

impl VisitorMut for Rewrite<'_> {
    type Break = String;

    fn pre_visit_relation(&mut self, name: &mut ObjectName) -> ControlFlow<String> {
        if let Some(schema) = self.schema
            && let Some(n) = plain_name(name)
            && !self.ctes.contains(&n)
            && let [ObjectNamePart::Identifier(table)] = name.0.as_slice()
        {
            let table = table.clone();
            name.0 = vec![ObjectNamePart::Identifier(sqlparser::ast::Ident::with_quote('"', schema)), ObjectNamePart::Identifier(table)];
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, v: &mut sqlparser::ast::ValueWithSpan) -> ControlFlow<String> {
        let SqlValue::Placeholder(p) = &v.value else { return ControlFlow::Continue(()) };
        let Some(n) = p.strip_prefix('$').and_then(|d| d.parse::<usize>().ok()).filter(|n| (1..=MAX_PARAMS).contains(n)) else {
            return ControlFlow::Break(format!("raw SQL writes parameters as $1, $2, … (found `{p}`)"));
        };
        self.highest = self.highest.max(n);
        if !self.seen.contains(&n) {
            self.seen.push(n);
        }
        // SQLite numbers `$1` by first appearance; `?1` is the first parameter wherever it is.
        if self.dialect == Dialect::Sqlite {
            v.value = SqlValue::Placeholder(format!("?{n}"));
        }
        ControlFlow::Continue(())
    }
}

/// What a raw statement answers: the rows (`query`) or how many it changed (`exec`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    Rows,
    Affected,
}

/// Why the session was given up: a statement changed it despite the checks above.
const SESSION_CHANGED: &str = "fitz: raw SQL changed the session";

/// Runs `stmt` on `db` (the app's handle, or its transaction's) with `params`, within `cap`.
/// The answer is `List<Map<Str, Any>>` (rows) or `Int` (rows changed); an error is in words
/// the app may show.
pub async fn run(db: &super::Database, stmt: &Prepared, params: &[Value], answer: Answer, cap: super::exec::RowCap) -> Result<Value, String> {
    use futures_util::TryStreamExt;
    use sqlx::Row;

    use super::sql::{Bind, BindType};

    if params.len() != stmt.params {
        return Err(format!("raw SQL takes {} parameter{}, and {} were given", stmt.params, if stmt.params == 1 { "" } else { "s" }, params.len()));
    }
    let binds = params.iter().enumerate().map(|(i, v)| bind_of(i + 1, v)).collect::<Result<Vec<_>, _>>()?;
    db.statements.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let role = db.role().map(str::to_string);
    let changed = std::sync::atomic::AtomicBool::new(false);
    let fail = |e: super::DbError| {
        if changed.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(target: "fitz::db", "raw SQL changed the session's role; its connection was closed");
            return "raw SQL changed the session; refused".to_string();
        }
        e.to_string()
    };
    macro_rules! run_on {
        ($on:ident ($($pool:expr)?), $decode:ident, $check:expr) => {{
            let q = super::exec::bind_all!(sqlx::query(&stmt.sql), &binds);
            match answer {
                Answer::Affected => db
                    .$on($($pool,)? async |c| {
                        let n = q.execute(&mut *c).await?.rows_affected();
                        $check(c, role.as_deref(), &changed).await?;
                        Ok(Value::Int(n as i64))
                    })
                    .await
                    .map_err(fail),
                Answer::Rows => db
                    .$on($($pool,)? async |c| {
                        let read = {
                            let mut rows = q.fetch(&mut *c);
                            let (mut out, mut seen) = (Vec::new(), (0usize, 0u64));
                            loop {
                                let Some(row) = rows.try_next().await? else { break Ok(out) };
                                let mut cols = Vec::with_capacity(row.len());
                                let mut bad = None;
                                for i in 0..row.len() {
                                    match $decode(&row, i) {
                                        Ok(v) => cols.push((Value::Str(sqlx::Column::name(&row.columns()[i]).to_string()), any(v))),
                                        Err(e) => {
                                            bad = Some(e);
                                            break;
                                        }
                                    }
                                }
                                if let Some(e) = bad {
                                    break Err(e);
                                }
                                let v = Value::Map(cols);
                                if let Err(e) = cap.take(&mut seen, &v) {
                                    break Err(match e {
                                        super::exec::QueryError::TooManyRows(n) => format!("the query returned more than {n} rows; add LIMIT"),
                                        other => other.to_string().replace(".limit(…)", "LIMIT"),
                                    });
                                }
                                out.push(v);
                            }
                        };
                        if read.is_ok() {
                            $check(c, role.as_deref(), &changed).await?;
                        }
                        Ok(read.map(Value::List))
                    })
                    .await
                    .map_err(fail)?,
            }
        }};
    }
    match &db.pool {
        super::Pool::Sqlite(pool) => run_on!(on_sqlite(pool), sqlite_value, no_check),
        super::Pool::Postgres(_) => run_on!(leased(), pg_value, pg_role_check),
    }
}

async fn no_check(_: &mut sqlx::SqliteConnection, _: Option<&str>, _: &std::sync::atomic::AtomicBool) -> Result<(), sqlx::Error> {
    Ok(())
}

/// The tenant's role is still the session's (a statement that changed it would leave the next
/// request on this connection in the host's): else the lease is given up, never reused.
async fn pg_role_check(c: &mut sqlx::PgConnection, role: Option<&str>, changed: &std::sync::atomic::AtomicBool) -> Result<(), sqlx::Error> {
    let Some(role) = role else { return Ok(()) };
    let now: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut *c).await?;
    if now != role {
        changed.store(true, std::sync::atomic::Ordering::Relaxed);
        return Err(sqlx::Error::Protocol(SESSION_CHANGED.into()));
    }
    Ok(())
}

fn undecodable(column: &str, ty: &str) -> String {
    format!("column `{column}` is {ty}, which raw SQL does not answer; cast it in the statement (`CAST({column} AS TEXT)`)")
}

fn pg_value(row: &sqlx::postgres::PgRow, i: usize) -> Result<Value, String> {
    use sqlx::{Column, Row, TypeInfo, ValueRef};
    let col = &row.columns()[i];
    let raw = row.try_get_raw(i).map_err(|_| undecodable(col.name(), "unreadable"))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let bad = |_| undecodable(col.name(), col.type_info().name());
    Ok(match col.type_info().name() {
        "INT2" => Value::Int(i64::from(row.try_get::<i16, _>(i).map_err(bad)?)),
        "INT4" => Value::Int(i64::from(row.try_get::<i32, _>(i).map_err(bad)?)),
        "INT8" => Value::Int(row.try_get::<i64, _>(i).map_err(bad)?),
        "FLOAT4" => Value::Float(f64::from(row.try_get::<f32, _>(i).map_err(bad)?)),
        "FLOAT8" => Value::Float(row.try_get::<f64, _>(i).map_err(bad)?),
        "BOOL" => Value::Bool(row.try_get::<bool, _>(i).map_err(bad)?),
        // `sum`, `avg` and arithmetic with a decimal answer NUMERIC: a `Float` here, as
        // upstream's aggregates answer.
        "NUMERIC" => match raw.as_bytes().ok().and_then(numeric_f64) {
            Some(f) => Value::Float(f),
            None => return Err(undecodable(col.name(), "NUMERIC (NaN or infinite)")),
        },
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => Value::Str(row.try_get::<String, _>(i).map_err(bad)?),
        other => return Err(undecodable(col.name(), other)),
    })
}

/// PostgreSQL's binary NUMERIC: digit count, weight, sign, scale, then base-10000 digits.
fn numeric_f64(b: &[u8]) -> Option<f64> {
    let word = |i: usize| b.get(i..i + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let (ndigits, weight, sign) = (word(0)? as usize, word(2)? as i16, word(4)?);
    if sign != 0x0000 && sign != 0x4000 {
        return None;
    }
    let mut v = 0f64;
    for k in 0..ndigits {
        let d = f64::from(word(8 + 2 * k)?);
        v += d * 10000f64.powi(i32::from(weight) - k as i32);
    }
    Some(if sign == 0x4000 { -v } else { v })
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Value, String> {
    use sqlx::{Column, Row, TypeInfo, ValueRef};
    let col = &row.columns()[i];
    let raw = row.try_get_raw(i).map_err(|_| undecodable(col.name(), "unreadable"))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    // SQLite's values carry their own storage class, whatever the column's affinity.
    let class = raw.type_info().name().to_string();
    let bad = |_| undecodable(col.name(), &class);
    Ok(match class.as_str() {
        "INTEGER" => Value::Int(row.try_get_unchecked::<i64, _>(i).map_err(bad)?),
        "REAL" => Value::Float(row.try_get_unchecked::<f64, _>(i).map_err(bad)?),
        "TEXT" => Value::Str(row.try_get_unchecked::<String, _>(i).map_err(bad)?),
        other => return Err(undecodable(col.name(), other)),
    })
}

/// What a parameter may be, bound as its SQL type.
pub fn bind_of(n: usize, v: &Value) -> Result<super::sql::Bind, String> {
    use super::sql::{Bind, BindType};
    Ok(match v {
        Value::Any { value, .. } => return bind_of(n, value),
        Value::Null => Bind::Null(BindType::Text),
        Value::Int(i) => Bind::Int(*i),
        Value::Float(f) => Bind::Float(*f),
        Value::Bool(b) => Bind::Bool(*b),
        Value::Str(s) => Bind::Text(s.clone()),
        _ => return Err(format!("parameter ${n} is not an Int, Float, Str, Bool or null")),
    })
}

/// A column's value as the app reads it (`Any`).
pub fn any(v: Value) -> Value {
    let ty = match &v {
        Value::Int(_) => ValueType::Int,
        Value::Float(_) => ValueType::Float,
        Value::Bool(_) => ValueType::Bool,
        Value::Str(_) => ValueType::Str,
        _ => ValueType::Null,
    };
    Value::Any { ty, value: Box::new(v) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> Result<Prepared, String> {
        prepare(sql, Dialect::Postgres, Some("app_1"))
    }

    fn lite(sql: &str) -> Result<Prepared, String> {
        prepare(sql, Dialect::Sqlite, None)
    }

    #[test]
    fn the_app_s_own_rows_are_read_and_written() {
        let p = pg("SELECT id, title FROM notes WHERE owner = $1 AND id > $2 ORDER BY id LIMIT 10").expect("accepted");
        assert_eq!(p.sql, r#"SELECT id, title FROM "app_1".notes WHERE owner = $1 AND id > $2 ORDER BY id LIMIT 10"#);
        assert_eq!(p.params, 2);
        let p = pg("WITH recent AS (SELECT * FROM notes) SELECT count(*) FROM recent JOIN tags ON tags.note = recent.id").expect("accepted");
        assert_eq!(p.sql, r#"WITH recent AS (SELECT * FROM "app_1".notes) SELECT count(*) FROM recent JOIN "app_1".tags ON tags.note = recent.id"#);
        assert_eq!(pg("INSERT INTO notes (title) VALUES ($1) RETURNING id").expect("accepted").sql, r#"INSERT INTO "app_1".notes (title) VALUES ($1) RETURNING id"#);
        assert_eq!(pg("UPDATE notes SET title = lower($1) WHERE id = $2").expect("accepted").params, 2);
        assert_eq!(pg("DELETE FROM notes WHERE id IN (SELECT note FROM tags)").expect("accepted").sql, r#"DELETE FROM "app_1".notes WHERE id IN (SELECT note FROM "app_1".tags)"#);
        // SQLite: the app's own file, and `$n` as `?n` (SQLite numbers `$n` by appearance).
        let p = lite("SELECT * FROM notes WHERE b = $2 AND a = $1").expect("accepted");
        assert_eq!((p.sql.as_str(), p.params), ("SELECT * FROM notes WHERE b = ?2 AND a = ?1", 2));
    }

    /// The check behind the parser: a session whose role is not the tenant's is given up.
    #[tokio::test]
    async fn a_session_whose_role_changed_is_given_up() {
        use sqlx::Connection;
        let url = std::env::var("FITZ_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut c = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL (tests/run.sh starts it)");
        let me: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut c).await.expect("accepted");
        let changed = std::sync::atomic::AtomicBool::new(false);
        assert!(pg_role_check(&mut c, Some(&me), &changed).await.is_ok());
        assert!(pg_role_check(&mut c, None, &changed).await.is_ok(), "no tenant role: nothing to check");
        assert!(!changed.load(std::sync::atomic::Ordering::Relaxed));
        let err = pg_role_check(&mut c, Some("fitz_someone_else"), &changed).await.expect_err("another role");
        // A protocol error: the lease treats the connection as broken and closes it (`Lease::settle`).
        assert!(matches!(&err, sqlx::Error::Protocol(m) if m == SESSION_CHANGED), "{err}");
        assert!(changed.load(std::sync::atomic::Ordering::Relaxed));
    }

    #[test]
    fn numerics_read_as_floats() {
        // 1.5 = weight 0 digits [1, 5000]; -12345.678 = weight 1 digits [1, 2345, 6780].
        assert_eq!(numeric_f64(&[0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]), Some(1.5));
        assert_eq!(numeric_f64(&[0, 3, 0, 1, 0x40, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]), Some(-12345.678));
        assert_eq!(numeric_f64(&[0, 0, 0, 0, 0xC0, 0, 0, 0]), None, "NaN");
        assert_eq!(numeric_f64(&[0, 1]), None, "truncated");
    }

    #[test]
    fn what_would_leave_the_app_is_refused() {
        let refused = [
            // The session: a tenant's role is a setting of it.
            ("RESET ROLE", "SELECT, INSERT, UPDATE and DELETE only"),
            ("SET ROLE postgres", "SELECT, INSERT, UPDATE and DELETE only"),
            ("SET search_path TO public", "SELECT, INSERT, UPDATE and DELETE only"),
            ("SELECT set_config('role', 'postgres', false)", "cannot call `set_config`"),
            ("SELECT pg_advisory_lock(1)", "cannot call `pg_advisory_lock`"),
            ("SELECT pg_catalog.set_config('role', 'x', false)", "by their plain name"),
            ("SELECT current_setting('is_superuser')", "cannot call `current_setting`"),
            ("SELECT * FROM query_to_xml('select 1', true, true, '')", "table function"),
            ("SELECT query_to_xml('select * from other.t', true, true, '')", "cannot call `query_to_xml`"),
            ("SELECT dblink('host=x', 'select 1')", "cannot call `dblink`"),
            ("SELECT lo_import('/etc/passwd')", "cannot call `lo_import`"),
            // Other schemas, the catalogs, the host's tables.
            ("SELECT * FROM other_app.notes", "without a schema"),
            ("SELECT * FROM public.notes", "without a schema"),
            ("SELECT * FROM pg_roles", "not a table of the app"),
            ("SELECT * FROM information_schema.tables", "without a schema"),
            ("SELECT * FROM fitz_refresh_tokens", "not a table of the app"),
            ("SELECT * FROM notes WHERE id IN (SELECT oid FROM pg_class)", "not a table of the app"),
            ("SELECT * FROM generate_series(1, 10)", "table function"),
            // The schema and the database.
            ("DROP TABLE notes", "SELECT, INSERT, UPDATE and DELETE only"),
            ("CREATE TABLE x (a int)", "SELECT, INSERT, UPDATE and DELETE only"),
            ("CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", "SELECT, INSERT, UPDATE and DELETE only"),
            ("GRANT ALL ON notes TO public", "SELECT, INSERT, UPDATE and DELETE only"),
            ("COPY notes TO '/tmp/x'", "SELECT, INSERT, UPDATE and DELETE only"),
            ("DO $$ BEGIN RESET ROLE; END $$", "does not parse"),
            ("BEGIN", "SELECT, INSERT, UPDATE and DELETE only"),
            ("SELECT * INTO copy FROM notes", "SELECT, INSERT, UPDATE and DELETE only"),
            // Two statements, parameters not numbered.
            ("SELECT 1; RESET ROLE", "one statement at a time"),
            ("SELECT * FROM notes WHERE id = $2", "uses $2 but not $1"),
            ("", "holds no statement"),
        ];
        for (sql, why) in refused {
            let err = pg(sql).expect_err(sql);
            assert!(err.contains(why), "{sql}: {err}");
        }
        for (sql, why) in [
            ("ATTACH DATABASE '/tmp/other.db' AS other", "SELECT, INSERT, UPDATE and DELETE only"),
            ("PRAGMA writable_schema = ON", "does not parse"),
            ("VACUUM INTO '/tmp/copy.db'", "does not parse"),
            ("SELECT load_extension('/tmp/evil.so')", "cannot call `load_extension`"),
            ("SELECT * FROM sqlite_master", "not a table of the app"),
            ("SELECT * FROM main.notes", "without a schema"),
            ("SELECT * FROM notes WHERE a = :name", "as $1, $2"),
            ("SELECT * FROM notes WHERE a = ?", "as $1, $2"),
        ] {
            let err = lite(sql).expect_err(sql);
            assert!(err.contains(why), "{sql}: {err}");
        }
        assert!(pg(&format!("SELECT '{}'", "x".repeat(MAX_SQL_BYTES))).expect_err("refused").contains("longer than"));
    }
}
