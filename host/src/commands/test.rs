//! `fitz test PATH…`: runs the `@test` functions of programs, each in the sandbox against a
//! fresh database of its app (a new SQLite file, or with `--db postgres://…` a new schema
//! dropped after), with `test.get(…)` reaching the app's own routes in process. A file is one
//! program; a folder runs each `*_test.fitz` under it, or its project (`fitz.toml`) when it
//! has none. One line per test, then `N passed, M failed`; exit 1 when any failed.
//!
//! Secrets the app names and the environment does not set get a random value per run, so a
//! suite needs no `.env`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::db::Database;
use crate::runtime::Runtime;
use crate::runtime::app::{Limits, TopLevelOutput, load};
use crate::runtime::engine::Allocation;
use crate::runtime::invoke::{Fault, run_test};
use crate::runtime::state::AppContext;

pub struct TestOptions {
    pub paths: Vec<PathBuf>,
    /// Only tests whose name contains this.
    pub filter: Option<String>,
    /// A PostgreSQL database to test against instead of SQLite.
    pub db: Option<String>,
    pub watch: bool,
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<(String, String)>,
}

pub fn run(opts: TestOptions) -> u8 {
    let rt = match super::tokio_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let mut code = once(&opts).await;
        if !opts.watch {
            return code;
        }
        let mut seen = stamp(&opts.paths);
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let now = stamp(&opts.paths);
            if now != seen {
                seen = now;
                eprintln!("fitz: a file changed; testing again");
                code = once(&opts).await;
            }
            if code == 2 && opts.paths.iter().all(|p| !p.exists()) {
                return code;
            }
        }
    })
}

/// The newest modification time of the `.fitz` files under `paths`.
fn stamp(paths: &[PathBuf]) -> Option<std::time::SystemTime> {
    let mut files = Vec::new();
    for p in paths {
        fitz_files(p, &mut files, &|_| true);
    }
    super::serve::modified(&files)
}

fn fitz_files(path: &Path, out: &mut Vec<PathBuf>, keep: &dyn Fn(&Path) -> bool) {
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "fitz") && keep(path) {
            out.push(path.to_path_buf());
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        let name = e.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        fitz_files(&e, out, keep);
    }
}

/// The programs `path` names: itself, its `*_test.fitz` files, or its project.
fn programs(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut tests = Vec::new();
    fitz_files(path, &mut tests, &|p| p.file_stem().is_some_and(|s| s.to_string_lossy().ends_with("_test")));
    if tests.is_empty() && path.join("fitz.toml").is_file() {
        return vec![path.to_path_buf()];
    }
    tests
}

async fn once(opts: &TestOptions) -> u8 {
    let mut tally = Tally::default();
    let mut usage = false;
    for path in &opts.paths {
        if !path.exists() {
            eprintln!("error: {} does not exist", path.display());
            usage = true;
            continue;
        }
        let found = programs(path);
        if found.is_empty() {
            eprintln!("fitz: no `*_test.fitz` files under {}", path.display());
        }
        for program in found {
            let Ok(artifact) = super::compile_file(&program) else {
                tally.failed.push((program.display().to_string(), "does not compile".into()));
                continue;
            };
            test_program(&program, &artifact.wasm, opts, &mut tally).await;
        }
    }
    let mut out = String::new();
    for (name, why) in &tally.failed {
        out += &format!("\n---- {name} ----\n{why}\n");
    }
    out += &format!("\n{} passed, {} failed\n", tally.passed, tally.failed.len());
    super::stdout(&out);
    if usage {
        2
    } else if tally.failed.is_empty() {
        0
    } else {
        1
    }
}

async fn test_program(program: &Path, wasm: &[u8], opts: &TestOptions, tally: &mut Tally) {
    let manifest = match crate::runtime::validate::validate_bytes(wasm) {
        Ok(m) => m,
        Err(e) => {
            tally.failed.push((program.display().to_string(), e.to_string()));
            return;
        }
    };
    let chosen: Vec<usize> = (0..manifest.tests.len()).filter(|i| opts.filter.as_ref().is_none_or(|f| manifest.tests[*i].name.contains(f.as_str()))).collect();
    if chosen.is_empty() {
        return;
    }
    let mut env = crate::config::app_env(program);
    for name in &manifest.secrets {
        env.entry(name.clone()).or_insert_with(random_secret);
    }
    let runtime = match Runtime::new(Allocation::Pooling { instances: 64, max_memory: Limits::local().memory_bytes as u64 }) {
        Ok(r) => r,
        Err(e) => {
            tally.failed.push((program.display().to_string(), format!("cannot start the runtime: {e}")));
            return;
        }
    };
    super::stdout(&format!("{}: {} test{}\n", program.display(), chosen.len(), if chosen.len() == 1 { "" } else { "s" }));
    for index in chosen {
        let name = manifest.tests[index].name.clone();
        let outcome = one(&runtime, wasm, &manifest, &env, index, opts.db.as_deref()).await;
        match outcome {
            Ok(()) => {
                tally.passed += 1;
                super::stdout(&format!("test {name} ... ok\n"));
            }
            Err(why) => {
                super::stdout(&format!("test {name} ... FAILED\n"));
                tally.failed.push((name, why));
            }
        }
    }
}

/// Runs test `index` against a database of its own.
async fn one(runtime: &Runtime, wasm: &[u8], manifest: &guest_abi::manifest::Manifest, env: &HashMap<String, String>, index: usize, pg: Option<&str>) -> Result<(), String> {
    let scratch = Scratch::open(pg).await?;
    let secrets = crate::config::secrets(&manifest.secrets, env).map_err(|missing| format!("secrets not set: {}", missing.join(", ")))?;
    let ctx = AppContext { name: manifest.tests[index].name.clone(), secrets, env: env.clone(), db: Some(scratch.db.clone()), ..AppContext::bare(manifest.clone()) };
    let result = match load(runtime, wasm, ctx, Limits::local(), TopLevelOutput::Log).await {
        Ok(app) => {
            let served = crate::http::Served::new(app);
            match run_test(&served, index).await {
                Ok(()) => Ok(()),
                Err(Fault::Failed(why)) => Err(why),
                Err(Fault::Timeout) => Err("the test ran past its deadline".into()),
                Err(Fault::Busy) => Err("no sandbox was free".into()),
            }
        }
        Err(e) => Err(format!("the app does not load: {e}")),
    };
    scratch.close().await;
    result
}

/// A test's database: a SQLite file in a folder removed after, or a PostgreSQL schema dropped
/// after.
struct Scratch {
    db: Database,
    dir: Option<PathBuf>,
    schema: Option<(Database, String)>,
}

impl Scratch {
    async fn open(pg: Option<&str>) -> Result<Scratch, String> {
        let tag = format!("{}_{:016x}", std::process::id(), rand::random::<u64>());
        match pg {
            Some(url) => {
                let admin = Database::connect(url).await.map_err(|e| format!("cannot open the database: {e}"))?;
                let schema = format!("fitz_test_{tag}");
                admin.execute(&format!("CREATE SCHEMA {}", crate::db::sql::quote(&schema))).await.map_err(|e| format!("cannot make a schema for the test: {e}"))?;
                Ok(Scratch { db: admin.with_schema(&schema), dir: None, schema: Some((admin, schema)) })
            }
            None => {
                let dir = std::env::temp_dir().join(format!("fitz-test-{tag}"));
                std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make a folder for the test's database: {e}"))?;
                let db = Database::connect(&format!("sqlite:{}", dir.join("app.db").display())).await.map_err(|e| format!("cannot open the database: {e}"))?;
                Ok(Scratch { db, dir: Some(dir), schema: None })
            }
        }
    }

    async fn close(self) {
        if let Some((admin, schema)) = self.schema {
            let _ = admin.execute(&format!("DROP SCHEMA {} CASCADE", crate::db::sql::quote(&schema))).await;
            admin.close().await;
        }
        self.db.close().await;
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
