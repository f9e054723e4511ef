//! A PostgreSQL role per tenant (issue 17). Before, every tenant's schema was reached through
//! the host's one database role, so isolation rested on the SQL builder alone. Now a tenant's
//! statements run as a role that owns its schema and nothing else: a raw query under that role
//! cannot read another tenant's schema or the host's store.

use fitz_host::db::roles::Roles;
use fitz_host::db::{Database, Pool};
use fitz_tests::multi::{TestHost, drop_pg, fresh_pg};
use serde_json::json;

const APP: &str = fitz_tests::ITEMS_APP;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_role_reaches_its_own_schema_only() {
    let name = format!("fitz_roles_{}", std::process::id());
    let url = fresh_pg(&name).await;
    let dir = std::env::temp_dir().join(format!("fitz-roles-{}", std::process::id()));
    let host = TestHost::start(&dir, Some(&url)).await;
    for app in ["alice", "bob"] {
        assert_eq!(host.deploy(app, APP).await.status, 200);
        let r = host.post(app, "/items", None, &json!({ "id": 0, "name": format!("{app}'s") })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(host.get(app, "/items", None).await.body, json!([{ "id": 1, "name": format!("{app}'s") }]));
    }
    assert_eq!(host.set_secret("alice", "K", "v").await.status, 200);

    let db = Database::connect(&url).await.expect("connect");
    let roles = Roles::detect(&db).await.expect("detect").expect("the test's user may create roles");
    let Pool::Postgres(pool) = &db.pool else { unreachable!() };
    // What the app made, its role owns.
    let owners: Vec<String> = sqlx::query_scalar("SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'app_alice'").fetch_all(pool).await.expect("owners");
    assert_eq!(owners, vec![roles.role_of("alice")]);

    let mut conn = pool.acquire().await.expect("connection");
    sqlx::query("SELECT set_config('role', $1, false)").bind(roles.role_of("alice")).execute(&mut *conn).await.expect("set role");
    let own: Vec<String> = sqlx::query_scalar("SELECT name FROM app_alice.items").fetch_all(&mut *conn).await.expect("its own schema");
    assert_eq!(own, vec!["alice's".to_string()]);
    for other in ["SELECT name FROM app_bob.items", "SELECT value FROM fitz_host.secrets", "INSERT INTO app_bob.items (name) VALUES ('x')", "CREATE TABLE app_bob.planted (x INT)"]
    {
        let refused = sqlx::query(other).execute(&mut *conn).await.expect_err(other);
        let code = refused.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42501"), "{other}: {refused}");
    }
    sqlx::query("RESET ROLE").execute(&mut *conn).await.expect("reset");
    drop(conn);

    // Purged, the role goes with the schema.
    assert_eq!(host.operator(reqwest::Method::DELETE, "/apps/bob?purge=true", None).await.status, 200);
    let left: Option<i64> = sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname = $1").bind(roles.role_of("bob")).fetch_optional(pool).await.expect("count");
    assert_eq!(left, Some(0));
    db.close().await;
    host.stop().await;
    // The roles are the server's, not the database's: `drop_pg` leaves none behind.
    drop_pg(&name).await;
}
