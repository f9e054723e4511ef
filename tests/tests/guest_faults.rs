//! A guest that loops, allocates without end, recurses too deep or hits a runtime error ends
//! its own request only: the host answers 503/500 with a generic body, logs the cause, and
//! every concurrent well-behaved request succeeds.

use std::time::{Duration, Instant};

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp, logs_text};
use serde_json::json;

const APP: &str = r#"
@get("/loop")
fn spin() -> Int {
    let i = 0
    while true {
        i += 1
    }
    return i
}

@get("/bomb")
fn bomb() -> Int {
    let chunks: List<Str> = []
    let s = "0123456789abcdef"
    while true {
        s = s + s
        chunks.push(s)
    }
    return chunks.len()
}

fn down(n: Int) -> Int {
    return down(n + 1) + 1
}

@get("/deep")
fn deep() -> Int => down(0)

@get("/index")
fn index() -> Int {
    let xs = [1, 2, 3]
    return xs[7]
}

@get("/ok/{n}")
fn ok(n: Int) -> Map<Str, Int> => { "n": n, "square": n * n }
"#;

const DEADLINE: Duration = Duration::from_secs(1);

fn limits() -> Limits {
    Limits { request_deadline: DEADLINE, memory_bytes: 32 << 20, ..Limits::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_their_own_request_only() {
    faults_spare_the_other_requests(TestApp::start(APP, Backend::Sqlite, &[], limits()).await).await;
}

/// `fitz run`'s layout with one serving thread: the looping guest shares its thread with every
/// other request, which go on because it yields at each epoch tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_their_own_request_only_on_one_serving_thread() {
    faults_spare_the_other_requests(TestApp::start_per_core(APP, Backend::Sqlite, &[], limits(), 1).await).await;
}

async fn faults_spare_the_other_requests(app: TestApp) {
    let faulty = async {
        let mut out = Vec::new();
        for path in ["/loop", "/bomb", "/deep", "/index", "/loop"] {
            let started = Instant::now();
            let r = app.get(path, None).await;
            out.push((path, r.status, r.body, started.elapsed()));
        }
        out
    };
    let normal = async {
        let mut statuses = Vec::new();
        for n in 0..60i64 {
            let r = app.get(&format!("/ok/{n}"), None).await;
            assert_eq!(r.body, json!({ "n": n, "square": n * n }));
            statuses.push(r.status);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        statuses
    };
    let (faults, statuses) = tokio::join!(faulty, normal);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for (path, status, body, elapsed) in faults {
        match path {
            "/loop" => {
                assert_eq!((status, &body), (503, &json!({ "error": "request timed out" })));
                // Cut off at its deadline, not left running: a generous bound, not a benchmark.
                assert!(elapsed < DEADLINE * 4, "{path} took {elapsed:?}");
            }
            _ => assert_eq!((status, &body), (500, &json!({ "error": "internal error" })), "{path}"),
        }
    }
    // The host carries on.
    assert_eq!(app.get("/ok/3", None).await.status, 200);
    let logs = logs_text();
    assert!(logs.contains("request failed: app.fitz: out of memory"), "the memory bomb's cause is logged");
    assert!(logs.contains("stack overflow"), "the recursion's cause is logged");
    assert!(logs.contains("app.fitz:32:15: index out of range"), "a runtime error is logged with its source position");
    assert!(logs.contains("passed its deadline"));
    app.stop().await;
}
