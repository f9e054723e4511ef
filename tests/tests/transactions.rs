//! `db.transaction(async fn(tx) { … })` on both databases, as upstream writes it: `Ok` commits,
//! `Err` rolls back, and so does a run that ends inside the transaction — a runtime error, a
//! loop past the deadline — because the host closes a connection whose transaction was never
//! finished. Concurrent transfers keep the total; a second transaction inside the first is
//! refused; and under a tenant's role (PostgreSQL), the transaction's statements keep it.

use std::time::Duration;

use fitz_host::runtime::app::Limits;
use fitz_tests::multi::{TestHost, drop_pg, fresh_pg};
use fitz_tests::server::{Backend, TestApp};
use serde_json::{Value, json};

const APP: &str = r#"
@table("accounts")
type Account {
    @primary id: Int = 0
    name: Str
    balance: Int
}

type Move { from: Int, to: Int, amount: Int, fail: Str = "" }

@post("/open")
async fn open(db: DbConn, a: Account) -> Account {
    return Account.insert(db, a).await?
}

@get("/accounts")
async fn accounts(db: DbConn) -> List<Account> {
    return Account.where(fn(a) => a.id > 0).order_by(fn(a) => a.id).all(db).await
}

@post("/transfer")
async fn transfer(db: DbConn, m: Move) -> Map<Str, Str> {
    let r = db.transaction(async fn(tx: DbConn) -> Result<Int> {
        let from = Account.where(fn(a) => a.id == m.from).first(tx).await?
        Account.where(fn(a) => a.id == m.from).update(tx, {"balance": from.balance - m.amount}).await?
        if (m.fail == "trap") {
            let xs = [1]
            print(xs[from.balance + 5])
        }
        if (m.fail == "loop") {
            while (true) {
            }
        }
        let to = Account.where(fn(a) => a.id == m.to).first(tx).await?
        Account.where(fn(a) => a.id == m.to).update(tx, {"balance": to.balance + m.amount}).await?
        if (from.balance - m.amount < 0) {
            return Err("insufficient funds")
        }
        return Ok(from.balance - m.amount)
    }).await
    return match r {
        Ok(left) => ({"left": "{left}"}),
        Err(e) => ({"error": e}),
    }
}

@post("/slow")
async fn slow(db: DbConn) -> Str {
    let r = db.transaction(async fn(tx: DbConn) -> Result<Str> {
        Account.where(fn(a) => a.id == 1).update(tx, {"name": "held"}).await?
        sleep(1500).await
        return Ok("slow done")
    }).await
    return r?
}

@post("/nested")
async fn nested(db: DbConn) -> Str {
    let r = db.transaction(async fn(tx: DbConn) -> Result<Str> {
        let inner = tx.transaction(async fn(t2: DbConn) -> Result<Str> {
            return Ok("inner")
        }).await
        return match inner {
            Ok(v) => Ok(v),
            Err(e) => Ok("refused: {e}"),
        }
    }).await
    return r?
}
"#;

async fn balances(app: &TestApp) -> Vec<i64> {
    let r = app.get("/accounts", None).await;
    r.body.as_array().expect("list").iter().map(|a| a["balance"].as_i64().expect("balance")).collect()
}

async fn transfer(app: &TestApp, from: i64, to: i64, amount: i64, fail: &str) -> (u16, Value) {
    let r = app.post("/transfer", None, &json!({ "from": from, "to": to, "amount": amount, "fail": fail })).await;
    (r.status, r.body)
}

async fn start(backend: Backend) -> TestApp {
    start_with(backend, Duration::from_secs(2)).await
}

async fn start_with(backend: Backend, deadline: Duration) -> TestApp {
    let limits = Limits { request_deadline: deadline, ..Limits::default() };
    let app = TestApp::start(APP, backend, &[], limits).await;
    for (name, balance) in [("ada", 100), ("bob", 50)] {
        assert_eq!(app.post("/open", None, &json!({ "name": name, "balance": balance })).await.status, 200);
    }
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_rollback_and_abandoned_transactions_on_sqlite() {
    commit_rollback_and_abandoned(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_rollback_and_abandoned_transactions_on_postgres() {
    commit_rollback_and_abandoned(Backend::Postgres).await;
}

async fn commit_rollback_and_abandoned(backend: Backend) {
    let app = start(backend).await;
    assert_eq!(transfer(&app, 1, 2, 30, "").await, (200, json!({ "left": "70" })));
    assert_eq!(balances(&app).await, [70, 20 + 60], "committed");
    // `Err` from the function: both updates rolled back.
    assert_eq!(transfer(&app, 1, 2, 500, "").await, (200, json!({ "error": "insufficient funds" })));
    assert_eq!(balances(&app).await, [70, 80]);
    // A missing account fails the second read after the first update: rolled back.
    assert_eq!(transfer(&app, 1, 99, 10, "").await.1["error"], "not found");
    assert_eq!(balances(&app).await, [70, 80]);
    // A runtime error inside the transaction ends the request; the update before it is gone.
    assert_eq!(transfer(&app, 1, 2, 10, "trap").await.0, 500);
    assert_eq!(balances(&app).await, [70, 80], "a trap rolls back");
    // A loop past the deadline: the same, and the database is not left locked.
    assert_eq!(transfer(&app, 1, 2, 10, "loop").await.0, 503);
    assert_eq!(balances(&app).await, [70, 80], "a deadline rolls back");
    assert_eq!(transfer(&app, 2, 1, 5, "").await, (200, json!({ "left": "75" })), "and the next transaction runs");
    assert_eq!(balances(&app).await, [75, 75]);
    // One transaction at a time in a run.
    let r = app.post("/nested", None, &json!({})).await;
    assert_eq!(r.body, json!("refused: a transaction cannot begin inside another"), "{}", r.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_keep_the_total_on_sqlite() {
    concurrent_transfers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_keep_the_total_on_postgres() {
    concurrent_transfers(Backend::Postgres).await;
}

async fn concurrent_transfers(backend: Backend) {
    // One direction: transfers both ways would lock the two rows in opposite orders, which
    // PostgreSQL answers as a deadlock (an `Err` the app sees), as any database does.
    let app = start_with(backend, Duration::from_secs(20)).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url) = (app.client.clone(), app.url("/transfer"));
        let (from, to) = (1, 2);
        tasks.push(tokio::spawn(async move {
            let r = client.post(url).json(&json!({ "from": from, "to": to, "amount": 1 })).send().await.expect("send");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    // Each transfer either committed or was refused whole, never half-applied.
    assert!(answers.iter().all(|(s, b)| *s == 200 && b.get("left").is_some()), "{answers:?}");
    assert_eq!(balances(&app).await, [80, 70], "each of the 20 applied once, whole");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_transactions_run_in_their_roles_and_do_not_wait_for_each_other() {
    let name = format!("fitz_tx_{}", std::process::id());
    let url = fresh_pg(&name).await;
    let dir = std::env::temp_dir().join(format!("fitz-tx-{}", std::process::id()));
    let host = TestHost::start(&dir, Some(&url)).await;
    for app in ["alice", "bob"] {
        assert_eq!(host.deploy(app, APP).await.status, 200);
        for (who, balance) in [("a", 100), ("b", 50)] {
            assert_eq!(host.post(app, "/open", None, &json!({ "name": who, "balance": balance })).await.status, 200);
        }
    }
    // Alice holds a transaction open for 1.5 s; Bob's, started after, is not behind it (the
    // lock is per app), and both commit as their own roles.
    let (client, base) = (host.client.clone(), host.base.clone());
    let slow = tokio::spawn(async move {
        let r = client.post(format!("{base}/slow")).header("host", "alice.localhost").send().await.expect("send");
        (std::time::Instant::now(), r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = host.post("bob", "/transfer", None, &json!({ "from": 1, "to": 2, "amount": 7 })).await;
    let bob_done = std::time::Instant::now();
    assert_eq!((r.status, r.body), (200, json!({ "left": "93" })));
    let (alice_done, status) = slow.await.expect("slow");
    assert_eq!(status, 200);
    assert!(bob_done < alice_done, "bob's transaction did not wait for alice's");
    let r = host.post("alice", "/transfer", None, &json!({ "from": 1, "to": 2, "amount": 1 })).await;
    assert_eq!((r.status, r.body), (200, json!({ "left": "99" })));
    host.stop().await;
    drop_pg(&name).await;
    let _ = std::fs::remove_dir_all(&dir);
}
