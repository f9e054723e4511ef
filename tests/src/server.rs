//! A compiled app served over a real socket, on a real database: SQLite in a fresh temporary
//! directory, or a fresh PostgreSQL database (dropped at `stop`). Requests go through reqwest.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use fitz_host::db::{Database, Pool};
use fitz_host::http::Served;
use fitz_host::limits::ServerLimits;
use fitz_host::runtime::Runtime;
use fitz_host::runtime::app::{Limits, TopLevelOutput, load};
use fitz_host::runtime::engine::Allocation;
use fitz_host::runtime::state::AppContext;
use fitz_host::server::{Running, start, start_per_core, start_router_with};
use serde_json::Value as Json;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use (`FITZ_TEST_PG` overrides; `.ci/run` starts it).
pub fn pg_admin_url() -> String {
    std::env::var("FITZ_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{:08x}", std::process::id(), rand::random::<u32>())
}

/// Log lines of every app in this test process, for checks that nothing sensitive is logged.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let make = move || LogWriter(writer.clone());
        let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new("warn,fitz=debug,fitz_host=debug")).with_writer(make).with_ansi(false).try_init();
        buf
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn logs_text() -> String {
    let logs = captured_logs();
    let b = logs.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&b).into_owned()
}

enum Layout {
    Shared,
    PerCore(usize),
    Limited { server: ServerLimits, concurrency: usize },
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Database,
    pub backend: Backend,
    running: Option<Running>,
    pg_database: Option<String>,
    dir: PathBuf,
}

pub struct Response {
    pub status: u16,
    pub body: Json,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl TestApp {
    /// Compiles `source`, opens a fresh database, loads the app with `env` as its
    /// environment and secrets, and serves it on a free loopback port.
    pub async fn start(source: &str, backend: Backend, env: &[(&str, &str)], limits: Limits) -> TestApp {
        Self::start_with(source, backend, env, limits, Layout::Shared).await
    }

    /// `start`, served as `fitz run` serves: on `workers` threads of their own, each with its
    /// own share of the database connections (`server::start_per_core`).
    pub async fn start_per_core(source: &str, backend: Backend, env: &[(&str, &str)], limits: Limits, workers: usize) -> TestApp {
        Self::start_with(source, backend, env, limits, Layout::PerCore(workers)).await
    }

    /// `start` on SQLite with these listener limits and at most `concurrency` requests of the
    /// app at once (as a multi-tenant host serves an app).
    pub async fn start_limited(source: &str, env: &[(&str, &str)], limits: Limits, server: ServerLimits, concurrency: usize) -> TestApp {
        Self::start_with(source, Backend::Sqlite, env, limits, Layout::Limited { server, concurrency }).await
    }

    /// `start` on an existing database (`sqlite:PATH` or `postgres://…`), kept at `stop`, as
    /// `fitz run` serves an app again after a restart; `Err` with the load's refusal.
    pub async fn start_at(source: &str, url: &str, env: &[(&str, &str)]) -> Result<TestApp, String> {
        Self::try_start(source, Some(url), Backend::Sqlite, env, Limits::default(), Layout::Shared).await
    }

    async fn start_with(source: &str, backend: Backend, env: &[(&str, &str)], limits: Limits, layout: Layout) -> TestApp {
        Self::try_start(source, None, backend, env, limits, layout).await.unwrap_or_else(|e| panic!("load: {e}"))
    }

    async fn try_start(source: &str, at: Option<&str>, backend: Backend, env: &[(&str, &str)], limits: Limits, layout: Layout) -> Result<TestApp, String> {
        captured_logs();
        let artifact = fitz_compiler::compile(source, "app.fitz").unwrap_or_else(|d| panic!("{}", d.render("app.fitz", source, false)));
        wasmparser::validate(&artifact.wasm).expect("valid module");
        let dir = std::env::temp_dir().join(unique("fitz_test"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let backend = match at {
            Some(url) if url.starts_with("postgres") => Backend::Postgres,
            Some(_) => Backend::Sqlite,
            None => backend,
        };
        let (url, pg_database) = match (at, backend) {
            (Some(url), _) => (url.to_string(), None),
            (None, Backend::Sqlite) => (format!("sqlite:{}", dir.join("app.db").display()), None),
            (None, Backend::Postgres) => {
                let name = unique("fitz_test");
                let admin = Database::connect(&pg_admin_url()).await.expect("PostgreSQL is reachable (see .ci/run)");
                admin.execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
                admin.close().await;
                let base = pg_admin_url();
                let url = match base.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => base,
                };
                (url, Some(name))
            }
        };
        let db = Database::connect(&url).await.expect("database");
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let secrets = fitz_host::config::secrets(&artifact.manifest.secrets, &env).expect("secrets set");
        let ctx = AppContext { name: "app.fitz".into(), secrets, env, db: Some(db.clone()), ..AppContext::bare(artifact.manifest) };
        let runtime = Runtime::new(Allocation::Pooling { instances: 64, max_memory: limits.memory_bytes as u64 }).expect("runtime");
        let app = match load(&runtime, &artifact.wasm, ctx, limits, TopLevelOutput::Log).await {
            Ok(app) => app,
            Err(e) => {
                db.close().await;
                return Err(e.to_string());
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = match layout {
            Layout::Shared => start(listener, app, std::future::pending()),
            Layout::PerCore(workers) => start_per_core(listener, app, workers, std::future::pending()),
            Layout::Limited { server, concurrency } => {
                let permits = Some(Arc::new(tokio::sync::Semaphore::new(concurrency)));
                let served = Arc::new(Served { app: arc_swap::ArcSwap::from_pointee(app), permits, ws: Arc::default() });
                start_router_with(listener, fitz_host::http::router(served.clone()), server, std::future::pending()).map(|mut r| {
                    r.served = Some(served);
                    r
                })
            }
        }
        .expect("serve");
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder().pool_max_idle_per_host(8).build().expect("client");
        Ok(TestApp { base, client, db, backend, running: Some(running), pg_database, dir })
    }

    pub fn served(&self) -> Arc<Served> {
        self.running.as_ref().and_then(|r| r.served.clone()).expect("running")
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
        self.db.close().await;
        if let Some(name) = self.pg_database.take() {
            let admin = Database::connect(&pg_admin_url()).await.expect("admin");
            let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            admin.close().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Response {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Json::Null);
        Response { status, body, text, headers }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Json) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// Runs SQL with text and integer parameters (`?` placeholders, rewritten for PostgreSQL).
    pub async fn sql(&self, sql: &str, params: &[SqlParam<'_>]) -> u64 {
        let sql = match self.backend {
            Backend::Sqlite => sql.to_string(),
            Backend::Postgres => {
                let mut n = 0;
                sql.chars()
                    .map(|c| {
                        if c == '?' {
                            n += 1;
                            format!("${n}")
                        } else {
                            c.to_string()
                        }
                    })
                    .collect()
            }
        };
        macro_rules! run {
            ($pool:expr) => {{
                let mut q = sqlx::query(&sql);
                for p in params {
                    q = match p {
                        SqlParam::Text(s) => q.bind(*s),
                        SqlParam::Int(i) => q.bind(*i),
                    };
                }
                q.execute($pool).await.expect("sql").rows_affected()
            }};
        }
        match &self.db.pool {
            Pool::Sqlite(p) => run!(p),
            Pool::Postgres(p) => run!(p),
        }
    }

    /// The first column of every row, as text (integers printed).
    pub async fn column(&self, sql: &str) -> Vec<String> {
        use sqlx::Row;
        match &self.db.pool {
            Pool::Sqlite(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .expect("sql")
                .iter()
                .map(|r| r.try_get::<String, _>(0).or_else(|_| r.try_get::<i64, _>(0).map(|i| i.to_string())).expect("column"))
                .collect(),
            Pool::Postgres(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .expect("sql")
                .iter()
                .map(|r| r.try_get::<String, _>(0).or_else(|_| r.try_get::<i64, _>(0).map(|i| i.to_string())).expect("column"))
                .collect(),
        }
    }
}

pub enum SqlParam<'a> {
    Text(&'a str),
    Int(i64),
}
