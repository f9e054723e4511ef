//! A host killed in the middle of a deploy (issue 17): at each step — after validation, after
//! the first migration step, before the version switch is committed — the real `fitz host`
//! aborts (`FITZ_FAULT_AT`, the same as a SIGKILL there). Restarted, the app serves the old
//! version or the new one, whole, and its tables are that version's: never a mix. On SQLite,
//! whose store is another file than the app's, the switch follows the migration's commit, so
//! a crash between the two leaves the old version on the new tables, which it can use (a
//! migration only adds); the test allows exactly that.

mod kit;

use std::time::{Duration, Instant};

use kit::process::{HostProcess, drop_pg, fresh_pg, temp_dir};

const V1: &str =
    "type Item { id: Int, name: Str }\n@get(\"/v\")\nasync fn v(db: DbConn) -> Int {\n    let n = Item.where(fn(i) => i.id > 0).count(db).await?\n    return 100 + n\n}\n";
const V2: &str = "type Item { id: Int, name: Str, owner: Str?, rank: Int = 3 }\ntype Tag { id: Int, label: Str }\n@get(\"/v\")\nasync fn v(db: DbConn) -> Int {\n    let n = Item.where(fn(i) => i.id > 0).count(db).await?\n    let t = Tag.where(fn(t) => t.id > 0).count(db).await?\n    return 200 + n + t\n}\n";

/// The columns of each of the app's tables, as the database has them.
async fn tables(url: Option<&str>, dir: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for table in ["items", "tags"] {
        let cols: Vec<String> = match url {
            Some(url) => {
                let db = fitz_host::db::Database::connect(url).await.expect("connect");
                let fitz_host::db::Pool::Postgres(p) = &db.pool else { unreachable!() };
                let cols =
                    sqlx::query_scalar("SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'app_crash' AND table_name = $1 ORDER BY ordinal_position")
                        .bind(table)
                        .fetch_all(p)
                        .await
                        .expect("columns");
                db.close().await;
                cols
            }
            None => {
                let db = fitz_host::db::Database::connect(&format!("sqlite:{}", dir.join("apps/crash.db").display())).await.expect("open");
                let fitz_host::db::Pool::Sqlite(p) = &db.pool else { unreachable!() };
                let cols = sqlx::query_scalar("SELECT name FROM pragma_table_info(?1)").bind(table).fetch_all(p).await.expect("columns");
                db.close().await;
                cols
            }
        };
        out.push((table.to_string(), cols));
    }
    out
}

fn v1_tables() -> Vec<(String, Vec<String>)> {
    vec![("items".into(), vec!["id".into(), "name".into()]), ("tags".into(), vec![])]
}

fn v2_tables() -> Vec<(String, Vec<String>)> {
    vec![("items".into(), vec!["id".into(), "name".into(), "owner".into(), "rank".into()]), ("tags".into(), vec!["id".into(), "label".into()])]
}

fn env(url: Option<&str>, fault: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Some(u) = url {
        env.push(("DATABASE_URL", u.to_string()));
    }
    if let Some(f) = fault {
        env.push(("FITZ_FAULT_AT", f.to_string()));
    }
    env
}

fn start(dir: &std::path::Path, vars: &[(&'static str, String)]) -> HostProcess {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    HostProcess::start(dir.to_path_buf(), &vars)
}

async fn crash_at(point: &str, url: Option<&str>) {
    let dir = temp_dir(&format!("crash-{point}-{}", url.is_some()));
    let wasm = |src: &str| fitz_compiler::compile(src, "crash.fitz").expect("compiles").wasm;
    let mut host = start(&dir, &env(url, None));
    assert_eq!(host.deploy("crash", wasm(V1)).await.0, 200);
    assert_eq!(host.get("crash", "/v", Duration::from_secs(10)).await, (200, "100".into()));
    host.kill_keep();

    // The deploy that dies at `point`.
    let mut host = start(&dir, &env(url, Some(point)));
    let (status, body) = host.deploy("crash", wasm(V2)).await;
    assert_eq!(status, 0, "the host died during the deploy ({point}), it did not answer: {body}");
    let started = Instant::now();
    while host.alive() {
        assert!(started.elapsed() < Duration::from_secs(10), "the host is still alive after {point}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(host);

    // Restarted: the old version or the new one, with its own tables.
    let host = start(&dir, &env(url, None));
    let mut answer = host.get("crash", "/v", Duration::from_secs(20)).await;
    let started = Instant::now();
    // A restarted host answers 503 with Retry-After until it has loaded its apps.
    while answer.0 == 503 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = host.get("crash", "/v", Duration::from_secs(20)).await;
    }
    let (status, body) = answer;
    assert_eq!(status, 200, "after a crash at {point}: {body}");
    let found = tables(url, &dir).await;
    eprintln!("crash at {point} ({}): serves {body}, tables {found:?}", if url.is_some() { "PostgreSQL" } else { "SQLite" });
    match body.as_str() {
        "100" if url.is_some() || point != "switching" => assert_eq!(found, v1_tables(), "{point}: v1 serves on v1's tables"),
        "100" => assert!(found == v1_tables() || found == v2_tables(), "{point}: v1 serves on {found:?}"),
        "200" => assert_eq!(found, v2_tables(), "{point}: v2 serves on v2's tables"),
        other => panic!("{point}: neither version answered: {other}"),
    }
    // And a deploy afterwards completes the change.
    assert_eq!(host.deploy("crash", wasm(V2)).await.0, 200);
    assert_eq!(host.get("crash", "/v", Duration::from_secs(10)).await, (200, "200".into()));
    assert_eq!(tables(url, &dir).await, v2_tables());
    host.kill();
}

/// The points `FITZ_FAULT_AT` names in a deploy, in order.
const POINTS: [&str; 3] = ["validated", "migration-step", "switching"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_killed_at_any_step_leaves_one_version_whole_on_sqlite() {
    for point in POINTS {
        crash_at(point, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_killed_at_any_step_leaves_one_version_whole_on_postgres() {
    let name = format!("fitz_crash_{}", std::process::id());
    for point in POINTS {
        let url = fresh_pg(&name).await;
        crash_at(point, Some(&url)).await;
    }
    drop_pg(&name).await;
}
