//! One client connection, served with the listener's limits (`limits::ServerLimits`): a cap on
//! open connections (a permit taken before `accept`, so past the cap new connections wait in
//! the kernel's listen queue), a time to the end of each request's headers that also bounds a
//! kept-alive connection's idle wait (hyper's header read timeout starts as soon as the
//! connection waits for a request), and a bound on the bytes of a request head. The body's
//! time is bounded where the body is read (`http::read_limited`).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use crate::limits::ServerLimits;

/// What every connection of one listener shares.
#[derive(Clone)]
pub struct Serving {
    pub service: axum::Router,
    pub limits: Arc<ServerLimits>,
    /// One permit per open connection.
    pub connections: Arc<Semaphore>,
}

impl Serving {
    pub fn new(service: axum::Router, limits: ServerLimits) -> Serving {
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        Serving { service, limits: Arc::new(limits), connections }
    }

    /// Waits for room for one more connection.
    pub async fn room(&self) -> Option<OwnedSemaphorePermit> {
        self.connections.clone().acquire_owned().await.ok()
    }

    /// Accepts connections while there is room for them, handing each to `on` with its
    /// permit, until `stop` completes.
    pub async fn accept_until(&self, listener: &TcpListener, stop: impl std::future::Future<Output = ()>, mut on: impl FnMut(TcpStream, OwnedSemaphorePermit)) {
        let mut stop = std::pin::pin!(stop);
        loop {
            let accepted = tokio::select! {
                _ = &mut stop => return,
                accepted = async { (self.room().await, listener.accept().await) } => accepted,
            };
            match accepted {
                (Some(permit), Ok((stream, _))) => on(stream, permit),
                (None, _) => return,
                (_, Err(e)) => accept_failed(e).await,
            }
        }
    }

    /// Serves `stream` on the current runtime until the client goes, a limit closes it, or
    /// `graceful` drains it; the permit is given back when it ends.
    pub fn spawn(&self, stream: TcpStream, permit: OwnedSemaphorePermit, graceful: &GracefulShutdown) {
        let _ = stream.set_nodelay(true);
        let router = self.service.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut router = router.clone();
            async move { router.call(req.map(axum::body::Body::new)).await }
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .max_buf_size(self.limits.header_bytes.saturating_mul(2).max(8192))
            .keep_alive(true);
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that breaks off, or a limit that closes it, is not the host's error.
            let _ = conn.await;
            drop(permit);
        });
    }
}

/// As axum's own accept loop: a connection that failed before it was accepted is the
/// client's problem; anything else (out of file descriptors) is worth a pause.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        tracing::error!(target: "fitz::http", "accepting a connection failed: {e}");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Resolves when either the server's own shutdown future or its `Running::shutdown` does.
pub async fn either(shutdown: impl std::future::Future<Output = ()>, stopped: tokio::sync::oneshot::Receiver<()>) {
    tokio::select! {
        _ = shutdown => {}
        _ = stopped => {}
    }
}
