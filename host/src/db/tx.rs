//! `db.transaction(async fn(tx) { … })`: one connection held for the transaction's statements,
//! between the guest's `BEGIN` and its `COMMIT` or `ROLLBACK`.
//!
//! A transaction that is never finished — its run trapped, looped past its deadline, or was
//! cancelled with its client — ends by closing its connection, which makes the database roll
//! it back: a connection with an open transaction never goes back for another request. On
//! PostgreSQL it is a lease in the tenant's role, with the tenant's statement timeout, counted
//! against the tenant's connections while open; on SQLite it begins `IMMEDIATE` (the write
//! lock taken at once, so two transactions never deadlock upgrading a read).
//!
//! Both databases run an app's transactions one at a time (SQLite's write lock; on PostgreSQL
//! a transaction-level advisory lock on the app), so the same program means the same thing on
//! both: a read-then-write inside a transaction never loses an update.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use tokio::sync::OwnedSemaphorePermit;

use super::lease::Lease;
use super::{Database, DbError, Pool};

/// The first key of the apps' transaction locks (`ftx`), apart from any other advisory lock
/// (the two-key form's keys never meet the one-key form's, which migrations use).
const LOCK_CLASS: i32 = 0x0066_7478;

pub struct Tx {
    conn: tokio::sync::Mutex<Held>,
}

enum Held {
    Pg { lease: Lease, _permit: Option<OwnedSemaphorePermit> },
    Sqlite { conn: Option<PoolConnection<Sqlite>>, open: bool },
    Finished,
}

impl Drop for Held {
    fn drop(&mut self) {
        // An unfinished SQLite transaction: the connection leaves the pool and closes (the
        // lease of a PostgreSQL one does the same by itself).
        if let Held::Sqlite { conn, open: true } = self
            && let Some(c) = conn.take()
        {
            drop(c.detach());
        }
    }
}

impl Database {
    /// Begins a transaction on a connection of its own.
    pub async fn begin(&self) -> Result<Arc<Tx>, DbError> {
        let held = match &self.pool {
            Pool::Sqlite(pool) => {
                // Held before `BEGIN` runs: if this future is dropped while `BEGIN` waits for
                // the write lock (its run's deadline), the connection is closed, never put
                // back with a transaction it may still open.
                let mut held = Held::Sqlite { conn: Some(pool.acquire().await?), open: true };
                if let Held::Sqlite { conn: Some(c), .. } = &mut held {
                    sqlx::query("BEGIN IMMEDIATE").execute(&mut **c).await?;
                }
                held
            }
            Pool::Postgres(_) => {
                let (statement_ms, role, permit) = self.budget_for_transaction().await?;
                let mut lease = self.leases()?.acquire_as(statement_ms, role).await?;
                lease.set_in_transaction(true);
                let r = sqlx::query("BEGIN").execute(&mut *lease).await;
                lease.settle(&r);
                r?;
                // One transaction of the app at a time, as on SQLite: a read-then-write in one
                // never loses an update to another (READ COMMITTED alone would).
                let r = sqlx::query("SELECT pg_advisory_xact_lock($1, $2)").bind(LOCK_CLASS).bind(self.lock_key()).execute(&mut *lease).await;
                lease.settle(&r);
                r?;
                Held::Pg { lease, _permit: permit }
            }
        };
        Ok(Arc::new(Tx { conn: tokio::sync::Mutex::new(held) }))
    }

    /// The app's transaction lock: its schema's, or the database's when it has none.
    fn lock_key(&self) -> i32 {
        let name = self.schema().unwrap_or("");
        // FNV-1a: stable across processes and versions, as two hosts sharing a database need.
        let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        h as i32
    }

    /// This database, with every statement of its queries in `tx`.
    pub fn pinned_to(&self, tx: Arc<Tx>) -> Database {
        Database { pinned: Some(tx), ..self.clone() }
    }
}

impl Tx {
    /// Commits (`commit`) or rolls back; either way the transaction is over.
    pub async fn finish(&self, commit: bool) -> Result<(), DbError> {
        let mut held = self.conn.lock().await;
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let r = match &mut *held {
            Held::Pg { lease, .. } => {
                let r = sqlx::query(sql).execute(&mut **lease).await;
                lease.settle(&r);
                if r.is_ok() {
                    lease.set_in_transaction(false);
                }
                r.map(drop)
            }
            Held::Sqlite { conn: Some(c), open } => {
                let r = sqlx::query(sql).execute(&mut **c).await;
                if r.is_ok() {
                    *open = false;
                }
                r.map(drop)
            }
            Held::Sqlite { conn: None, .. } | Held::Finished => return Err(DbError::Invalid("the transaction is over".into())),
        };
        // A failed COMMIT leaves nothing to keep: the connection goes (and with it the
        // transaction, rolled back by the database).
        *held = Held::Finished;
        Ok(r?)
    }

    pub(super) async fn run_pg<T>(&self, query: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>) -> Result<T, DbError> {
        let mut held = self.conn.lock().await;
        let Held::Pg { lease, .. } = &mut *held else { return Err(DbError::Invalid("the transaction is over".into())) };
        let r = query(&mut **lease).await;
        lease.settle(&r);
        Ok(r?)
    }

    pub(super) async fn run_sqlite<T>(&self, query: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, sqlx::Error>) -> Result<T, DbError> {
        let mut held = self.conn.lock().await;
        let Held::Sqlite { conn: Some(c), open: true } = &mut *held else { return Err(DbError::Invalid("the transaction is over".into())) };
        Ok(query(&mut **c).await?)
    }
}
