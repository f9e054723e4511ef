//! Issue 16, item 3, as the attacker ran it: hundreds of logins whose clients reset the
//! connection a moment after sending, against a stored hash that asks for the most memory a
//! stored hash may (64 MiB). Before, the hashing permit lived in the request's future while
//! `spawn_blocking` kept hashing after the reset, so ~24 hashes ran at once (threads 7 → 31,
//! RSS 51 → 513 MiB). Now the permits travel into the blocking work: however many requests
//! are cancelled, no more hashes run at once than there are permits, which the host's thread
//! count and RSS show from the outside. Both `fitz run` and `fitz host` are tried.

mod kit;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kit::process::{HostProcess, rss_of, temp_dir};

/// A stored hash at the cost limit: 64 MiB, one pass.
fn costly_hash() -> String {
    let params = Params::new(64 * 1024, 1, 1, None).expect("params");
    let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0c2FsdA").expect("salt");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"the real one", &salt).expect("hash").to_string()
}

fn program() -> String {
    format!("type Creds {{ password: Str }}\nlet STORED = \"{}\"\n@post(\"/login\")\nfn login(body: Creds) -> Bool => hash.verify(body.password, STORED)\n", costly_hash())
}

fn threads_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Sends `count` logins over raw sockets to `addr` (with `host` as the Host header), each
/// reset (SO_LINGER 0) 15 ms after its request was written, eight clients at a time, while the
/// process's threads and RSS are sampled. Returns their peaks.
fn cancelled_logins(pid: u32, addr: &str, host: &str, count: usize) -> (u64, u64) {
    let body = r#"{"password": "a guess"}"#;
    let request = format!("POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    let stop = Arc::new(AtomicBool::new(false));
    let (threads, rss) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let sampler = {
        let (stop, threads, rss) = (stop.clone(), threads.clone(), rss.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                threads.fetch_max(threads_of(pid), Ordering::Relaxed);
                rss.fetch_max(rss_of(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (addr, request) = (addr.to_string(), request.clone());
            std::thread::spawn(move || {
                for _ in (c..count).step_by(8) {
                    let mut s = TcpStream::connect(&addr).expect("connect");
                    s.write_all(request.as_bytes()).expect("send");
                    std::thread::sleep(Duration::from_millis(15));
                    // Linger 0: close sends a reset, as a client that gives up does.
                    let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
                    drop(s);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    // The hashes that were started finish within a few seconds; keep sampling meanwhile.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    (threads.load(Ordering::Relaxed), rss.load(Ordering::Relaxed))
}

/// A real login after the storm: the permits came back.
fn login_answers(addr: &str, host: &str) -> u16 {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let res = client.post(format!("http://{addr}/login")).header("host", host).json(&serde_json::json!({"password": "the real one"})).send().expect("login");
    let status = res.status().as_u16();
    assert_eq!(res.text().expect("body"), "true", "the right password verifies");
    status
}

/// What the storm may add to a host at rest: a hash's memory and a blocking thread for each
/// permit, in each runtime that may have hashed, and some room for the allocator.
fn assert_bounded(what: &str, rest: (u64, u64), peak: (u64, u64), permits: u64, runtimes: u64) {
    let (threads, rss) = (peak.0.saturating_sub(rest.0), peak.1.saturating_sub(rest.1));
    eprintln!("{what}: threads {} → {} (+{threads}), RSS {} → {} MiB", rest.0, peak.0, rest.1 >> 20, peak.1 >> 20);
    assert!(threads <= permits * runtimes + 2, "{what}: {threads} more threads with {permits} hashing permits");
    let bound = (permits + 2) * (64 << 20);
    assert!(rss <= bound, "{what}: RSS grew by {} MiB, more than {} MiB for {permits} permits", rss >> 20, bound >> 20);
}

fn cores() -> u64 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u64)
}

struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn cancelled_logins_hash_no_more_at_once_than_permits_under_fitz_run() {
    let dir = temp_dir("cancel-run");
    let app = dir.join("login.fitz");
    std::fs::write(&app, program()).expect("write");
    // FITZ_HOST_BIN runs the same storm against another build (an earlier commit's).
    let bin = std::env::var("FITZ_HOST_BIN").ok().filter(|b| !b.is_empty()).unwrap_or_else(|| env!("CARGO_BIN_EXE_fitz").to_string());
    let mut child = Command::new(bin)
        .args(["run", app.to_str().expect("path"), "--port", "0"])
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("fitz run");
    let stderr = child.stderr.take().expect("stderr");
    let run = Run(child);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let addr = loop {
        let line = lines.next().expect("a banner").expect("stderr");
        if let Some(rest) = line.split(" on http://").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let pid = run.0.id();
    // At rest, after one login on each serving thread has warmed what hashing needs.
    for _ in 0..cores() {
        assert_eq!(login_answers(&addr, "localhost"), 200);
    }
    let rest = (threads_of(pid), rss_of(pid));
    let started = Instant::now();
    let peak = cancelled_logins(pid, &addr, "localhost", 320);
    eprintln!("320 cancelled logins in {:?}", started.elapsed());
    // `fitz run` has one permit per core, and a blocking pool per serving thread.
    assert_bounded("fitz run", rest, peak, cores(), cores());
    assert_eq!(login_answers(&addr, "localhost"), 200, "served after the storm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_logins_hash_no_more_at_once_than_permits_under_fitz_host() {
    let host = HostProcess::start(temp_dir("cancel-host"), &[]);
    let wasm = fitz_compiler::compile(&program(), "login.fitz").expect("compiles").wasm;
    assert_eq!(host.deploy("login", wasm).await.0, 200);
    let addr = host.base.trim_start_matches("http://").to_string();
    let pid = host.pid();
    let check = addr.clone();
    tokio::task::spawn_blocking(move || login_answers(&check, "login.localhost")).await.expect("login");
    let rest = (threads_of(pid), rss_of(pid));
    let storm = addr.clone();
    let peak = tokio::task::spawn_blocking(move || cancelled_logins(pid, &storm, "login.localhost", 320)).await.expect("storm");
    // A tenant hashes one at a time on a multi-tenant host, in one runtime.
    assert_bounded("fitz host", rest, peak, 1, 1);
    let status = tokio::task::spawn_blocking(move || login_answers(&addr, "login.localhost")).await.expect("login");
    assert_eq!(status, 200, "served after the storm");
    host.kill();
}
