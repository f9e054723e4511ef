//! `@ws` endpoints over real sockets, as upstream writes them (`conn.recv()`, `send`,
//! `broadcast`, `close`), with a WebSocket client (tokio-tungstenite): an echo with typed
//! messages, a broadcast room under load (20 clients, 500 messages each way), authentication
//! before the upgrade, and the tenant's limits as an attacker meets them — connections past
//! the cap, a message past its size, a handler that loops on a message, text that is not the
//! message type, a plain GET — each ending only its own connection.

use std::time::Duration;

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const APP: &str = r#"
type Msg { text: Str }
type Echo { echo: Str, n: Int }
type User { name: Str, role: Str }

@auth_provider
fn check(headers: Map<Str, Str>) -> Result<User> {
    return match headers.get("authorization") {
        Ok(h) => if h == "Bearer good" { Ok(User { name: "ann", role: "user" }) } else { Err("bad token") },
        Err(_) => Err("missing token"),
    }
}

@ws("/echo")
async fn echo(conn: WsConn<Msg, Echo>) -> Result<Null> {
    let n = 0
    while true {
        let m = match conn.recv().await {
            Ok(m) => m,
            Err(e) => {
                if e == "the connection is closed" {
                    return Ok(null)
                }
                Msg { text: "error: {e}" }
            },
        }
        n = n + 1
        if m.text == "spin" {
            while true {
                n = n + 1
            }
        }
        if m.text == "bye" {
            conn.close().await
            return Ok(null)
        }
        conn.send(Echo { echo: m.text, n: n }).await?
    }
    return Ok(null)
}

@ws("/room")
async fn room(conn: WsConn<Msg>) -> Result<Null> {
    while true {
        let m = conn.recv().await?
        conn.broadcast(m).await?
    }
    return Ok(null)
}

@authenticated
@ws("/private")
async fn private(conn: WsConn<Msg, Echo>, user: User) -> Result<Null> {
    conn.send(Echo { echo: "hello {user.name}", n: 0 }).await?
    let m = conn.recv().await?
    conn.send(Echo { echo: "{user.name}: {m.text}", n: 1 }).await?
    return Ok(null)
}

@get("/plain")
fn plain() -> Str => "http still"
"#;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connect(app: &TestApp, path: &str, token: Option<&str>) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    connect_with(app, path, token, None).await
}

async fn connect_with(app: &TestApp, path: &str, token: Option<&str>, protocol: Option<&str>) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let base = app.url("");
    let addr = base.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut req = format!("ws://{addr}{path}").into_client_request()?;
    if let Some(t) = token {
        req.headers_mut().insert("authorization", format!("Bearer {t}").parse().expect("header"));
    }
    if let Some(p) = protocol {
        req.headers_mut().insert("sec-websocket-protocol", p.parse().expect("header"));
    }
    let tcp = tokio::net::TcpStream::connect(&addr).await.expect("tcp");
    let (ws, _) = tokio_tungstenite::client_async(req, tcp).await?;
    Ok(ws)
}

async fn next_json(ws: &mut Ws) -> Json {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("JSON"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The close frame's code, once the server closes.
async fn closed_with(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

fn text(v: Json) -> Message {
    Message::Text(v.to_string().into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_speaks_the_endpoints_types() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let mut ws = connect(&app, "/echo", None).await.expect("upgraded");
    for (i, word) in ["hola", "qué tal", "ünïcödé"].iter().enumerate() {
        ws.send(text(json!({"text": word}))).await.expect("send");
        assert_eq!(next_json(&mut ws).await, json!({"echo": word, "n": i + 1}));
    }
    // Text that is not a `Msg`: the handler's `recv` gets an `Err` and goes on.
    ws.send(Message::Text("not json".into())).await.expect("send");
    assert_eq!(next_json(&mut ws).await, json!({"echo": "error: the message is not JSON", "n": 4}));
    ws.send(text(json!({"txt": "x"}))).await.expect("send");
    let e = next_json(&mut ws).await;
    assert!(e["echo"].as_str().is_some_and(|m| m.starts_with("error: the message is not a Msg")), "{e}");
    // `close()` ends it normally.
    ws.send(text(json!({"text": "bye"}))).await.expect("send");
    assert_eq!(closed_with(&mut ws).await, Some(CloseCode::Normal));
    // HTTP routes beside it are untouched; a plain GET of the endpoint is told to upgrade.
    assert_eq!(app.get("/plain", None).await.body, json!("http still"));
    let r = app.get("/echo", None).await;
    assert_eq!((r.status, r.headers["upgrade"].to_str().unwrap_or("")), (426, "websocket"));
    // Not an HTTP operation: OpenAPI leaves it out.
    let doc = app.get("/openapi.json", None).await.body;
    assert!(doc["paths"]["/echo"].is_null() && doc["paths"]["/plain"].is_object());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_broadcasts_to_every_connection_under_load() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    const CLIENTS: usize = 20;
    const EACH: usize = 25;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(connect(&app, "/room", None).await.expect("upgraded"));
    }
    // Every client sends its share at once; each must then see every message of every client.
    let mut tasks = Vec::new();
    for (c, mut ws) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                ws.send(text(json!({"text": format!("{c}:{i}")}))).await.expect("send");
            }
            let mut seen = std::collections::HashSet::new();
            while seen.len() < CLIENTS * EACH {
                let m = next_json(&mut ws).await;
                seen.insert(m["text"].as_str().expect("text").to_string());
            }
            seen
        }));
    }
    for t in tasks {
        let seen = t.await.expect("client");
        assert_eq!(seen.len(), CLIENTS * EACH);
        for c in 0..CLIENTS {
            // A client's own messages arrive in the order it sent them.
            assert!(seen.contains(&format!("{c}:{}", EACH - 1)));
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_admits_the_upgrade() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    for (token, status) in [(None, 401), (Some("bad"), 401)] {
        match connect(&app, "/private", token).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status().as_u16(), status),
            other => panic!("{token:?}: expected a refusal before the upgrade, got {other:?}"),
        }
    }
    let mut ws = connect(&app, "/private", Some("good")).await.expect("admitted");
    assert_eq!(next_json(&mut ws).await, json!({"echo": "hello ann", "n": 0}));
    ws.send(text(json!({"text": "hi"}))).await.expect("send");
    assert_eq!(next_json(&mut ws).await, json!({"echo": "ann: hi", "n": 1}));
    // The handler returned: the connection closes normally.
    assert_eq!(closed_with(&mut ws).await, Some(CloseCode::Normal));
    // A browser's way (it cannot set `Authorization`): the token as subprotocol
    // `bearer.<token>`, which the server chooses back (the client checks it was offered).
    match connect_with(&app, "/private", None, Some("chat, bearer.bad")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status().as_u16(), 401),
        other => panic!("a bad token as a subprotocol is refused: {other:?}"),
    }
    let mut ws = connect_with(&app, "/private", None, Some("chat, bearer.good")).await.expect("admitted by its subprotocol");
    assert_eq!(next_json(&mut ws).await, json!({"echo": "hello ann", "n": 0}));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenants_limits_end_only_the_offending_connection() {
    let limits = Limits { ws_connections: 4, ws_message_bytes: 1024, request_deadline: Duration::from_secs(1), ..Limits::default() };
    let app = TestApp::start(APP, Backend::Sqlite, &[], limits).await;
    let mut calm = connect(&app, "/echo", None).await.expect("upgraded");
    // A message past the size: closed with 1009 (message too big).
    let mut big = connect(&app, "/echo", None).await.expect("upgraded");
    big.send(text(json!({"text": "x".repeat(2000)}))).await.expect("send");
    assert_eq!(closed_with(&mut big).await, Some(CloseCode::Size));
    // A handler that loops on a message: stopped at the request deadline, closed with 1011.
    let mut spin = connect(&app, "/echo", None).await.expect("upgraded");
    spin.send(text(json!({"text": "spin"}))).await.expect("send");
    let started = std::time::Instant::now();
    assert_eq!(closed_with(&mut spin).await, Some(CloseCode::Error));
    assert!(started.elapsed() < Duration::from_secs(8), "stopped near its deadline: {:?}", started.elapsed());
    // The connections past the cap are refused before the upgrade (503).
    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..5 {
        match connect(&app, "/echo", None).await {
            Ok(ws) => open.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status().as_u16(), 503);
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((open.len(), refused), (3, 2), "the calm connection and 3 more make the cap of 4");
    // Closing one gives its place back.
    let mut first = open.remove(0);
    first.close(None).await.expect("close");
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(ws) = connect(&app, "/echo", None).await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "a place given back is taken again");
    // Through all of it the calm connection kept its conversation.
    calm.send(text(json!({"text": "still here"}))).await.expect("send");
    assert_eq!(next_json(&mut calm).await, json!({"echo": "still here", "n": 1}));
    assert_eq!(app.get("/plain", None).await.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stalls_is_dropped_and_the_room_goes_on() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    // Joins the room and never reads: its queue and the socket's buffers fill, then it is
    // closed as too slow (1008) instead of holding up the others or losing their messages.
    let mut stalled = connect(&app, "/room", None).await.expect("upgraded");
    let active = connect(&app, "/room", None).await.expect("upgraded");
    let (mut sink, mut stream) = active.split();
    const N: usize = 3000;
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < N {
            match tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("in time") {
                Some(Ok(Message::Text(_))) => got += 1,
                Some(Ok(_)) => {}
                other => panic!("the active client lost its connection: {other:?}"),
            }
        }
        got
    });
    let body = "x".repeat(8000);
    let writing = async {
        for i in 0..N {
            sink.send(text(json!({"text": format!("{i} {body}")}))).await.expect("send");
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), writing).await.is_err() {
        panic!("the room stopped taking messages; logs:\n{}", fitz_tests::server::logs_text());
    }
    assert_eq!(reader.await.expect("reader"), N, "every broadcast reached the client that reads");
    // Its backlog, then the end: the closing frame (1008) if it fit behind the backlog, else
    // the connection cut off.
    let end = closed_with(&mut stalled).await;
    assert!(matches!(end, None | Some(CloseCode::Policy)), "{end:?}");
    app.stop().await;
}

const NEWS: &str = r#"
type Hello { name: Str }
type News { headline: Str }

@ws("/news")
async fn news(conn: WsConn<Hello, News>) -> Result<Null> {
    while true {
        let h = conn.recv().await?
        conn.send(News { headline: "welcome {h.name}" }).await?
    }
    return Ok(null)
}

@ws("/ticks")
async fn ticks(conn: WsConn<Bytes>) -> Result<Null> {
    let first = conn.recv().await?
    conn.send(first).await?
    while true {
        conn.recv().await?
    }
    return Ok(null)
}

@post("/publish/{headline}")
fn publish(headline: Str) -> Int => ws_broadcast("/news", News { headline: headline })

@post("/tick")
fn tick() -> Int => ws_broadcast("/ticks", b"\x00\xfftick")

// A task reaches the connections its spawner does, after the request has been answered.
@background
async fn announce(headline: Str) -> Int {
    sleep(50).await
    return ws_broadcast("/news", News { headline: "later: {headline}" })
}

@post("/later/{headline}")
fn later(headline: Str) -> Str {
    let _ = spawn(announce(headline))
    return "queued"
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_handler_broadcasts_to_an_endpoints_connections() {
    let app = TestApp::start(NEWS, Backend::Sqlite, &[], Limits::default()).await;
    // Nobody listening yet.
    assert_eq!(app.post("/publish/early", None, &json!(null)).await.body, json!(0));
    let mut readers = Vec::new();
    for i in 0..5 {
        let mut ws = connect(&app, "/news", None).await.expect("upgrade");
        ws.send(Message::Text(json!({"name": format!("r{i}")}).to_string().into())).await.expect("send");
        assert_eq!(next_json(&mut ws).await, json!({"headline": format!("welcome r{i}")}));
        readers.push(ws);
    }
    let r = app.post("/publish/big%20news", None, &json!(null)).await;
    assert_eq!((r.status, r.body.clone()), (200, json!(5)), "{}", r.text);
    for ws in &mut readers {
        assert_eq!(next_json(ws).await, json!({"headline": "big news"}));
    }
    // One leaves; the next broadcast reaches the others.
    let mut gone = readers.pop().expect("a reader");
    gone.close(None).await.expect("close");
    let mut reached = 5;
    for _ in 0..50 {
        reached = app.post("/publish/again", None, &json!(null)).await.body.as_i64().expect("count");
        if reached == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reached, 4);
    assert_eq!(app.post("/later/tea", None, &json!(null)).await.body, json!("queued"));
    for ws in &mut readers {
        // After the "again"s of the loop above, each reader gets the task's.
        let mut m = next_json(ws).await;
        while m == json!({"headline": "again"}) {
            m = next_json(ws).await;
        }
        assert_eq!(m, json!({"headline": "later: tea"}));
    }
    // A `Bytes` endpoint gets binary frames.
    let mut t = connect(&app, "/ticks", None).await.expect("upgrade");
    t.send(Message::Binary(vec![1u8].into())).await.expect("send");
    assert_eq!(next_binary(&mut t).await, [1u8]);
    assert_eq!(app.post("/tick", None, &json!(null)).await.body, json!(1));
    assert_eq!(next_binary(&mut t).await, b"\x00\xfftick");
    // AsyncAPI says which endpoint speaks binary.
    let doc = app.get("/asyncapi.json", None).await.body;
    assert_eq!(fitz_tests::python::validate_asyncapi(&doc.to_string()), "valid");
    assert_eq!(doc["components"]["messages"]["ticks_out"]["contentType"], "application/octet-stream");
    assert_eq!(doc["components"]["messages"]["news_out"]["contentType"], "application/json");
    app.stop().await;
}

async fn next_binary(ws: &mut Ws) -> Vec<u8> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Binary(b))) => return b.to_vec(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncapi_describes_the_endpoints() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.get("/asyncapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = r.body;
    // AsyncAPI's own schema for 3.0.0 is the referee.
    assert_eq!(fitz_tests::python::validate_asyncapi(&doc.to_string()), "valid");
    assert_eq!(doc["channels"]["echo"]["address"], "/echo");
    assert_eq!(doc["components"]["messages"]["echo_in"]["payload"], json!({"$ref": "#/components/schemas/Msg"}));
    assert_eq!(doc["components"]["messages"]["echo_out"]["payload"], json!({"$ref": "#/components/schemas/Echo"}));
    assert_eq!(doc["components"]["schemas"]["Echo"]["required"], json!(["echo", "n"]));
    assert_eq!(doc["operations"]["echo_receive"]["action"], "receive");
    assert_eq!(doc["operations"]["echo_send"]["channel"], json!({"$ref": "#/channels/echo"}));
    // Only the endpoint behind the provider names the bearer scheme.
    assert!(doc["operations"]["echo_receive"].get("security").is_none());
    assert_eq!(doc["operations"]["private_receive"]["security"], json!([{"$ref": "#/components/securitySchemes/bearerAuth"}]));
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["type"], "http");
    // HTTP routes are OpenAPI's, not here.
    assert!(doc["channels"].get("plain").is_none());
    let page = app.get("/asyncapi", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-security-policy"], "default-src 'none'; style-src 'unsafe-inline'");
    for path in ["<code>/echo</code>", "<code>/room</code>", "<code>/private</code>", "Needs a bearer token"] {
        assert!(page.text.contains(path), "{path} missing from the page");
    }
    app.stop().await;
    // No `@ws`, no AsyncAPI.
    let plain = TestApp::start("@get(\"/\")\nfn home() -> Str => \"hi\"\n", Backend::Sqlite, &[], Limits::default()).await;
    assert_eq!(plain.get("/asyncapi.json", None).await.status, 404);
    assert_eq!(plain.get("/asyncapi", None).await.status, 404);
    plain.stop().await;
}
