//! `@middleware(f)` as upstream's pre-middleware, over a real socket: functions that let the
//! request through or answer it early, stacked in decorator order, reading the built-in
//! `Request` (which a handler can take too), and the statuses they answer in OpenAPI.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
fn or_dash(r: Result<Str>) -> Str => match r {
    Ok(v) => v,
    Err(_) => "-",
}

fn auth(req: Request) {
    if req.headers.has("authorization") {
        return null
    }
    return 401 {"error": "missing Authorization"}
}

// Stops at the first bad character, from inside a loop.
fn plain_query(req: Request) {
    for entry in req.query.entries() {
        for c in entry.1.chars() {
            if c == "<" {
                return 400 {"error": "no markup in the query"}
            }
        }
    }
    if req.method != "GET" {
        return 405 {"error": "GET only"}
    }
}

fn quiet() {
    log.info("a request")
}

@middleware(quiet)
@get("/health")
fn health() -> Str => "ok"

@middleware(auth)
@middleware(plain_query)
@get("/search?q={q}")
fn search(q: Str?) -> Map<Str, Str> => {"q": or_dash(match q { null => Err("none"), v => Ok(v) })}

@middleware(auth)
@get("/who")
fn who(req: Request) -> Map<Str, Str> {
    return {"method": req.method, "path": req.path, "client": req.client, "q": or_dash(req.query.get("q")), "c": or_dash(req.cookies.get("c")), "h": or_dash(req.headers.get("x-h"))}
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middlewares_let_through_or_answer_early_in_order() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let get = |path: &str, auth: bool| {
        let mut req = app.client.get(app.url(path)).header("cookie", "c=9").header("x-h", "hv");
        if auth {
            req = req.header("authorization", "Bearer x");
        }
        app.send(req)
    };
    let r = get("/health", false).await;
    assert_eq!((r.status, r.body.clone()), (200, json!("ok")));
    // `auth` runs first: without the header, `plain_query` never sees the markup.
    let r = get("/search?q=%3Cb%3E", false).await;
    assert_eq!((r.status, r.body.clone()), (401, json!({ "error": "missing Authorization" })));
    let r = get("/search?q=%3Cb%3E", true).await;
    assert_eq!((r.status, r.body.clone()), (400, json!({ "error": "no markup in the query" })));
    let r = get("/search?q=fitz", true).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({ "q": "fitz" })));
    let r = get("/who?q=1", true).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((&r.body["method"], &r.body["path"], &r.body["q"], &r.body["c"], &r.body["h"]), (&json!("GET"), &json!("/who"), &json!("1"), &json!("9"), &json!("hv")));
    let client = r.body["client"].as_str().unwrap_or("").to_string();
    assert!(client.starts_with("127.0.0.1:"), "the peer's address: {client}");
    // The statuses a middleware answers are the handler's, for the document too.
    let doc = app.get("/openapi.json", None).await.body;
    let responses = doc["paths"]["/search"]["get"]["responses"].as_object().expect("responses").keys().cloned().collect::<Vec<_>>();
    for status in ["200", "400", "401", "405"] {
        assert!(responses.contains(&status.to_string()), "{status} in {responses:?}");
    }
    assert!(
        doc["paths"]["/search"]["get"]["parameters"].as_array().is_some_and(|p| p.iter().all(|p| p["name"] != "__fitz_request")),
        "the request is not a parameter a client gives"
    );
    app.stop().await;
}

/// Upstream's post middleware: `fn f(req: Request, resp: Response) -> Response` runs on the
/// handler's answer — JSON, a status the handler chose, its own `Response` — nearest first,
/// in the same run; one that fails or loops ends that request only.
const AFTER: &str = r#"
fn stamp(req: Request, resp: Response) -> Response {
    let headers = resp.headers
    headers["X-Stamp"] = "{req.method} {req.path}"
    return Response { status: resp.status, content_type: resp.content_type, headers: headers, body: resp.body, cookies: resp.cookies }
}

fn wrap_errors(req: Request, resp: Response) -> Response {
    if resp.status < 400 {
        return resp
    }
    return Response { status: resp.status, content_type: "application/json", body: "\{\"wrapped\": {resp.body}\}" }
}

fn auth(req: Request) {
    if not req.headers.has("authorization") {
        return 401 {"error": "missing Authorization"}
    }
}

fn broken(req: Request, resp: Response) -> Response {
    let xs = [1]
    return Response { status: xs[5], body: resp.body }
}

fn spin(req: Request, resp: Response) -> Response {
    let n = 0
    while true {
        n = n + 1
    }
    return resp
}

@middleware(stamp)
@get("/hello")
fn hello() -> Map<Str, Str> => {"hi": "there"}

@middleware(stamp)
@middleware(wrap_errors)
@get("/thing/{id}")
fn thing(id: Int) -> Result<Map<Str, Int>> {
    if id == 0 {
        return 404 {"error": "no thing 0"}
    }
    if id < 0 {
        return Err("negative")
    }
    return Ok({"id": id})
}

@middleware(auth)
@middleware(stamp)
@get("/page")
fn page() -> Response => Response { content_type: "text/html", body: "<p>hi</p>", cookies: [Cookie { name: "seen", value: "1" }] }

@middleware(broken)
@get("/broken")
fn broken_route() -> Int => 1

@middleware(spin)
@get("/spin")
fn spin_route() -> Int => 1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_middlewares_run_on_the_handlers_answer() {
    let app = TestApp::start(AFTER, Backend::Sqlite, &[], Limits { request_deadline: std::time::Duration::from_secs(2), ..Limits::default() }).await;
    let r = app.get("/hello", None).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"hi": "there"})), "{}", r.text);
    assert_eq!(r.headers["x-stamp"], "GET /hello");
    assert_eq!(r.headers["content-type"], "application/json");
    // The nearest runs first: the 404 is wrapped, then stamped.
    let r = app.get("/thing/0", None).await;
    assert_eq!((r.status, r.body.clone()), (404, json!({"wrapped": {"error": "no thing 0"}})), "{}", r.text);
    assert_eq!(r.headers["x-stamp"], "GET /thing/0");
    let r = app.get("/thing/-1", None).await;
    assert_eq!((r.status, r.body.clone()), (500, json!({"wrapped": {"error": "negative"}})));
    let r = app.get("/thing/7", None).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"id": 7})));
    assert_eq!(r.headers["x-stamp"], "GET /thing/7");
    // A pre middleware's early answer is the handler's answer; a handler's own `Response`
    // reaches the post middleware as written (its cookie kept).
    let r = app.get("/page", None).await;
    assert_eq!((r.status, r.headers["x-stamp"].to_str().unwrap_or("")), (401, "GET /page"));
    let r = app.send(app.client.get(app.url("/page")).header("authorization", "x")).await;
    assert_eq!((r.status, r.text.as_str()), (200, "<p>hi</p>"));
    assert_eq!(r.headers["content-type"], "text/html");
    assert_eq!(r.headers["set-cookie"], "seen=1; Path=/; HttpOnly; SameSite=Lax");
    // One that fails or loops ends its own request; the others keep answering.
    assert_eq!(app.get("/broken", None).await.status, 500);
    assert_eq!(app.get("/spin", None).await.status, 503);
    assert_eq!(app.get("/hello", None).await.status, 200);
    app.stop().await;
}

const WRAP: &str = r#"
type User { name: Str, role: Str }

@auth_provider
fn who(headers: Map<Str, Str>) -> Result<User> {
    return match headers.get("authorization") {
        Ok(h) => if h == "Bearer ann" { Ok(User { name: "ann", role: "admin" }) } else { Err("bad token") },
        Err(_) => Err("missing token"),
    }
}

// Around the handler: its answer comes back from `next()` and goes out with a header added.
fn around(req: Request, next: Fn() -> Response) -> Response {
    let inner = next()
    let headers = inner.headers
    headers["X-Around"] = "{req.method} {req.path}"
    return Response { status: inner.status, content_type: inner.content_type, headers: headers, body: inner.body, body_bytes: inner.body_bytes }
}

// Decides whether the handler runs at all.
fn gate(req: Request, next: Fn() -> Response) -> Response {
    return match req.headers.get("x-key") {
        Ok(k) => if k == "open" { next() } else { Response { status: 403, body: "wrong key" } },
        Err(_) => Response { status: 401, body: "no key" },
    }
}

fn twice(req: Request, next: Fn() -> Response) -> Response {
    let a = next()
    let b = next()
    return Response { body: "{a.body}|{b.body}" }
}

fn outer(req: Request, next: Fn() -> Response) -> Response {
    let r = next()
    return Response { status: r.status, body: "outer({r.body})" }
}

fn inner(req: Request, next: Fn() -> Response) -> Response {
    let r = next()
    return Response { status: r.status, body: "inner({r.body})" }
}

fn stamp(req: Request, resp: Response) -> Response {
    return Response { status: resp.status, body: "stamped {resp.body}" }
}

fn rescue(req: Request, next: Fn() -> Response) -> Response {
    let r = next()
    if r.status >= 500 {
        return Response { status: 200, body: "rescued {r.status}" }
    }
    return r
}

fn spin(req: Request, next: Fn() -> Response) -> Response {
    let n = 0
    while true {
        n = n + 1
    }
    return next()
}

@middleware(around)
@get("/items/{id}")
fn item(id: Int) -> Result<Map<Str, Int>> {
    if id == 0 {
        return 404 {"error": "no item 0"}
    }
    return Ok({"id": id})
}

@middleware(gate)
@get("/secret")
fn secret() -> Str => "the secret"

@authenticated
@middleware(gate)
@get("/me")
fn me(user: User) -> Str => user.name

@middleware(twice)
@post("/echo")
fn echo(body: Map<Str, Str>) -> Str => body["say"]

@middleware(outer)
@middleware(inner)
@middleware(stamp)
@get("/nested")
fn nested() -> Str => "core"

@middleware(rescue)
@get("/crash")
fn crash() -> Int {
    let xs = [1]
    return xs[3]
}

@middleware(spin)
@get("/spin")
fn spin_route() -> Int => 1

@get("/sneaky")
fn sneaky() -> Response => __fitz_next()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrap_middlewares_decide_when_the_rest_runs() {
    let app = TestApp::start(WRAP, Backend::Sqlite, &[], Limits { request_deadline: std::time::Duration::from_secs(2), ..Limits::default() }).await;
    // The handler's answer, JSON and status as it gave them, with the wrap's header.
    let r = app.get("/items/7", None).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"id": 7})), "{}", r.text);
    assert_eq!(r.headers["x-around"], "GET /items/7");
    assert_eq!(r.headers["content-type"], "application/json");
    let r = app.get("/items/0", None).await;
    assert_eq!((r.status, r.body.clone()), (404, json!({"error": "no item 0"})));
    assert_eq!(r.headers["x-around"], "GET /items/0");
    // A gate: the handler runs only when the wrap calls `next()`.
    let r = app.get("/secret", None).await;
    assert_eq!((r.status, r.text.as_str()), (401, "no key"));
    let r = app.send(app.client.get(app.url("/secret")).header("x-key", "shut")).await;
    assert_eq!((r.status, r.text.as_str()), (403, "wrong key"));
    let r = app.send(app.client.get(app.url("/secret")).header("x-key", "open")).await;
    assert_eq!((r.status, r.body.clone()), (200, json!("the secret")));
    // The provider runs first; the handler gets the user it answered.
    assert_eq!(app.send(app.client.get(app.url("/me")).header("x-key", "open")).await.status, 401);
    let r = app.send(app.client.get(app.url("/me")).header("x-key", "open").header("authorization", "Bearer ann")).await;
    assert_eq!((r.status, r.body.clone()), (200, json!("ann")), "{}", r.text);
    // `next()` twice runs the handler twice, with the same arguments each time.
    let r = app.post("/echo", None, &json!({"say": "hi"})).await;
    assert_eq!((r.status, r.text.as_str()), (200, r#""hi"|"hi""#));
    // Outermost first; the post middleware runs on the handler's answer, inside the wraps.
    let r = app.get("/nested", None).await;
    assert_eq!((r.status, r.text.as_str()), (200, r#"outer(inner(stamped "core"))"#));
    // What fails in the rest is the answer `next()` gets, and the wrap may answer otherwise.
    let r = app.get("/crash", None).await;
    assert_eq!((r.status, r.text.as_str()), (200, "rescued 500"));
    // A wrap that loops ends its own request; `next()` outside a wrap fails its request.
    assert_eq!(app.get("/spin", None).await.status, 503);
    assert_eq!(app.get("/sneaky", None).await.status, 500);
    assert_eq!(app.get("/items/1", None).await.status, 200);
    app.stop().await;
}

// Written as upstream's guide writes wraps: answering with `return STATUS BODY`.
const WRAP_STATUS: &str = r#"
fn timing(req: Request, next: Fn() -> Response) -> Response {
    let r = next()
    return 200 {"wrapped": true, "inner_status": r.status, "method": req.method, "path": req.path}
}

fn key_gate(req: Request, next: Fn() -> Response) -> Response {
    return match req.headers.get("x-key") {
        Ok(_) => next(),
        Err(_) => return 401 {"error": "key required"},
    }
}

@middleware(timing)
@get("/timed")
fn timed() -> Str => "ran"

@middleware(key_gate)
@get("/locked")
fn locked() -> Str => "unlocked"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrap_middleware_answers_with_a_status_as_a_handler_does() {
    let app = TestApp::start(WRAP_STATUS, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.get("/timed", None).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"wrapped": true, "inner_status": 200, "method": "GET", "path": "/timed"})), "{}", r.text);
    let r = app.get("/locked", None).await;
    assert_eq!((r.status, r.body.clone()), (401, json!({"error": "key required"})));
    let r = app.send(app.client.get(app.url("/locked")).header("x-key", "k")).await;
    assert_eq!((r.status, r.body.clone()), (200, json!("unlocked")));
    app.stop().await;
}
