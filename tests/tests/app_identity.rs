//! App identity that outlives names (issue 17): a removed app's data never goes to the next
//! app of that name. Before, `shop` removed and an unrelated module deployed as `shop` answered
//! `GET /all` with the first tenant's rows: the schema `app_shop` and the file `shop.db`
//! outlived the app and were adopted silently. Now every app has a namespace of its own; a
//! removed one is kept (restorable with its data, versions and secrets) or purged.

use fitz_tests::multi::{TestHost, drop_pg, fresh_pg};
use serde_json::json;

const TENANT_A: &str = r#"
let NOTE = secret("NOTE")
type Item { id: Int, name: Str }
@post("/items")
async fn add(db: DbConn, item: Item) -> Item {
    return Item.insert(db, item).await?
}
@get("/all")
async fn all(db: DbConn) -> List<Item> {
    return Item.all(db).await?
}
@get("/who")
fn who() -> Str => "a: " + NOTE.expose()
"#;

/// An unrelated module that happens to have a table of the same name.
const TENANT_B: &str = r#"
type Item { id: Int, name: Str }
@get("/all")
async fn all(db: DbConn) -> List<Item> {
    return Item.all(db).await?
}
@get("/who")
fn who() -> Str => "b"
"#;

async fn identity(url: Option<&str>, label: &str) {
    let dir = std::env::temp_dir().join(format!("fitz-identity-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let host = TestHost::start(&dir.join("one"), url).await;
    assert_eq!(host.set_secret("shop", "NOTE", "kept").await.status, 200);
    assert_eq!(host.deploy("shop", TENANT_A).await.status, 200);
    let r = host.post("shop", "/items", None, &json!({ "id": 0, "name": "a's row" })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Removed (kept), then a newcomer of the same name: none of A's rows, secrets or versions.
    let removed = host.operator(reqwest::Method::DELETE, "/apps/shop", None).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.body["namespace"], json!("shop"));
    let r = host.deploy("shop", TENANT_B).await;
    assert_eq!((r.status, &r.body["version"]), (200, &json!(1)), "{}", r.text);
    assert_eq!(host.get("shop", "/all", None).await.body, json!([]), "the newcomer sees none of the removed app's data");
    let inspect = host.operator(reqwest::Method::GET, "/apps/shop", None).await;
    assert_eq!((&inspect.body["namespace"], &inspect.body["secrets"]), (&json!("shop.1"), &json!([])), "{}", inspect.text);

    // A second host on the same store follows the new identity, not the old data.
    if url.is_some() {
        let other = TestHost::start(&dir.join("two"), url).await;
        assert_eq!(other.get("shop", "/all", None).await.body, json!([]));
        assert_eq!(other.get("shop", "/who", None).await.body, json!("b"));
        other.stop().await;
    }

    // The newcomer purged: its data goes with it. Restoring brings A back whole.
    let purged = host.operator(reqwest::Method::DELETE, "/apps/shop?purge=true", None).await;
    assert_eq!((purged.status, &purged.body["namespace"], &purged.body["purged"]), (200, &json!("shop.1"), &json!(true)), "{}", purged.text);
    let removed = host.operator(reqwest::Method::GET, "/removed", None).await.body;
    let listed: Vec<(String, bool)> = removed.as_array().expect("list").iter().map(|r| (r["namespace"].as_str().unwrap_or("").to_string(), r["purged"] == json!(true))).collect();
    assert!(listed.contains(&("shop".into(), false)) && listed.contains(&("shop.1".into(), true)), "{removed}");
    let restored = host.operator(reqwest::Method::POST, "/apps/shop/restore", None).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(host.get("shop", "/all", None).await.body, json!([{ "id": 1, "name": "a's row" }]));
    assert_eq!(host.get("shop", "/who", None).await.body, json!("a: kept"), "its secrets came back too");
    let again = host.operator(reqwest::Method::POST, "/apps/shop/restore", None).await;
    assert_eq!(again.status, 409, "an app of that name exists: {}", again.text);

    // Removed again and purged from the list of kept namespaces: nothing left to restore, and
    // the next newcomer starts empty in a namespace numbered past all of them.
    assert_eq!(host.operator(reqwest::Method::DELETE, "/apps/shop", None).await.status, 200);
    assert_eq!(host.operator(reqwest::Method::DELETE, "/removed/shop", None).await.status, 200);
    assert_eq!(host.operator(reqwest::Method::POST, "/apps/shop/restore", None).await.status, 404);
    let r = host.deploy("shop", TENANT_A).await;
    assert_eq!(r.status, 400, "A's secret belongs to A's namespace, not to the newcomer: {}", r.text);
    assert_eq!(host.deploy("shop", TENANT_B).await.status, 200, "deploy after a purge");
    let inspect = host.operator(reqwest::Method::GET, "/apps/shop", None).await;
    assert_eq!(inspect.body["namespace"], json!("shop.2"), "{}", inspect.text);
    assert_eq!(host.get("shop", "/all", None).await.body, json!([]));
    host.stop().await;
    if url.is_none() {
        let files: Vec<String> =
            std::fs::read_dir(dir.join("one/apps")).expect("apps dir").filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|f| f.ends_with(".db")).collect();
        assert!(!files.iter().any(|f| f == "shop.db" || f == "shop.1.db"), "purged namespaces leave no file: {files:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_apps_data_never_goes_to_the_next_app_of_its_name_on_sqlite() {
    identity(None, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_apps_data_never_goes_to_the_next_app_of_its_name_on_postgres() {
    let name = format!("fitz_identity_{}", std::process::id());
    let url = fresh_pg(&name).await;
    identity(Some(&url), "pg").await;
    drop_pg(&name).await;
}

/// Data a host from before namespaces left behind when it removed an app (it kept the data
/// and forgot the app): recorded as a removed app at the next start, so the next app of that
/// name does not adopt it either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_an_older_host_forgot_is_not_adopted() {
    let dir = std::env::temp_dir().join(format!("fitz-identity-{}-orphan", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("apps")).expect("dir");
    let db = fitz_host::db::Database::connect(&format!("sqlite:{}", dir.join("apps/shop.db").display())).await.expect("open");
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)").await.expect("create");
    db.execute("INSERT INTO items (name) VALUES ('a forgotten row')").await.expect("insert");
    db.close().await;

    let host = TestHost::start(&dir, None).await;
    let removed = host.operator(reqwest::Method::GET, "/removed", None).await.body;
    assert_eq!(removed[0]["namespace"], json!("shop"), "{removed}");
    assert_eq!(host.deploy("shop", TENANT_B).await.status, 200);
    assert_eq!(host.get("shop", "/all", None).await.body, json!([]));
    assert_eq!(host.operator(reqwest::Method::GET, "/apps/shop", None).await.body["namespace"], json!("shop.1"));
    assert_eq!(host.operator(reqwest::Method::POST, "/apps/shop/restore", None).await.status, 409);
    host.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
