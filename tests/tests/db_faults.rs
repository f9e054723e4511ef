//! Database faults handled as faults (issue 17), against a PostgreSQL server of the test's own:
//! its backends are terminated, then it is restarted, while a load runs `GET /me`,
//! `POST /articles` and deploys on a multi-tenant host serving the seed program. Before, a
//! connection that had returned a FATAL error was kept, its error was not seen as the database
//! being unavailable, and the next `GET /me`s answered `401 {"error":"database error (code
//! 57P01)"}`: every user logged out, and the driver's code in the body.
//!
//! Now: no 401 is caused by the fault (a refusal that follows a database fault is a 503 to try
//! again), no answer carries a driver's code, every acknowledged write is in the database
//! afterwards, and the host serves again within 2 s of the database's return.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fitz_tests::multi::TestHost;
use fitz_tests::private_pg::PrivatePg;
use fitz_tests::python;
use serde_json::json;

const SECRET: &str = "faults-secret-0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "correct horse battery staple";
const SMALL: &str = "@get(\"/v\")\nfn v() -> Int => 1\n";

/// One answer the load saw: when it was sent (since the start), what for, and what came back.
#[derive(Clone, Debug)]
struct Seen {
    at: Duration,
    what: &'static str,
    status: u16,
    body: String,
    /// The title an acknowledged `POST /articles` wrote.
    title: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_or_terminated_database_logs_no_one_out_and_loses_no_write() {
    let pg = PrivatePg::start();
    let url = pg.database("faults").await;
    let dir = std::env::temp_dir().join(format!("fitz-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let host = Arc::new(TestHost::start(&dir, Some(&url)).await);
    let seed = std::fs::read_to_string(fitz_tests::seed_path()).expect("seed");
    assert_eq!(host.set_secret("seed", "JWT_SECRET", SECRET).await.status, 200);
    let r = host.deploy("seed", &seed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(host.deploy("small", SMALL).await.status, 200);

    // An editor, inserted as the seed's README says, into the app's own namespace.
    let users = host.host.registry.get("seed").expect("loaded").db.table("users");
    let admin = fitz_host::db::Database::connect(&url).await.expect("connect");
    let hash = python::argon2_hash(PASSWORD);
    admin.execute(&format!("INSERT INTO {users} (email, name, role, password_hash) VALUES ('eve@x.io', 'Eve', 'editor', '{hash}')")).await.expect("insert");
    let login = host.post("seed", "/login", None, &json!({ "email": "eve@x.io", "password": PASSWORD })).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let token = login.body["token"].as_str().expect("token").to_string();

    let started = Instant::now();
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..3u32 {
        let (host, seen, stop, token) = (host.clone(), seen.clone(), stop.clone(), token.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let at = started.elapsed();
                let (what, title, req) = match worker {
                    0 => ("GET /me", None, host.app_request(reqwest::Method::GET, "seed", "/me").bearer_auth(&token)),
                    1 => {
                        let title = format!("article {n}");
                        let body = json!({ "title": title, "body": "text" });
                        ("POST /articles", Some(title), host.app_request(reqwest::Method::POST, "seed", "/articles").bearer_auth(&token).json(&body))
                    }
                    _ => (
                        "deploy",
                        None,
                        host.client
                            .post(format!("{}/_fitz/apps/small", host.base))
                            .bearer_auth(fitz_tests::multi::TOKEN)
                            .body(fitz_compiler::compile(SMALL, "small.fitz").expect("compiles").wasm),
                    ),
                };
                let (status, body) = host.send_raw(req.timeout(Duration::from_secs(20))).await;
                let title = title.filter(|_| status == 200);
                if let Ok(mut s) = seen.lock() {
                    s.push(Seen { at, what, status, body, title });
                }
                if worker == 2 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }));
    }

    // Faults: every backend of the database terminated, then the server restarted.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let terminated = pg.terminate_backends("faults").await;
    assert!(terminated > 0, "the host had sessions to terminate");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.down("fast");
    let down_at = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.up();
    let back_at = started.elapsed();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for l in load {
        l.await.expect("load");
    }
    let seen = seen.lock().expect("seen").clone();

    // No 401 and no driver code, whatever the database was doing.
    let wrong: Vec<&Seen> = seen.iter().filter(|s| s.status == 401 || s.body.contains("(code") || !matches!(s.status, 200 | 503)).collect();
    assert!(wrong.is_empty(), "answers that must not happen: {wrong:#?}");
    let while_down = seen.iter().filter(|s| s.at > down_at && s.at < back_at && s.status == 503).count();
    assert!(while_down > 0, "requests while the database was down were answered 503");
    for s in seen.iter().filter(|s| s.status == 503) {
        assert!(s.body.contains("unavailable"), "a 503 says why in the host's words: {s:?}");
    }

    // Serving again within 2 s of the database's return: everything sent after that succeeds.
    let late: Vec<&Seen> = seen.iter().filter(|s| s.at > back_at + Duration::from_secs(2)).collect();
    assert!(late.iter().filter(|s| s.what == "GET /me").count() > 5, "the load ran after the return");
    let failed: Vec<&&Seen> = late.iter().filter(|s| s.status != 200).collect();
    assert!(failed.is_empty(), "still failing 2 s after the database came back (back at {back_at:?}): {failed:#?}");

    // Every acknowledged write is there.
    let articles = host.host.registry.get("seed").expect("loaded").db.table("articles");
    let admin = fitz_host::db::Database::connect(&url).await.expect("connect");
    let stored: Vec<String> = match &admin.pool {
        fitz_host::db::Pool::Postgres(p) => sqlx::query_scalar(&format!("SELECT title FROM {articles}")).fetch_all(p).await.expect("titles"),
        fitz_host::db::Pool::Sqlite(_) => unreachable!(),
    };
    let acknowledged: Vec<&String> = seen.iter().filter_map(|s| s.title.as_ref()).collect();
    assert!(acknowledged.len() > 5, "writes were acknowledged");
    let lost: Vec<&&String> = acknowledged.iter().filter(|t| !stored.contains(t)).collect();
    assert!(lost.is_empty(), "acknowledged writes missing after the faults: {lost:?}");
    admin.close().await;
    Arc::try_unwrap(host).ok().expect("one owner").stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
