//! Requests to a multi-tenant host: `<app>.<base-domain>` goes to that app; the base domain
//! itself (or an address) answers the operator API under `/_fitz/` and `/healthz`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use http::header;

use super::Host;
use crate::http::{error, serve_app};

pub fn router(host: Arc<Host>) -> Router {
    Router::new().fallback(dispatch).with_state(host)
}

/// The app a host name names: the one label before `.<base>`.
pub fn app_of<'a>(hostname: &'a str, base: &str) -> Option<&'a str> {
    let label = hostname.strip_suffix(base)?.strip_suffix('.')?;
    (!label.is_empty() && !label.contains('.')).then_some(label)
}

fn hostname(req: &Request) -> String {
    let raw = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).or_else(|| req.uri().host()).unwrap_or("");
    // Strip a port (not inside an IPv6 literal's brackets).
    let host = match raw.rfind(':') {
        Some(i) if !raw[i..].contains(']') => &raw[..i],
        _ => raw,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

async fn dispatch(State(host): State<Arc<Host>>, req: Request) -> Response {
    if let Some(refused) = crate::http::host_header_problem(&req) {
        return refused;
    }
    let name = hostname(&req);
    match app_of(&name, &host.config.base_domain) {
        Some(app) => match host.registry.get(app) {
            Some(tenant) => serve_app(&tenant.served, req).await,
            None if host.starting.load(std::sync::atomic::Ordering::Acquire) => {
                let mut res = error(503, "the host is starting; try again shortly");
                res.headers_mut().insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
                res
            }
            None => error(404, &format!("no app named `{app}` on this host")),
        },
        None => {
            let path = req.uri().path();
            if path == "/_fitz" || path.starts_with("/_fitz/") {
                super::operator::handle(&host, req).await
            } else if path == "/healthz" {
                crate::http::json_response(200, &serde_json::json!({ "status": "ok", "apps": host.registry.len() }))
            } else {
                error(404, &format!("unknown host `{name}`: apps are served at <app>.{}", host.config.base_domain))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn app_names_from_host_names() {
        assert_eq!(super::app_of("shop.localhost", "localhost"), Some("shop"));
        assert_eq!(super::app_of("shop.apps.example.com", "apps.example.com"), Some("shop"));
        assert_eq!(super::app_of("localhost", "localhost"), None);
        assert_eq!(super::app_of("a.b.localhost", "localhost"), None);
        assert_eq!(super::app_of("evil-localhost", "localhost"), None);
        assert_eq!(super::app_of(".localhost", "localhost"), None);
    }
}
