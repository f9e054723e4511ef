//! What a store carries: the per-run state of one instance, and the per-app-version context
//! it shares with the other instances of the same version.

use std::collections::HashMap;
use std::sync::Arc;

use guest_abi::manifest::Manifest;
use wasmtime::StoreLimits;

use crate::db::sql::Plans;
use crate::db::Database;
use crate::host_fns::hash::Hasher;
use crate::host_fns::wasi::Output;

/// Shared by every instance of one app version.
pub struct AppContext {
    /// The app's name, for logs.
    pub name: String,
    pub manifest: Arc<Manifest>,
    /// The values of the secrets the manifest names (checked present at load).
    pub secrets: HashMap<String, String>,
    /// What `env_or` may read: the process environment and the app's `.env`.
    pub env: HashMap<String, String>,
    pub hasher: Hasher,
    /// `None` for a program run without a database (`fitz run` of a top-level program).
    pub db: Option<Database>,
    /// The SQL of `manifest`'s queries on `db`, built on first use.
    pub plans: Plans,
}

impl AppContext {
    /// A context with no secrets, environment or database: tests, benches and tools.
    pub fn bare(manifest: Manifest) -> AppContext {
        AppContext {
            name: manifest.source.clone(),
            manifest: Arc::new(manifest),
            secrets: HashMap::new(),
            env: HashMap::new(),
            hasher: Hasher::default(),
            db: None,
            plans: Plans::default(),
        }
    }
}

/// One instance's state, created for a request (or run) and dropped with it.
pub struct GuestState {
    pub app: Arc<AppContext>,
    pub limits: StoreLimits,
    pub output: Output,
    /// Set once the instance exists (see `GuestMemory::of_caller`).
    pub mem: Option<crate::runtime::guest::GuestMemory>,
}
