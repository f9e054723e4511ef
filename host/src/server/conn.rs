//! One client connection, served with the listener's limits (`limits::ServerLimits`): a cap on
//! open connections (a permit taken before `accept`, so past the cap new connections wait in
//! the kernel's listen queue), a time to the end of each request's headers that also bounds a
//! kept-alive connection's idle wait (hyper's header read timeout starts as soon as the
//! connection waits for a request), and a bound on the bytes of a request head. The body's
//! time is bounded where the body is read (`http::read_limited`). With a certificate
//! (`--tls-cert`/`--tls-key`) every connection is TLS, its handshake within the header time.
//!
//! HTTP/2 is spoken where the client asks for it: by ALPN over TLS, and in cleartext by prior
//! knowledge (RFC 9113 §3.3), told from HTTP/1 by the connection's first bytes, read within the
//! header time (a client that sends nothing is closed as a slow HTTP/1 client is). HTTP/2's own
//! limits: streams at once, the header list's size, and streams reset before the server took
//! them up (the rapid-reset attack), past which the connection is closed.

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
    /// The listener's certificate, when it speaks TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Set when the listener stops: a connection still telling HTTP/2 from HTTP/1 (not yet
    /// one the graceful shutdown can drain) is closed at once.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Serving {
    pub fn new(service: axum::Router, limits: ServerLimits) -> Serving {
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let tls = limits.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        Serving { service, limits: Arc::new(limits), connections, tls, closing: Arc::new(tokio::sync::watch::channel(false).0) }
    }

    /// The listener has stopped accepting: connections that have not started a request yet go.
    pub fn close(&self) {
        let _ = self.closing.send(true);
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
        let peer = stream.peer_addr().ok();
        let (serving, watcher) = (self.clone(), graceful.watcher());
        let mut closing = self.closing.subscribe();
        tokio::spawn(async move {
            // A client that breaks off, or a limit that closes it, is not the host's error.
            match &serving.tls {
                None => {
                    let mut stream = stream;
                    let sniffed = tokio::select! {
                        sniffed = sniff(&mut stream, serving.limits.header_timeout) => sniffed,
                        _ = closing.wait_for(|c| *c) => None,
                    };
                    let Some((h2, prefix)) = sniffed else { return };
                    let io = Prefixed { prefix, at: 0, inner: stream };
                    if h2 {
                        let _ = watcher.watch(serving.http2(io, peer)).await;
                    } else {
                        serving.http1(io, peer, watcher, closing).await;
                    }
                }
                Some(tls) => {
                    // A client that never finishes its handshake is closed at the header time.
                    if let Ok(Ok(stream)) = tokio::time::timeout(serving.limits.header_timeout, tls.accept(stream)).await {
                        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                            let _ = watcher.watch(serving.http2(stream, peer)).await;
                        } else {
                            serving.http1(stream, peer, watcher, closing).await;
                        }
                    }
                }
            }
            drop(permit);
        });
    }

    /// The service each request of a connection from `peer` goes to.
    fn service(
        &self,
        peer: Option<std::net::SocketAddr>,
    ) -> impl hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response, Error = std::convert::Infallible, Future: Send> + Clone + use<> {
        let router = self.service.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let mut router = router.clone();
            if let Some(peer) = peer {
                req.extensions_mut().insert(crate::http::ClientAddr(peer));
            }
            // HTTP/2 names the host in `:authority`; the rest of the host reads `Host`.
            if req.version() == hyper::Version::HTTP_2
                && !req.headers().contains_key(hyper::header::HOST)
                && let Some(value) = req.uri().authority().and_then(|a| hyper::header::HeaderValue::from_str(a.as_str()).ok())
            {
                req.headers_mut().insert(hyper::header::HOST, value);
            }
            async move { router.call(req.map(axum::body::Body::new)).await }
        })
    }

    /// HTTP/2 over `io`, with the listener's limits.
    fn http2<I>(
        &self,
        io: I,
        peer: Option<std::net::SocketAddr>,
    ) -> hyper::server::conn::http2::Connection<
        TokioIo<I>,
        impl hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response, Error = std::convert::Infallible, Future: Send> + use<I>,
        hyper_util::rt::TokioExecutor,
    >
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let limits = &self.limits;
        let mut http = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
        http.timer(TokioTimer::new())
            .max_concurrent_streams(limits.h2_streams)
            .max_header_list_size(u32::try_from(limits.header_bytes).unwrap_or(u32::MAX))
            .max_pending_accept_reset_streams(Some(limits.h2_pending_resets))
            .max_local_error_reset_streams(Some(1024))
            // A peer that stops answering pings is gone.
            .keep_alive_interval(Some(limits.header_timeout))
            .keep_alive_timeout(limits.header_timeout);
        http.serve_connection(TokioIo::new(io), self.service(peer))
    }

    /// Serves HTTP/1 on `io` until the client goes, or, once the listener closes, until the
    /// requests in flight are answered. hyper-util's graceful watcher does not take a
    /// connection that may upgrade (a `@ws` route's), so this drains it itself, holding the
    /// `watcher` (which the graceful shutdown waits for) until it is done.
    async fn http1<I>(&self, io: I, peer: Option<std::net::SocketAddr>, watcher: hyper_util::server::graceful::Watcher, mut closing: tokio::sync::watch::Receiver<bool>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let conn = self.http(io, peer);
        tokio::pin!(conn);
        let closed = async move { closing.wait_for(|c| *c).await.is_ok() };
        tokio::select! {
            _ = conn.as_mut() => {}
            true = closed => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
        drop(watcher);
    }

    /// HTTP/1 over `io`, with the listener's limits.
    fn http<I>(
        &self,
        io: I,
        peer: Option<std::net::SocketAddr>,
    ) -> hyper::server::conn::http1::UpgradeableConnection<
        TokioIo<I>,
        impl hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response, Error = std::convert::Infallible, Future: Send> + use<I>,
    >
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let service = self.service(peer);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(self.limits.header_timeout).max_buf_size(self.limits.header_bytes.saturating_mul(2).max(8192)).keep_alive(true);
        // Upgrades: a `@ws` route's connection leaves HTTP once its 101 is sent.
        http.serve_connection(TokioIo::new(io), service).with_upgrades()
    }
}

/// HTTP/2's connection preface, which a client with prior knowledge sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads the connection's first bytes, within `within`, until they are HTTP/2's preface or
/// cannot be: whether it is HTTP/2, and the bytes read. `None` when the client said nothing
/// in time or went away.
async fn sniff(stream: &mut TcpStream, within: std::time::Duration) -> Option<(bool, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut buf = Vec::with_capacity(PREFACE.len());
        loop {
            let mut chunk = [0u8; 24];
            let n = stream.read(&mut chunk[..PREFACE.len() - buf.len()]).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if !PREFACE.starts_with(&buf) {
                return Some((false, buf));
            }
            if buf.len() == PREFACE.len() {
                return Some((true, buf));
            }
        }
    };
    tokio::time::timeout(within, read).await.ok().flatten()
}

/// A stream that gives back `prefix` (what `sniff` read) before the rest of `inner`.
struct Prefixed<T> {
    prefix: Vec<u8>,
    at: usize,
    inner: T,
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Prefixed<T> {
    fn poll_read(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> std::task::Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = (self.prefix.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Prefixed<T> {
    fn poll_write(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A TLS server configuration from PEM files: the certificate chain, and its private key.
pub fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).and_then(|certs| certs.collect::<Result<_, _>>()).map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    // ring, as the clients use: aws-lc-rs (post-quantum key exchange) needs cmake and a C
    // toolchain's assembler to build, which this project keeps out of its build.
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not make a TLS server: {e}"))?;
    // HTTP/2 for clients that offer it, HTTP/1.1 otherwise.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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
