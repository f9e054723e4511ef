//! The operator CLI: `fitz deploy`, `fitz apps …` and `fitz secrets …` talk to a running
//! `fitz host` over its operator API, with the token from `FITZ_OPERATOR_TOKEN`.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

pub const DEFAULT_URL: &str = "http://127.0.0.1:3000";

/// Where the host is: the flag, else `FITZ_HOST_URL`, else the local default.
pub fn host_url(to: Option<String>) -> String {
    to.or_else(|| std::env::var("FITZ_HOST_URL").ok()).unwrap_or_else(|| DEFAULT_URL.into()).trim_end_matches('/').to_string()
}

fn token() -> Result<String, u8> {
    match std::env::var("FITZ_OPERATOR_TOKEN") {
        Ok(t) if !t.is_empty() => Ok(t),
        _ => {
            eprintln!("error: set FITZ_OPERATOR_TOKEN to the host's operator token");
            Err(2)
        }
    }
}

/// The CLI's HTTP client: TLS (rustls) trusts the bundled web roots, and also the CA
/// certificate in `FITZ_CA_CERT` (PEM) for a host whose certificate is its operator's own.
fn client() -> Result<reqwest::blocking::Client, String> {
    let mut builder = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(300));
    if let Some(path) = std::env::var_os("FITZ_CA_CERT").filter(|p| !p.is_empty()) {
        let pem = std::fs::read(&path).map_err(|e| format!("cannot read FITZ_CA_CERT {}: {e}", std::path::Path::new(&path).display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| format!("FITZ_CA_CERT {} holds no PEM certificate", std::path::Path::new(&path).display()))?;
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    builder.build().map_err(|e| e.to_string())
}

/// Sends one request; prints the JSON answer (pretty) or the error, returns the exit status.
fn call(method: reqwest::Method, url: &str, body: Option<(Vec<u8>, &'static str)>) -> u8 {
    match send(method, url, body, None) {
        Ok(answer) => {
            super::stdout(&(serde_json::to_string_pretty(&answer).unwrap_or_default() + "\n"));
            0
        }
        Err(code) => code,
    }
}

/// Sends one request with the operator token (and an export key, if given); the JSON answer,
/// or the exit status after printing the error.
fn send(method: reqwest::Method, url: &str, body: Option<(Vec<u8>, &'static str)>, export_key: Option<&str>) -> Result<Value, u8> {
    let token = token()?;
    let client = client().map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(key) = export_key {
        req = req.header("x-fitz-export-key", key);
    }
    if let Some((bytes, content_type)) = body {
        req = req.header("content-type", content_type).body(bytes);
    }
    let res = req.send().map_err(|e| {
        eprintln!("error: cannot reach the host at {url}: {}", e.without_url());
        1u8
    })?;
    let status = res.status();
    let body: Value = res.json().unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        let message = body.get("error").and_then(Value::as_str).map_or_else(|| body.to_string(), str::to_string);
        eprintln!("error: {} ({})", message, status.as_u16());
        Err(1)
    }
}

/// `fitz deploy app.fitz --to URL [--name NAME]`: compile here, upload, serve.
pub fn deploy(file: &Path, to: Option<String>, name: Option<String>) -> u8 {
    let wasm = if file.extension().is_some_and(|e| e == "wasm") {
        match std::fs::read(file) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: cannot read {}: {}", file.display(), super::io_reason(&e));
                return 2;
            }
        }
    } else {
        match super::compile_file(file) {
            Ok(a) => a.wasm,
            Err(code) => return code,
        }
    };
    let name = name.unwrap_or_else(|| super::app_path(file).file_stem().map_or_else(|| "app".into(), |s| s.to_string_lossy().into_owned()));
    call(reqwest::Method::POST, &format!("{}/_fitz/apps/{name}", host_url(to)), Some((wasm, "application/wasm")))
}

pub fn apps_list(to: Option<String>) -> u8 {
    call(reqwest::Method::GET, &format!("{}/_fitz/apps", host_url(to)), None)
}

pub fn apps_inspect(name: &str, to: Option<String>) -> u8 {
    call(reqwest::Method::GET, &format!("{}/_fitz/apps/{name}", host_url(to)), None)
}

pub fn apps_rollback(name: &str, to: Option<String>) -> u8 {
    call(reqwest::Method::POST, &format!("{}/_fitz/apps/{name}/rollback", host_url(to)), None)
}

pub fn apps_remove(name: &str, purge: bool, to: Option<String>) -> u8 {
    let query = if purge { "?purge=true" } else { "" };
    call(reqwest::Method::DELETE, &format!("{}/_fitz/apps/{name}{query}", host_url(to)), None)
}

pub fn apps_restore(name: &str, namespace: Option<String>, to: Option<String>) -> u8 {
    let body = namespace.map(|n| (serde_json::json!({ "namespace": n }).to_string().into_bytes(), "application/json"));
    call(reqwest::Method::POST, &format!("{}/_fitz/apps/{name}/restore", host_url(to)), body)
}

pub fn apps_removed(to: Option<String>) -> u8 {
    call(reqwest::Method::GET, &format!("{}/_fitz/removed", host_url(to)), None)
}

pub fn apps_purge(namespace: &str, to: Option<String>) -> u8 {
    call(reqwest::Method::DELETE, &format!("{}/_fitz/removed/{namespace}", host_url(to)), None)
}

/// `fitz secrets set APP NAME`: the value comes from stdin, so it stays out of shell history.
pub fn secrets_set(app: &str, name: &str, to: Option<String>) -> u8 {
    let mut value = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut value) {
        eprintln!("error: cannot read the value from stdin: {e}");
        return 2;
    }
    call(reqwest::Method::PUT, &format!("{}/_fitz/apps/{app}/secrets/{name}", host_url(to)), Some((value.into_bytes(), "text/plain")))
}

pub fn secrets_unset(app: &str, name: &str, to: Option<String>) -> u8 {
    call(reqwest::Method::DELETE, &format!("{}/_fitz/apps/{app}/secrets/{name}", host_url(to)), None)
}

pub fn secrets_rotate_key(to: Option<String>) -> u8 {
    call(reqwest::Method::POST, &format!("{}/_fitz/secrets/rotate-key", host_url(to)), None)
}

/// `fitz apps export APP`: the export goes to a file, its key (made here, fresh) to stderr.
pub fn apps_export(name: &str, out: Option<std::path::PathBuf>, to: Option<String>) -> u8 {
    let key = crate::multi::sealing::new_key();
    let export = match send(reqwest::Method::GET, &format!("{}/_fitz/apps/{name}/export", host_url(to)), None, Some(&key)) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let out = out.unwrap_or_else(|| std::path::PathBuf::from(format!("{name}.fitzapp")));
    let text = serde_json::to_vec(&export).unwrap_or_default();
    if let Err(e) = crate::files::write_private(&out, &text) {
        eprintln!("error: cannot write {}: {}", out.display(), super::io_reason(&e));
        return 2;
    }
    eprintln!("fitz: exported {name} to {} ({} bytes)", out.display(), text.len());
    eprintln!("fitz: its secrets are sealed under this key, shown once; import with FITZ_EXPORT_KEY={key}");
    0
}

/// `fitz apps import FILE [--name NAME]`, with the export's key in `FITZ_EXPORT_KEY`.
pub fn apps_import(file: &Path, name: Option<String>, to: Option<String>) -> u8 {
    let Some(key) = std::env::var("FITZ_EXPORT_KEY").ok().filter(|k| !k.is_empty()) else {
        eprintln!("error: set FITZ_EXPORT_KEY to the key `fitz apps export` printed");
        return 2;
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {}", file.display(), super::io_reason(&e));
            return 2;
        }
    };
    let exported = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| v.get("app").and_then(Value::as_str).map(str::to_string));
    let Some(name) = name.or(exported) else {
        eprintln!("error: {} is not an export of `fitz apps export`", file.display());
        return 2;
    };
    match send(reqwest::Method::POST, &format!("{}/_fitz/apps/{name}/import", host_url(to)), Some((bytes, "application/json")), Some(&key)) {
        Ok(answer) => {
            super::stdout(&(serde_json::to_string_pretty(&answer).unwrap_or_default() + "\n"));
            0
        }
        Err(code) => code,
    }
}
