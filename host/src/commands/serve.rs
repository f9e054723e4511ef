//! `fitz run app.fitz` (an app with routes) and `fitz serve app.wasm`: load one app and serve
//! it until Ctrl-C or SIGTERM, draining requests in flight.
//!
//! Configuration, strongest first: flags, the process environment, a `.env` file next to the
//! app. `DATABASE_URL` unset means an embedded SQLite file next to the app (`<name>.db`).
//! `FITZ_THREADS` (default: one per core) threads serve requests, each with a runtime of its
//! own (`server::per_core`) or, with `FITZ_SCHEDULER=work-stealing`, all in one runtime.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use guest_abi::manifest::RouteAuth;

use crate::db::Database;
use crate::runtime::Runtime;
use crate::runtime::app::{Limits, TopLevelOutput, load};
use crate::runtime::engine::Allocation;
use crate::runtime::state::AppContext;

pub const DEFAULT_PORT: u16 = 3000;

pub struct ServeOptions {
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    /// `fitz run --watch`: the program (a file or a project directory) recompiled when one of
    /// its files changes, and swapped in.
    pub watch: Option<std::path::PathBuf>,
}

/// Instances the pool reserves: the concurrency of one host.
const POOL_INSTANCES: u32 = 256;

fn setting<T: std::str::FromStr>(env: &HashMap<String, String>, name: &str) -> Result<Option<T>, String> {
    match env.get(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| format!("{name}={v} is not valid")),
    }
}

/// The app's namespace, `FITZ_NAMESPACE`: its own PostgreSQL schema (`app_<namespace>`, as a
/// multi-tenant host names it) and SQLite file (`<namespace>.db`), and the name its cron
/// claims and logs carry, whatever its file is called. Unset, the app uses the database's
/// default schema and is known by its file's name.
pub fn namespace(env: &HashMap<String, String>) -> Result<Option<String>, String> {
    match env.get("FITZ_NAMESPACE").filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if crate::multi::valid_name(n) => Ok(Some(n.clone())),
        Some(n) => Err(format!("FITZ_NAMESPACE={n} is not valid: lower-case letters, digits and dashes, at most 40")),
    }
}

/// The database URL an app at `app_path` uses.
pub fn database_url(app_path: &Path, env: &HashMap<String, String>) -> String {
    match env.get("DATABASE_URL") {
        Some(url) if !url.is_empty() => url.clone(),
        _ => {
            let stem = match namespace(env) {
                Ok(Some(ns)) => ns,
                _ => app_path.file_stem().map_or_else(|| "app".into(), |s| s.to_string_lossy().into_owned()),
            };
            let dir = app_path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            format!("sqlite:{}", dir.join(format!("{stem}.db")).display())
        }
    }
}

/// `fitz serve app.wasm`.
pub fn serve_file(path: &Path, opts: ServeOptions) -> u8 {
    match std::fs::read(path) {
        Ok(wasm) => serve(wasm, path, opts),
        Err(e) => {
            eprintln!("error: cannot read {}: {}", path.display(), super::io_reason(&e));
            2
        }
    }
}

/// How requests are spread over threads (`FITZ_SCHEDULER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// A runtime per thread, each with its own connections and database leases
    /// (`server::per_core`): the most requests per second.
    PerCore,
    /// One tokio runtime whose threads steal work from each other: a thread that falls behind
    /// is helped, so the slowest requests are faster, at some cost in requests per second.
    WorkStealing,
}

impl std::str::FromStr for Layout {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "per-core" => Ok(Layout::PerCore),
            "work-stealing" => Ok(Layout::WorkStealing),
            _ => Err(()),
        }
    }
}

impl Layout {
    fn describe(self) -> &'static str {
        match self {
            Layout::PerCore => "a runtime per thread",
            Layout::WorkStealing => "work-stealing",
        }
    }
}

/// Where and how to serve: read before the runtime is built, since the layout shapes it.
struct Serving {
    env: HashMap<String, String>,
    addr: SocketAddr,
    threads: usize,
    layout: Layout,
}

fn serving(source: &Path, opts: &ServeOptions, program: Option<&guest_abi::manifest::Server>) -> Result<Serving, String> {
    let env = crate::config::app_env(source);
    let declared_host = program.and_then(|s| s.host.as_deref()).and_then(|h| h.parse::<IpAddr>().ok());
    let host = match opts.host {
        Some(h) => h,
        None => setting(&env, "FITZ_HOST")?.or(declared_host).unwrap_or(IpAddr::from([127, 0, 0, 1])),
    };
    let port = match opts.port {
        Some(p) => p,
        None => setting(&env, "FITZ_PORT")?.or(program.and_then(|s| s.port)).unwrap_or(DEFAULT_PORT),
    };
    let threads = match setting::<usize>(&env, "FITZ_THREADS")? {
        Some(0) => return Err("FITZ_THREADS=0 is not valid: at least one thread serves requests".into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let layout = setting::<Layout>(&env, "FITZ_SCHEDULER").map_err(|e| format!("{e} (expected per-core or work-stealing)"))?.unwrap_or(Layout::PerCore);
    Ok(Serving { env, addr: SocketAddr::new(host, port), threads, layout })
}

/// Serves a compiled module; `source` is the path the app came from (for `.env` and the
/// SQLite file). Returns the exit status.
pub fn serve(wasm: Vec<u8>, source: &Path, opts: ServeOptions) -> u8 {
    crate::commands::init_logging();
    // `@server(port, host)` in the program: defaults below the flags and the environment.
    let program = crate::runtime::validate::validate_bytes(&wasm).ok().and_then(|m| m.server);
    let serving = match serving(source, &opts, program.as_ref()) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    // Per core, requests are served on threads of their own (`server::per_core`) and this
    // runtime only loads the app, accepts connections, and runs cron and `--watch`.
    let workers = match serving.layout {
        Layout::PerCore => 1,
        Layout::WorkStealing => serving.threads,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().max_blocking_threads(crate::limits::process::BLOCKING_THREADS).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 2;
        }
    };
    match rt.block_on(serve_async(wasm, source, opts, serving)) {
        Ok(()) => 0,
        Err((code, message)) => {
            eprintln!("error: {message}");
            code
        }
    }
}

async fn serve_async(wasm: Vec<u8>, source: &Path, opts: ServeOptions, serving: Serving) -> Result<(), (u8, String)> {
    let Serving { env, addr, threads, layout } = serving;
    let Loaded { app, db, runtime, name } = load_app(&wasm, source, env, TopLevelOutput::Terminal).await?;
    // Tasks run on this runtime, which outlives the per-core ones serving requests.
    app.tasks.run_on(tokio::runtime::Handle::current());
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| (1, format!("cannot listen on {addr}: {}", super::io_reason(&e))))?;
    let serving = format!("{threads}, {}", layout.describe());
    let banner = banner(&name, &app.manifest, listener.local_addr().unwrap_or(addr), &db.describe(), &serving);
    let running = match layout {
        Layout::PerCore => crate::server::start_per_core(listener, app, threads, crate::server::shutdown_signal()),
        Layout::WorkStealing => crate::server::start(listener, app, crate::server::shutdown_signal()),
    }
    .map_err(|e| (1, e.to_string()))?;
    eprint!("{banner}");
    let scheduler = std::sync::Arc::new(std::sync::Mutex::new(running.served.clone().map(|s| crate::cron::start(s, crate::cron::CronLimits::single_app()))));
    let watcher = match (&running.served, opts.watch.clone()) {
        (Some(served), Some(program)) => Some(tokio::spawn(watch(program, source.to_path_buf(), served.clone(), db.clone(), scheduler.clone()))),
        _ => None,
    };
    let running_served = running.served.clone();
    let result = running.wait().await;
    if let Some(w) = watcher {
        w.abort();
    }
    if let Ok(mut s) = scheduler.lock()
        && let Some(s) = s.take()
    {
        s.stop();
    }
    if let Some(served) = &running_served {
        let app = served.app.load_full();
        crate::background::drain(&app.ctx.name, &app.tasks, app.limits().task_deadline).await;
    }
    db.close().await;
    drop(runtime);
    result.map_err(|e| (1, format!("the server stopped: {e}")))
}

/// The newest modification time among `paths`: a change to any file of the program.
pub(super) fn modified(paths: &[std::path::PathBuf]) -> Option<std::time::SystemTime> {
    paths.iter().filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).max()
}

/// `--watch`: polls the program's files; on a change, compiles it and swaps the new version in
/// (the runtime and database stay). A compile error prints the diagnostics and keeps serving
/// the version before it.
async fn watch(
    program: std::path::PathBuf,
    source: std::path::PathBuf,
    served: std::sync::Arc<crate::http::Served>,
    db: Database,
    scheduler: std::sync::Arc<std::sync::Mutex<Option<crate::cron::Scheduler>>>,
) {
    let runtime = match Runtime::new(Allocation::Pooling { instances: POOL_INSTANCES, max_memory: Limits::default().memory_bytes as u64 }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: --watch cannot start its runtime: {e}");
            return;
        }
    };
    // The files of the program as last read (a new import adds its file), and `fitz.toml`.
    let files_of = |p: &fitz_compiler::project::Project| {
        let mut files = p.paths.clone();
        if program.is_dir() {
            files.push(program.join("fitz.toml"));
        }
        files
    };
    let mut files = match super::load_program(&program, false) {
        Ok(p) => files_of(&p),
        Err(_) => vec![program.clone()],
    };
    let mut seen = modified(&files);
    let mut version = served.app.load().version;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = modified(&files);
        if now == seen {
            continue;
        }
        seen = now;
        let Ok(project) = super::load_program(&program, false) else { continue };
        files = files_of(&project);
        seen = modified(&files);
        let artifact = match fitz_compiler::compile_project(&project) {
            Ok(a) => a,
            Err(d) => {
                eprint!("{}", d.render_in(&project.sources, super::color()));
                eprintln!("fitz: {} has errors; still serving version {version}", program.display());
                continue;
            }
        };
        let env = crate::config::app_env(&source);
        let secrets = match crate::config::secrets(&artifact.manifest.secrets, &env) {
            Ok(s) => s,
            Err(missing) => {
                eprintln!("error: {}; still serving version {version}", crate::runtime::validate::LoadError::MissingSecrets(missing));
                continue;
            }
        };
        // The same name as the version it replaces: its namespace, else its file's.
        let name = served.app.load().ctx.name.clone();
        let ctx = AppContext { name, secrets, env, db: Some(db.clone()), ..AppContext::bare(artifact.manifest) };
        match load(&runtime, &artifact.wasm, ctx, Limits::local(), TopLevelOutput::Terminal).await {
            Ok(mut app) => {
                version += 1;
                app.version = version;
                // Tasks of earlier versions still count, and are drained with the new ones.
                app.tasks = served.app.load().tasks.clone();
                served.app.store(std::sync::Arc::new(app));
                if let Ok(mut s) = scheduler.lock() {
                    if let Some(old) = s.take() {
                        old.stop();
                    }
                    *s = Some(crate::cron::start(served.clone(), crate::cron::CronLimits::single_app()));
                }
                eprintln!("fitz: reloaded {} (version {version})", program.display());
            }
            Err(e) => eprintln!("error: {e}; still serving version {version}"),
        }
    }
}

/// A loaded app with what it needs to live: its database and the runtime.
pub struct Loaded {
    pub app: crate::runtime::app::AppVersion,
    pub db: Database,
    pub runtime: Runtime,
    pub name: String,
}

/// Validates the module, checks its secrets, opens its database and loads it.
pub async fn load_app(wasm: &[u8], source: &Path, env: HashMap<String, String>, output: TopLevelOutput) -> Result<Loaded, (u8, String)> {
    let manifest = crate::runtime::validate::validate_bytes(wasm).map_err(|e| (1, e.to_string()))?;
    let secrets = crate::config::secrets(&manifest.secrets, &env).map_err(|missing| (1, crate::runtime::validate::LoadError::MissingSecrets(missing).to_string()))?;
    let namespace = namespace(&env).map_err(|e| (2, e))?;
    let url = database_url(source, &env);
    let mut db = Database::connect(&url).await.map_err(|e| (1, format!("cannot open the database: {e}")))?;
    if let (Some(ns), crate::db::Dialect::Postgres) = (&namespace, db.dialect()) {
        db = db.with_schema(&crate::multi::schema_of(ns));
    }
    let limits = Limits::local();
    let runtime =
        Runtime::new(Allocation::Pooling { instances: POOL_INSTANCES, max_memory: limits.memory_bytes as u64 }).map_err(|e| (1, format!("cannot start the runtime: {e}")))?;
    let name = namespace.unwrap_or_else(|| source.file_name().map_or_else(|| "app".into(), |n| n.to_string_lossy().into_owned()));
    let ctx = AppContext { name: name.clone(), secrets, env, db: Some(db.clone()), ..AppContext::bare(manifest) };
    let app = load(&runtime, wasm, ctx, limits, output).await.map_err(|e| (1, e.to_string()))?;
    Ok(Loaded { app, db, runtime, name })
}

fn banner(name: &str, m: &guest_abi::manifest::Manifest, addr: SocketAddr, db: &str, threads: &str) -> String {
    let mut out = format!("fitz: serving {name} on http://{addr}\n  database: {db}\n  threads:  {threads}\n");
    for r in &m.routes {
        let auth = match &r.auth {
            RouteAuth::Public => String::new(),
            RouteAuth::Authenticated => "  (authenticated)".into(),
            RouteAuth::Roles { roles } => format!("  (roles: {})", roles.join(", ")),
        };
        out += &format!("  {:<7}{}{auth}\n", r.method, r.path);
    }
    for c in &m.crons {
        out += &format!("  cron   {} \"{}\" (UTC)\n", c.name, c.expr);
    }
    out += &format!("  docs:   http://{addr}/docs  (OpenAPI: http://{addr}/openapi.json)\n");
    out += &format!("  health: http://{addr}/healthz  ready: http://{addr}/readyz\n");
    out += "Press Ctrl-C to stop.\n";
    out
}
