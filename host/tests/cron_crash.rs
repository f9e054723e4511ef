//! Cron ticks run at most once (issue 17). Each tick is claimed in the database before it
//! runs, so a host that dies in the middle of a run takes that tick with it: no other host runs
//! it again, and the schedule goes on elsewhere once the dead run's lease has run out (its
//! deadline plus 5 s). Shown with two real `fitz host` processes on one PostgreSQL: the first
//! is killed with SIGKILL while its run is going, the second carries on with later ticks only.

mod kit;

use std::time::{Duration, Instant};

use kit::process::{HostProcess, drop_pg, fresh_pg, temp_dir};

/// Each run records its tick's second, then works for about two seconds.
const JOB: &str = r#"
type Beat { id: Int, at: Int }
@cron("* * * * * *")
async fn beat(db: DbConn) -> Int {
    let now = DateTime.now().timestamp()
    Beat.insert(db, Beat { id: 0, at: now }).await?
    let n = 0
    while DateTime.now().timestamp() < now + 2 {
        n += 1
    }
    return n
}
@get("/n")
async fn n(db: DbConn) -> Int {
    return Beat.where(fn(b) => b.id > 0).count(db).await?
}
"#;

async fn beats(url: &str) -> Vec<i64> {
    let db = fitz_host::db::Database::connect(url).await.expect("connect");
    let fitz_host::db::Pool::Postgres(p) = &db.pool else { unreachable!() };
    let at = sqlx::query_scalar("SELECT at FROM app_beats.beats ORDER BY id").fetch_all(p).await.unwrap_or_default();
    db.close().await;
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_whose_host_dies_mid_run_is_not_run_again() {
    let name = format!("fitz_cron_crash_{}", std::process::id());
    let url = fresh_pg(&name).await;
    let env = [("DATABASE_URL", url.as_str()), ("FITZ_APP_LIMITS", r#"{"cron_ms": 4000}"#), ("FITZ_SECRETS_KEY", "Y3Jvbi1jcmFzaC10ZXN0LWtleS0wMTIzNDU2Nzg5YWI=")];

    let mut a = HostProcess::start(temp_dir("cron-a"), &env);
    let wasm = fitz_compiler::compile(JOB, "beats.fitz").expect("compiles").wasm;
    assert_eq!(a.deploy("beats", wasm).await.0, 200);
    // Wait for A's first run to start (its beat is written first), then kill A mid-run.
    let started = Instant::now();
    let first = loop {
        if let Some(at) = beats(&url).await.first().copied() {
            break at;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "no run started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    a.kill_keep();
    let killed_at = started.elapsed();

    // B carries on, once the dead run's lease has run out (4 s deadline + 5 s).
    let b = HostProcess::start(temp_dir("cron-b"), &env);
    let resumed = loop {
        let all = beats(&url).await;
        if all.len() >= 3 {
            break all;
        }
        assert!(started.elapsed() < killed_at + Duration::from_secs(40), "B never ran the job: {all:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut seen = resumed.clone();
    seen.dedup();
    assert_eq!(seen.len(), resumed.len(), "a tick ran twice: {resumed:?}");
    assert_eq!(resumed.iter().filter(|at| **at == first).count(), 1, "the tick A died in was not run again: {resumed:?}");
    assert!(resumed[1..].iter().all(|at| *at > first), "B ran only later ticks: {resumed:?}");
    b.kill();
    drop_pg(&name).await;
}
