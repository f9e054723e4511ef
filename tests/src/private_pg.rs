//! A PostgreSQL server of a test's own, in a temporary directory on a free port, so the test
//! can stop, restart and kill it without touching the server every other test shares. Built
//! from the installed PostgreSQL's `initdb` and `pg_ctl` (as the `postgres` user when the
//! tests run as root, since PostgreSQL refuses to run as root).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub struct PrivatePg {
    dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

/// The newest installed PostgreSQL's binaries (`/usr/lib/postgresql/N/bin`), or `PG_BIN`.
fn bin_dir() -> PathBuf {
    if let Some(b) = std::env::var_os("PG_BIN") {
        return PathBuf::from(b);
    }
    let mut versions: Vec<u32> =
        std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL is installed (/usr/lib/postgresql)").filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    versions.sort_unstable();
    let v = versions.last().expect("a PostgreSQL version is installed");
    PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl PrivatePg {
    /// Creates and starts a fresh cluster: trust authentication, user `postgres`, no fsync.
    pub fn start() -> PrivatePg {
        let dir = std::env::temp_dir().join(format!("fitz-pg-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).expect("dir");
        if is_root() {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().is_ok_and(|s| s.success());
            assert!(ok, "chown of the cluster's directory");
        }
        let pg = PrivatePg { dir, port: free_port(), bin: bin_dir() };
        pg.run("initdb", &["-D", &pg.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"]);
        pg.up();
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when we are root); panics on failure.
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(out.status.success(), "{program} {args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    /// Starts the server and waits until it takes connections.
    pub fn up(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "60", "start"]);
    }

    /// Stops the server (`fast`: sessions are ended, as on a restart; `immediate`: as a crash).
    pub fn down(&self, mode: &str) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "-t", "60", "stop"]);
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database and returns its URL.
    pub async fn database(&self, name: &str) -> String {
        let admin = fitz_host::db::Database::connect(&self.url("postgres")).await.expect("private PostgreSQL");
        admin.execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
        admin.close().await;
        self.url(name)
    }

    /// Ends every session of `database` but the caller's (`pg_terminate_backend`); returns how many.
    pub async fn terminate_backends(&self, database: &str) -> i64 {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.url("postgres")).await.expect("connect");
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) t")
            .bind(database)
            .fetch_one(&mut c)
            .await
            .expect("terminate");
        let _ = c.close().await;
        n
    }

    /// Waits until the server answers a query (after `up`).
    pub async fn ready(&self) {
        for _ in 0..100 {
            if let Ok(db) = fitz_host::db::Database::connect(&self.url("postgres")).await {
                db.close().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the private PostgreSQL did not come back");
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() { Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(args).output() } else { Command::new(&exe).args(args).output() };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
