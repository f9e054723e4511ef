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
