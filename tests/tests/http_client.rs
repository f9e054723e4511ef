//! Outbound HTTP (`http.get/head/delete/post/put`, and upstream's `http.request({…})`) against
//! a server this test starts: answers
//! with status, headers and body (a 404 is an answer, not an error), bodies sent as text or
//! JSON, the timeout, the answer's size cap and the redirect bound enforced; and the egress
//! policy: `fitz run` reaches anything, a tenant nothing by default, only the addresses its
//! operator allowed, a name only at public addresses (a rule for `localhost` does not reach
//! 127.0.0.1), and a redirect to a place the policy refuses is refused.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use fitz_host::host_fns::http::Egress;
use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
type Sent { name: Str, n: Int }

@get("/call?url={url}")
async fn call(url: Str) -> Map<Str, Str> {
    return called(url, 0).await
}

@get("/call-within?url={url}&ms={ms}")
async fn call_within(url: Str, ms: Int) -> Map<Str, Str> {
    return called(url, ms).await
}

async fn called(url: Str, timeout_ms: Int) -> Map<Str, Str> {
    let r = match http.get(url, timeout_ms: timeout_ms).await {
        Ok(r) => r,
        Err(e) => return { "error": e },
    }
    let up = match r.headers.get("x-up") {
        Ok(v) => v,
        Err(_) => "-",
    }
    return { "status": "{r.status}", "body": r.body, "up": up }
}

@get("/post-json?url={url}")
async fn post_json(url: Str) -> Str {
    let r = http.post(url, Sent { name: "tea", n: 2 }).await?
    return r.body
}

@get("/put-text?url={url}")
async fn put_text(url: Str) -> Str {
    let r = http.put(url, "plain words", headers: {"x-note": "hi"}).await?
    return r.body
}

// Upstream's map form.
@get("/map?url={url}&method={method}&ms={ms}")
async fn via_map(url: Str, method: Str, ms: Int) -> Map<Str, Str> {
    let r = match http.request({"method": method, "url": url, "headers": {"x-note": "m"}, "body": "mapped", "timeout_ms": ms}).await {
        Ok(r) => r,
        Err(e) => return { "error": e },
    }
    return { "status": "{r.status}", "body": r.body }
}

@get("/head?url={url}")
async fn head(url: Str) -> Int {
    let r = http.head(url).await?
    return r.body.len()
}
"#;

/// The server the app calls: on 127.0.0.1, a random port.
async fn upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let port = listener.local_addr().expect("addr").port();
    let app = Router::new()
        .route("/hello", get(|| async { ([("x-up", "1")], "hi") }))
        .route("/missing", get(|| async { (axum::http::StatusCode::NOT_FOUND, "no") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { "x".repeat(5 << 20) }))
        .route("/loop/{n}", get(|axum::extract::Path(n): axum::extract::Path<u32>| async move { axum::response::Redirect::temporary(&format!("/loop/{}", n + 1)) }))
        .route("/hop", get(|| async { axum::response::Redirect::temporary("/hello") }))
        .route("/to-localhost", get(move || async move { axum::response::Redirect::temporary(&format!("http://localhost:{port}/hello")) }))
        .route(
            "/echo",
            post(|headers: axum::http::HeaderMap, body: String| async move {
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let note = headers.get("x-note").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                format!("{ct}|{note}|{body}")
            })
            .put(|headers: axum::http::HeaderMap, body: String| async move {
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let note = headers.get("x-note").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                format!("{ct}|{note}|{body}")
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn call(app: &TestApp, url: &str) -> serde_json::Value {
    let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("url", url).finish();
    let r = app.get(&format!("/call?{q}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_answer_and_are_bounded_in_time_size_and_redirects() {
    let up = upstream().await;
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::local()).await;
    assert_eq!(call(&app, &format!("{up}/hello")).await, json!({ "status": "200", "body": "hi", "up": "1" }));
    assert_eq!(call(&app, &format!("{up}/missing")).await, json!({ "status": "404", "body": "no", "up": "-" }), "a 404 is an answer");
    assert_eq!(call(&app, &format!("{up}/hop")).await["body"], "hi", "a redirect is followed");

    let q = |u: &str| form_urlencoded::Serializer::new(String::new()).append_pair("url", u).finish();
    let r = app.get(&format!("/post-json?{}", q(&format!("{up}/echo"))), None).await;
    assert_eq!(r.body, json!(r#"application/json||{"name":"tea","n":2}"#));
    let r = app.get(&format!("/put-text?{}", q(&format!("{up}/echo"))), None).await;
    assert_eq!(r.body, json!("text/plain; charset=utf-8|hi|plain words"));
    let map = |method: &str, path: &str, ms: i64| format!("/map?method={method}&ms={ms}&{}", q(&format!("{up}{path}")));
    assert_eq!(app.get(&map("PUT", "/echo", 2000), None).await.body, json!({ "status": "200", "body": "text/plain; charset=utf-8|m|mapped" }));
    let r = app.get(&map("GET", "/slow", 300), None).await;
    assert!(r.body["error"].as_str().is_some_and(|e| e.starts_with("http: timeout calling")), "{}", r.text);
    assert_eq!(app.get(&map("BREW", "/hello", 100), None).await.body["error"], "http: `method` is one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    assert_eq!(app.get(&map("GET", "/hello", -5), None).await.body["error"], "http: `timeout_ms` is a positive number");
    let r = app.get(&format!("/head?{}", q(&format!("{up}/hello"))), None).await;
    assert_eq!(r.body, json!(0), "HEAD has no body");

    let r = app.get(&format!("/call-within?ms=300&{}", q(&format!("{up}/slow"))), None).await;
    assert!(r.body["error"].as_str().is_some_and(|e| e.starts_with("http: timeout calling 127.0.0.1:")), "{}", r.text);
    let big = call(&app, &format!("{up}/big")).await;
    assert!(big["error"].as_str().is_some_and(|e| e.contains("is larger than 4194304 bytes")), "{big}");
    let looping = call(&app, &format!("{up}/loop/0")).await;
    assert!(looping["error"].as_str().is_some_and(|e| e.contains("more than 5 redirects")), "{looping}");
    for bad in ["ftp://127.0.0.1/x", "not a url", "file:///etc/passwd"] {
        let r = call(&app, bad).await;
        assert!(r["error"].as_str().is_some_and(|e| e.starts_with("http: ")), "{bad}: {r}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_reaches_only_what_its_egress_policy_allows() {
    let up = upstream().await;
    let port = up.rsplit(':').next().expect("port").to_string();

    // The default for a tenant: nothing.
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = call(&app, &format!("{up}/hello")).await;
    assert_eq!(r, json!({ "error": format!("http: the app may not call 127.0.0.1:{port} (not in its egress policy)") }));
    app.stop().await;

    // The address allowed: reached; another port of it, or a name for it, not.
    let egress = Egress::parse(&[format!("127.0.0.1:{port}"), format!("localhost:{port}")]).expect("rules");
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits { egress, ..Limits::default() }).await;
    assert_eq!(call(&app, &format!("{up}/hello")).await["body"], "hi");
    let other = call(&app, "http://127.0.0.1:9/").await;
    assert!(other["error"].as_str().is_some_and(|e| e.contains("may not call 127.0.0.1:9")), "{other}");
    let by_name = call(&app, &format!("http://localhost:{port}/hello")).await;
    assert!(by_name["error"].as_str().is_some_and(|e| e.contains("may not reach")), "a name reaches public addresses only: {by_name}");
    // A redirect from an allowed place to a refused one is refused.
    let hop = call(&app, &format!("{up}/to-localhost")).await;
    assert!(hop["error"].as_str().is_some_and(|e| e.starts_with("http: ")) && hop.get("body").is_none(), "{hop}");
    let metadata = call(&app, "http://169.254.169.254/latest/meta-data/").await;
    assert!(metadata["error"].as_str().is_some_and(|e| e.contains("may not call 169.254.169.254")), "{metadata}");
    app.stop().await;
}

/// Under `fitz host`, the policy is the operator's: a tenant's call is refused until its
/// settings list the place, and reaches it once `PUT /_fitz/apps/{app}/limits` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sets_a_tenants_egress() {
    let up = upstream().await;
    let port = up.rsplit(':').next().expect("port").to_string();
    let dir = std::env::temp_dir().join(format!("fitz_egress_{}", std::process::id()));
    let host = fitz_tests::multi::TestHost::start(&dir, None).await;
    assert_eq!(host.deploy("caller", APP).await.status, 200);
    let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("url", &format!("{up}/hello")).finish();
    let r = host.get("caller", &format!("/call?{q}"), None).await;
    assert_eq!(r.body, json!({ "error": format!("http: the app may not call 127.0.0.1:{port} (not in its egress policy)") }));
    let limits = json!({ "egress": [format!("127.0.0.1:{port}")] });
    let set = host.operator(reqwest::Method::PUT, "/apps/caller/limits", Some(limits.to_string().into_bytes())).await;
    assert_eq!(set.status, 200, "{}", set.text);
    let r = host.get("caller", &format!("/call?{q}"), None).await;
    assert_eq!(r.body, json!({ "status": "200", "body": "hi", "up": "1" }));
    // A rule that is not one is refused by the operator API, naming it.
    let bad = host.operator(reqwest::Method::PUT, "/apps/caller/limits", Some(json!({ "egress": ["http://x"] }).to_string().into_bytes())).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("egress rule `http://x`"), "{}", bad.text);
    let _ = std::fs::remove_dir_all(&dir);
}
