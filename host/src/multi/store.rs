//! What a multi-tenant host keeps durably: every deployed module version with its image (the
//! module with its top level's memory baked in, built once), which version each app serves,
//! its limits and its secrets. On PostgreSQL these live in the schema `fitz_host`,
//! shared by every host process on that database; otherwise in `host.db` in the data
//! directory. Each change bumps the app's generation, which other hosts poll to follow.
//!
//! An app's data, versions and secrets belong to its namespace, not its name: the first app
//! called `shop` has the namespace `shop`, and once it is removed the next app of that name
//! gets `shop.1`, then `shop.2` (numbered past every namespace the name ever had, so every
//! host computes the same one). A removed app's namespace is kept, restorable, until it is
//! purged; it is never handed to a newcomer.
//!
//! Secret values are stored sealed under the host's key (`sealing`); they are never returned
//! by the API or written to logs.

use std::collections::HashMap;

use sqlx::Row;

use super::sealing::image_slot;
use crate::db::{Database, DbError, Pool, unix_seconds as now};

pub const SCHEMA: &str = "fitz_host";

#[derive(Clone, Debug, PartialEq)]
pub struct AppRow {
    pub name: String,
    pub current: i64,
    pub generation: i64,
    /// JSON of `multi::registry::TenantLimits`.
    pub limits: String,
    pub updated_at: i64,
    pub namespace: Namespace,
}

/// Where an app's data, versions and secrets live.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Namespace {
    /// `shop`, then `shop.1`, `shop.2`, … for later apps of the same name.
    pub id: String,
    pub incarnation: i64,
}

impl Namespace {
    pub fn of(name: &str, incarnation: i64) -> Namespace {
        let id = if incarnation == 0 { name.to_string() } else { format!("{name}.{incarnation}") };
        Namespace { id, incarnation }
    }
}

/// A removed app whose namespace is kept (or was purged).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Removed {
    pub app: String,
    pub namespace: String,
    pub version: i64,
    pub removed_at: i64,
    pub purged: bool,
}

pub struct HostStore {
    db: Database,
    keys: super::sealing::Keyring,
}

/// `?n` or `$n`.
fn p(db: &Database, n: usize) -> String {
    db.dialect().placeholder(n)
}

/// The placeholders of `n` values, `$1, $2, …` (or `?1, …`), for an `INSERT`'s `VALUES`.
fn marks(db: &Database, n: usize) -> String {
    (1..=n).map(|i| p(db, i)).collect::<Vec<_>>().join(", ")
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
    pub async fn open(db: Database, keys: super::sealing::Keyring) -> Result<HostStore, DbError> {
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
            format!(
                "CREATE TABLE IF NOT EXISTS {} (namespace TEXT PRIMARY KEY, name TEXT NOT NULL, incarnation BIGINT NOT NULL, current BIGINT NOT NULL, limits TEXT NOT NULL, removed_at BIGINT NOT NULL, purged_at BIGINT)",
                db.table("removed")
            ),
        ];
        for s in statements {
            db.execute_ddl(&s).await?;
        }
        // Stores written by earlier hosts get the columns added since: images (built once, by
        // the first host to load each version) and namespaces (an app without one has its
        // name's, which is where its data already is).
        for (table, column, ty) in [("versions", "image", blob), ("apps", "namespace", "TEXT"), ("apps", "incarnation", "BIGINT NOT NULL DEFAULT 0")] {
            if !has_column(&db, table, column).await? {
                let if_absent = if matches!(db.pool, Pool::Postgres(_)) { " IF NOT EXISTS" } else { "" };
                db.execute_ddl(&format!("ALTER TABLE {} ADD COLUMN{if_absent} {column} {ty}", db.table(table))).await?;
            }
        }
        let store = HostStore { db, keys };
        // Values written before sealing are sealed now, once.
        let legacy = store.reseal(|stored| !stored.starts_with("fitz-sealed:")).await;
        if let Ok(n) = &legacy
            && *n > 0
        {
            tracing::info!(target: "fitz::host", "{n} stored secret values sealed under key {}", store.keys.current_id());
            // The plaintext's old page images leave the write-ahead log too.
            if let Pool::Sqlite(p) = &store.db.pool {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(p).await?;
            }
        }
        legacy.map_err(|e| match e {
            Reseal::Db(e) => e,
            Reseal::Sealed(_) => DbError::Unavailable,
        })?;
        Ok(store)
    }

    pub fn keys(&self) -> &super::sealing::Keyring {
        &self.keys
    }

    /// Seals again, under the current key, every stored secret value `which` picks; returns
    /// how many. `fitz secrets rotate-key` runs it for every value not under the current key.
    pub async fn reseal(&self, which: impl Fn(&str) -> bool) -> Result<u64, Reseal> {
        use super::sealing::slot;
        let table = self.db.table("secrets");
        let sql = format!("SELECT app, name, value FROM {table}");
        let rows: Vec<(String, String, String)> =
            on_pool!(self.db, |pool| sqlx::query(&sql).fetch_all(pool).await.map_err(|e| Reseal::Db(e.into()))?.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect());
        let update = format!("UPDATE {table} SET value = {} WHERE app = {} AND name = {} AND value = {}", p(&self.db, 1), p(&self.db, 2), p(&self.db, 3), p(&self.db, 4));
        let mut n = 0;
        for (ns, name, stored) in rows.iter().filter(|(_, _, v)| which(v)) {
            let plain = self.keys.open(&slot(ns, name), stored).map_err(Reseal::Sealed)?;
            let sealed = self.keys.seal(&slot(ns, name), &plain);
            n += on_pool!(self.db, |pool| sqlx::query(&update)
                .bind(&sealed)
                .bind(ns)
                .bind(name)
                .bind(stored)
                .execute(pool)
                .await
                .map_err(|e| Reseal::Db(e.into()))?
                .rows_affected());
        }
        Ok(n)
    }

    pub async fn apps(&self) -> Result<Vec<AppRow>, DbError> {
        let sql = format!("SELECT name, current, generation, limits, updated_at, COALESCE(namespace, name), incarnation FROM {} ORDER BY name", self.db.table("apps"));
        let rows = on_pool!(self.db, |pool| sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| AppRow {
                name: r.get(0),
                current: r.get(1),
                generation: r.get(2),
                limits: r.get(3),
                updated_at: r.get(4),
                namespace: Namespace { id: r.get(5), incarnation: r.get(6) },
            })
            .collect::<Vec<_>>());
        Ok(rows)
    }

    /// The namespace of app `name`: its own when it exists, else the one the next app of that
    /// name gets (numbered past every namespace the name has had).
    pub async fn namespace_for(&self, name: &str) -> Result<Namespace, DbError> {
        if let Some(row) = self.app(name).await? {
            return Ok(row.namespace);
        }
        let sql = format!("SELECT MAX(incarnation) FROM {} WHERE name = {}", self.db.table("removed"), p(&self.db, 1));
        let last: Option<i64> = on_pool!(self.db, |pool| sqlx::query(&sql).bind(name).fetch_one(pool).await?.try_get(0)?);
        Ok(Namespace::of(name, last.map_or(0, |n| n + 1)))
    }

    pub async fn app(&self, name: &str) -> Result<Option<AppRow>, DbError> {
        Ok(self.apps().await?.into_iter().find(|a| a.name == name))
    }

    /// Stores a new version of `app` (created with `limits` when new) and makes it current;
    /// returns its number. With `conn` (the migration's transaction, on PostgreSQL) the
    /// statements commit with the tables they go with; deploys of one app through several
    /// hosts take turns there, under the migration's lock.
    /// `number` keeps an imported version's number instead of taking the next.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_version(
        &self,
        conn: Option<&mut sqlx::PgConnection>,
        app: &str,
        ns: &Namespace,
        number: Option<i64>,
        wasm: &[u8],
        image: &[u8],
        limits: &str,
    ) -> Result<i64, DbError> {
        let db = &self.db;
        let (versions, apps) = (db.table("versions"), db.table("apps"));
        let next_sql = format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {versions} WHERE app = {}", p(db, 1));
        let insert = format!("INSERT INTO {versions} (app, version, wasm, deployed_at, image) VALUES ({})", marks(db, 5));
        let upsert = format!(
            "INSERT INTO {apps} (name, current, limits, updated_at, namespace, incarnation, generation) VALUES ({}, 1) \
             ON CONFLICT (name) DO UPDATE SET current = excluded.current, generation = {apps}.generation + 1, updated_at = excluded.updated_at",
            marks(db, 6)
        );
        let t = now();
        let sealed = |version| self.keys.seal_bytes(&image_slot(&ns.id, version), image);
        if let Some(c) = conn {
            let version: i64 = match number {
                Some(n) => n,
                None => sqlx::query(&next_sql).bind(&ns.id).fetch_one(&mut *c).await?.try_get(0)?,
            };
            sqlx::query(&insert).bind(&ns.id).bind(version).bind(wasm).bind(t).bind(sealed(version)).execute(&mut *c).await?;
            sqlx::query(&upsert).bind(app).bind(version).bind(limits).bind(t).bind(&ns.id).bind(ns.incarnation).execute(&mut *c).await?;
            return Ok(version);
        }
        let version: i64 = match number {
            Some(n) => n,
            None => on_pool!(db, |pool| sqlx::query(&next_sql).bind(&ns.id).fetch_one(pool).await?.try_get(0)?),
        };
        on_pool!(db, |pool| sqlx::query(&insert).bind(&ns.id).bind(version).bind(wasm).bind(t).bind(sealed(version)).execute(pool).await?.rows_affected());
        on_pool!(db, |pool| sqlx::query(&upsert).bind(app).bind(version).bind(limits).bind(t).bind(&ns.id).bind(ns.incarnation).execute(pool).await?.rows_affected());
        Ok(version)
    }

    /// Stores an imported earlier version (its image is built when it is first served).
    pub async fn import_version(&self, ns: &Namespace, version: i64, wasm: &[u8], deployed_at: i64) -> Result<(), DbError> {
        let db = &self.db;
        let sql = format!("INSERT INTO {} (app, version, wasm, deployed_at) VALUES ({})", db.table("versions"), marks(db, 4));
        on_pool!(db, |pool| sqlx::query(&sql).bind(&ns.id).bind(version).bind(wasm).bind(deployed_at).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn version_wasm(&self, ns: &str, version: i64) -> Result<Option<Vec<u8>>, DbError> {
        let sql = format!("SELECT wasm FROM {} WHERE app = {} AND version = {}", self.db.table("versions"), p(&self.db, 1), p(&self.db, 2));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).bind(version).fetch_optional(pool).await?.map(|r| r.get::<Vec<u8>, _>(0))))
    }

    /// The image of a version, opened, if one was built (and not cleared by a change of
    /// secrets).
    pub async fn version_image(&self, ns: &str, version: i64) -> Result<Option<Vec<u8>>, Reseal> {
        let sql = format!("SELECT image FROM {} WHERE app = {} AND version = {}", self.db.table("versions"), p(&self.db, 1), p(&self.db, 2));
        let stored = on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).bind(version).fetch_optional(pool).await.map_err(|e| Reseal::Db(e.into()))?.and_then(|r| r.get::<Option<
            Vec<u8>,
        >, _>(
            0
        )));
        stored.map(|s| self.keys.open_bytes(&image_slot(ns, version), s).map_err(Reseal::Sealed)).transpose()
    }

    /// Seals again, under the current key, every stored image that is not; returns how many.
    pub async fn reseal_images(&self) -> Result<u64, Reseal> {
        let versions = self.db.table("versions");
        let sql = format!("SELECT app, version FROM {versions} WHERE image IS NOT NULL ORDER BY app, version");
        let rows: Vec<(String, i64)> =
            on_pool!(self.db, |pool| sqlx::query(&sql).fetch_all(pool).await.map_err(|e| Reseal::Db(e.into()))?.iter().map(|r| (r.get(0), r.get(1))).collect());
        let read = format!("SELECT image FROM {versions} WHERE app = {} AND version = {}", p(&self.db, 1), p(&self.db, 2));
        let update = format!("UPDATE {versions} SET image = {} WHERE app = {} AND version = {}", p(&self.db, 1), p(&self.db, 2), p(&self.db, 3));
        let mut n = 0;
        for (ns, version) in rows {
            let stored: Option<Vec<u8>> = on_pool!(self.db, |pool| sqlx::query(&read).bind(&ns).bind(version).fetch_one(pool).await.map_err(|e| Reseal::Db(e.into()))?.get(0));
            let Some(stored) = stored.filter(|s| !self.keys.is_current_bytes(s)) else { continue };
            let slot = image_slot(&ns, version);
            let sealed = self.keys.seal_bytes(&slot, &self.keys.open_bytes(&slot, stored).map_err(Reseal::Sealed)?);
            n += on_pool!(self.db, |pool| sqlx::query(&update).bind(sealed).bind(&ns).bind(version).execute(pool).await.map_err(|e| Reseal::Db(e.into()))?.rows_affected());
        }
        Ok(n)
    }

    /// Stores the image of a version unless it has one: the first host to build it wins and
    /// every host then serves that one. Returns the stored image.
    pub async fn keep_image(&self, ns: &str, version: i64, image: &[u8]) -> Result<Vec<u8>, Reseal> {
        let sql = format!("UPDATE {} SET image = {} WHERE app = {} AND version = {} AND image IS NULL", self.db.table("versions"), p(&self.db, 1), p(&self.db, 2), p(&self.db, 3));
        let sealed = self.keys.seal_bytes(&image_slot(ns, version), image);
        on_pool!(self.db, |pool| sqlx::query(&sql).bind(sealed).bind(ns).bind(version).execute(pool).await.map_err(|e| Reseal::Db(e.into()))?.rows_affected());
        Ok(self.version_image(ns, version).await?.unwrap_or_else(|| image.to_vec()))
    }

    /// Replaces the image of `version` (its top level ran again with new secrets) and clears
    /// the other versions' images, built with the old ones.
    pub async fn replace_images(&self, ns: &str, version: i64, image: &[u8]) -> Result<(), DbError> {
        let versions = self.db.table("versions");
        let set = format!("UPDATE {versions} SET image = {} WHERE app = {} AND version = {}", p(&self.db, 1), p(&self.db, 2), p(&self.db, 3));
        let clear = format!("UPDATE {versions} SET image = NULL WHERE app = {} AND version <> {}", p(&self.db, 1), p(&self.db, 2));
        let sealed = self.keys.seal_bytes(&image_slot(ns, version), image);
        on_pool!(self.db, |pool| sqlx::query(&set).bind(sealed).bind(ns).bind(version).execute(pool).await?.rows_affected());
        on_pool!(self.db, |pool| sqlx::query(&clear).bind(ns).bind(version).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Version numbers in namespace `ns`, oldest first.
    pub async fn versions(&self, ns: &str) -> Result<Vec<(i64, i64)>, DbError> {
        let sql = format!("SELECT version, deployed_at FROM {} WHERE app = {} ORDER BY version", self.db.table("versions"), p(&self.db, 1));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).fetch_all(pool).await?.iter().map(|r| (r.get(0), r.get(1))).collect()))
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
        let sql = format!(
            "UPDATE {} SET limits = {}, generation = generation + 1, updated_at = {} WHERE name = {}",
            self.db.table("apps"),
            p(&self.db, 1),
            p(&self.db, 2),
            p(&self.db, 3)
        );
        on_pool!(self.db, |pool| sqlx::query(&sql).bind(limits).bind(now()).bind(app).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Stops `app` from being an app: its namespace (data, versions, secrets) is kept and
    /// listed as removed, restorable, or with `purge` its versions and secrets are deleted
    /// (the caller drops its data). Returns the namespace it had, if it existed.
    pub async fn remove(&self, app: &str, purge: bool) -> Result<Option<Namespace>, DbError> {
        let Some(row) = self.app(app).await? else { return Ok(None) };
        let db = &self.db;
        let keep = format!(
            "INSERT INTO {} (namespace, name, incarnation, current, limits, removed_at, purged_at) VALUES ({}) \
             ON CONFLICT (namespace) DO UPDATE SET removed_at = excluded.removed_at, purged_at = excluded.purged_at",
            db.table("removed"),
            marks(db, 7)
        );
        let t = now();
        let ns = &row.namespace;
        on_pool!(db, |pool| sqlx::query(&keep)
            .bind(&ns.id)
            .bind(app)
            .bind(ns.incarnation)
            .bind(row.current)
            .bind(&row.limits)
            .bind(t)
            .bind(purge.then_some(t))
            .execute(pool)
            .await?
            .rows_affected());
        let delete = format!("DELETE FROM {} WHERE name = {}", db.table("apps"), p(db, 1));
        on_pool!(db, |pool| sqlx::query(&delete).bind(app).execute(pool).await?.rows_affected());
        if purge {
            self.forget(&ns.id).await?;
        }
        Ok(Some(row.namespace))
    }

    /// Deletes a namespace's versions and secrets.
    async fn forget(&self, ns: &str) -> Result<(), DbError> {
        for table in ["versions", "secrets"] {
            let sql = format!("DELETE FROM {} WHERE app = {}", self.db.table(table), p(&self.db, 1));
            on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).execute(pool).await?.rows_affected());
        }
        Ok(())
    }

    /// Removed apps, newest first.
    pub async fn removed(&self) -> Result<Vec<Removed>, DbError> {
        let sql = format!("SELECT name, namespace, current, removed_at, purged_at IS NOT NULL FROM {} ORDER BY removed_at DESC, namespace", self.db.table("removed"));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Removed { app: r.get(0), namespace: r.get(1), version: r.get(2), removed_at: r.get(3), purged: r.get(4) })
            .collect()))
    }

    /// Serves a removed app's namespace again under its name: the newest kept one, or the
    /// one named. `Ok(None)` when there is nothing to restore.
    pub async fn restore(&self, app: &str, namespace: Option<&str>) -> Result<Option<AppRow>, DbError> {
        let db = &self.db;
        let sql = format!(
            "SELECT namespace, incarnation, current, limits FROM {} WHERE name = {} AND purged_at IS NULL AND current > 0 ORDER BY removed_at DESC, incarnation DESC",
            db.table("removed"),
            p(db, 1)
        );
        let kept: Vec<(String, i64, i64, String)> =
            on_pool!(db, |pool| sqlx::query(&sql).bind(app).fetch_all(pool).await?.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect());
        let Some((ns, incarnation, current, limits)) = kept.into_iter().find(|k| namespace.is_none_or(|n| n == k.0)) else { return Ok(None) };
        let insert = format!("INSERT INTO {} (name, current, limits, updated_at, namespace, incarnation, generation) VALUES ({}, 1)", db.table("apps"), marks(db, 6));
        on_pool!(db, |pool| sqlx::query(&insert).bind(app).bind(current).bind(&limits).bind(now()).bind(&ns).bind(incarnation).execute(pool).await?.rows_affected());
        let delete = format!("DELETE FROM {} WHERE namespace = {}", db.table("removed"), p(db, 1));
        on_pool!(db, |pool| sqlx::query(&delete).bind(&ns).execute(pool).await?.rows_affected());
        self.app(app).await
    }

    /// Records namespaces whose data is there but which no app or removed app of this store
    /// has (an app removed by a host from before namespaces, which kept its data and forgot
    /// it): as removed, kept for the operator to purge, so no newcomer of that name adopts
    /// them. `found` are the namespaces whose data exists. Returns the ones recorded.
    pub async fn adopt_orphans(&self, found: &[String]) -> Result<Vec<String>, DbError> {
        let known: Vec<String> = {
            let sql = format!("SELECT COALESCE(namespace, name) FROM {} UNION SELECT namespace FROM {}", self.db.table("apps"), self.db.table("removed"));
            on_pool!(self.db, |pool| sqlx::query(&sql).fetch_all(pool).await?.iter().map(|r| r.get(0)).collect())
        };
        let insert = format!(
            "INSERT INTO {} (namespace, name, incarnation, current, limits, removed_at) VALUES ({}, {}, 0, 0, '{{}}', {}) ON CONFLICT (namespace) DO NOTHING",
            self.db.table("removed"),
            p(&self.db, 1),
            p(&self.db, 2),
            p(&self.db, 3)
        );
        let mut adopted = Vec::new();
        // Namespaces made since have a number and are always recorded; an old one is its name.
        for ns in found.iter().filter(|ns| !ns.contains('.') && super::valid_name(ns) && !known.contains(ns)) {
            on_pool!(self.db, |pool| sqlx::query(&insert).bind(ns).bind(ns).bind(now()).execute(pool).await?.rows_affected());
            adopted.push(ns.clone());
        }
        Ok(adopted)
    }

    /// Purges a kept namespace: its versions and secrets are deleted and it is marked purged
    /// (the caller drops its data). `Ok(false)` when no kept namespace has that id.
    pub async fn purge(&self, namespace: &str) -> Result<bool, DbError> {
        let sql = format!("UPDATE {} SET purged_at = {} WHERE namespace = {} AND purged_at IS NULL", self.db.table("removed"), p(&self.db, 1), p(&self.db, 2));
        let n = on_pool!(self.db, |pool| sqlx::query(&sql).bind(now()).bind(namespace).execute(pool).await?.rows_affected());
        if n > 0 {
            self.forget(namespace).await?;
        }
        Ok(n > 0)
    }

    /// The names of namespace `ns`'s secrets.
    pub async fn secret_names(&self, ns: &str) -> Result<Vec<String>, DbError> {
        let sql = format!("SELECT name FROM {} WHERE app = {} ORDER BY name", self.db.table("secrets"), p(&self.db, 1));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).fetch_all(pool).await?.iter().map(|r| r.get(0)).collect()))
    }

    /// Namespace `ns`'s secrets, opened.
    pub async fn secrets(&self, ns: &str) -> Result<HashMap<String, String>, Reseal> {
        let sql = format!("SELECT name, value FROM {} WHERE app = {}", self.db.table("secrets"), p(&self.db, 1));
        let rows: Vec<(String, String)> =
            on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).fetch_all(pool).await.map_err(|e| Reseal::Db(e.into()))?.iter().map(|r| (r.get(0), r.get(1))).collect());
        rows.into_iter().map(|(name, stored)| Ok((name.clone(), self.keys.open(&super::sealing::slot(ns, &name), &stored).map_err(Reseal::Sealed)?))).collect()
    }

    pub async fn set_secret(&self, ns: &str, name: &str, value: &str) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO {} (app, name, value) VALUES ({}, {}, {}) ON CONFLICT (app, name) DO UPDATE SET value = excluded.value",
            self.db.table("secrets"),
            p(&self.db, 1),
            p(&self.db, 2),
            p(&self.db, 3)
        );
        let sealed = self.keys.seal(&super::sealing::slot(ns, name), value);
        on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).bind(name).bind(sealed).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn unset_secret(&self, ns: &str, name: &str) -> Result<bool, DbError> {
        let sql = format!("DELETE FROM {} WHERE app = {} AND name = {}", self.db.table("secrets"), p(&self.db, 1), p(&self.db, 2));
        Ok(on_pool!(self.db, |pool| sqlx::query(&sql).bind(ns).bind(name).execute(pool).await?.rows_affected()) > 0)
    }
}

async fn has_column(db: &Database, table: &str, column: &str) -> Result<bool, DbError> {
    Ok(match &db.pool {
        Pool::Sqlite(p) => sqlx::query("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2").bind(table).bind(column).fetch_optional(p).await?.is_some(),
        Pool::Postgres(p) => sqlx::query("SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3")
            .bind(SCHEMA)
            .bind(table)
            .bind(column)
            .fetch_optional(p)
            .await?
            .is_some(),
    })
}

/// Why stored secrets could not be read or sealed again.
#[derive(Debug)]
pub enum Reseal {
    Db(DbError),
    Sealed(super::sealing::Unsealed),
}

impl std::fmt::Display for Reseal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reseal::Db(e) => e.fmt(f),
            Reseal::Sealed(e) => e.fmt(f),
        }
    }
}
