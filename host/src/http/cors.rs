//! `@middleware(cors(…))`: the preflight a browser sends before a cross-origin call, and the
//! `Access-Control-*` headers on the route's answers. A browser lets a page of another origin
//! read an answer only when these say so; nothing here refuses a request a browser did not
//! make (CORS protects users' browsers, not the server).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use guest_abi::manifest::Cors;

/// The `Access-Control-Allow-Origin` for a request from `origin`, if the policy allows it.
fn allowed_origin(policy: &Cors, origin: Option<&str>) -> Option<HeaderValue> {
    if policy.allow_origin == "*" {
        return Some(HeaderValue::from_static("*"));
    }
    let origin = origin?;
    (origin == policy.allow_origin).then(|| HeaderValue::from_str(origin).ok()).flatten()
}

fn origin_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Adds the policy's headers to an answer of the route, for a request from `origin`.
pub fn decorate(policy: &Cors, origin: Option<&str>, res: &mut Response) {
    let h = res.headers_mut();
    if policy.allow_origin != "*" {
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    if let Some(allow) = allowed_origin(policy, origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if policy.allow_credentials {
            h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
    }
}

/// The answer to a preflight for a route with `policy`: 204 with what is allowed, or a 403
/// without any `Access-Control-Allow-*` (the browser then refuses the call).
pub fn preflight(policy: &Cors, request: &HeaderMap) -> Response {
    let method = request.get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok()).unwrap_or("");
    let asked: Vec<String> = request
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let origin = allowed_origin(policy, origin_of(request));
    let method_ok = policy.allow_methods.iter().any(|m| m.eq_ignore_ascii_case(method));
    let headers_ok = asked.iter().all(|h| policy.allow_headers.contains(h));
    let Some(origin) = origin.filter(|_| method_ok && headers_ok) else {
        let mut res = super::error(403, "CORS preflight refused: origin, method or headers not allowed");
        if policy.allow_origin != "*" {
            res.headers_mut().insert(header::VARY, HeaderValue::from_static("origin"));
        }
        return res;
    };
    let mut res = Response::new(axum::body::Body::empty());
    *res.status_mut() = axum::http::StatusCode::NO_CONTENT;
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    // Checked at load (`Cors::problem`): tokens only, so these are valid header values.
    if let Ok(v) = HeaderValue::from_str(&policy.allow_methods.join(", ")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if let Ok(v) = HeaderValue::from_str(&policy.allow_headers.join(", ")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    if let Some(age) = policy.max_age {
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
    }
    if policy.allow_credentials {
        h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
    if policy.allow_origin != "*" {
        h.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    res
}
