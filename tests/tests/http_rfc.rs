//! HTTP as the RFCs say, over raw sockets: HEAD on every GET route and the auto routes (the
//! GET's headers and length, no body), and 400 for an HTTP/1.1 request without `Host` or any
//! request with two.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const APP: &str = "type Msg { text: Str }\n@get(\"/hello/{name}\")\nfn hello(name: Str) -> Str => \"hello {name}\"\n@post(\"/echo\")\nfn echo(body: Msg) -> Msg => body\n";

/// Sends `request` on a fresh connection and reads until the server closes it.
async fn raw(base: &str, request: &str) -> String {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status(answer: &str) -> &str {
    answer.split(' ').nth(1).unwrap_or("")
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer.lines().take_while(|l| !l.is_empty()).find_map(|l| l.split_once(": ").filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_mirrors_get_and_host_is_required() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    for path in ["/hello/ada", "/openapi.json", "/healthz", "/docs"] {
        let get = raw(&app.base, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await;
        let head = raw(&app.base, &format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await;
        assert_eq!(status(&get), "200", "{get}");
        assert_eq!(status(&head), "200", "{path}: {head}");
        let body = get.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        assert!(!body.is_empty(), "{path}");
        assert!(head.ends_with("\r\n\r\n"), "{path}: HEAD carries no body: {head:?}");
        assert_eq!(header(&head, "content-length"), header(&get, "content-length"), "{path}");
        assert_eq!(header(&head, "content-type"), header(&get, "content-type"), "{path}");
    }
    // HEAD where only POST is routed: 405, and GET's absence is not hidden.
    let head = raw(&app.base, "HEAD /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status(&head), "405", "{head}");
    let get = raw(&app.base, "DELETE /hello/ada HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status(&get), "405");
    assert_eq!(header(&get, "allow"), Some("GET, HEAD"), "{get}");

    // Host: none on HTTP/1.1, or two, is a 400 naming the problem; HTTP/1.0 needs none.
    let none = raw(&app.base, "GET /hello/ada HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status(&none), "400", "{none}");
    assert!(none.contains("missing Host header"), "{none}");
    let two = raw(&app.base, "GET /hello/ada HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status(&two), "400", "{two}");
    assert!(two.contains("more than one Host header"), "{two}");
    let old = raw(&app.base, "GET /hello/ada HTTP/1.0\r\n\r\n").await;
    assert_eq!(status(&old), "200", "{old}");
}

/// The same under `fitz host`, where the Host header also picks the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_tenant_host_refuses_a_missing_or_doubled_host_and_answers_head() {
    let dir = std::env::temp_dir().join(format!("fitz-http-rfc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let host = fitz_tests::multi::TestHost::start(&dir, None).await;
    let r = host.deploy("greet", APP).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let head = raw(&host.base, "HEAD /hello/ada HTTP/1.1\r\nHost: greet.localhost\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status(&head), "200", "{head}");
    assert!(head.ends_with("\r\n\r\n"), "{head:?}");
    assert_eq!(header(&head, "content-length"), Some("11"), "{head}");
    let none = raw(&host.base, "GET /hello/ada HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status(&none), "400", "{none}");
    let two = raw(&host.base, "GET /hello/ada HTTP/1.1\r\nHost: greet.localhost\r\nHost: other.localhost\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status(&two), "400", "{two}");
}
