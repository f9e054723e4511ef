//! CPU time per `GET /me` of the seed program, without HTTP, on PostgreSQL: the sandboxed path
//! (fresh instance, auth provider with its host calls — jwt.decode, auth.is_blacklisted, the
//! user query — handler, JSON) against the same work written directly with sqlx and
//! jsonwebtoken, in one run on one thread. Thread CPU time (not wall time, which the database
//! round trips dominate) divided by the number of requests.
//! `cargo bench -p fitz-host --bench me_cpu` (needs PostgreSQL on 127.0.0.1:5432).

use std::hint::black_box;

use fitz_host::db::Database;
use fitz_host::runtime::Runtime;
use fitz_host::runtime::app::{Limits, TopLevelOutput, load};
use fitz_host::runtime::engine::Allocation;
use fitz_host::runtime::invoke::{Arg, Call, call};
use fitz_host::runtime::state::AppContext;
use sqlx::Row;

const SECRET: &str = "bench-secret-0123456789abcdef0123456789abcdef";
const N: u32 = 4000;

/// Nanoseconds this thread has run.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok().and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok())).unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let admin = Database::connect("postgres://postgres@127.0.0.1:5432/postgres").await.expect("PostgreSQL");
        let _ = admin.execute("DROP DATABASE IF EXISTS fitz_me_cpu WITH (FORCE)").await;
        admin.execute("CREATE DATABASE fitz_me_cpu").await.expect("create");
        let db = Database::connect("postgres://postgres@127.0.0.1:5432/fitz_me_cpu").await.expect("db");

        let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed/auth.fitz")).expect("seed");
        let artifact = fitz_compiler::compile(&source, "auth.fitz").expect("compiles");
        let runtime = Runtime::new(Allocation::Pooling { instances: 16, max_memory: 64 << 20 }).expect("runtime");
        let secrets = [("JWT_SECRET".to_string(), SECRET.to_string())].into_iter().collect();
        let ctx = AppContext { secrets, db: Some(db.clone()), ..AppContext::bare(artifact.manifest) };
        let app = load(&runtime, &artifact.wasm, ctx, Limits::default(), TopLevelOutput::Log).await.expect("loads");
        let app = std::sync::Arc::new(app);
        db.execute("INSERT INTO users (email, name, role, password_hash) VALUES ('ada@x.io', 'Ada', 'admin', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA')")
            .await
            .expect("user");
        let exp = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() + 3600).to_string();
        let claims = vec![("sub".into(), "ada@x.io".into()), ("role".into(), "admin".into()), ("jti".into(), "j-1".into()), ("exp".into(), exp)];
        let token = fitz_host::host_fns::jwt::encode(&claims, SECRET, "HS256", fitz_host::host_fns::jwt::DEFAULT_TTL_SECONDS, 0).expect("token");
        let headers = vec![("host".to_string(), "127.0.0.1".to_string()), ("authorization".to_string(), format!("Bearer {token}"))];
        let me = app.manifest.routes.iter().position(|r| r.path == "/me").expect("/me");

        let sandboxed = || async {
            let reply = call(&app, Call { route: me, args: vec![Arg::Injected], headers: headers.clone(), acting: None, request: None, wrap: 0, hub: None }).await.expect("reply");
            assert_eq!(reply.status, 200);
            black_box(reply.body.into_bytes());
        };
        // The same connection handling as the host's (a lease per query, no pings), so the
        // difference is the sandbox alone.
        let native = || async {
            let raw = headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str()).expect("header");
            let token = raw.split(' ').nth(1).expect("token");
            let claims = fitz_host::host_fns::jwt::decode(token, SECRET, "HS256").expect("claims");
            let jti = claims.iter().find(|(k, _)| k == "jti").map(|(_, v)| v.clone()).expect("jti");
            let sub = claims.iter().find(|(k, _)| k == "sub").map(|(_, v)| v.clone()).expect("sub");
            let revoked = db
                .leased(async |c| sqlx::query("SELECT 1 FROM fitz_token_blacklist WHERE jti = $1 AND expires_at > $2").bind(&jti).bind(0i64).fetch_optional(c).await)
                .await;
            assert!(revoked.expect("query").is_none());
            let row = db
                .leased(async |c| sqlx::query("SELECT id, email, name, role, password_hash FROM users WHERE email = $1 LIMIT 1").bind(&sub).fetch_one(c).await)
                .await
                .expect("user");
            let body = serde_json::json!({
                "id": row.get::<i64, _>(0), "email": row.get::<String, _>(1), "name": row.get::<String, _>(2),
                "role": row.get::<String, _>(3), "password_hash": row.get::<String, _>(4),
            });
            black_box(serde_json::to_vec(&body).expect("json"));
        };
        // The blacklist table exists once the app has checked a token.
        sandboxed().await;
        // ME_CPU_ONLY=sandboxed|native runs one side (for strace or perf).
        let only = std::env::var("ME_CPU_ONLY").unwrap_or_default();
        for round in 0..3 {
            let t0 = thread_cpu_ns();
            for _ in 0..N {
                if only != "native" {
                    sandboxed().await;
                }
            }
            let t1 = thread_cpu_ns();
            for _ in 0..N {
                if only != "sandboxed" {
                    native().await;
                }
            }
            let t2 = thread_cpu_ns();
            let (s, n) = ((t1 - t0) as f64 / f64::from(N) / 1000.0, (t2 - t1) as f64 / f64::from(N) / 1000.0);
            println!("round {round}: CPU per GET /me: sandboxed {s:.1} µs, native {n:.1} µs, overhead {:.1} µs ({:.2}x)", s - n, s / n);
        }
        db.close().await;
        let _ = admin.execute("DROP DATABASE IF EXISTS fitz_me_cpu WITH (FORCE)").await;
    });
}
