//! The real `fitz host` binary in a process of its own, as an operator runs it: its RSS is
//! its own, its stderr is collected, and it can be killed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const TOKEN: &str = "operator-token-for-hostile-tests";

pub struct HostProcess {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
    pub stderr: Arc<Mutex<Vec<String>>>,
    pub client: reqwest::Client,
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl HostProcess {
    /// Starts `fitz host --port 0` with its state in `dir` and waits for its banner.
    pub fn start(dir: PathBuf, env: &[(&str, &str)]) -> HostProcess {
        // FITZ_HOST_BIN runs the same attacks against another build (an earlier commit's).
        let bin = std::env::var("FITZ_HOST_BIN").ok().filter(|b| !b.is_empty()).unwrap_or_else(|| env!("CARGO_BIN_EXE_fitz").to_string());
        let mut cmd = Command::new(bin);
        cmd.args(["host", "--port", "0", "--data"])
            .arg(&dir)
            .env("FITZ_OPERATOR_TOKEN", TOKEN)
            .env("FITZ_LOG", "info")
            .env_remove("DATABASE_URL")
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("fitz host starts");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let keep = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                if let Ok(mut l) = keep.lock() {
                    l.push(line);
                }
            }
        });
        let base = loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no banner from fitz host");
            };
            if let Some(rest) = line.strip_prefix("fitz host: serving on ") {
                break rest.trim().to_string();
            }
        };
        let client = reqwest::Client::builder().pool_max_idle_per_host(32).build().expect("client");
        HostProcess { child, base, dir, stderr: lines, client }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the host process, in bytes.
    pub fn rss(&self) -> u64 {
        rss_of(self.pid())
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn logs(&self) -> Vec<String> {
        self.stderr.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILL and wait, keeping the data directory.
    pub fn kill_keep(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn operator(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>) -> (u16, serde_json::Value) {
        let mut req = self.client.request(method, format!("{}/_fitz{path}", self.base)).bearer_auth(TOKEN).timeout(Duration::from_secs(120));
        if let Some(b) = body {
            req = req.body(b);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let text = res.text().await.unwrap_or_default();
                (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
            }
            Err(e) => (0, serde_json::Value::String(e.to_string())),
        }
    }

    pub async fn deploy(&self, app: &str, wasm: Vec<u8>) -> (u16, serde_json::Value) {
        self.operator(reqwest::Method::POST, &format!("/apps/{app}"), Some(wasm)).await
    }

    /// `GET path` of `app`: status and body text (status 0 when the request itself failed).
    pub async fn get(&self, app: &str, path: &str, timeout: Duration) -> (u16, String) {
        let req = self.client.get(format!("{}{path}", self.base)).header("host", format!("{app}.localhost")).timeout(timeout);
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                (status, res.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).map_or(0, |kib| kib * 1024)
}

/// CPU time (user + system) the process has used, from `/proc/PID/stat`.
pub fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces, in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat; here (after the state) at 11 and 12.
    let total = ticks(11) + ticks(12);
    Duration::from_millis(total * 10)
}

fn pg_admin() -> String {
    std::env::var("FITZ_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh PostgreSQL database for a test (dropped first if a failed run left it); its URL.
pub async fn fresh_pg(name: &str) -> String {
    drop_pg(name).await;
    let admin = fitz_host::db::Database::connect(&pg_admin()).await.expect("PostgreSQL (see .ci/run)");
    admin.execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    admin.close().await;
    match pg_admin().rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => pg_admin(),
    }
}

/// Drops a test's database and the tenant roles hosts made for it (roles are the server's).
pub async fn drop_pg(name: &str) {
    let Ok(admin) = fitz_host::db::Database::connect(&pg_admin()).await else { return };
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    let _ = fitz_host::db::roles::Roles::drop_all(&admin, name).await;
    admin.close().await;
}
