//! Request bodies meet their declared record type: defaults come from the program (computed
//! by the guest, so any default expression works), nullable fields may be left out, `@hidden`
//! fields are neither accepted from a body nor written into a response, nested records and
//! lists are checked field by field.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
type Address { city: Str, zip: Str? }

type Signup {
    name: Str
    role: Str = "viewer"
    tags: List<Str> = ["new", "user {1 + 1}"]
    score: Float = 1.5
    nick: Str?
    address: Address
    @hidden internal: Str = "set by the server"
}

@post("/signup")
fn signup(body: Signup) -> Map<Str, Str> {
    return {
        "name": body.name,
        "role": body.role,
        "tags": body.tags.join(","),
        "score": "{body.score}",
        "nick": match body.nick { null => "-", n => n },
        "city": body.address.city,
        "internal": body.internal,
    }
}

@post("/echo")
fn echo(body: Signup) -> Signup => body
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_bind_with_defaults_and_hidden_fields() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.post("/signup", None, &json!({ "name": "Ada", "address": { "city": "Rome" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "name": "Ada", "role": "viewer", "tags": "new,user 2", "score": "1.5", "nick": "-", "city": "Rome", "internal": "set by the server" }));
    let r = app.post("/signup", None, &json!({ "name": "Bo", "role": "admin", "tags": [], "score": 2, "nick": "b", "address": { "city": "Oslo", "zip": null } })).await;
    assert_eq!(r.body, json!({ "name": "Bo", "role": "admin", "tags": "", "score": "2.0", "nick": "b", "city": "Oslo", "internal": "set by the server" }));
    // `@hidden` is refused on the way in and left out on the way out.
    let r = app.post("/signup", None, &json!({ "name": "Eve", "internal": "x", "address": { "city": "Rome" } })).await;
    assert_eq!((r.status, r.body), (400, json!({ "error": "body for 'Signup': undeclared field 'internal'" })));
    let r = app.post("/echo", None, &json!({ "name": "Ada", "address": { "city": "Rome" } })).await;
    assert_eq!(r.body, json!({ "name": "Ada", "role": "viewer", "tags": ["new", "user 2"], "score": 1.5, "nick": null, "address": { "city": "Rome", "zip": null } }));
    // Nested problems name their path.
    let r = app.post("/signup", None, &json!({ "name": "Ada", "address": { "zip": "1" } })).await;
    assert_eq!((r.status, r.body), (400, json!({ "error": "body for 'Signup': missing field 'address.city'" })));
    let r = app.post("/signup", None, &json!({ "name": "Ada", "tags": ["a", 2], "address": { "city": "x" } })).await;
    assert_eq!((r.status, r.body), (400, json!({ "error": "body for 'Signup': field 'tags[1]': expected Str, received an integer" })));
    let r = app.post("/signup", None, &json!({ "address": { "city": "x" } })).await;
    assert_eq!((r.status, r.body), (400, json!({ "error": "body for 'Signup': missing field 'name'" })));
    app.stop().await;
}
