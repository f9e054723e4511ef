//! `/openapi.json` and `/docs`: the app's OpenAPI document and the Scalar API reference, whose
//! script is compiled into the binary (`host/assets`), so the page works offline. A content
//! security policy keeps the page from reaching anything but this server.

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use crate::runtime::app::AppVersion;

static SCALAR_GZ: &[u8] = include_bytes!("../../assets/scalar-standalone.js.gz");
static PAGE: &str = include_str!("../../assets/docs.html");

const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:";

fn response(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

pub fn openapi(app: &AppVersion) -> Response {
    response(StatusCode::OK, "application/json", app.openapi.to_string())
}

/// `/asyncapi.json` (only asked of an app with `@ws` endpoints).
pub fn asyncapi(app: &AppVersion) -> Response {
    let text = app.asyncapi.as_ref().map_or_else(|| "{}".to_string(), |(t, _)| t.to_string());
    response(StatusCode::OK, "application/json", text)
}

/// `/asyncapi`: plain HTML that loads nothing, so its policy allows nothing but its style.
pub fn asyncapi_page(app: &AppVersion) -> Response {
    let page = app.asyncapi.as_ref().map_or_else(String::new, |(_, p)| p.to_string());
    let mut res = response(StatusCode::OK, "text/html; charset=utf-8", page);
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
    res
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn page(app: &AppVersion) -> Response {
    let mut res = response(StatusCode::OK, "text/html; charset=utf-8", PAGE.replace("{{TITLE}}", &escape(&app.ctx.name)));
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    res
}

/// The script, gzip-encoded for clients that accept it (every browser), else decompressed
/// once and kept.
pub async fn script(req: Request) -> Response {
    let gzip_ok = req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut res = if gzip_ok {
        let mut res = response(StatusCode::OK, "text/javascript; charset=utf-8", SCALAR_GZ);
        res.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        res
    } else {
        static PLAIN: OnceLock<Vec<u8>> = OnceLock::new();
        let plain = PLAIN.get_or_init(|| {
            use std::io::Read;
            let mut out = Vec::new();
            let _ = flate2::read::GzDecoder::new(SCALAR_GZ).read_to_end(&mut out);
            out
        });
        response(StatusCode::OK, "text/javascript; charset=utf-8", plain.as_slice())
    };
    res.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    res
}
