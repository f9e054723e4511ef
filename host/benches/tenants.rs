//! The multi-tenant host's costs, in one run, in process over loopback (SQLite state):
//! deploy-to-serving latency of the seed program and the first request right after each
//! deploy; the memory one more loaded idle app costs (RSS growth over 1,000 small apps); and
//! request latency with one app loaded against 1,000 apps loaded (requests spread over them).
//! `cargo bench -p fitz-host --bench tenants` (prints its figures).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fitz_host::commands::host::open_host;

const TOKEN: &str = "bench-operator-token-0123456789";
const SMALL: &str = r#"
@get("/hello/{n}")
fn hello(n: Int) -> Map<Str, Int> => { "n": n }
"#;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Minor page faults of the process so far (field 10 of /proc/self/stat).
fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(7).and_then(|v| v.parse().ok()))).unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn load(client: &reqwest::Client, base: &str, apps: &[String], requests: usize, concurrency: usize) -> Vec<Duration> {
    let apps = Arc::new(apps.to_vec());
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, base, apps) = (client.clone(), base.to_string(), apps.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (w..requests).step_by(concurrency) {
                let app = &apps[(i * 7919) % apps.len()];
                let t = Instant::now();
                let r = client.get(format!("{base}/hello/{i}")).header("host", format!("{app}.localhost")).send().await.expect("request");
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
                out.push(t.elapsed());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    all
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("fitz-bench-tenants-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let host = open_host(None, dir.clone(), fitz_host::multi::HostConfig::new("localhost", TOKEN), true).await.expect("host");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = fitz_host::server::start_router(listener, fitz_host::multi::dispatch::router(host.clone()), std::future::pending()).expect("serve");
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
        let deploy = |name: String, wasm: Vec<u8>| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let r = client.post(format!("{base}/_fitz/apps/{name}")).bearer_auth(TOKEN).body(wasm).send().await.expect("deploy");
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
            }
        };

        // Deploy-to-serving of the seed, and the first request after each deploy.
        let seed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed/auth.fitz")).expect("seed");
        let seed_wasm = fitz_compiler::compile(&seed, "auth.fitz").expect("seed compiles").wasm;
        let r = client.put(format!("{base}/_fitz/apps/seed/secrets/JWT_SECRET")).bearer_auth(TOKEN).body("bench-secret-0123456789abcdef0123456789ab").send().await.expect("secret");
        assert_eq!(r.status(), 200);
        let (mut deploys, mut firsts) = (Vec::new(), Vec::new());
        for _ in 0..11 {
            let t = Instant::now();
            deploy("seed".into(), seed_wasm.clone()).await;
            deploys.push(t.elapsed());
            let t = Instant::now();
            let r = client.get(format!("{base}/me")).header("host", "seed.localhost").send().await.expect("first");
            assert_eq!(r.status(), 401);
            firsts.push(t.elapsed());
        }
        deploys.sort();
        firsts.sort();
        println!("seed deploy (call to serving): median {:.1} ms, max {:.1} ms over {} deploys", ms(percentile(&deploys, 0.5)), ms(*deploys.last().expect("some")), deploys.len());
        println!(
            "first request after a deploy (GET /me through the auth provider): median {:.2} ms, max {:.2} ms",
            ms(percentile(&firsts, 0.5)),
            ms(*firsts.last().expect("some"))
        );

        // One small app: latency.
        let small = fitz_compiler::compile(SMALL, "small.fitz").expect("small compiles").wasm;
        deploy("a0".into(), small.clone()).await;
        let _ = load(&client, &base, &["a0".to_string()], 2000, 16).await;
        let f0 = minor_faults();
        let one = load(&client, &base, &["a0".to_string()], 6000, 16).await;
        let faults_one = (minor_faults() - f0) as f64 / 6000.0;

        // A thousand: memory and latency.
        let before = rss_kib();
        let started = Instant::now();
        let mut names = vec!["a0".to_string()];
        for i in 1..1000 {
            let name = format!("a{i}");
            deploy(name.clone(), small.clone()).await;
            names.push(name);
        }
        let took = started.elapsed();
        let after = rss_kib();
        println!(
            "1,000 small apps loaded: RSS {} MiB -> {} MiB, {:.0} KiB per app; 999 deploys took {:.1} s",
            before / 1024,
            after / 1024,
            (after - before) as f64 / 999.0,
            took.as_secs_f64()
        );
        let _ = load(&client, &base, &names, 2000, 16).await;
        let f0 = minor_faults();
        let many = load(&client, &base, &names, 6000, 16).await;
        let faults_many = (minor_faults() - f0) as f64 / 6000.0;
        let warm = rss_kib();
        println!("after requests to every app (each keeps a warm instance slot): RSS {} MiB, {:.0} KiB per app over the one-app host", warm / 1024, (warm - before) as f64 / 999.0);
        let (p50_1, p99_1, p50_n, p99_n) = (percentile(&one, 0.5), percentile(&one, 0.99), percentile(&many, 0.5), percentile(&many, 0.99));
        println!("GET /hello, 16 concurrent clients, 6,000 requests:");
        println!("  1 app loaded:      p50 {:.2} ms, p99 {:.2} ms, {faults_one:.1} page faults per request", ms(p50_1), ms(p99_1));
        println!("  1,000 apps loaded: p50 {:.2} ms, p99 {:.2} ms, {faults_many:.1} page faults per request (spread over all apps)", ms(p50_n), ms(p99_n));
        println!("  p99 ratio 1,000 apps / 1 app: {:.2}x", p99_n.as_secs_f64() / p99_1.as_secs_f64());
        running.shutdown().await.expect("shutdown");
        let _ = std::fs::remove_dir_all(&dir);
    });
}
