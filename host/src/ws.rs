//! `@ws` endpoints, as upstream writes them: `@ws("/chat") async fn chat(conn: WsConn<Msg>)`,
//! with `conn.recv()`, `conn.send(m)`, `conn.broadcast(m)` and `conn.close()`.
//!
//! A connection is one sandbox for its whole life (a documented per-connection instance): the
//! auth provider runs first, in it, and only a request it admits is upgraded; then the handler
//! runs, waiting in `recv` for each message. The tenant's limits apply: `ws_connections` open
//! at once per app (past it, 503 before the upgrade), `ws_message_kib` per message (past it the
//! connection is closed with 1009), and after each message the handler has the app's request
//! deadline to come back to `recv` (else 1011 and the sandbox is dropped). A message is JSON of
//! the route's `receives` type; what it sends, of its `sends` type.
//!
//! `broadcast` reaches every open connection of the endpoint in this app (its versions
//! included, so a hot swap does not split a room). Each connection queues at most `QUEUE`
//! messages out; a sender waits for a full queue to make room, and a client whose queue stays
//! full for `SLOW` is too slow to keep: its connection is closed (1008), so one stalled
//! reader neither loses messages silently nor holds up the room.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use guest_abi::types::ValueType;
use tokio::sync::{mpsc, oneshot};

/// Messages queued out per connection.
pub const QUEUE: usize = 256;
/// How long a full queue may stay full before its client is dropped as too slow.
pub const SLOW: std::time::Duration = std::time::Duration::from_secs(2);
/// The handle a `WsConn` parameter receives (one connection per sandbox).
pub const HANDLE: u32 = 1;

/// What the socket hands the sandbox.
#[derive(Debug)]
pub enum Incoming {
    Text(String),
    /// A binary frame: what a `WsConn<Bytes>` reads (a JSON endpoint refuses it).
    Binary(Vec<u8>),
}

/// What the sandbox hands the socket.
#[derive(Clone, Debug)]
pub enum Outgoing {
    Text(String),
    /// What a `WsConn<_, Bytes>` sends.
    Binary(Vec<u8>),
    Close(u16, &'static str),
}

/// A connection in its endpoint's room: where its messages go, and how it is dropped.
struct Member {
    id: u64,
    out: mpsc::Sender<Outgoing>,
    kick: Arc<tokio::sync::Notify>,
}

/// The open connections of one app, by endpoint.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<HashMap<String, Vec<Member>>>,
    next: AtomicU64,
    open: AtomicUsize,
}

/// A place among the app's connections, given back when dropped.
pub struct Slot {
    hub: Arc<Hub>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.hub.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hub {
    /// A slot for one more connection, if fewer than `max` are open.
    pub fn admit(self: &Arc<Self>, max: usize) -> Option<Slot> {
        let mut now = self.open.load(Ordering::Acquire);
        loop {
            if now >= max {
                return None;
            }
            match self.open.compare_exchange(now, now + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(Slot { hub: self.clone() }),
                Err(seen) => now = seen,
            }
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn join(&self, path: &str, out: mpsc::Sender<Outgoing>, kick: Arc<tokio::sync::Notify>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.rooms.lock().unwrap_or_else(|e| e.into_inner()).entry(path.to_string()).or_default().push(Member { id, out, kick });
        id
    }

    fn leave(&self, path: &str, id: u64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(room) = rooms.get_mut(path) {
            room.retain(|m| m.id != id);
            if room.is_empty() {
                rooms.remove(path);
            }
        }
    }

    /// `text` to every connection of `path`, waiting on a full queue up to `SLOW` (then that
    /// connection is closed). How many got it.
    pub async fn broadcast(&self, path: &str, message: &Outgoing) -> usize {
        let room: Vec<(mpsc::Sender<Outgoing>, Arc<tokio::sync::Notify>)> =
            self.rooms.lock().unwrap_or_else(|e| e.into_inner()).get(path).map(|r| r.iter().map(|m| (m.out.clone(), m.kick.clone())).collect()).unwrap_or_default();
        let mut reached = 0;
        for (s, kick) in room {
            match s.try_send(message.clone()) {
                Ok(()) => reached += 1,
                Err(mpsc::error::TrySendError::Full(m)) => match tokio::time::timeout(SLOW, s.send(m)).await {
                    Ok(Ok(())) => reached += 1,
                    Ok(Err(_)) => {}
                    Err(_) => kick.notify_one(),
                },
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        reached
    }
}

/// One connection, as its sandbox sees it (`GuestState::ws`).
pub struct Session {
    pub path: String,
    pub receives: ValueType,
    pub sends: ValueType,
    /// Taken while `recv` waits on it.
    pub incoming: Option<mpsc::Receiver<Incoming>>,
    pub outgoing: mpsc::Sender<Outgoing>,
    pub hub: Arc<Hub>,
    id: u64,
    /// Milliseconds (since `started`) at which the handler got its last message and has not
    /// come back to `recv`; 0 while it waits there.
    pub busy_since: Arc<AtomicU64>,
    pub started: std::time::Instant,
    /// Told once the auth provider has admitted the request, so the upgrade is answered.
    pub admitted: Option<oneshot::Sender<()>>,
}

/// The sandbox's ends of a connection's channels.
pub struct Wires {
    pub incoming: mpsc::Receiver<Incoming>,
    pub outgoing: mpsc::Sender<Outgoing>,
    pub admitted: oneshot::Sender<()>,
    pub kick: Arc<tokio::sync::Notify>,
}

impl Session {
    /// Joins `path`'s room of `hub`, with the route's message types.
    pub fn new(path: String, spec: guest_abi::manifest::WsSpec, hub: Arc<Hub>, wires: Wires) -> Session {
        let Wires { incoming, outgoing, admitted, kick } = wires;
        let id = hub.join(&path, outgoing.clone(), kick);
        let started = std::time::Instant::now();
        Session {
            path,
            receives: spec.receives,
            sends: spec.sends,
            incoming: Some(incoming),
            outgoing,
            hub,
            id,
            busy_since: Arc::new(AtomicU64::new(0)),
            started,
            admitted: Some(admitted),
        }
    }

    /// The handler is running on a message (or its start) from now.
    pub fn busy(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.busy_since.store(ms.max(1), Ordering::Release);
    }

    pub fn idle(&self) {
        self.busy_since.store(0, Ordering::Release);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.hub.leave(&self.path, self.id);
    }
}

/// Whether `req` asks for a WebSocket (RFC 6455 §4.2.1), and the key to answer.
pub fn upgrade_key(req: &http::Request<axum::body::Body>) -> Option<String> {
    let h = req.headers();
    let has = |name: http::HeaderName, token: &str| h.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token));
    let ok = req.method() == http::Method::GET
        && req.version() == http::Version::HTTP_11
        && has(http::header::UPGRADE, "websocket")
        && has(http::header::CONNECTION, "upgrade")
        && h.get(http::header::SEC_WEBSOCKET_VERSION).is_some_and(|v| v == "13");
    if !ok {
        return None;
    }
    h.get(http::header::SEC_WEBSOCKET_KEY).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// The `bearer.<token>` subprotocol a client offers, if any (upstream's browser login).
pub fn bearer_protocol(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| p.len() > "bearer.".len() && p.starts_with("bearer."))
        .map(str::to_string)
}

/// The 101 that accepts the upgrade.
pub fn switching(key: &str) -> axum::response::Response {
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut res = axum::response::Response::new(axum::body::Body::empty());
    *res.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
    h.insert(http::header::CONNECTION, http::HeaderValue::from_static("upgrade"));
    if let Ok(v) = http::HeaderValue::from_str(&accept) {
        h.insert(http::header::SEC_WEBSOCKET_ACCEPT, v);
    }
    res
}

/// Moves messages between the upgraded connection and the sandbox until either side ends:
/// text in (at most `max_message` bytes), text and the closing frame out, a ping every 30 s.
pub async fn pump(
    upgraded: hyper::upgrade::Upgraded,
    incoming: mpsc::Sender<Incoming>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    max_message: usize,
    kick: Arc<tokio::sync::Notify>,
) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

    let config = WebSocketConfig::default().max_message_size(Some(max_message)).max_frame_size(Some(max_message));
    let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(hyper_util::rt::TokioIo::new(upgraded), Role::Server, Some(config)).await;
    let (mut sink, mut stream) = ws.split();
    let close = |code: u16, reason: &'static str| Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }));
    // Reading and writing go on side by side: a handler busy with a message holds up reading
    // (the socket's own backpressure), never the messages going out.
    let read = async {
        loop {
            let m = match stream.next().await {
                Some(Ok(Message::Text(t))) => Incoming::Text(t.to_string()),
                Some(Ok(Message::Binary(b))) => Incoming::Binary(b.to_vec()),
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Ok(_)) => continue,
                Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => return Some((1009, "message too big")),
                Some(Err(_)) => return None,
            };
            if incoming.send(m).await.is_err() {
                return None;
            }
        }
    };
    let write = async {
        let mut ping = tokio::time::interval(std::time::Duration::from_secs(30));
        ping.tick().await;
        loop {
            tokio::select! {
                o = outgoing.recv() => match o {
                    // A client that stopped reading stalls this send: it is dropped when kicked.
                    Some(o @ (Outgoing::Text(_) | Outgoing::Binary(_))) => tokio::select! {
                        sent = sink.send(match o {
                            Outgoing::Binary(b) => Message::Binary(b.into()),
                            Outgoing::Text(t) => Message::Text(t.into()),
                            Outgoing::Close(..) => unreachable!("matched as a message"),
                        }) => {
                            if sent.is_err() {
                                return None;
                            }
                        }
                        _ = kick.notified() => return Some((1008, "too slow to read")),
                    },
                    Some(Outgoing::Close(code, reason)) => return Some((code, reason)),
                    None => return Some((1000, "")),
                },
                _ = kick.notified() => return Some((1008, "too slow to read")),
                _ = ping.tick() => {
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return None;
                    }
                }
            }
        }
    };
    let end = tokio::select! {
        e = read => e,
        e = write => e,
    };
    // The closing frame, if the client still takes anything; a stalled one is just cut off.
    let closing = async {
        if let Some((code, reason)) = end {
            let _ = sink.send(close(code, reason)).await;
        }
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), closing).await;
}
