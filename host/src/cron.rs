//! The host's schedule of `@cron` jobs (UTC). Each job has its own task: it sleeps until the
//! next matching second, then runs the job in a fresh instance of the app's *current* version
//! (so jobs follow a hot swap) under the app's time limit. A tick that finds the previous run
//! of the same job still going is skipped and logged; a failure or trap is logged with the app
//! and job name and the schedule carries on.
//!
//! Several hosts may serve the same app on one database. Each tick is claimed in the database
//! first (`fitz_cron_ticks`, primary key app + job + tick: the first host to insert runs it),
//! and on PostgreSQL the run holds an advisory lock keyed on app and job, so a run that outlasts
//! its period is not started again by another host either.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use guest_abi::cron::Schedule;
use tokio::task::JoinHandle;

use crate::db::{unix_seconds as now_secs, Database, DbError, Pool};
use crate::http::Served;
use crate::runtime::invoke::{run_cron, Fault};

pub const TICKS_TABLE: &str = "fitz_cron_ticks";

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
pub fn start(served: Arc<Served>) -> Scheduler {
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
        let served = served.clone();
        let name = job.name.clone();
        tasks.push(tokio::spawn(async move { run_schedule(served, name, schedule).await }));
    }
    Scheduler { tasks }
}

async fn run_schedule(served: Arc<Served>, job: String, schedule: Schedule) {
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
        let running = running.clone();
        let job = job.clone();
        tokio::spawn(async move {
            run_tick(&app, &job, tick).await;
            running.store(false, Ordering::Release);
        });
    }
}

/// Claims and runs one tick (or learns another host has it).
async fn run_tick(app: &crate::runtime::app::AppVersion, job: &str, tick: i64) {
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
                tracing::error!(target: "fitz::cron", app = %name, job = %job, tick, "cannot claim the tick: {e}");
                return;
            }
        }
        match RunLock::acquire(db, name, job).await {
            Ok(Some(lock)) => guard = Some(lock),
            Ok(None) => {
                tracing::warn!(target: "fitz::cron", app = %name, job = %job, tick, "skipped: the previous run is still going on another host");
                return;
            }
            Err(e) => {
                tracing::error!(target: "fitz::cron", app = %name, job = %job, tick, "cannot take the job's lock: {e}");
                return;
            }
        }
    }
    let started = std::time::Instant::now();
    let result = run_cron(app, index).await;
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
        Pool::Sqlite(_) => (
            format!("INSERT INTO {t} (app, job, tick) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"),
            format!("DELETE FROM {t} WHERE app = ?1 AND job = ?2 AND tick < ?3"),
        ),
        Pool::Postgres(_) => (
            format!("INSERT INTO {t} (app, job, tick) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"),
            format!("DELETE FROM {t} WHERE app = $1 AND job = $2 AND tick < $3"),
        ),
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

/// A PostgreSQL advisory lock held on one connection for the length of a run.
struct RunLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    key: i64,
}

/// The advisory-lock key of a job: 64 bits of a stable hash of app and job.
fn lock_key(app: &str, job: &str) -> i64 {
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in app.bytes().chain([0]).chain(job.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

impl RunLock {
    /// `None` when another session holds it. SQLite needs none (the tick claim suffices for
    /// one file).
    async fn acquire(db: &Database, app: &str, job: &str) -> Result<Option<RunLock>, DbError> {
        let Pool::Postgres(pool) = &db.pool else { return Ok(Some(RunLock { conn: None, key: 0 })) };
        let mut conn = pool.acquire().await?;
        let key = lock_key(app, job);
        let got: bool = sqlx::Row::try_get(&sqlx::query("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *conn).await?, 0)?;
        Ok(got.then_some(RunLock { conn: Some(conn), key }))
    }

    async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(self.key).execute(&mut *conn).await;
        }
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
