//! The host's schedule of `@cron` jobs (UTC). Each job has its own task: it sleeps until the
//! next matching second, then runs the job in a fresh instance of the app's *current* version
//! (so jobs follow a hot swap) under the app's time limit. A tick that finds the previous run
//! of the same job still going is skipped and logged; a failure or trap is logged with the app
//! and job name and the schedule carries on.
//!
//! Several hosts may serve the same app on one database. Each tick is claimed in the database
//! first (`fitz_cron_ticks`, primary key app + job + tick: the first host to insert runs it),
//! and the run holds a lease on its job (`fitz_cron_runs`, one row per app and job, taken
//! while the last holder's lease has run out), so a run that outlasts its period is not started
//! again by another host either. Both are single short statements: no run keeps a database
//! connection while its guest runs. Runs are capped per app (`cron_runs`) and per host: a tick
//! past either cap is skipped and logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use guest_abi::cron::Schedule;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::db::{Database, DbError, Pool, unix_seconds as now_secs};
use crate::http::Served;
use crate::runtime::invoke::{Fault, run_cron};

pub const TICKS_TABLE: &str = "fitz_cron_ticks";
pub const RUNS_TABLE: &str = "fitz_cron_runs";

/// How many runs may go at once: of this app, and of the whole host.
#[derive(Clone)]
pub struct CronLimits {
    app: Arc<Semaphore>,
    host: Arc<Semaphore>,
}

impl CronLimits {
    pub fn new(app_runs: usize, host: Arc<Semaphore>) -> CronLimits {
        CronLimits { app: Arc::new(Semaphore::new(app_runs.max(1))), host }
    }

    /// One app on its own (`fitz run`): the host's cap is the app's.
    pub fn single_app() -> CronLimits {
        let runs = crate::limits::process::CRON_RUNS;
        CronLimits::new(runs, Arc::new(Semaphore::new(runs)))
    }

    fn try_start(&self) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        Some((self.app.clone().try_acquire_owned().ok()?, self.host.clone().try_acquire_owned().ok()?))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The running schedule of one app; dropping it (or `stop`) ends every job's task.
pub struct Scheduler {
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    pub fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts a task per job of the app's current version.
pub fn start(served: Arc<Served>, limits: CronLimits) -> Scheduler {
    let app = served.app.load_full();
    let mut tasks = Vec::new();
    for job in &app.manifest.crons {
        let schedule = match Schedule::parse(&job.schedule) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target: "fitz::cron", app = %app.ctx.name, job = %job.name, "cannot schedule `{}`: {e:?}", job.expr);
                continue;
            }
        };
        let (served, limits) = (served.clone(), limits.clone());
        let name = job.name.clone();
        tasks.push(tokio::spawn(async move { run_schedule(served, name, schedule, limits).await }));
    }
    Scheduler { tasks }
}

async fn run_schedule(served: Arc<Served>, job: String, schedule: Schedule, limits: CronLimits) {
    let running = Arc::new(AtomicBool::new(false));
    let mut after = now_secs();
    loop {
        let Some(tick) = schedule.next_after(after) else { return };
        after = tick;
        let wait = tick * 1000 - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        let app = served.app.load_full();
        let name = app.ctx.name.clone();
        if running.swap(true, Ordering::AcqRel) {
            tracing::warn!(target: "fitz::cron", app = %name, job = %job, tick, "skipped: the previous run is still going");
            continue;
        }
        let Some(permits) = limits.try_start() else {
            running.store(false, Ordering::Release);
            tracing::warn!(target: "fitz::cron", app = %name, job = %job, tick, "skipped: too many cron runs at once");
            continue;
        };
        let running = running.clone();
        let (job, hub) = (job.clone(), served.ws.clone());
        tokio::spawn(async move {
            let _permits = permits;
            run_tick(&app, &hub, &job, tick).await;
            running.store(false, Ordering::Release);
        });
    }
}

/// Claims and runs one tick (or learns another host has it).
async fn run_tick(app: &Arc<crate::runtime::app::AppVersion>, hub: &Arc<crate::ws::Hub>, job: &str, tick: i64) {
    let name = &app.ctx.name;
    let Some(index) = app.manifest.crons.iter().position(|c| c.name == job) else {
        tracing::warn!(target: "fitz::cron", app = %name, job = %job, "the job is gone from the current version");
        return;
    };
    let mut guard = None;
    if let Some(db) = &app.ctx.db {
        match claim(db, name, job, tick).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(target: "fitz::cron", app = %name, job = %job, tick, "another host took this tick");
                return;
            }
            Err(e) => {
                tracing::error!(target: "fitz::cron", app = %name, job = %job, tick, "cannot claim the tick: {}", e.log_text());
                return;
            }
        }
        match RunLock::acquire(db, name, job, app.limits().cron_deadline).await {
            Ok(Some(lock)) => guard = Some(lock),
            Ok(None) => {
                tracing::warn!(target: "fitz::cron", app = %name, job = %job, tick, "skipped: the previous run is still going on another host");
                return;
            }
            Err(e) => {
                tracing::error!(target: "fitz::cron", app = %name, job = %job, tick, "cannot take the job's lock: {}", e.log_text());
                return;
            }
        }
    }
    let started = std::time::Instant::now();
    let result = run_cron(app, index, Some(hub.clone())).await;
    let millis = started.elapsed().as_millis() as u64;
    match result {
        Ok(_) => tracing::info!(target: "fitz::cron", app = %name, job = %job, tick, millis, "ran"),
        Err(Fault::Timeout) => tracing::error!(target: "fitz::cron", app = %name, job = %job, tick, millis, "failed: passed its deadline"),
        Err(Fault::Busy) => tracing::error!(target: "fitz::cron", app = %name, job = %job, tick, "failed: no instance free"),
        Err(Fault::Failed(cause)) => tracing::error!(target: "fitz::cron", app = %name, job = %job, tick, millis, "failed: {cause}"),
    }
    if let Some(lock) = guard {
        lock.release().await;
    }
}

/// Inserts the tick; true when this host inserted it (and so runs it).
pub async fn claim(db: &Database, app: &str, job: &str, tick: i64) -> Result<bool, DbError> {
    let t = db.table(TICKS_TABLE);
    let create = format!("CREATE TABLE IF NOT EXISTS {t} (app TEXT NOT NULL, job TEXT NOT NULL, tick BIGINT NOT NULL, PRIMARY KEY (app, job, tick))");
    let (insert, prune) = match db.pool {
        Pool::Sqlite(_) => {
            (format!("INSERT INTO {t} (app, job, tick) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"), format!("DELETE FROM {t} WHERE app = ?1 AND job = ?2 AND tick < ?3"))
        }
        Pool::Postgres(_) => {
            (format!("INSERT INTO {t} (app, job, tick) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"), format!("DELETE FROM {t} WHERE app = $1 AND job = $2 AND tick < $3"))
        }
    };
    db.ensure_schema().await?;
    db.execute_ddl(&create).await?;
    let inserted = match &db.pool {
        Pool::Sqlite(p) => sqlx::query(&insert).bind(app).bind(job).bind(tick).execute(p).await?.rows_affected(),
        Pool::Postgres(p) => sqlx::query(&insert).bind(app).bind(job).bind(tick).execute(p).await?.rows_affected(),
    };
    if inserted == 1 {
        // Claims older than a day are no use to anyone.
        let cutoff = tick - 86_400;
        let _ = match &db.pool {
            Pool::Sqlite(p) => sqlx::query(&prune).bind(app).bind(job).bind(cutoff).execute(p).await.map(drop),
            Pool::Postgres(p) => sqlx::query(&prune).bind(app).bind(job).bind(cutoff).execute(p).await.map(drop),
        };
    }
    Ok(inserted == 1)
}

/// A job's lease in `fitz_cron_runs`, held for the length of one run: taken when no other
/// holder's lease is still running, given up when the run ends. A host that dies mid-run
/// leaves its lease to run out (its run's deadline plus a margin).
struct RunLock {
    db: Database,
    app: String,
    job: String,
    holder: String,
}

/// Past a run's deadline, how long its lease still holds (clocks of hosts differ a little).
const LEASE_MARGIN_SECS: i64 = 5;

impl RunLock {
    /// `None` when another run holds it.
    async fn acquire(db: &Database, app: &str, job: &str, deadline: Duration) -> Result<Option<RunLock>, DbError> {
        let t = db.table(RUNS_TABLE);
        let create = format!("CREATE TABLE IF NOT EXISTS {t} (app TEXT NOT NULL, job TEXT NOT NULL, holder TEXT NOT NULL, until BIGINT NOT NULL, PRIMARY KEY (app, job))");
        let p = |n| db.dialect().placeholder(n);
        let take = format!(
            "INSERT INTO {t} (app, job, holder, until) VALUES ({}, {}, {}, {}) \
             ON CONFLICT (app, job) DO UPDATE SET holder = excluded.holder, until = excluded.until WHERE {t}.until < {}",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5)
        );
        db.ensure_schema().await?;
        db.execute_ddl(&create).await?;
        let holder = format!("{:016x}", rand::random::<u64>());
        let now = now_secs();
        let until = now + deadline.as_secs() as i64 + LEASE_MARGIN_SECS;
        let taken = match &db.pool {
            Pool::Sqlite(pool) => sqlx::query(&take).bind(app).bind(job).bind(&holder).bind(until).bind(now).execute(pool).await?.rows_affected(),
            Pool::Postgres(pool) => sqlx::query(&take).bind(app).bind(job).bind(&holder).bind(until).bind(now).execute(pool).await?.rows_affected(),
        };
        Ok((taken == 1).then(|| RunLock { db: db.clone(), app: app.to_string(), job: job.to_string(), holder }))
    }

    async fn release(self) {
        let t = self.db.table(RUNS_TABLE);
        let p = |n| self.db.dialect().placeholder(n);
        let sql = format!("DELETE FROM {t} WHERE app = {} AND job = {} AND holder = {}", p(1), p(2), p(3));
        let _ = match &self.db.pool {
            Pool::Sqlite(pool) => sqlx::query(&sql).bind(&self.app).bind(&self.job).bind(&self.holder).execute(pool).await.map(drop),
            Pool::Postgres(pool) => sqlx::query(&sql).bind(&self.app).bind(&self.job).bind(&self.holder).execute(pool).await.map(drop),
        };
    }
}

/// The next `n` times a schedule fires after `after` (for `fitz cron list`).
pub fn upcoming(schedule: &Schedule, after: i64, n: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    let mut t = after;
    while out.len() < n {
        match schedule.next_after(t) {
            Some(next) => {
                out.push(next);
                t = next;
            }
            None => break,
        }
    }
    out
}
