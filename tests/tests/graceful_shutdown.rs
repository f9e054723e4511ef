//! Stopping the server drains the requests in flight: a request that is still running when
//! shutdown begins gets its answer, and new connections are refused afterwards.

use std::time::Duration;

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
@get("/slow")
fn slow() -> Map<Str, Int> {
    let start = DateTime.now().timestamp()
    let spins = 0
    while DateTime.now().timestamp() < start + 2 {
        spins += 1
    }
    return { "done": 1 }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_requests_in_flight() {
    drains(TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await).await;
}

/// The same, served on worker threads of their own (as `fitz run` serves): stopping the
/// acceptor drains every worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_per_core_waits_for_requests_in_flight() {
    drains(TestApp::start_per_core(APP, Backend::Sqlite, &[], Limits::default(), 2).await).await;
}

async fn drains(app: TestApp) {
    let url = app.url("/slow");
    let client = app.client.clone();
    let in_flight = tokio::spawn(async move {
        let r = client.get(url).send().await.expect("answered");
        (r.status().as_u16(), r.json::<serde_json::Value>().await.expect("json"))
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = app.base.clone();
    app.stop().await;
    let (status, body) = in_flight.await.expect("task");
    assert_eq!((status, body), (200, json!({ "done": 1 })));
    assert!(reqwest::get(format!("{base}/slow")).await.is_err(), "no new connections after shutdown");
}

/// A client that connected and said nothing yet (not known to be HTTP/1 or HTTP/2) does not
/// hold the shutdown up until its header time runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_does_not_hold_up_shutdown() {
    let server = fitz_host::limits::ServerLimits { header_timeout: Duration::from_secs(120), ..fitz_host::limits::ServerLimits::default() };
    let app = TestApp::start_limited(APP, &[], Limits::default(), server, 8).await;
    let silent = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(Duration::from_secs(30), app.stop()).await.expect("shutdown does not wait for the silent client's two minutes");
    drop(silent);
}
