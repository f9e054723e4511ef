//! The test client (`test.get(…)`) works only in a `@test` run by `fitz test`: a route of a
//! served app that calls it ends its own request with a runtime error, reaching nothing.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp, logs_text};

const APP: &str = r#"
@get("/probe")
async fn probe() -> Int {
    let r = test.get("/secret").await
    return r.status
}

@get("/secret")
fn secret_route() -> Str => "never reached"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_client_is_refused_outside_a_test() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.get("/probe", None).await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert!(!r.text.contains("never reached"));
    assert!(logs_text().contains("work only in a `@test` run by `fitz test`"), "the log says why");
    app.stop().await;
}
