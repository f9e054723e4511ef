//! The multi-tenant host: hot swap under load, two tenants of the seed program isolated from
//! each other, hostile tenants next to a well-behaved one, the operator API's refusals,
//! migrations, restarts, and two hosts sharing one PostgreSQL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fitz_tests::multi::{TestHost, drop_pg, fresh_pg};
use fitz_tests::python;
use fitz_tests::server::logs_text;
use reqwest::Method;
use serde_json::json;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-multi-{}-{name}-{:08x}", std::process::id(), rand::random::<u32>()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const VERSION_A: &str = r#"
@get("/which")
fn which() -> Map<Str, Str> => { "answer": "alpha" }
"#;

const VERSION_B: &str = r#"
@get("/which")
fn which() -> Map<Str, Str> => { "answer": "beta" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_under_load_fails_no_request() {
    let host = TestHost::start(&temp("swap"), None).await;
    let wasm_a = fitz_compiler::compile(VERSION_A, "swap.fitz").expect("a").wasm;
    let wasm_b = fitz_compiler::compile(VERSION_B, "swap.fitz").expect("b").wasm;
    let first = host.deploy_wasm("swap", wasm_a.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["version"], 1);

    // The load: four clients, each asking in a loop for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    // Status, the version that answered, and the body, of every request.
    type Seen = Vec<(u16, Option<u64>, String)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let mut loaders = Vec::new();
    for _ in 0..4 {
        let (client, base, stop, seen) = (host.client.clone(), host.base.clone(), stop.clone(), seen.clone());
        loaders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client.get(format!("{base}/which")).header("host", "swap.localhost").send().await;
                let entry = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let version = r.headers().get("x-fitz-version").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
                        (status, version, r.text().await.unwrap_or_default())
                    }
                    Err(e) => (0, None, e.to_string()),
                };
                seen.lock().expect("lock").push(entry);
            }
        }));
    }
    for i in 2..=51u64 {
        let wasm = if i % 2 == 0 { wasm_b.clone() } else { wasm_a.clone() };
        let r = host.deploy_wasm("swap", wasm).await;
        assert_eq!((r.status, r.body["version"].as_u64()), (200, Some(i)), "{}", r.text);
        // The new version serves as soon as the deploy call returns: the very next request.
        let probe = host.get("swap", "/which", None).await;
        let v: Option<u64> = probe.headers.get("x-fitz-version").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        assert_eq!(v, Some(i), "the request after deploy {i} returned was served by another version");
    }
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.await.expect("loader");
    }
    let seen = seen.lock().expect("lock").clone();
    assert!(seen.len() > 200, "the load ran the whole time: {} requests", seen.len());
    for (status, version, body) in &seen {
        assert_eq!(*status, 200, "a request failed during the deploys: {body}");
        let v = version.expect("every answer names its version");
        let expected = if v % 2 == 0 { "beta" } else { "alpha" };
        assert_eq!(body, &format!("{{\"answer\":\"{expected}\"}}"), "version {v} answered with the other version's body");
    }
    host.stop().await;
}

const SECRET_ALPHA: &str = "alpha-secret-0123456789abcdef0123456789abcd";
const SECRET_BETA: &str = "beta-secret-0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "tenant password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_of_the_seed_are_isolated() {
    let pg_name = format!("fitz_multi_{}", std::process::id());
    let url = fresh_pg(&pg_name).await;
    let host = TestHost::start(&temp("tenants"), Some(&url)).await;
    let seed = std::fs::read_to_string(fitz_tests::seed_path()).expect("seed");

    // Deploying before the secret is set is refused, naming it.
    let r = host.deploy("alpha", &seed).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("JWT_SECRET")), "{}", r.text);
    for (app, secret) in [("alpha", SECRET_ALPHA), ("beta", SECRET_BETA)] {
        assert_eq!(host.set_secret(app, "JWT_SECRET", secret).await.status, 200);
        let r = host.deploy(app, &seed).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Users straight into each app's schema.
    let db = fitz_host::db::Database::connect(&url).await.expect("db");
    let hash = python::argon2_hash(PASSWORD);
    for (schema, email, role) in [("app_alpha", "ada@alpha.io", "admin"), ("app_alpha", "al@alpha.io", "viewer"), ("app_beta", "bo@beta.io", "admin")] {
        let fitz_host::db::Pool::Postgres(pool) = &db.pool else { unreachable!() };
        sqlx::query(&format!("INSERT INTO {schema}.users (email, name, role, password_hash) VALUES ($1, $2, $3, $4)"))
            .bind(email)
            .bind(email)
            .bind(role)
            .bind(&hash)
            .execute(pool)
            .await
            .expect("insert");
    }
    let login = |app: &'static str, email: &'static str| {
        let host = &host;
        async move {
            let r = host.post(app, "/login", None, &json!({ "email": email, "password": PASSWORD })).await;
            assert_eq!(r.status, 200, "{app} {email}: {}", r.text);
            r.body["token"].as_str().expect("token").to_string()
        }
    };
    let alpha = login("alpha", "ada@alpha.io").await;
    let beta = login("beta", "bo@beta.io").await;
    // A user of one app is unknown to the other.
    let r = host.post("beta", "/login", None, &json!({ "email": "ada@alpha.io", "password": PASSWORD })).await;
    assert_eq!(r.status, 401);
    // A token from one is rejected by the other (another secret).
    let r = host.get("beta", "/me", Some(&alpha)).await;
    assert_eq!((r.status, &r.body), (401, &json!({ "error": "invalid token signature" })));
    // Neither sees the other's rows.
    let users = host.get("alpha", "/admin/users", Some(&alpha)).await;
    assert_eq!(users.body.as_array().map(Vec::len), Some(2), "{}", users.text);
    let users = host.get("beta", "/admin/users", Some(&beta)).await;
    assert_eq!(users.body.as_array().map(Vec::len), Some(1), "{}", users.text);
    // A logout in one revokes nothing in the other: sign a beta token with beta's secret and
    // alpha's token's jti, log alpha out, and the beta token still works.
    let jti = python::jwt_decode(&alpha, SECRET_ALPHA, "HS256").expect("claims")["jti"].as_str().expect("jti").to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let same_jti = python::jwt_encode(&json!({ "sub": "bo@beta.io", "role": "admin", "jti": jti, "exp": now + 600 }), SECRET_BETA, "HS256");
    assert_eq!(host.post("alpha", "/auth/logout", Some(&alpha), &json!({})).await.status, 200);
    assert_eq!(host.get("alpha", "/me", Some(&alpha)).await.status, 401, "revoked in alpha");
    assert_eq!(host.get("beta", "/me", Some(&same_jti)).await.status, 200, "not in beta");
    assert_eq!(host.get("beta", "/me", Some(&beta)).await.status, 200);
    // Each app's blacklist lives in its own schema.
    let fitz_host::db::Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM app_alpha.fitz_token_blacklist").fetch_one(pool).await.expect("count");
    assert_eq!(n, 1);
    let beta_rows: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM app_beta.fitz_token_blacklist").fetch_optional(pool).await.unwrap_or(Some(0));
    assert_eq!(beta_rows.unwrap_or(0), 0);
    // The operator sees secret names, never values.
    let inspect = host.operator(Method::GET, "/apps/alpha", None).await;
    assert_eq!(inspect.body["secrets"], json!(["JWT_SECRET"]));
    assert!(!inspect.text.contains(SECRET_ALPHA));
    db.close().await;
    host.stop().await;
    drop_pg(&pg_name).await;
}

const GOOD: &str = r#"
@get("/hello/{n}")
fn hello(n: Int) -> Map<Str, Int> => { "n": n }
"#;

const EVIL: &str = r#"
@get("/loop")
fn spin() -> Int {
    let i = 0
    while true {
        i += 1
    }
    return i
}

@get("/bomb")
fn bomb() -> Int {
    let chunks: List<Str> = []
    let s = "0123456789abcdef"
    while true {
        s = s + s
        chunks.push(s)
    }
    return 0
}

fn down(n: Int) -> Int {
    return down(n + 1) + 1
}

@get("/deep")
fn deep() -> Int => down(0)

@get("/hash")
fn hashes() -> Str {
    let h = ""
    for i in 0..20 {
        h = hash.password("flood {i}")
    }
    return h
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tenants_do_not_hurt_a_well_behaved_one() {
    let host = TestHost::start(&temp("hostile"), None).await;
    assert_eq!(host.deploy("good", GOOD).await.status, 200);
    assert_eq!(host.deploy("evil", EVIL).await.status, 200);
    let limits = json!({ "memory_mib": 32, "request_ms": 1500, "concurrency": 4, "body_kib": 64 });
    let r = host.operator(Method::PUT, "/apps/evil/limits", Some(limits.to_string().into_bytes())).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let stop = Arc::new(AtomicBool::new(false));
    // The hostile traffic: loops, memory bombs, deep recursion, hashing floods, and more
    // requests at once than its concurrency allows.
    let mut attackers = Vec::new();
    for k in 0..8 {
        let (client, base, stop) = (host.client.clone(), host.base.clone(), stop.clone());
        attackers.push(tokio::spawn(async move {
            let paths = ["/loop", "/bomb", "/deep", "/hash"];
            let mut statuses = Vec::new();
            let mut i = k;
            while !stop.load(Ordering::Relaxed) {
                let path = paths[i % paths.len()];
                i += 1;
                if let Ok(r) = client.get(format!("{base}{path}")).header("host", "evil.localhost").send().await {
                    statuses.push(r.status().as_u16());
                }
            }
            statuses
        }));
    }
    // The well-behaved tenant under steady load meanwhile.
    let mut good = Vec::new();
    let started = Instant::now();
    let mut n = 0i64;
    while started.elapsed() < Duration::from_secs(6) {
        let r = host.get("good", &format!("/hello/{n}"), None).await;
        good.push((r.status, r.body.clone(), n));
        n += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut evil_statuses = Vec::new();
    for a in attackers {
        evil_statuses.extend(a.await.expect("attacker"));
    }
    assert!(good.len() > 150, "only {} good requests in 6 s: the hostile tenant slowed the good one down", good.len());
    for (status, body, n) in &good {
        assert_eq!((*status, body), (200, &json!({ "n": n })), "a well-behaved request failed");
    }
    assert!(evil_statuses.iter().all(|s| [200, 500, 503].contains(s)), "{evil_statuses:?}");
    assert!(evil_statuses.contains(&503), "the loops and the excess were cut off");
    assert!(evil_statuses.contains(&500), "the bombs and the recursion failed");
    host.stop().await;
}

const ITEMS_V1: &str = r#"
type Item { id: Int, name: Str, qty: Int }
@post("/items")
async fn add(db: DbConn, item: Item) -> Item {
    return Item.insert(db, item).await?
}
@get("/items")
async fn all(db: DbConn) -> List<Item> {
    return Item.all(db).await?
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_refusals_and_migrations() {
    let host = TestHost::start(&temp("operator"), None).await;
    // No token, a wrong one.
    let r = host.send_raw(host.client.get(format!("{}/_fitz/apps", host.base))).await;
    assert_eq!(r.0, 401);
    let r = host.send_raw(host.client.get(format!("{}/_fitz/apps", host.base)).bearer_auth("operator-token-for-tests-0123456788")).await;
    assert_eq!(r.0, 401);
    // Malformed, oversized, importing outside the table, a bad name.
    let r = host.deploy_wasm("junk", b"\0asm\x01\0\0\0not a module".to_vec()).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("not valid WebAssembly")), "{}", r.text);
    // Well past the 16 MiB limit, so the host must keep reading after refusing: a client
    // still sending must get the 413, not a broken pipe.
    let r = host.deploy_wasm("big", vec![0u8; 24 << 20]).await;
    assert_eq!(r.status, 413, "{}", r.text);
    // The unread rest of the body makes the connection unusable; the client is told so, or
    // its next request could go out on a connection the host is closing.
    assert_eq!(r.headers.get("connection").and_then(|v| v.to_str().ok()), Some("close"));
    let mut hostile = fitz_compiler::compile(GOOD, "x.fitz").expect("compiles").wasm;
    let at = hostile.windows(13).position(|w| w == b"hash_password").unwrap_or(0);
    let evil_import = if at > 0 {
        hostile[at..at + 13].copy_from_slice(b"hash_passwerd");
        hostile
    } else {
        // GOOD imports no hashing: rename another import instead.
        let at = hostile.windows(8).position(|w| w == b"fd_write").expect("an import");
        hostile[at..at + 8].copy_from_slice(b"fd_wrote");
        hostile
    };
    let r = host.deploy_wasm("sneaky", evil_import).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("which the host does not provide")), "{}", r.text);
    let r = host.deploy("Bad_Name", GOOD).await;
    assert_eq!(r.status, 400);

    // Migrations: v1, rows, then a nullable column and a defaulted one are added…
    assert_eq!(host.deploy("shop", ITEMS_V1).await.status, 200);
    let r = host.post("shop", "/items", None, &json!({ "id": 0, "name": "pen", "qty": 3 })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v2 = ITEMS_V1.replace("qty: Int }", "qty: Int, note: Str?, unit: Str = \"piece\" }");
    let r = host.deploy("shop", &v2).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = host.get("shop", "/items", None).await;
    assert_eq!(items.body, json!([{ "id": 1, "name": "pen", "qty": 3, "note": null, "unit": "piece" }]), "existing rows get the default");
    // …but destructive changes are refused, naming the column, and v2 keeps serving.
    for (change, column) in [
        (v2.replace(", qty: Int", ""), "items.qty"),
        (v2.replace("qty: Int", "qty: Str"), "items.qty"),
        (v2.replace("name: Str,", "name: Str, sku: Str,"), "items.sku"),
        (v2.replace("note: Str?", "note: Str"), "items.note"),
    ] {
        let r = host.deploy("shop", &change).await;
        assert_eq!(r.status, 409, "{}", r.text);
        assert!(r.body["error"].as_str().is_some_and(|e| e.contains(column)), "{}", r.text);
    }
    assert_eq!(host.get("shop", "/items", None).await.headers.get("x-fitz-version").and_then(|v| v.to_str().ok()), Some("2"));
    // Rollback serves v1 again (the added columns are nullable or defaulted).
    let r = host.operator(Method::POST, "/apps/shop/rollback", None).await;
    assert_eq!((r.status, r.body["version"].as_i64()), (200, Some(1)), "{}", r.text);
    let items = host.get("shop", "/items", None).await;
    assert_eq!(items.body, json!([{ "id": 1, "name": "pen", "qty": 3 }]));
    assert_eq!(host.post("shop", "/items", None, &json!({ "id": 0, "name": "ink", "qty": 1 })).await.status, 200);
    // Inspect and list.
    let r = host.operator(Method::GET, "/apps/shop", None).await;
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["versions"].as_array().map(Vec::len), Some(2));
    let r = host.operator(Method::GET, "/apps", None).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(1));
    // Remove.
    assert_eq!(host.operator(Method::DELETE, "/apps/shop", None).await.status, 200);
    assert_eq!(host.get("shop", "/items", None).await.status, 404);
    assert_eq!(host.operator(Method::DELETE, "/apps/shop", None).await.status, 404);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_two_hosts_on_one_postgres() {
    let pg_name = format!("fitz_multi_hosts_{}", std::process::id());
    let url = fresh_pg(&pg_name).await;
    let first = TestHost::start(&temp("h1"), Some(&url)).await;
    assert_eq!(first.deploy("swap", VERSION_A).await.status, 200);
    first.stop().await;

    // A restarted host serves every app again.
    let again = TestHost::start(&temp("h1b"), Some(&url)).await;
    let r = again.get("swap", "/which", None).await;
    assert_eq!((r.status, &r.body), (200, &json!({ "answer": "alpha" })));

    // A second host on the same database: a deploy through one is served by the other.
    let other = TestHost::start(&temp("h2"), Some(&url)).await;
    assert_eq!(other.get("swap", "/which", None).await.body, json!({ "answer": "alpha" }));
    let r = again.deploy("swap", VERSION_B).await;
    assert_eq!(r.status, 200);
    other.wait_for("swap", "/which", &json!({ "answer": "beta" }), "the other host did not follow the deploy").await;
    // And a removal.
    assert_eq!(other.operator(Method::DELETE, "/apps/swap", None).await.status, 200);
    let removed = Instant::now();
    while again.get("swap", "/which", None).await.status != 404 {
        assert!(removed.elapsed() < Duration::from_secs(10), "the removal did not reach the other host");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    again.stop().await;
    other.stop().await;
    drop_pg(&pg_name).await;
}

/// The follower acts on rows it read before a change made through this host: an app deployed
/// since is not taken for one removed through another host, and one removed since is not
/// loaded again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_a_stale_read_of_the_store_undoes_nothing() {
    let host = TestHost::start(&temp("stale-read"), None).await;
    assert_eq!(host.deploy("gone", VERSION_A).await.status, 200);
    let before = host.host.store.apps().await.expect("apps");
    assert_eq!(before.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["gone"]);
    assert_eq!(host.deploy("late", VERSION_A).await.status, 200);
    assert_eq!(host.operator(Method::DELETE, "/apps/gone", None).await.status, 200);
    fitz_host::multi::sync::bring_in_line(&host.host, &before).await;
    assert_eq!(host.get("late", "/which", None).await.status, 200, "the app deployed after the read was dropped");
    assert_eq!(host.get("gone", "/which", None).await.status, 404, "the app removed after the read came back");
    assert!(!logs_text().contains("cannot load"), "a removal since the read is not a failure to load");
    host.stop().await;
}
