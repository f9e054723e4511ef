//! A multi-tenant host under tenants that take all they may: looping cron jobs, long
//! statements, a top level that must not run twice, an app that cannot load. Each reproduces
//! a way the host was hurt before its limits (issue 16) and shows it is not now.

use std::time::{Duration, Instant};

use fitz_host::limits::TenantLimits;
use fitz_host::multi::HostConfig;
use fitz_tests::multi::{TOKEN, TestHost, drop_pg, fresh_pg};
use fitz_tests::server::logs_text;
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-tenant-limits-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(limits: TenantLimits) -> HostConfig {
    HostConfig { default_limits: limits, ..HostConfig::new("localhost", TOKEN) }
}

const GOOD: &str = fitz_tests::ITEMS_APP;

fn spinning_crons(n: usize) -> String {
    let mut src = String::new();
    for i in 0..n {
        src += &format!("@cron(\"* * * * * *\")\nasync fn spin_{i}(db: DbConn) -> Int {{\n    let n = 0\n    while true {{\n        n += 1\n    }}\n    return n\n}}\n");
    }
    src + "@get(\"/hi\")\nfn hi() -> Int => 1\n"
}

/// Eight jobs on `* * * * * *` that loop: before, each run held one of the eight connections
/// of the host's pool for its advisory lock, and the operator API, other deploys and every
/// `/readyz` answered 503. Now runs are capped per app and hold no connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looping_cron_jobs_leave_the_control_plane_alone() {
    let pg = format!("fitz_cron_hog_{}", std::process::id());
    let url = fresh_pg(&pg).await;
    let limits = TenantLimits { cron_ms: 30_000, ..TenantLimits::default() };
    let host = TestHost::start_with(&temp("cron-hog"), Some(&url), config(limits)).await;
    assert_eq!(host.deploy("hog", &spinning_crons(8)).await.status, 200);
    // Let the jobs start and pile up.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for _ in 0..5 {
        assert_eq!(host.operator(Method::GET, "/apps", None).await.status, 200, "the operator API answers");
    }
    let r = host.deploy("other", GOOD).await;
    assert_eq!(r.status, 200, "another app deploys: {}", r.text);
    assert_eq!(host.get("other", "/readyz", None).await.status, 200, "another app is ready");
    assert_eq!(host.post("other", "/items", None, &json!({ "id": 0, "name": "pen" })).await.status, 200);
    assert_eq!(host.get("hog", "/readyz", None).await.status, 200);
    assert_eq!(host.operator(Method::DELETE, "/apps/hog", None).await.status, 200, "the operator removes the hog");
    assert!(logs_text().contains("skipped: too many cron runs at once"), "the runs past the app's cap are skipped and logged");
    host.stop().await;
    drop_pg(&pg).await;
}

async fn active_statements_on(url: &str, table: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let pattern = format!("%{table}%");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1")
        .bind(pattern)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let _ = conn.close().await;
    n
}

/// A tenant whose statements all wait (its table is locked) holds its own connections and no
/// one else's: another tenant's requests and the operator API are served meanwhile, its
/// statements end at its `statement_timeout`, and a request cancelled at its deadline leaves
/// no statement running in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_holding_its_database_budget_delays_no_one() {
    let pg = format!("fitz_db_budget_{}", std::process::id());
    let url = fresh_pg(&pg).await;
    let host = TestHost::start(&temp("db-budget"), Some(&url)).await;
    for app in ["hog", "good"] {
        assert_eq!(host.deploy(app, GOOD).await.status, 200);
        assert_eq!(host.post(app, "/items", None, &json!({ "id": 0, "name": "pen" })).await.status, 200);
    }
    let set = |limits: serde_json::Value| host.operator(Method::PUT, "/apps/hog/limits", Some(limits.to_string().into_bytes()));
    assert_eq!(set(json!({ "statement_ms": 1500, "request_ms": 9000, "db_connections": 2 })).await.status, 200);

    // Every statement on the hog's table now waits for this lock.
    let mut locker = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query("BEGIN").execute(&mut locker).await.expect("begin");
    sqlx::query(r#"LOCK TABLE "app_hog"."items" IN ACCESS EXCLUSIVE MODE"#).execute(&mut locker).await.expect("lock");
    let waiting: Vec<_> = (0..8)
        .map(|_| {
            let req = host.app_request(Method::GET, "hog", "/items");
            tokio::spawn(async move {
                let r = req.send().await.expect("answered");
                (r.status().as_u16(), r.text().await.unwrap_or_default())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..20 {
        let r = host.get("good", "/items", None).await;
        assert_eq!((r.status, &r.body), (200, &json!([{ "id": 1, "name": "pen" }])), "the other tenant is served");
        assert_eq!(host.operator(Method::GET, "/apps", None).await.status, 200, "the operator API answers");
    }
    let mut timed_out = 0;
    for w in waiting {
        let (status, text) = w.await.expect("task");
        assert_eq!(status, 500, "{text}");
        assert!(text.contains("database statement timed out") || text.contains("database unavailable"), "{text}");
        timed_out += usize::from(text.contains("database statement timed out"));
    }
    assert!(timed_out > 0, "statement_timeout ended the hog's statements");

    // A request cut off at its deadline: its statement is cancelled in PostgreSQL too.
    assert_eq!(set(json!({ "statement_ms": 60_000, "request_ms": 1000 })).await.status, 200);
    let (r1, r2) = tokio::join!(host.get("hog", "/items", None), host.get("hog", "/items", None));
    for r in [r1, r2] {
        assert_eq!(r.status, 503, "{}", r.text);
    }
    let cancelled = Instant::now();
    while active_statements_on(&url, r#""app_hog"."items""#).await > 0 {
        assert!(cancelled.elapsed() < Duration::from_secs(10), "the cancelled statements kept running in PostgreSQL");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::query("ROLLBACK").execute(&mut locker).await.expect("unlock");
    let _ = locker.close().await;
    assert_eq!(host.get("hog", "/items", None).await.status, 200, "the hog is served again once its table is free");
    host.stop().await;
    drop_pg(&pg).await;
}

/// The top level runs once per version: two hosts and a restart serve the same `Uuid.v4()`;
/// a top level that would loop after a moment ("a time bomb") deploys and is never run again;
/// a new secret runs it again, once, and every host serves the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_top_level_runs_once_per_version() {
    let pg = format!("fitz_top_once_{}", std::process::id());
    let url = fresh_pg(&pg).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let source = format!(
        r#"
fn spin() -> Int {{
    let n = 0
    while true {{
        n += 1
    }}
    return n
}}
let ID = Uuid.v4().to_str()
let X = if DateTime.now().timestamp() > {bomb} {{ spin() }} else {{ 7 }}
let GREETING = secret("GREETING")
@get("/id")
fn id() -> Map<Str, Str> => {{ "id": ID, "x": "{{X}}", "greeting": GREETING.expose() }}
"#,
        bomb = now + 3
    );
    let top = || config(TenantLimits { top_level_ms: 3000, ..TenantLimits::default() });
    let a = TestHost::start_with(&temp("top-a"), Some(&url), top()).await;
    assert_eq!(a.set_secret("once", "GREETING", "hola").await.status, 200);
    let r = a.deploy("once", &source).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = a.get("once", "/id", None).await.body;
    assert_eq!((first["x"].as_str(), first["greeting"].as_str()), (Some("7"), Some("hola")));
    let b = TestHost::start_with(&temp("top-b"), Some(&url), top()).await;
    assert_eq!(b.get("once", "/id", None).await.body, first, "another host serves the same image");
    // Past the bomb's time (whole seconds): a restarted host still serves at once, without the
    // top level.
    tokio::time::sleep(Duration::from_millis(4200)).await;
    a.stop().await;
    let again = TestHost::start_with(&temp("top-a2"), Some(&url), top()).await;
    assert_eq!(again.get("once", "/id", None).await.body, first, "a restart serves the stored image");

    // Past its bomb's time the top level now loops: a new secret value cannot be built into a
    // new image, and the image built before keeps serving.
    let r = b.set_secret("once", "GREETING", "salut").await;
    assert_eq!(r.status, 400, "{} then {}", r.text, b.get("once", "/id", None).await.text);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("deadline exceeded")), "{}", r.text);
    assert_eq!(b.get("once", "/id", None).await.body, first);

    // An app without a bomb: a new value runs its top level again, once, on the host that took
    // the change, and the other host serves the new image.
    let greet = "let G = secret(\"GREETING\")\n@get(\"/g\")\nfn g() -> Str => G.expose()\n";
    assert_eq!(b.set_secret("greet", "GREETING", "hola").await.status, 200);
    assert_eq!(b.deploy("greet", greet).await.status, 200);
    assert_eq!(b.set_secret("greet", "GREETING", "salut").await.status, 200);
    assert_eq!(b.get("greet", "/g", None).await.body, json!("salut"));
    again.wait_for("greet", "/g", &json!("salut"), "the other host did not follow the new secret").await;
    b.stop().await;
    again.stop().await;
    drop_pg(&pg).await;
}

/// An app that cannot load after a restart (its secret was unset) is tried again after a
/// pause that grows, not at every poll, and `apps inspect` says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_cannot_load_is_retried_with_pauses() {
    let dir = temp("unloadable");
    let host = TestHost::start(&dir, None).await;
    let source = "let KEY = secret(\"KEY\")\n@get(\"/k\")\nfn k() -> Int => KEY.expose().len()\n";
    assert_eq!(host.set_secret("needy", "KEY", "abc").await.status, 200);
    assert_eq!(host.deploy("needy", source).await.status, 200);
    let r = host.operator(Method::DELETE, "/apps/needy/secrets/KEY", None).await;
    assert_eq!(r.status, 400, "the version cannot be rebuilt without it: {}", r.text);
    assert_eq!(host.get("needy", "/k", None).await.body, json!(3), "the loaded version keeps serving");
    host.stop().await;

    let host = TestHost::start(&dir, None).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let r = host.operator(Method::GET, "/apps/needy", None).await;
    let failure = &r.body["load_failure"];
    let attempts = failure["attempts"].as_u64().expect("a failure is reported");
    // Tried at start, after 1 s and after 2 s more: three times in 3.5 s (a poll is 250 ms).
    assert!((1..=3).contains(&attempts), "{attempts} attempts in 3.5 s: {failure}");
    assert!(failure["error"].as_str().is_some_and(|e| e.contains("KEY")), "{failure}");
    let list = host.operator(Method::GET, "/apps", None).await;
    assert_eq!(list.body[0]["loaded"], false);
    assert!(list.body[0]["load_error"].as_str().is_some_and(|e| e.contains("KEY")), "{}", list.text);
    assert_eq!(host.set_secret("needy", "KEY", "abcd").await.status, 200, "setting it loads the app");
    assert_eq!(host.get("needy", "/k", None).await.body, json!(4));
    host.stop().await;
}

/// The port answers before the stored apps are loaded: an app not loaded yet is a 503 to
/// retry, not a 404; and every answer of an app names its version, its 404s and 405s too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_answers_while_it_loads_and_every_answer_names_its_version() {
    let dir = temp("starting");
    let host = TestHost::start(&dir, None).await;
    assert_eq!(host.deploy("early", GOOD).await.status, 200);
    for (method, path, status) in [(Method::GET, "/nope", 404), (Method::DELETE, "/items", 405), (Method::GET, "/openapi.json", 200), (Method::GET, "/healthz", 200)] {
        let r = host.send_raw(host.app_request(method.clone(), "early", path)).await;
        assert_eq!(r.0, status, "{method} {path}");
        let res = host.app_request(method.clone(), "early", path).send().await.expect("answered");
        assert_eq!(res.headers().get("x-fitz-version").and_then(|v| v.to_str().ok()), Some("1"), "{method} {path}");
    }
    host.stop().await;

    let mut config = HostConfig::new("localhost", TOKEN);
    fitz_tests::multi::with_test_key(&mut config);
    let opened = fitz_host::commands::host::open_host(None, dir.clone(), config, false).await.expect("opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let running = fitz_host::server::start_router(listener, fitz_host::multi::dispatch::router(opened.clone()), std::future::pending()).expect("serve");
    let client = reqwest::Client::new();
    let ask = || client.get(format!("http://{}/items", running.addr)).header("host", "early.localhost").send();
    let r = ask().await.expect("answered");
    assert_eq!(r.status().as_u16(), 503, "not loaded yet");
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    fitz_host::multi::sync::sync_once(&opened).await;
    assert_eq!(ask().await.expect("answered").status().as_u16(), 200, "loaded");
    running.shutdown().await.expect("stops");
}

/// A query stops at its row cap instead of fetching the table whole: the guest gets an `Err`
/// that says so, and a query with `.limit` is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_stops_at_its_row_cap_on_both_databases() {
    use fitz_host::runtime::app::Limits;
    use fitz_tests::server::{Backend, TestApp};
    let source = r#"
type Item { id: Int, name: Str }
@get("/all")
async fn all(db: DbConn) -> List<Item> {
    return Item.all(db).await?
}
@get("/some")
async fn some(db: DbConn) -> List<Item> {
    return Item.where(fn(i) => i.id > 0).limit(100).all(db).await?
}
"#;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::start(source, backend, &[], Limits { rows_per_query: 100, ..Limits::default() }).await;
        app.sql("INSERT INTO items (name) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 101) SELECT 'x' FROM n", &[]).await;
        let r = app.get("/all", None).await;
        assert_eq!((r.status, r.body["error"].as_str()), (500, Some("the query returned more than 100 rows; add .limit(…)")), "{backend:?}: {}", r.text);
        let r = app.get("/some", None).await;
        assert_eq!((r.status, r.body.as_array().map(Vec::len)), (200, Some(100)), "{backend:?}");
        app.stop().await;
    }
}
