//! Hostile and malformed requests against the seed program (and a small app with path and
//! query parameters): each gets its expected status and a `{"error": …}` body, the host never
//! falls over, and no response or log line carries a token, password or secret.

use base64::Engine as _;
use fitz_host::runtime::app::Limits;
use fitz_tests::python;
use fitz_tests::server::{Backend, SqlParam, TestApp, logs_text};
use reqwest::Method;
use serde_json::json;

const SECRET: &str = "hostile-secret-0123456789abcdef0123456789ab";
const PASSWORD: &str = "pa55word-that-must-never-leak";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// A token with an arbitrary header and payload and a signature of our choosing.
fn raw_token(header: &serde_json::Value, payload: &serde_json::Value, signature: &str) -> String {
    format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(payload.to_string().as_bytes()), signature)
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    status: u16,
    /// The exact error message, where it is part of the contract.
    error: Option<&'static str>,
}

fn case(name: &'static str, method: Method, path: &str, status: u16) -> Case {
    Case { name, method, path: path.into(), headers: vec![], body: None, status, error: None }
}

impl Case {
    fn json(mut self, body: &str) -> Case {
        self.headers.push(("content-type", "application/json".into()));
        self.body = Some(body.as_bytes().to_vec());
        self
    }
    fn raw(mut self, content_type: Option<&str>, body: Vec<u8>) -> Case {
        if let Some(ct) = content_type {
            self.headers.push(("content-type", ct.to_string()));
        }
        self.body = Some(body);
        self
    }
    fn bearer(mut self, token: &str) -> Case {
        self.headers.push(("authorization", format!("Bearer {token}")));
        self
    }
    fn header(mut self, name: &'static str, value: String) -> Case {
        self.headers.push((name, value));
        self
    }
    fn error(mut self, message: &'static str) -> Case {
        self.error = Some(message);
        self
    }
}

async fn run_cases(app: &TestApp, cases: Vec<Case>, sensitive: &[&str]) -> usize {
    let n = cases.len();
    for c in cases {
        let mut req = app.client.request(c.method.clone(), app.url(&c.path));
        for (k, v) in &c.headers {
            req = req.header(*k, v);
        }
        if let Some(b) = c.body {
            req = req.body(b);
        }
        let r = app.send(req).await;
        assert_eq!(r.status, c.status, "{}: {}", c.name, r.text);
        {
            assert!(r.body.get("error").is_some_and(|e| e.is_string()), "{}: error body has the stable shape: {}", c.name, r.text);
        }
        if let Some(e) = c.error {
            assert_eq!(r.body["error"], e, "{}", c.name);
        }
        for s in sensitive {
            assert!(!r.text.contains(s), "{}: the response leaks something sensitive", c.name);
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_clear_refusals() {
    let source = std::fs::read_to_string(fitz_tests::seed_path()).expect("seed");
    let app = TestApp::start(&source, Backend::Sqlite, &[("JWT_SECRET", SECRET)], Limits::default()).await;
    let hash = python::argon2_hash(PASSWORD);
    app.sql(
        "INSERT INTO users (email, name, role, password_hash) VALUES (?, ?, ?, ?)",
        &[SqlParam::Text("vic@x.io"), SqlParam::Text("Vic"), SqlParam::Text("viewer"), SqlParam::Text(&hash)],
    )
    .await;
    let login = app.post("/login", None, &json!({ "email": "vic@x.io", "password": PASSWORD })).await;
    let token = login.body["token"].as_str().expect("token").to_string();
    let claims = python::jwt_decode(&token, SECRET, "HS256").expect("claims");
    let (header_part, payload_part, sig_part) = {
        let mut p = token.split('.');
        (p.next().expect("h").to_string(), p.next().expect("p").to_string(), p.next().expect("s").to_string())
    };
    let good_claims = |extra: serde_json::Value| {
        let mut c = json!({ "sub": "vic@x.io", "role": "viewer", "jti": "j-1", "exp": now() + 600 });
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        c
    };
    let mut admin_claims = claims.clone();
    admin_claims["role"] = json!("admin");
    let tampered = format!("{header_part}.{}.{sig_part}", b64(admin_claims.to_string().as_bytes()));
    let swapped_header = format!("{}.{payload_part}.{sig_part}", b64(json!({ "alg": "HS512", "typ": "JWT" }).to_string().as_bytes()));
    let sql_like = "' OR '1'='1' --";
    let huge = vec![b'a'; 2 << 20];
    let deep = "[".repeat(5000) + &"]".repeat(5000);

    let cases = vec![
        // Bodies.
        case("malformed JSON", Method::POST, "/login", 400).json(r#"{"email": "#).error("request body is not valid JSON (line 1, column 10)"),
        case("empty body", Method::POST, "/login", 400).json(""),
        case("JSON null", Method::POST, "/login", 400).json("null").error("body for 'Credentials': expected Credentials, received null"),
        case("array body", Method::POST, "/login", 400).json(r#"[1, 2]"#).error("body for 'Credentials': expected Credentials, received an array"),
        case("missing field", Method::POST, "/login", 400).json(r#"{"email": "vic@x.io"}"#).error("body for 'Credentials': missing field 'password'"),
        case("wrong field type", Method::POST, "/login", 400)
            .json(r#"{"email": 5, "password": "x"}"#)
            .error("body for 'Credentials': field 'email': expected Str, received an integer"),
        case("undeclared field", Method::POST, "/login", 400).json(r#"{"email": "a", "password": "b", "admin": true}"#).error("body for 'Credentials': undeclared field 'admin'"),
        case("deeply nested JSON", Method::POST, "/login", 400).json(&deep),
        case("no content type", Method::POST, "/login", 415)
            .raw(None, br#"{"email":"a","password":"b"}"#.to_vec())
            .error("expected Content-Type: application/json, application/x-www-form-urlencoded or multipart/form-data"),
        case("plain text content type", Method::POST, "/login", 415).raw(Some("text/plain"), b"email=a&password=b".to_vec()),
        // A form is read as the body's type, as upstream reads one: wrong credentials.
        case("form content type", Method::POST, "/login", 401).raw(Some("application/x-www-form-urlencoded"), b"email=a&password=b".to_vec()),
        case("form with an undeclared field", Method::POST, "/login", 400).raw(Some("application/x-www-form-urlencoded"), b"email=a&password=b&role=admin".to_vec()),
        case("huge body", Method::POST, "/login", 413).raw(Some("application/json"), huge),
        case("not UTF-8 body", Method::POST, "/login", 400).raw(Some("application/json"), vec![b'"', 0xff, 0xfe, b'"']),
        // Routing.
        case("unknown route", Method::GET, "/nope", 404).error("not found"),
        case("wrong method", Method::GET, "/login", 405).error("method not allowed"),
        case("very long path", Method::GET, &format!("/{}", "x".repeat(16 << 10)), 404),
        // Credentials and SQL-looking input.
        case("SQL-looking email", Method::POST, "/login", 401).json(&json!({ "email": sql_like, "password": sql_like }).to_string()).error("invalid credentials"),
        case("Unicode email", Method::POST, "/login", 401).json(r#"{"email": "ví©@x.io", "password": "x"}"#).error("invalid credentials"),
        // A NUL in text is refused before any statement, alike on SQLite and PostgreSQL.
        case("NUL in email", Method::POST, "/login", 400)
            .json(r#"{"email": "ví©@x.io\u0000", "password": "x"}"#)
            .error("body for 'Credentials': field 'email': text must not contain the NUL character (\\u0000)"),
        case("wrong password", Method::POST, "/login", 401).json(&json!({ "email": "vic@x.io", "password": "guess" }).to_string()).error("invalid credentials"),
        // Tokens.
        case("no Authorization", Method::GET, "/me", 401).error("missing Authorization header"),
        case("Basic scheme", Method::GET, "/me", 401).header("authorization", format!("Basic {}", b64(b"vic:pw"))).error("expected 'Bearer <token>'"),
        case("empty bearer", Method::GET, "/me", 401).header("authorization", "Bearer ".into()),
        case("garbage token", Method::GET, "/me", 401).bearer("a.b.c").error("invalid token"),
        case("alg none", Method::GET, "/me", 401).bearer(&raw_token(&json!({ "alg": "none", "typ": "JWT" }), &good_claims(json!({})), "")),
        case("algorithm confusion HS512", Method::GET, "/me", 401)
            .bearer(&python::jwt_encode(&good_claims(json!({})), SECRET, "HS512"))
            .error("token signed with another algorithm"),
        case("RS256 header", Method::GET, "/me", 401).bearer(&raw_token(&json!({ "alg": "RS256", "typ": "JWT" }), &good_claims(json!({})), &sig_part)),
        case("tampered payload", Method::GET, "/me", 401).bearer(&tampered).error("invalid token signature"),
        case("tampered header", Method::GET, "/me", 401).bearer(&swapped_header),
        case("wrong secret", Method::GET, "/me", 401)
            .bearer(&python::jwt_encode(&good_claims(json!({})), "not-the-secret-0123456789abcdef0123456789", "HS256"))
            .error("invalid token signature"),
        case("expired", Method::GET, "/me", 401).bearer(&python::jwt_encode(&good_claims(json!({ "exp": now() - 120 })), SECRET, "HS256")).error("token expired"),
        case("not yet valid", Method::GET, "/me", 401).bearer(&python::jwt_encode(&good_claims(json!({ "nbf": now() + 3600 })), SECRET, "HS256")).error("token not yet valid"),
        case("no expiry", Method::GET, "/me", 401).bearer(&python::jwt_encode(&json!({ "sub": "vic@x.io", "jti": "j" }), SECRET, "HS256")).error("token has no expiry"),
        case("no jti", Method::GET, "/me", 401).bearer(&python::jwt_encode(&json!({ "sub": "vic@x.io", "exp": now() + 600 }), SECRET, "HS256")).error("token missing jti"),
        case("unknown user", Method::GET, "/me", 401).bearer(&python::jwt_encode(&good_claims(json!({ "sub": "ghost@x.io" })), SECRET, "HS256")),
        case("SQL-looking subject", Method::GET, "/me", 401).bearer(&python::jwt_encode(&good_claims(json!({ "sub": sql_like })), SECRET, "HS256")),
        case("role claim does not grant", Method::GET, "/admin/users", 403)
            .bearer(&python::jwt_encode(&good_claims(json!({ "role": "admin" })), SECRET, "HS256"))
            .error("forbidden"),
        case("huge header", Method::GET, "/me", 431).header("authorization", format!("Bearer {}", "x".repeat(100 << 10))).error("request headers too large"),
        case("protected route, bad body, no token", Method::POST, "/articles", 401).json("{").error("missing Authorization header"),
        case("protected route, bad body", Method::POST, "/articles", 403).bearer(&token).json("{").error("forbidden"),
    ];
    let sensitive = [SECRET, PASSWORD, hash.as_str(), token.as_str()];
    let n = run_cases(&app, cases, &sensitive).await;

    // SQL-looking text is data: stored and returned as written, the table intact.
    app.sql("UPDATE users SET role = 'editor' WHERE email = 'vic@x.io'", &[]).await;
    let t = app.post("/login", None, &json!({ "email": "vic@x.io", "password": PASSWORD })).await.body["token"].as_str().expect("t").to_string();
    let title = "Robert'); DROP TABLE articles; --";
    let r = app.post("/articles", Some(&t), &json!({ "title": title, "body": "\" OR 1=1" })).await;
    assert_eq!((r.status, r.body["title"].as_str()), (200, Some(title)), "{}", r.text);
    assert_eq!(app.column("SELECT title FROM articles").await, vec![title.to_string()]);

    // The host is still well.
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let logs = logs_text();
    for s in sensitive.iter().chain([&t.as_str()]) {
        assert!(!logs.contains(s), "the log leaks a token, password, hash or secret");
    }
    assert!(n >= 30);
    app.stop().await;
}

/// A body sent in chunks, with no length declared, that grows past the limit: the host reads
/// on after refusing, so the client can finish sending and gets the 413 and its JSON error
/// instead of a broken pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_chunked_body_is_refused_after_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let source = std::fs::read_to_string(fitz_tests::seed_path()).expect("seed");
    let app = TestApp::start(&source, Backend::Sqlite, &[("JWT_SECRET", SECRET)], Limits::default()).await;
    let addr = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    socket.write_all(head.as_bytes()).await.expect("head");
    let chunk = vec![b' '; 64 << 10];
    for _ in 0..128 {
        // 8 MiB in all, past what the socket buffers could hide.
        socket.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.expect("chunk size");
        socket.write_all(&chunk).await.expect("the host reads the whole body");
        socket.write_all(b"\r\n").await.expect("chunk end");
    }
    socket.write_all(b"0\r\n\r\n").await.expect("last chunk");
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.contains(r#"{"error":"request body too large (limit"#), "{answer}");
    assert_eq!(app.get("/healthz", None).await.status, 200);
    app.stop().await;
}

const PARAMS_APP: &str = r#"
@get("/items/{id}")
fn item(id: Int) -> Map<Str, Int> => { "id": id }

@get("/flags/{on}/{ratio}")
fn flags(on: Bool, ratio: Float) -> Map<Str, Str> => { "on": "{on}", "ratio": "{ratio}" }

@get("/search?limit={limit}&q={q}")
fn search(limit: Int, q: Str?) -> Map<Str, Str> {
    let text = match q {
        null => "none",
        s => s,
    }
    return { "limit": "{limit}", "q": text }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_path_and_query_values_name_the_parameter() {
    let app = TestApp::start(PARAMS_APP, Backend::Sqlite, &[], Limits::default()).await;
    let cases = vec![
        case("path not an Int", Method::GET, "/items/abc", 400).error("path param 'id': expected Int, received 'abc'"),
        case("path Int overflow", Method::GET, "/items/99999999999999999999", 400).error("path param 'id': expected Int, received '99999999999999999999'"),
        case("path SQL-looking", Method::GET, "/items/1%20OR%201=1", 400).error("path param 'id': expected Int, received '1%20OR%201=1'"),
        case("path bad Bool", Method::GET, "/flags/yes/0.5", 400).error("path param 'on': expected Bool, received 'yes'"),
        case("path bad Float", Method::GET, "/flags/true/NaN", 400).error("path param 'ratio': expected Float, received 'NaN'"),
        case("query missing", Method::GET, "/search", 400).error("query param 'limit': required"),
        case("query not an Int", Method::GET, "/search?limit=ten", 400).error("query param 'limit': expected Int, received 'ten'"),
        case("extra path segment", Method::GET, "/items/1/2", 404),
    ];
    run_cases(&app, cases, &[]).await;
    let ok = app.get("/items/-42", None).await;
    assert_eq!((ok.status, ok.body), (200, json!({ "id": -42 })));
    let ok = app.get("/flags/true/2.5", None).await;
    assert_eq!(ok.body, json!({ "on": "true", "ratio": "2.5" }));
    let ok = app.get("/search?limit=5&q=caf%C3%A9+au+lait", None).await;
    assert_eq!(ok.body, json!({ "limit": "5", "q": "café au lait" }));
    let ok = app.get("/search?limit=5", None).await;
    assert_eq!(ok.body, json!({ "limit": "5", "q": "none" }));
    app.stop().await;
}
