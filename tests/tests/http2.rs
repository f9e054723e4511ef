//! HTTP/2 as RFC 9113 says, with its abuse limits: a client with prior knowledge speaks HTTP/2
//! in cleartext (requests, bodies, HEAD, `:authority` as the host) beside HTTP/1 clients on the
//! same port; the server announces its stream limit; a client that opens streams and resets
//! them at once (the rapid-reset attack, CVE-2023-44487) has its connection closed, and the
//! server goes on serving everyone else; a client that sends nothing is closed at the header
//! time, as a slow HTTP/1 client is.

use std::time::Duration;

use fitz_host::limits::ServerLimits;
use fitz_host::runtime::app::Limits;
use fitz_tests::server::TestApp;
use serde_json::json;
use tokio::io::AsyncReadExt;

const APP: &str = r#"
type Note { text: Str }

@get("/hello/{name}")
fn hello(name: Str) -> Map<Str, Str> => { "hello": name }

@post("/notes")
fn note(body: Note) -> Note => body
"#;

fn limits() -> ServerLimits {
    ServerLimits { header_timeout: Duration::from_secs(2), ..ServerLimits::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prior_knowledge_clients_speak_http2_beside_http1() {
    let app = TestApp::start_limited(APP, &[], Limits::default(), limits(), 64).await;
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().expect("client");
    let r = h2.get(app.url("/hello/ada")).send().await.expect("h2 request");
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.json::<serde_json::Value>().await.expect("json"), json!({ "hello": "ada" }));
    let r = h2.post(app.url("/notes")).json(&json!({ "text": "over h2" })).send().await.expect("h2 post");
    assert_eq!((r.status().as_u16(), r.json::<serde_json::Value>().await.expect("json")), (200, json!({ "text": "over h2" })));
    let r = h2.head(app.url("/hello/ada")).send().await.expect("h2 head");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").len(), 0, "HEAD has no body on HTTP/2 either");
    // HTTP/1 on the same port.
    let r = app.get("/hello/bob", None).await;
    assert_eq!(r.body, json!({ "hello": "bob" }));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_resets_close_the_connection_and_spare_the_server() {
    let app = TestApp::start_limited(APP, &[], Limits::default(), limits(), 64).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let (mut client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    let driver = tokio::spawn(connection);
    // The server's settings arrive with its first frames.
    let ready = client.clone().ready().await.expect("ready");
    drop(ready);
    let mut refused = false;
    for _ in 0..2000 {
        let req = http::Request::get(format!("http://{addr}/hello/x")).body(()).expect("request");
        match client.clone().ready().await {
            Ok(mut c) => match c.send_request(req, true) {
                Ok((_, mut stream)) => stream.send_reset(h2::Reason::CANCEL),
                Err(_) => {
                    refused = true;
                    break;
                }
            },
            Err(_) => {
                refused = true;
                break;
            }
        }
        client = client.clone();
    }
    let _ = refused;
    let ended = tokio::time::timeout(Duration::from_secs(10), driver).await;
    match ended {
        // The server's GOAWAY, or (when it closed while the client was still writing) the
        // broken connection: either way the server ended it, where a timeout means it did not.
        Ok(Ok(Err(e))) => assert!(e.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM) || e.is_io(), "{e}"),
        other => panic!("the connection of a client resetting streams without end is closed with ENHANCE_YOUR_CALM, not {other:?}"),
    }
    // Everyone else is served, over either protocol.
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().expect("client");
    assert_eq!(h2.get(app.url("/hello/after")).send().await.expect("h2").status(), 200);
    assert_eq!(app.get("/hello/after", None).await.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_announces_its_stream_limit() {
    let app = TestApp::start_limited(APP, &[], Limits::default(), limits(), 64).await;
    let tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect");
    let (client, mut connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    // Drive the connection until the server's SETTINGS are in.
    let _ = tokio::time::timeout(Duration::from_millis(500), &mut connection).await;
    assert_eq!(connection.max_concurrent_send_streams(), 100);
    drop(client);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_or_half_preface_client_is_closed_at_the_header_time() {
    let app = TestApp::start_limited(APP, &[], Limits::default(), limits(), 64).await;
    for sent in [&b""[..], &b"PRI * HTTP/2.0\r\n"[..]] {
        let mut tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut tcp, sent).await.expect("write");
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await.expect("closed in time").unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
        assert!(started.elapsed() >= Duration::from_millis(1500), "after the header time, not at once");
    }
    app.stop().await;
}
