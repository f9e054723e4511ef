//! A handler's `Response` (`guest_abi::response`) made into HTTP, or refused: a tenant's module
//! writes these values, so every part is checked before it reaches a client — a header that
//! would split the response or take over its framing, a cookie that would inject attributes,
//! a status outside 200–599 — and the request fails as the app's fault (500, logged) instead.

use axum::http::{HeaderName, HeaderValue};
use guest_abi::response::{Cookie, Response};

/// An answer in HTTP's own types, every part checked.
#[derive(Debug, PartialEq)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

/// At most this many headers and cookies, each at most `MAX_VALUE` bytes.
pub const MAX_HEADERS: usize = 64;
pub const MAX_VALUE: usize = 8 * 1024;

/// Headers the host owns: the framing of the answer and the connection.
const HOST_OWNED: &[&str] = &["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-connection", "x-fitz-version"];

fn value(what: &str, v: &str) -> Result<HeaderValue, String> {
    if v.len() > MAX_VALUE {
        return Err(format!("{what} is longer than {MAX_VALUE} bytes"));
    }
    // Visible ASCII, spaces and tabs: no CR, LF or NUL to split the answer with.
    if !v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        return Err(format!("{what} holds a control or non-ASCII character"));
    }
    HeaderValue::from_str(v).map_err(|_| format!("{what} is not a valid header value"))
}

/// RFC 6265's cookie-octet: no quotes, commas, semicolons, backslashes, spaces or controls.
fn cookie_octets(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

use guest_abi::manifest::is_token as token;

/// `Set-Cookie: name=value; Path=/; Max-Age=…; Domain=…; HttpOnly; Secure; SameSite=…`.
pub fn set_cookie(c: &Cookie) -> Result<String, String> {
    if !token(&c.name) {
        return Err(format!("cookie name `{}` is not a token", c.name.escape_debug()));
    }
    let what = format!("cookie `{}`", c.name);
    if !cookie_octets(&c.value) {
        return Err(format!("{what}: its value holds a character a cookie cannot carry (quote, comma, semicolon, backslash, space or control)"));
    }
    let attr = |name: &str, v: &str| -> Result<(), String> {
        if v.is_empty() || v.contains(';') || !v.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
            return Err(format!("{what}: `{name}` must be printable ASCII without spaces or `;`"));
        }
        Ok(())
    };
    let mut out = format!("{}={}", c.name, c.value);
    attr("path", &c.path)?;
    out += &format!("; Path={}", c.path);
    if let Some(d) = &c.domain {
        attr("domain", d)?;
        out += &format!("; Domain={d}");
    }
    if let Some(age) = c.max_age {
        out += &format!("; Max-Age={}", age.max(0));
    }
    if c.http_only {
        out += "; HttpOnly";
    }
    if c.secure {
        out += "; Secure";
    }
    match c.same_site.as_str() {
        "Strict" | "Lax" => out += &format!("; SameSite={}", c.same_site),
        // Browsers drop `SameSite=None` without `Secure`: say so here rather than there.
        "None" if c.secure => out += "; SameSite=None",
        "None" => return Err(format!("{what}: `same_site: \"None\"` needs `secure: true`")),
        other => return Err(format!("{what}: `same_site` is \"Strict\", \"Lax\" or \"None\", not {:?}", other)),
    }
    Ok(out)
}

/// The HTTP answer a `Response` describes, with a body of at most `cap` bytes.
pub fn from_response(r: Response, cap: usize) -> Result<Raw, String> {
    let status = u16::try_from(r.status).ok().filter(|s| (200..=599).contains(s)).ok_or_else(|| format!("status {} is not between 200 and 599", r.status))?;
    if r.headers.len() + r.cookies.len() > MAX_HEADERS {
        return Err(format!("more than {MAX_HEADERS} headers and cookies"));
    }
    if r.body.len() > cap {
        return Err(format!("the body is larger than {cap} bytes"));
    }
    let mut headers = vec![(axum::http::header::CONTENT_TYPE, value("content_type", &r.content_type)?)];
    for (name, v) in &r.headers {
        let lower = name.to_ascii_lowercase();
        if !token(name) {
            return Err(format!("header name `{}` is not a token", name.escape_debug()));
        }
        if lower == "content-type" {
            return Err("set the content type with `content_type`, not a header".into());
        }
        if HOST_OWNED.contains(&lower.as_str()) {
            return Err(format!("header `{name}` is the host's to set"));
        }
        let name = HeaderName::from_bytes(lower.as_bytes()).map_err(|_| format!("header name `{name}` is not valid"))?;
        headers.push((name, value(&format!("header `{lower}`"), v)?));
    }
    for c in &r.cookies {
        headers.push((axum::http::header::SET_COOKIE, value("a cookie", &set_cookie(c)?)?));
    }
    Ok(Raw { status, headers, body: r.body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(name: &str, value: &str) -> Cookie {
        Cookie { name: name.into(), value: value.into(), path: "/".into(), domain: None, max_age: None, http_only: true, secure: false, same_site: "Lax".into() }
    }

    fn response(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 200,
            content_type: "text/plain".into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: "hi".into(),
            cookies: vec![],
        }
    }

    #[test]
    fn cookies_are_written_with_their_attributes() {
        let mut c = cookie("session", "abc");
        c.max_age = Some(3600);
        c.secure = true;
        c.same_site = "Strict".into();
        assert_eq!(set_cookie(&c).as_deref(), Ok("session=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict"));
        c.max_age = Some(-5);
        c.domain = Some("example.com".into());
        c.http_only = false;
        assert_eq!(set_cookie(&c).as_deref(), Ok("session=abc; Path=/; Domain=example.com; Max-Age=0; Secure; SameSite=Strict"));
    }

    #[test]
    fn nothing_a_handler_writes_can_split_or_reframe_the_answer() {
        for (k, v) in [("X-A", "1\r\nSet-Cookie: evil=1"), ("X-A", "1\nx"), ("X-A", "a\0b"), ("X A", "1"), ("X-A:", "1"), ("", "1"), ("X-A", "ñ")] {
            assert!(from_response(response(&[(k, v)]), 1024).is_err(), "{k:?}: {v:?}");
        }
        for k in ["Content-Length", "transfer-encoding", "Connection", "content-type", "X-Fitz-Version"] {
            assert!(from_response(response(&[(k, "1")]), 1024).is_err(), "{k}");
        }
        let mut r = response(&[]);
        r.content_type = "text/html\r\nX-Injected: 1".into();
        assert!(from_response(r, 1024).is_err());
        for (name, value) in [("a=b", "1"), ("a", "1; Domain=evil.com"), ("a", "x y"), ("a", "\"q\""), ("a", "1,2")] {
            assert!(set_cookie(&cookie(name, value)).is_err(), "{name}={value}");
        }
        let mut c = cookie("a", "1");
        c.path = "/; Domain=evil.com".into();
        assert!(set_cookie(&c).is_err());
        c.path = "/".into();
        c.same_site = "None".into();
        assert!(set_cookie(&c).is_err(), "SameSite=None without Secure");
        c.same_site = "lax".into();
        assert!(set_cookie(&c).is_err());
    }

    #[test]
    fn limits_hold() {
        let mut r = response(&[]);
        r.status = 700;
        assert!(from_response(r.clone(), 1024).is_err());
        r.status = 101;
        assert!(from_response(r.clone(), 1024).is_err());
        r.status = 204;
        assert_eq!(from_response(r.clone(), 1024).map(|a| a.status), Ok(204));
        assert!(from_response(r.clone(), 1).is_err(), "the body cap");
        let many: Vec<(String, String)> = (0..=MAX_HEADERS).map(|i| (format!("x-{i}"), "1".into())).collect();
        r.headers = many;
        assert!(from_response(r.clone(), 1024).is_err());
        r.headers = vec![("x-big".into(), "v".repeat(MAX_VALUE + 1))];
        assert!(from_response(r, 1024).is_err());
    }
}
