//! The database an app's `DbConn` reaches (DESIGN.md §6): embedded SQLite by default, PostgreSQL
//! for real deployments, both through sqlx. The guest never sends SQL: `sql` turns the query IR
//! into parameterised SQL for one dialect, `exec` runs it and decodes rows by the manifest's
//! types, `schema` creates tables, `blacklist` keeps revoked tokens.

pub mod blacklist;
pub mod exec;
pub mod lease;
pub mod migrate;
pub mod raw;
pub mod refresh;
pub mod roles;
pub mod schema;
pub mod sql;
pub mod tx;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Bound parameter `n` (from 1): `?n` or `$n`.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }
}

/// The host's clock in Unix seconds: every time the host stores (expiries, cron ticks,
/// deploys) uses it, so SQLite and PostgreSQL agree.
pub fn unix_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One app's database. Cloning shares the pool.
#[derive(Clone)]
pub struct Database {
    pub pool: Pool,
    /// The PostgreSQL schema an app's tables live in (one per app on a multi-tenant host);
    /// `None` for the connection's default.
    schema: Option<Arc<str>>,
    /// Set once the blacklist table is known to exist: its statements, built once.
    blacklist: Arc<tokio::sync::OnceCell<blacklist::Statements>>,
    /// Likewise for the refresh-token tables.
    refresh: Arc<tokio::sync::OnceCell<refresh::Statements>>,
    /// PostgreSQL connections for the request path (`lease`), shared like the pool.
    leases: Option<Arc<lease::PgLeases>>,
    /// A tenant's share of `leases` on a multi-tenant host (`with_budget`).
    budget: Option<Arc<Budget>>,
    /// The transaction every statement of this handle runs in (`pinned_to`), if any.
    pinned: Option<Arc<tx::Tx>>,
    /// Statements an app's queries ran through this handle (and its clones), for tests that
    /// show a query's cost in statements (`preload` against N+1).
    statements: Arc<std::sync::atomic::AtomicU64>,
}

/// What one tenant may hold of the request connections, for how long a statement, and the
/// PostgreSQL role its statements run as (`roles`), where it has one.
struct Budget {
    permits: Arc<tokio::sync::Semaphore>,
    statement_ms: u64,
    role: Option<Arc<str>>,
}

/// What went wrong, in words safe to show an app (and to log): never the driver's text, which
/// can carry SQL, values or connection details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbError {
    /// The database could not be reached or did not answer in time.
    Unavailable,
    /// A constraint refused the write (unique, foreign key, not null, check).
    Constraint(&'static str),
    /// A value in a row does not fit the declared type.
    Decode { column: String },
    /// A query the host could not build (a module whose manifest is inconsistent).
    Invalid(String),
    /// A statement ran past its `statement_timeout`.
    Timeout,
    /// A value neither database is asked to store (the same refusal on both).
    Unstorable(&'static str),
    /// Any other failure reported by the database, by its SQLSTATE or SQLite code.
    Failed { code: String },
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unavailable => f.write_str("database unavailable"),
            DbError::Constraint(what) => write!(f, "database refused the write: {what}"),
            DbError::Decode { column } => write!(f, "database value in column `{column}` does not fit its type"),
            DbError::Invalid(why) => write!(f, "invalid query: {why}"),
            DbError::Timeout => f.write_str("database statement timed out"),
            DbError::Unstorable(what) => write!(f, "the database cannot store {what}"),
            // The code stays in the host's log (`log_text`): a driver's code in an answer
            // tells a client which database and what broke.
            DbError::Failed { .. } => f.write_str("database error"),
        }
    }
}

impl DbError {
    /// The error as the host logs it: its words, with the database's code where it has one.
    pub fn log_text(&self) -> String {
        match self {
            DbError::Failed { code } => format!("database error (code {code})"),
            other => other.to_string(),
        }
    }

    /// A failure of the connection or the server rather than of the statement: the request
    /// may be answered 503 and tried again, and the connection must not be used again.
    pub fn is_fault(&self) -> bool {
        matches!(self, DbError::Unavailable)
    }
}

/// Whether a SQLSTATE says the connection or the server failed, not the statement: class 08
/// (connection exception), 57P01–57P05 (the server is shutting down, crashed, cannot take
/// connections yet, the database was dropped, the session idled out) and class 53 (out of
/// connections, memory or disk).
pub fn is_fault_code(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")
}

impl std::error::Error for DbError {}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> DbError {
        use sqlx::error::ErrorKind;
        match e {
            sqlx::Error::Database(d) => match d.kind() {
                ErrorKind::UniqueViolation => DbError::Constraint("duplicate value for a unique column"),
                ErrorKind::ForeignKeyViolation => DbError::Constraint("foreign key violated"),
                ErrorKind::NotNullViolation => DbError::Constraint("missing value for a required column"),
                ErrorKind::CheckViolation => DbError::Constraint("check constraint violated"),
                // query_canceled: a statement_timeout, or the host cancelling.
                _ if d.code().as_deref() == Some("57014") => DbError::Timeout,
                _ if d.code().as_deref().is_some_and(is_fault_code) => DbError::Unavailable,
                _ => DbError::Failed { code: d.code().map_or_else(|| "unknown".into(), |c| c.into_owned()) },
            },
            sqlx::Error::ColumnDecode { index, .. } => DbError::Decode { column: index },
            sqlx::Error::Decode(_) => DbError::Decode { column: "?".into() },
            _ => DbError::Unavailable,
        }
    }
}

/// Pool sizes: SQLite serialises writers anyway; PostgreSQL gets a few connections per core
/// for requests (`lease`) and a few more through sqlx's pool for DDL, cron and the app store.
/// Connections are not pinged on checkout (sqlx's default costs a round trip per query) nor
/// on return (see `lease`); a read that meets a dead connection is retried once on a fresh
/// one instead (`exec::run_query`, `blacklist`), and writes are never retried.
const SQLITE_CONNECTIONS: u32 = 8;
const POSTGRES_CONNECTIONS: u32 = crate::limits::process::CONTROL_CONNECTIONS;
const POSTGRES_REQUEST_CONNECTIONS: usize = crate::limits::process::REQUEST_CONNECTIONS;
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a PostgreSQL host is this machine: a loopback address, `localhost`, or a socket.
fn is_local(host: &str) -> bool {
    host == "localhost" || host.starts_with('/') || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A SQLite file about to be created is created first by the host, readable by its user only
/// (`files`); SQLite would make it, and its `-wal` and `-shm`, with the umask's mode.
fn private_file(path: &std::path::Path) {
    if path.as_os_str() != ":memory:" && !path.exists() {
        let _ = crate::files::ensure_private_file(path);
    }
}

impl Database {
    pub fn new(pool: Pool) -> Database {
        let leases = match &pool {
            Pool::Postgres(p) => {
                let statement = crate::limits::Limits::default().statement_timeout;
                Some(Arc::new(lease::PgLeases::new((*p.connect_options()).clone(), POSTGRES_REQUEST_CONNECTIONS, ACQUIRE_TIMEOUT, statement)))
            }
            Pool::Sqlite(_) => None,
        };
        Database { pool, schema: None, blacklist: Arc::default(), refresh: Arc::default(), pinned: None, leases, budget: None, statements: Arc::default() }
    }

    /// The same pool, with every table of the app in `schema` (PostgreSQL; SQLite apps get a
    /// file each instead). The host qualifies every name it writes, so an app cannot reach
    /// another app's schema.
    /// How many statements the app's queries have run through this handle.
    pub fn statements_run(&self) -> u64 {
        self.statements.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn with_schema(&self, schema: &str) -> Database {
        Database {
            pool: self.pool.clone(),
            schema: Some(schema.into()),
            blacklist: Arc::default(),
            refresh: Arc::default(),
            pinned: None,
            leases: self.leases.clone(),
            budget: None,
            statements: Arc::default(),
        }
    }

    /// The same database, for one tenant: at most `connections` of the request connections
    /// at once, each statement within `statement`. A tenant that holds its whole budget
    /// waits on its own permits; the other tenants' requests and the host's own connections
    /// are not touched.
    pub fn with_budget(&self, connections: usize, statement: Duration, role: Option<&str>) -> Database {
        let budget = Budget { permits: Arc::new(tokio::sync::Semaphore::new(connections.max(1))), statement_ms: statement.as_millis() as u64, role: role.map(Arc::from) };
        Database { budget: Some(Arc::new(budget)), ..self.clone() }
    }

    /// Runs one query of a request on a leased PostgreSQL connection (`PgLeases::run`), within
    /// the tenant's budget where it has one.
    pub async fn leased<T>(&self, query: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<T, sqlx::Error>) -> Result<T, DbError> {
        if let Some(tx) = &self.pinned {
            return tx.run_pg(query).await;
        }
        let leases = self.leases()?;
        match &self.budget {
            None => leases.run(query).await,
            Some(b) => {
                let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, b.permits.acquire()).await;
                let Ok(Ok(_permit)) = permit else { return Err(DbError::Unavailable) };
                leases.run_with(b.statement_ms, b.role.clone(), query).await
            }
        }
    }

    /// Runs one query of a request on a SQLite connection: the transaction's, in one.
    pub async fn on_sqlite<T>(&self, pool: &sqlx::SqlitePool, query: impl AsyncFnOnce(&mut sqlx::SqliteConnection) -> Result<T, sqlx::Error>) -> Result<T, DbError> {
        if let Some(tx) = &self.pinned {
            return tx.run_sqlite(query).await;
        }
        let mut conn = pool.acquire().await?;
        Ok(query(&mut conn).await?)
    }

    /// What a transaction of this handle holds while open: the statement timeout and role of
    /// its tenant (the host's defaults without one), and one of the tenant's connections.
    async fn budget_for_transaction(&self) -> Result<(u64, Option<Arc<str>>, Option<tokio::sync::OwnedSemaphorePermit>), DbError> {
        match &self.budget {
            None => Ok((crate::limits::Limits::default().statement_timeout.as_millis() as u64, None, None)),
            Some(b) => {
                let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, b.permits.clone().acquire_owned()).await;
                let Ok(Ok(permit)) = permit else { return Err(DbError::Unavailable) };
                Ok((b.statement_ms, b.role.clone(), Some(permit)))
            }
        }
    }

    /// Gives each worker of a per-core server its own request connections
    /// (`PgLeases::split_per_worker`); nothing for SQLite, whose connections are threads.
    pub fn split_leases_per_worker(&self, workers: usize) {
        if let Some(l) = &self.leases {
            l.split_per_worker(workers);
        }
    }

    fn leases(&self) -> Result<&Arc<lease::PgLeases>, DbError> {
        self.leases.as_ref().ok_or_else(|| DbError::Invalid("not a PostgreSQL database".into()))
    }

    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The role a tenant's statements run as (`roles`), if it has one.
    pub fn role(&self) -> Option<&str> {
        self.budget.as_ref()?.role.as_deref()
    }

    /// A table name, quoted and qualified with the app's schema.
    pub fn table(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", sql::quote(s), sql::quote(name)),
            None => sql::quote(name),
        }
    }

    /// Creates the app's schema (PostgreSQL) if it has one.
    pub async fn ensure_schema(&self) -> Result<(), DbError> {
        if let (Some(s), Pool::Postgres(_)) = (&self.schema, &self.pool) {
            self.execute_ddl(&format!("CREATE SCHEMA IF NOT EXISTS {}", sql::quote(s))).await?;
        }
        Ok(())
    }

    fn blacklist_ready(&self) -> &tokio::sync::OnceCell<blacklist::Statements> {
        &self.blacklist
    }

    fn refresh_ready(&self) -> &tokio::sync::OnceCell<refresh::Statements> {
        &self.refresh
    }

    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite:PATH` or a plain path is a
    /// SQLite file, created when missing.
    pub async fn connect(url: &str) -> Result<Database, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url).map_err(|_| DbError::Invalid("malformed DATABASE_URL".into()))?;
            // `sslmode` in the URL is honoured (`require`, `verify-full` with `sslrootcert`, …).
            // Without it, a connection over loopback or a socket is plain (TLS there protects
            // nothing and costs every query), any other prefers TLS, as libpq does.
            if !url.contains("sslmode=") && is_local(opts.get_host()) {
                opts = opts.ssl_mode(sqlx::postgres::PgSslMode::Disable);
            }
            let pool = PgPoolOptions::new().max_connections(POSTGRES_CONNECTIONS).test_before_acquire(false).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(opts).await?;
            return Ok(Database::new(Pool::Postgres(pool)));
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        private_file(std::path::Path::new(path));
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // What is deleted or overwritten is zeroed in the file, not left in free pages.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new().max_connections(SQLITE_CONNECTIONS).test_before_acquire(false).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(opts).await?;
        Ok(Database::new(Pool::Sqlite(pool)))
    }

    /// A SQLite file for one app of many: connections open on first use and close when idle,
    /// so a thousand quiet apps hold no connections.
    pub fn sqlite_lazy(path: &std::path::Path) -> Database {
        private_file(path);
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // What is deleted or overwritten is zeroed in the file, not left in free pages.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(opts);
        Database::new(Pool::Sqlite(pool))
    }

    pub fn dialect(&self) -> Dialect {
        match &self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// For `/readyz`: one round trip.
    pub async fn ping(&self) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
        }
        Ok(())
    }

    /// A description for banners and logs, without credentials.
    pub fn describe(&self) -> String {
        match &self.pool {
            Pool::Sqlite(p) => {
                let opts = p.connect_options();
                format!("SQLite {}", opts.get_filename().display())
            }
            Pool::Postgres(p) => {
                let opts = p.connect_options();
                format!("PostgreSQL {}:{}/{}", opts.get_host(), opts.get_port(), opts.get_database().unwrap_or("postgres"))
            }
        }
    }

    pub async fn close(&self) {
        if let Some(l) = &self.leases {
            l.close().await;
        }
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}
