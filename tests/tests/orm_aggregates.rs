//! Upstream's aggregates and `between`, the same on both databases: `T.sum/avg/min/max(fn(r)
//! => r.col, db)` (alone or after `.where`) answer a `Float` (SQLite and PostgreSQL both sum
//! integers exactly and answer floats); `sum` of no rows is 0, the others are an `Err`;
//! `r.col.between(a, b)` includes both ends; `order_by(fn(r) => -r.col)` is descending;
//! `.group_by(fn(r) => r.col)` before `count`/an aggregate answers upstream's rows of
//! `{"col": value, "count": n}` (`"sum_x"`, `"avg_x"`, …), ordered by the group's value.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
@table("sales")
type Sale {
    @primary id: Int = 0
    region: Str
    units: Int
    price: Float
}

@post("/sales/{region}/{units}/{price}")
async fn add(db: DbConn, region: Str, units: Int, price: Float) -> Int {
    let s = Sale.insert(db, Sale { id: 0, region: region, units: units, price: price }).await?
    return s.id
}

@get("/stats")
async fn stats(db: DbConn) -> Map<Str, Float> {
    return {
        "units": Sale.sum(fn(s) => s.units, db).await?,
        "avg_price": Sale.avg(fn(s) => s.price, db).await?,
        "min_units": Sale.min(fn(s) => s.units, db).await?,
        "max_price": Sale.max(fn(s) => s.price, db).await?,
        "north_units": Sale.where(fn(s) => s.region == "north").sum(fn(s) => s.units, db).await?,
    }
}

@get("/empty")
async fn empty(db: DbConn) -> Map<Str, Str> {
    let sum = Sale.where(fn(s) => s.region == "nowhere").sum(fn(s) => s.units, db).await?
    let avg = match Sale.where(fn(s) => s.region == "nowhere").avg(fn(s) => s.units, db).await {
        Ok(v) => "{v}",
        Err(e) => "err: {e}",
    }
    return { "sum": "{sum}", "avg": avg }
}

// Upstream's grouped rows: maps of `Any`, ordered by the group's value.
@get("/by-region")
async fn by_region(db: DbConn) -> Map<Str, List<Map<Str, Any>>> {
    return {
        "count": Sale.group_by(fn(s) => s.region).count(db).await?,
        "units": Sale.where(fn(s) => s.units > 3).group_by(fn(s) => s.region).sum(fn(s) => s.units, db).await?,
        "avg_price": Sale.group_by(fn(s) => s.region).avg(fn(s) => s.price, db).await?,
    }
}

// `-s.units`: the largest first.
@get("/by-units")
async fn by_units(db: DbConn) -> List<Int> {
    return [s.units for s in Sale.order_by(fn(s) => -s.units).all(db).await?]
}

@get("/between/{low}/{high}")
async fn between(db: DbConn, low: Int, high: Int) -> List<Int> {
    return [s.id for s in Sale.where(fn(s) => s.units.between(low, high)).order_by(fn(s) => s.id).all(db).await?]
}
"#;

async fn aggregates(backend: Backend) {
    let app = TestApp::start(APP, backend, &[], Limits::default()).await;
    for (region, units, price) in [("north", 3, 2.5), ("north", 7, 1.5), ("south", 5, 4.0), ("east", 10, 0.5)] {
        assert_eq!(app.post(&format!("/sales/{region}/{units}/{price}"), None, &json!({})).await.status, 200);
    }
    let r = app.get("/stats", None).await;
    assert_eq!(r.body, json!({ "units": 25.0, "avg_price": 2.125, "min_units": 3.0, "max_price": 4.0, "north_units": 10.0 }), "{}", r.text);
    assert_eq!(app.get("/empty", None).await.body, json!({ "sum": "0.0", "avg": "err: not found" }));
    assert_eq!(app.get("/between/5/7", None).await.body, json!([2, 3]), "both ends included");
    assert_eq!(app.get("/between/8/4", None).await.body, json!([]));
    assert_eq!(app.get("/by-units", None).await.body, json!([10, 7, 5, 3]));
    let r = app.get("/by-region", None).await;
    assert_eq!(
        r.body,
        json!({
            "count": [{ "region": "east", "count": 1 }, { "region": "north", "count": 2 }, { "region": "south", "count": 1 }],
            "units": [{ "region": "east", "sum_units": 10.0 }, { "region": "north", "sum_units": 7.0 }, { "region": "south", "sum_units": 5.0 }],
            "avg_price": [{ "region": "east", "avg_price": 0.5 }, { "region": "north", "avg_price": 2.0 }, { "region": "south", "avg_price": 4.0 }],
        }),
        "{}",
        r.text
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_and_between_on_sqlite() {
    aggregates(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_and_between_on_postgres() {
    aggregates(Backend::Postgres).await;
}
