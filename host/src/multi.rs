//! A multi-tenant host (DESIGN.md §8): many apps from many tenants in one process, reached by
//! host name (`<app>.<base-domain>`), deployed, swapped, rolled back and removed through an
//! operator API without a restart. Each app has its own route space, secrets, database
//! namespace (a PostgreSQL schema, or a SQLite file), token blacklist, cron jobs and limits.
//!
//! `store` keeps versions and secrets durably, `registry` the apps loaded in this process,
//! `deploy` turns a module into a serving version (`db::migrate` evolves its tables), `sync`
//! follows changes other hosts make, `operator` is the API, `dispatch` routes requests.

pub mod backup;
pub mod deploy;
pub mod dispatch;
pub mod operator;
pub mod registry;
pub mod sealing;
pub mod store;
pub mod sync;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::{Database, DbError, Pool};
use crate::host_fns::hash::Hasher;
use crate::runtime::Runtime;

use self::registry::Registry;
use self::store::HostStore;

/// Where apps' databases live.
pub enum AppsDb {
    /// One schema per app (`app_<namespace>`) on a shared pool, each owned by a role of its
    /// own where the host may create roles (`db::roles`).
    Postgres { db: Database, roles: Option<crate::db::roles::Roles> },
    /// One SQLite file per app in this directory.
    SqliteDir(PathBuf),
}

impl AppsDb {
    /// The database of namespace `ns` (`store::Namespace`): the PostgreSQL schema
    /// `app_<name>` (`app_shop`, `app_shop.1` for the next app called `shop`), or the SQLite
    /// file `<ns>.db`. Names hold no `.` and no `_`, so no two namespaces share one.
    pub fn for_namespace(&self, ns: &str) -> Database {
        match self {
            AppsDb::Postgres { db, .. } => db.with_schema(&schema_of(ns)),
            AppsDb::SqliteDir(dir) => Database::sqlite_lazy(&dir.join(format!("{ns}.db"))),
        }
    }

    /// Drops a namespace's data: its schema, or its SQLite files.
    pub async fn drop_namespace(&self, ns: &str) -> Result<(), DbError> {
        match self {
            AppsDb::Postgres { db, roles } => {
                db.execute_ddl(&format!("DROP SCHEMA IF EXISTS {} CASCADE", crate::db::sql::quote(&schema_of(ns)))).await?;
                match roles {
                    Some(r) => r.drop(db, ns).await,
                    None => Ok(()),
                }
            }
            AppsDb::SqliteDir(dir) => {
                for suffix in ["db", "db-wal", "db-shm"] {
                    match std::fs::remove_file(dir.join(format!("{ns}.{suffix}"))) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(_) => return Err(DbError::Unavailable),
                    }
                }
                Ok(())
            }
        }
    }
}

impl AppsDb {
    /// The namespaces whose data exists: schemas `app_…` (an old one's name had its dashes
    /// made underscores), or SQLite files.
    pub async fn namespaces(&self) -> Result<Vec<String>, DbError> {
        match self {
            AppsDb::Postgres { db, .. } => {
                let Pool::Postgres(p) = &db.pool else { return Ok(vec![]) };
                let schemas: Vec<String> = sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, 'app_')").fetch_all(p).await?;
                Ok(schemas.iter().map(|s| s["app_".len()..].replace('_', "-")).collect())
            }
            AppsDb::SqliteDir(dir) => Ok(std::fs::read_dir(dir)
                .map_err(|_| DbError::Unavailable)?
                .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".db").map(str::to_string))
                .collect()),
        }
    }

    /// The role namespace `ns`'s statements run as, where tenants have roles.
    pub fn role_of(&self, ns: &str) -> Option<String> {
        match self {
            AppsDb::Postgres { roles: Some(r), .. } => Some(r.role_of(ns)),
            _ => None,
        }
    }

    /// Makes namespace `ns` ready for its app's statements: its schema, owned by its role.
    pub async fn prepare(&self, ns: &str) -> Result<(), DbError> {
        match self {
            AppsDb::Postgres { db, roles: Some(r) } => r.ensure(db, ns, &schema_of(ns)).await,
            _ => Ok(()),
        }
    }
}

/// The PostgreSQL schema of namespace `ns`.
pub fn schema_of(ns: &str) -> String {
    format!("app_{}", ns.replace('-', "_"))
}

/// Settings of a multi-tenant host.
pub struct HostConfig {
    pub base_domain: String,
    pub operator_token: String,
    /// Largest module a deploy accepts.
    pub max_module_bytes: usize,
    /// The limits an app gets at its first deploy (`FITZ_APP_LIMITS`); an operator changes
    /// them per app afterwards.
    pub default_limits: crate::limits::TenantLimits,
    /// `FITZ_SECRETS_KEY` and `FITZ_SECRETS_OLD_KEYS` where set (`sealing::Keyring::load`).
    pub secrets_env: HashMap<String, String>,
}

impl HostConfig {
    pub fn new(base_domain: impl Into<String>, operator_token: impl Into<String>) -> HostConfig {
        HostConfig {
            base_domain: base_domain.into(),
            operator_token: operator_token.into(),
            max_module_bytes: crate::limits::process::MODULE_BYTES,
            default_limits: Default::default(),
            secrets_env: HashMap::new(),
        }
    }
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
    /// Serialise the changes to one app (deploys, rollbacks, reloads) within this process; a
    /// slow change to one app never holds up another's.
    pub locks: AppLocks,
    /// Apps whose last load failed here, retried with a growing pause.
    pub failures: Failures,
    /// Cron runs going at once in the whole host.
    pub cron_runs: Arc<tokio::sync::Semaphore>,
    /// True until the stored apps have been loaded once after start: a request for an app not
    /// loaded yet is told to retry, not that the app does not exist.
    pub starting: AtomicBool,
}

/// One lock per app name.
#[derive(Default)]
pub struct AppLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl AppLocks {
    pub async fn lock(&self, app: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(app.to_string()).or_default().clone();
        lock.lock_owned().await
    }
}

/// A load that failed: when to try the same generation again, and why it failed.
#[derive(Clone, Debug)]
pub struct Failure {
    pub generation: i64,
    pub attempts: u32,
    pub retry_at: Instant,
    pub error: String,
}

/// The first pause after a failed load; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Failures(Mutex<HashMap<String, Failure>>);

impl Failures {
    /// Records a failed load of `generation`; a new generation starts the pauses again.
    pub fn failed(&self, app: &str, generation: i64, error: String) -> Failure {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let attempts = map.get(app).filter(|f| f.generation == generation).map_or(0, |f| f.attempts) + 1;
        let pause = FIRST_BACKOFF.saturating_mul(1 << (attempts - 1).min(16)).min(MAX_BACKOFF);
        let f = Failure { generation, attempts, retry_at: Instant::now() + pause, error };
        map.insert(app.to_string(), f.clone());
        f
    }

    pub fn succeeded(&self, app: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(app);
    }

    /// Whether a load of `generation` should wait for its pause to end.
    pub fn waiting(&self, app: &str, generation: i64) -> bool {
        self.get(app).is_some_and(|f| f.generation == generation && Instant::now() < f.retry_at)
    }

    pub fn get(&self, app: &str) -> Option<Failure> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(app).cloned()
    }
}

impl Host {
    /// Opens the host's state: PostgreSQL when `database` is one (shared with other hosts),
    /// else SQLite files under `data_dir`.
    /// The data directory (0700) holds the SQLite state and the secrets key file.
    pub async fn open(database: Option<Database>, data_dir: PathBuf, rt: Runtime, config: HostConfig) -> Result<Host, String> {
        crate::files::create_private_dir(&data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let keys = sealing::Keyring::load(&config.secrets_env, &data_dir)?;
        let (store_db, apps_db) = match database {
            Some(db) if matches!(db.pool, Pool::Postgres(_)) => {
                if !config.secrets_env.contains_key("FITZ_SECRETS_KEY") {
                    tracing::warn!(target: "fitz::host", "secrets are sealed with the key in {}; every host sharing this database needs the same key: set FITZ_SECRETS_KEY on each", data_dir.join(sealing::KEY_FILE).display());
                }
                let roles = crate::db::roles::Roles::detect(&db).await.map_err(|e| format!("cannot open the database: {e}"))?;
                if roles.is_none() {
                    tracing::warn!(target: "fitz::host", "the database user may not create roles: tenants' statements run as the host's own user, kept apart by the SQL the host builds alone (grant CREATEROLE to give each tenant a role of its own)");
                }
                (db.clone(), AppsDb::Postgres { db, roles })
            }
            _ => {
                let apps = data_dir.join("apps");
                crate::files::create_private_dir(&apps).map_err(|e| format!("cannot create {}: {e}", apps.display()))?;
                let db = Database::connect(&format!("sqlite:{}", data_dir.join("host.db").display())).await.map_err(|e| format!("cannot open the host's store: {e}"))?;
                (db, AppsDb::SqliteDir(apps))
            }
        };
        let store = HostStore::open(store_db, keys).await.map_err(|e| format!("cannot open the host's store: {e}"))?;
        let found = apps_db.namespaces().await.map_err(|e| format!("cannot list the apps' data: {e}"))?;
        for ns in store.adopt_orphans(&found).await.map_err(|e| format!("cannot open the host's store: {e}"))? {
            tracing::warn!(target: "fitz::host", namespace = %ns, "data of a removed app kept as removed (purge it with `fitz apps purge {ns}`)");
        }
        Ok(Host {
            rt,
            store,
            registry: Registry::default(),
            apps_db,
            config,
            // One core stays free of hashing whatever the tenants ask.
            hasher: Hasher::with_capacity(crate::limits::process::hashing_permits(true)),
            locks: AppLocks::default(),
            failures: Failures::default(),
            cron_runs: Arc::new(tokio::sync::Semaphore::new(crate::limits::process::CRON_RUNS)),
            starting: AtomicBool::new(true),
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
    !name.is_empty() && name.len() <= 40 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !name.starts_with('-') && !name.ends_with('-')
}
