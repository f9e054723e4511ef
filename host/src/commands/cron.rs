//! `fitz cron list APP` and `fitz cron run APP JOB`, for operators: the jobs with their next
//! runs, and one job run now against the app's database (as the schedule would run it).

use std::path::Path;

use guest_abi::cron::Schedule;

use super::serve::{Loaded, load_app};
use crate::runtime::app::TopLevelOutput;
use crate::runtime::invoke::{Fault, run_cron};

/// The module of an app given as `.fitz` source or a built `.wasm`.
fn module(path: &Path) -> Result<Vec<u8>, u8> {
    if path.extension().is_some_and(|e| e == "wasm") {
        return std::fs::read(path).map_err(|e| {
            eprintln!("error: cannot read {}: {}", path.display(), super::io_reason(&e));
            2
        });
    }
    super::compile_file(path).map(|a| a.wasm)
}

pub fn list(path: &Path) -> u8 {
    let wasm = match module(path) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let manifest = match crate::runtime::validate::validate_bytes(&wasm) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    if manifest.crons.is_empty() {
        super::stdout(&format!("{} has no @cron jobs\n", path.display()));
        return 0;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut out = String::new();
    for c in &manifest.crons {
        let next = Schedule::parse(&c.schedule)
            .map(|s| crate::cron::upcoming(&s, now, 3).iter().map(|t| crate::json::format_datetime(t * 1_000_000)).collect::<Vec<_>>().join(", "))
            .unwrap_or_else(|_| "never".into());
        out += &format!("{}  \"{}\"  next: {}\n", c.name, c.expr, next);
    }
    super::stdout(&out);
    0
}

pub fn run(path: &Path, job: &str) -> u8 {
    crate::commands::init_logging();
    let wasm = match module(path) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let rt = match super::tokio_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let env = crate::config::app_env(path);
        let Loaded { app, db, runtime, name } = match load_app(&wasm, path, env, TopLevelOutput::Terminal).await {
            Ok(l) => l,
            Err((code, message)) => {
                eprintln!("error: {message}");
                return code;
            }
        };
        let Some(index) = app.manifest.crons.iter().position(|c| c.name == job) else {
            let known: Vec<&str> = app.manifest.crons.iter().map(|c| c.name.as_str()).collect();
            eprintln!("error: {name} has no @cron job `{job}` (jobs: {})", if known.is_empty() { "none".into() } else { known.join(", ") });
            return 2;
        };
        let code = match run_cron(&std::sync::Arc::new(app), index, None).await {
            Ok(value) => {
                super::stdout(&format!("{job}: ok {value}\n"));
                0
            }
            Err(Fault::Failed(cause)) => {
                eprintln!("error: {job} failed: {cause}");
                1
            }
            Err(Fault::Timeout) => {
                eprintln!("error: {job} passed its deadline");
                1
            }
            Err(Fault::Busy) => {
                eprintln!("error: no instance free for {job}");
                1
            }
        };
        db.close().await;
        drop(runtime);
        code
    })
}
