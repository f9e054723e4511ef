//! `test.get(…)` and its siblings under `fitz test`: a request to the app's own routes, made
//! in process through the same edge a socket's request goes through (`http::serve_app`: auth,
//! binding, limits, a sandbox of its own), and its answer as a `TestResponse`.

use std::sync::Arc;

use axum::body::Body;
use guest_abi::value::Value;

use crate::http::Served;

/// The user a test's request runs as (`as_user:`), in place of what the auth provider would
/// answer. Only this in-process client sets it: a request from a socket cannot carry it.
#[derive(Clone, Debug)]
pub struct ActingUser(pub Value);

/// The most of an answer a test reads.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The method `test_request` numbers `m` with (as `http_request` does, and 5 for PATCH).
pub fn method(m: u32) -> Option<http::Method> {
    Some(match m {
        0 => http::Method::GET,
        2 => http::Method::DELETE,
        3 => http::Method::POST,
        4 => http::Method::PUT,
        5 => http::Method::PATCH,
        _ => return None,
    })
}

/// Sends the request to `served` and reads its answer: status, headers (names in lower case,
/// repeated ones joined with `, `), the body as text, and a JSON object body's fields as text.
pub async fn send(
    served: &Arc<Served>,
    method: http::Method,
    path: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
    acting: Option<ActingUser>,
) -> Result<Value, String> {
    let uri: http::Uri = path.parse().map_err(|_| format!("test: `{path}` is not a path"))?;
    let mut req = http::Request::builder().method(method).uri(uri).header(http::header::HOST, "localhost");
    if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let mut req = req.body(body.map_or_else(Body::empty, Body::from)).map_err(|_| "test: a header name or value is not valid".to_string())?;
    if let Some(user) = acting {
        req.extensions_mut().insert(user);
    }
    let res = crate::http::serve_app(served, req).await;
    let status = res.status().as_u16();
    let mut heads: Vec<(String, String)> = Vec::new();
    for (k, v) in res.headers() {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match heads.iter_mut().find(|(n, _)| n == k.as_str()) {
            Some((_, joined)) => *joined = format!("{joined}, {v}"),
            None => heads.push((k.as_str().to_string(), v)),
        }
    }
    let bytes = axum::body::to_bytes(res.into_body(), MAX_ANSWER_BYTES).await.map_err(|_| format!("test: the answer is larger than {MAX_ANSWER_BYTES} bytes"))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let fields = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(o)) => o
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (Value::Str(k), Value::Str(v))
            })
            .collect(),
        _ => vec![],
    };
    let map = |pairs: Vec<(String, String)>| Value::Map(pairs.into_iter().map(|(k, v)| (Value::Str(k), Value::Str(v))).collect());
    Ok(Value::Record(vec![Value::Int(i64::from(status)), map(heads), Value::Str(text), Value::Map(fields)]))
}
