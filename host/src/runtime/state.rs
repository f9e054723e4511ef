//! What a store carries: the per-run state of one instance, and the per-app-version context
//! it shares with the other instances of the same version.

use std::collections::HashMap;
use std::sync::Arc;

use guest_abi::manifest::Manifest;
use wasmtime::StoreLimits;
use wasmtime_wasi::p1::WasiP1Ctx;

/// Shared by every instance of one app version.
pub struct AppContext {
    pub manifest: Arc<Manifest>,
    /// The values of the secrets the manifest names (checked present at load).
    pub secrets: HashMap<String, String>,
    /// What `env_or` may read: the process environment and the app's `.env`.
    pub env: HashMap<String, String>,
    pub hasher: crate::host_fns::hash::Hasher,
}

/// One instance's state, created for a request (or run) and dropped with it.
pub struct GuestState {
    pub wasi: WasiP1Ctx,
    pub limits: StoreLimits,
    pub app: Arc<AppContext>,
}
