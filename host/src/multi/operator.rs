//! The operator API, under `/_fitz/` on the host's own name, authenticated by the operator
//! token (`Authorization: Bearer …`, compared in constant time). Every answer is JSON; every
//! refusal is `{"error": "…"}` with a status that says what kind.
//!
//! | method and path | does |
//! |---|---|
//! | `GET /_fitz/apps` | list apps |
//! | `GET /_fitz/apps/{app}` | inspect one |
//! | `POST /_fitz/apps/{app}` (body: the `.wasm`) | deploy a version |
//! | `POST /_fitz/apps/{app}/rollback` | serve the previous version |
//! | `DELETE /_fitz/apps/{app}` | remove, keeping its namespace (`?purge=true`: and its data) |
//! | `POST /_fitz/apps/{app}/restore` (body: `{"namespace": …}`, optional) | serve a removed app again |
//! | `GET /_fitz/removed` | removed apps whose namespaces are kept or were purged |
//! | `DELETE /_fitz/removed/{namespace}` | purge a kept namespace |
//! | `POST /_fitz/secrets/rotate-key` | seal every secret value again under the current key |
//! | `GET /_fitz/apps/{app}/export` (`x-fitz-export-key`) | the app's versions, secrets, data |
//! | `POST /_fitz/apps/{app}/import` (`x-fitz-export-key`, body: an export) | create the app from it |
//! | `PUT /_fitz/apps/{app}/secrets/{NAME}` (body: the value) | set a secret |
//! | `DELETE /_fitz/apps/{app}/secrets/{NAME}` | unset it |
//! | `PUT /_fitz/apps/{app}/limits` (JSON) | set limits |

use std::sync::atomic::Ordering;

use axum::extract::Request;
use axum::response::Response;
use http::{Method, header};
use serde_json::json;

use super::Host;
use super::registry::TenantLimits;
use crate::http::{error, json_response};

/// Largest secret value or limits document.
const SMALL_BODY: usize = 64 << 10;
/// Time an operator's upload (a module of up to 16 MiB) may take.
const OPERATOR_BODY_TIME: std::time::Duration = std::time::Duration::from_secs(120);

fn authorized(host: &Host, req: &Request) -> bool {
    let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else { return false };
    let (a, b) = (given.as_bytes(), host.config.operator_token.as_bytes());
    // Constant time in the token's content (the length is not secret).
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The whole body, or a 413 that also closes the connection: past a bound the rest of the body
/// is not read, so the connection cannot carry another request, and a client must not reuse it.
async fn body(req: Request, limit: usize) -> Result<Vec<u8>, Response> {
    crate::http::read_limited(req.into_body(), limit, OPERATOR_BODY_TIME).await.map_err(|why| {
        let mut res = match why {
            crate::http::Unread::TimedOut => error(408, "the request body did not arrive in time"),
            _ => error(413, &format!("the request body is larger than the limit of {limit} bytes")),
        };
        res.headers_mut().insert(header::CONNECTION, http::HeaderValue::from_static("close"));
        res
    })
}

fn deploy_error(e: super::deploy::DeployError) -> Response {
    error(e.status(), &e.to_string())
}

pub async fn handle(host: &Host, req: Request) -> Response {
    if !authorized(host, &req) {
        return error(401, "operator token required (Authorization: Bearer <FITZ_OPERATOR_TOKEN>)");
    }
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_string();
    let purge = req.uri().query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "purge" && (v == "true" || v == "1")));
    let parts: Vec<&str> = path.split('/').skip(2).collect();
    match (&method, parts.as_slice()) {
        (&Method::GET, ["apps"]) => list(host).await,
        (&Method::GET, ["apps", app]) => inspect(host, app).await,
        (&Method::POST, ["apps", app]) => {
            let limit = host.config.max_module_bytes;
            let wasm = match body(req, limit).await {
                Ok(w) => w,
                Err(r) => return r,
            };
            match host.deploy(app, &wasm).await {
                Ok(d) => json_response(200, &json!(d)),
                Err(e) => deploy_error(e),
            }
        }
        (&Method::POST, ["apps", app, "rollback"]) => match host.rollback(app).await {
            Ok(d) => json_response(200, &json!(d)),
            Err(e) => deploy_error(e),
        },
        (&Method::DELETE, ["apps", app]) => match host.remove(app, purge).await {
            Ok(ns) => json_response(200, &json!({ "removed": app, "namespace": ns.id, "purged": purge })),
            Err(e) => deploy_error(e),
        },
        (&Method::POST, ["apps", app, "restore"]) => {
            let app = app.to_string();
            let raw = match body(req, SMALL_BODY).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let namespace = match raw.iter().all(u8::is_ascii_whitespace) {
                true => None,
                false => match serde_json::from_slice::<serde_json::Value>(&raw) {
                    Ok(v) => match v.get("namespace").and_then(|n| n.as_str()) {
                        Some(n) => Some(n.to_string()),
                        None => return error(400, "restore: expected {\"namespace\": \"…\"} or no body"),
                    },
                    Err(_) => return error(400, "restore: the body is not JSON"),
                },
            };
            match host.restore(&app, namespace.as_deref()).await {
                Ok(d) => json_response(200, &json!(d)),
                Err(e) => deploy_error(e),
            }
        }
        (&Method::POST, ["secrets", "rotate-key"]) => match rotate_key(host).await {
            Ok((secrets, images)) => json_response(200, &json!({ "resealed": secrets, "images": images, "key": host.store.keys().current_id() })),
            Err(super::store::Reseal::Sealed(e)) => error(409, &e.to_string()),
            Err(super::store::Reseal::Db(e)) => error(503, &format!("the host's store failed: {e}")),
        },
        (&Method::GET, ["apps", app, "export"]) => {
            let Some(key) = export_key(&req) else { return error(400, "export: send the export key in x-fitz-export-key") };
            match host.export(app, &key).await {
                Ok(e) => json_response(200, &json!(e)),
                Err(e) => deploy_error(e),
            }
        }
        (&Method::POST, ["apps", app, "import"]) => {
            let app = app.to_string();
            let Some(key) = export_key(&req) else { return error(400, "import: send the export key in x-fitz-export-key") };
            let raw = match body(req, super::backup::IMPORT_BYTES).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let export = match serde_json::from_slice(&raw) {
                Ok(e) => e,
                Err(e) => return error(400, &format!("import: not an export ({})", e.to_string().split(" at line").next().unwrap_or("invalid JSON"))),
            };
            match host.import(&app, export, &key).await {
                Ok(d) => json_response(200, &json!(d)),
                Err(e) => deploy_error(e),
            }
        }
        (&Method::GET, ["removed"]) => match host.store.removed().await {
            Ok(r) => json_response(200, &json!(r)),
            Err(e) => error(503, &format!("the host's store failed: {e}")),
        },
        (&Method::DELETE, ["removed", namespace]) => match host.purge(namespace).await {
            Ok(()) => json_response(200, &json!({ "purged": namespace })),
            Err(e) => deploy_error(e),
        },
        (&Method::PUT, ["apps", app, "secrets", name]) => {
            let (app, name) = (app.to_string(), name.to_string());
            let value = match body(req, SMALL_BODY).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let Ok(value) = String::from_utf8(value) else { return error(400, "a secret's value must be UTF-8 text") };
            let value = value.trim_end_matches(['\n', '\r']);
            let ns = match host.store.namespace_for(&app).await {
                Ok(ns) => ns,
                Err(e) => return error(503, &format!("the host's store failed: {e}")),
            };
            if let Err(e) = host.store.set_secret(&ns.id, &name, value).await {
                return error(503, &format!("the host's store failed: {e}"));
            }
            secrets_changed(host, &app, json!({ "app": app, "secret": name, "set": true })).await
        }
        (&Method::DELETE, ["apps", app, "secrets", name]) => match unset_secret(host, app, name).await {
            Ok(true) => secrets_changed(host, app, json!({ "app": app, "secret": name, "set": false })).await,
            Ok(false) => error(404, &format!("`{app}` has no secret `{name}`")),
            Err(e) => error(503, &format!("the host's store failed: {e}")),
        },
        (&Method::PUT, ["apps", app, "limits"]) => {
            let app = app.to_string();
            let raw = match body(req, SMALL_BODY).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let limits: TenantLimits = match serde_json::from_slice(&raw) {
                Ok(l) => l,
                Err(e) => return error(400, &format!("limits: {}", e.to_string().split(" at line").next().unwrap_or("invalid JSON"))),
            };
            if let Err(e) = limits.check(crate::commands::host::MAX_MEMORY_MIB) {
                return error(400, &format!("limits: {e}"));
            }
            match host.store.app(&app).await {
                Ok(Some(_)) => {}
                Ok(None) => return error(404, &format!("no app named `{app}`")),
                Err(e) => return error(503, &format!("the host's store failed: {e}")),
            }
            let text = serde_json::to_string(&limits).unwrap_or_default();
            if let Err(e) = host.store.set_limits(&app, &text).await {
                return error(503, &format!("the host's store failed: {e}"));
            }
            limits_changed(host, &app, json!({ "app": app, "limits": limits })).await
        }
        _ => error(404, "no such operator endpoint (see `fitz apps --help`)"),
    }
}

fn export_key(req: &Request) -> Option<String> {
    req.headers().get("x-fitz-export-key").and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Seals every stored secret value and image again under the current key.
async fn rotate_key(host: &Host) -> Result<(u64, u64), super::store::Reseal> {
    let secrets = host.store.reseal(|stored| !host.store.keys().is_current(stored)).await?;
    Ok((secrets, host.store.reseal_images().await?))
}

async fn unset_secret(host: &Host, app: &str, name: &str) -> Result<bool, crate::db::DbError> {
    let ns = host.store.namespace_for(app).await?;
    host.store.unset_secret(&ns.id, name).await
}

/// After a secret changed: the current version's top level runs again with it (`rebuild`).
async fn secrets_changed(host: &Host, app: &str, answer: serde_json::Value) -> Response {
    changed(host, app, answer, host.rebuild(app)).await
}

/// After the limits changed: the stored image is loaded again under them (`reload_now`).
async fn limits_changed(host: &Host, app: &str, answer: serde_json::Value) -> Response {
    changed(host, app, answer, host.reload_now(app)).await
}

async fn changed(host: &Host, app: &str, answer: serde_json::Value, apply: impl std::future::Future<Output = Result<(), super::deploy::DeployError>>) -> Response {
    match host.store.app(app).await {
        Ok(Some(_)) => match apply.await {
            Ok(()) => json_response(200, &answer),
            Err(e) => error(e.status(), &format!("saved, but the app could not be reloaded: {e}")),
        },
        // Not deployed yet: the setting waits for the first deploy.
        Ok(None) => json_response(200, &answer),
        Err(e) => error(503, &format!("the host's store failed: {e}")),
    }
}

async fn list(host: &Host) -> Response {
    match host.store.apps().await {
        Ok(rows) => {
            let apps: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({
                        "app": r.name,
                        "version": r.current,
                        "url": format!("http://{}.{}", r.name, host.config.base_domain),
                        "loaded": host.registry.get(&r.name).is_some(),
                        "load_error": host.failures.get(&r.name).map(|f| f.error),
                    })
                })
                .collect();
            json_response(200, &json!(apps))
        }
        Err(e) => error(503, &format!("the host's store failed: {e}")),
    }
}

async fn inspect(host: &Host, app: &str) -> Response {
    let row = match host.store.app(app).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(404, &format!("no app named `{app}`")),
        Err(e) => return error(503, &format!("the host's store failed: {e}")),
    };
    let versions = host.store.versions(&row.namespace.id).await.unwrap_or_default();
    let secrets: Vec<String> = host.store.secret_names(&row.namespace.id).await.unwrap_or_default();
    let limits: TenantLimits = serde_json::from_str(&row.limits).unwrap_or_default();
    let tenant = host.registry.get(app);
    let (routes, crons, deployed_at, served_version) = match &tenant {
        Some(t) => {
            let v = t.served.app.load_full();
            (
                v.manifest.routes.iter().map(|r| json!({ "method": r.method, "path": r.path, "handler": r.handler, "auth": r.auth })).collect::<Vec<_>>(),
                v.manifest.crons.iter().map(|c| json!({ "job": c.name, "schedule": c.expr })).collect::<Vec<_>>(),
                t.deployed_at.load(Ordering::Acquire),
                Some(v.version),
            )
        }
        None => (vec![], vec![], 0, None),
    };
    let load_failure = host.failures.get(app).map(|f| {
        json!({
            "error": f.error,
            "generation": f.generation,
            "attempts": f.attempts,
            "retry_in_ms": f.retry_at.saturating_duration_since(std::time::Instant::now()).as_millis() as u64,
        })
    });
    json_response(
        200,
        &json!({
            "app": app,
            "namespace": row.namespace.id,
            "version": row.current,
            "serving": served_version,
            "versions": versions.iter().map(|(v, at)| json!({ "version": v, "deployed_at": at })).collect::<Vec<_>>(),
            "routes": routes,
            "crons": crons,
            "limits": limits,
            "secrets": secrets,
            "last_deploy": row.updated_at,
            "loaded_at": deployed_at,
            "load_failure": load_failure,
        }),
    )
}
