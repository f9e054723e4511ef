//! `fitz host`: a long-running multi-tenant host (see `crate::multi`). Apps are deployed to it
//! through the operator API (`fitz deploy`, `fitz apps`, `fitz secrets`).
//!
//! Settings: `--port`/`FITZ_PORT` (3000), `--host`/`FITZ_HOST` (127.0.0.1), `--base-domain`/
//! `FITZ_BASE_DOMAIN` (`localhost`: apps at `<app>.localhost`), `--data`/`FITZ_DATA`
//! (`fitz-data`: SQLite state when `DATABASE_URL` is not PostgreSQL), `FITZ_OPERATOR_TOKEN`
//! (required: the operator API refuses everything without it).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::db::Database;
use crate::multi::{Host, HostConfig};
use crate::runtime::Runtime;
use crate::runtime::engine::Allocation;

/// The most memory one instance of any app may have (the pool's slot size).
pub const MAX_MEMORY_MIB: u64 = 256;
/// Instances in the pool: the concurrency of the whole host, and the number of apps that can
/// keep a warm slot (an app whose image is still mapped in a free slot instantiates without
/// remapping it; with fewer slots than busy apps, a round robin over them would miss every
/// time). Slots are address-space reservations, committed only as instances touch them.
pub const POOL_INSTANCES: u32 = 4096;
/// The shortest operator token accepted.
pub const MIN_TOKEN: usize = 16;

pub struct HostOptions {
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub base_domain: Option<String>,
    pub data: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// Opens the host's state and, when `load`, loads every stored app before returning (a
/// restarted host serves them again); otherwise `multi::sync::follow` loads them.
pub async fn open_host(database_url: Option<&str>, data: PathBuf, config: HostConfig, load: bool) -> Result<Arc<Host>, String> {
    let database = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(Database::connect(url).await.map_err(|e| format!("cannot open the database: {e}"))?)
        }
        _ => None,
    };
    let rt = Runtime::new(Allocation::Pooling { instances: POOL_INSTANCES, max_memory: MAX_MEMORY_MIB << 20 }).map_err(|e| format!("cannot start the runtime: {e}"))?;
    let host = Host::open(database, data, rt, config).await?;
    let host = Arc::new(host);
    if load {
        crate::multi::sync::sync_once(&host).await;
    }
    Ok(host)
}

pub fn run(opts: HostOptions) -> u8 {
    crate::commands::init_logging();
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let token = env.get("FITZ_OPERATOR_TOKEN").cloned().unwrap_or_default();
    if token.len() < MIN_TOKEN {
        eprintln!("error: set FITZ_OPERATOR_TOKEN (at least {MIN_TOKEN} characters) to start a host; the operator API is refused without it");
        return 2;
    }
    let host_ip = opts.host.or_else(|| env.get("FITZ_HOST").and_then(|h| h.parse().ok())).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let port = opts.port.or_else(|| env.get("FITZ_PORT").and_then(|p| p.parse().ok())).unwrap_or(3000);
    let base = opts.base_domain.or_else(|| env.get("FITZ_BASE_DOMAIN").cloned()).unwrap_or_else(|| "localhost".into());
    let data = opts.data.or_else(|| env.get("FITZ_DATA").map(PathBuf::from)).unwrap_or_else(|| PathBuf::from("fitz-data"));
    let mut config = HostConfig::new(base.clone(), token);
    config.secrets_env = env.iter().filter(|(k, _)| k.starts_with("FITZ_SECRETS_")).map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(json) = env.get("FITZ_APP_LIMITS") {
        match serde_json::from_str::<crate::limits::TenantLimits>(json).map_err(|e| e.to_string()).and_then(|l| l.check(MAX_MEMORY_MIB).map(|()| l)) {
            Ok(l) => config.default_limits = l,
            Err(e) => {
                eprintln!("error: FITZ_APP_LIMITS is not valid: {e}");
                return 2;
            }
        }
    }
    let tls_cert = opts.tls_cert.or_else(|| env.get("FITZ_TLS_CERT").map(PathBuf::from));
    let tls_key = opts.tls_key.or_else(|| env.get("FITZ_TLS_KEY").map(PathBuf::from));
    let mut limits = crate::limits::ServerLimits::default();
    match (&tls_cert, &tls_key) {
        (Some(cert), Some(key)) => match crate::server::conn::tls_config(cert, key) {
            Ok(config) => limits.tls = Some(config),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
        (None, None) => {}
        _ => {
            eprintln!("error: a TLS listener needs both a certificate and its key (--tls-cert and --tls-key)");
            return 2;
        }
    }
    let scheme = if limits.tls.is_some() { "https" } else { "http" };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(crate::limits::process::BLOCKING_THREADS).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 2;
        }
    };
    rt.block_on(async move {
        // The port is bound first: the host answers (its health, the operator API, a 503 for
        // apps still loading) while the stored apps load in the background.
        let addr = SocketAddr::new(host_ip, port);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {}", super::io_reason(&e));
                return 1;
            }
        };
        let host = match open_host(env.get("DATABASE_URL").map(String::as_str), data.clone(), config, false).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        let bound = listener.local_addr().unwrap_or(addr);
        let follower = crate::multi::sync::follow(host.clone());
        let running = match crate::server::start_router_with(listener, crate::multi::dispatch::router(host.clone()), limits, crate::server::shutdown_signal()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        let store = if env.get("DATABASE_URL").is_some_and(|u| u.starts_with("postgres")) { "PostgreSQL (shared)".to_string() } else { format!("SQLite in {}", data.display()) };
        eprint!(
            "fitz host: serving on {scheme}://{bound}\n  apps at {scheme}://<app>.{base}:{}/  ({} stored, loading)\n  operator API: {scheme}://{bound}/_fitz/apps\n  state: {store}\nPress Ctrl-C to stop.\n",
            bound.port(),
            host.store.apps().await.map_or(0, |a| a.len())
        );
        let result = running.wait().await;
        follower.abort();
        let mut draining = Vec::new();
        for name in host.registry.names() {
            if let Some(t) = host.registry.get(&name) {
                t.stop_crons();
                let app = t.served.app.load_full();
                draining.push(async move { crate::background::drain(&app.ctx.name, &app.tasks, app.limits().task_deadline).await });
            }
        }
        futures_util::future::join_all(draining).await;
        match result {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: the server stopped: {e}");
                1
            }
        }
    })
}
