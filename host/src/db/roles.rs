//! A PostgreSQL role per tenant: on a multi-tenant host, every statement of a tenant's requests
//! and migrations runs as a role that owns only that tenant's schema (`SET ROLE` on the leased
//! connection, kept while the connection serves that tenant), so even a mistake in the SQL the
//! host builds cannot read or write another tenant's schema or the host's own: PostgreSQL
//! refuses it. Roles cannot log in; the host's user is made a member of each so it may take
//! them on. Roles are global to the PostgreSQL server, so their names carry the database's:
//! `fitz_<8 hex digits of the database's name>_<namespace>`.
//!
//! Creating roles needs `CREATEROLE` (or a superuser). A host whose user has neither runs
//! without tenant roles and says so at start.

use sqlx::Row;

use super::sql::quote;
use super::{Database, DbError, Pool};

#[derive(Clone, Debug)]
pub struct Roles {
    prefix: String,
}

impl Roles {
    /// The tenant roles of `db`'s database, or `None` when its user may not create roles.
    pub async fn detect(db: &Database) -> Result<Option<Roles>, DbError> {
        let Pool::Postgres(p) = &db.pool else { return Ok(None) };
        let row = sqlx::query("SELECT current_database()::text, (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user)").fetch_one(p).await?;
        let (database, may): (String, Option<bool>) = (row.get(0), row.get(1));
        if may != Some(true) {
            return Ok(None);
        }
        Ok(Some(Roles { prefix: Self::prefix_for(&database) }))
    }

    /// What the names of database `database`'s tenant roles start with.
    pub fn prefix_for(database: &str) -> String {
        // FNV-1a: stable across builds and platforms, unlike std's hasher.
        let hash = database.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        format!("fitz_{:08x}_", hash as u32)
    }

    /// The role of namespace `ns`.
    pub fn role_of(&self, ns: &str) -> String {
        format!("{}{ns}", self.prefix)
    }

    /// Makes the role of `ns` exist and own `schema` and everything in it (tables made before
    /// roles, by the host's user, included). Two hosts may do this at once for one new app:
    /// the statements run in one transaction under an advisory lock on the role's name, so
    /// they take turns (concurrent `CREATE ROLE`, `GRANT` and `CREATE SCHEMA` otherwise collide
    /// in the catalog's unique indexes), and the second finds everything made.
    pub async fn ensure(&self, db: &Database, ns: &str, schema: &str) -> Result<(), DbError> {
        let Pool::Postgres(p) = &db.pool else { return Ok(()) };
        let role = self.role_of(ns);
        let mut tx = p.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(format!("fitz-role:{role}")).execute(&mut *tx).await?;
        let exists = sqlx::query("SELECT 1 FROM pg_roles WHERE rolname = $1").bind(&role).fetch_optional(&mut *tx).await?.is_some();
        if !exists {
            sqlx::query(&format!("CREATE ROLE {} NOLOGIN", quote(&role))).execute(&mut *tx).await?;
            sqlx::query(&format!("GRANT {} TO CURRENT_USER", quote(&role))).execute(&mut *tx).await?;
        }
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}", quote(schema), quote(&role))).execute(&mut *tx).await?;
        sqlx::query(&format!("ALTER SCHEMA {} OWNER TO {}", quote(schema), quote(&role))).execute(&mut *tx).await?;
        let others: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) <> $2",
        )
        .bind(schema)
        .bind(&role)
        .fetch_all(&mut *tx)
        .await?;
        for table in others {
            sqlx::query(&format!("ALTER TABLE {}.{} OWNER TO {}", quote(schema), quote(&table), quote(&role))).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops every tenant role made for database `database` (through `admin`, a connection to
    /// any database of the server): roles belong to the server and outlive a dropped database.
    pub async fn drop_all(admin: &Database, database: &str) -> Result<(), DbError> {
        let Pool::Postgres(p) = &admin.pool else { return Ok(()) };
        let prefix = Self::prefix_for(database);
        let roles: Vec<String> = sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE starts_with(rolname, $1)").bind(&prefix).fetch_all(p).await?;
        for r in roles {
            admin.execute(&format!("DROP ROLE IF EXISTS {}", quote(&r))).await?;
        }
        Ok(())
    }

    /// Drops the role of `ns` (after its schema is gone).
    pub async fn drop(&self, db: &Database, ns: &str) -> Result<(), DbError> {
        db.execute(&format!("DROP ROLE IF EXISTS {}", quote(&self.role_of(ns)))).await.map(drop)
    }
}
