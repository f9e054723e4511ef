//! The apps loaded in this process. Reads (every request) take a read lock for a map lookup;
//! writes happen on deploys.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cron::Scheduler;
use crate::db::Database;
use crate::http::Served;
use crate::runtime::app::Limits;

/// Limits an operator sets per app; stored as JSON with the app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantLimits {
    /// Linear memory of one instance.
    pub memory_mib: u64,
    /// Time one request may take.
    pub request_ms: u64,
    /// Requests of this app served at once; more get 503.
    pub concurrency: u32,
    /// Largest request body.
    pub body_kib: u64,
}

impl Default for TenantLimits {
    fn default() -> Self {
        TenantLimits { memory_mib: 64, request_ms: 10_000, concurrency: 32, body_kib: 1024 }
    }
}

impl TenantLimits {
    /// Within what the host can give (the pool's slot size, a sane maximum time).
    pub fn check(&self, max_memory_mib: u64) -> Result<(), String> {
        if self.memory_mib == 0 || self.memory_mib > max_memory_mib {
            return Err(format!("memory_mib must be between 1 and {max_memory_mib}"));
        }
        if self.request_ms == 0 || self.request_ms > 300_000 {
            return Err("request_ms must be between 1 and 300000".into());
        }
        if self.concurrency == 0 || self.concurrency > 10_000 {
            return Err("concurrency must be between 1 and 10000".into());
        }
        if self.body_kib == 0 || self.body_kib > 64 * 1024 {
            return Err("body_kib must be between 1 and 65536".into());
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: (self.memory_mib as usize) << 20,
            request_deadline: Duration::from_millis(self.request_ms),
            body_bytes: (self.body_kib as usize) << 10,
            ..Limits::default()
        }
    }
}

/// One app in this process.
pub struct Tenant {
    pub name: String,
    pub served: Arc<Served>,
    pub db: Database,
    /// Its share of the CPU, kept across versions.
    pub cpu: Arc<crate::runtime::cpu::CpuShare>,
    /// The store's generation this process last loaded.
    pub generation: AtomicI64,
    pub limits: Mutex<TenantLimits>,
    pub deployed_at: AtomicI64,
    pub scheduler: Mutex<Option<Scheduler>>,
    /// The last few load or deploy failures, for `inspect`.
    pub errors: Mutex<Vec<String>>,
}

impl Tenant {
    pub fn note_error(&self, e: String) {
        if let Ok(mut errors) = self.errors.lock() {
            errors.push(e);
            let n = errors.len();
            if n > 10 {
                errors.drain(..n - 10);
            }
        }
    }

    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Restarts the app's cron jobs on its current version.
    pub fn restart_crons(&self) {
        if let Ok(mut s) = self.scheduler.lock() {
            if let Some(old) = s.take() {
                old.stop();
            }
            *s = Some(crate::cron::start(self.served.clone()));
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
