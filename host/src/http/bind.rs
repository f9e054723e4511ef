//! Request → handler arguments (LANGUAGE.md "HTTP"): path and query parameters by name and
//! type, the JSON body, injected headers. Failures become deferred 4xx arguments whose messages
//! name the parameter; they are reported after authentication (see `invoke::Arg::Invalid`).

use guest_abi::manifest::{Param, Route};
use guest_abi::types::ValueType;
use guest_abi::value::Value;
use http::HeaderMap;

use crate::runtime::invoke::Arg;

/// Raw input longer than this is cut in messages.
const ECHO_LIMIT: usize = 64;

pub(crate) fn echo(raw: &str) -> String {
    if raw.chars().count() <= ECHO_LIMIT { raw.to_string() } else { format!("{}…", raw.chars().take(ECHO_LIMIT).collect::<String>()) }
}

fn type_name(ty: &ValueType) -> &'static str {
    match ty {
        ValueType::Int => "Int",
        ValueType::Float => "Float",
        ValueType::Bool => "Bool",
        ValueType::Uuid => "Uuid",
        ValueType::DateTime => "DateTime",
        ValueType::Date => "Date",
        ValueType::Nullable { inner } => type_name(inner),
        _ => "Str",
    }
}

/// A path or query value as the declared scalar type.
pub fn scalar(ty: &ValueType, raw: &str) -> Option<Value> {
    match ty {
        ValueType::Int => raw.parse().ok().map(Value::Int),
        ValueType::Float => raw.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Float),
        ValueType::Bool => match raw {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        ValueType::Uuid => crate::json::parse_uuid(raw).map(Value::Str),
        ValueType::DateTime => crate::json::parse_datetime(raw).map(Value::DateTime),
        ValueType::Date => crate::json::parse_date(raw).map(Value::Date),
        ValueType::Nullable { inner } => scalar(inner, raw),
        _ => Some(Value::Str(raw.to_string())),
    }
}

fn invalid(message: String) -> Arg {
    Arg::Invalid { status: 400, message }
}

/// The request's headers as `headers: Map<Str, Str>` sees them: lower-cased names, repeated
/// headers joined with ", ", values that are not text left out.
pub fn headers(map: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in map {
        let Ok(v) = value.to_str() else { continue };
        match out.iter_mut().find(|(k, _)| k == name.as_str()) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(v);
            }
            None => out.push((name.as_str().to_string(), v.to_string())),
        }
    }
    out
}

/// What the body turned out to be, before it meets its type.
pub enum BodyInput {
    Json(serde_json::Value),
    /// A `Bytes` body: the request's bytes as they came, whatever their content type.
    Raw(Vec<u8>),
    Refused {
        status: u16,
        message: String,
    },
    /// The route takes no body.
    None,
}

/// The request's cookies (`Cookie: a=1; b=2`, over any number of `Cookie` headers, which
/// `headers` joined with `, `: RFC 6265 keeps `,` out of cookie values). Quotes around a value
/// are taken off; a pair without `=` is not a cookie.
pub fn cookies(headers: &[(String, String)]) -> Vec<(String, String)> {
    let Some((_, raw)) = headers.iter().find(|(k, _)| k == "cookie") else { return vec![] };
    raw.split([';', ','])
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            (!k.trim().is_empty()).then(|| (k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// A `@header`/`@cookie` parameter: its text, null when absent and allowed to be, else a 400.
fn carried(what: &str, name: &str, ty: &ValueType, found: Option<&String>) -> Arg {
    match found {
        Some(v) => Arg::Value(Value::Str(v.clone())),
        None if matches!(ty, ValueType::Nullable { .. }) => Arg::Value(Value::Null),
        None => invalid(format!("{what} '{name}': required")),
    }
}

/// What a `Request` parameter carries beyond the headers and query.
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The peer's `ip:port`, or empty when unknown.
    pub client: &'a str,
}

/// The built-in `Request` of this request (what a `req: Request` parameter receives).
pub fn request_of(line: &RequestLine<'_>, query: Option<&str>, headers: &[(String, String)]) -> Value {
    let query: Vec<(String, String)> = query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    guest_abi::response::request_value(line.method, line.path, headers, &query, &cookies(headers), line.client)
}

/// Binds every parameter of `route` except the body's content, which `body` carries.
pub fn bind(route: &Route, line: &RequestLine<'_>, path_params: &[(String, String)], query: Option<&str>, headers: &[(String, String)], body: BodyInput) -> Vec<Arg> {
    let cookies = if route.params.iter().any(|p| matches!(p, Param::Cookie { .. } | Param::Request { .. })) { cookies(headers) } else { vec![] };
    let query: Vec<(String, String)> = query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let mut body = Some(body);
    route
        .params
        .iter()
        .map(|p| match p {
            Param::Path { name, ty } => {
                let Some((_, raw)) = path_params.iter().find(|(k, _)| k == name) else {
                    return invalid(format!("path param '{name}': missing"));
                };
                let decoded = percent_encoding::percent_decode_str(raw).decode_utf8();
                if decoded.as_ref().is_ok_and(|d| d.contains('\0')) {
                    return invalid(format!("path param '{name}': {}", crate::json::NUL_MESSAGE));
                }
                match decoded.ok().and_then(|d| scalar(ty, &d)) {
                    Some(v) => Arg::Value(v),
                    None => invalid(format!("path param '{name}': expected {}, received '{}'", type_name(ty), echo(raw))),
                }
            }
            Param::Query { name, ty } => match query.iter().find(|(k, _)| k == name) {
                None if matches!(ty, ValueType::Nullable { .. }) => Arg::Value(Value::Null),
                None => invalid(format!("query param '{name}': required")),
                Some((_, raw)) if raw.contains('\0') => invalid(format!("query param '{name}': {}", crate::json::NUL_MESSAGE)),
                Some((_, raw)) => match scalar(ty, raw) {
                    Some(v) => Arg::Value(v),
                    None => invalid(format!("query param '{name}': expected {}, received '{}'", type_name(ty), echo(raw))),
                },
            },
            Param::Body { .. } => match body.take() {
                Some(BodyInput::Json(j)) => Arg::Body(j),
                Some(BodyInput::Raw(bytes)) => Arg::Value(Value::Bytes(bytes)),
                Some(BodyInput::Refused { status, message }) => Arg::Invalid { status, message },
                _ => invalid("request body: missing".into()),
            },
            Param::Header { header, ty, .. } => carried("header", header, ty, headers.iter().find(|(k, _)| k == header).map(|(_, v)| v)),
            // The first of a name, as browsers send the most specific first.
            Param::Cookie { cookie, ty, .. } => carried("cookie", cookie, ty, cookies.iter().find(|(k, _)| k == cookie).map(|(_, v)| v)),
            Param::Request { .. } => Arg::Value(guest_abi::response::request_value(line.method, line.path, headers, &query, &cookies, line.client)),
            Param::Db { .. } | Param::Headers { .. } | Param::User { .. } | Param::Ws { .. } => Arg::Injected,
        })
        .collect()
}
