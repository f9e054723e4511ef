//! The built-in `Response` and `Cookie` types (upstream's): a handler that returns a
//! `Response` answers with its status, content type, headers, cookies and text body instead of
//! JSON. The compiler declares them (`SOURCE`) in a program that names them; the host knows a
//! `Response` by its record's name and exact shape, checked here, so a module cannot make the
//! host read any other record as one.

use crate::types::{RecordType, ValueType};
use crate::value::Value;

/// The declarations, in Fitz.
pub const SOURCE: &str = r#"type Cookie {
    name: Str
    value: Str
    path: Str = "/"
    domain: Str? = null
    max_age: Int? = null
    http_only: Bool = true
    secure: Bool = false
    same_site: Str = "Lax"
}

type Response {
    status: Int = 200
    content_type: Str = "text/plain; charset=utf-8"
    headers: Map<Str, Str> = {}
    body: Str = ""
    body_bytes: Bytes? = null
    cookies: List<Cookie> = []
}
"#;

/// A `Cookie` to set, as the handler wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: String,
    pub domain: Option<String>,
    pub max_age: Option<i64>,
    pub http_only: bool,
    pub secure: bool,
    pub same_site: String,
}

/// A `Response` value, as the handler wrote it (not yet checked as HTTP).
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub status: i64,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    /// `body_bytes` when it is set (binary answers), else `body`'s text.
    pub body: Vec<u8>,
    pub cookies: Vec<Cookie>,
}

fn str_ty() -> ValueType {
    ValueType::Str
}

fn opt(t: ValueType) -> ValueType {
    ValueType::Nullable { inner: Box::new(t) }
}

fn is_cookie(records: &[RecordType], id: u32) -> bool {
    let Some(r) = records.get(id as usize) else { return false };
    let want = [
        ("name", str_ty()),
        ("value", str_ty()),
        ("path", str_ty()),
        ("domain", opt(str_ty())),
        ("max_age", opt(ValueType::Int)),
        ("http_only", ValueType::Bool),
        ("secure", ValueType::Bool),
        ("same_site", str_ty()),
    ];
    r.name == "Cookie" && r.fields.len() == want.len() && r.fields.iter().zip(&want).all(|(f, (n, t))| f.name == *n && f.ty == *t)
}

/// Whether `ty` is the built-in `Response` of `records`.
pub fn is_response(records: &[RecordType], ty: &ValueType) -> bool {
    let ValueType::Record { id } = ty else { return false };
    let Some(r) = records.get(*id as usize) else { return false };
    let [status, content_type, headers, body, body_bytes, cookies] = r.fields.as_slice() else { return false };
    let map = ValueType::Map { key: Box::new(str_ty()), value: Box::new(str_ty()) };
    r.name == "Response"
        && (status.name.as_str(), &status.ty) == ("status", &ValueType::Int)
        && (content_type.name.as_str(), &content_type.ty) == ("content_type", &str_ty())
        && (headers.name.as_str(), &headers.ty) == ("headers", &map)
        && (body.name.as_str(), &body.ty) == ("body", &str_ty())
        && (body_bytes.name.as_str(), &body_bytes.ty) == ("body_bytes", &opt(ValueType::Bytes))
        && cookies.name == "cookies"
        && matches!(&cookies.ty, ValueType::List { item } if matches!(**item, ValueType::Record { id } if is_cookie(records, id)))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// The `Response` in `v` (a value of a type `is_response` accepted).
pub fn read(v: &Value) -> Option<Response> {
    let Value::Record(f) = v else { return None };
    let [Value::Int(status), content_type, Value::Map(headers), body, body_bytes, Value::List(cookies)] = f.as_slice() else { return None };
    let headers = headers.iter().map(|(k, v)| Some((text(k)?, text(v)?))).collect::<Option<Vec<_>>>()?;
    let cookies = cookies
        .iter()
        .map(|c| {
            let Value::Record(c) = c else { return None };
            let [name, value, path, domain, max_age, Value::Bool(http_only), Value::Bool(secure), same_site] = c.as_slice() else { return None };
            Some(Cookie {
                name: text(name)?,
                value: text(value)?,
                path: text(path)?,
                domain: match domain {
                    Value::Null => None,
                    d => Some(text(d)?),
                },
                max_age: match max_age {
                    Value::Int(n) => Some(*n),
                    _ => None,
                },
                http_only: *http_only,
                secure: *secure,
                same_site: text(same_site)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let body = match body_bytes {
        Value::Bytes(b) => b.clone(),
        Value::Null => text(body)?.into_bytes(),
        _ => return None,
    };
    Some(Response { status: *status, content_type: text(content_type)?, headers, body, cookies })
}

/// The built-in `Request` (upstream's): what a handler or a middleware parameter of this type
/// receives. Header names are lower case; `client` is the peer's address (`ip:port`), or empty.
pub const REQUEST_SOURCE: &str = r#"type Request {
    method: Str
    path: Str
    headers: Map<Str, Str>
    query: Map<Str, Str>
    cookies: Map<Str, Str>
    client: Str
}
"#;

/// Whether `ty` is the built-in `Request` of `records`.
pub fn is_request(records: &[RecordType], ty: &ValueType) -> bool {
    let ValueType::Record { id } = ty else { return false };
    let Some(r) = records.get(*id as usize) else { return false };
    let map = ValueType::Map { key: Box::new(str_ty()), value: Box::new(str_ty()) };
    let want = [("method", str_ty()), ("path", str_ty()), ("headers", map.clone()), ("query", map.clone()), ("cookies", map), ("client", str_ty())];
    r.name == "Request" && r.fields.len() == want.len() && r.fields.iter().zip(&want).all(|(f, (n, t))| f.name == *n && f.ty == *t)
}

/// A `Request` value.
pub fn request_value(method: &str, path: &str, headers: &[(String, String)], query: &[(String, String)], cookies: &[(String, String)], client: &str) -> Value {
    let map = |pairs: &[(String, String)]| Value::Map(pairs.iter().map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone()))).collect());
    Value::Record(vec![Value::Str(method.into()), Value::Str(path.into()), map(headers), map(query), map(cookies), Value::Str(client.into())])
}

/// Upstream's `File`: each part of a `multipart/form-data` body a handler takes as
/// `Map<Str, File>` (or a field of its body type). `name` is the part's file name (null for a
/// plain text field), `content` its text (a part that is not UTF-8 is refused with a 400).
pub const FILE_SOURCE: &str = r#"type File {
    name: Str?
    content_type: Str?
    content: Str
}
"#;

/// Whether `ty` is the built-in `File` of `records`.
pub fn is_file(records: &[RecordType], ty: &ValueType) -> bool {
    let ValueType::Record { id } = ty else { return false };
    let Some(r) = records.get(*id as usize) else { return false };
    let opt = ValueType::Nullable { inner: Box::new(str_ty()) };
    let want = [("name", opt.clone()), ("content_type", opt), ("content", str_ty())];
    r.name == "File" && r.fields.len() == want.len() && r.fields.iter().zip(&want).all(|(f, (n, t))| f.name == *n && f.ty == *t)
}

/// Upstream's `HttpClientResponse`: what `http.get(…)` and friends answer.
pub const HTTP_SOURCE: &str = r#"type HttpClientResponse {
    status: Int
    headers: Map<Str, Str>
    body: Str
    duration_ms: Int
}
"#;

/// The record of `records` that is the built-in `HttpClientResponse`, if one is, by its name
/// and exact shape: the host writes answers of outbound calls as it.
pub fn http_response_id(records: &[RecordType]) -> Option<u32> {
    let map = ValueType::Map { key: Box::new(str_ty()), value: Box::new(str_ty()) };
    let want = [("status", ValueType::Int), ("headers", map), ("body", str_ty()), ("duration_ms", ValueType::Int)];
    let id = records.iter().position(|r| r.name == "HttpClientResponse")?;
    let r = &records[id];
    (r.fields.len() == want.len() && r.fields.iter().zip(&want).all(|(f, (n, t))| f.name == *n && f.ty == *t)).then_some(id as u32)
}

/// An `HttpClientResponse` value.
pub fn http_response_value(status: u16, headers: &[(String, String)], body: String, duration_ms: i64) -> Value {
    let headers = Value::Map(headers.iter().map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone()))).collect());
    Value::Record(vec![Value::Int(i64::from(status)), headers, Value::Str(body), Value::Int(duration_ms)])
}

/// Upstream's `SmtpResult`: what `smtp.send(…)` answers.
pub const SMTP_SOURCE: &str = r#"type SmtpResult {
    delivered: Bool
    message_id: Str
    duration_ms: Int
}
"#;

/// The record of `records` that is the built-in `SmtpResult`, if one is (by name and shape).
pub fn smtp_result_id(records: &[RecordType]) -> Option<u32> {
    let want = [("delivered", ValueType::Bool), ("message_id", str_ty()), ("duration_ms", ValueType::Int)];
    let id = records.iter().position(|r| r.name == "SmtpResult")?;
    let r = &records[id];
    (r.fields.len() == want.len() && r.fields.iter().zip(&want).all(|(f, (n, t))| f.name == *n && f.ty == *t)).then_some(id as u32)
}

/// The answer of `auth.issue` and `auth.refresh`: an access token (a JWT) and the opaque
/// refresh token that renews it, as OAuth 2.0 names them (RFC 6749 §5.1).
pub const TOKEN_PAIR_SOURCE: &str = r#"type TokenPair {
    access_token: Str
    refresh_token: Str
    token_type: Str = "Bearer"
    expires_in: Int = 0
}
"#;

/// The record of `records` that is the built-in `TokenPair`, if one is (by name and shape).
pub fn token_pair_id(records: &[RecordType]) -> Option<u32> {
    let want = [("access_token", str_ty()), ("refresh_token", str_ty()), ("token_type", str_ty()), ("expires_in", ValueType::Int)];
    let id = records.iter().position(|r| r.name == "TokenPair")?;
    let r = &records[id];
    (r.fields.len() == want.len() && r.fields.iter().zip(&want).all(|(f, (n, t))| f.name == *n && f.ty == *t)).then_some(id as u32)
}

/// What `test.get` and its siblings answer (`fitz test`): the status, the headers (names in
/// lower case), the body as text, and a JSON object body's top-level fields, each as text
/// (strings as they are, other values as their JSON) — `r.fields["access_token"]`.
pub const TEST_RESPONSE_SOURCE: &str = r#"type TestResponse {
    status: Int
    headers: Map<Str, Str>
    body: Str
    fields: Map<Str, Str>
}
"#;

/// The record of `records` that is the built-in `TestResponse`, if one is (by name and shape).
pub fn test_response_id(records: &[RecordType]) -> Option<u32> {
    let map = || ValueType::Map { key: Box::new(str_ty()), value: Box::new(str_ty()) };
    let want = [("status", ValueType::Int), ("headers", map()), ("body", str_ty()), ("fields", map())];
    let id = records.iter().position(|r| r.name == "TestResponse")?;
    let r = &records[id];
    (r.fields.len() == want.len() && r.fields.iter().zip(&want).all(|(f, (n, t))| f.name == *n && f.ty == *t)).then_some(id as u32)
}
