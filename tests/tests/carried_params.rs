//! `@header(name=…)` and `@cookie(name=…)` parameters over a real socket: present, absent
//! (null for `Str?`, a 400 in the stable shape for `Str`), case-insensitive header names,
//! several cookies over several `Cookie` headers, and the OpenAPI document naming them.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
type Who {
    key: Str
    session: Str
    theme: Str?
    trace: Str?
}

@header(name="X-Api-Key")
@header(name="X-Trace-Id", into="trace")
@cookie(name="session")
@cookie(name="theme", into="look")
@get("/whoami")
fn whoami(x_api_key: Str, trace: Str?, session: Str, look: Str?) -> Who {
    return Who { key: x_api_key, session: session, theme: look, trace: trace }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_cookies_bind_to_parameters() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let get = |headers: &[(&str, &str)]| {
        let mut req = app.client.get(app.url("/whoami"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        app.send(req)
    };
    let r = get(&[("x-api-key", "k1"), ("Cookie", "session=s1")]).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({ "key": "k1", "session": "s1", "theme": null, "trace": null })), "{}", r.text);
    // Header names are case-insensitive; cookies come in any number of `Cookie` headers,
    // quotes around a value are not part of it, and the first of a name wins.
    let r = get(&[("X-API-KEY", "k2"), ("x-trace-id", "t-9"), ("Cookie", "a=1; theme=\"dark\""), ("Cookie", "session=s2; session=later")]).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({ "key": "k2", "session": "s2", "theme": "dark", "trace": "t-9" })), "{}", r.text);
    // A required one absent: 400 in the host's shape, naming what is missing.
    let r = get(&[("Cookie", "session=s1")]).await;
    assert_eq!((r.status, r.body.clone()), (400, json!({ "error": "header 'x-api-key': required" })), "{}", r.text);
    let r = get(&[("x-api-key", "k"), ("Cookie", "sessionx=1; nosession")]).await;
    assert_eq!((r.status, r.body.clone()), (400, json!({ "error": "cookie 'session': required" })), "{}", r.text);
    // The document says where each comes from.
    let doc = app.get("/openapi.json", None).await.body;
    let params = doc["paths"]["/whoami"]["get"]["parameters"].as_array().expect("parameters").clone();
    let seen: Vec<(String, String, bool)> =
        params.iter().map(|p| (p["name"].as_str().unwrap_or("").to_string(), p["in"].as_str().unwrap_or("").to_string(), p["required"].as_bool().unwrap_or(false))).collect();
    assert_eq!(
        seen,
        [
            ("x-api-key".into(), "header".into(), true),
            ("x-trace-id".into(), "header".into(), false),
            ("session".into(), "cookie".into(), true),
            ("theme".into(), "cookie".into(), false)
        ]
    );
    assert_eq!(fitz_tests::python::validate_openapi(&doc.to_string()), "valid");
    app.stop().await;
}
