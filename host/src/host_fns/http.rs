//! Outbound HTTP (`http.get/head/delete/post/put`), made by the host for the guest under the
//! app's egress policy: `fitz run` reaches anything; under `fitz host` a tenant reaches only
//! the hosts and ports its operator allowed (`egress` in its settings), never by default.
//!
//! The policy is checked on every URL (the first and each redirect's) and again on every
//! address a name resolves to, by the client's own resolver, so a name cannot be pointed at
//! the host's network after the check (DNS rebinding): a name reaches public addresses only,
//! and a loopback, private or link-local address is reached only by a URL that writes that
//! address, when a rule names it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Redirects one call follows.
pub const MAX_REDIRECTS: usize = 5;
/// The longest a call may take, whatever the guest asks.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// A call's time when the guest does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq)]
pub enum Egress {
    /// Anything (`fitz run`: a developer's own app on their own machine).
    Open,
    /// Only these; none is deny-all (a tenant's default).
    Rules(Vec<Rule>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    host: HostPattern,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq)]
enum HostPattern {
    Name(String),
    /// `*.example.com`: its subdomains, not itself.
    Suffix(String),
    Ip(IpAddr),
}

impl Egress {
    /// Rules as an operator writes them: `api.example.com`, `api.example.com:443`,
    /// `*.example.com`, `127.0.0.1:9000`, `[::1]:9000`.
    pub fn parse(rules: &[String]) -> Result<Egress, String> {
        rules.iter().map(|r| Rule::parse(r)).collect::<Result<Vec<_>, _>>().map(Egress::Rules)
    }

    /// Whether the guest may call `url`: its scheme, host and port.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("http: only http and https URLs can be called, not `{}`", url.scheme()));
        }
        let port = url.port_or_known_default().unwrap_or(0);
        let host = match url.host() {
            Some(url::Host::Domain(d)) => Target::Name(d.to_ascii_lowercase()),
            Some(url::Host::Ipv4(ip)) => Target::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Target::Ip(IpAddr::V6(ip)),
            None => return Err("http: the URL has no host".into()),
        };
        self.check_target(&host, url.host_str().unwrap_or(""), port)
    }

    /// Whether the app may reach `host` (a name or an address) on `port` (SMTP's server).
    pub fn check_host(&self, host: &str, port: u16) -> Result<(), String> {
        let target = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) => Target::Ip(ip),
            Err(_) => Target::Name(host.to_ascii_lowercase()),
        };
        self.check_target(&target, host, port)
    }

    fn check_target(&self, host: &Target, shown: &str, port: u16) -> Result<(), String> {
        let allowed = match (self, host) {
            (Egress::Open, _) => true,
            // An address is reached only as a rule names it, a name only as a rule matches it.
            (Egress::Rules(rules), _) => rules.iter().any(|r| r.matches(host, port)),
        };
        if allowed { Ok(()) } else { Err(format!("http: the app may not call {shown}:{port} (not in its egress policy)")) }
    }

    /// Whether a name the policy let through may be reached at `ip`: under rules, public
    /// addresses only. A private one is reached only by a URL that writes it, which a rule
    /// names with its port (`check_url`); a name resolving there, whatever it is, is refused.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        match self {
            Egress::Open => true,
            Egress::Rules(_) => is_public(ip),
        }
    }
}

enum Target {
    Name(String),
    Ip(IpAddr),
}

impl Rule {
    fn parse(text: &str) -> Result<Rule, String> {
        let bad = || format!("egress rule `{text}`: expected a host, `*.domain` or an IP address, with an optional `:port`");
        let t = text.trim();
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (ip, port)
        } else {
            match t.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p.parse::<u16>().map_err(|_| bad())?)),
                _ => (t, None),
            }
        };
        let host = if let Ok(ip) = host.parse::<IpAddr>() {
            HostPattern::Ip(ip)
        } else if let Some(domain) = host.strip_prefix("*.") {
            if !valid_name(domain) {
                return Err(bad());
            }
            HostPattern::Suffix(domain.to_ascii_lowercase())
        } else if valid_name(host) {
            HostPattern::Name(host.to_ascii_lowercase())
        } else {
            return Err(bad());
        };
        Ok(Rule { host, port })
    }

    fn matches(&self, target: &Target, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.host, target) {
            (HostPattern::Name(n), Target::Name(t)) => n == t,
            (HostPattern::Suffix(s), Target::Name(t)) => t.strip_suffix(s.as_str()).is_some_and(|head| head.ends_with('.') && head.len() > 1),
            (HostPattern::Ip(a), Target::Ip(b)) => a == b,
            _ => false,
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// Not the host's own network: loopback, private, link-local (cloud metadata), shared,
/// unspecified, multicast and broadcast addresses are not public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The client's resolver: the system's, with the addresses the policy refuses taken out.
struct Resolver(Egress);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| egress.address_allowed(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to addresses the app may not reach").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client an app's calls go through: its policy on every redirect and every address.
pub fn client(egress: &Egress) -> Result<reqwest::Client, String> {
    let redirects = egress.clone();
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(Resolver(egress.clone())))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if let Err(why) = redirects.check_url(attempt.url()) {
                attempt.error(why)
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| format!("http: the client cannot start: {e}"))
}

/// A call as the guest described it: method, URL, headers, body (an `Any`), timeout in ms.
pub type Asked = (reqwest::Method, String, Vec<(String, String)>, Option<guest_abi::value::Value>, i64);

/// `http.request({"method": …, "url": …, "headers": {…}, "body": …, "timeout_ms": …})`:
/// upstream's map form, read from a `Map<Str, Any>`; what is wrong with it, in its words.
pub fn call_of_map(options: guest_abi::value::Value) -> Result<Asked, String> {
    use guest_abi::value::Value;
    let Value::Map(entries) = options else { return Err("http: request options are a map".into()) };
    let get = |key: &str| {
        entries.iter().find_map(|(k, v)| match (k, v) {
            (Value::Str(k), Value::Any { value, .. }) if k == key => Some((**value).clone()),
            _ => None,
        })
    };
    let url = match get("url") {
        Some(Value::Str(u)) => u,
        _ => return Err("http: request options need a `url` (text)".into()),
    };
    let method = match get("method") {
        None => reqwest::Method::GET,
        Some(Value::Str(m)) => match m.to_ascii_uppercase().as_str() {
            "GET" => reqwest::Method::GET,
            "HEAD" => reqwest::Method::HEAD,
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            "DELETE" => reqwest::Method::DELETE,
            "OPTIONS" => reqwest::Method::OPTIONS,
            _ => return Err("http: `method` is one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS".into()),
        },
        Some(_) => return Err("http: `method` is text".into()),
    };
    let headers = match get("headers") {
        None => Vec::new(),
        Some(Value::Map(pairs)) => pairs
            .into_iter()
            .map(|(k, v)| {
                // A value is text as it is, or text boxed in an `Any`.
                let v = if let Value::Any { value, .. } = v { *value } else { v };
                match (k, v) {
                    (Value::Str(k), Value::Str(v)) => Ok((k, v)),
                    _ => Err("http: `headers` is a map of text".to_string()),
                }
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("http: `headers` is a map of text".into()),
    };
    let timeout_ms = match get("timeout_ms") {
        None => 0,
        Some(Value::Int(ms)) if ms > 0 => ms,
        Some(_) => return Err("http: `timeout_ms` is a positive number".into()),
    };
    let body = entries.iter().find_map(|(k, v)| matches!(k, Value::Str(k) if k == "body").then(|| v.clone()));
    Ok((method, url, headers, body, timeout_ms))
}

/// One call as the guest asked it.
pub struct Call {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The body and its content type.
    pub body: Option<(Vec<u8>, &'static str)>,
    pub timeout: Duration,
}

/// What came back.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub duration_ms: i64,
}

/// Makes `call` under `egress` through `client`, reading at most `max_bytes` of the answer.
pub async fn send(client: &reqwest::Client, egress: &Egress, call: Call, max_bytes: usize) -> Result<Answer, String> {
    let url = reqwest::Url::parse(&call.url).map_err(|_| "http: not a URL".to_string())?;
    egress.check_url(&url)?;
    let started = Instant::now();
    let mut req = client.request(call.method, url.clone()).timeout(call.timeout);
    for (k, v) in &call.headers {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("http: not a header name: `{}`", cut(k)))?;
        let value = reqwest::header::HeaderValue::from_str(v).map_err(|_| format!("http: the value of header `{}` is not valid", cut(k)))?;
        req = req.header(name, value);
    }
    if let Some((body, content_type)) = call.body {
        req = req.header(reqwest::header::CONTENT_TYPE, content_type).body(body);
    }
    let target = format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
    let described = |e: reqwest::Error| describe(&e, &target, call.timeout);
    let mut res = req.send().await.map_err(described)?;
    let status = res.status().as_u16();
    let headers = res.headers().iter().filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string()))).collect();
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(described)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(format!("http: the answer from {target} is larger than {max_bytes} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8(body).map_err(|_| format!("http: the answer from {target} is not UTF-8 text"))?;
    Ok(Answer { status, headers, body, duration_ms: started.elapsed().as_millis() as i64 })
}

/// A failure in the words upstream uses (`http: …`), naming the target but no library's text.
fn describe(e: &reqwest::Error, target: &str, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("http: timeout calling {target} after {} ms", timeout.as_millis())
    } else if e.is_redirect() {
        let why = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default();
        format!("http: a redirect from {target} was refused: {why}")
    } else if e.is_connect() {
        let refused = {
            let mut s: Option<&dyn std::error::Error> = std::error::Error::source(e);
            let mut found = None;
            while let Some(inner) = s {
                if inner.to_string().contains("may not reach") {
                    found = Some(inner.to_string());
                }
                s = inner.source();
            }
            found
        };
        match refused {
            Some(why) => format!("http: {why} (not in its egress policy)"),
            None => format!("http: could not connect to {target}"),
        }
    } else {
        format!("http: calling {target} failed")
    }
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(100);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &[&str]) -> Egress {
        Egress::parse(&r.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("rules")
    }

    fn url(u: &str) -> reqwest::Url {
        reqwest::Url::parse(u).expect("url")
    }

    #[test]
    fn rules_allow_what_they_name_and_nothing_else() {
        let e = rules(&["api.example.com:443", "*.cdn.example.org", "127.0.0.1:9000"]);
        assert!(e.check_url(&url("https://api.example.com/v1")).is_ok());
        assert!(e.check_url(&url("https://API.example.com/v1")).is_ok(), "names are case-insensitive");
        assert!(e.check_url(&url("http://api.example.com/v1")).is_err(), "port 80 is not 443");
        assert!(e.check_url(&url("https://evil.com/?api.example.com")).is_err());
        assert!(e.check_url(&url("https://api.example.com.evil.com/")).is_err());
        assert!(e.check_url(&url("https://a.cdn.example.org:8443/x")).is_ok());
        assert!(e.check_url(&url("https://cdn.example.org/")).is_err(), "a suffix rule is for subdomains");
        assert!(e.check_url(&url("https://xcdn.example.org/")).is_err());
        assert!(e.check_url(&url("http://127.0.0.1:9000/")).is_ok(), "a loopback address a rule names");
        assert!(e.check_url(&url("http://127.0.0.1:9001/")).is_err());
        assert!(e.check_url(&url("http://169.254.169.254/latest/meta-data")).is_err(), "cloud metadata");
        assert!(e.check_url(&url("ftp://api.example.com/")).is_err());
        assert!(e.check_url(&url("file:///etc/passwd")).is_err());
        assert!(rules(&[]).check_url(&url("https://api.example.com/")).is_err(), "no rules: deny");
        assert!(Egress::Open.check_url(&url("http://127.0.0.1:1/")).is_ok());
    }

    #[test]
    fn names_reach_public_addresses_only_unless_a_rule_names_the_address() {
        let e = rules(&["internal.example.com", "10.0.0.5"]);
        for private in ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1"] {
            assert!(!e.address_allowed(private.parse().expect("ip")), "{private}");
            assert!(Egress::Open.address_allowed(private.parse().expect("ip")));
        }
        assert!(!e.address_allowed("10.0.0.5".parse().expect("ip")), "a name never reaches a private address");
        assert!(e.check_url(&url("http://10.0.0.5/")).is_ok(), "the address written, as a rule names it");
        assert!(e.address_allowed("93.184.216.34".parse().expect("ip")));
        assert!(e.address_allowed("2606:2800:220:1::1".parse().expect("ip")));
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule() {
        for bad in ["", "exa mple.com", "host:notaport", "host:70000", "*.", "http://x.com", "[::1"] {
            let e = Egress::parse(&[bad.to_string()]).expect_err(bad);
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        assert!(Egress::parse(&["[::1]:8080".into(), "*.example.com".into(), "1.2.3.4".into()]).is_ok());
    }
}
