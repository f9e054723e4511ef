//! Serving one app over HTTP: bind, serve until told to stop, then drain the requests in
//! flight (axum's graceful shutdown). `fitz run`/`fitz serve` serve on a thread per core
//! (`per_core`); the multi-tenant host and the tests on the caller's runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::http::{Served, router};
use crate::runtime::app::AppVersion;

pub mod conn;
mod per_core;
pub use per_core::start_router_per_core;

use self::conn::{Serving, either};
use crate::limits::ServerLimits;
use hyper_util::server::graceful::GracefulShutdown;

pub struct Running {
    pub addr: SocketAddr,
    /// The app, when one app is served (`None` for a multi-tenant host).
    pub served: Option<Arc<Served>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Waits until the server stops (its shutdown future resolved and requests drained).
    pub async fn wait(self) -> std::io::Result<()> {
        let Running { stop, task, .. } = self;
        let result = task.await.unwrap_or(Ok(()));
        drop(stop);
        result
    }

    /// Stops accepting, waits for the requests in flight, and returns.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap_or(Ok(()))
    }
}

/// Serves `app` on `listener` until `shutdown` completes or `Running::shutdown` is called.
pub fn start(listener: TcpListener, app: AppVersion, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<Running> {
    serve_app(app, |service| start_router(listener, service, shutdown))
}

/// `start`, on `workers` threads of their own (`per_core`), each with its own share of the
/// app's database connections.
pub fn start_per_core(listener: TcpListener, app: AppVersion, workers: usize, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<Running> {
    if let Some(db) = &app.ctx.db {
        db.split_leases_per_worker(workers);
    }
    serve_app(app, |service| start_router_per_core(listener, service, workers, shutdown))
}

fn serve_app(app: AppVersion, start: impl FnOnce(axum::Router) -> std::io::Result<Running>) -> std::io::Result<Running> {
    let served = Served::new(app);
    let mut running = start(router(served.clone()))?;
    running.served = Some(served);
    Ok(running)
}

/// Serves any router (a multi-tenant host's) the same way, with the default listener limits.
pub fn start_router(listener: TcpListener, service: axum::Router, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<Running> {
    start_router_with(listener, service, ServerLimits::default(), shutdown)
}

/// `start_router` with these listener limits: accepts while there is room for a connection,
/// serves each on a task of the caller's runtime, and on shutdown stops accepting and waits
/// for the connections to finish their requests.
pub fn start_router_with(listener: TcpListener, service: axum::Router, limits: ServerLimits, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = Serving::new(service, limits);
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        serving.accept_until(&listener, either(shutdown, stopped), |stream, permit| serving.spawn(stream, permit, &graceful)).await;
        serving.close();
        drop(listener);
        graceful.shutdown().await;
        Ok(())
    });
    Ok(Running { addr, served: None, stop: Some(stop), task })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
