//! `@middleware(cors(…))` at the protocol level: the preflight's answers, and the headers on
//! real answers, for allowed and refused origins, methods and headers.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use reqwest::Method;

const APP: &str = r#"
@middleware(cors({"allow_origin": "https://app.example", "allow_methods": ["GET", "PUT"], "allow_headers": ["content-type", "x-token"], "max_age": 600, "allow_credentials": true}))
@get("/strict")
fn strict() -> Str => "strict"

@middleware(cors())
@get("/open")
fn open() -> Str => "open"

@get("/none")
fn none() -> Str => "none"

@middleware(cors({"allow_origin": "https://app.example", "allow_methods": ["GET"]}))
@delete("/gone")
fn gone() -> Str => "gone"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_and_answers_say_what_the_policy_allows() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let preflight = |path: &str, origin: &str, method: &str, headers: &str| {
        let mut req = app.client.request(Method::OPTIONS, app.url(path)).header("origin", origin).header("access-control-request-method", method);
        if !headers.is_empty() {
            req = req.header("access-control-request-headers", headers);
        }
        app.send(req)
    };
    let r = preflight("/strict", "https://app.example", "GET", "Content-Type, X-Token").await;
    assert_eq!(r.status, 204, "{}", r.text);
    let h = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(h("access-control-allow-origin"), "https://app.example");
    assert_eq!(h("access-control-allow-methods"), "GET, PUT");
    assert_eq!(h("access-control-allow-headers"), "content-type, x-token");
    assert_eq!(h("access-control-max-age"), "600");
    assert_eq!(h("access-control-allow-credentials"), "true");
    assert_eq!(h("vary"), "origin");
    // Another origin, a method or a header the policy does not name: refused, and nothing
    // the browser would take as permission.
    for (path, origin, method, headers) in
        [("/strict", "https://evil.example", "GET", ""), ("/strict", "https://app.example", "GET", "x-other"), ("/gone", "https://app.example", "DELETE", "")]
    {
        let r = preflight(path, origin, method, headers).await;
        assert_eq!(r.status, 403, "{origin} {method} {headers}");
        assert!(r.headers.get("access-control-allow-origin").is_none());
    }
    let r = preflight("/open", "https://anyone.example", "GET", "authorization").await;
    assert_eq!((r.status, r.headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap_or(""))), (204, Some("*")));
    // No policy: OPTIONS is just a method the route does not have.
    let r = preflight("/none", "https://app.example", "GET", "").await;
    assert_eq!(r.status, 405);

    let get = |path: &str, origin: &str| app.send(app.client.get(app.url(path)).header("origin", origin));
    let r = get("/strict", "https://app.example").await;
    assert_eq!((r.status, r.headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap_or(""))), (200, Some("https://app.example")));
    assert_eq!(r.headers.get("access-control-allow-credentials").map(|v| v.to_str().unwrap_or("")), Some("true"));
    let r = get("/strict", "https://evil.example").await;
    assert_eq!(r.status, 200, "the server answers; the browser keeps the answer from the page");
    assert!(r.headers.get("access-control-allow-origin").is_none());
    assert_eq!(r.headers.get("vary").map(|v| v.to_str().unwrap_or("")), Some("origin"));
    let r = get("/none", "https://app.example").await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    app.stop().await;
}
