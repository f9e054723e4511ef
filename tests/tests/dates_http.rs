//! `Date` over HTTP and in the database: a path parameter, a JSON body field and a table
//! column, read and written as `YYYY-MM-DD`, stored as days (an integer column), on SQLite and
//! PostgreSQL; a malformed or impossible date is a 400 naming the field, never a crash.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
@table("trips")
type Trip {
    @primary id: Int
    name: Str
    starts: Date
    ends: Date?
}

type Plan { name: Str, starts: Date, days: Int }

@get("/weekday/{d}")
fn weekday(d: Date) -> Map<Str, Any> => { "date": d, "weekday": d.weekday(), "next_month": d.add_months(1) }

@post("/plans")
async fn plan(body: Plan, db: DbConn) -> Trip {
    let trip = Trip { id: 0, name: body.name, starts: body.starts, ends: body.starts.add_days(body.days) }
    return Trip.insert(db, trip).await?
}

@get("/trips/after/{d}")
async fn after(d: Date, db: DbConn) -> List<Trip> {
    return Trip.where(fn(t) => t.starts > d).order_by(fn(t) => t.starts, ascending: true).all(db).await?
}
"#;

async fn exercise(backend: Backend) {
    let app = TestApp::start(APP, backend, &[], Limits::default()).await;
    let r = app.get("/weekday/2024-02-29", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "date": "2024-02-29", "weekday": 4, "next_month": "2024-03-29" }));
    for bad in ["2023-02-29", "yesterday", "2024-1-5"] {
        let r = app.get(&format!("/weekday/{bad}"), None).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    for (name, starts, days) in [("andes", "2026-01-10", 12), ("coast", "2025-12-30", 3), ("lakes", "2026-03-01", 0)] {
        let r = app.post("/plans", None, &json!({ "name": name, "starts": starts, "days": days })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["starts"], json!(starts));
    }
    let r = app.get("/trips/after/2025-12-31", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got: Vec<(String, String)> =
        r.body.as_array().expect("list").iter().map(|t| (t["starts"].as_str().unwrap_or("").to_string(), t["ends"].as_str().unwrap_or("").to_string())).collect();
    assert_eq!(got, vec![("2026-01-10".to_string(), "2026-01-22".to_string()), ("2026-03-01".to_string(), "2026-03-01".to_string())]);
    let r = app.post("/plans", None, &json!({ "name": "x", "starts": "2026-02-30", "days": 1 })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("starts"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_cross_http_and_sqlite() {
    exercise(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_cross_http_and_postgres() {
    exercise(Backend::Postgres).await;
}
