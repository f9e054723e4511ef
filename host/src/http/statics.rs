//! Static files a module bundled (`guest_abi::statics`), served under the app's
//! `static_prefix` with what browsers and caches expect: a content type by extension, a
//! strong `ETag` and `304 Not Modified` for `If-None-Match`, single byte ranges (`206`,
//! `416`), `index.html` for a folder. Nothing is read from the host's disk.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use guest_abi::manifest::Manifest;

pub struct StaticFile {
    bytes: axum::body::Bytes,
    etag: HeaderValue,
    content_type: &'static str,
}

pub struct Statics {
    prefix: String,
    files: HashMap<String, StaticFile>,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// A strong validator from the content: FNV-1a over the bytes, and their length.
fn etag(bytes: &[u8]) -> HeaderValue {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    HeaderValue::from_str(&format!("\"{hash:016x}-{:x}\"", bytes.len())).unwrap_or(HeaderValue::from_static("\"0\""))
}

impl Statics {
    /// The bundle of module `wasm`, when its manifest serves one.
    pub fn from_module(wasm: &[u8], manifest: &Manifest) -> Result<Option<Statics>, String> {
        let Some(prefix) = manifest.server.as_ref().and_then(|s| s.static_prefix.clone()) else { return Ok(None) };
        if !prefix.starts_with('/') || prefix.len() < 2 || prefix.ends_with('/') || !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b)) {
            return Err(format!("static prefix {prefix:?} is not a path"));
        }
        let mut section = None;
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let Ok(wasmparser::Payload::CustomSection(c)) = payload
                && c.name() == guest_abi::statics::SECTION
            {
                if section.is_some() {
                    return Err("two static file sections".into());
                }
                section = Some(c.data().to_vec());
            }
        }
        let files = match section {
            Some(data) => guest_abi::statics::decode(&data)?,
            None => Vec::new(),
        };
        let files = files
            .into_iter()
            .map(|f| {
                let file = StaticFile { etag: etag(&f.bytes), content_type: content_type(&f.path), bytes: f.bytes.into() };
                (f.path, file)
            })
            .collect();
        Ok(Some(Statics { prefix, files }))
    }

    /// The answer for `path` if it is under the prefix.
    pub fn serve(&self, method: &axum::http::Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        let rest = path.strip_prefix(&self.prefix)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        if method != axum::http::Method::GET {
            let mut res = super::error(405, "method not allowed");
            res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Some(res);
        }
        let decoded = percent_encoding::percent_decode_str(rest.trim_start_matches('/')).decode_utf8().ok()?;
        let name = if decoded.is_empty() || decoded.ends_with('/') { format!("{decoded}index.html") } else { decoded.into_owned() };
        let Some(file) = self.files.get(&name) else { return Some(super::error(404, "not found")) };
        Some(answer(file, headers))
    }
}

fn answer(file: &StaticFile, headers: &HeaderMap) -> Response {
    let base = |status: StatusCode, body: Body| {
        let mut res = Response::new(body);
        *res.status_mut() = status;
        let h = res.headers_mut();
        h.insert(header::ETAG, file.etag.clone());
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        res
    };
    let matches = |list: &str| list.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == file.etag.to_str().unwrap_or(""));
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(matches) {
        return base(StatusCode::NOT_MODIFIED, Body::empty());
    }
    let len = file.bytes.len() as u64;
    // A range applies unless `If-Range` names another version.
    let if_range_ok = headers.get(header::IF_RANGE).is_none_or(|v| v.as_bytes() == file.etag.as_bytes());
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).filter(|_| if_range_ok);
    match range.map(|r| byte_range(r, len)) {
        Some(Range::One(start, end)) => {
            let mut res = base(StatusCode::PARTIAL_CONTENT, Body::from(file.bytes.slice(start as usize..=end as usize)));
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
        Some(Range::Unsatisfiable) => {
            let mut res = base(StatusCode::RANGE_NOT_SATISFIABLE, Body::empty());
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
        // No range, or one this server does not split (several ranges): the whole file.
        Some(Range::Whole) | None => {
            let mut res = base(StatusCode::OK, Body::from(file.bytes.clone()));
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
            res
        }
    }
}

#[derive(Debug, PartialEq)]
enum Range {
    /// Inclusive byte positions.
    One(u64, u64),
    Unsatisfiable,
    Whole,
}

/// RFC 9110 §14.1.2 for one range: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
fn byte_range(header: &str, len: u64) -> Range {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Range::Whole };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return Range::Whole };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() && s.len() <= 19 { s.parse::<u64>().ok() } else { None };
    match (a.is_empty(), b.is_empty()) {
        (true, false) => match num(b) {
            Some(0) => Range::Unsatisfiable,
            Some(n) if len > 0 => Range::One(len.saturating_sub(n), len - 1),
            Some(_) => Range::Unsatisfiable,
            None => Range::Whole,
        },
        (false, _) => {
            let Some(start) = num(a) else { return Range::Whole };
            let end = if b.is_empty() { Some(u64::MAX) } else { num(b) };
            match end {
                None => Range::Whole,
                Some(end) if end < start => Range::Whole,
                Some(_) if start >= len => Range::Unsatisfiable,
                Some(end) => Range::One(start, end.min(len - 1)),
            }
        }
        (true, true) => Range::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::{Range, byte_range};

    #[test]
    fn ranges_as_the_rfc_reads() {
        assert_eq!(byte_range("bytes=0-3", 10), Range::One(0, 3));
        assert_eq!(byte_range("bytes=4-", 10), Range::One(4, 9));
        assert_eq!(byte_range("bytes=-3", 10), Range::One(7, 9));
        assert_eq!(byte_range("bytes=-30", 10), Range::One(0, 9));
        assert_eq!(byte_range("bytes=5-100", 10), Range::One(5, 9));
        assert_eq!(byte_range("bytes=10-", 10), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 10), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=0-0", 0), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=3-1", 10), Range::Whole);
        assert_eq!(byte_range("bytes=0-1,4-5", 10), Range::Whole);
        assert_eq!(byte_range("items=0-1", 10), Range::Whole);
        assert_eq!(byte_range("bytes=x-1", 10), Range::Whole);
        assert_eq!(byte_range("bytes=99999999999999999999-", 10), Range::Whole);
    }
}
