//! Serving on one thread per core. Each worker thread runs a single-threaded tokio runtime and
//! serves the connections an acceptor hands it in turn, so a connection's requests — their
//! store, fiber stack and guest memory — stay in one core's caches, and with
//! `Database::split_leases_per_worker` their database sockets are driven by the same thread's
//! reactor: no wake-up crosses threads. Against tokio's work-stealing runtime this serves the
//! seed's `GET /me` 15–28 % faster on two cores (BENCHMARKS.md, "Fourth session: a thread per core").
//!
//! Nothing is stolen between workers, so the acceptor deals connections round-robin (the
//! kernel's `SO_REUSEPORT` hashing split them unevenly in the same measurement), and a guest
//! that computes for long yields at every epoch tick to the other requests of its thread.

use std::future::Future;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};

use super::Running;
use super::conn::{Serving, either};
use crate::limits::ServerLimits;

/// Serves `service` on `workers` threads of their own until `shutdown` completes or
/// `Running::shutdown` is called; then stops accepting and waits for every worker to drain.
/// Call from within a tokio runtime, which runs the acceptor.
pub fn start_router_per_core(listener: TcpListener, service: axum::Router, workers: usize, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<Running> {
    start_router_per_core_with(listener, service, workers, ServerLimits::default(), shutdown)
}

/// `start_router_per_core` with these listener limits; the cap on connections is the
/// acceptor's, each connection's permit travels with it to its worker.
pub fn start_router_per_core_with(
    listener: TcpListener,
    service: axum::Router,
    workers: usize,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let workers = workers.max(1);
    let serving = Serving::new(service, limits);
    // Dropping `drain` (an early return below) drains the workers already started, too.
    let (drain, draining) = watch::channel(false);
    let mut queues = Vec::with_capacity(workers);
    let mut finished = Vec::with_capacity(workers);
    for index in 0..workers {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(crate::limits::process::BLOCKING_THREADS).build()?;
        let (queue, handed) = mpsc::unbounded_channel();
        let (done, done_rx) = oneshot::channel::<std::io::Result<()>>();
        let serving = serving.clone();
        let mut draining = draining.clone();
        std::thread::Builder::new().name(format!("fitz-http-{index}")).spawn(move || {
            crate::db::lease::set_thread_worker(index);
            runtime.block_on(async move {
                let graceful = GracefulShutdown::new();
                let mut handed: mpsc::UnboundedReceiver<(std::net::TcpStream, OwnedSemaphorePermit)> = handed;
                loop {
                    tokio::select! {
                        _ = draining.wait_for(|d| *d) => break,
                        next = handed.recv() => match next {
                            // Registered with this worker's reactor here, on its own thread.
                            Some((stream, permit)) => match tokio::net::TcpStream::from_std(stream) {
                                Ok(stream) => serving.spawn(stream, permit, &graceful),
                                Err(e) => tracing::warn!(target: "fitz::http", "a connection could not join its worker: {e}"),
                            },
                            None => break,
                        },
                    }
                }
                graceful.shutdown().await;
            });
            let _ = done.send(Ok(()));
        })?;
        queues.push(queue);
        finished.push(done_rx);
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut next = 0;
        serving
            .accept_until(&listener, either(shutdown, stopped), |stream, permit| match stream.into_std() {
                Ok(stream) => {
                    let _ = queues[next % workers].send((stream, permit));
                    next += 1;
                }
                Err(e) => tracing::warn!(target: "fitz::http", "a connection could not be handed to a worker: {e}"),
            })
            .await;
        serving.close();
        drop(listener);
        let _ = drain.send(true);
        let mut result = Ok(());
        for done in finished {
            if let Ok(Err(e)) = done.await {
                result = Err(e);
            }
        }
        result
    });
    Ok(Running { addr, served: None, stop: Some(stop), task })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends one keep-alive request and returns the body (the handler's answer is short).
    async fn ask(conn: &mut tokio::net::TcpStream) -> String {
        conn.write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n").await.expect("write");
        let mut buf = vec![0; 1024];
        let mut got = 0;
        loop {
            got += conn.read(&mut buf[got..]).await.expect("read");
            let text = String::from_utf8_lossy(&buf[..got]);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).and_then(|n| n.parse().ok()).expect("length");
                if body.len() >= len {
                    return body[..len].to_string();
                }
            }
        }
    }

    #[tokio::test]
    async fn connections_are_dealt_round_robin_and_stay_on_their_thread() {
        let service = axum::Router::new().route("/", axum::routing::get(|| async { std::thread::current().name().unwrap_or("?").to_string() }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = start_router_per_core(listener, service, 2, std::future::pending()).expect("start");
        let addr = running.addr;
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
        }
        for (k, conn) in conns.iter_mut().enumerate() {
            let want = format!("fitz-http-{}", k % 2);
            assert_eq!(ask(conn).await, want, "connection {k}");
            assert_eq!(ask(conn).await, want, "connection {k}, second request");
        }
        drop(conns);
        running.shutdown().await.expect("drained");
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no new connections after shutdown");
    }
}
