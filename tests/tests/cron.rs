//! The host's schedule: a job on `*/1 * * * * *` fires every second; a job that runs longer
//! than its period is never run twice at once (the overlapping ticks are skipped and logged);
//! a job that traps is logged with its name and does not stop the others.

use std::time::Duration;

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp, logs_text};

const APP: &str = r#"
type Tick { id: Int, job: Str, at: Int }

@cron("*/1 * * * * *")
async fn beat(db: DbConn) {
    Tick.insert(db, Tick { id: 0, job: "beat", at: DateTime.now().timestamp() }).await
}

@cron("* * * * * *")
async fn slow(db: DbConn) {
    let start = DateTime.now().timestamp()
    Tick.insert(db, Tick { id: 0, job: "slow-start", at: start }).await
    while DateTime.now().timestamp() < start + 2 {
    }
    Tick.insert(db, Tick { id: 0, job: "slow-end", at: DateTime.now().timestamp() }).await
}

// Upstream's interval form.
@every("1s")
async fn every_second(db: DbConn) {
    Tick.insert(db, Tick { id: 0, job: "every", at: DateTime.now().timestamp() }).await
}

@cron("*/1 * * * * *")
fn broken() {
    let xs = [1, 2]
    print(xs[5])
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_fire_do_not_overlap_and_survive_a_trapping_neighbour() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let scheduler = fitz_host::cron::start(app.served(), fitz_host::cron::CronLimits::single_app());
    tokio::time::sleep(Duration::from_millis(5500)).await;
    scheduler.stop();
    // Let a run in flight finish writing.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let beats = app.column("SELECT at FROM ticks WHERE job = 'beat' ORDER BY id").await;
    assert!(beats.len() >= 4, "beat fired {} times in 5.5 s", beats.len());
    let mut distinct = beats.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), beats.len(), "one run per tick: {beats:?}");

    let every = app.column("SELECT at FROM ticks WHERE job = 'every' ORDER BY id").await;
    assert!(every.len() >= 4, "@every(\"1s\") fired {} times in 5.5 s", every.len());

    let slow = app.column("SELECT job || ':' || at FROM ticks WHERE job LIKE 'slow-%' ORDER BY id").await;
    assert!(slow.len() >= 2, "{slow:?}");
    // Starts and ends alternate: no run started while another was going.
    for (i, row) in slow.iter().enumerate() {
        let expected = if i % 2 == 0 { "slow-start:" } else { "slow-end:" };
        assert!(row.starts_with(expected), "overlapping runs: {slow:?}");
    }
    let logs = logs_text();
    assert!(logs.contains("skipped: the previous run is still going"), "the skipped ticks are logged");
    assert!(logs.contains("job=broken") && logs.contains("index out of range"), "the trapping job is logged by name with its cause");
    app.stop().await;
}
