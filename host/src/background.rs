//! `@background` tasks: `spawn(f(x))` runs `f` in a fresh sandbox of the version that spawned
//! it, under the app's task deadline and its own per-run limits, counted in the app's
//! `TaskPool` (shared by its versions, so a hot swap does not double it). A task lives in this
//! process: it outlives the request that spawned it, a shutdown waits for it (`drain`), and a
//! crash or restart loses it, as upstream's plain `@background` (its `store=db` form, which
//! keeps tasks in a table, is not implemented).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use guest_abi::value::Value;
use tokio::sync::Notify;

use crate::runtime::app::AppVersion;
use crate::runtime::invoke::{Fault, run_task};

/// The tasks of one app: how many may run at once, how many do, and whether new ones may start.
pub struct TaskPool {
    max: AtomicUsize,
    running: AtomicUsize,
    closed: AtomicBool,
    idle: Notify,
    /// Where tasks run when not on the spawning thread's runtime: under `fitz run`, requests
    /// are served by per-core runtimes that end with the listener, and a task must outlive them.
    runtime: std::sync::Mutex<Option<tokio::runtime::Handle>>,
}

/// One running task's place in its pool, given back when dropped.
pub struct TaskSlot(Arc<TaskPool>);

impl Drop for TaskSlot {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl TaskPool {
    pub fn new(max: usize) -> Arc<TaskPool> {
        Arc::new(TaskPool { max: AtomicUsize::new(max), running: AtomicUsize::new(0), closed: AtomicBool::new(false), idle: Notify::new(), runtime: std::sync::Mutex::new(None) })
    }

    /// A new cap (an operator changed the tenant's limits); running tasks finish either way.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Release);
    }

    /// Runs this pool's tasks on `handle` from now on.
    pub fn run_on(&self, handle: tokio::runtime::Handle) {
        if let Ok(mut r) = self.runtime.lock() {
            *r = Some(handle);
        }
    }

    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// A slot for one more task, unless the pool is full or draining.
    pub fn try_start(self: &Arc<Self>) -> Option<TaskSlot> {
        let mut n = self.running.load(Ordering::Acquire);
        loop {
            if self.closed.load(Ordering::Acquire) || n >= self.max.load(Ordering::Acquire) {
                return None;
            }
            match self.running.compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(TaskSlot(self.clone())),
                Err(now) => n = now,
            }
        }
    }

    /// Refuses new tasks and waits, at most `within`, for the running ones; returns how many
    /// were still running when it gave up (0 when all finished).
    pub async fn drain(&self, within: Duration) -> usize {
        self.closed.store(true, Ordering::Release);
        let until = tokio::time::Instant::now() + within;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let left = self.running();
            if left == 0 {
                return 0;
            }
            if tokio::time::timeout_at(until, idle).await.is_err() {
                return self.running();
            }
        }
    }
}

/// Starts task `index` of `app` with `args` on its own; it holds `slot` until it ends. `hub`:
/// the connections its `ws_broadcast` reaches (its spawner's).
pub fn start(app: Arc<AppVersion>, index: usize, args: Vec<Value>, slot: TaskSlot, hub: Option<Arc<crate::ws::Hub>>) {
    let runtime = slot.0.runtime.lock().ok().and_then(|r| r.clone());
    let run = async move {
        let _slot = slot;
        let _ = run_logged(&app, index, args, hub).await;
    };
    match runtime {
        Some(handle) => drop(handle.spawn(run)),
        None => drop(tokio::spawn(run)),
    }
}

/// Runs task `index` to its end and logs how it ended; the value when it returned one.
pub async fn run_logged(app: &Arc<AppVersion>, index: usize, args: Vec<Value>, hub: Option<Arc<crate::ws::Hub>>) -> Result<Value, Fault> {
    let name = app.manifest.tasks.get(index).map_or("?", |t| t.name.as_str()).to_string();
    let started = Instant::now();
    let result = run_task(app, index, args, hub).await;
    let millis = started.elapsed().as_millis() as u64;
    let app_name = &app.ctx.name;
    match &result {
        Ok(_) => tracing::info!(target: "fitz::task", app = %app_name, task = %name, millis, "ran"),
        Err(Fault::Timeout) => tracing::error!(target: "fitz::task", app = %app_name, task = %name, millis, "failed: passed its deadline"),
        Err(Fault::Busy) => tracing::error!(target: "fitz::task", app = %app_name, task = %name, "failed: no instance free"),
        Err(Fault::Failed(cause)) => tracing::error!(target: "fitz::task", app = %app_name, task = %name, millis, "failed: {cause}"),
    }
    result
}

/// On shutdown: lets `app`'s running tasks finish, up to their own deadline (and a second for
/// them to be logged), refusing new ones meanwhile.
pub async fn drain(app: &str, pool: &TaskPool, deadline: Duration) {
    let running = pool.running();
    if running > 0 {
        tracing::info!(target: "fitz::task", app = %app, running, "waiting for background tasks to finish");
    }
    let left = pool.drain(deadline + Duration::from_secs(1)).await;
    if left > 0 {
        tracing::error!(target: "fitz::task", app = %app, left, "background tasks were still running at shutdown");
    }
}
