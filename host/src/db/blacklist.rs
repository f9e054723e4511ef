//! The persistent token blacklist (DESIGN.md §6): `fitz_token_blacklist(jti, expires_at)`,
//! created on first use. Expiry times are Unix seconds; "now" is the host's clock, so SQLite
//! and PostgreSQL agree.

use super::{Database, DbError, Pool, unix_seconds as now};

pub const TABLE: &str = "fitz_token_blacklist";
/// Rows removed per statement by `cleanup_expired`, so a large cleanup never holds a long lock.
pub const CLEANUP_BATCH: i64 = 1000;

/// The blacklist's statements for one database and schema, built when the table is first
/// ensured rather than on every request.
pub struct Statements {
    revoke: String,
    check: String,
    cleanup: String,
}

/// A token id either database takes: the same refusal on both for one with a NUL character
/// (a JWT's claims are JSON, so a token can carry one).
fn storable(jti: &str) -> Result<(), DbError> {
    if jti.contains('\0') { Err(DbError::Unstorable(super::sql::NUL_TEXT)) } else { Ok(()) }
}

impl Database {
    async fn ensure_blacklist(&self) -> Result<Statements, DbError> {
        let table = self.table(TABLE);
        for ddl in [
            format!("CREATE TABLE IF NOT EXISTS {table} (jti TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)"),
            format!("CREATE INDEX IF NOT EXISTS {TABLE}_expires_at ON {table} (expires_at)"),
        ] {
            self.request_ddl(&ddl).await?;
        }
        let p = |n| self.dialect().placeholder(n);
        Ok(Statements {
            revoke: format!("INSERT INTO {table} (jti, expires_at) VALUES ({}, {}) ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at", p(1), p(2)),
            check: format!("SELECT 1 FROM {table} WHERE jti = {} AND expires_at > {}", p(1), p(2)),
            cleanup: format!("DELETE FROM {table} WHERE jti IN (SELECT jti FROM {table} WHERE expires_at <= {} LIMIT {CLEANUP_BATCH})", p(1)),
        })
    }

    /// A table the host keeps for an app, created by a request: on the tenant's own
    /// connections, as its own role, in the schema its app's migration made before any
    /// request (a tenant's role may not create schemas).
    pub(super) async fn request_ddl(&self, ddl: &str) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(_) => self.execute_ddl(ddl).await.map(drop),
            Pool::Postgres(_) => {
                // Two hosts creating it at once can collide in the catalog; the second try finds it.
                if self.leased(async |c| sqlx::query(ddl).execute(c).await).await.is_err() {
                    self.leased(async |c| sqlx::query(ddl).execute(c).await).await?;
                }
                Ok(())
            }
        }
    }

    /// Revokes `jti` until `expires_at`; revoking again moves the expiry. Idempotent, so a
    /// dead pooled connection is retried once.
    pub async fn blacklist(&self, jti: &str, expires_at: i64) -> Result<(), DbError> {
        match self.blacklist_once(jti, expires_at).await {
            Err(DbError::Unavailable) => self.blacklist_once(jti, expires_at).await,
            other => other,
        }
    }

    async fn blacklist_once(&self, jti: &str, expires_at: i64) -> Result<(), DbError> {
        storable(jti)?;
        let sql = &self.ensure_blacklist_once().await?.revoke;
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(sql).bind(jti).bind(expires_at).execute(pool).await?,
            Pool::Postgres(_) => {
                self.leased(async |c| sqlx::query(sql).bind(jti).bind(expires_at).execute(c).await).await?;
                return Ok(());
            }
        };
        Ok(())
    }

    /// Whether `jti` is revoked; entries past their expiry no longer count.
    pub async fn is_blacklisted(&self, jti: &str) -> Result<bool, DbError> {
        match self.is_blacklisted_once(jti).await {
            Err(DbError::Unavailable) => self.is_blacklisted_once(jti).await,
            other => other,
        }
    }

    async fn is_blacklisted_once(&self, jti: &str) -> Result<bool, DbError> {
        storable(jti)?;
        let sql = &self.ensure_blacklist_once().await?.check;
        let found = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(sql).bind(jti).bind(now()).fetch_optional(pool).await?.is_some(),
            Pool::Postgres(_) => self.leased(async |c| sqlx::query(sql).bind(jti).bind(now()).fetch_optional(c).await).await?.is_some(),
        };
        Ok(found)
    }

    /// Deletes expired entries in batches; returns how many.
    pub async fn cleanup_expired(&self) -> Result<i64, DbError> {
        let sql = &self.ensure_blacklist_once().await?.cleanup;
        let cutoff = now();
        let mut total = 0i64;
        loop {
            let n = match &self.pool {
                Pool::Sqlite(pool) => sqlx::query(sql).bind(cutoff).execute(pool).await?.rows_affected(),
                Pool::Postgres(_) => self.leased(async |c| sqlx::query(sql).bind(cutoff).execute(c).await).await?.rows_affected(),
            } as i64;
            total += n;
            if n < CLEANUP_BATCH {
                return Ok(total);
            }
        }
    }

    pub(super) async fn ensure_blacklist_once(&self) -> Result<&Statements, DbError> {
        self.blacklist_ready().get_or_try_init(|| self.ensure_blacklist()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn revoke_check_expire_and_clean_up() {
        let dir = std::env::temp_dir().join(format!("fitz-blacklist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let db = Database::connect(&format!("sqlite:{}", dir.join("b.db").display())).await.expect("sqlite");
        assert!(!db.is_blacklisted("a").await.expect("check"));
        db.blacklist("a", now() + 60).await.expect("revoke");
        db.blacklist("a", now() + 120).await.expect("revoking again is fine");
        assert!(db.is_blacklisted("a").await.expect("check"));
        db.blacklist("old", now() - 1).await.expect("revoke");
        assert!(!db.is_blacklisted("old").await.expect("check"), "expired entries no longer count");
        for i in 0..(CLEANUP_BATCH + 5) {
            db.blacklist(&format!("x{i}"), now() - 10).await.expect("revoke");
        }
        assert_eq!(db.cleanup_expired().await.expect("cleanup"), CLEANUP_BATCH + 6, "in batches, all of them");
        assert_eq!(db.cleanup_expired().await.expect("cleanup"), 0);
        assert!(db.is_blacklisted("a").await.expect("check"), "live entries stay");
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
