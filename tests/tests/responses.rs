//! Handlers that answer a `Response` (upstream's built-in): their own status, content type,
//! headers and cookies, over a real socket; and what a handler writes that would break HTTP
//! (a header carrying CR LF from a client's input, a framing header, a status out of range)
//! fails that request alone, as the app's fault.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
@get("/robots.txt")
fn robots() -> Response => Response {
    content_type: "text/plain; charset=utf-8",
    headers: {"Cache-Control": "public, max-age=86400"},
    body: "User-agent: *\nDisallow: /private/",
}

@cookie(name="session")
@get("/login?to={to}")
fn login(to: Str?, session: Str?) -> Response {
    if session != null {
        return Response { status: 200, body: "already in" }
    }
    let next = match to {
        null => "/",
        t => t,
    }
    return Response {
        status: 303,
        headers: {"Location": next},
        cookies: [
            Cookie { name: "session", value: "s3cr3t", max_age: 3600, secure: true, same_site: "Strict" },
            Cookie { name: "theme", value: "dark", http_only: false },
        ],
    }
}

@get("/echo?v={v}")
fn echo(v: Str) -> Response => Response { headers: {"X-Echo": v}, body: "ok" }

@get("/frame")
fn frame() -> Response => Response { headers: {"Content-Length": "1"}, body: "long body" }

@get("/status?s={s}")
fn status(s: Int) -> Response => Response { status: s }

@get("/maybe?ok={ok}")
fn maybe(ok: Bool) -> Result<Response> {
    if ok {
        return Ok(Response { content_type: "image/svg+xml", body: "<svg/>" })
    }
    return Err("no picture")
}

@get("/json")
fn plain() -> Map<Str, Int> => {"still": 1}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_answers_as_it_says() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.get("/robots.txt", None).await;
    assert_eq!((r.status, r.text.as_str()), (200, "User-agent: *\nDisallow: /private/"));
    assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.headers["cache-control"], "public, max-age=86400");

    // A client that does not follow the redirect, to see it.
    let manual = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = app.send(manual.get(app.url("/login?to=/home"))).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.headers["location"], "/home");
    let cookies: Vec<&str> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap_or("")).collect();
    assert_eq!(cookies, ["session=s3cr3t; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict", "theme=dark; Path=/; SameSite=Lax"]);
    // The cookie comes back to a `@cookie` parameter.
    let r = app.send(app.client.get(app.url("/login")).header("cookie", "session=s3cr3t")).await;
    assert_eq!((r.status, r.text.as_str()), (200, "already in"));

    let r = app.get("/maybe?ok=true", None).await;
    assert_eq!((r.status, r.text.as_str(), r.headers["content-type"].to_str().unwrap_or("")), (200, "<svg/>", "image/svg+xml"));
    let r = app.get("/maybe?ok=false", None).await;
    assert_eq!((r.status, r.body.clone()), (500, json!({ "error": "no picture" })));
    let r = app.get("/status?s=204", None).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let r = app.get("/json", None).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({ "still": 1 })));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_would_break_http_fails_that_request_only() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    // A client's input, decoded to CR LF, meets a header: no second header, no split answer.
    let r = app.get("/echo?v=a%0D%0ASet-Cookie:%20evil=1", None).await;
    assert_eq!((r.status, r.body.clone()), (500, json!({ "error": "internal error" })));
    assert!(r.headers.get("set-cookie").is_none());
    let r = app.get("/frame", None).await;
    assert_eq!((r.status, r.body.clone()), (500, json!({ "error": "internal error" })));
    for s in ["99", "600", "-1", "101"] {
        let r = app.get(&format!("/status?s={s}"), None).await;
        assert_eq!(r.status, 500, "status {s}");
    }
    // The app goes on answering.
    let r = app.get("/echo?v=fine", None).await;
    assert_eq!((r.status, r.headers["x-echo"].to_str().unwrap_or("")), (200, "fine"));
    let logs = fitz_tests::server::logs_text();
    assert!(logs.contains("the handler's Response cannot be sent"), "the fault is logged for the app's owner");
    assert!(!logs.contains("evil=1"), "header values are not logged");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_a_response_route() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let doc = app.get("/openapi.json", None).await.body;
    let op = &doc["paths"]["/robots.txt"]["get"];
    assert!(op["responses"]["200"].is_null(), "{op}");
    assert_eq!(op["responses"]["default"]["content"], json!({"text/plain; charset=utf-8": {"schema": {"type": "string"}}}), "{op}");
    // Every literal's content type, the defaults' included, once each.
    let login = &doc["paths"]["/login"]["get"]["responses"]["default"]["content"];
    assert_eq!(login, &json!({"text/plain; charset=utf-8": {"schema": {"type": "string"}}}));
    let maybe = &doc["paths"]["/maybe"]["get"]["responses"]["default"]["content"];
    assert_eq!(maybe, &json!({"image/svg+xml": {"schema": {"type": "string"}}}));
    assert_eq!(fitz_tests::python::validate_openapi(&doc.to_string()), "valid");
    app.stop().await;
}
