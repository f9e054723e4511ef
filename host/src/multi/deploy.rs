//! From a module to a serving version, off the request path: size limit, validation (wasmparser,
//! the import table, ABI version, manifest), secrets, the image (the top level run once, on the
//! build thread, and stored with the version), compilation by this host, table migration — and
//! only then the atomic swap of the app's version pointer. Requests in flight finish on the
//! version they started with. Changes to one app are serialised by its own lock; a restarted
//! host, or another host following the store, loads the stored image without running the top
//! level again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use super::registry::{Tenant, TenantLimits};
use super::store::{AppRow, Namespace};
use super::{Host, valid_name};
use crate::cron::CronLimits;
use crate::db::migrate::{MigrateError, migrate};
use crate::db::{Database, DbError, unix_seconds as now};
use crate::http::Served;
use crate::runtime::app::{AppVersion, TopLevelOutput, build_image, context_for, from_image, table_defaults};
use crate::runtime::cpu::CpuShare;
use crate::runtime::state::AppContext;
use crate::runtime::validate::{LoadError, validate_bytes};

#[derive(Debug)]
pub enum DeployError {
    BadName(String),
    TooLarge {
        limit: usize,
    },
    Invalid(LoadError),
    Migration(String),
    NotFound(String),
    NoPrevious(String),
    Exists(String),
    NothingToRestore(String),
    /// An export that cannot be imported: why.
    BadExport(String),
    /// The app's stored secrets do not open with this host's keys.
    Secrets(String),
    Store(DbError),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::BadName(n) => write!(f, "`{n}` is not a valid app name (lower-case letters, digits and dashes, at most 40)"),
            DeployError::TooLarge { limit } => write!(f, "the module is larger than the limit of {limit} bytes"),
            DeployError::Invalid(e) => e.fmt(f),
            DeployError::Migration(m) => write!(f, "the tables cannot be migrated: {m}"),
            DeployError::NotFound(n) => write!(f, "no app named `{n}`"),
            DeployError::NoPrevious(n) => write!(f, "`{n}` has no earlier version to roll back to"),
            DeployError::Exists(n) => write!(f, "an app named `{n}` exists; remove it first"),
            DeployError::NothingToRestore(n) => write!(f, "no removed app named `{n}` is kept (see GET /_fitz/removed)"),
            DeployError::Store(e) => write!(f, "the host's store failed: {e}"),
            DeployError::Secrets(e) => f.write_str(e),
            DeployError::BadExport(e) => write!(f, "the export cannot be imported: {e}"),
        }
    }
}

impl DeployError {
    pub fn status(&self) -> u16 {
        match self {
            DeployError::BadName(_) | DeployError::Invalid(_) | DeployError::BadExport(_) => 400,
            DeployError::TooLarge { .. } => 413,
            DeployError::Migration(_) | DeployError::NoPrevious(_) | DeployError::Exists(_) => 409,
            DeployError::NotFound(_) | DeployError::NothingToRestore(_) => 404,
            DeployError::Store(_) | DeployError::Secrets(_) => 503,
        }
    }
}

impl From<super::store::Reseal> for DeployError {
    fn from(e: super::store::Reseal) -> Self {
        match e {
            super::store::Reseal::Db(e) => DeployError::Store(e),
            super::store::Reseal::Sealed(e) => DeployError::Secrets(e.to_string()),
        }
    }
}

impl From<DbError> for DeployError {
    fn from(e: DbError) -> Self {
        DeployError::Store(e)
    }
}

/// What a deploy or rollback answers.
#[derive(Debug, Serialize)]
pub struct Deployed {
    pub app: String,
    pub version: i64,
    pub routes: Vec<String>,
}

/// Which stored version is served, at which generation of the app's row.
struct Stored {
    version: i64,
    generation: i64,
}

impl Host {
    fn check_name(name: &str) -> Result<(), DeployError> {
        if valid_name(name) { Ok(()) } else { Err(DeployError::BadName(name.to_string())) }
    }

    /// The database of `name` in namespace `ns`: the one loaded here when it is that
    /// namespace's (its connections are kept), else a fresh handle.
    fn app_db(&self, name: &str, ns: &Namespace) -> Database {
        match self.registry.get(name) {
            Some(t) if t.namespace == ns.id => t.db.clone(),
            _ => self.apps_db.for_namespace(&ns.id),
        }
    }

    /// What a version of `name` from `wasm` runs with: its own manifest, the app's stored
    /// settings (never the host's environment), its limits, and its database within the
    /// app's budget.
    async fn context(&self, name: &str, ns: &Namespace, wasm: &[u8], db: &Database, limits: &TenantLimits) -> Result<Arc<AppContext>, DeployError> {
        let manifest = validate_bytes(wasm).map_err(DeployError::Invalid)?;
        self.apps_db.prepare(&ns.id).await?;
        let stored = self.store.secrets(&ns.id).await?;
        let secrets: HashMap<String, String> = manifest.secrets.iter().filter_map(|s| stored.get(s).map(|v| (s.clone(), v.clone()))).collect();
        let run = limits.limits();
        let db = db.with_budget(limits.db_connections as usize, run.statement_timeout, self.apps_db.role_of(&ns.id).as_deref());
        let ctx = AppContext { name: name.to_string(), secrets, env: stored, hasher: self.hasher.for_tenant(), db: Some(db), ..AppContext::bare(manifest) };
        context_for(wasm, ctx, run).map_err(DeployError::Invalid)
    }

    /// Runs the top level of `wasm` once (on the build thread) and returns the image.
    async fn build(&self, wasm: &[u8], ctx: Arc<AppContext>) -> Result<Vec<u8>, DeployError> {
        build_image(&self.rt, wasm.to_vec(), ctx, TopLevelOutput::Log).await.map_err(DeployError::Invalid)
    }

    async fn load(&self, image: Vec<u8>, ctx: Arc<AppContext>) -> Result<AppVersion, DeployError> {
        from_image(&self.rt, image, ctx).await.map_err(DeployError::Invalid)
    }

    /// Brings the app's tables in line with `app`'s (refusing what would lose data) and, in
    /// the same transaction where the store shares the database, runs `switch` (the store's
    /// change that makes `app` current). The defaults a new required column needs are
    /// computed by `app` on the build thread, within one top-level deadline.
    async fn migrate<T>(
        &self,
        name: &str,
        app: AppVersion,
        switch: impl AsyncFnOnce(Option<&mut sqlx::PgConnection>) -> Result<T, DbError>,
    ) -> Result<(AppVersion, T), DeployError> {
        // The version's own handle: its namespace, and its role where it has one.
        let db = app.ctx.db.clone().ok_or_else(|| DeployError::Migration("the app has no database".into()))?;
        let db = &db;
        let (app, defaults) = table_defaults(&self.rt, app).await.map_err(DeployError::Invalid)?;
        crate::faults::point("validated");
        let default_of = |t: &guest_abi::manifest::Table, c: &guest_abi::manifest::Column| defaults.get(&(t.name.clone(), c.name.clone())).cloned();
        let (_, switched) = migrate(db, name, &app.manifest.tables, &app.manifest.records, &default_of, switch).await.map_err(|e| match e {
            MigrateError::Destructive(m) => DeployError::Migration(m),
            MigrateError::Db(e) => DeployError::Store(e),
        })?;
        Ok((app, switched))
    }

    /// Makes `app` the serving version of `name` in namespace `ns` (creating the tenant if
    /// new, or if the one loaded here is another namespace's: an app removed and created again).
    fn activate(&self, name: &str, ns: &Namespace, db: Database, mut app: AppVersion, at: Stored, limits: TenantLimits) -> Arc<Tenant> {
        let Stored { version, generation } = at;
        self.failures.succeeded(name);
        app.version = version as u64;
        let loaded = self.registry.get(name);
        if let Some(old) = loaded.as_ref().filter(|t| t.namespace != ns.id) {
            old.stop_crons();
        }
        let loaded = loaded.filter(|t| t.namespace == ns.id);
        let cpu = loaded.as_ref().map_or_else(|| Arc::new(CpuShare::new(super::tenant_cores())), |t| t.cpu.clone());
        app.cpu = Some(cpu.clone());
        // One count of tasks per tenant, across its versions.
        if let Some(t) = &loaded {
            app.tasks = t.served.app.load().tasks.clone();
            app.tasks.set_max(limits.tasks as usize);
        }
        let cron_runs = limits.cron_runs as usize;
        let tenant = match loaded {
            Some(t) => {
                t.served.app.store(Arc::new(app));
                if let (Some(p), Ok(mut old)) = (&t.served.permits, t.limits.lock()) {
                    let (before, after) = (old.concurrency as usize, limits.concurrency as usize);
                    if after > before {
                        p.add_permits(after - before);
                    } else {
                        p.forget_permits(before - after);
                    }
                    *old = limits;
                }
                t
            }
            None => {
                let permits = Arc::new(tokio::sync::Semaphore::new(limits.concurrency as usize));
                let served = Arc::new(Served { app: ArcSwap::from_pointee(app), permits: Some(permits), ws: Arc::default() });
                let t = Arc::new(Tenant {
                    name: name.to_string(),
                    namespace: ns.id.clone(),
                    served,
                    db,
                    cpu,
                    generation: AtomicI64::new(generation),
                    limits: Mutex::new(limits),
                    deployed_at: AtomicI64::new(now()),
                    scheduler: Mutex::new(None),
                });
                self.registry.insert(t.clone());
                t
            }
        };
        tenant.generation.store(generation, Ordering::Release);
        tenant.deployed_at.store(now(), Ordering::Release);
        tenant.restart_crons(CronLimits::new(cron_runs, self.cron_runs.clone()));
        tenant
    }

    fn answer(name: &str, version: i64, app: &AppVersion) -> Deployed {
        Deployed { app: name.to_string(), version, routes: app.manifest.routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect() }
    }

    /// The app's stored limits, or the host's defaults for a new app.
    fn limits_of(&self, row: Option<&AppRow>) -> TenantLimits {
        row.and_then(|r| serde_json::from_str(&r.limits).ok()).unwrap_or_else(|| self.config.default_limits.clone())
    }

    /// Deploys a new version of `name` (creating the app if new) and serves it. Only changes
    /// to the same app wait for it, whatever its top level does.
    pub async fn deploy(&self, name: &str, wasm: &[u8]) -> Result<Deployed, DeployError> {
        Self::check_name(name)?;
        if wasm.len() > self.config.max_module_bytes {
            return Err(DeployError::TooLarge { limit: self.config.max_module_bytes });
        }
        validate_bytes(wasm).map_err(DeployError::Invalid)?;
        self.deploy_with(name, wasm, None, None).await
    }

    /// Deploys `wasm` as `name`'s next version, or with an exported `image` as version number
    /// `version` and `limits` (an import).
    pub(super) async fn deploy_with(&self, name: &str, wasm: &[u8], imported: Option<(Vec<u8>, i64)>, limits: Option<&str>) -> Result<Deployed, DeployError> {
        let _guard = self.locks.lock(name).await;
        let row = self.store.app(name).await?;
        let limits = match limits {
            Some(json) => serde_json::from_str(json).map_err(|e| DeployError::BadExport(format!("limits: {e}")))?,
            None => self.limits_of(row.as_ref()),
        };
        let ns = self.store.namespace_for(name).await?;
        let db = self.app_db(name, &ns);
        let ctx = self.context(name, &ns, wasm, &db, &limits).await?;
        let (image, number) = match imported {
            Some((image, number)) => (image, Some(number)),
            None => (self.build(wasm, ctx.clone()).await?, None),
        };
        let app = self.load(image.clone(), ctx).await?;
        let limits_json = serde_json::to_string(&limits).unwrap_or_else(|_| "{}".into());
        let store = &self.store;
        let (app, version) = self.migrate(name, app, async |conn| store.add_version(conn, name, &ns, number, wasm, &image, &limits_json).await).await?;
        let generation = self.store.app(name).await?.map_or(1, |r| r.generation);
        let answer = Self::answer(name, version, &app);
        self.activate(name, &ns, db, app, Stored { version, generation }, limits);
        tracing::info!(target: "fitz::host", app = %name, version, "deployed");
        Ok(answer)
    }

    /// The stored image of `version`, or one built now (and stored, unless another host
    /// stored one first: every host serves the same image of a version).
    async fn image_of(&self, ns: &Namespace, version: i64, wasm: &[u8], ctx: &Arc<AppContext>) -> Result<Vec<u8>, DeployError> {
        if let Some(image) = self.store.version_image(&ns.id, version).await.map_err(DeployError::from)? {
            return Ok(image);
        }
        let built = self.build(wasm, ctx.clone()).await?;
        self.store.keep_image(&ns.id, version, &built).await.map_err(DeployError::from)
    }

    /// Serves the version before the current one again.
    pub async fn rollback(&self, name: &str) -> Result<Deployed, DeployError> {
        let _guard = self.locks.lock(name).await;
        let row = self.store.app(name).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let ns = row.namespace.clone();
        let previous = self.store.versions(&ns.id).await?.into_iter().map(|(v, _)| v).filter(|v| *v < row.current).max();
        let previous = previous.ok_or_else(|| DeployError::NoPrevious(name.to_string()))?;
        let wasm = self.store.version_wasm(&ns.id, previous).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let limits = self.limits_of(Some(&row));
        let db = self.app_db(name, &ns);
        let ctx = self.context(name, &ns, &wasm, &db, &limits).await?;
        let image = self.image_of(&ns, previous, &wasm, &ctx).await?;
        let app = self.load(image, ctx).await?;
        let store = &self.store;
        let (app, ()) = self.migrate(name, app, async |conn| store.set_current(conn, name, previous).await).await?;
        let generation = self.store.app(name).await?.map_or(row.generation + 1, |r| r.generation);
        let answer = Self::answer(name, previous, &app);
        self.activate(name, &ns, db, app, Stored { version: previous, generation }, limits);
        tracing::info!(target: "fitz::host", app = %name, version = previous, "rolled back");
        Ok(answer)
    }

    /// Stops serving `name`. Its namespace (data, versions, secrets) is kept and restorable
    /// (`restore`), or with `purge` deleted with its data; either way the next app of that
    /// name gets a namespace of its own. Returns the namespace the app had.
    pub async fn remove(&self, name: &str, purge: bool) -> Result<Namespace, DeployError> {
        let _guard = self.locks.lock(name).await;
        let removed = self.store.remove(name, purge).await?;
        let local = self.registry.remove(name);
        if let Some(t) = &local {
            t.stop_crons();
        }
        self.failures.succeeded(name);
        let Some(ns) = removed else { return Err(DeployError::NotFound(name.to_string())) };
        if purge {
            // A SQLite app has a pool of its own, closed before its files go; a PostgreSQL
            // app's handle shares the host's connections, which stay open.
            if let (Some(t), super::AppsDb::SqliteDir(_)) = (&local, &self.apps_db) {
                t.db.close().await;
            }
            self.apps_db.drop_namespace(&ns.id).await?;
        }
        tracing::info!(target: "fitz::host", app = %name, namespace = %ns.id, purged = purge, "removed");
        Ok(ns)
    }

    /// Serves a removed app again, with its data, versions and secrets: the newest kept
    /// namespace of that name, or the one named.
    pub async fn restore(&self, name: &str, namespace: Option<&str>) -> Result<Deployed, DeployError> {
        Self::check_name(name)?;
        let _guard = self.locks.lock(name).await;
        if self.store.app(name).await?.is_some() {
            return Err(DeployError::Exists(name.to_string()));
        }
        let row = self.store.restore(name, namespace).await?.ok_or_else(|| DeployError::NothingToRestore(name.to_string()))?;
        self.reload(&row).await?;
        let app = self.registry.get(name).ok_or_else(|| DeployError::NotFound(name.to_string()))?.served.app.load_full();
        tracing::info!(target: "fitz::host", app = %name, namespace = %row.namespace.id, "restored");
        Ok(Self::answer(name, row.current, &app))
    }

    /// Purges a kept namespace of a removed app: its data, versions and secrets are deleted.
    pub async fn purge(&self, namespace: &str) -> Result<(), DeployError> {
        if !self.store.purge(namespace).await? {
            return Err(DeployError::NotFound(namespace.to_string()));
        }
        self.apps_db.drop_namespace(namespace).await?;
        tracing::info!(target: "fitz::host", namespace = %namespace, "purged");
        Ok(())
    }

    /// Loads the stored current version of an app (after a restart, a change through another
    /// host, or a change of limits here) from its stored image: the top level does not run
    /// again. A failure is noted and retried after a growing pause (`Failures`).
    pub async fn reload(&self, row: &AppRow) -> Result<(), DeployError> {
        let loaded = async {
            let ns = &row.namespace;
            let wasm = self.store.version_wasm(&ns.id, row.current).await?.ok_or_else(|| DeployError::NotFound(row.name.clone()))?;
            let limits = self.limits_of(Some(row));
            let db = self.app_db(&row.name, ns);
            let ctx = self.context(&row.name, ns, &wasm, &db, &limits).await?;
            let image = self.image_of(ns, row.current, &wasm, &ctx).await?;
            let app = self.load(image, ctx).await?;
            Ok::<_, DeployError>((db, app, limits))
        };
        match loaded.await {
            Ok((db, app, limits)) => {
                self.activate(&row.name, &row.namespace, db, app, Stored { version: row.current, generation: row.generation }, limits);
                Ok(())
            }
            Err(e) => {
                let f = self.failures.failed(&row.name, row.generation, e.to_string());
                tracing::error!(target: "fitz::host", app = %row.name, version = row.current, attempts = f.attempts, "cannot load: {e}");
                Err(e)
            }
        }
    }

    /// Reloads `name` from the store now (this host), after a change of its limits.
    pub async fn reload_now(&self, name: &str) -> Result<(), DeployError> {
        let _guard = self.locks.lock(name).await;
        self.store.touch(name).await?;
        let row = self.store.app(name).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        self.reload(&row).await
    }

    /// After a change of secrets: the current version's top level runs again here with the
    /// new values, its image replaces the stored one (other versions' images, built with the
    /// old values, are cleared), and every host loads that image.
    pub async fn rebuild(&self, name: &str) -> Result<(), DeployError> {
        let _guard = self.locks.lock(name).await;
        let row = self.store.app(name).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let ns = row.namespace.clone();
        let wasm = self.store.version_wasm(&ns.id, row.current).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let limits = self.limits_of(Some(&row));
        let db = self.app_db(name, &ns);
        let built = async {
            let ctx = self.context(name, &ns, &wasm, &db, &limits).await?;
            let image = self.build(&wasm, ctx.clone()).await?;
            let app = self.load(image.clone(), ctx).await?;
            Ok::<_, DeployError>((image, app))
        };
        let (image, app) = match built.await {
            Ok(b) => b,
            Err(e) => {
                self.failures.failed(name, row.generation, e.to_string());
                return Err(e);
            }
        };
        self.store.replace_images(&ns.id, row.current, &image).await?;
        self.store.touch(name).await?;
        let generation = self.store.app(name).await?.map_or(row.generation + 1, |r| r.generation);
        self.activate(name, &ns, db, app, Stored { version: row.current, generation }, limits);
        Ok(())
    }
}
