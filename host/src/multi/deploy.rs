//! From a module to a serving version, off the request path: size limit, validation (wasmparser,
//! the import table, ABI version, manifest), secrets, compilation by this host, table
//! migration, the top-level snapshot — and only then the atomic swap of the app's version
//! pointer. Requests in flight finish on the version they started with.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use super::migrate::{apply, plan, MigrateError};
use super::registry::{Tenant, TenantLimits};
use super::store::AppRow;
use super::{valid_name, Host};
use crate::db::{unix_seconds as now, Database, DbError};
use crate::http::Served;
use crate::runtime::app::{load_with, AppVersion, TopLevelOutput};
use crate::runtime::cpu::CpuShare;
use crate::runtime::invoke::field_default;
use crate::runtime::state::AppContext;
use crate::runtime::validate::{validate_bytes, LoadError};

#[derive(Debug)]
pub enum DeployError {
    BadName(String),
    TooLarge { limit: usize },
    Invalid(LoadError),
    Migration(String),
    NotFound(String),
    NoPrevious(String),
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
            DeployError::Store(e) => write!(f, "the host's store failed: {e}"),
        }
    }
}

impl DeployError {
    pub fn status(&self) -> u16 {
        match self {
            DeployError::BadName(_) | DeployError::Invalid(_) => 400,
            DeployError::TooLarge { .. } => 413,
            DeployError::Migration(_) | DeployError::NoPrevious(_) => 409,
            DeployError::NotFound(_) => 404,
            DeployError::Store(_) => 503,
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

impl Host {
    fn check_name(name: &str) -> Result<(), DeployError> {
        if valid_name(name) { Ok(()) } else { Err(DeployError::BadName(name.to_string())) }
    }

    async fn app_db(&self, name: &str) -> Result<Database, DeployError> {
        match self.registry.get(name) {
            Some(t) => Ok(t.db.clone()),
            None => Ok(self.apps_db.for_app(name).await?),
        }
    }

    /// A loaded version of `name` from `wasm`, with the app's stored secrets; tables migrated
    /// first when `migrate`.
    async fn prepare(&self, name: &str, wasm: &[u8], db: &Database, limits: &TenantLimits, migrate: bool) -> Result<AppVersion, DeployError> {
        let manifest = validate_bytes(wasm).map_err(DeployError::Invalid)?;
        let stored = self.store.secrets(name).await?;
        let missing: Vec<String> = manifest.secrets.iter().filter(|s| !stored.contains_key(*s)).cloned().collect();
        if !missing.is_empty() {
            return Err(DeployError::Invalid(LoadError::MissingSecrets(missing)));
        }
        let secrets: HashMap<String, String> = manifest.secrets.iter().filter_map(|s| stored.get(s).map(|v| (s.clone(), v.clone()))).collect();
        // A tenant sees its own settings only, never the host's environment.
        let ctx = AppContext { name: name.to_string(), secrets, env: stored, hasher: self.hasher.for_tenant(), db: Some(db.clone()), ..AppContext::bare(manifest) };
        let app = load_with(&self.rt, wasm, ctx, limits.limits(), TopLevelOutput::Log, false).await.map_err(DeployError::Invalid)?;
        if migrate {
            // Defaults of required fields a migration may add, computed by the new version.
            let mut defaults = HashMap::new();
            for t in &app.manifest.tables {
                if let Some(r) = app.manifest.records.get(t.record as usize) {
                    for (i, f) in r.fields.iter().enumerate().filter(|(_, f)| f.has_default) {
                        if let Ok(Some(v)) = field_default(&app, t.record, i).await {
                            defaults.insert((t.name.clone(), f.name.clone()), v);
                        }
                    }
                }
            }
            let steps = plan(db, &app.manifest.tables, &|t, c| defaults.get(&(t.name.clone(), c.name.clone())).cloned())
                .await
                .map_err(|e| match e {
                    MigrateError::Destructive(m) => DeployError::Migration(m),
                    MigrateError::Db(e) => DeployError::Store(e),
                })?;
            apply(db, &steps).await.map_err(|e| match e {
                MigrateError::Destructive(m) => DeployError::Migration(m),
                MigrateError::Db(e) => DeployError::Store(e),
            })?;
        }
        Ok(app)
    }

    /// Makes `app` the serving version of `name` (creating the tenant if new).
    fn activate(&self, name: &str, db: Database, mut app: AppVersion, version: i64, generation: i64, limits: TenantLimits) -> Arc<Tenant> {
        app.version = version as u64;
        let cpu = self.registry.get(name).map_or_else(
            || Arc::new(CpuShare::new(super::tenant_cores(), crate::runtime::EPOCH_TICK)),
            |t| t.cpu.clone(),
        );
        app.cpu = Some(cpu.clone());
        let tenant = match self.registry.get(name) {
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
                let served = Arc::new(Served { app: ArcSwap::from_pointee(app), permits: Some(permits) });
                let t = Arc::new(Tenant {
                    name: name.to_string(),
                    served,
                    db,
                    cpu,
                    generation: AtomicI64::new(generation),
                    limits: Mutex::new(limits),
                    deployed_at: AtomicI64::new(now()),
                    scheduler: Mutex::new(None),
                    errors: Mutex::new(Vec::new()),
                });
                self.registry.insert(t.clone());
                t
            }
        };
        tenant.generation.store(generation, Ordering::Release);
        tenant.deployed_at.store(now(), Ordering::Release);
        tenant.restart_crons();
        tenant
    }

    fn answer(name: &str, version: i64, app: &AppVersion) -> Deployed {
        Deployed { app: name.to_string(), version, routes: app.manifest.routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect() }
    }

    fn limits_of(row: Option<&AppRow>) -> TenantLimits {
        row.and_then(|r| serde_json::from_str(&r.limits).ok()).unwrap_or_default()
    }

    /// Deploys a new version of `name` (creating the app if new) and serves it.
    pub async fn deploy(&self, name: &str, wasm: &[u8]) -> Result<Deployed, DeployError> {
        Self::check_name(name)?;
        if wasm.len() > self.config.max_module_bytes {
            return Err(DeployError::TooLarge { limit: self.config.max_module_bytes });
        }
        validate_bytes(wasm).map_err(DeployError::Invalid)?;
        let _guard = self.changes.lock().await;
        let row = self.store.app(name).await?;
        let limits = Self::limits_of(row.as_ref());
        let db = self.app_db(name).await?;
        let app = self.prepare(name, wasm, &db, &limits, true).await?;
        let limits_json = serde_json::to_string(&limits).unwrap_or_else(|_| "{}".into());
        let version = self.store.add_version(name, wasm, &limits_json).await?;
        let generation = self.store.app(name).await?.map_or(1, |r| r.generation);
        let answer = Self::answer(name, version, &app);
        self.activate(name, db, app, version, generation, limits);
        tracing::info!(target: "fitz::host", app = %name, version, "deployed");
        Ok(answer)
    }

    /// Serves the version before the current one again.
    pub async fn rollback(&self, name: &str) -> Result<Deployed, DeployError> {
        let _guard = self.changes.lock().await;
        let row = self.store.app(name).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let previous = self.store.versions(name).await?.into_iter().map(|(v, _)| v).filter(|v| *v < row.current).max();
        let previous = previous.ok_or_else(|| DeployError::NoPrevious(name.to_string()))?;
        let wasm = self.store.version_wasm(name, previous).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        let limits = Self::limits_of(Some(&row));
        let db = self.app_db(name).await?;
        let app = self.prepare(name, &wasm, &db, &limits, true).await?;
        self.store.set_current(name, previous).await?;
        let generation = self.store.app(name).await?.map_or(row.generation + 1, |r| r.generation);
        let answer = Self::answer(name, previous, &app);
        self.activate(name, db, app, previous, generation, limits);
        tracing::info!(target: "fitz::host", app = %name, version = previous, "rolled back");
        Ok(answer)
    }

    /// Stops serving `name` and forgets its versions and secrets (its data stays).
    pub async fn remove(&self, name: &str) -> Result<(), DeployError> {
        let _guard = self.changes.lock().await;
        let existed = self.store.remove(name).await?;
        let local = self.registry.remove(name);
        if let Some(t) = &local {
            t.stop_crons();
        }
        if !existed && local.is_none() {
            return Err(DeployError::NotFound(name.to_string()));
        }
        tracing::info!(target: "fitz::host", app = %name, "removed");
        Ok(())
    }

    /// Loads the stored current version of an app (after a restart, a change through another
    /// host, or a secret or limit change here).
    pub async fn reload(&self, row: &AppRow) -> Result<(), DeployError> {
        let wasm = self.store.version_wasm(&row.name, row.current).await?.ok_or_else(|| DeployError::NotFound(row.name.clone()))?;
        let limits = Self::limits_of(Some(row));
        let db = self.app_db(&row.name).await?;
        match self.prepare(&row.name, &wasm, &db, &limits, false).await {
            Ok(app) => {
                self.activate(&row.name, db, app, row.current, row.generation, limits);
                Ok(())
            }
            Err(e) => {
                if let Some(t) = self.registry.get(&row.name) {
                    t.note_error(e.to_string());
                    // Do not retry this generation in a loop; a new change will.
                    t.generation.store(row.generation, Ordering::Release);
                }
                Err(e)
            }
        }
    }

    /// Reloads `name` from the store now (this host), after a change of its settings.
    pub async fn reload_now(&self, name: &str) -> Result<(), DeployError> {
        let _guard = self.changes.lock().await;
        let row = self.store.app(name).await?.ok_or_else(|| DeployError::NotFound(name.to_string()))?;
        self.reload(&row).await
    }
}
