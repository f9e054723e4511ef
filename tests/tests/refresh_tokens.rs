//! Refresh tokens as an attacker meets them, on SQLite and PostgreSQL: rotation, a replay
//! after rotation (the family revoked, its access tokens refused), a race of concurrent
//! refreshes (one pair minted), the grace-window retry, an expired family, forged and
//! truncated tokens, logout, what the database keeps (no token), and a token of another app
//! under the multi-tenant host.

use std::time::Duration;

use fitz_host::runtime::app::Limits;
use fitz_tests::multi::TestHost;
use fitz_tests::python;
use fitz_tests::server::{Backend, TestApp};
use serde_json::{Value, json};

const SECRET: &str = "refresh-test-secret-that-is-long-enough-for-hs256";

const APP: &str = r#"
type Who { sub: Str, sid: Str }
type Login { name: Str }
type RefreshIn { refresh_token: Str }

let KEY = secret("JWT_SECRET")

@auth_provider
async fn check(headers: Map<Str, Str>, db: DbConn) -> Result<Who> {
    let raw = headers.get("authorization")?
    let claims = jwt.decode(raw.replace("Bearer ", ""), KEY.expose())?
    if (auth.is_blacklisted(db, claims["jti"]).await?) {
        return Err("token revoked")
    }
    return Ok(Who { sub: claims["sub"], sid: claims["sid"] })
}

@post("/login")
async fn login(db: DbConn, body: Login) -> Result<TokenPair> {
    return auth.issue(db, { "sub": body.name, "role": "user" }, KEY.expose()).await
}

@post("/refresh")
async fn refresh(db: DbConn, body: RefreshIn) -> TokenPair {
    let pair: TokenPair = match auth.refresh(db, body.refresh_token, KEY.expose()).await {
        Ok(p) => p,
        Err(e) => return 401 { "error": e },
    }
    return pair
}

@post("/logout")
async fn logout(db: DbConn, body: RefreshIn) -> Map<Str, Bool> {
    auth.revoke(db, body.refresh_token).await?
    return { "ok": true }
}

@post("/cleanup")
async fn cleanup(db: DbConn) -> Int {
    return auth.cleanup_expired(db).await?
}

@authenticated
@get("/me")
fn me(user: Who) -> Who => user
"#;

async fn start(backend: Backend, env: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("JWT_SECRET", SECRET)];
    all.extend_from_slice(env);
    TestApp::start(APP, backend, &all, Limits::default()).await
}

async fn login(app: &TestApp, name: &str) -> (String, String) {
    let r = app.post("/login", None, &json!({ "name": name })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900, "the default access lifetime");
    pair(&r.body)
}

fn pair(body: &Value) -> (String, String) {
    (body["access_token"].as_str().expect("access").to_string(), body["refresh_token"].as_str().expect("refresh").to_string())
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    let r = app.post("/refresh", None, &json!({ "refresh_token": token })).await;
    (r.status, r.body)
}

async fn me(app: &TestApp, access: &str) -> u16 {
    app.get("/me", Some(access)).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_replay_and_grace_on_sqlite() {
    rotation_replay_and_grace(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_replay_and_grace_on_postgres() {
    rotation_replay_and_grace(Backend::Postgres).await;
}

async fn rotation_replay_and_grace(backend: Backend) {
    let app = start(backend, &[]).await;
    let (a1, r1) = login(&app, "ada").await;
    assert!(r1.starts_with("fitz_rt_") && r1.len() == 51, "{r1}");
    // The access token is a JWT the independent referee reads: our claims and the family.
    let claims = python::jwt_decode(&a1, SECRET, "HS256").expect("PyJWT verifies it");
    assert_eq!(claims["sub"], "ada");
    let sid = claims["sid"].as_str().expect("a family id").to_string();
    assert!(claims["jti"].is_string() && claims["exp"].is_i64(), "{claims}");
    assert_eq!(me(&app, &a1).await, 200);

    // Rotation: a new pair of the same family; the old access token still lives its life.
    let (status, body) = refresh(&app, &r1).await;
    assert_eq!(status, 200, "{body}");
    let (a2, r2) = pair(&body);
    assert_ne!((&a2, &r2), (&a1, &r1));
    assert_eq!(python::jwt_decode(&a2, SECRET, "HS256").expect("PyJWT")["sid"], sid.as_str());
    assert_eq!(app.get("/me", Some(&a2)).await.body, json!({ "sub": "ada", "sid": sid }));

    // The retry of that refresh (the answer was lost) within the grace window: the same pair.
    let (status, again) = refresh(&app, &r1).await;
    assert_eq!((status, &again), (200, &body), "the same pair again");

    // A replay of a token whose successor has itself been spent is theft: the family goes.
    let (status, body) = refresh(&app, &r2).await;
    assert_eq!(status, 200, "{body}");
    let (a3, r3) = pair(&body);
    let (status, body) = refresh(&app, &r1).await;
    assert_eq!((status, body), (401, json!({ "error": "refresh token reused: the session is revoked" })));
    for access in [&a1, &a2, &a3] {
        assert_eq!(me(&app, access).await, 401, "every access token of the family is refused");
    }
    let (status, body) = refresh(&app, &r3).await;
    assert_eq!((status, body), (401, json!({ "error": "refresh token revoked" })), "the latest token too");

    // Another session of the same user is untouched.
    let (b1, s1) = login(&app, "ada").await;
    assert_eq!(me(&app, &b1).await, 200);
    assert_eq!(refresh(&app, &s1).await.0, 200);

    // The database holds hashes and ciphertexts, never a token.
    let rows = app.column("SELECT token_hash || ' ' || access_jti || ' ' || COALESCE(child_hash, '') || ' ' || COALESCE(sealed, '') FROM fitz_refresh_tokens").await;
    assert!(rows.len() >= 5, "{rows:?}");
    for token in [&r1, &r2, &r3, &s1, &a1, &a2, &a3] {
        let body = token.strip_prefix("fitz_rt_").unwrap_or(token);
        assert!(rows.iter().all(|row| !row.contains(body)), "a token is stored in the clear");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_the_grace_window_revokes_on_sqlite() {
    replay_after_grace(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_the_grace_window_revokes_on_postgres() {
    replay_after_grace(Backend::Postgres).await;
}

async fn replay_after_grace(backend: Backend) {
    let app = start(backend, &[("FITZ_REFRESH_GRACE", "1")]).await;
    let (_, r1) = login(&app, "bob").await;
    let (status, body) = refresh(&app, &r1).await;
    assert_eq!(status, 200);
    let (a2, r2) = pair(&body);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = refresh(&app, &r1).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("refresh token reused: the session is revoked")));
    assert_eq!(me(&app, &a2).await, 401, "the successor's access token is refused");
    assert_eq!(refresh(&app, &r2).await.0, 401, "and its refresh token");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_mint_one_pair_on_sqlite() {
    concurrent_refreshes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_mint_one_pair_on_postgres() {
    concurrent_refreshes(Backend::Postgres).await;
}

async fn concurrent_refreshes(backend: Backend) {
    let app = start(backend, &[]).await;
    for round in 0..5 {
        let (_, r1) = login(&app, &format!("racer{round}")).await;
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (client, url, body) = (app.client.clone(), app.url("/refresh"), json!({ "refresh_token": r1 }));
                tokio::spawn(async move {
                    let r = client.post(url).json(&body).send().await.expect("send");
                    (r.status().as_u16(), r.json::<Value>().await.expect("json"))
                })
            })
            .collect();
        let mut answers = Vec::new();
        for racer in racers {
            answers.push(racer.await.expect("racer"));
        }
        assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
        let first = &answers[0].1;
        assert!(answers.iter().all(|(_, b)| b == first), "every racer gets the one pair that was minted");
        let (a2, r2) = pair(first);
        assert_eq!(me(&app, &a2).await, 200);
        // The family holds the login's token and exactly one successor.
        let sid = python::jwt_decode(&a2, SECRET, "HS256").expect("PyJWT")["sid"].as_str().expect("sid").to_string();
        let count = app.column(&format!("SELECT COUNT(*) FROM fitz_refresh_tokens WHERE family = '{sid}'")).await;
        assert_eq!(count, vec!["2".to_string()], "round {round}");
        assert_eq!(refresh(&app, &r2).await.0, 200, "the winner's token works");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_families_forged_and_truncated_tokens_are_refused() {
    let app = start(Backend::Sqlite, &[("FITZ_REFRESH_TTL", "1")]).await;
    let (_, r1) = login(&app, "eve").await;
    let invalid = json!({ "error": "invalid refresh token" });
    let forged = format!("fitz_rt_{}", "A".repeat(43));
    let long = "x".repeat(100_000);
    for token in [&r1[..r1.len() - 1], &format!("{r1}A"), &forged, "", "fitz_rt_", &r1.replace("fitz_rt_", "fitz_xx_"), &long] {
        let (status, body) = refresh(&app, token).await;
        assert_eq!((status, &body), (401, &invalid), "{:.60}", token);
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = refresh(&app, &r1).await;
    assert_eq!((status, body), (401, json!({ "error": "refresh token expired" })));
    // The cleanup job removes the family (and the blacklist's expired entries, none here).
    let r = app.post("/cleanup", None, &json!({})).await;
    assert_eq!((r.status, r.body), (200, json!(1)));
    assert_eq!(app.column("SELECT COUNT(*) FROM fitz_refresh_tokens").await, vec!["0".to_string()]);
    assert_eq!(refresh(&app, &r1).await.1, invalid, "gone");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_session_on_postgres() {
    let app = start(Backend::Postgres, &[]).await;
    let (a1, r1) = login(&app, "kim").await;
    let (_, body) = refresh(&app, &r1).await;
    let (a2, r2) = pair(&body);
    let r = app.post("/logout", None, &json!({ "refresh_token": r2 })).await;
    assert_eq!((r.status, r.body), (200, json!({ "ok": true })));
    assert_eq!(me(&app, &a2).await, 401);
    assert_eq!(me(&app, &a1).await, 401);
    assert_eq!(refresh(&app, &r2).await.1, json!({ "error": "refresh token revoked" }));
    // Logging out again, or with a token that is none, is no error (RFC 7009 §2.2).
    for token in [r2.as_str(), "nonsense"] {
        assert_eq!(app.post("/logout", None, &json!({ "refresh_token": token })).await.status, 200);
    }
    // Cleanup takes the revoked family; its access tokens stay refused (blacklisted).
    assert_eq!(app.post("/cleanup", None, &json!({})).await.body, json!(1));
    assert_eq!(me(&app, &a2).await, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_app_is_refused_under_the_multi_tenant_host() {
    another_apps_token(None).await;
}

/// On PostgreSQL, each tenant's tables are made and used by its own role, in its schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_app_is_refused_under_the_multi_tenant_host_on_postgres() {
    let name = format!("fitz_refresh_{}", std::process::id());
    let url = fitz_tests::multi::fresh_pg(&name).await;
    another_apps_token(Some(&url)).await;
    fitz_tests::multi::drop_pg(&name).await;
}

async fn another_apps_token(pg: Option<&str>) {
    let dir = std::env::temp_dir().join(format!("fitz-refresh-{}-{:08x}", std::process::id(), rand::random::<u32>()));
    let host = TestHost::start(&dir, pg).await;
    for name in ["one", "two"] {
        assert_eq!(host.set_secret(name, "JWT_SECRET", SECRET).await.status, 200);
        let r = host.deploy(name, APP).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = host.post("one", "/login", None, &json!({ "name": "ada" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access, refresh) = pair(&r.body);
    let r = host.post("two", "/refresh", None, &json!({ "refresh_token": refresh })).await;
    assert_eq!((r.status, r.body), (401, json!({ "error": "invalid refresh token" })), "the other app's database knows no such token");
    // Same secret, so the other app takes the access token's signature: the family is per app.
    let r = host.post("one", "/refresh", None, &json!({ "refresh_token": refresh })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(host.get("one", "/me", Some(&access)).await.status, 200);
    host.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
