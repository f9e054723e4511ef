//! Table migrations (DESIGN.md §8), for `fitz run`, `fitz serve` and every deploy alike: new
//! tables are created, new columns that are nullable or have a default are added; anything that
//! would lose or invent data — a column dropped, a column whose type or nullability changes, a
//! new required column without a default, a required column dropped from the type — is refused
//! with a message naming the table and column. Tables a new version no longer declares are left
//! alone (their data stays).
//!
//! Types are compared as Fitz sees them, not only as the database stores them: `Int` and
//! `DateTime` are both integers and `Str` and `Uuid` both text, yet a change from one to the
//! other changes what every stored value means. Each column's Fitz type is recorded in
//! `fitz_columns` in the app's namespace; a column without a record (one created before this
//! table existed) is compared by its storage type.
//!
//! The plan is made and applied in one transaction — on PostgreSQL under an advisory lock on
//! the app's namespace, so that hosts deploying the same app at once take turns and the second
//! plans against what the first did. The caller's version switch runs in the same transaction
//! where the host's store shares the database (PostgreSQL), so a crash leaves the old version
//! with its tables or the new one with its tables. Defaults are bound values, never SQL text.

use std::collections::HashMap;

use guest_abi::manifest::{Column, Table};
use guest_abi::types::{RecordType, ValueType};
use guest_abi::value::Value;
use sqlx::Row;

use super::schema::{column_type, create_table_sql};
use super::sql::{Bind, BindType, bind_type, bind_value, quote};
use super::{Database, DbError, Dialect, Pool};

/// Where each column's Fitz type is recorded, in the app's namespace.
pub const COLUMNS_TABLE: &str = "fitz_columns";

/// One step of a migration.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    CreateTable(Table),
    /// A new column; `default` fills existing rows when the column is required.
    AddColumn {
        table: String,
        column: Column,
        default: Option<Value>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum MigrateError {
    Destructive(String),
    Db(DbError),
}

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrateError::Destructive(m) => write!(f, "refused: {m}"),
            MigrateError::Db(e) => e.fmt(f),
        }
    }
}

impl From<DbError> for MigrateError {
    fn from(e: DbError) -> Self {
        MigrateError::Db(e)
    }
}

impl From<sqlx::Error> for MigrateError {
    fn from(e: sqlx::Error) -> Self {
        MigrateError::Db(e.into())
    }
}

/// A column as the database has it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub name: String,
    pub sql_type: String,
    pub nullable: bool,
    /// The database fills it in when an insert leaves it out.
    pub has_default: bool,
    /// Its Fitz type as recorded when it was created, if it was.
    pub fitz_type: Option<String>,
}

/// The default a required new column needs, computed by the app: `(table, column)`.
pub type DefaultOf<'a> = dyn Fn(&Table, &Column) -> Option<Value> + Sync + 'a;

/// A column's Fitz type as recorded: the type as a user writes it (`Int`, `DateTime?`,
/// `List<Str>`, a record's name).
fn fitz_type(records: &[RecordType], ty: &ValueType) -> String {
    crate::json::type_name(records, ty)
}

/// One migration's transaction.
enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Begins the transaction; on PostgreSQL it first waits for the advisory lock `lock`,
    /// which ends with the transaction.
    async fn begin(db: &Database, lock: &str) -> Result<Tx, DbError> {
        Ok(match &db.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(lock).execute(&mut *tx).await?;
                Tx::Postgres(tx)
            }
        })
    }

    async fn execute(&mut self, sql: &str, bind: Option<&Bind>) -> Result<u64, DbError> {
        macro_rules! run {
            ($c:expr) => {{
                let q = sqlx::query(sql);
                let q = match bind {
                    None => q,
                    Some(Bind::Int(v)) => q.bind(*v),
                    Some(Bind::Float(v)) => q.bind(*v),
                    Some(Bind::Bool(v)) => q.bind(*v),
                    Some(Bind::Text(v)) => q.bind(v.as_str()),
                    Some(Bind::Blob(v)) => q.bind(v.as_slice()),
                    Some(Bind::Null(_)) => q.bind(None::<i64>),
                };
                q.execute($c).await?.rows_affected()
            }};
        }
        Ok(match self {
            Tx::Sqlite(tx) => run!(&mut **tx),
            Tx::Postgres(tx) => run!(&mut **tx),
        })
    }

    /// The table's columns with their recorded Fitz types, or `None` when it does not exist.
    async fn columns(&mut self, db: &Database, table: &str) -> Result<Option<Vec<Existing>>, DbError> {
        let mut cols: Vec<Existing> = match self {
            Tx::Sqlite(tx) => sqlx::query("SELECT name, type, \"notnull\", pk, dflt_value IS NOT NULL FROM pragma_table_info(?1)")
                .bind(table)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| Existing {
                    name: r.get(0),
                    sql_type: r.get::<String, _>(1).to_ascii_uppercase(),
                    nullable: r.get::<i64, _>(2) == 0 && r.get::<i64, _>(3) == 0,
                    has_default: r.get::<i64, _>(4) != 0 || r.get::<i64, _>(3) != 0,
                    fitz_type: None,
                })
                .collect(),
            Tx::Postgres(tx) => sqlx::query(
                "SELECT column_name::text, data_type::text, is_nullable::text, (column_default IS NOT NULL OR is_identity = 'YES') \
                 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            )
            .bind(db.schema().unwrap_or("public"))
            .bind(table)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| Existing {
                name: r.get(0),
                sql_type: r.get::<String, _>(1).to_ascii_uppercase(),
                nullable: r.get::<String, _>(2) == "YES",
                has_default: r.get(3),
                fitz_type: None,
            })
            .collect(),
        };
        if cols.is_empty() {
            return Ok(None);
        }
        let sql = format!("SELECT column_name, fitz_type FROM {} WHERE table_name = {}", db.table(COLUMNS_TABLE), db.dialect().placeholder(1));
        let recorded: HashMap<String, String> = match self {
            Tx::Sqlite(tx) => sqlx::query(&sql).bind(table).fetch_all(&mut **tx).await?.iter().map(|r| (r.get(0), r.get(1))).collect(),
            Tx::Postgres(tx) => sqlx::query(&sql).bind(table).fetch_all(&mut **tx).await?.iter().map(|r| (r.get(0), r.get(1))).collect(),
        };
        for c in &mut cols {
            c.fitz_type = recorded.get(&c.name).cloned();
        }
        Ok(Some(cols))
    }

    /// `SET LOCAL ROLE` (`none`: the session's own), on PostgreSQL.
    async fn set_role(&mut self, role: &str) -> Result<(), DbError> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("SELECT set_config('role', $1, true)").bind(role).execute(&mut **tx).await?;
        }
        Ok(())
    }

    fn postgres(&mut self) -> Option<&mut sqlx::PgConnection> {
        match self {
            Tx::Postgres(tx) => Some(&mut **tx),
            Tx::Sqlite(_) => None,
        }
    }

    async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Plans and applies the migration to `tables` in one transaction, records the columns' Fitz
/// types, and runs `switch` — on PostgreSQL inside the transaction, with its connection, so
/// the caller's store change commits with the tables or not at all; on SQLite after the commit.
/// Changes under the same `lock` (an app's name on a multi-tenant host) take turns on
/// PostgreSQL. Returns the steps taken and what `switch` returned.
pub async fn migrate<T>(
    db: &Database,
    lock: &str,
    tables: &[Table],
    records: &[RecordType],
    default_of: &DefaultOf<'_>,
    switch: impl AsyncFnOnce(Option<&mut sqlx::PgConnection>) -> Result<T, DbError>,
) -> Result<(Vec<Step>, T), MigrateError> {
    db.ensure_schema().await?;
    let mut tx = Tx::begin(db, &format!("fitz-migrate:{lock}")).await?;
    // What the app's own statements can do, its migrations can: the tables it makes are its
    // role's. The store's switch below runs as the host again.
    if let Some(role) = db.role() {
        tx.set_role(role).await?;
    }
    let meta = db.table(COLUMNS_TABLE);
    tx.execute(
        &format!("CREATE TABLE IF NOT EXISTS {meta} (table_name TEXT NOT NULL, column_name TEXT NOT NULL, fitz_type TEXT NOT NULL, PRIMARY KEY (table_name, column_name))"),
        None,
    )
    .await?;
    let mut existing = Vec::with_capacity(tables.len());
    for t in tables {
        existing.push(tx.columns(db, &t.name).await?);
    }
    let steps = plan(db.dialect(), tables, records, &existing, default_of)?;
    apply(&mut tx, db, records, &steps).await?;
    record_types(&mut tx, db, tables, records).await?;
    crate::faults::point("migrating");
    if db.role().is_some() {
        tx.set_role("none").await?;
    }
    let switched = match tx.postgres() {
        Some(conn) => {
            let out = switch(Some(conn)).await?;
            crate::faults::point("switching");
            tx.commit().await?;
            out
        }
        None => {
            tx.commit().await?;
            crate::faults::point("switching");
            switch(None).await?
        }
    };
    Ok((steps, switched))
}

/// The steps that bring the database from `existing` (one entry per table of `tables`) to
/// `tables`, or the reason it must not be done.
pub fn plan(dialect: Dialect, tables: &[Table], records: &[RecordType], existing: &[Option<Vec<Existing>>], default_of: &DefaultOf<'_>) -> Result<Vec<Step>, MigrateError> {
    let mut steps = Vec::new();
    let mut creates = Vec::new();
    for (t, existing) in tables.iter().zip(existing) {
        let Some(existing) = existing else {
            creates.push(t.clone());
            continue;
        };
        // A column the new type leaves out stays in the database; that is only safe when the
        // database can fill it in on insert (nullable or with a default).
        for e in existing {
            if !t.columns.iter().any(|c| c.name == e.name) && !e.nullable && !e.has_default {
                return Err(MigrateError::Destructive(format!(
                    "column `{}.{}` is required in the database but missing from the new version's type; its data would be orphaned and inserts would fail",
                    t.name, e.name
                )));
            }
        }
        for c in &t.columns {
            let nullable = matches!(c.ty, ValueType::Nullable { .. });
            match existing.iter().find(|e| e.name == c.name) {
                Some(e) => {
                    let want = column_type(dialect, &c.ty);
                    if !same_type(&e.sql_type, want) {
                        return Err(MigrateError::Destructive(format!("column `{}.{}` would change type from {} to {}", t.name, c.name, e.sql_type, want)));
                    }
                    let is_pk = c.name == t.primary_key;
                    if !is_pk && e.nullable != nullable {
                        return Err(MigrateError::Destructive(format!(
                            "column `{}.{}` would change from {} to {}",
                            t.name,
                            c.name,
                            if e.nullable { "nullable" } else { "required" },
                            if nullable { "nullable" } else { "required" }
                        )));
                    }
                    let want = fitz_type(records, &c.ty);
                    if let Some(had) = e.fitz_type.as_ref().filter(|had| **had != want) {
                        return Err(MigrateError::Destructive(format!("column `{}.{}` would change type from {had} to {want}", t.name, c.name)));
                    }
                }
                None if nullable => steps.push(Step::AddColumn { table: t.name.clone(), column: c.clone(), default: None }),
                None => match default_of(t, c) {
                    Some(v) => steps.push(Step::AddColumn { table: t.name.clone(), column: c.clone(), default: Some(v) }),
                    None => {
                        return Err(MigrateError::Destructive(format!(
                            "new column `{}.{}` is required and has no default, so existing rows would have no value for it (make it `{}?` or give it a default)",
                            t.name, c.name, c.name
                        )));
                    }
                },
            }
        }
    }
    // New tables first, each after those it references.
    let mut ordered: Vec<Step> = super::schema::in_reference_order(creates).into_iter().map(Step::CreateTable).collect();
    ordered.append(&mut steps);
    Ok(ordered)
}

fn same_type(existing: &str, want: &str) -> bool {
    let norm = |s: &str| {
        match s {
            "INT8" | "BIGINT" => "BIGINT",
            "FLOAT8" | "DOUBLE PRECISION" => "DOUBLE PRECISION",
            "BOOL" | "BOOLEAN" => "BOOLEAN",
            "BYTEA" | "BLOB" => "BLOB",
            other => other,
        }
        .to_string()
    };
    norm(existing) == norm(want)
}

/// A constant of the storage type, written into the SQL text only to satisfy `NOT NULL` while
/// the column is added; every existing row then gets the app's default as a bound value.
fn placeholder_default(dialect: Dialect, ty: &ValueType) -> &'static str {
    match (bind_type(ty), dialect) {
        (BindType::Int, _) => "0",
        (BindType::Float, _) => "0.0",
        (BindType::Bool, Dialect::Sqlite) => "0",
        (BindType::Bool, Dialect::Postgres) => "FALSE",
        (BindType::Text, _) => "''",
        (BindType::Blob, Dialect::Sqlite) => "X''",
        (BindType::Blob, Dialect::Postgres) => "''::bytea",
    }
}

async fn apply(tx: &mut Tx, db: &Database, records: &[RecordType], steps: &[Step]) -> Result<(), MigrateError> {
    let dialect = db.dialect();
    for step in steps {
        match step {
            Step::CreateTable(t) => {
                tx.execute(&create_table_sql(dialect, db.schema(), t), None).await?;
            }
            Step::AddColumn { table, column, default } => {
                let ty = column_type(dialect, &column.ty);
                let (name, table_sql) = (quote(&column.name), db.table(table));
                match default {
                    None => tx.execute(&format!("ALTER TABLE {table_sql} ADD COLUMN {name} {ty}{}", super::schema::references_sql(db.schema(), column)), None).await?,
                    Some(v) => {
                        let constant = placeholder_default(dialect, &column.ty);
                        tx.execute(&format!("ALTER TABLE {table_sql} ADD COLUMN {name} {ty} NOT NULL DEFAULT {constant}"), None).await?;
                        let bound = bind_value(records, &column.ty, v)?;
                        tx.execute(&format!("UPDATE {table_sql} SET {name} = {}", dialect.placeholder(1)), Some(&bound)).await?
                    }
                };
            }
        }
        crate::faults::point("migration-step");
    }
    Ok(())
}

/// Records the Fitz type of every column of `tables`.
async fn record_types(tx: &mut Tx, db: &Database, tables: &[Table], records: &[RecordType]) -> Result<(), DbError> {
    let p = |n| db.dialect().placeholder(n);
    let sql = format!(
        "INSERT INTO {} (table_name, column_name, fitz_type) VALUES ({}, {}, {}) ON CONFLICT (table_name, column_name) DO UPDATE SET fitz_type = excluded.fitz_type",
        db.table(COLUMNS_TABLE),
        p(1),
        p(2),
        p(3)
    );
    for t in tables {
        for c in &t.columns {
            let ty = fitz_type(records, &c.ty);
            match tx {
                Tx::Sqlite(tx) => sqlx::query(&sql).bind(&t.name).bind(&c.name).bind(ty).execute(&mut **tx).await?.rows_affected(),
                Tx::Postgres(tx) => sqlx::query(&sql).bind(&t.name).bind(&c.name).bind(ty).execute(&mut **tx).await?.rows_affected(),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite as the host builds it (`.cargo/config.toml`): a double-quoted name that is not
    /// a column is an error, not the string it spells.
    #[tokio::test]
    async fn sqlite_reads_no_missing_column_as_a_string() {
        let path = std::env::temp_dir().join(format!("fitz-dqs-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let db = Database::connect(&format!("sqlite:{}", path.display())).await.expect("sqlite");
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)").await.expect("create");
        db.execute("INSERT INTO t (name) VALUES ('a')").await.expect("insert");
        let Pool::Sqlite(p) = &db.pool else { unreachable!() };
        let matched = sqlx::query("SELECT count(*) FROM t WHERE \"owner\" = 'owner'").fetch_one(p).await;
        assert!(matched.is_err(), "\"owner\" must not be read as a string literal");
        db.close().await;
        let _ = std::fs::remove_file(&path);
    }
}
