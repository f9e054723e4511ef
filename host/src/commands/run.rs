//! `fitz run FILE`: compile and run. A program without routes runs its top level and exits;
//! an app with routes is served (`serve`).

use std::path::Path;

use super::compile_file;
use super::serve::ServeOptions;
use crate::runtime::state::AppContext;

pub fn run(file: &Path, opts: ServeOptions, args: &[String]) -> u8 {
    let artifact = match compile_file(file) {
        Ok(a) => a,
        Err(code) => return code,
    };
    // A project's `.env` and database are in its directory, named after it.
    let app = super::app_path(file);
    let file = app.as_path();
    // Routes are served; so are `@cron` jobs, which need a host that stays up.
    if !artifact.manifest.routes.is_empty() || !artifact.manifest.crons.is_empty() {
        return super::serve::serve(artifact.wasm, file, opts);
    }
    let env = crate::config::app_env(file);
    let secrets = match crate::config::secrets(&artifact.manifest.secrets, &env) {
        Ok(s) => s,
        Err(missing) => {
            for name in missing {
                eprintln!("error: secret {name} is not set (set it in the environment or in a .env file next to {})", file.display());
            }
            return 2;
        }
    };
    let app = AppContext { secrets, env, ..AppContext::bare(artifact.manifest) };
    // `log.*` lines go to stderr, as a served app's do.
    super::init_logging();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(crate::limits::process::BLOCKING_THREADS).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 2;
        }
    };
    // An `@command` program sees its name (the file's stem) first, as a process sees argv[0].
    let name = file.file_stem().map_or_else(|| "program".to_string(), |s| s.to_string_lossy().into_owned());
    let argv: Vec<String> = std::iter::once(name).chain(args.iter().cloned()).collect();
    match rt.block_on(crate::run::run_top_level(&artifact.wasm, app, &argv)) {
        Ok(code) => u8::try_from(code).unwrap_or(1),
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
