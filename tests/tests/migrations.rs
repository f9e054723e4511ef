//! Migrations everywhere, atomically (issue 17). `fitz run` restarted on an existing database
//! migrates as a deploy does; Fitz types are compared, not only storage types; defaults are
//! bound values; SQLite reads no missing column as a string; hosts deploying one app at once
//! take turns instead of failing on each other's `ALTER TABLE`.

use fitz_tests::multi::{TestHost, drop_pg, fresh_pg};
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const V1: &str = r#"
type Item { id: Int, name: Str, rank: Int, key: Str }
@post("/items")
async fn add(db: DbConn, item: Item) -> Item {
    return Item.insert(db, item).await?
}
@get("/items")
async fn all(db: DbConn) -> List<Item> {
    return Item.all(db).await?
}
"#;

/// V1 with an owner (nullable, searched by) and a required note whose default has a quote.
const V2: &str = r#"
type Item { id: Int, name: Str, rank: Int, key: Str, owner: Str?, note: Str = "O'Brien's \"x\"" }
@post("/items")
async fn add(db: DbConn, item: Item) -> Item {
    return Item.insert(db, item).await?
}
@get("/items")
async fn all(db: DbConn) -> List<Item> {
    return Item.all(db).await?
}
@get("/owned?by={by}")
async fn owned(db: DbConn, by: Str) -> Int {
    return Item.where(fn(i) => i.owner == by).count(db).await?
}
"#;

async fn url_for(backend: Backend, name: &str) -> (String, Option<String>) {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("fitz-migrations-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("dir");
            (format!("sqlite:{}", dir.join("app.db").display()), None)
        }
        Backend::Postgres => {
            let db = format!("fitz_migrations_{}_{name}", std::process::id());
            (fresh_pg(&db).await, Some(db))
        }
    }
}

async fn restart_migrates_as_a_deploy(backend: Backend) {
    let (url, pg) = url_for(backend, &format!("{backend:?}").to_lowercase()).await;
    let v1 = TestApp::start_at(V1, &url, &[]).await.expect("v1 loads");
    for name in ["a", "b"] {
        let r = v1.post("/items", None, &json!({ "id": 0, "name": name, "rank": 1, "key": "k" })).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    v1.stop().await;

    // Restarted with V2: the new columns are added, old rows get null and the bound default.
    let v2 = TestApp::start_at(V2, &url, &[]).await.expect("v2 migrates");
    let all = v2.get("/items", None).await;
    assert_eq!(all.status, 200, "{}", all.text);
    for item in all.body.as_array().expect("list") {
        assert_eq!(item["owner"], json!(null), "{item}");
        assert_eq!(item["note"], json!("O'Brien's \"x\""), "{item}");
    }
    // Before, SQLite read a missing `owner` column as the string "owner": this matched every row.
    assert_eq!(v2.get("/owned?by=owner", None).await.body, json!(0));
    v2.stop().await;

    // Types compared as Fitz sees them: the same storage type, another meaning, is refused.
    for (change, from, to) in [("rank: DateTime", "Int", "DateTime"), ("key: Uuid", "Str", "Uuid"), ("rank: Bool", "Int", "Bool")] {
        let field = change.split(':').next().expect("field");
        let changed = V2.replacen(&format!("{field}: {from}"), change, 1);
        let refused = TestApp::start_at(&changed, &url, &[]).await.err().unwrap_or_else(|| panic!("{change} was accepted on {backend:?}"));
        assert!(refused.contains("the tables cannot be migrated") && refused.contains(&format!("column `items.{field}` would change type")), "{change}: {refused}");
        // SQLite stores all three pairs alike: only the recorded Fitz types tell them apart.
        assert!(backend == Backend::Postgres || refused.contains(&format!("from {from} to {to}")), "{refused}");
    }
    // A required column dropped from the type: refused with the same words as a deploy.
    let dropped = V2.replace("key: Str, ", "");
    let refused = TestApp::start_at(&dropped, &url, &[]).await.err().expect("dropping a required column is refused");
    assert!(refused.contains("column `items.key` is required in the database but missing"), "{refused}");
    // And the app still starts as it was.
    let again = TestApp::start_at(V2, &url, &[]).await.expect("v2 again");
    assert_eq!(again.get("/items", None).await.body.as_array().map(Vec::len), Some(2));
    again.stop().await;
    if let Some(db) = pg {
        drop_pg(&db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_app_migrates_as_a_deploy_on_sqlite() {
    restart_migrates_as_a_deploy(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_app_migrates_as_a_deploy_on_postgres() {
    restart_migrates_as_a_deploy(Backend::Postgres).await;
}

/// The same deploy sent to two hosts on one PostgreSQL at once, six rounds, each adding
/// columns: before, about one round in three failed with `duplicate_column` (42701).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_deploying_one_app_at_once_take_turns() {
    let name = format!("fitz_migrate_race_{}", std::process::id());
    let url = fresh_pg(&name).await;
    let dir = std::env::temp_dir().join(format!("fitz-migrate-race-{}", std::process::id()));
    let (a, b) = (TestHost::start(&dir.join("a"), Some(&url)).await, TestHost::start(&dir.join("b"), Some(&url)).await);
    let mut fields = String::new();
    for round in 0..6 {
        fields += &format!(", c{round}: Int?, d{round}: Str = \"r{round}\"");
        let source =
            format!("type Item {{ id: Int, name: Str{fields} }}\n@get(\"/n\")\nasync fn n(db: DbConn) -> Int {{\n    return Item.where(fn(i) => i.id > 0).count(db).await?\n}}\n");
        let (ra, rb) = tokio::join!(a.deploy("race", &source), b.deploy("race", &source));
        assert_eq!((ra.status, rb.status), (200, 200), "round {round}: {} / {}", ra.text, rb.text);
        assert_ne!(ra.body["version"], rb.body["version"], "each deploy is its own version");
    }
    let versions = a.operator(reqwest::Method::GET, "/apps/race", None).await;
    assert_eq!(versions.status, 200, "{}", versions.text);
    a.stop().await;
    b.stop().await;
    drop_pg(&name).await;
}
