//! Refresh tokens (DESIGN notes: "Refresh tokens"): opaque, 256 random bits, stored only as
//! their SHA-256, each in a *family* started by `auth.issue` at login. `auth.refresh` spends
//! a token (a compare-and-set: of two concurrent spends one wins) for the next pair of the
//! family. A spent token presented again revokes the whole family and blacklists every access
//! token issued from it (RFC 9700 §4.14.2) — except a retry of the latest spend within the
//! grace window, which gets the same pair back (a flaky network does not log users out).
//!
//! The same pair is kept for that retry sealed under a key only the spent token derives, so
//! what the database holds lets nobody sign in: a reader of the tables sees hashes, claims,
//! and ciphertexts whose keys are tokens it does not have.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::{Database, DbError, Pool};

pub const FAMILIES: &str = "fitz_refresh_families";
pub const TOKENS: &str = "fitz_refresh_tokens";
const PREFIX: &str = "fitz_rt_";
/// 32 random bytes, base64url without padding.
const TOKEN_CHARS: usize = 43;

/// An app's refresh settings (its `FITZ_ACCESS_TTL`, `FITZ_REFRESH_TTL`, `FITZ_REFRESH_GRACE`,
/// in seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// How long an access token of a pair lives.
    pub access_ttl: i64,
    /// How long a family lives from its login, refreshed or not.
    pub family_ttl: i64,
    /// How long after a spend its retry gets the same pair.
    pub grace: i64,
}

impl Settings {
    pub const DEFAULT: Settings = Settings { access_ttl: 15 * 60, family_ttl: 30 * 24 * 60 * 60, grace: 30 };

    pub fn from_env(env: &HashMap<String, String>) -> Settings {
        let read = |k: &str, lo: i64, d: i64| env.get(k).and_then(|v| v.trim().parse::<i64>().ok()).filter(|v| *v >= lo).unwrap_or(d);
        let d = Settings::DEFAULT;
        Settings { access_ttl: read("FITZ_ACCESS_TTL", 1, d.access_ttl), family_ttl: read("FITZ_REFRESH_TTL", 1, d.family_ttl), grace: read("FITZ_REFRESH_GRACE", 0, d.grace) }
    }
}

/// A new pair: the access token, the refresh token, and the access token's lifetime.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

/// Why a refresh token was not taken, in words a client may see.
#[derive(Debug)]
pub enum RefreshError {
    /// Not a token of this app (malformed, forged, another app's, or cleaned up).
    Invalid,
    /// Its family is past its lifetime.
    Expired,
    /// Its family was revoked (logout, or a reuse seen before).
    Revoked,
    /// A spent token again, past the grace window: the family is revoked now.
    Reused,
    /// The access token could not be signed (the app's key or claims).
    Sign(String),
    Db(DbError),
}

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefreshError::Invalid => f.write_str("invalid refresh token"),
            RefreshError::Expired => f.write_str("refresh token expired"),
            RefreshError::Revoked => f.write_str("refresh token revoked"),
            RefreshError::Reused => f.write_str("refresh token reused: the session is revoked"),
            RefreshError::Sign(e) => write!(f, "cannot sign the access token: {e}"),
            RefreshError::Db(e) => e.fmt(f),
        }
    }
}

impl From<DbError> for RefreshError {
    fn from(e: DbError) -> Self {
        RefreshError::Db(e)
    }
}

impl From<sqlx::Error> for RefreshError {
    fn from(e: sqlx::Error) -> Self {
        RefreshError::Db(e.into())
    }
}

/// Signs an access token for a family: its claims (as `issue` was given them) with `jti`,
/// `exp` and `sid` (the family) added.
pub type Signer<'a> = &'a (dyn Fn(&[(String, String)]) -> Result<String, String> + Sync);

/// The statements, built when the tables are first ensured.
pub struct Statements {
    new_family: String,
    new_token: String,
    lookup: String,
    spend: String,
    drop_token: String,
    child_live: String,
    revoke_family: String,
    blacklist_family: String,
    cleanup_tokens: String,
    cleanup_families: String,
}

/// A value bound to a statement.
enum P<'a> {
    T(&'a str),
    I(i64),
}

fn random_b64(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    B64.encode(b)
}

fn new_token() -> String {
    format!("{PREFIX}{}", random_b64(32))
}

/// A token this host could have made: the prefix and 43 base64url characters. Anything else
/// is refused before the database is asked.
fn well_formed(token: &str) -> bool {
    token.strip_prefix(PREFIX).is_some_and(|t| t.len() == TOKEN_CHARS && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

fn digest(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key a spent token seals its successor pair under: only the token's holder derives it.
/// Each key seals one pair only (a token is spent once), so the nonce may be fixed (zero).
fn grace_cipher(spent: &str) -> ChaCha20Poly1305 {
    let mut h = Sha256::new();
    h.update(b"fitz refresh grace\0");
    h.update(spent.as_bytes());
    ChaCha20Poly1305::new(&h.finalize())
}

fn seal(spent: &str, pair: &Pair) -> String {
    let plain = serde_json::to_vec(pair).unwrap_or_default();
    B64.encode(grace_cipher(spent).encrypt(&Nonce::default(), plain.as_slice()).unwrap_or_default())
}

fn open(spent: &str, sealed: &str) -> Option<Pair> {
    let bytes = B64.decode(sealed).ok()?;
    let plain = grace_cipher(spent).decrypt(&Nonce::default(), bytes.as_slice()).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// A token's row with its family's, as `lookup` reads it.
type FoundRow = (String, String, Option<i64>, Option<String>, Option<String>, i64, Option<i64>);

struct Found {
    family: String,
    claims: String,
    spent_at: Option<i64>,
    child_hash: Option<String>,
    sealed: Option<String>,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl From<FoundRow> for Found {
    fn from((family, claims, spent_at, child_hash, sealed, expires_at, revoked_at): FoundRow) -> Found {
        Found { family, claims, spent_at, child_hash, sealed, expires_at, revoked_at }
    }
}

impl Database {
    async fn lookup(&self, st: &Statements, hash: &str) -> Result<Option<Found>, DbError> {
        Ok(self.fetch_params::<FoundRow>(&st.lookup, &[P::T(hash)]).await?.map(Found::from))
    }

    async fn ensure_refresh(&self) -> Result<Statements, DbError> {
        // The blacklist takes a revoked family's access tokens.
        self.ensure_blacklist_once().await?;
        let (families, tokens, blacklist) = (self.table(FAMILIES), self.table(TOKENS), self.table(super::blacklist::TABLE));
        for ddl in [
            format!(
                "CREATE TABLE IF NOT EXISTS {families} (family TEXT PRIMARY KEY, claims TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {tokens} (token_hash TEXT PRIMARY KEY, family TEXT NOT NULL, access_jti TEXT NOT NULL, access_exp BIGINT NOT NULL, issued_at BIGINT NOT NULL, spent_at BIGINT, child_hash TEXT, sealed TEXT)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {TOKENS}_family ON {tokens} (family)"),
        ] {
            self.request_ddl(&ddl).await?;
        }
        let p = |n| self.dialect().placeholder(n);
        Ok(Statements {
            new_family: format!("INSERT INTO {families} (family, claims, created_at, expires_at) VALUES ({}, {}, {}, {})", p(1), p(2), p(3), p(4)),
            new_token: format!("INSERT INTO {tokens} (token_hash, family, access_jti, access_exp, issued_at) VALUES ({}, {}, {}, {}, {})", p(1), p(2), p(3), p(4), p(5)),
            lookup: format!(
                "SELECT t.family, f.claims, t.spent_at, t.child_hash, t.sealed, f.expires_at, f.revoked_at FROM {tokens} t JOIN {families} f ON f.family = t.family WHERE t.token_hash = {}",
                p(1)
            ),
            // The compare-and-set: only an unspent token is spent, once.
            spend: format!("UPDATE {tokens} SET spent_at = {}, child_hash = {}, sealed = {} WHERE token_hash = {} AND spent_at IS NULL", p(1), p(2), p(3), p(4)),
            drop_token: format!("DELETE FROM {tokens} WHERE token_hash = {}", p(1)),
            child_live: format!("SELECT 1 FROM {tokens} WHERE token_hash = {} AND spent_at IS NULL", p(1)),
            revoke_family: format!("UPDATE {families} SET revoked_at = {} WHERE family = {} AND revoked_at IS NULL", p(1), p(2)),
            blacklist_family: format!(
                "INSERT INTO {blacklist} (jti, expires_at) SELECT access_jti, access_exp FROM {tokens} WHERE family = {} AND access_exp > {} ON CONFLICT (jti) DO NOTHING",
                p(1),
                p(2)
            ),
            cleanup_tokens: format!("DELETE FROM {tokens} WHERE family IN (SELECT family FROM {families} WHERE expires_at <= {} OR revoked_at IS NOT NULL)", p(1)),
            cleanup_families: format!("DELETE FROM {families} WHERE expires_at <= {} OR revoked_at IS NOT NULL", p(1)),
        })
    }

    async fn refresh_statements(&self) -> Result<&Statements, DbError> {
        self.refresh_ready().get_or_try_init(|| self.ensure_refresh()).await
    }

    /// Runs a statement on either database; the rows it changed.
    async fn exec_params(&self, sql: &str, ps: &[P<'_>]) -> Result<u64, DbError> {
        macro_rules! bound {
            () => {{
                let mut q = sqlx::query(sql);
                for p in ps {
                    q = match p {
                        P::T(s) => q.bind(*s),
                        P::I(i) => q.bind(*i),
                    };
                }
                q
            }};
        }
        Ok(match &self.pool {
            Pool::Sqlite(pool) => bound!().execute(pool).await?.rows_affected(),
            Pool::Postgres(_) => self.leased(async |c| bound!().execute(c).await).await?.rows_affected(),
        })
    }

    /// The first row of a query on either database.
    async fn fetch_params<T>(&self, sql: &str, ps: &[P<'_>]) -> Result<Option<T>, DbError>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        macro_rules! bound {
            () => {{
                let mut q = sqlx::query_as::<_, T>(sql);
                for p in ps {
                    q = match p {
                        P::T(s) => q.bind(*s),
                        P::I(i) => q.bind(*i),
                    };
                }
                q
            }};
        }
        Ok(match &self.pool {
            Pool::Sqlite(pool) => bound!().fetch_optional(pool).await?,
            Pool::Postgres(_) => self.leased(async |c| bound!().fetch_optional(c).await).await?,
        })
    }

    /// A token of `family`, stored, with a freshly signed access token: the pair to hand out.
    async fn mint(&self, st: &Statements, family: &str, claims: &[(String, String)], settings: Settings, now: i64, sign: Signer<'_>) -> Result<(Pair, String), RefreshError> {
        let jti = random_b64(16);
        let exp = now.saturating_add(settings.access_ttl);
        let mut all: Vec<(String, String)> = claims.iter().filter(|(k, _)| !matches!(k.as_str(), "jti" | "exp" | "sid")).cloned().collect();
        all.extend([("jti".into(), jti.clone()), ("exp".into(), exp.to_string()), ("sid".into(), family.to_string())]);
        let access_token = sign(&all).map_err(RefreshError::Sign)?;
        let refresh_token = new_token();
        let hash = digest(&refresh_token);
        self.exec_params(&st.new_token, &[P::T(&hash), P::T(family), P::T(&jti), P::I(exp), P::I(now)]).await?;
        Ok((Pair { access_token, refresh_token, expires_in: settings.access_ttl }, hash))
    }

    /// Starts a family for a login: its first pair.
    pub async fn issue_refresh(&self, claims: &[(String, String)], settings: Settings, sign: Signer<'_>) -> Result<Pair, RefreshError> {
        let st = self.refresh_statements().await?;
        let now = super::unix_seconds();
        let family = random_b64(16);
        let text = serde_json::to_string(claims).unwrap_or_default();
        self.exec_params(&st.new_family, &[P::T(&family), P::T(&text), P::I(now), P::I(now.saturating_add(settings.family_ttl))]).await?;
        Ok(self.mint(st, &family, claims, settings, now, sign).await?.0)
    }

    /// Spends `token` for the family's next pair (see the module's comment).
    pub async fn refresh(&self, token: &str, settings: Settings, sign: Signer<'_>) -> Result<Pair, RefreshError> {
        if !well_formed(token) {
            return Err(RefreshError::Invalid);
        }
        let st = self.refresh_statements().await?;
        let hash = digest(token);
        let now = super::unix_seconds();
        let mut found = self.lookup(st, &hash).await?.ok_or(RefreshError::Invalid)?;
        if found.revoked_at.is_some() {
            return Err(RefreshError::Revoked);
        }
        if now >= found.expires_at {
            return Err(RefreshError::Expired);
        }
        if found.spent_at.is_none() {
            let claims: Vec<(String, String)> = serde_json::from_str(&found.claims).map_err(|_| RefreshError::Invalid)?;
            let (pair, child) = self.mint(st, &found.family, &claims, settings, now, sign).await?;
            let sealed = seal(token, &pair);
            if self.exec_params(&st.spend, &[P::I(now), P::T(&child), P::T(&sealed), P::T(&hash)]).await? == 1 {
                return Ok(pair);
            }
            // Another spend won the race: its pair is the one, and ours never existed.
            self.exec_params(&st.drop_token, &[P::T(&child)]).await?;
            found = self.lookup(st, &hash).await?.ok_or(RefreshError::Invalid)?;
        }
        // Spent: a retry of the latest spend, within the grace window, gets its pair again.
        if let (Some(spent_at), Some(child), Some(sealed)) = (found.spent_at, &found.child_hash, &found.sealed)
            && now - spent_at <= settings.grace
            && found.revoked_at.is_none()
            && self.fetch_params::<(i32,)>(&st.child_live, &[P::T(child)]).await?.is_some()
            && let Some(pair) = open(token, sealed).filter(|p| digest(&p.refresh_token) == *child)
        {
            return Ok(pair);
        }
        self.revoke_family(st, &found.family, now).await?;
        Err(RefreshError::Reused)
    }

    /// Revokes the family `token` belongs to (logout); an unknown token changes nothing.
    pub async fn revoke_refresh(&self, token: &str) -> Result<(), DbError> {
        if !well_formed(token) {
            return Ok(());
        }
        let st = self.refresh_statements().await?;
        if let Some(found) = self.lookup(st, &digest(token)).await? {
            self.revoke_family(st, &found.family, super::unix_seconds()).await?;
        }
        Ok(())
    }

    /// Marks the family revoked and blacklists its access tokens that have not expired, so an
    /// access token issued from it is refused wherever the app checks the blacklist.
    async fn revoke_family(&self, st: &Statements, family: &str, now: i64) -> Result<(), DbError> {
        self.exec_params(&st.revoke_family, &[P::I(now), P::T(family)]).await?;
        self.exec_params(&st.blacklist_family, &[P::T(family), P::I(now)]).await?;
        Ok(())
    }

    /// Removes families past their lifetime or revoked (their access tokens are in the
    /// blacklist until they expire), with their tokens; how many families. An app that never
    /// issued a refresh token has no tables, and none are made for it here.
    pub async fn cleanup_refresh(&self) -> Result<i64, DbError> {
        if self.refresh_ready().get().is_none() {
            let (sql, name) = match self.dialect() {
                super::Dialect::Sqlite => ("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", TOKENS.to_string()),
                super::Dialect::Postgres => ("SELECT 1 WHERE to_regclass($1) IS NOT NULL", self.table(TOKENS)),
            };
            if self.fetch_params::<(i32,)>(sql, &[P::T(&name)]).await?.is_none() {
                return Ok(0);
            }
        }
        let st = self.refresh_statements().await?;
        let now = super::unix_seconds();
        self.exec_params(&st.cleanup_tokens, &[P::I(now)]).await?;
        Ok(self.exec_params(&st.cleanup_families, &[P::I(now)]).await? as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b), "{a}");
        assert!(!well_formed(&a[..a.len() - 1]), "truncated");
        assert!(!well_formed(&format!("{a}x")), "too long");
        assert!(!well_formed(&a.replacen(PREFIX, "fitz_xx_", 1)), "another prefix");
        assert!(!well_formed(&format!("{}!", &a[..a.len() - 1])), "not base64url");
    }

    #[test]
    fn a_sealed_pair_opens_only_with_the_spent_token() {
        let pair = Pair { access_token: "a.b.c".into(), refresh_token: new_token(), expires_in: 900 };
        let spent = new_token();
        let sealed = seal(&spent, &pair);
        assert!(!sealed.contains(&pair.refresh_token) && !sealed.contains("a.b.c"));
        assert_eq!(open(&spent, &sealed), Some(pair));
        assert_eq!(open(&new_token(), &sealed), None, "another token's key");
        let mut bytes = B64.decode(&sealed).expect("b64");
        bytes[0] ^= 1;
        assert_eq!(open(&spent, &B64.encode(bytes)), None, "a changed ciphertext");
    }

    #[test]
    fn settings_read_the_apps_values_and_keep_defaults_for_bad_ones() {
        let env: HashMap<String, String> =
            [("FITZ_ACCESS_TTL", "60"), ("FITZ_REFRESH_TTL", "-5"), ("FITZ_REFRESH_GRACE", "0")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        assert_eq!(Settings::from_env(&env), Settings { access_ttl: 60, family_ttl: Settings::DEFAULT.family_ttl, grace: 0 });
    }
}
