//! The HTTP edge: axum routes everything to one handler that looks the route up in the current
//! app version (so a version can be swapped without rebuilding the router), binds the request,
//! runs it in a sandbox and writes the JSON answer. Every error answer is `{"error": "…"}`.

pub mod answer;
pub mod bind;
pub mod cors;
pub mod docs;
pub mod forms;
pub mod routes;
pub mod statics;

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use guest_abi::manifest::Param;
use guest_abi::types::ValueType;
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use self::bind::BodyInput;
use self::routes::Found;
use crate::runtime::app::AppVersion;
use crate::runtime::invoke::{self, Call, Fault, Payload, Reply};

/// What the HTTP edge serves for one app: its current version (swapped atomically on a
/// deploy; requests in flight keep the version they started with) and, on a multi-tenant
/// host, the permits that cap its concurrent requests.
pub struct Served {
    pub app: ArcSwap<AppVersion>,
    pub permits: Option<Arc<tokio::sync::Semaphore>>,
    /// The app's open WebSocket connections, across its versions (`crate::ws`).
    pub ws: Arc<crate::ws::Hub>,
}

impl Served {
    pub fn new(app: AppVersion) -> Arc<Served> {
        Arc::new(Served { app: ArcSwap::from_pointee(app), permits: None, ws: Arc::default() })
    }
}

/// One app on its own: every path goes to `serve_app`.
pub fn router(served: Arc<Served>) -> Router {
    Router::new().fallback(handle).with_state(served)
}

async fn handle(State(served): State<Arc<Served>>, req: Request) -> Response {
    if let Some(refused) = host_header_problem(&req) {
        return refused;
    }
    serve_app(&served, req).await
}

/// Answers one request to one app: the auto routes, then the app's own. Every answer names
/// the version that gave it (`x-fitz-version`): a deploy swaps versions between requests,
/// never within one.
pub async fn serve_app(served: &Arc<Served>, mut req: Request) -> Response {
    // HEAD is GET without the body (RFC 9110 §9.3.2), on every GET route and the auto routes.
    let head = req.method() == http::Method::HEAD;
    if head {
        *req.method_mut() = http::Method::GET;
    }
    let app = served.app.load_full();
    let mut res = answer(served, &app, req).await;
    res.headers_mut().insert("x-fitz-version", HeaderValue::from(app.version));
    if head { without_body(res) } else { res }
}

/// The answer's head: its headers, with the length the body would have had.
fn without_body(res: Response) -> Response {
    use axum::body::HttpBody;
    let (mut parts, body) = res.into_parts();
    if let Some(n) = body.size_hint().exact() {
        parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    Response::from_parts(parts, Body::empty())
}

/// The app's public keys (RFC 7517), for verifiers elsewhere; cached a few minutes, so a key
/// added before it signs is seen in time.
fn jwks(app: &AppVersion) -> Response {
    let body = app.jwks.as_deref().unwrap_or("{\"keys\":[]}").to_string();
    let mut res = Response::new(axum::body::Body::from(body));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// RFC 9112 §3.2: an HTTP/1.1 request without a `Host`, or any request with more than one,
/// is a 400 before anything else looks at it.
pub fn host_header_problem(req: &Request) -> Option<Response> {
    let hosts = req.headers().get_all(header::HOST).iter().count();
    if hosts > 1 {
        return Some(error(400, "more than one Host header"));
    }
    (hosts == 0 && req.version() == http::Version::HTTP_11).then(|| error(400, "missing Host header"))
}

async fn answer(served: &Served, app: &Arc<AppVersion>, req: Request) -> Response {
    if req.method() == http::Method::GET {
        // `@server(docs=false)`: the app's own routes (or a 404) answer these paths.
        let docs = app.manifest.server.as_ref().and_then(|s| s.docs) != Some(false);
        match req.uri().path() {
            "/healthz" => return healthz().await,
            "/.well-known/jwks.json" if app.jwks.is_some() => return jwks(app),
            "/readyz" => return readyz(app).await,
            "/openapi.json" if docs => return docs::openapi(app),
            "/docs" if docs => return docs::page(app),
            "/docs/scalar.js" if docs => return docs::script(req).await,
            "/asyncapi.json" if docs && app.asyncapi.is_some() => return docs::asyncapi(app),
            "/asyncapi" if docs && app.asyncapi.is_some() => return docs::asyncapi_page(app),
            _ => {}
        }
    }
    // `@server(static_dir=…)`: the bundled files under their prefix.
    if let Some(statics) = &app.statics
        && let Some(res) = statics.serve(req.method(), req.uri().path(), req.headers())
    {
        return res;
    }
    app_request(app, served.permits.as_ref(), &served.ws, req).await
}

pub fn json_response(status: u16, body: &serde_json::Value) -> Response {
    json_text_response(status, serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec()))
}

fn json_text_response(status: u16, bytes: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The peer of the connection a request came on (`server::conn` puts it in the request).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// A handler's `Response`, already checked (`answer`).
fn raw_response(raw: answer::Raw) -> Response {
    let status = StatusCode::from_u16(raw.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // 204 and 304 have no body, whatever the handler wrote.
    let body = if matches!(raw.status, 204 | 304) { Vec::new() } else { raw.body };
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    for (name, value) in raw.headers {
        res.headers_mut().append(name, value);
    }
    res
}

pub fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

async fn healthz() -> Response {
    json_response(200, &json!({ "status": "ok" }))
}

async fn readyz(app: &AppVersion) -> Response {
    match &app.ctx.db {
        Some(db) if db.ping().await.is_err() => json_response(503, &json!({ "status": "unavailable", "database": "unreachable" })),
        _ => json_response(200, &json!({ "status": "ready" })),
    }
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else { return false };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Why a body was not read.
#[derive(Debug, PartialEq)]
pub(crate) enum Unread {
    TooLarge,
    TimedOut,
    /// The client broke off.
    Broken,
}

/// The whole body, within `limit` bytes and `time`. A body refused for its size is still read
/// (and dropped) up to a bound, so a client that is still sending sees the refusal instead of
/// a broken pipe; past the bound the connection just closes.
pub(crate) async fn read_limited(body: Body, limit: usize, time: std::time::Duration) -> Result<Vec<u8>, Unread> {
    use http_body_util::BodyExt;
    const DRAIN_LIMIT: usize = 16 << 20;
    let read = async {
        let mut body = body;
        let mut bytes = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return Err(Unread::Broken) };
            let Some(data) = frame.data_ref() else { continue };
            seen += data.len();
            if seen <= limit {
                bytes.extend_from_slice(data);
            } else if seen > limit + DRAIN_LIMIT {
                return Err(Unread::TooLarge);
            }
        }
        if seen <= limit { Ok(bytes) } else { Err(Unread::TooLarge) }
    };
    tokio::time::timeout(time, read).await.unwrap_or(Err(Unread::TimedOut))
}

/// How a body comes: JSON, or one of the forms its type accepts.
enum BodyKind {
    Json,
    UrlEncoded,
    Multipart { boundary: String },
}

fn body_kind(content_type: Option<&HeaderValue>, accepts: forms::Accepts) -> Result<BodyKind, BodyInput> {
    if is_json(content_type) {
        return Ok(BodyKind::Json);
    }
    let refused = || BodyInput::Refused { status: 415, message: accepts.expected() };
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else { return Err(refused()) };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" if accepts.urlencoded => Ok(BodyKind::UrlEncoded),
        "multipart/form-data" if accepts.multipart => match multer::parse_boundary(ct) {
            Ok(boundary) => Ok(BodyKind::Multipart { boundary }),
            Err(_) => Err(BodyInput::Refused { status: 400, message: "multipart/form-data without a boundary".into() }),
        },
        _ => Err(refused()),
    }
}

/// Reads and parses the body of a route that takes one, of type `ty`; refusals are deferred
/// (see `bind`).
async fn read_body(req: Request, ty: &ValueType, records: &[guest_abi::types::RecordType], limits: &crate::limits::Limits) -> BodyInput {
    let limit = limits.body_bytes;
    // A `Bytes` body takes what comes, of any content type; `None` here.
    let kind = match (*ty == ValueType::Bytes, body_kind(req.headers().get(header::CONTENT_TYPE), forms::accepts(records, ty))) {
        (true, _) => None,
        (false, Ok(kind)) => Some(kind),
        (false, Err(refused)) => return refused,
    };
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    let too_large = || BodyInput::Refused { status: 413, message: format!("request body too large (limit {limit} bytes)") };
    // A declared length past the limit is refused without keeping any of the body.
    let declared_too_large = declared.is_some_and(|n| n > limit);
    let read = read_limited(req.into_body(), if declared_too_large { 0 } else { limit }, limits.body_timeout).await;
    let bytes = match read {
        Ok(_) if declared_too_large => return too_large(),
        Ok(bytes) => bytes,
        Err(Unread::TooLarge) => return too_large(),
        Err(Unread::TimedOut) => return BodyInput::Refused { status: 408, message: "request body timed out".into() },
        Err(Unread::Broken) => return BodyInput::Refused { status: 400, message: "request body could not be read".into() },
    };
    let Some(kind) = kind else { return BodyInput::Raw(bytes) };
    let form = match kind {
        BodyKind::Json => {
            return match serde_json::from_slice(&bytes) {
                Ok(j) => BodyInput::Json(j),
                Err(e) => BodyInput::Refused { status: 400, message: format!("request body is not valid JSON (line {}, column {})", e.line(), e.column()) },
            };
        }
        BodyKind::UrlEncoded => forms::urlencoded(&bytes),
        BodyKind::Multipart { boundary } => forms::multipart(bytes, boundary).await,
    };
    match form.and_then(|fields| forms::to_json(records, ty, fields)) {
        Ok(j) => BodyInput::Json(j),
        Err(message) => BodyInput::Refused { status: 400, message },
    }
}

/// Header bytes a request may carry (names and values); hyper's own buffer limit is larger
/// and depends on how the bytes arrive, so this one decides.
pub const MAX_HEADER_BYTES: usize = 32 << 10;

async fn app_request(app: &Arc<AppVersion>, permits: Option<&Arc<tokio::sync::Semaphore>>, hub: &Arc<crate::ws::Hub>, req: Request) -> Response {
    let started = Instant::now();
    let header_bytes: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return error(431, "request headers too large");
    }
    // Kept for the log line after the request is consumed; both clones share their bytes.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path();
    // A browser's CORS preflight for a route with a policy (`@middleware(cors(…))`).
    if method == http::Method::OPTIONS
        && let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok())
        && let Some(policy) = app.routes.preflight(asked, path).and_then(|i| app.manifest.routes[i].cors.as_ref())
    {
        return cors::preflight(policy, req.headers());
    }
    let (index, path_params) = match app.routes.find(method.as_str(), path) {
        Found::Route { index, params } => (index, params),
        Found::NotFound => return error(404, "not found"),
        Found::MethodNotAllowed(mut allowed) => {
            let mut res = error(405, "method not allowed");
            if allowed.iter().any(|m| m == "GET") {
                allowed.push("HEAD".into());
            }
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            return res;
        }
    };
    let route = &app.manifest.routes[index];
    // A route behind a feature flag that is off is not there, whoever asks (before auth).
    if let Some(flag) = &route.flag
        && !crate::config::flag_on(&app.ctx, flag)
    {
        return error(404, &format!("feature '{flag}' disabled"));
    }
    if route.ws.is_some() {
        return ws_route(app, hub, req, index, path_params).await;
    }
    let Some(policy) = &route.cors else { return routed(app, permits, hub, req, index, path_params, started).await };
    // Only the origin is needed once the request is gone.
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut res = routed(app, permits, hub, req, index, path_params, started).await;
    cors::decorate(policy, origin.as_deref(), &mut res);
    res
}

/// A request to `@ws` route `index`: bound and admitted (the auth provider, in the sandbox the
/// connection will keep) before the upgrade is answered; then the handler runs on the
/// connection until either side ends it (`crate::ws`).
async fn ws_route(app: &Arc<AppVersion>, hub: &Arc<crate::ws::Hub>, mut req: Request, index: usize, path_params: Vec<(String, String)>) -> Response {
    let route = &app.manifest.routes[index];
    let Some(spec) = route.ws.clone() else { return error(500, "internal error") };
    let Some(key) = crate::ws::upgrade_key(&req) else {
        let mut res = error(426, "this route is a WebSocket: connect with an `Upgrade: websocket` request");
        res.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        return res;
    };
    let Some(slot) = hub.admit(app.limits().ws_connections) else {
        return error(503, "the app is at its limit of WebSocket connections, try again");
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let client = req.extensions().get::<ClientAddr>().map(|c| c.0.to_string()).unwrap_or_default();
    let mut headers = bind::headers(req.headers());
    // A browser cannot set `Authorization` on a WebSocket: upstream's way is a subprotocol
    // `bearer.<token>`, read as the token (when no `Authorization` came) and chosen back.
    let protocol = crate::ws::bearer_protocol(req.headers());
    if let Some(p) = &protocol
        && !headers.iter().any(|(k, _)| k == "authorization")
    {
        headers.push(("authorization".into(), format!("Bearer {}", &p["bearer.".len()..])));
    }
    let query = req.uri().query().map(str::to_string);
    let line = bind::RequestLine { method: "GET", path: req.uri().path(), client: &client };
    let args = bind::bind(route, &line, &path_params, query.as_deref(), &headers, BodyInput::None);
    let (in_tx, in_rx) = tokio::sync::mpsc::channel(64);
    let (out_tx, out_rx) = tokio::sync::mpsc::channel(crate::ws::QUEUE);
    let (admitted_tx, admitted_rx) = tokio::sync::oneshot::channel();
    let closer = out_tx.clone();
    let kick = Arc::new(tokio::sync::Notify::new());
    let wires = crate::ws::Wires { incoming: in_rx, outgoing: out_tx, admitted: admitted_tx, kick: kick.clone() };
    let session = crate::ws::Session::new(route.path.clone(), spec, hub.clone(), wires);
    let max_message = app.limits().ws_message_bytes;
    let app = app.clone();
    let call = Call { route: index, args, headers, acting: None, request: None, wrap: 0, hub: Some(hub.clone()) };
    let name = app.ctx.name.clone();
    let mut guest = tokio::spawn(async move {
        let result = invoke::call_ws(&app, call, session).await;
        // How the connection ends: normally, or as the server's fault (1011).
        let code = match &result {
            Ok(r) if r.status < 400 => 1000,
            Ok(_) => 1000,
            Err(f) => {
                tracing::warn!(target: "fitz::ws", app = %name, "WebSocket handler failed: {f:?}");
                1011
            }
        };
        let _ = closer.send(crate::ws::Outgoing::Close(code, if code == 1000 { "" } else { "the handler failed" })).await;
        drop(slot);
        result
    });
    // A run that ends before its handler starts is a refusal (401, 403, 400) or a failure.
    let ended = |done: Result<Result<Reply, Fault>, tokio::task::JoinError>| match done {
        Ok(result) => outcome_response(result).0,
        Err(_) => error(500, "internal error"),
    };
    tokio::select! {
        admitted = admitted_rx => {
            if admitted.is_err() {
                return ended(guest.await);
            }
            tokio::spawn(async move {
                if let Ok(upgraded) = on_upgrade.await {
                    crate::ws::pump(upgraded, in_tx, out_rx, max_message, kick).await;
                }
            });
            let mut res = crate::ws::switching(&key);
            if let Some(v) = protocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
                res.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, v);
            }
            res
        }
        done = &mut guest => ended(done),
    }
}

/// What a run's outcome answers the client, and the fault (for the log) if it was one.
fn outcome_response(result: Result<Reply, Fault>) -> (Response, Result<(), Fault>) {
    match result {
        Ok(Reply { status, body: Payload::Json(body) }) => (json_response(status, &body), Ok(())),
        Ok(Reply { status, body: Payload::Text(text) }) => (json_text_response(status, text), Ok(())),
        Ok(Reply { body: Payload::Raw(raw), .. }) => (raw_response(raw), Ok(())),
        Err(Fault::Timeout) => (error(503, "request timed out"), Err(Fault::Timeout)),
        Err(Fault::Busy) => (error(503, "server busy, try again"), Err(Fault::Busy)),
        Err(Fault::Failed(cause)) => (error(500, "internal error"), Err(Fault::Failed(cause))),
    }
}

/// A request to route `index` of `app`, from reading its body to logging its answer.
async fn routed(
    app: &Arc<AppVersion>,
    permits: Option<&Arc<tokio::sync::Semaphore>>,
    hub: &Arc<crate::ws::Hub>,
    req: Request,
    index: usize,
    path_params: Vec<(String, String)>,
    started: Instant,
) -> Response {
    let route = &app.manifest.routes[index];
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path();
    let req_client = req.extensions().get::<ClientAddr>().map(|c| c.0);
    let acting = req.extensions().get::<crate::host_fns::tester::ActingUser>().map(|u| u.0.clone());
    let headers = bind::headers(req.headers());
    let query = req.uri().query().map(str::to_string);
    let body = match route.params.iter().find_map(|p| if let Param::Body { ty, .. } = p { Some(ty) } else { None }) {
        Some(ty) => read_body(req, ty, &app.manifest.records, app.limits()).await,
        None => BodyInput::None,
    };
    // A body refused for its size or time may not have been read to the end: the connection
    // closes. A body that did not come in time is answered now (it says nothing about the route).
    let close = matches!(body, BodyInput::Refused { status: 413 | 408, .. });
    if let BodyInput::Refused { status: 408, message } = &body {
        let mut res = error(408, message);
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    // The app's slot is taken only now: a client slow to send its body holds a connection of
    // the listener's, never one of the app's concurrent requests.
    let _permit = match permits {
        Some(p) => match p.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return error(503, "the app is at its limit of concurrent requests, try again"),
        },
        None => None,
    };
    let client = req_client.map(|a| a.to_string()).unwrap_or_default();
    let line = bind::RequestLine { method: method.as_str(), path, client: &client };
    let args = bind::bind(route, &line, &path_params, query.as_deref(), &headers, body);
    let request = (!route.after.is_empty() || !route.wrap.is_empty()).then(|| bind::request_of(&line, query.as_deref(), &headers));
    let result = invoke::call(app, Call { route: index, args, headers, acting, request, wrap: 0, hub: Some(hub.clone()) }).await;
    let (mut res, result) = outcome_response(result);
    if close {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let micros = started.elapsed().as_micros() as u64;
    match result {
        Err(Fault::Failed(cause)) => {
            tracing::error!(target: "fitz::http", app = %app.ctx.name, handler = %route.handler, %method, %path, status = 500, micros, "request failed: {cause}")
        }
        Err(Fault::Timeout) => {
            tracing::warn!(target: "fitz::http", app = %app.ctx.name, handler = %route.handler, %method, %path, status = 503, micros, "request passed its deadline")
        }
        Err(Fault::Busy) => tracing::warn!(target: "fitz::http", app = %app.ctx.name, %method, %path, status = 503, micros, "no instance free"),
        Ok(_) => tracing::info!(target: "fitz::http", app = %app.ctx.name, %method, %path, status = res.status().as_u16(), micros),
    }
    res.into_response()
}
