//! A multi-tenant host in process, on SQLite files in a temporary directory or on a fresh
//! PostgreSQL database, served on a free loopback port. Apps are reached with the `Host`
//! header `<app>.localhost`.

use std::sync::Arc;

use fitz_host::commands::host::open_host;
use fitz_host::multi::Host;
use fitz_host::server::{Running, start_router};
use serde_json::Value as Json;

use crate::server::{Response, pg_admin_url};

pub const TOKEN: &str = "operator-token-for-tests-0123456789";
/// The secrets key of every test host (32 bytes, base64).
pub const SECRETS_KEY: &str = "dGVzdC1zZWNyZXRzLWtleS0wMTIzNDU2Nzg5YWJjZGU=";

pub struct TestHost {
    pub host: Arc<Host>,
    pub base: String,
    pub client: reqwest::Client,
    running: Option<Running>,
    follower: Option<tokio::task::JoinHandle<()>>,
    pub dir: std::path::PathBuf,
    pub pg_url: Option<String>,
}

/// A fresh PostgreSQL database for a test; returns its URL.
pub async fn fresh_pg(name: &str) -> String {
    let admin = fitz_host::db::Database::connect(&pg_admin_url()).await.expect("PostgreSQL (see .ci/run)");
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    admin.execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    admin.close().await;
    match pg_admin_url().rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => pg_admin_url(),
    }
}

/// Drops a test's database and the tenant roles a host made for it (roles belong to the
/// server, not to the database).
pub async fn drop_pg(name: &str) {
    if let Ok(admin) = fitz_host::db::Database::connect(&pg_admin_url()).await {
        let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        let _ = fitz_host::db::roles::Roles::drop_all(&admin, name).await;
        admin.close().await;
    }
}

/// Hosts sharing a store share its secrets key, as operators must set it: every test host
/// has this one unless its test sets another.
pub fn with_test_key(config: &mut fitz_host::multi::HostConfig) {
    config.secrets_env.entry("FITZ_SECRETS_KEY".into()).or_insert_with(|| SECRETS_KEY.into());
}

impl TestHost {
    /// Starts a host on `pg_url` (PostgreSQL) or on SQLite files in `dir`.
    pub async fn start(dir: &std::path::Path, pg_url: Option<&str>) -> TestHost {
        Self::start_with(dir, pg_url, fitz_host::multi::HostConfig::new("localhost", TOKEN)).await
    }

    /// `start` with these settings (the default limits of new apps, say).
    pub async fn start_with(dir: &std::path::Path, pg_url: Option<&str>, mut config: fitz_host::multi::HostConfig) -> TestHost {
        crate::server::captured_logs();
        with_test_key(&mut config);
        let host = open_host(pg_url, dir.to_path_buf(), config, true).await.expect("host opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = start_router(listener, fitz_host::multi::dispatch::router(host.clone()), std::future::pending()).expect("serve");
        let follower = fitz_host::multi::sync::follow(host.clone());
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder().pool_max_idle_per_host(16).build().expect("client");
        TestHost { host, base, client, running: Some(running), follower: Some(follower), dir: dir.to_path_buf(), pg_url: pg_url.map(str::to_string) }
    }

    pub async fn stop(mut self) {
        if let Some(f) = self.follower.take() {
            f.abort();
        }
        for name in self.host.registry.names() {
            if let Some(t) = self.host.registry.get(&name) {
                t.stop_crons();
            }
        }
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Response {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Json::Null);
        Response { status, body, text, headers }
    }

    /// Any request: status and body text.
    pub async fn send_raw(&self, req: reqwest::RequestBuilder) -> (u16, String) {
        let r = self.send(req).await;
        (r.status, r.text)
    }

    /// A request to the operator API with the token.
    pub async fn operator(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>) -> Response {
        let mut req = self.client.request(method, format!("{}/_fitz{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.body(b);
        }
        self.send(req).await
    }

    pub async fn deploy_wasm(&self, app: &str, wasm: Vec<u8>) -> Response {
        self.operator(reqwest::Method::POST, &format!("/apps/{app}"), Some(wasm)).await
    }

    pub async fn deploy(&self, app: &str, source: &str) -> Response {
        let wasm = fitz_compiler::compile(source, &format!("{app}.fitz")).unwrap_or_else(|d| panic!("{}", d.render("app", source, false))).wasm;
        self.deploy_wasm(app, wasm).await
    }

    pub async fn set_secret(&self, app: &str, name: &str, value: &str) -> Response {
        self.operator(reqwest::Method::PUT, &format!("/apps/{app}/secrets/{name}"), Some(value.as_bytes().to_vec())).await
    }

    /// A request to an app: `Host: <app>.localhost`.
    pub fn app_request(&self, method: reqwest::Method, app: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).header("host", format!("{app}.localhost"))
    }

    pub async fn get(&self, app: &str, path: &str, token: Option<&str>) -> Response {
        let mut req = self.app_request(reqwest::Method::GET, app, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// Waits until `GET path` of `app` answers `body` here (another host's change followed),
    /// failing with `what` after ten seconds: following is polled every 250 ms, and a loaded
    /// machine may take longer than that to load a module.
    pub async fn wait_for(&self, app: &str, path: &str, body: &Json, what: &str) {
        let started = std::time::Instant::now();
        while self.get(app, path, None).await.body != *body {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "{what}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn post(&self, app: &str, path: &str, token: Option<&str>, body: &Json) -> Response {
        let mut req = self.app_request(reqwest::Method::POST, app, path).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }
}
