//! Cron for operators, with the real binary: two `fitz run` processes serving the same app on
//! one PostgreSQL database run each tick once, not twice; `fitz cron run` runs the seed's
//! `cleanup_blacklist` now and it removes exactly the expired rows; `fitz cron list` shows the
//! jobs and their next runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fitz_host::db::Database;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo").to_path_buf()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-cron-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn pg() -> String {
    std::env::var("FITZ_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

fn fitz() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitz"));
    c.env("NO_COLOR", "1").env_remove("DATABASE_URL");
    c
}

const BEAT: &str = r#"
type Beat { id: Int, at: Int }

@cron("*/1 * * * * *")
async fn beat(db: DbConn) {
    Beat.insert(db, Beat { id: 0, at: DateTime.now().timestamp() }).await
}
"#;

fn serve(app: &Path, url: &str) -> Child {
    fitz().arg("run").arg(app).args(["--port", "0"]).env("DATABASE_URL", url).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("fitz run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_postgres_run_each_tick_once() {
    let dir = temp_dir("two-hosts");
    let app = dir.join("beat.fitz");
    std::fs::write(&app, BEAT).expect("write");
    let name = format!("fitz_cron_{}", std::process::id());
    let admin = Database::connect(&pg()).await.expect("PostgreSQL (see .ci/run)");
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    admin.execute(&format!("CREATE DATABASE {name}")).await.expect("create");
    let url = match pg().rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => pg(),
    };
    let mut a = serve(&app, &url);
    let mut b = serve(&app, &url);
    tokio::time::sleep(Duration::from_millis(6500)).await;
    let _ = Command::new("kill").arg("-TERM").arg(a.id().to_string()).status();
    let _ = Command::new("kill").arg("-TERM").arg(b.id().to_string()).status();
    assert!(a.wait().expect("a").success(), "host a stops cleanly");
    assert!(b.wait().expect("b").success(), "host b stops cleanly");

    let db = Database::connect(&url).await.expect("db");
    let fitz_host::db::Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT at FROM beats ORDER BY at").fetch_all(pool).await.expect("rows");
    let ats: Vec<i64> = rows.into_iter().map(|r| r.0).collect();
    assert!(ats.len() >= 3, "the job ran: {ats:?}");
    let mut distinct = ats.clone();
    distinct.dedup();
    assert_eq!(distinct, ats, "each second's tick ran on exactly one host");
    db.close().await;
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    admin.close().await;
}

/// Two different apps that happen to share a file name (`auth.fitz`) and a database: before,
/// their cron claims were keyed by the file's name, so each tick ran in only one of them. With
/// a namespace each (`FITZ_NAMESPACE`) they have their own schema, claims and blacklist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_with_a_namespace_each_share_a_database_but_not_their_ticks() {
    let name = format!("fitz_cron_ns_{}", std::process::id());
    let admin = Database::connect(&pg()).await.expect("PostgreSQL (see .ci/run)");
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    admin.execute(&format!("CREATE DATABASE {name}")).await.expect("create");
    let url = match pg().rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => pg(),
    };
    let mut children = Vec::new();
    for ns in ["alpha", "beta"] {
        let app = temp_dir(&format!("ns-{ns}")).join("auth.fitz");
        std::fs::write(&app, BEAT).expect("write");
        let child = fitz()
            .arg("run")
            .arg(&app)
            .args(["--port", "0"])
            .env("DATABASE_URL", &url)
            .env("FITZ_NAMESPACE", ns)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("fitz run");
        children.push(child);
    }
    tokio::time::sleep(Duration::from_millis(5500)).await;
    for c in &mut children {
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        assert!(c.wait().expect("exits").success(), "stops cleanly");
    }
    let db = Database::connect(&url).await.expect("db");
    let fitz_host::db::Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let mut seen = Vec::new();
    for ns in ["alpha", "beta"] {
        let ats: Vec<i64> = sqlx::query_scalar(&format!("SELECT at FROM app_{ns}.beats ORDER BY at")).fetch_all(pool).await.expect("rows");
        seen.push(ats);
    }
    let shared: Vec<&i64> = seen[0].iter().filter(|at| seen[1].contains(at)).collect();
    assert!(seen.iter().all(|ats| ats.len() >= 3) && shared.len() >= 2, "each app ran the same seconds' ticks: {seen:?}");
    let public: Option<i64> = sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetch_optional(pool).await.expect("count");
    assert_eq!(public, Some(0), "nothing in the default schema");
    db.close().await;
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_run_cleans_exactly_the_expired_rows() {
    let dir = temp_dir("cleanup");
    std::fs::copy(repo().join("examples/seed/auth.fitz"), dir.join("auth.fitz")).expect("copy");
    std::fs::copy(repo().join("examples/seed/.env"), dir.join(".env")).expect("copy");
    let db = Database::connect(&format!("sqlite:{}", dir.join("auth.db").display())).await.expect("sqlite");
    db.execute("CREATE TABLE IF NOT EXISTS fitz_token_blacklist (jti TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)").await.expect("table");
    for (jti, exp) in [("expired-1", now() - 5), ("expired-2", now() - 86_400), ("live-1", now() + 3600), ("live-2", now() + 86_400)] {
        db.execute(&format!("INSERT INTO fitz_token_blacklist (jti, expires_at) VALUES ('{jti}', {exp})")).await.expect("insert");
    }
    db.close().await;

    let out = fitz().args(["cron", "run"]).arg(dir.join("auth.fitz")).arg("cleanup_blacklist").output().expect("cron run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cleanup_blacklist: ok"));

    let db = Database::connect(&format!("sqlite:{}", dir.join("auth.db").display())).await.expect("sqlite");
    let fitz_host::db::Pool::Sqlite(pool) = &db.pool else { unreachable!() };
    let left: Vec<(String,)> = sqlx::query_as("SELECT jti FROM fitz_token_blacklist ORDER BY jti").fetch_all(pool).await.expect("rows");
    assert_eq!(left.into_iter().map(|r| r.0).collect::<Vec<_>>(), vec!["live-1", "live-2"]);
    db.close().await;

    let out = fitz().args(["cron", "run"]).arg(dir.join("auth.fitz")).arg("nope").output().expect("cron run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no @cron job `nope` (jobs: cleanup_blacklist)"));
}

#[test]
fn cron_list_shows_jobs_and_next_runs() {
    let out = fitz().args(["cron", "list"]).arg(repo().join("examples/seed/auth.fitz")).output().expect("cron list");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("cleanup_blacklist  \"0 0 3 * * *\"  next: "), "{text}");
    assert!(text.contains("T03:00:00Z"), "{text}");
}
