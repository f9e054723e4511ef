//! PostgreSQL connections for the request path, leased without sqlx's pool.
//!
//! sqlx's pool pings every connection as it comes back (`PoolConnection`'s drop spawns a task
//! that sends a Sync and waits for PostgreSQL's answer) so that a connection left mid-query by
//! a cancelled future is never handed out again. That is a round trip per query on top of the
//! query: half of the database round trips of a `GET /me`. Here a lease knows whether its
//! connection finished cleanly — it is marked settled only after a query ran to completion —
//! and a connection that did not is closed instead of kept, so no ping is needed.
//!
//! Used for the guest's queries and the blacklist; DDL, migrations, cron claims and the app
//! store keep sqlx's pool.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DbError;

/// A connection older than this is closed when it comes back (server-side memory, fail-over).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// A connection idle longer than this may have been cut by a proxy or firewall: closed, not used.
const MAX_IDLE: Duration = Duration::from_secs(5 * 60);
/// The fewest connections a worker of a per-core server is given (`split_per_worker`).
const MIN_PER_WORKER: usize = 2;

struct Idle {
    conn: PgConnection,
    born: Instant,
    since: Instant,
    /// `Faults::seen` when it was put back: a fault seen since may have broken it too.
    faults: u64,
    /// The `statement_timeout` in effect on the connection, in milliseconds.
    statement_ms: u64,
    /// The role in effect (`SET ROLE`), `None` for the session's own.
    role: Option<Arc<str>>,
}

/// Connection faults seen by any lease of one `PgLeases`. A fault (the server restarted, a
/// backend was terminated, the network dropped) usually breaks every connection to that
/// server at once, so an idle connection put back before the latest fault is not trusted:
/// it is closed when next taken and a fresh one opened, on every shard.
#[derive(Default)]
struct Faults {
    seen: AtomicU64,
}

/// Connections and the permits that bound them, for one set of threads.
struct Shard {
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    faults: Arc<Faults>,
}

impl Shard {
    fn new(max: usize, faults: Arc<Faults>) -> Arc<Shard> {
        Arc::new(Shard { idle: Mutex::new(Vec::new()), permits: Arc::new(Semaphore::new(max.max(1))), faults })
    }
}

pub struct PgLeases {
    opts: PgConnectOptions,
    /// The `statement_timeout` a new connection starts with.
    statement_ms: u64,
    max: usize,
    acquire_timeout: Duration,
    /// For any thread that is not one of a per-core server's workers.
    shared: Arc<Shard>,
    faults: Arc<Faults>,
    /// One per worker of a per-core server (`split_per_worker`). A connection's socket is
    /// registered with the runtime of the thread that opened it, so a worker that only uses
    /// its own is woken by its own reactor: no wake-up crosses threads.
    workers: OnceLock<Box<[Arc<Shard>]>>,
}

thread_local! {
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Marks the calling thread as worker `index` of a per-core server (`server::start_per_core`):
/// its leases then come from that worker's own connections, where the pool has been split.
pub fn set_thread_worker(index: usize) {
    WORKER.with(|w| w.set(Some(index)));
}

impl PgLeases {
    /// Up to `max` connections, each starting with `statement_timeout` (a query may ask for
    /// another: `run_with`).
    pub fn new(opts: PgConnectOptions, max: usize, acquire_timeout: Duration, statement_timeout: Duration) -> PgLeases {
        let statement_ms = statement_timeout.as_millis() as u64;
        let opts = opts.options([("statement_timeout", statement_ms.to_string())]);
        let faults = Arc::new(Faults::default());
        PgLeases { opts, statement_ms, max, acquire_timeout, shared: Shard::new(max, faults.clone()), faults, workers: OnceLock::new() }
    }

    /// Gives each of `workers` threads its own share of the connections, on top of the shared
    /// ones other threads (cron, start-up) keep using. Where a share would be less than
    /// `MIN_PER_WORKER`, nothing is split and every thread shares: with one connection, one
    /// slow query would hold up every request of its thread. Only the first call has an effect.
    pub fn split_per_worker(&self, workers: usize) {
        let each = self.max / workers.max(1);
        if each >= MIN_PER_WORKER {
            let _ = self.workers.set((0..workers).map(|_| Shard::new(each, self.faults.clone())).collect());
        }
    }

    fn shard(&self) -> &Arc<Shard> {
        WORKER.with(Cell::get).and_then(|i| self.workers.get()?.get(i)).unwrap_or(&self.shared)
    }

    /// A connection for one query: an idle one when there is one, else a new one.
    pub async fn acquire(&self) -> Result<Lease, DbError> {
        tokio::time::timeout(self.acquire_timeout, self.acquire_inner(None)).await.map_err(|_| DbError::Unavailable)?
    }

    /// Prefers an idle connection already in `role`, so tenants that take turns on the shared
    /// connections switch roles (a round trip) only when they must.
    async fn acquire_inner(&self, role: Option<Arc<str>>) -> Result<Lease, DbError> {
        let shard = self.shard().clone();
        let permit = shard.permits.clone().acquire_owned().await.map_err(|_| DbError::Unavailable)?;
        let now = Instant::now();
        let faults = self.faults.seen.load(Ordering::Acquire);
        loop {
            let idle = {
                let mut idle = shard.idle.lock().unwrap_or_else(|p| p.into_inner());
                match idle.iter().rposition(|i| i.role == role) {
                    Some(at) => Some(idle.swap_remove(at)),
                    None => idle.pop(),
                }
            };
            match idle {
                Some(i) if now.duration_since(i.since) < MAX_IDLE && i.faults == faults => {
                    return Ok(Lease {
                        conn: Some(i.conn),
                        born: i.born,
                        settled: false,
                        in_transaction: false,
                        statement_ms: i.statement_ms,
                        role: i.role,
                        shard,
                        _permit: permit,
                    });
                }
                Some(stale) => drop(stale),
                None => break,
            }
        }
        let mut conn = PgConnection::connect_with(&self.opts).await?;
        // A query whose request was cancelled is abandoned here by closing the connection;
        // with this PostgreSQL notices within a second and stops the query, instead of
        // running it to the end for nobody (PostgreSQL 14 and later; older ones ignore it).
        let _ = sqlx::query("SET client_connection_check_interval = 1000").execute(&mut conn).await;
        Ok(Lease { conn: Some(conn), born: now, settled: false, in_transaction: false, statement_ms: self.statement_ms, role: None, shard, _permit: permit })
    }

    /// Runs one query on a leased connection and settles the lease with its outcome.
    pub async fn run<T>(&self, query: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>) -> Result<T, DbError> {
        self.run_with(self.statement_ms, None, query).await
    }

    /// `run`, with `statement_ms` as the statement timeout and as `role` (a tenant's own,
    /// `roles`), both set on the connection first, in one round trip, where it has others.
    pub async fn run_with<T>(&self, statement_ms: u64, role: Option<Arc<str>>, query: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>) -> Result<T, DbError> {
        let mut conn = self.acquire_as(statement_ms, role).await?;
        let r = query(&mut conn).await;
        conn.settle(&r);
        Ok(r?)
    }

    /// A lease in `role` with `statement_ms` as its statement timeout, set first where the
    /// connection had others.
    pub async fn acquire_as(&self, statement_ms: u64, role: Option<Arc<str>>) -> Result<Lease, DbError> {
        let mut conn = tokio::time::timeout(self.acquire_timeout, self.acquire_inner(role.clone())).await.map_err(|_| DbError::Unavailable)??;
        let role_differs = conn.role != role;
        if conn.statement_ms != statement_ms || role_differs {
            // `set_config('role', …)` is `SET ROLE`, with its checks ('none' resets it), as a
            // statement that takes bound values: one round trip for both settings.
            let r = sqlx::query("SELECT set_config('role', $1, false), set_config('statement_timeout', $2, false)")
                .bind(role.as_deref().unwrap_or("none"))
                .bind(statement_ms.to_string())
                .execute(&mut *conn)
                .await;
            conn.settle(&r);
            r?;
            conn.statement_ms = statement_ms;
            conn.role = role;
        }
        Ok(conn)
    }

    /// Closes the idle connections politely (leased ones close when their lease ends).
    pub async fn close(&self) {
        let shards = std::iter::once(&self.shared).chain(self.workers.get().into_iter().flatten());
        for shard in shards {
            shard.permits.close();
            let idle = std::mem::take(&mut *shard.idle.lock().unwrap_or_else(|p| p.into_inner()));
            for i in idle {
                let _ = i.conn.close().await;
            }
        }
    }
}

/// Whether an error says the connection or the server failed (not the statement).
fn is_connection_fault(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.code().as_deref().is_some_and(super::is_fault_code),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// One connection, returned to the idle list on drop only if its last query was settled.
pub struct Lease {
    conn: Option<PgConnection>,
    born: Instant,
    settled: bool,
    /// Inside a transaction (`BEGIN` ran, no `COMMIT`/`ROLLBACK` yet): dropped now, the
    /// connection is closed, which ends the transaction without it, whatever `settled` says.
    in_transaction: bool,
    statement_ms: u64,
    role: Option<Arc<str>>,
    shard: Arc<Shard>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// Records how a query ended: the connection is kept after a success or an error the
    /// database reported about the statement (the protocol is then back at ReadyForQuery),
    /// and dropped after anything else (I/O, protocol, timeout, or a fault the server
    /// reported, such as its shutdown). A fault also makes every idle connection suspect.
    pub fn settle<T>(&mut self, result: &Result<T, sqlx::Error>) {
        self.settled = match result {
            Ok(_) => true,
            Err(sqlx::Error::Database(d)) => !d.code().as_deref().is_some_and(super::is_fault_code),
            Err(_) => false,
        };
        if result.as_ref().err().is_some_and(is_connection_fault) {
            self.shard.faults.seen.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Marks the lease as holding an open transaction (or not any more).
    pub fn set_in_transaction(&mut self, open: bool) {
        self.in_transaction = open;
    }

    /// Marks the connection as in use by a query that has not finished yet.
    fn unsettle(&mut self) -> &mut PgConnection {
        self.settled = false;
        self.conn.as_mut().expect("a lease holds its connection until dropped")
    }
}

impl Deref for Lease {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("a lease holds its connection until dropped")
    }
}

impl DerefMut for Lease {
    /// Whoever runs a query through the connection must `settle` it afterwards.
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.unsettle()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.settled && !self.in_transaction && self.born.elapsed() < MAX_LIFETIME && !self.shard.permits.is_closed() {
            let faults = self.shard.faults.seen.load(Ordering::Acquire);
            let role = self.role.take();
            self.shard.idle.lock().unwrap_or_else(|p| p.into_inner()).push(Idle { conn, born: self.born, since: Instant::now(), faults, statement_ms: self.statement_ms, role });
        }
        // Otherwise the connection is dropped: its socket closes and the server ends the session.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn pg_url() -> String {
        std::env::var("FITZ_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    async fn backend_pid(lease: &mut Lease) -> i32 {
        let r = sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(&mut **lease).await;
        lease.settle(&r);
        r.expect("pid")
    }

    #[tokio::test]
    async fn settled_connections_are_reused_and_unsettled_ones_are_closed() {
        let opts = PgConnectOptions::from_str(&pg_url()).expect("url");
        let leases = Arc::new(PgLeases::new(opts, 2, Duration::from_secs(5), Duration::from_secs(5)));
        let first = {
            let mut l = leases.acquire().await.expect("lease");
            backend_pid(&mut l).await
        };
        let mut l = leases.acquire().await.expect("lease");
        assert_eq!(backend_pid(&mut l).await, first, "a settled connection is reused");

        // A database error leaves the connection usable and kept.
        let r = sqlx::query("SELECT * FROM no_such_table_anywhere").execute(&mut *l).await;
        l.settle(&r);
        assert!(r.is_err());
        drop(l);
        let mut l = leases.acquire().await.expect("lease");
        assert_eq!(backend_pid(&mut l).await, first, "kept after an error the database reported");

        // A query abandoned half-way (its future dropped) leaves the lease unsettled.
        {
            let fut = sqlx::query("SELECT pg_sleep(5)").execute(&mut *l);
            let _ = tokio::time::timeout(Duration::from_millis(50), fut).await;
        }
        drop(l);
        let mut l = leases.acquire().await.expect("lease");
        assert_ne!(backend_pid(&mut l).await, first, "an abandoned connection is never handed out again");
        drop(l);

        // Permits bound the connections: a third concurrent lease waits for one to end.
        let (a, b) = (leases.acquire().await.expect("a"), leases.acquire().await.expect("b"));
        let waiting = tokio::time::timeout(Duration::from_millis(100), leases.acquire()).await;
        assert!(waiting.is_err(), "a third lease must wait");
        drop(a);
        let c = leases.acquire().await.expect("freed");
        drop((b, c));
        leases.close().await;
        assert!(matches!(leases.acquire().await, Err(DbError::Unavailable)));
    }

    #[tokio::test]
    async fn a_worker_thread_leases_its_own_connections() {
        let opts = PgConnectOptions::from_str(&pg_url()).expect("url");
        let timeout = Duration::from_millis(200);
        let leases = Arc::new(PgLeases::new(opts.clone(), 4, timeout, timeout));
        leases.split_per_worker(2);
        // Other threads share the four connections of `new`...
        let mut shared = Vec::new();
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut l = leases.acquire().await.expect("shared");
            shared.push(backend_pid(&mut l).await);
            held.push(l);
        }
        assert!(matches!(leases.acquire().await, Err(DbError::Unavailable)), "the shared four are in use");

        // ...while worker 0 has two of its own (four split between two workers), apart from them.
        set_thread_worker(0);
        let (mut w1, mut w2) = (leases.acquire().await.expect("own"), leases.acquire().await.expect("own"));
        let own = [backend_pid(&mut w1).await, backend_pid(&mut w2).await];
        assert!(own.iter().all(|p| !shared.contains(p)));
        assert!(matches!(leases.acquire().await, Err(DbError::Unavailable)), "the worker's two are in use");
        drop((held, w1, w2));
        let mut w = leases.acquire().await.expect("again");
        assert!(own.contains(&backend_pid(&mut w).await), "a worker reuses its own connections");
        drop(w);
        leases.close().await;

        // Three workers would get one connection each: nothing is split, worker 0 shares.
        let unsplit = Arc::new(PgLeases::new(opts, 4, timeout, timeout));
        unsplit.split_per_worker(3);
        let mut all = Vec::new();
        for _ in 0..4 {
            all.push(unsplit.acquire().await.expect("shared"));
        }
        assert!(matches!(unsplit.acquire().await, Err(DbError::Unavailable)), "worker 0 used the shared four");
        drop(all);
        unsplit.close().await;
    }
}
