//! The seed program's API written directly in Rust, without a sandbox: axum, sqlx
//! (PostgreSQL), argon2 and jsonwebtoken, with the same status codes, bodies, Argon2 parameters and token
//! checks (HS256 pinned, `exp` required, 30 s leeway, persistent blacklist). It is the floor
//! the benchmarks measure Fitz against, built as two servers that differ only in what is
//! around the handlers:
//!
//! - `plain-auth`: sqlx's pool and the system allocator, the way an axum + sqlx app is
//!   usually written (`PLAIN_PING=0` turns off sqlx's checkout ping);
//! - `plain-auth-lean`: the Fitz host's own connection leases (`fitz_host::db::lease`), its
//!   allocator (mimalloc) and its thread-per-core serving (`fitz_host::server::per_core`),
//!   so that what separates it from Fitz is the sandbox alone.
//!
//! `DATABASE_URL=postgres://… JWT_SECRET=… plain-auth [PORT]`.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fitz_host::db::lease::PgLeases;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};

/// Where the handlers' queries run.
enum Connections {
    Pool(PgPool),
    Leases(Arc<PgLeases>),
}

/// Runs `$q.$method(executor)` on a pooled or a leased connection (a lease is settled with
/// the result, as the host does). Handlers answer any error alike, so the lease's error need
/// not keep the driver's.
macro_rules! on {
    ($db:expr, $q:expr, $method:ident) => {
        match &$db {
            Connections::Pool(pool) => $q.$method(pool).await,
            Connections::Leases(leases) => leases.run(async |c| $q.$method(c).await).await.map_err(|_| sqlx::Error::PoolTimedOut),
        }
    };
}

struct AppState {
    db: Connections,
    secret: String,
    /// Argon2 runs on the blocking pool, at most one hash per core: more would only thrash
    /// the caches (each hash touches 19 MiB) and grow the heap.
    hashing: tokio::sync::Semaphore,
}

type Shared = Arc<AppState>;

#[derive(Serialize)]
struct User {
    id: i64,
    email: String,
    name: String,
    role: String,
    password_hash: String,
}

#[derive(Serialize)]
struct Article {
    id: i64,
    title: String,
    body: String,
    user_id: i64,
}

fn user(r: PgRow) -> User {
    User { id: r.get(0), email: r.get(1), name: r.get(2), role: r.get(3), password_hash: r.get(4) }
}

fn article(r: PgRow) -> Article {
    Article { id: r.get(0), title: r.get(1), body: r.get(2), user_id: r.get(3) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleIn {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    jti: String,
    exp: i64,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn internal() -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// The words the seed's host uses for a token it does not accept.
fn jwt_error(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid",
        ErrorKind::InvalidSignature => "invalid token signature",
        ErrorKind::InvalidAlgorithm => "token signed with another algorithm",
        ErrorKind::MissingRequiredClaim(_) => "token has no expiry",
        _ => "invalid token",
    }
}

/// The authenticated user and the token's claims.
struct Authed {
    user: User,
    claims: Claims,
}

impl FromRequestParts<Shared> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        let unauthorized = |m: &str| error(StatusCode::UNAUTHORIZED, m);
        let raw = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(|| unauthorized("missing Authorization header"))?;
        let token = match raw.split(' ').collect::<Vec<_>>()[..] {
            ["Bearer", t] => t,
            _ => return Err(unauthorized("expected 'Bearer <token>'")),
        };
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 30;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(state.secret.as_bytes()), &v).map_err(|e| unauthorized(jwt_error(&e)))?.claims;
        let q = sqlx::query("SELECT 1 FROM fitz_token_blacklist WHERE jti = $1 AND expires_at > $2").bind(&claims.jti).bind(now());
        let revoked = on!(state.db, q, fetch_optional).map_err(|_| unauthorized("database unavailable"))?;
        if revoked.is_some() {
            return Err(unauthorized("token revoked"));
        }
        let q = sqlx::query("SELECT id, email, name, role, password_hash FROM users WHERE email = $1 LIMIT 1").bind(&claims.sub);
        let user = on!(state.db, q, fetch_optional).map_err(|_| unauthorized("database unavailable"))?.map(user).ok_or_else(|| unauthorized("not found"))?;
        Ok(Authed { user, claims })
    }
}

#[allow(clippy::result_large_err)] // an axum response is the natural error here
fn require(user: &User, roles: &[&str]) -> Result<(), Response> {
    if roles.contains(&user.role.as_str()) {
        return Ok(());
    }
    Err((StatusCode::FORBIDDEN, Json(json!({ "error": "forbidden", "current_role": user.role, "required_roles": roles }))).into_response())
}

async fn login(State(s): State<Shared>, Json(creds): Json<Credentials>) -> Response {
    let invalid = || error(StatusCode::UNAUTHORIZED, "invalid credentials");
    let q = sqlx::query("SELECT id, email, name, role, password_hash FROM users WHERE email = $1 LIMIT 1").bind(&creds.email);
    let user = match on!(s.db, q, fetch_optional) {
        Ok(Some(u)) => user(u),
        Ok(None) => return invalid(),
        Err(_) => return internal(),
    };
    let phc = user.password_hash.clone();
    let Ok(_permit) = s.hashing.acquire().await else { return internal() };
    let ok =
        tokio::task::spawn_blocking(move || PasswordHash::new(&phc).is_ok_and(|h| Argon2::default().verify_password(creds.password.as_bytes(), &h).is_ok())).await.unwrap_or(false);
    if !ok {
        return invalid();
    }
    let mut jti = [0u8; 16];
    rand::Rng::fill(&mut rand::thread_rng(), &mut jti);
    let jti: String = jti.iter().map(|b| format!("{b:02x}")).collect();
    let claims = Claims { sub: user.email, role: user.role, jti, exp: now() + 86400 };
    match jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(s.secret.as_bytes())) {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err(_) => internal(),
    }
}

async fn me(auth: Authed) -> Json<User> {
    Json(auth.user)
}

async fn admin_users(State(s): State<Shared>, auth: Authed) -> Response {
    if let Err(r) = require(&auth.user, &["admin"]) {
        return r;
    }
    let q = sqlx::query("SELECT id, email, name, role, password_hash FROM users");
    match on!(s.db, q, fetch_all) {
        Ok(rows) => Json(rows.into_iter().map(user).collect::<Vec<_>>()).into_response(),
        Err(_) => internal(),
    }
}

async fn create_article(State(s): State<Shared>, auth: Authed, Json(body): Json<ArticleIn>) -> Response {
    if let Err(r) = require(&auth.user, &["editor", "publisher"]) {
        return r;
    }
    let q = sqlx::query("INSERT INTO articles (title, body, user_id) VALUES ($1, $2, $3) RETURNING id, title, body, user_id").bind(body.title).bind(body.body).bind(auth.user.id);
    match on!(s.db, q, fetch_one) {
        Ok(a) => Json(article(a)).into_response(),
        Err(_) => internal(),
    }
}

async fn logout(State(s): State<Shared>, auth: Authed) -> Response {
    let q = sqlx::query("INSERT INTO fitz_token_blacklist (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at")
        .bind(&auth.claims.jti)
        .bind(now() + 86400);
    let r = on!(s.db, q, execute);
    match r {
        Ok(_) => Json(json!({ "ok": true })).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "database unavailable"),
    }
}

const SCHEMA: &[&str] = &[
    r#"CREATE TABLE IF NOT EXISTS "users" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "email" TEXT NOT NULL, "name" TEXT NOT NULL, "role" TEXT NOT NULL, "password_hash" TEXT NOT NULL)"#,
    r#"CREATE TABLE IF NOT EXISTS "articles" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "title" TEXT NOT NULL, "body" TEXT NOT NULL, "user_id" BIGINT NOT NULL)"#,
    "CREATE TABLE IF NOT EXISTS fitz_token_blacklist (jti TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)",
];

/// What surrounds the handlers (see the crate's documentation).
#[derive(Clone, Copy, PartialEq)]
pub enum Flavour {
    /// sqlx's pool; `ping` is its checkout ping.
    Sqlx { ping: bool },
    /// The Fitz host's connection leases.
    Lean,
}

/// Serves the API on `127.0.0.1:port` until killed; exits with a message on a bad setting.
pub async fn serve(flavour: Flavour, name: &str) {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let secret = std::env::var("JWT_SECRET").unwrap_or_default();
    if secret.len() < 32 {
        eprintln!("error: JWT_SECRET must be set, at least 32 bytes");
        std::process::exit(1);
    }
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(3001);
    // The schema is created over sqlx's pool in both flavours, as the host does its DDL.
    let ping = matches!(flavour, Flavour::Sqlx { ping: true });
    let pool = match PgPoolOptions::new().max_connections(16).test_before_acquire(ping).connect(&url).await {
        Ok(db) => db,
        Err(_) => {
            eprintln!("error: cannot connect to the database");
            std::process::exit(1);
        }
    };
    for sql in SCHEMA {
        if sqlx::query(sql).execute(&pool).await.is_err() {
            eprintln!("error: cannot create the tables");
            std::process::exit(1);
        }
    }
    let db = match flavour {
        Flavour::Sqlx { .. } => Connections::Pool(pool),
        Flavour::Lean => {
            pool.close().await;
            let Ok(opts) = url.parse::<PgConnectOptions>() else {
                eprintln!("error: DATABASE_URL is not a PostgreSQL URL");
                std::process::exit(1);
            };
            // The host's sizes: 16 leases, sqlx's default acquire timeout.
            Connections::Leases(Arc::new(PgLeases::new(opts, 16, std::time::Duration::from_secs(30), std::time::Duration::from_secs(5))))
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let state = Arc::new(AppState { db, secret, hashing: tokio::sync::Semaphore::new(cores) });
    let app: Router = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/admin/users", get(admin_users))
        .route("/articles", post(create_article))
        .route("/auth/logout", post(logout))
        .with_state(state.clone());
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(_) => {
            eprintln!("error: cannot listen on port {port}");
            std::process::exit(1);
        }
    };
    eprintln!("{name}: serving on http://127.0.0.1:{port}");
    // The lean server serves as `fitz run` does: a thread per core, each with its own share
    // of the connections (`fitz_host::server::per_core`).
    if let Connections::Leases(leases) = &state.db {
        leases.split_per_worker(cores);
        match fitz_host::server::start_router_per_core(listener, app, cores, std::future::pending()) {
            Ok(running) => {
                let _ = running.wait().await;
            }
            Err(_) => eprintln!("error: cannot start the serving threads"),
        }
        return;
    }
    let _ = axum::serve(listener, app).await;
}
