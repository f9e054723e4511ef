//! Moving an app between hosts: `fitz apps export APP` writes one JSON document with the app's
//! versions (modules, and the current version's image), its limits, its secrets and its data
//! (every row of the current version's tables, and the token blacklist); `fitz apps import`
//! creates the app from it on another host (or under another name).
//!
//! The secrets and the image (which may hold secret values its top level read) are sealed
//! under an export key the CLI makes for each export and shows its operator once; the import
//! needs it. Rows travel as their stored values (integers, floats, booleans, text, null), so
//! what comes back is byte for byte what went out, on either database. The document is built
//! in memory: this is for apps of a size a request body can carry (`IMPORT_BYTES`).

use std::collections::HashMap;

use base64::Engine;
use guest_abi::manifest::{Manifest, Table};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sqlx::Row;

use super::Host;
use super::deploy::{DeployError, Deployed};
use super::sealing::{Keyring, image_slot, slot};
use crate::db::sql::{BindType, bind_type, quote};
use crate::db::{Database, DbError, Pool};
use crate::runtime::validate::validate_bytes;

/// The largest import a host reads.
pub const IMPORT_BYTES: usize = 512 << 20;
const FORMAT: u32 = 1;
/// What secrets are sealed for in an export (the app's name may change on import).
const EXPORT_SLOT: &str = "export";

#[derive(Serialize, Deserialize)]
pub struct Export {
    pub fitz_export: u32,
    pub app: String,
    pub limits: Json,
    pub current: i64,
    pub versions: Vec<ExportedVersion>,
    /// The current version's image, sealed.
    pub image: String,
    /// Each value sealed.
    pub secrets: HashMap<String, String>,
    pub tables: Vec<ExportedTable>,
    /// `(jti, expires_at)` of the token blacklist.
    pub blacklist: Vec<(String, i64)>,
}

#[derive(Serialize, Deserialize)]
pub struct ExportedVersion {
    pub version: i64,
    pub deployed_at: i64,
    pub wasm: String,
}

#[derive(Serialize, Deserialize)]
pub struct ExportedTable {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Json>>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, DeployError> {
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| DeployError::BadExport("a base64 field does not decode".into()))
}

/// A row's stored values, column by column, as JSON.
macro_rules! stored_row {
    ($row:expr, $table:expr, $get:ident) => {{
        let mut out = Vec::with_capacity($table.columns.len());
        for (i, c) in $table.columns.iter().enumerate() {
            let v = match bind_type(&c.ty) {
                BindType::Int => $row.$get::<Option<i64>, _>(i)?.map_or(Json::Null, Json::from),
                BindType::Float => $row.$get::<Option<f64>, _>(i)?.map_or(Json::Null, Json::from),
                BindType::Bool => $row.$get::<Option<bool>, _>(i)?.map_or(Json::Null, Json::from),
                BindType::Text => $row.$get::<Option<String>, _>(i)?.map_or(Json::Null, Json::from),
                BindType::Blob => $row.$get::<Option<Vec<u8>>, _>(i)?.map_or(Json::Null, |b| Json::from(b64(&b))),
            };
            out.push(v);
        }
        out
    }};
}

async fn read_table(db: &Database, table: &Table) -> Result<Vec<Vec<Json>>, DbError> {
    let cols: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY {}", cols.join(", "), db.table(&table.name), quote(&table.primary_key));
    let rows = match &db.pool {
        Pool::Sqlite(p) => {
            let mut out = Vec::new();
            for r in sqlx::query(&sql).fetch_all(p).await? {
                out.push(stored_row!(r, table, try_get_unchecked));
            }
            out
        }
        Pool::Postgres(p) => {
            let mut out = Vec::new();
            for r in sqlx::query(&sql).fetch_all(p).await? {
                out.push(stored_row!(r, table, try_get));
            }
            out
        }
    };
    Ok(rows)
}

async fn read_blacklist(db: &Database) -> Result<Vec<(String, i64)>, DbError> {
    let sql = format!("SELECT jti, expires_at FROM {}", db.table(crate::db::blacklist::TABLE));
    // No table: no token was ever revoked.
    Ok(match &db.pool {
        Pool::Sqlite(p) => sqlx::query(&sql).fetch_all(p).await.map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect()).unwrap_or_default(),
        Pool::Postgres(p) => sqlx::query(&sql).fetch_all(p).await.map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect()).unwrap_or_default(),
    })
}

/// Inserts exported rows, their keys included, as bound values of their storage types.
async fn write_table(db: &Database, table: &Table, exported: &ExportedTable) -> Result<(), DeployError> {
    let order: Vec<usize> = exported
        .columns
        .iter()
        .map(|name| table.columns.iter().position(|c| &c.name == name).ok_or_else(|| DeployError::BadExport(format!("column `{}.{name}` is not the app's", table.name))))
        .collect::<Result<_, _>>()?;
    let names: Vec<String> = order.iter().map(|i| quote(&table.columns[*i].name)).collect();
    let marks: Vec<String> = (1..=order.len()).map(|n| db.dialect().placeholder(n)).collect();
    let sql = format!("INSERT INTO {} ({}) VALUES ({})", db.table(&table.name), names.join(", "), marks.join(", "));
    for row in &exported.rows {
        if row.len() != order.len() {
            return Err(DeployError::BadExport(format!("a row of `{}` has {} values for {} columns", table.name, row.len(), order.len())));
        }
        macro_rules! insert {
            ($pool:expr) => {{
                let mut q = sqlx::query(&sql);
                for (i, v) in order.iter().zip(row) {
                    let bad = || DeployError::BadExport(format!("a value of `{}.{}` does not fit its column", table.name, table.columns[*i].name));
                    q = match (bind_type(&table.columns[*i].ty), v) {
                        (BindType::Int, Json::Null) => q.bind(None::<i64>),
                        (BindType::Float, Json::Null) => q.bind(None::<f64>),
                        (BindType::Bool, Json::Null) => q.bind(None::<bool>),
                        (BindType::Text, Json::Null) => q.bind(None::<String>),
                        (BindType::Blob, Json::Null) => q.bind(None::<Vec<u8>>),
                        (BindType::Blob, v) => q.bind(unb64(v.as_str().ok_or_else(bad)?)?),
                        (BindType::Int, v) => q.bind(v.as_i64().ok_or_else(bad)?),
                        (BindType::Float, v) => q.bind(v.as_f64().ok_or_else(bad)?),
                        (BindType::Bool, v) => q.bind(v.as_bool().ok_or_else(bad)?),
                        (BindType::Text, v) => q.bind(v.as_str().ok_or_else(bad)?.to_string()),
                    };
                }
                q.execute($pool).await.map_err(DbError::from)?;
            }};
        }
        match &db.pool {
            Pool::Sqlite(p) => insert!(p),
            Pool::Postgres(p) => insert!(p),
        }
    }
    // An identity goes on past the keys that were inserted.
    if let (Pool::Postgres(p), true) = (&db.pool, table.auto_id) {
        let qualified = format!("{}.{}", quote(db.schema().unwrap_or("public")), quote(&table.name));
        let sql = format!("SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT MAX({pk}) FROM {t}), 1))", pk = quote(&table.primary_key), t = db.table(&table.name));
        sqlx::query(&sql).bind(qualified).bind(&table.primary_key).execute(p).await.map_err(DbError::from)?;
    }
    Ok(())
}

impl Host {
    /// The export of `name`, its secrets and image sealed under `key`.
    pub async fn export(&self, name: &str, key: &str) -> Result<Export, DeployError> {
        let seal = Keyring::of(key).map_err(DeployError::BadExport)?;
        let _guard = self.locks.lock(name).await;
        let row = self.store.app(name).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let ns = &row.namespace;
        let mut versions = Vec::new();
        for (version, deployed_at) in self.store.versions(&ns.id).await? {
            let wasm = self.store.version_wasm(&ns.id, version).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
            versions.push(ExportedVersion { version, deployed_at, wasm: b64(&wasm) });
        }
        let image = self.store.version_image(&ns.id, row.current).await?.ok_or_else(|| DeployError::NotFound(format!("{name}'s image")))?;
        let secrets = self.store.secrets(&ns.id).await?.into_iter().map(|(k, v)| (k.clone(), seal.seal(&slot(EXPORT_SLOT, &k), &v))).collect();
        let manifest = validate_bytes(&image).map_err(DeployError::Invalid)?;
        let db = self.apps_db.for_namespace(&ns.id);
        let mut tables = Vec::new();
        for t in &manifest.tables {
            let rows = read_table(&db, t).await?;
            tables.push(ExportedTable { name: t.name.clone(), columns: t.columns.iter().map(|c| c.name.clone()).collect(), rows });
        }
        let blacklist = read_blacklist(&db).await?;
        Ok(Export {
            fitz_export: FORMAT,
            app: name.to_string(),
            limits: serde_json::from_str(&row.limits).unwrap_or(Json::Null),
            current: row.current,
            versions,
            image: b64(&seal.seal_bytes(&image_slot(EXPORT_SLOT, row.current), &image)),
            secrets,
            tables,
            blacklist,
        })
    }

    /// Creates app `name` from an export whose secrets and image are sealed under `key`: its
    /// secrets, versions, limits and data; the current version's image is the exported one.
    pub async fn import(&self, name: &str, export: Export, key: &str) -> Result<Deployed, DeployError> {
        if export.fitz_export != FORMAT {
            return Err(DeployError::BadExport(format!("format {} is not one this host reads ({FORMAT})", export.fitz_export)));
        }
        let open = Keyring::of(key).map_err(DeployError::BadExport)?;
        let wrong_key = |_| DeployError::BadExport("the export key does not open this export".into());
        let image = open.open_bytes(&image_slot(EXPORT_SLOT, export.current), unb64(&export.image)?).map_err(wrong_key)?;
        let mut secrets = Vec::new();
        for (k, v) in &export.secrets {
            secrets.push((k.clone(), open.open(&slot(EXPORT_SLOT, k), v).map_err(wrong_key)?));
        }
        let current = export.versions.iter().find(|v| v.version == export.current).ok_or_else(|| DeployError::BadExport("the current version is missing".into()))?;
        let wasm = unb64(&current.wasm)?;
        let manifest: Manifest = validate_bytes(&wasm).map_err(DeployError::Invalid)?;
        if validate_bytes(&image).map_err(DeployError::Invalid)? != manifest {
            return Err(DeployError::BadExport("the image is not the current version's".into()));
        }
        if self.store.app(name).await?.is_some() {
            return Err(DeployError::Exists(name.to_string()));
        }
        let ns = self.store.namespace_for(name).await?;
        for (k, v) in &secrets {
            self.store.set_secret(&ns.id, k, v).await?;
        }
        let limits = serde_json::to_string(&export.limits).unwrap_or_else(|_| "{}".into());
        // The other versions first, their numbers kept (rollback works as it did); then the
        // current one, deployed as usual (its tables made) from the exported image.
        for v in export.versions.iter().filter(|v| v.version != export.current) {
            self.store.import_version(&ns, v.version, &unb64(&v.wasm)?, v.deployed_at).await?;
        }
        let deployed = self.deploy_with(name, &wasm, Some((image, export.current)), Some(&limits)).await?;
        // The app's own handle: the blacklist's table is made as its role, where it has one.
        let tenant = self.registry.get(name).ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let db = tenant.served.app.load().ctx.db.clone().ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        for t in &manifest.tables {
            if let Some(rows) = export.tables.iter().find(|x| x.name == t.name) {
                write_table(&db, t, rows).await?;
            }
        }
        for (jti, expires_at) in &export.blacklist {
            db.blacklist(jti, *expires_at).await?;
        }
        tracing::info!(target: "fitz::host", app = %name, namespace = %ns.id, version = export.current, "imported");
        Ok(deployed)
    }
}
