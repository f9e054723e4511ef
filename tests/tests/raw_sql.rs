//! Database handles as upstream writes them: `db.connect(url)` answers the app's own database
//! whatever the URL, and `conn.exec`/`conn.query` run raw SQL with `$n` parameters — on
//! SQLite and PostgreSQL alike, inside `db.transaction` too. The attacker's half: an app that
//! runs whatever SQL a client sends it, under `fitz host` with a PostgreSQL role per tenant,
//! tries to leave its schema, change its session or reach the server; every try is refused
//! and the other tenant's rows and the host's store stay out of reach.

use fitz_host::runtime::app::Limits;
use fitz_tests::multi::{TestHost, drop_pg, fresh_pg};
use fitz_tests::server::{Backend, TestApp};
use serde_json::{Value as Json, json};

const APP: &str = r#"
type Note { id: Int, title: Str, owner: Str }

@post("/notes")
async fn add(db: DbConn, n: Note) -> Result<Note> {
    return Note.insert(db, n).await
}

// Upstream's form: a handle from `db.connect`, whatever URL it names.
async fn conn() -> Result<DbConn> {
    let db = db.connect(env_or("DATABASE_URL", "postgres://nobody@nowhere/none")).await?
    return Ok(db)
}

@get("/raw/notes?owner={owner}")
async fn by_owner(owner: Str) -> Result<List<Map<Str, Any>>> {
    let c = conn().await?
    return c.query("SELECT id, title, owner, id * 1.5 AS half, id > 1 AS later FROM notes WHERE owner = $1 ORDER BY id", [owner]).await
}

@post("/raw/rename?id={id}&title={title}")
async fn rename(db: DbConn, id: Int, title: Str) -> Result<Int> {
    return db.exec("UPDATE notes SET title = $1 WHERE id = $2", [title, id]).await
}

// Both writes commit or neither: the raw statements run on the transaction's connection.
@post("/raw/pair?fail={fail}")
async fn pair(db: DbConn, fail: Bool) -> Result<Int> {
    return db.transaction(async fn(tx: DbConn) -> Result<Int> {
        let a = tx.exec("INSERT INTO notes (title, owner) VALUES ($1, $2)", ["first", "pair"]).await?
        let b = tx.exec("INSERT INTO notes (title, owner) VALUES ($1, $2)", ["second", "pair"]).await?
        if fail {
            return Err("changed my mind")
        }
        return Ok(a + b)
    }).await
}

// What the attacker uses: any SQL a client sends.
@post("/raw/run")
async fn run(db: DbConn, body: Map<Str, Str>) -> Result<List<Map<Str, Any>>> {
    return db.query(body["sql"]).await
}
"#;

async fn seed(app_post: impl AsyncFn(&str, Json) -> (u16, Json)) {
    for (title, owner) in [("a", "ann"), ("b", "ann"), ("c", "bob")] {
        let (status, body) = app_post("/notes", json!({"id": 0, "title": title, "owner": owner})).await;
        assert_eq!(status, 200, "{body}");
    }
}

async fn one_database(backend: Backend) {
    let app = TestApp::start(APP, backend, &[], Limits::default()).await;
    seed(async |path: &str, body: Json| {
        let r = app.post(path, None, &body).await;
        (r.status, r.body)
    })
    .await;
    let r = app.get("/raw/notes?owner=ann", None).await;
    assert_eq!(
        r.body,
        json!([
            {"id": 1, "title": "a", "owner": "ann", "half": 1.5, "later": backend_bool(backend, false)},
            {"id": 2, "title": "b", "owner": "ann", "half": 3.0, "later": backend_bool(backend, true)},
        ]),
        "{}",
        r.text
    );
    let r = app.post("/raw/rename?id=2&title=B%27s%20%22quoted%22", None, &json!(null)).await;
    assert_eq!(r.body, json!(1), "{}", r.text);
    let r = app.get("/raw/notes?owner=ann", None).await;
    assert_eq!(r.body[1]["title"], "B's \"quoted\"", "a parameter is a value, never SQL");

    // A transaction's raw writes commit together, or roll back together.
    assert_eq!(app.post("/raw/pair?fail=false", None, &json!(null)).await.body, json!(2));
    assert_eq!(app.post("/raw/pair?fail=true", None, &json!(null)).await.status, 500);
    assert_eq!(app.get("/raw/notes?owner=pair", None).await.body.as_array().map(Vec::len), Some(2));

    // Refusals come back as the statement's `Err`, in words the app may show.
    let run = async |sql: &str| app.post("/raw/run", None, &json!({ "sql": sql })).await;
    let r = run("SELECT * FROM notes WHERE id = $1").await;
    assert_eq!(r.body, json!({"error": "raw SQL takes 1 parameter, and 0 were given"}));
    let r = run("SELEC nonsense").await;
    assert_eq!(r.body, json!({"error": "raw SQL does not parse (line 1, column 1)"}), "{}", r.text);
    let r = run("SELECT * FROM no_such_table").await;
    assert_eq!(r.status, 500);
    assert!(!r.text.contains("no_such_table") || r.text.contains("error"), "{}", r.text);
    app.stop().await;
}

fn backend_bool(backend: Backend, b: bool) -> Json {
    // SQLite has no boolean storage class: a comparison is an integer, as SQLite answers it.
    match backend {
        Backend::Sqlite => json!(i64::from(b)),
        _ => json!(b),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_sql_reads_and_writes_the_apps_rows_on_sqlite() {
    one_database(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_sql_reads_and_writes_the_apps_rows_on_postgres() {
    one_database(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_running_any_sql_stays_in_its_own_schema() {
    let name = format!("fitz_raw_{}", std::process::id());
    let url = fresh_pg(&name).await;
    let dir = std::env::temp_dir().join(format!("fitz-raw-{}", std::process::id()));
    let host = TestHost::start(&dir, Some(&url)).await;
    for app in ["mallory", "victim"] {
        assert_eq!(host.deploy(app, APP).await.status, 200);
        let r = host.post(app, "/notes", None, &json!({"id": 0, "title": format!("{app}'s secret"), "owner": app})).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(host.set_secret("victim", "API_KEY", "hunter2-very-secret").await.status, 200);
    let run = async |sql: &str| host.post("mallory", "/raw/run", None, &json!({ "sql": sql })).await;
    // Its own rows: fine, and the handle's URL named nothing it could use.
    let r = run("SELECT title FROM notes").await;
    assert_eq!(r.body, json!([{"title": "mallory's secret"}]), "{}", r.text);
    let attacks = [
        "SELECT title FROM app_victim.notes",
        "SELECT * FROM fitz_host.secrets",
        "RESET ROLE",
        "SET ROLE postgres",
        "SELECT set_config('role', 'postgres', false)",
        "SELECT set_config('search_path', 'app_victim', false)",
        "SELECT pg_advisory_lock(1)",
        "SELECT rolname FROM pg_roles",
        "SELECT table_schema FROM information_schema.tables",
        "SELECT query_to_xml('select * from app_victim.notes', true, true, '')",
        "SELECT * FROM dblink('dbname=postgres', 'select 1') AS t(a int)",
        "SELECT pg_read_file('/etc/passwd')",
        "COPY notes TO PROGRAM 'id'",
        "CREATE TABLE planted (x int)",
        "SELECT title FROM notes; RESET ROLE",
        "WITH x AS (SELECT title FROM app_victim.notes) SELECT * FROM x",
        "SELECT (SELECT title FROM app_victim.notes LIMIT 1)",
        "INSERT INTO app_victim.notes (title, owner) VALUES ('planted', 'm')",
    ];
    for sql in attacks {
        let r = run(sql).await;
        assert_ne!(r.status, 200, "{sql}: {}", r.text);
        assert!(!r.text.contains("victim's secret") && !r.text.contains("hunter2"), "{sql}: {}", r.text);
    }
    // After all of it: mallory's session is still its own (a query of its rows works, in its
    // role), the victim's rows are untouched, and the host serves both.
    let r = run("SELECT current_user AS who, title FROM notes").await;
    assert_eq!(r.body[0]["title"], "mallory's secret", "{}", r.text);
    assert!(r.body[0]["who"].as_str().is_some_and(|w| w.ends_with("_mallory")), "{}", r.text);
    let r = host.get("victim", "/raw/notes?owner=victim", None).await;
    assert_eq!(r.body, json!([{"id": 1, "title": "victim's secret", "owner": "victim", "half": 1.5, "later": false}]), "{}", r.text);
    host.stop().await;
    drop_pg(&name).await;
}
