//! Form bodies over real sockets, as upstream takes them: `application/x-www-form-urlencoded`
//! and `multipart/form-data` for `Map<Str, Str>`, `Map<Str, File>` and a record of plain
//! fields. curl (`-F`, `--data-urlencode`) is the independent client that writes the forms;
//! hand-written bodies on a raw socket try what a client can send that curl would not.

use std::io::Write;
use std::process::Command;

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
type Signup {
    name: Str
    age: Int?
    agree: Bool
    note: File?
}

@post("/comment")
fn comment(body: Map<Str, Str>) -> Str {
    return "comment '{body["title"]}': {body["content"]}"
}

@post("/upload")
fn upload(body: Map<Str, File>) -> Map<Str, Any> {
    let f = body["upload"]
    return {"name": f.name, "type": f.content_type, "length": len(f.content), "first_line": f.content.split("\n")[0]}
}

@post("/signup")
fn signup(s: Signup) -> Map<Str, Any> {
    let note = match s.note {
        null => "none",
        f => "{f.name}: {f.content}",
    }
    return {"name": s.name, "age": s.age, "agree": s.agree, "note": note}
}

@get("/agent")
fn agent(headers: Map<Str, Str>) -> Str {
    return match headers.get("user-agent") {
        Ok(a) => a
        Err(_) => "none"
    }
}
"#;

/// curl's answer: status and body.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl").args(["-sS", "-o", "-", "-w", "\n%{http_code}"]).args(args).output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// A raw request on a socket; the answer's status line and body.
fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("test step");
    s.write_all(request).expect("test step");
    let mut out = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn multipart_request(path: &str, boundary: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!("POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n", body.len())
        .into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_reach_handlers_as_upstream_types_them() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let base = app.url("");
    let url = move |p: &str| format!("{}{p}", base.trim_end_matches('/'));
    let dir = std::env::temp_dir().join(format!("fitz-forms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("test step");
    let file = dir.join("notes.txt");
    std::fs::write(&file, "first line\nsecond línea\n").expect("test step");
    let at_file = format!("upload=@{};type=text/plain", file.display());
    let note_file = format!("note=@{}", file.display());

    let (u1, u2, u3, u4, u5, u6, u7, u8) = tokio::task::spawn_blocking(move || {
        (
            // Text fields, both encodings, and JSON still.
            curl(&["-F", "title=Hola", "-F", "content=mi comentario", &url("/comment")]),
            curl(&["--data-urlencode", "title=Hola & adiós", "--data-urlencode", "content=a+b=c", &url("/comment")]),
            curl(&["-H", "content-type: application/json", "-d", r#"{"title":"j","content":"son"}"#, &url("/comment")]),
            // A file.
            curl(&["-F", &at_file, &url("/upload")]),
            // A record from a form: types by field, a checked box, an empty optional number.
            curl(&["--data-urlencode", "name=Ada", "--data-urlencode", "age=", "--data-urlencode", "agree=on", &url("/signup")]),
            curl(&["-F", "name=Bo", "-F", "age=41", "-F", "agree=false", "-F", &note_file, &url("/signup")]),
            // Refusals that name the field.
            curl(&["--data-urlencode", "name=Cy", "--data-urlencode", "age=old", "--data-urlencode", "agree=on", &url("/signup")]),
            curl(&["--data-urlencode", "name=Cy", "--data-urlencode", "agree=on", "--data-urlencode", "admin=true", &url("/signup")]),
        )
    })
    .await
    .expect("test step");
    assert_eq!(u1, (200, r#""comment 'Hola': mi comentario""#.into()));
    assert_eq!(u2, (200, r#""comment 'Hola & adiós': a+b=c""#.into()));
    assert_eq!(u3, (200, r#""comment 'j': son""#.into()));
    assert_eq!(u4.0, 200, "{}", u4.1);
    let up: serde_json::Value = serde_json::from_str(&u4.1).expect("test step");
    assert_eq!(up, json!({"name": "notes.txt", "type": "text/plain", "length": 24, "first_line": "first line"}));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&u5.1).expect("test step"), json!({"name": "Ada", "age": null, "agree": true, "note": "none"}), "{u5:?}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&u6.1).expect("test step"),
        json!({"name": "Bo", "age": 41, "agree": false, "note": "notes.txt: first line\nsecond línea\n"}),
        "{u6:?}"
    );
    assert_eq!(u7, (400, r#"{"error":"form field 'age': expected Int, received 'old'"}"#.into()));
    assert_eq!(u8.0, 400, "{u8:?}");
    assert!(u8.1.contains("admin"), "the undeclared field is named: {u8:?}");

    // A text-only route refuses a file, a file route a urlencoded body (415 naming what it takes).
    let base = app.url("");
    let url = move |p: &str| format!("{}{p}", base.trim_end_matches('/'));
    let (f1, f2, f3) = tokio::task::spawn_blocking(move || {
        let file = dir.join("notes.txt");
        (
            curl(&["-F", &format!("title=@{}", file.display()), "-F", "content=x", &url("/comment")]),
            curl(&["--data-urlencode", "upload=x", &url("/upload")]),
            curl(&["-H", "content-type: text/plain", "-d", "hi", &url("/comment")]),
        )
    })
    .await
    .expect("test step");
    assert_eq!(f1, (400, r#"{"error":"form field 'title' is a file; this route takes text there"}"#.into()));
    assert_eq!(f2, (415, r#"{"error":"expected Content-Type: application/json or multipart/form-data"}"#.into()));
    assert_eq!(f3, (415, r#"{"error":"expected Content-Type: application/json, application/x-www-form-urlencoded or multipart/form-data"}"#.into()));

    // `headers: Map<Str, Str>` is still the headers.
    let r = app.send(app.client.get(app.url("/agent")).header("user-agent", "probe/1")).await;
    assert_eq!(r.body, json!("probe/1"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_form_bodies_are_refused_and_the_app_keeps_serving() {
    let limits = Limits { body_bytes: 64 << 10, ..Limits::default() };
    let app = TestApp::start(APP, Backend::Sqlite, &[], limits).await;
    let addr = app.url("").trim_start_matches("http://").trim_end_matches('/').to_string();
    let part = |name: &str, extra: &str, content: &[u8]| {
        let mut p = format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"{extra}\r\n\r\n").into_bytes();
        p.extend_from_slice(content);
        p.extend_from_slice(b"\r\n");
        p
    };
    let close = b"--B--\r\n".to_vec();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        // A binary file: upstream reads files as text.
        ("/upload", [part("upload", "; filename=\"a.png\"", b"\x89PNG\r\n\x1a\n\xff\xfe"), close.clone()].concat(), 400, "form field 'upload' is not UTF-8 text"),
        // The same field twice.
        ("/comment", [part("title", "", b"a"), part("title", "", b"b"), part("content", "", b"c"), close.clone()].concat(), 400, "form field 'title' is given twice"),
        // More parts than a form may hold.
        ("/comment", [(0..300).flat_map(|i| part(&format!("f{i}"), "", b"x")).collect::<Vec<u8>>(), close.clone()].concat(), 400, "at most 256 fields"),
        // A part without a name, and a body that never closes.
        ("/comment", [b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n".to_vec(), close.clone()].concat(), 400, "has no name"),
        ("/comment", part("title", "", b"never closed"), 400, "not a valid multipart/form-data body"),
        // A NUL inside a field is refused as in JSON.
        ("/comment", [part("title", "", b"a\0b"), part("content", "", b"c"), close.clone()].concat(), 400, "NUL"),
        // Over the app's body cap.
        ("/upload", [part("upload", "; filename=\"big.txt\"", &vec![b'a'; 70 << 10]), close.clone()].concat(), 413, "too large"),
    ];
    for (path, body, status, needle) in cases {
        let addr = addr.clone();
        let (got, text) = tokio::task::spawn_blocking(move || raw(&addr, &multipart_request(path, "B", &body))).await.expect("test step");
        assert_eq!(got, status, "{needle}: {text}");
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // No boundary at all.
    let addr2 = addr.clone();
    let (got, text) = tokio::task::spawn_blocking(move || {
        raw(&addr2, b"POST /comment HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data\r\nContent-Length: 2\r\n\r\nhi")
    })
    .await
    .expect("test step");
    assert_eq!((got, text.as_str()), (400, r#"{"error":"multipart/form-data without a boundary"}"#));
    // Still serving.
    let ok = [part("title", "", b"t"), part("content", "", b"c"), close].concat();
    let (got, text) = tokio::task::spawn_blocking(move || raw(&addr, &multipart_request("/comment", "B", &ok))).await.expect("test step");
    assert_eq!((got, text.as_str()), (200, r#""comment 't': c""#));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_the_forms_each_route_takes() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let doc = app.get("/openapi.json", None).await.body;
    let body = |path: &str| doc["paths"][path]["post"]["requestBody"]["content"].clone();
    let comment = body("/comment");
    assert_eq!(comment["application/x-www-form-urlencoded"]["schema"]["additionalProperties"]["type"], "string");
    assert!(comment["multipart/form-data"].is_object() && comment["application/json"].is_object(), "{comment}");
    let upload = body("/upload");
    assert!(upload["application/x-www-form-urlencoded"].is_null(), "{upload}");
    assert_eq!(upload["multipart/form-data"]["schema"]["additionalProperties"]["format"], "binary");
    let signup = body("/signup")["multipart/form-data"]["schema"].clone();
    assert_eq!(signup["properties"]["age"]["oneOf"][0]["type"], "integer", "{signup}");
    assert_eq!(signup["properties"]["note"]["oneOf"][0]["format"], "binary", "{signup}");
    assert_eq!(signup["additionalProperties"], false);
    assert_eq!(doc["paths"]["/upload"]["post"]["responses"]["415"]["description"], "the body is not application/json or multipart/form-data");
    app.stop().await;
    // The document is valid OpenAPI (the same referee as every other app's).
    let path = std::env::temp_dir().join(format!("fitz-forms-openapi-{}.json", std::process::id()));
    std::fs::write(&path, doc.to_string()).expect("test step");
    let out = Command::new("python3")
        .args(["-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))", path.to_str().expect("test step")])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
