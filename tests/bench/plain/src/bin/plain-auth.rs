//! The floor as an axum + sqlx app is usually written: sqlx's pool, the system allocator.
//! `PLAIN_PING=0` turns off the pool's ping on every checkout; sqlx still pings every
//! connection as it returns to the pool, which no option turns off.

#[tokio::main]
async fn main() {
    let ping = std::env::var("PLAIN_PING").map_or(true, |v| v != "0");
    fitz_bench_plain::serve(fitz_bench_plain::Flavour::Sqlx { ping }, "plain-auth").await;
}
