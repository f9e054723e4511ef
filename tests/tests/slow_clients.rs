//! Slow clients over raw sockets: hundreds of connections trickling their headers do not keep
//! a normal client from being served and are closed at the header time; an idle connection and
//! a half-sent head are closed too; a body trickled past its time gets 408; a client slow to
//! send its body holds none of the app's concurrent requests; past the connection cap, new
//! connections wait.

use std::time::{Duration, Instant};

use fitz_host::limits::ServerLimits;
use fitz_host::runtime::app::Limits;
use fitz_tests::server::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const APP: &str = r#"
type Note { text: Str }

@get("/ok/{n}")
fn ok(n: Int) -> Map<Str, Int> => { "n": n }

@post("/notes")
fn add(note: Note) -> Note => note
"#;

const HEADER_TIME: Duration = Duration::from_secs(1);

fn server_limits() -> ServerLimits {
    ServerLimits { header_timeout: HEADER_TIME, ..ServerLimits::default() }
}

fn limits() -> Limits {
    Limits { body_timeout: Duration::from_secs(1), ..Limits::default() }
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection or `within` passes; true when it closed.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> (bool, String) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Err(_) => return (false, String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(0)) | Ok(Err(_)) => return (true, String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_closed_and_a_normal_client_is_served() {
    let app = TestApp::start_limited(APP, &[], limits(), server_limits(), 32).await;
    let addr = addr(&app);
    // 300 connections, each sending a request head a byte at a time.
    let mut trickling = Vec::new();
    for i in 0..300 {
        let addr = addr.clone();
        trickling.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(&addr).await.expect("connect");
            let head = format!("GET /ok/{i} HTTP/1.1\r\nhost: x\r\nx-slow: {}\r\n", "a".repeat(200));
            let started = Instant::now();
            for b in head.bytes() {
                if conn.write_all(&[b]).await.is_err() {
                    // Closed by the server while still trickling.
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let (closed, _) = closed_within(&mut conn, Duration::from_secs(30)).await;
            assert!(closed, "a head never finished is closed");
            started.elapsed()
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..50 {
        let r = app.get(&format!("/ok/{n}"), None).await;
        assert_eq!((r.status, r.body["n"].as_i64()), (200, Some(n)), "a normal client is served during the slowloris");
    }
    for t in trickling {
        let lasted = t.await.expect("trickler");
        assert!(lasted < HEADER_TIME + Duration::from_secs(5), "a trickling head was closed after {lasted:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed() {
    let app = TestApp::start_limited(APP, &[], limits(), server_limits(), 32).await;
    let addr = addr(&app);
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    let mut half = TcpStream::connect(&addr).await.expect("connect");
    half.write_all(b"GET /ok/1 HTTP/1.1\r\nhost: x\r\n").await.expect("write");
    // A kept-alive connection that answered one request, then waits.
    let mut kept = TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(b"GET /ok/2 HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    for (name, conn) in [("idle", &mut idle), ("half-sent", &mut half), ("kept-alive", &mut kept)] {
        let (closed, text) = closed_within(conn, HEADER_TIME + Duration::from_secs(5)).await;
        assert!(closed, "the {name} connection is closed");
        if name == "kept-alive" {
            assert!(text.starts_with("HTTP/1.1 200"), "it was answered first: {text}");
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_past_its_time_gets_408_and_holds_no_app_slot() {
    // One request of the app at a time.
    let app = TestApp::start_limited(APP, &[], limits(), server_limits(), 1).await;
    let addr = addr(&app);
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"POST /notes HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"te").await.expect("write");
    // While that body is still coming, the app's one slot is free for another request.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = app.post("/notes", None, &serde_json::json!({ "text": "quick" })).await;
    assert_eq!((r.status, r.body["text"].as_str()), (200, Some("quick")), "{}", r.text);
    let (closed, text) = closed_within(&mut slow, Duration::from_secs(10)).await;
    assert!(closed, "the connection closes after the 408");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    assert!(text.ends_with(r#"{"error":"request body timed out"}"#), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_wait() {
    let server = ServerLimits { max_connections: 4, header_timeout: Duration::from_secs(30), ..ServerLimits::default() };
    let app = TestApp::start_limited(APP, &[], limits(), server, 32).await;
    let addr = addr(&app);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fifth = TcpStream::connect(&addr).await.expect("the kernel queues it");
    fifth.write_all(b"GET /ok/5 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("write");
    let (closed, text) = closed_within(&mut fifth, Duration::from_millis(500)).await;
    assert!(!closed && text.is_empty(), "not served while four connections are open: {text}");
    drop(held.pop());
    let (closed, text) = closed_within(&mut fifth, Duration::from_secs(10)).await;
    assert!(closed && text.starts_with("HTTP/1.1 200"), "served once one closed: {text}");
    app.stop().await;
}
