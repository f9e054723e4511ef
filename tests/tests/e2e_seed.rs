//! The seed program, unchanged, served over a real socket on SQLite and on PostgreSQL: the
//! whole auth flow of `../shared/seed/article.txt`. Users are inserted straight into the
//! database with hashes made by argon2-cffi; the app's tokens are checked by PyJWT, and tokens
//! PyJWT signs are accepted by the app.

use fitz_host::runtime::app::Limits;
use fitz_host::runtime::invoke::run_cron;
use fitz_tests::python;
use fitz_tests::server::{Backend, SqlParam, TestApp, logs_text};
use serde_json::json;

const SECRET: &str = "e2e-secret-0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "correct horse battery staple";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

async fn add_user(app: &TestApp, email: &str, role: &str, hash: &str) {
    app.sql(
        "INSERT INTO users (email, name, role, password_hash) VALUES (?, ?, ?, ?)",
        &[SqlParam::Text(email), SqlParam::Text(&email.replace("@x.io", "")), SqlParam::Text(role), SqlParam::Text(hash)],
    )
    .await;
}

async fn login(app: &TestApp, email: &str) -> String {
    let r = app.post("/login", None, &json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(r.status, 200, "login {email}: {}", r.text);
    r.body["token"].as_str().expect("token").to_string()
}

async fn seed_flow(backend: Backend, per_core: Option<usize>) {
    let source = std::fs::read_to_string(fitz_tests::seed_path()).expect("seed");
    let env = [("JWT_SECRET", SECRET)];
    let app = match per_core {
        None => TestApp::start(&source, backend, &env, Limits::default()).await,
        Some(workers) => TestApp::start_per_core(&source, backend, &env, Limits::default(), workers).await,
    };
    let hash = python::argon2_hash(PASSWORD);
    for (email, role) in [("ada@x.io", "admin"), ("eve@x.io", "editor"), ("pat@x.io", "publisher"), ("vic@x.io", "viewer")] {
        add_user(&app, email, role, &hash).await;
    }

    // Login: good, wrong password, unknown user (same 401 body for both).
    let admin = login(&app, "ada@x.io").await;
    let wrong = app.post("/login", None, &json!({ "email": "ada@x.io", "password": "nope" })).await;
    let unknown = app.post("/login", None, &json!({ "email": "nobody@x.io", "password": PASSWORD })).await;
    assert_eq!((wrong.status, &wrong.body), (401, &json!({ "error": "invalid credentials" })));
    assert_eq!((unknown.status, &unknown.body), (401, &json!({ "error": "invalid credentials" })));

    // The app's token, checked by PyJWT: HS256, numeric exp about a day ahead, the claims.
    let claims = python::jwt_decode(&admin, SECRET, "HS256").expect("PyJWT accepts the app's token");
    assert_eq!(claims["sub"], "ada@x.io");
    assert_eq!(claims["role"], "admin");
    let exp = claims["exp"].as_i64().expect("exp is a JSON number");
    assert!((exp - now() - 86400).abs() < 120, "exp {exp}");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() == 36));
    assert!(python::jwt_decode(&admin, "another-secret-0123456789abcdef0123456789", "HS256").is_err());

    // /me
    let me = app.get("/me", Some(&admin)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], "ada@x.io");
    assert_eq!(me.body["role"], "admin");
    // No password hash leaves the app (issue 20), whatever the seed's `User` declares.
    assert!(me.body.get("password_hash").is_none() && !me.text.contains("$argon2"), "{}", me.text);

    // /admin/users: admin yes, others 403 with the enriched body.
    let users = app.get("/admin/users", Some(&admin)).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body.as_array().map(Vec::len), Some(4));
    assert!(!users.text.contains("password_hash") && !users.text.contains("$argon2"), "{}", users.text);
    let viewer = login(&app, "vic@x.io").await;
    let editor = login(&app, "eve@x.io").await;
    let publisher = login(&app, "pat@x.io").await;
    for (token, role) in [(&viewer, "viewer"), (&editor, "editor")] {
        let r = app.get("/admin/users", Some(token)).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body, json!({ "error": "forbidden", "current_role": role, "required_roles": ["admin"] }));
    }

    // /articles: editor and publisher yes (stacked @requires are OR), viewer 403.
    for token in [&editor, &publisher] {
        let r = app.post("/articles", Some(token), &json!({ "title": "Hello", "body": "World" })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["id"].as_i64().is_some_and(|id| id > 0), "{}", r.text);
        assert_eq!(r.body["title"], "Hello");
    }
    let r = app.post("/articles", Some(&viewer), &json!({ "title": "Hello", "body": "World" })).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body, json!({ "error": "forbidden", "current_role": "viewer", "required_roles": ["editor", "publisher"] }));
    let ids = app.column("SELECT user_id FROM articles ORDER BY id").await;
    assert_eq!(ids.len(), 2);

    // Missing, malformed, forged and expired tokens.
    let r = app.get("/me", None).await;
    assert_eq!((r.status, &r.body), (401, &json!({ "error": "missing Authorization header" })));
    let r = app.send(app.client.get(app.url("/me")).header("authorization", "Token abc")).await;
    assert_eq!((r.status, &r.body), (401, &json!({ "error": "expected 'Bearer <token>'" })));
    let r = app.get("/me", Some("not-a-jwt")).await;
    assert_eq!(r.status, 401);
    let forged = python::jwt_encode(&json!({ "sub": "ada@x.io", "role": "admin", "jti": "f", "exp": now() + 600 }), "forged-secret-0123456789abcdef0123456789ab", "HS256");
    let r = app.get("/me", Some(&forged)).await;
    assert_eq!((r.status, &r.body), (401, &json!({ "error": "invalid token signature" })));
    let expired = python::jwt_encode(&json!({ "sub": "ada@x.io", "role": "admin", "jti": "e", "exp": now() - 3600 }), SECRET, "HS256");
    let r = app.get("/me", Some(&expired)).await;
    assert_eq!((r.status, &r.body), (401, &json!({ "error": "token expired" })));

    // A token PyJWT signs with the app's secret is accepted.
    let foreign = python::jwt_encode(&json!({ "sub": "vic@x.io", "role": "viewer", "jti": "py-1", "exp": now() + 600 }), SECRET, "HS256");
    let r = app.get("/me", Some(&foreign)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "vic@x.io");

    // Logout, then the same token is revoked; another token of the same user still works.
    let second = login(&app, "ada@x.io").await;
    let r = app.post("/auth/logout", Some(&admin), &json!({})).await;
    assert_eq!((r.status, &r.body), (200, &json!({ "ok": true })));
    let r = app.get("/me", Some(&admin)).await;
    assert_eq!((r.status, &r.body), (401, &json!({ "error": "token revoked" })));
    assert_eq!(app.get("/me", Some(&second)).await.status, 200);

    // cleanup_blacklist removes exactly the expired rows.
    app.sql("INSERT INTO fitz_token_blacklist (jti, expires_at) VALUES (?, ?)", &[SqlParam::Text("old-1"), SqlParam::Int(now() - 10)]).await;
    app.sql("INSERT INTO fitz_token_blacklist (jti, expires_at) VALUES (?, ?)", &[SqlParam::Text("old-2"), SqlParam::Int(now() - 86400)]).await;
    app.sql("INSERT INTO fitz_token_blacklist (jti, expires_at) VALUES (?, ?)", &[SqlParam::Text("live"), SqlParam::Int(now() + 3600)]).await;
    let version = app.served().app.load_full();
    let job = version.manifest.crons.iter().position(|c| c.name == "cleanup_blacklist").expect("cron");
    run_cron(&version, job, None).await.expect("cleanup runs");
    let mut left = app.column("SELECT jti FROM fitz_token_blacklist").await;
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"live".to_string()));
    // The logged-out token is still revoked after cleanup.
    assert_eq!(app.get("/me", Some(&admin)).await.status, 401);

    // Nothing sensitive reached the log.
    let logs = logs_text();
    for secret in [SECRET, PASSWORD, admin.as_str(), second.as_str(), hash.as_str()] {
        assert!(!logs.contains(secret), "the log contains a secret, password, hash or token");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_end_to_end_on_sqlite() {
    seed_flow(Backend::Sqlite, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_end_to_end_on_postgres() {
    seed_flow(Backend::Postgres, None).await;
}

/// As `fitz run` serves it: two worker threads, each leasing its own connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn seed_end_to_end_on_postgres_per_core() {
    seed_flow(Backend::Postgres, Some(2)).await;
}
