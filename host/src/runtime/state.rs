//! What a store carries: the per-run state of one instance, and the per-app-version context
//! it shares with the other instances of the same version.

use std::collections::HashMap;
use std::sync::Arc;

use guest_abi::manifest::Manifest;
use wasmtime::StoreLimits;

use crate::db::Database;
use crate::db::sql::Plans;
use crate::host_fns::GuestError;
use crate::host_fns::hash::Hasher;
use crate::host_fns::wasi::Output;
use crate::limits::Limits;

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
    /// What each run of this version may spend.
    pub limits: Limits,
    /// The client outbound calls go through, built on first use with `limits.egress`.
    pub http: std::sync::OnceLock<reqwest::Client>,
    /// Remote issuers' keys `jwt.decode_jwks` fetched, cached per version.
    pub jwks: crate::host_fns::jwks_remote::RemoteKeys,
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
            limits: Limits::default(),
            http: std::sync::OnceLock::new(),
            jwks: Default::default(),
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
    pub budget: Budget,
    /// Set when a host call met a database fault (unreachable, restarting, connection lost):
    /// a refusal or an error that follows is then the database's, and is answered 503 to be
    /// tried again, never 401 or 500 as if it were the app's verdict.
    pub db_fault: bool,
    /// The version a `spawn` starts its task in; `None` while a top level runs.
    pub spawner: Option<Arc<crate::runtime::app::AppVersion>>,
    /// Set when a `spawn` found the app's tasks at their limit: the run then ends as busy (503).
    pub busy: bool,
    /// Under `fitz test`, the app a `@test` calls with `test.get(…)`; `None` everywhere else.
    pub tester: Option<Arc<crate::http::Served>>,
    /// The run's transactions (`db.transaction`), by handle: `TX_HANDLES + index`. One is
    /// open at a time; dropped with the run, an open one is rolled back.
    pub txs: Vec<Option<Arc<crate::db::tx::Tx>>>,
    /// A `@ws` handler's connection (`crate::ws`); `None` in every other run.
    pub ws: Option<crate::ws::Session>,
    /// In a wrap middleware's run, what its `next()` runs; `None` in every other run.
    pub next: Option<Box<crate::runtime::invoke::Call>>,
    /// The app's WebSocket connections, for `ws_broadcast`: set in runs of a server (requests,
    /// WebSocket handlers, cron jobs, the tasks they spawn); `None` where there are none to
    /// reach (`fitz cron run`, a top level).
    pub hub: Option<Arc<crate::ws::Hub>>,
}

/// The `DbConn` handle of the app's database; transactions' handles follow it.
pub const DB_HANDLE: u32 = guest_abi::imports::APP_DB_HANDLE;
pub const TX_HANDLES: u32 = 2;
/// Transactions one run may begin.
pub const MAX_TXS_PER_RUN: usize = 64;

impl GuestState {
    /// The database a query naming handle `db` runs on: the app's, or an open transaction's.
    pub fn database(&self, db: u32) -> Result<Option<crate::db::Database>, String> {
        let Some(app_db) = &self.app.db else { return Ok(None) };
        if db == DB_HANDLE {
            return Ok(Some(app_db.clone()));
        }
        match db.checked_sub(TX_HANDLES).and_then(|i| self.txs.get(i as usize)) {
            Some(Some(tx)) => Ok(Some(app_db.pinned_to(tx.clone()))),
            Some(None) => Err("this transaction is over: its handle can no longer be used".into()),
            None => Err(format!("no database handle {db}")),
        }
    }
}

impl GuestState {
    pub fn new(app: Arc<AppContext>, limits: StoreLimits, output: Output) -> GuestState {
        let budget = Budget::new(&app.limits);
        GuestState { app, limits, output, mem: None, budget, db_fault: false, spawner: None, busy: false, tester: None, txs: Vec::new(), ws: None, next: None, hub: None }
    }
}

/// What one run has left of its per-run limits, counted down by the host functions before
/// they do any work.
#[derive(Debug)]
pub struct Budget {
    host_calls: u32,
    db_calls: u32,
    log_lines: u32,
    http_calls: u32,
    /// Log lines dropped past the limit, reported once at the end of the run.
    pub logs_dropped: u32,
}

impl Budget {
    pub fn new(limits: &Limits) -> Budget {
        Budget { host_calls: limits.host_calls, db_calls: limits.db_calls, log_lines: limits.log_lines, http_calls: limits.http_calls, logs_dropped: 0 }
    }

    /// One host call; past the limit the run ends.
    pub fn call(&mut self) -> Result<(), GuestError> {
        self.host_calls = self.host_calls.checked_sub(1).ok_or_else(|| GuestError("the run made too many host calls".into()))?;
        Ok(())
    }

    /// One database call (besides `call`).
    pub fn db_call(&mut self) -> Result<(), GuestError> {
        self.db_calls = self.db_calls.checked_sub(1).ok_or_else(|| GuestError("the run made too many database calls".into()))?;
        Ok(())
    }

    /// One outbound call, if the run has one left.
    pub fn http_call(&mut self) -> bool {
        match self.http_calls.checked_sub(1) {
            Some(left) => {
                self.http_calls = left;
                true
            }
            None => false,
        }
    }

    /// Whether one more log line may be written; counts the ones that may not.
    pub fn log_line(&mut self) -> bool {
        match self.log_lines.checked_sub(1) {
            Some(left) => {
                self.log_lines = left;
                true
            }
            None => {
                self.logs_dropped = self.logs_dropped.saturating_add(1);
                false
            }
        }
    }
}
