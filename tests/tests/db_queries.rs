//! Every ORM form run for real against SQLite and PostgreSQL through the app, with the
//! answers Fitz's semantics give: case-sensitive text search (`%` and `_` literal),
//! null-safe equality, euclidean `%`, `is_in` with an empty list, order, limit and offset,
//! insert with an assigned id, update and delete.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::{Value, json};

const APP: &str = r#"
type Task { id: Int, title: Str, owner: Str?, priority: Int, done: Bool, score: Float }

@post("/tasks")
async fn add(db: DbConn, task: Task) -> Task {
    return Task.insert(db, task).await?
}

@get("/contains?s={s}")
async fn contains(db: DbConn, s: Str) -> Int {
    return Task.where(fn(t) => t.title.contains(s)).count(db).await?
}

@get("/starts?s={s}")
async fn starts(db: DbConn, s: Str) -> Int {
    return Task.where(fn(t) => t.title.starts_with(s)).count(db).await?
}

@get("/ends?s={s}")
async fn ends(db: DbConn, s: Str) -> Int {
    return Task.where(fn(t) => t.title.ends_with(s)).count(db).await?
}

@get("/unowned")
async fn unowned(db: DbConn) -> Int {
    return Task.where(fn(t) => t.owner.is_null()).count(db).await?
}

@get("/owned_by?o={o}")
async fn owned_by(db: DbConn, o: Str?) -> Int {
    return Task.where(fn(t) => t.owner == o).count(db).await?
}

@get("/not_owned_by?o={o}")
async fn not_owned_by(db: DbConn, o: Str?) -> Int {
    return Task.where(fn(t) => t.owner != o).count(db).await?
}

@get("/modulo?m={m}&r={r}")
async fn modulo(db: DbConn, m: Int, r: Int) -> List<Int> {
    let rows = Task.where(fn(t) => t.priority % m == r).order_by(fn(t) => t.id).all(db).await?
    return rows.map(fn(t) => t.id)
}

@get("/in_list")
async fn in_list(db: DbConn) -> Int {
    return Task.where(fn(t) => t.priority.is_in([1, 3, 5])).count(db).await?
}

@get("/in_empty")
async fn in_empty(db: DbConn) -> Int {
    let none: List<Int> = []
    return Task.where(fn(t) => t.priority.is_in(none)).count(db).await?
}

@get("/arith?x={x}")
async fn arith(db: DbConn, x: Int) -> Int {
    return Task.where(fn(t) => t.priority * 2 + 1 > x and not t.done).count(db).await?
}

@get("/top?n={n}")
async fn top(db: DbConn, n: Int) -> List<Str> {
    let rows = Task.where(fn(t) => t.score >= 0.0).order_by(fn(t) => t.priority, ascending: false).limit(n).all(db).await?
    return rows.map(fn(t) => t.title)
}

@get("/page?n={n}&k={k}")
async fn page(db: DbConn, n: Int, k: Int) -> List<Int> {
    let rows = Task.where(fn(t) => t.id > 0).order_by(fn(t) => t.id).limit(n).offset(k).all(db).await?
    return rows.map(fn(t) => t.id)
}

@get("/tasks/{id}")
async fn one(db: DbConn, id: Int) -> Task {
    return match Task.where(fn(t) => t.id == id).first(db).await {
        Ok(t) => t,
        Err(e) => return 404 { "error": e },
    }
}

@post("/finish/{p}")
async fn finish(db: DbConn, p: Int) -> Int {
    return Task.where(fn(t) => t.priority >= p).update(db, { "done": true, "score": 9.5 }).await?
}

@delete("/below/{p}")
async fn drop_below(db: DbConn, p: Int) -> Int {
    return Task.where(fn(t) => t.priority < p).delete(db).await?
}

@get("/all")
async fn everything(db: DbConn) -> List<Task> {
    return Task.all(db).await?
}
"#;

fn task(title: &str, owner: Option<&str>, priority: i64, score: f64) -> Value {
    json!({ "id": 0, "title": title, "owner": owner, "priority": priority, "done": false, "score": score })
}

async fn get(app: &TestApp, path: &str) -> Value {
    let r = app.get(path, None).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body
}

async fn queries(backend: Backend) {
    let app = TestApp::start(APP, backend, &[], Limits::default()).await;
    let rows = [
        task("Apple", Some("ana"), 5, 1.5),
        task("apple pie", None, -3, 2.0),
        task("Pineapple", Some("bo"), 3, 0.5),
        task("100%_real", Some("ana"), 1, -1.0),
        task("grape", None, 0, 3.25),
        task("Ápple ünïcode", Some("cy"), -7, 4.0),
    ];
    for (i, row) in rows.iter().enumerate() {
        let r = app.post("/tasks", None, row).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["id"], json!(i as i64 + 1), "ids are assigned by the database");
        assert_eq!(r.body["title"], row["title"]);
        assert_eq!(r.body["owner"], row["owner"]);
    }
    // Case-sensitive search; `%` and `_` are literal.
    assert_eq!(get(&app, "/contains?s=pple").await, json!(4));
    assert_eq!(get(&app, "/contains?s=Apple").await, json!(1));
    assert_eq!(get(&app, "/contains?s=%25_").await, json!(1));
    assert_eq!(get(&app, "/contains?s=_").await, json!(1));
    assert_eq!(get(&app, "/contains?s=").await, json!(6));
    assert_eq!(get(&app, "/starts?s=app").await, json!(1));
    assert_eq!(get(&app, "/starts?s=%25").await, json!(0));
    assert_eq!(get(&app, "/starts?s=%C3%81p").await, json!(1));
    assert_eq!(get(&app, "/ends?s=apple").await, json!(1));
    assert_eq!(get(&app, "/ends?s=").await, json!(6));
    assert_eq!(get(&app, "/ends?s=xxgrape").await, json!(0));
    // Nulls: `==` and `!=` with a nullable side are null-safe, as in Fitz.
    assert_eq!(get(&app, "/unowned").await, json!(2));
    assert_eq!(get(&app, "/owned_by?o=ana").await, json!(2));
    assert_eq!(get(&app, "/owned_by").await, json!(2));
    assert_eq!(get(&app, "/not_owned_by").await, json!(4));
    assert_eq!(get(&app, "/not_owned_by?o=ana").await, json!(4));
    // Euclidean `%`: -3 % 4 == 1 and -7 % 4 == 1, as in the guest.
    assert_eq!(get(&app, "/modulo?m=4&r=1").await, json!([1, 2, 4, 6]));
    assert_eq!(get(&app, "/modulo?m=-4&r=1").await, json!([1, 2, 4, 6]));
    assert_eq!(get(&app, "/modulo?m=2&r=1").await, json!([1, 2, 3, 4, 6]));
    // Lists and arithmetic.
    assert_eq!(get(&app, "/in_list").await, json!(3));
    assert_eq!(get(&app, "/in_empty").await, json!(0));
    assert_eq!(get(&app, "/arith?x=2").await, json!(3));
    // Order, limit, offset.
    assert_eq!(get(&app, "/top?n=3").await, json!(["Apple", "Pineapple", "grape"]));
    assert_eq!(get(&app, "/page?n=2&k=3").await, json!([4, 5]));
    assert_eq!(get(&app, "/page?n=10&k=4").await, json!([5, 6]));
    // first: a row, or the guest's Err.
    let t = get(&app, "/tasks/3").await;
    assert_eq!(t, json!({ "id": 3, "title": "Pineapple", "owner": "bo", "priority": 3, "done": false, "score": 0.5 }));
    let missing = app.get("/tasks/99", None).await;
    assert_eq!((missing.status, missing.body), (404, json!({ "error": "not found" })));
    // update and a windowed delete.
    let r = app.post("/finish/3", None, &json!({})).await;
    assert_eq!(r.body, json!(2));
    assert_eq!(get(&app, "/tasks/1").await["done"], json!(true));
    assert_eq!(get(&app, "/tasks/1").await["score"], json!(9.5));
    assert_eq!(get(&app, "/arith?x=-100").await, json!(4));
    let r = app.send(app.client.delete(app.url("/below/0"))).await;
    assert_eq!(r.body, json!(2), "{}", r.text);
    let left: Vec<i64> = get(&app, "/all").await.as_array().expect("list").iter().map(|t| t["id"].as_i64().expect("id")).collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, vec![1, 3, 4, 5]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orm_queries_on_sqlite() {
    queries(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orm_queries_on_postgres() {
    queries(Backend::Postgres).await;
}
