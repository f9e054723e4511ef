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
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use super::Running;

/// Serves `service` on `workers` threads of their own until `shutdown` completes or
/// `Running::shutdown` is called; then stops accepting and waits for every worker to drain.
/// Call from within a tokio runtime, which runs the acceptor.
pub fn start_router_per_core(
    listener: TcpListener,
    service: axum::Router,
    workers: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let workers = workers.max(1);
    // Dropping `drain` (an early return below) drains the workers already started, too.
    let (drain, draining) = watch::channel(false);
    let mut queues = Vec::with_capacity(workers);
    let mut finished = Vec::with_capacity(workers);
    for index in 0..workers {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (queue, handed) = mpsc::unbounded_channel();
        let (done, done_rx) = oneshot::channel();
        let service = service.clone();
        let mut draining = draining.clone();
        std::thread::Builder::new().name(format!("fitz-http-{index}")).spawn(move || {
            crate::db::lease::set_thread_worker(index);
            let served = runtime.block_on(async move {
                axum::serve(Handed { handed, addr }, service)
                    .with_graceful_shutdown(async move {
                        let _ = draining.wait_for(|d| *d).await;
                    })
                    .await
            });
            let _ = done.send(served);
        })?;
        queues.push(queue);
        finished.push(done_rx);
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut stopping = std::pin::pin!(async move {
            tokio::select! {
                _ = shutdown => {}
                _ = stopped => {}
            }
        });
        let mut next = 0;
        loop {
            tokio::select! {
                _ = &mut stopping => break,
                accepted = listener.accept() => match accepted.and_then(|(stream, _)| stream.into_std()) {
                    Ok(stream) => {
                        let _ = queues[next % workers].send(stream);
                        next += 1;
                    }
                    Err(e) => accept_failed(e).await,
                },
            }
        }
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

/// As axum's own accept loop: a connection that failed before it was accepted is the
/// client's problem; anything else (out of file descriptors) is worth a pause.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        tracing::error!(target: "fitz::http", "accepting a connection failed: {e}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A worker's listener: the connections the acceptor dealt it.
struct Handed {
    handed: mpsc::UnboundedReceiver<std::net::TcpStream>,
    addr: SocketAddr,
}

impl axum::serve::Listener for Handed {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.handed.recv().await {
                // Registered with this worker's reactor here, on its own thread.
                Some(stream) => match tokio::net::TcpStream::from_std(stream) {
                    Ok(stream) => {
                        let peer = stream.peer_addr().unwrap_or(self.addr);
                        return (stream, peer);
                    }
                    Err(e) => tracing::warn!(target: "fitz::http", "a connection could not join its worker: {e}"),
                },
                // The acceptor stopped; the graceful shutdown ends this worker.
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
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
