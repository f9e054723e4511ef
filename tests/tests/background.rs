//! `@background` and `spawn` over real sockets: a task outlives the request that spawned it
//! and writes to the app's database (SQLite and PostgreSQL); `spawn(…).await` hands back the
//! task's value, records and lists copied from one sandbox into the other; a task that loops or
//! traps ends alone, logged with its name; spawns past the app's limit fail their request with
//! 503 and succeed again once the running tasks end.

use std::time::{Duration, Instant};

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp, logs_text};
use serde_json::json;

const APP: &str = r#"
@table("visits")
type Visit {
    id: Int = 0
    page: Str
    weight: Int
}

type Order { item: Str, qty: Int, tags: List<Str> }

@background
async fn record(db: DbConn, page: Str, weight: Int) -> Result<Int> {
    sleep(400).await
    let v = Visit.insert(db, Visit { id: 0, page: page, weight: weight }).await?
    return Ok(v.id)
}

@background
fn summary(o: Order, factor: Float) -> Map<Str, Str> {
    return { "item": o.item.upper(), "total": "{o.qty * 2}", "tags": o.tags.join("+"), "factor": "{factor}" }
}

@background
fn spin(seconds: Int) -> Int {
    let start = DateTime.now().timestamp()
    let n = 0
    while DateTime.now().timestamp() < start + seconds {
        n += 1
    }
    return n
}

@background
fn broken(i: Int) -> Int {
    let xs = [1, 2]
    return xs[i]
}

@post("/visit/{page}")
async fn visit(db: DbConn, page: Str) -> Map<Str, Str> {
    let _ = spawn(record(db, page, 3))
    return { "queued": page }
}

@get("/visits")
async fn visits(db: DbConn) -> List<Visit> {
    return Visit.all(db).await
}

@post("/summary")
async fn summarise(body: Order) -> Map<Str, Str> {
    return spawn(summary(body, 1.5)).await
}

@post("/spin/{seconds}")
fn start_spin(seconds: Int) -> Str {
    let _ = spawn(spin(seconds))
    return "spinning"
}

@post("/broken/{i}")
fn start_broken(i: Int) -> Str {
    let _ = spawn(broken(i))
    return "started"
}

@get("/broken-awaited/{i}")
async fn broken_awaited(i: Int) -> Int {
    return spawn(broken(i)).await
}
"#;

async fn task_outlives_its_request(backend: Backend) {
    let app = TestApp::start(APP, backend, &[], Limits::default()).await;
    let started = Instant::now();
    let r = app.post("/visit/home", None, &json!({})).await;
    assert_eq!((r.status, &r.body), (200, &json!({ "queued": "home" })));
    assert!(started.elapsed() < Duration::from_millis(400), "the answer did not wait for the task");
    assert_eq!(app.get("/visits", None).await.body, json!([]), "the task has not written yet");
    let mut rows = json!([]);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = app.get("/visits", None).await.body;
        if rows != json!([]) {
            break;
        }
    }
    assert_eq!(rows, json!([{ "id": 1, "page": "home", "weight": 3 }]), "the task wrote after its request ended");

    // Awaited: a record with a list goes in, a map comes back.
    let r = app.post("/summary", None, &json!({ "item": "tea", "qty": 4, "tags": ["green", "loose"] })).await;
    assert_eq!((r.status, &r.body), (200, &json!({ "item": "TEA", "total": "8", "tags": "green+loose", "factor": "1.5" })));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_outlives_its_request_on_sqlite() {
    task_outlives_its_request(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_outlives_its_request_on_postgres() {
    task_outlives_its_request(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_that_loop_or_trap_end_alone_and_spawns_past_the_limit_get_503() {
    let limits = Limits { tasks: 2, task_deadline: Duration::from_secs(1), ..Limits::default() };
    let app = TestApp::start(APP, Backend::Sqlite, &[], limits).await;

    // A trap in a task is the task's: its request was answered, the failure is logged by name.
    assert_eq!(app.post("/broken/7", None, &json!({})).await.status, 200);
    // Awaited, the task's failure is the awaiting run's: 500, and nothing of it in the answer.
    let r = app.get("/broken-awaited/7", None).await;
    assert_eq!((r.status, &r.body), (500, &json!({ "error": "internal error" })));

    // Two tasks that would spin for a minute: the deadline (1 s) ends them.
    assert_eq!(app.post("/spin/60", None, &json!({})).await.status, 200);
    assert_eq!(app.post("/spin/60", None, &json!({})).await.status, 200);
    // A third is past the limit: its request is refused, to be tried again.
    let r = app.post("/spin/60", None, &json!({})).await;
    assert_eq!((r.status, &r.body), (503, &json!({ "error": "server busy, try again" })));
    // Everything else is served meanwhile.
    assert_eq!(app.get("/visits", None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.post("/spin/0", None, &json!({})).await.status, 200, "room again once the spinning tasks ended");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = logs_text();
    assert!(logs.contains("task=broken") && logs.contains("index out of range"), "the trapping task is logged by name:\n{logs}");
    assert!(logs.contains("task=spin") && logs.contains("passed its deadline"), "{logs}");
    assert!(logs.contains("too many background tasks running"), "{logs}");
    app.stop().await;
}
