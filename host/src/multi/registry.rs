//! The apps loaded in this process. Reads (every request) take a read lock for a map lookup;
//! writes happen on deploys.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::cron::{CronLimits, Scheduler};
use crate::db::Database;
use crate::http::Served;

pub use crate::limits::TenantLimits;

/// One app in this process.
pub struct Tenant {
    pub name: String,
    /// Where its data, versions and secrets are (`store::Namespace::id`).
    pub namespace: String,
    pub served: Arc<Served>,
    pub db: Database,
    /// Its share of the CPU, kept across versions.
    pub cpu: Arc<crate::runtime::cpu::CpuShare>,
    /// The store's generation this process last loaded.
    pub generation: AtomicI64,
    pub limits: Mutex<TenantLimits>,
    pub deployed_at: AtomicI64,
    pub scheduler: Mutex<Option<Scheduler>>,
}

impl Tenant {
    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Restarts the app's cron jobs on its current version.
    pub fn restart_crons(&self, limits: CronLimits) {
        if let Ok(mut s) = self.scheduler.lock() {
            if let Some(old) = s.take() {
                old.stop();
            }
            *s = Some(crate::cron::start(self.served.clone(), limits));
        }
    }

    pub fn stop_crons(&self) {
        if let Ok(mut s) = self.scheduler.lock()
            && let Some(old) = s.take()
        {
            old.stop();
        }
    }
}

#[derive(Default)]
pub struct Registry {
    tenants: RwLock<HashMap<String, Arc<Tenant>>>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<Arc<Tenant>> {
        self.tenants.read().ok()?.get(name).cloned()
    }

    pub fn insert(&self, tenant: Arc<Tenant>) {
        if let Ok(mut t) = self.tenants.write() {
            t.insert(tenant.name.clone(), tenant);
        }
    }

    pub fn remove(&self, name: &str) -> Option<Arc<Tenant>> {
        self.tenants.write().ok()?.remove(name)
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tenants.read().map(|t| t.keys().cloned().collect()).unwrap_or_default();
        names.sort();
        names
    }

    pub fn len(&self) -> usize {
        self.tenants.read().map_or(0, |t| t.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
