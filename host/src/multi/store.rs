//! What a multi-tenant host keeps durably: every deployed module version with its image (the
//! module with its top level's memory baked in, built once), which version each app serves,
//! its limits and its secrets. On PostgreSQL these live in the schema `fitz_host`,
//! shared by every host process on that database; otherwise in `host.db` in the data
//! directory. Each change bumps the app's generation, which other hosts poll to follow.
//!
//! Secrets are stored as given (the database is the trust boundary here, as for the apps'
//! own data); they are never returned by the API or written to logs.

use std::collections::HashMap;

use sqlx::Row;

use crate::db::{unix_seconds as now, Database, DbError, Pool};

pub const SCHEMA: &str = "fitz_host";

#[derive(Clone, Debug, PartialEq)]
pub struct AppRow {
    pub name: String,
    pub current: i64,
    pub generation: i64,
    /// JSON of `multi::registry::TenantLimits`.
    pub limits: String,
    pub updated_at: i64,
}

pub struct HostStore {
    db: Database,
}

/// `?n` or `$n`.
fn p(db: &Database, n: usize) -> String {
    db.dialect().placeholder(n)
}

macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

impl HostStore {
    pub async fn open(db: Database) -> Result<HostStore, DbError> {
        let db = match db.pool {
            Pool::Postgres(_) => db.with_schema(SCHEMA),
            Pool::Sqlite(_) => db,
        };
        db.ensure_schema().await?;
        let blob = match db.pool {
            Pool::Sqlite(_) => "BLOB",
            Pool::Postgres(_) => "BYTEA",
        };
        let statements = [
            format!(
                "CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, current BIGINT NOT NULL, generation BIGINT NOT NULL, limits TEXT NOT NULL, updated_at BIGINT NOT NULL)",
                db.table("apps")
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (app TEXT NOT NULL, version BIGINT NOT NULL, wasm {blob} NOT NULL, deployed_at BIGINT NOT NULL, PRIMARY KEY (app, version))",
                db.table("versions")
            ),
            format!("CREATE TABLE IF NOT EXISTS {} (app TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (app, name))", db.table("secrets")),
        ];
        for s in statements {
            db.execute_ddl(&s).await?;
        }
        // Stores written before images were kept get the column; their images are built once,
        // by the first host to load each version.
        let has_image = match &db.pool {
            Pool::Sqlite(p) => sqlx::query("SELECT 1 FROM pragma_table_info('versions') WHERE name = 'image'").fetch_optional(p).await?.is_some(),
            Pool::Postgres(p) => sqlx::query("SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'versions' AND column_name = 'image'")
                .bind(SCHEMA)
                .fetch_optional(p)
                .await?
                .is_some(),
        };
        if !has_image {
            let if_absent = if matches!(db.pool, Pool::Postgres(_)) { " IF NOT EXISTS" } else { "" };
            db.execute_ddl(&format!("ALTER TABLE {} ADD COLUMN{if_absent} image {blob}", db.table("versions"))).await?;
        }
        Ok(HostStore { db })
    }

    pub async fn apps(&self) -> Result<Vec<AppRow>, DbError> {
        let sql = format!("SELECT name, current, generation, limits, updated_at FROM {} ORDER BY name", self.db.table("apps"));
        let rows = on_pool!(self.db, |pool| sqlx::query(&sql).fetch_all(pool).await?.iter().map(|r| AppRow {
            name: r.get(0),
            current: r.get(1),
            generation: r.get(2),
            limits: r.get(3),
            updated_at: r.get(4),
        }).collect::<Vec<_>>());
        Ok(rows)
    }

    pub async fn app(&self, name: &str) -> Result<Option<AppRow>, DbError> {
        Ok(self.apps().await?.into_iter().find(|a| a.name == name))
    }

    /// Stores a new version of `app` (created with `limits` when new) and makes it current;
    /// returns its number. With `conn` (the migration's transaction, on PostgreSQL) the
    /// statements commit with the tables they go with; deploys of one app through several
    /// hosts take turns there, under the migration's lock.
    pub async fn add_version(&self, conn: Option<&mut sqlx::PgConnection>, app: &str, wasm: &[u8], image: &[u8], limits: &str) -> Result<i64, DbError> {
        let db = &self.db;
        let (versions, apps) = (db.table("versions"), db.table("apps"));
        let next_sql = format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {versions} WHERE app = {}", p(db, 1));
        let insert = format!("INSERT INTO {versions} (app, version, wasm, deployed_at, image) VALUES ({}, {}, {}, {}, {})", p(db, 1), p(db, 2), p(db, 3), p(db, 4), p(db, 5));
        let upsert = format!(
            "INSERT INTO {apps} (name, current, generation, limits, updated_at) VALUES ({}, {}, 1, {}, {}) \
             ON CONFLICT (name) DO UPDATE SET current = excluded.current, generation = {apps}.generation + 1, updated_at = excluded.updated_at",
            p(db, 1),
            p(db, 2),
            p(db, 3),
            p(db, 4)
        );
        let t = now();
        if let Some(c) = conn {
            let version: i64 = sqlx::query(&next_sql).bind(app).fetch_one(&mut *c).await?.try_get(0)?;
            sqlx::query(&insert).bind(app).bind(version).bind(wasm).bind(t).bind(image).execute(&mut *c).await?;
            sqlx::query(&upsert).bind(app).bind(version).bind(limits).bind(t).execute(&mut *c).await?;
            return Ok(version);
        }
        let version: i64 = on_pool!(db, |pool| sqlx::query(&next_sql).bind(app).fetch_one(pool).await?.try_get(0)?);
        on_pool!(db, |pool| sqlx::query(&insert).bind(app).bind(version).bind(wasm).bind(t).bind(image).execute(pool).await?.rows_affected());
        on_pool!(db, |pool| sqlx::query(&upsert).bind(app).bind(version).bind(limits).bind(t).execute(pool).await?.rows_affected());
        Ok(version)
    }

    pub async fn version_wasm(&self, app: &str, version: i64) -> Result<Option<Vec<u8>>, DbError> {
        let sql = format!("SELECT wasm FROM {} WHERE app = {} AND version = {}", self.db.table("versions"), p(&self.db, 1), p(&self.db, 2));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(app).bind(version).fetch_optional(pool).await?.map(|r| r.get::<Vec<u8>, _>(0))))
    }

    /// The image of a version, if one was built (and not cleared by a change of secrets).
    pub async fn version_image(&self, app: &str, version: i64) -> Result<Option<Vec<u8>>, DbError> {
        let sql = format!("SELECT image FROM {} WHERE app = {} AND version = {}", self.db.table("versions"), p(&self.db, 1), p(&self.db, 2));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(app).bind(version).fetch_optional(pool).await?.and_then(|r| r.get::<Option<Vec<u8>>, _>(0))))
    }

    /// Stores the image of a version unless it has one: the first host to build it wins and
    /// every host then serves that one. Returns the stored image.
    pub async fn keep_image(&self, app: &str, version: i64, image: &[u8]) -> Result<Vec<u8>, DbError> {
        let sql = format!(
            "UPDATE {} SET image = {} WHERE app = {} AND version = {} AND image IS NULL",
            self.db.table("versions"),
            p(&self.db, 1),
            p(&self.db, 2),
            p(&self.db, 3)
        );
        on_pool!(self.db, |pool| sqlx::query(&sql).bind(image).bind(app).bind(version).execute(pool).await?.rows_affected());
        Ok(self.version_image(app, version).await?.unwrap_or_else(|| image.to_vec()))
    }

    /// Replaces the image of `version` (its top level ran again with new secrets) and clears
    /// the other versions' images, built with the old ones.
    pub async fn replace_images(&self, app: &str, version: i64, image: &[u8]) -> Result<(), DbError> {
        let versions = self.db.table("versions");
        let set = format!("UPDATE {versions} SET image = {} WHERE app = {} AND version = {}", p(&self.db, 1), p(&self.db, 2), p(&self.db, 3));
        let clear = format!("UPDATE {versions} SET image = NULL WHERE app = {} AND version <> {}", p(&self.db, 1), p(&self.db, 2));
        on_pool!(self.db, |pool| sqlx::query(&set).bind(image).bind(app).bind(version).execute(pool).await?.rows_affected());
        on_pool!(self.db, |pool| sqlx::query(&clear).bind(app).bind(version).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Version numbers of `app`, oldest first.
    pub async fn versions(&self, app: &str) -> Result<Vec<(i64, i64)>, DbError> {
        let sql = format!("SELECT version, deployed_at FROM {} WHERE app = {} ORDER BY version", self.db.table("versions"), p(&self.db, 1));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(app).fetch_all(pool).await?.iter().map(|r| (r.get(0), r.get(1))).collect()))
    }

    /// Points `app` at an existing version (rollback) and bumps its generation; with `conn`,
    /// in the migration's transaction (as `add_version`).
    pub async fn set_current(&self, conn: Option<&mut sqlx::PgConnection>, app: &str, version: i64) -> Result<(), DbError> {
        let apps = self.db.table("apps");
        let sql = format!("UPDATE {apps} SET current = {}, generation = generation + 1, updated_at = {} WHERE name = {}", p(&self.db, 1), p(&self.db, 2), p(&self.db, 3));
        match conn {
            Some(c) => sqlx::query(&sql).bind(version).bind(now()).bind(app).execute(c).await?.rows_affected(),
            None => on_pool!(self.db, |pool| sqlx::query(&sql).bind(version).bind(now()).bind(app).execute(pool).await?.rows_affected()),
        };
        Ok(())
    }

    /// Bumps the generation so every host reloads the app (secrets or limits changed).
    pub async fn touch(&self, app: &str) -> Result<(), DbError> {
        let sql = format!("UPDATE {} SET generation = generation + 1, updated_at = {} WHERE name = {}", self.db.table("apps"), p(&self.db, 1), p(&self.db, 2));
        on_pool!(self.db, |pool| sqlx::query(&sql).bind(now()).bind(app).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn set_limits(&self, app: &str, limits: &str) -> Result<(), DbError> {
        let sql = format!("UPDATE {} SET limits = {}, generation = generation + 1, updated_at = {} WHERE name = {}", self.db.table("apps"), p(&self.db, 1), p(&self.db, 2), p(&self.db, 3));
        on_pool!(self.db, |pool| sqlx::query(&sql).bind(limits).bind(now()).bind(app).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn remove(&self, app: &str) -> Result<bool, DbError> {
        let mut removed = 0;
        for table in ["apps", "versions", "secrets"] {
            let column = if table == "apps" { "name" } else { "app" };
            let sql = format!("DELETE FROM {} WHERE {column} = {}", self.db.table(table), p(&self.db, 1));
            let n = on_pool!(self.db, |pool| sqlx::query(&sql).bind(app).execute(pool).await?.rows_affected());
            if table == "apps" {
                removed = n;
            }
        }
        Ok(removed > 0)
    }

    pub async fn secrets(&self, app: &str) -> Result<HashMap<String, String>, DbError> {
        let sql = format!("SELECT name, value FROM {} WHERE app = {}", self.db.table("secrets"), p(&self.db, 1));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(app).fetch_all(pool).await?.iter().map(|r| (r.get(0), r.get(1))).collect()))
    }

    pub async fn set_secret(&self, app: &str, name: &str, value: &str) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO {} (app, name, value) VALUES ({}, {}, {}) ON CONFLICT (app, name) DO UPDATE SET value = excluded.value",
            self.db.table("secrets"),
            p(&self.db, 1),
            p(&self.db, 2),
            p(&self.db, 3)
        );
        on_pool!(self.db, |pool| sqlx::query(&sql).bind(app).bind(name).bind(value).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn unset_secret(&self, app: &str, name: &str) -> Result<bool, DbError> {
        let sql = format!("DELETE FROM {} WHERE app = {} AND name = {}", self.db.table("secrets"), p(&self.db, 1), p(&self.db, 2));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(app).bind(name).execute(pool).await?.rows_affected()) > 0)
    }
}
