//! Table migrations on deploy (DESIGN.md §8): new tables are created, new columns that are
//! nullable or have a default are added; anything that would lose or invent data — a column
//! dropped, a column whose type or nullability changes, a new required column without a
//! default, a required column dropped from the type — is refused with a message naming the
//! table and column. Tables a new version no
//! longer declares are left alone (their data stays).

use guest_abi::manifest::{Column, Table};
use guest_abi::types::ValueType;
use guest_abi::value::Value;
use sqlx::Row;

use crate::db::schema::{column_type, create_table_sql};
use crate::db::sql::{bind_type, quote, BindType};
use crate::db::{Database, DbError, Dialect, Pool};

/// One step of a migration.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    CreateTable(Table),
    /// A new column; `default` fills existing rows when the column is required.
    AddColumn { table: String, column: Column, default: Option<Value> },
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

/// A column as the database has it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub name: String,
    pub sql_type: String,
    pub nullable: bool,
    /// The database fills it in when an insert leaves it out.
    pub has_default: bool,
}

/// The table's columns, or `None` when the table does not exist.
pub async fn existing_columns(db: &Database, table: &str) -> Result<Option<Vec<Existing>>, DbError> {
    let cols: Vec<Existing> = match &db.pool {
        Pool::Sqlite(p) => sqlx::query("SELECT name, type, \"notnull\", pk, dflt_value IS NOT NULL FROM pragma_table_info(?1)")
            .bind(table)
            .fetch_all(p)
            .await?
            .iter()
            .map(|r| Existing {
                name: r.get(0),
                sql_type: r.get::<String, _>(1).to_ascii_uppercase(),
                nullable: r.get::<i64, _>(2) == 0 && r.get::<i64, _>(3) == 0,
                has_default: r.get::<i64, _>(4) != 0 || r.get::<i64, _>(3) != 0,
            })
            .collect(),
        Pool::Postgres(p) => sqlx::query(
            "SELECT column_name::text, data_type::text, is_nullable::text, (column_default IS NOT NULL OR is_identity = 'YES') \
             FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
        )
        .bind(db.schema().unwrap_or("public"))
        .bind(table)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| Existing {
            name: r.get(0),
            sql_type: r.get::<String, _>(1).to_ascii_uppercase(),
            nullable: r.get::<String, _>(2) == "YES",
            has_default: r.get(3),
        })
        .collect(),
    };
    Ok((!cols.is_empty()).then_some(cols))
}

/// The steps that bring the database to `tables`, or the reason it must not be done.
/// `default_of(table, column)` gives a required new column's default, computed by the app.
pub async fn plan(db: &Database, tables: &[Table], default_of: &(dyn Fn(&Table, &Column) -> Option<Value> + Sync)) -> Result<Vec<Step>, MigrateError> {
    let dialect = db.dialect();
    let mut steps = Vec::new();
    for t in tables {
        let Some(existing) = existing_columns(db, &t.name).await? else {
            steps.push(Step::CreateTable(t.clone()));
            continue;
        };
        // A column the new type leaves out stays in the database; that is only safe when the
        // database can fill it in on insert (nullable or with a default).
        for e in &existing {
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
                        return Err(MigrateError::Destructive(format!(
                            "column `{}.{}` would change type from {} to {}",
                            t.name, c.name, e.sql_type, want
                        )));
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
    Ok(steps)
}

fn same_type(existing: &str, want: &str) -> bool {
    let norm = |s: &str| match s {
        "INT8" | "BIGINT" => "BIGINT",
        "FLOAT8" | "DOUBLE PRECISION" => "DOUBLE PRECISION",
        "BOOL" | "BOOLEAN" => "BOOLEAN",
        other => other,
    }
    .to_string();
    norm(existing) == norm(want)
}

/// A value as an SQL literal, for a column default.
fn literal(dialect: Dialect, ty: &ValueType, v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "NULL".into(),
        Value::Int(i) | Value::DateTime(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => format!("{f:?}"),
        Value::Bool(b) => match dialect {
            Dialect::Postgres => (if *b { "TRUE" } else { "FALSE" }).into(),
            Dialect::Sqlite => (if *b { "1" } else { "0" }).into(),
        },
        Value::Str(s) if bind_type(ty) == BindType::Text => format!("'{}'", s.replace('\'', "''")),
        other if bind_type(ty) == BindType::Text => format!("'{}'", crate::json::to_json(&[], ty, other).to_string().replace('\'', "''")),
        _ => return None,
    })
}

pub async fn apply(db: &Database, steps: &[Step]) -> Result<(), MigrateError> {
    let dialect = db.dialect();
    db.ensure_schema().await?;
    for step in steps {
        let sql = match step {
            Step::CreateTable(t) => {
                db.execute_ddl(&create_table_sql(dialect, db.schema(), t)).await?;
                continue;
            }
            Step::AddColumn { table, column, default } => {
                let ty = column_type(dialect, &column.ty);
                let tail = match default {
                    None => String::new(),
                    Some(v) => {
                        let lit = literal(dialect, &column.ty, v)
                            .ok_or_else(|| MigrateError::Destructive(format!("the default of `{table}.{}` cannot be stored", column.name)))?;
                        format!(" NOT NULL DEFAULT {lit}")
                    }
                };
                format!("ALTER TABLE {} ADD COLUMN {} {ty}{tail}", db.table(table), quote(&column.name))
            }
        };
        db.execute(&sql).await?;
    }
    Ok(())
}
