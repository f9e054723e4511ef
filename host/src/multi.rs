//! A multi-tenant host (DESIGN.md §8): many apps from many tenants in one process, reached by
//! host name (`<app>.<base-domain>`), deployed, swapped, rolled back and removed through an
//! operator API without a restart. Each app has its own route space, secrets, database
//! namespace (a PostgreSQL schema, or a SQLite file), token blacklist, cron jobs and limits.
//!
//! `store` keeps versions and secrets durably, `registry` the apps loaded in this process,
//! `deploy` turns a module into a serving version, `migrate` evolves tables safely, `sync`
//! follows changes other hosts make, `operator` is the API, `dispatch` routes requests.

pub mod deploy;
pub mod dispatch;
pub mod migrate;
pub mod operator;
pub mod registry;
pub mod store;
pub mod sync;

use std::path::PathBuf;

use crate::db::{Database, DbError, Pool};
use crate::host_fns::hash::Hasher;
use crate::runtime::Runtime;

use self::registry::Registry;
use self::store::HostStore;

/// Where apps' databases live.
pub enum AppsDb {
    /// One schema per app (`app_<name>`) on a shared pool.
    Postgres(Database),
    /// One SQLite file per app in this directory.
    SqliteDir(PathBuf),
}

impl AppsDb {
    pub async fn for_app(&self, name: &str) -> Result<Database, DbError> {
        match self {
            AppsDb::Postgres(db) => Ok(db.with_schema(&format!("app_{}", name.replace('-', "_")))),
            AppsDb::SqliteDir(dir) => Ok(Database::sqlite_lazy(&dir.join(format!("{name}.db")))),
        }
    }
}

/// Settings of a multi-tenant host.
pub struct HostConfig {
    pub base_domain: String,
    pub operator_token: String,
    /// Largest module a deploy accepts.
    pub max_module_bytes: usize,
}

/// Everything a multi-tenant host process holds.
pub struct Host {
    pub rt: Runtime,
    pub store: HostStore,
    pub registry: Registry,
    pub apps_db: AppsDb,
    pub config: HostConfig,
    /// Shared by every app: hashing is bounded by the cores, whichever app asks.
    pub hasher: Hasher,
    /// Serialises deploys, rollbacks and reloads within this process.
    pub changes: tokio::sync::Mutex<()>,
}

impl Host {
    /// Opens the host's state: PostgreSQL when `database` is one (shared with other hosts),
    /// else SQLite files under `data_dir`.
    pub async fn open(database: Option<Database>, data_dir: PathBuf, rt: Runtime, config: HostConfig) -> Result<Host, DbError> {
        let (store_db, apps_db) = match database {
            Some(db) if matches!(db.pool, Pool::Postgres(_)) => (db.clone(), AppsDb::Postgres(db)),
            _ => {
                let apps = data_dir.join("apps");
                std::fs::create_dir_all(&apps).map_err(|_| DbError::Unavailable)?;
                let db = Database::connect(&format!("sqlite:{}", data_dir.join("host.db").display())).await?;
                (db, AppsDb::SqliteDir(apps))
            }
        };
        let store = HostStore::open(store_db).await?;
        Ok(Host {
            rt,
            store,
            registry: Registry::default(),
            apps_db,
            config,
            // One core stays free of hashing whatever the tenants ask.
            hasher: Hasher::with_capacity(cores().saturating_sub(1)),
            changes: tokio::sync::Mutex::new(()),
        })
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The CPU one tenant may use: all but one core (at least one).
pub fn tenant_cores() -> f64 {
    (cores().saturating_sub(1)).max(1) as f64
}

/// App names: lower-case letters, digits and dashes, as a DNS label allows.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}
