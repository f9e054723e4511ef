//! Backups (issue 17): an app moved from one host to another with `export` and `import` —
//! here from a host on SQLite to a host on PostgreSQL, under another name. What it serves
//! afterwards is what it served before: its rows (a password hash hidden from the API
//! included: its users log in again), its secret (tokens it signed still verify), its token
//! blacklist (a logged-out token stays refused), its versions (rollback works) and its ids
//! (new rows come after the imported ones). The export shows no secret value, and opens only
//! with its key.

use fitz_tests::multi::{TestHost, drop_pg, fresh_pg};
use serde_json::{Value, json};

const SECRET: &str = "backup-secret-0123456789abcdef0123456789abcdef";

fn notes() -> String {
    std::fs::read_to_string(fitz_tests::repo_root().join("examples/notes/notes.fitz")).expect("notes example")
}

async fn login(host: &TestHost, app: &str, email: &str, password: &str) -> String {
    let r = host.post(app, "/login", None, &json!({ "email": email, "password": password })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["token"].as_str().expect("token").to_string()
}

async fn exported(host: &TestHost, app: &str, key: &str) -> (u16, Value) {
    let r = host.send(host.client.get(format!("{}/_fitz/apps/{app}/export", host.base)).bearer_auth(fitz_tests::multi::TOKEN).header("x-fitz-export-key", key)).await;
    (r.status, r.body)
}

async fn import(host: &TestHost, app: &str, key: &str, export: &Value) -> fitz_tests::server::Response {
    host.send(host.client.post(format!("{}/_fitz/apps/{app}/import", host.base)).bearer_auth(fitz_tests::multi::TOKEN).header("x-fitz-export-key", key).json(export)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_moves_between_hosts_whole() {
    let dir = std::env::temp_dir().join(format!("fitz-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let from = TestHost::start(&dir.join("from"), None).await;
    assert_eq!(from.set_secret("notes", "JWT_SECRET", SECRET).await.status, 200);
    assert_eq!(from.deploy("notes", &notes()).await.status, 200);
    let v2 = notes() + "\n@get(\"/version\")\nfn version() -> Int => 2\n";
    assert_eq!(from.deploy("notes", &v2).await.body["version"], json!(2));
    let setup = from.post("notes", "/setup", None, &json!({ "email": "ada@x.io", "name": "Ada O'Neil \"admin\"", "password": "correct horse" })).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let admin = login(&from, "notes", "ada@x.io", "correct horse").await;
    for (title, body) in [("first", "é 名 \\u0001"), ("second", "")] {
        let r = from.post("notes", "/notes", Some(&admin), &json!({ "title": title, "body": body })).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let revoked = login(&from, "notes", "ada@x.io", "correct horse").await;
    assert_eq!(from.post("notes", "/auth/logout", Some(&revoked), &json!({})).await.status, 200);
    let notes_before = from.get("notes", "/notes", Some(&admin)).await.body;
    let me_before = from.get("notes", "/me", Some(&admin)).await.body;

    let key = fitz_host::multi::sealing::new_key();
    let (status, export) = exported(&from, "notes", &key).await;
    assert_eq!(status, 200, "{export}");
    assert!(!export.to_string().contains(SECRET), "the export shows no secret value");
    from.stop().await;

    let pg = format!("fitz_backup_{}", std::process::id());
    let url = fresh_pg(&pg).await;
    let to = TestHost::start(&dir.join("to"), Some(&url)).await;
    let wrong = import(&to, "moved", &fitz_host::multi::sealing::new_key(), &export).await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(wrong.text.contains("export key"), "{}", wrong.text);
    let r = import(&to, "moved", &key, &export).await;
    assert_eq!((r.status, &r.body["version"]), (200, &json!(2)), "{}", r.text);

    // The same answers, the same token, the same users and the same blacklist.
    assert_eq!(to.get("moved", "/notes", Some(&admin)).await.body, notes_before, "rows, and the secret that signed the token");
    assert_eq!(to.get("moved", "/me", Some(&admin)).await.body, me_before);
    let refused = to.get("moved", "/me", Some(&revoked)).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({ "error": "token revoked" })));
    let again = login(&to, "moved", "ada@x.io", "correct horse").await;
    let r = to.post("moved", "/notes", Some(&again), &json!({ "title": "third", "body": "after the move" })).await;
    assert_eq!((r.status, &r.body["id"]), (200, &json!(3)), "new ids follow the imported ones: {}", r.text);
    assert_eq!(to.get("moved", "/version", None).await.body, json!(2));
    assert_eq!(to.operator(reqwest::Method::POST, "/apps/moved/rollback", None).await.body["version"], json!(1), "its versions came along");
    assert_eq!(to.get("moved", "/version", None).await.status, 404);
    assert_eq!(import(&to, "moved", &key, &export).await.status, 409, "an app of that name exists");
    to.stop().await;
    drop_pg(&pg).await;
    let _ = std::fs::remove_dir_all(&dir);
}
