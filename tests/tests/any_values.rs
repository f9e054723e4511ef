//! `Any` over HTTP: heterogeneous maps and lists are answered as the JSON they hold, any JSON
//! a client sends can be taken as `Any` (and read back typed), and what does not fit is a
//! 400 or a runtime error naming the types, never a crash.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
type Point { x: Int, y: Int }

@get("/profile")
fn profile() -> Map<Str, Any> {
    return { "name": "ada", "age": 36, "score": 9.5, "admin": false, "tags": ["a", "b"], "home": Point { x: 1, y: 2 }, "nick": null }
}

@post("/echo")
fn echo(body: Map<Str, Any>) -> Map<Str, Any> {
    return { "got": body, "keys": body.keys(), "count": body.len() }
}

@post("/age")
fn age(body: Map<Str, Any>) -> Map<Str, Int> {
    let years: Int = body["age"]
    return { "next": years + 1 }
}

@post("/kind")
fn kind(body: Any) -> Str => body.type_name()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_values_cross_http_as_json() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.get("/profile", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "name": "ada", "age": 36, "score": 9.5, "admin": false, "tags": ["a", "b"], "home": { "x": 1, "y": 2 }, "nick": null }));

    let sent = json!({ "n": 1, "f": 2.5, "s": "x", "b": true, "z": null, "l": [1, "two", [3]], "o": { "deep": { "er": [] } } });
    let r = app.post("/echo", None, &sent).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "got": sent, "keys": ["n", "f", "s", "b", "z", "l", "o"], "count": 7 }));

    let r = app.post("/age", None, &json!({ "age": 41 })).await;
    assert_eq!(r.body, json!({ "next": 42 }));
    // An `Any` holding text where an `Int` is wanted ends the request, with the types named
    // in the log and not in the answer.
    let r = app.post("/age", None, &json!({ "age": "forty" })).await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert!(!r.text.contains("forty"), "{}", r.text);

    for (body, kind) in [(json!(1), "Int"), (json!(1.5), "Float"), (json!("s"), "Str"), (json!([1]), "List<Any>"), (json!({}), "Map<Str, Any>"), (json!(null), "Null")] {
        let r = app.post("/kind", None, &body).await;
        assert_eq!((r.status, r.body), (200, json!(kind)));
    }
    let r = app.post("/echo", None, &json!({ "s": "nul\u{0}" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
}
