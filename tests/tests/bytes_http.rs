//! `Bytes` across the boundary, over real sockets: a `Bytes` body is the request's bytes as
//! they came (any content type, the size cap still applies), `Response { body_bytes }` answers
//! binary as it is, a `Bytes` field is standard base64 in JSON both ways (Python's `base64` is
//! the referee) and a BLOB/BYTEA column on both databases, and a `WsConn<Bytes>` speaks binary
//! frames. OpenAPI says which is which, and openapi-spec-validator accepts the document.

use std::time::Duration;

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const APP: &str = r#"
@table("blobs")
type Blob {
    @primary id: Int = 0
    name: Str
    data: Bytes
    thumb: Bytes? = null
}

type NewBlob { name: Str, data: Bytes }

@post("/raw")
fn raw(body: Bytes) -> Response => Response {
    content_type: "application/octet-stream",
    headers: {"X-Length": "{body.len()}"},
    body_bytes: body,
}

@post("/text")
fn text(body: Bytes) -> Str {
    return match body.to_str() {
        Ok(s) => "text: {s}",
        Err(e) => "binary: {e}",
    }
}

@post("/blobs")
async fn add(db: DbConn, body: NewBlob) -> Blob {
    return Blob.insert(db, Blob { id: 0, name: body.name, data: body.data }).await?
}

@get("/blobs/{id}")
async fn one(db: DbConn, id: Int) -> Blob {
    return Blob.where(fn(b) => b.id == id).first(db).await?
}

@get("/blobs/{id}/data")
async fn data(db: DbConn, id: Int) -> Response {
    let b = Blob.where(fn(b) => b.id == id).first(db).await?
    return Response { content_type: "application/octet-stream", body_bytes: b.data }
}

@ws("/binary")
async fn binary(conn: WsConn<Bytes>) -> Null {
    while true {
        match conn.recv().await {
            Ok(m) => {
                conn.send(bytes("{m.len()}:")).await
                conn.send(m).await
            },
            Err(_) => return null,
        }
    }
}
"#;

/// Every byte value, twice, in an order that is not sorted.
fn all_bytes() -> Vec<u8> {
    (0..512u32).map(|i| (i.wrapping_mul(167) % 256) as u8).collect()
}

/// Python's base64 of `bytes`, as the referee for the host's encoding.
fn python_b64(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    fitz_tests::python::run("import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())", &[&hex])
}

async fn bytes_of(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = req.send().await.expect("request");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.bytes().await.expect("body").to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bytes_body_and_a_binary_answer_go_through_unchanged() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let data = all_bytes();
    // Whatever the content type, or none.
    for ct in [Some("image/png"), Some("application/json"), None] {
        let mut req = app.client.post(app.url("/raw")).body(data.clone());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let (status, headers, body) = bytes_of(req).await;
        assert_eq!(status, 200, "{ct:?}");
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert_eq!(headers["x-length"], "512");
        assert_eq!(body, data, "{ct:?}");
    }
    let r = app.send(app.client.post(app.url("/text")).body("ñandú")).await;
    assert_eq!(r.body, json!("text: ñandú"));
    let r = app.send(app.client.post(app.url("/text")).body(vec![b'a', 0xff])).await;
    assert_eq!(r.body, json!("binary: Bytes.to_str(): not UTF-8 (byte 1 is not part of a character)"));
    // The cap holds for raw bodies too.
    let limit = Limits::default().body_bytes;
    let r = app.send(app.client.post(app.url("/raw")).body(vec![7u8; limit + 1])).await;
    assert_eq!(r.status, 413, "{}", r.text);
    app.stop().await;
}

async fn stored_in(backend: Backend) {
    let app = TestApp::start(APP, backend, &[], Limits::default()).await;
    let data = all_bytes();
    let b64 = python_b64(&data);
    let r = app.post("/blobs", None, &json!({"name": "all", "data": b64})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"], json!(b64), "the answer encodes as Python does");
    assert_eq!(r.body["thumb"], json!(null));
    let id = r.body["id"].as_i64().expect("id");
    let r = app.get(&format!("/blobs/{id}"), None).await;
    assert_eq!(r.body["data"], json!(b64), "read back from the database");
    let (status, _, body) = bytes_of(app.client.get(app.url(&format!("/blobs/{id}/data")))).await;
    assert_eq!((status, body), (200, data));
    // Not base64: refused, naming the field.
    let r = app.post("/blobs", None, &json!({"name": "bad", "data": "not base64!"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], json!("body for 'NewBlob': field 'data': expected Bytes, received a string that is not standard base64"));
    let r = app.post("/blobs", None, &json!({"name": "bad", "data": 12})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // The column is the database's binary type.
    let types = app
        .column(match backend {
            Backend::Sqlite => "SELECT type FROM pragma_table_info('blobs') WHERE name = 'data'",
            Backend::Postgres => "SELECT data_type::text FROM information_schema.columns WHERE table_name = 'blobs' AND column_name = 'data'",
        })
        .await;
    assert_eq!(types, [if backend == Backend::Sqlite { "BLOB" } else { "bytea" }]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_fields_are_base64_in_json_and_binary_in_sqlite() {
    stored_in(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_fields_are_base64_in_json_and_binary_in_postgres() {
    stored_in(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bytes_websocket_speaks_binary_frames() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let addr = app.url("").trim_start_matches("http://").trim_end_matches('/').to_string();
    let tcp = tokio::net::TcpStream::connect(&addr).await.expect("tcp");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/binary"), tcp).await.expect("upgrade");
    let data = all_bytes();
    ws.send(Message::Binary(data.clone().into())).await.expect("send");
    // Text frames are bytes too.
    ws.send(Message::Text("hé".into())).await.expect("send");
    let mut got = Vec::new();
    while got.len() < 4 {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Binary(b))) => got.push(b.to_vec()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
    assert_eq!(got, [b"512:".to_vec(), data, b"3:".to_vec(), "hé".as_bytes().to_vec()]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_says_which_bytes_are_raw_and_which_base64() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let doc = app.get("/openapi.json", None).await.body;
    app.stop().await;
    let raw = &doc["paths"]["/raw"]["post"];
    assert_eq!(raw["requestBody"]["content"]["application/octet-stream"]["schema"], json!({"type": "string", "format": "binary"}));
    assert!(raw["responses"]["413"].is_object() && raw["responses"]["415"].is_null(), "{raw}");
    // A `Response` answer lists the content types its literals name, binary for `body_bytes`.
    let data = &doc["paths"]["/blobs/{id}/data"]["get"]["responses"]["default"]["content"];
    assert_eq!(data, &json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}));
    let blob = &doc["components"]["schemas"]["NewBlob"]["properties"]["data"];
    assert_eq!(blob, &json!({"type": "string", "contentEncoding": "base64"}));
    assert_eq!(fitz_tests::python::validate_openapi(&doc.to_string()), "valid");
}
