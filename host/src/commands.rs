//! The `fitz` subcommands; `main.rs` only parses arguments and dispatches here.

pub mod build;
pub mod check;
pub mod cron;
pub mod fmt;
pub mod host;
pub mod lsp;
pub mod new;
pub mod openapi;
pub mod remote;
pub mod run;
pub mod serve;
pub mod test;

use std::io::IsTerminal;
use std::path::Path;

/// Logs go to stderr; `FITZ_LOG` filters them (`info` by default, e.g. `FITZ_LOG=debug`),
/// `FITZ_LOG_FORMAT=json` makes them one JSON object per line.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FITZ_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(true).with_ansi(color());
    let _ = if std::env::var("FITZ_LOG_FORMAT").is_ok_and(|f| f == "json") { builder.json().try_init() } else { builder.try_init() };
}

/// Writes to stdout; a closed pipe (`fitz openapi app.fitz | head`) is not an error worth a
/// panic.
pub fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Whether diagnostics on stderr get colour.
pub fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The OS reason without Rust's "(os error 2)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// Reads a source file, or says why not (exit status 2).
pub fn read_source(path: &Path) -> Result<String, u8> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read {}: {}", path.display(), io_reason(&e));
        2
    })
}

/// The program at `path`: a file (with the modules it imports), or a project directory with
/// `fitz.toml` (a file inside a project is read with the project's dependencies). With
/// `as_given`, a lone file's messages name it as the user wrote it. Exit status 2 when it
/// cannot be read.
pub fn load_program(path: &Path, as_given: bool) -> Result<fitz_compiler::project::Project, u8> {
    let mut layout = fitz_compiler::project::Layout::find(path).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    if as_given && layout.project.is_none() {
        layout.shown = std::path::PathBuf::new();
    }
    read_source(&layout.entry)?;
    Ok(fitz_compiler::project::load(&layout, &fitz_compiler::project::Disk))
}

/// Where an app's `.env` and SQLite file are found, and what it is called: the file itself,
/// or for a project `DIR/NAME.fitz` (`NAME` from `fitz.toml`), which need not exist.
pub fn app_path(path: &Path) -> std::path::PathBuf {
    if path.is_dir()
        && let Ok(layout) = fitz_compiler::project::Layout::find(path)
    {
        return path.join(format!("{}.fitz", layout.project.unwrap_or_else(|| "app".into())));
    }
    path.to_path_buf()
}

/// Compiles a file or a project, printing diagnostics (warnings too); exit status 1 on
/// errors. A module `fitz build` wrote is taken as it is (the host checks it as it loads it).
pub fn compile_file(path: &Path) -> Result<fitz_compiler::Artifact, u8> {
    if path.extension().is_some_and(|e| e == "wasm") {
        return read_module(path);
    }
    let project = load_program(path, false)?;
    match fitz_compiler::compile_project(&project) {
        Ok(mut artifact) => {
            if !artifact.warnings.items.is_empty() {
                eprint!("{}", artifact.warnings.render_in(&project.sources, color()));
            }
            // `@server(static_dir=…)`: relative to the project, or to a lone file's folder.
            if let Some(dir) = artifact.manifest.server.as_ref().and_then(|s| s.static_dir.clone()) {
                let base = fitz_compiler::project::Layout::find(path).map(|l| l.shown).unwrap_or_default();
                let base = if base.as_os_str().is_empty() { std::path::PathBuf::from(".") } else { base };
                if let Err(e) = fitz_compiler::bundle::bundle(&mut artifact.wasm, &base.join(&dir)) {
                    eprintln!("error: {e}");
                    return Err(1);
                }
            }
            Ok(artifact)
        }
        Err(d) => {
            eprint!("{}", d.render_in(&project.sources, color()));
            let (e, w) = (d.errors(), d.warnings());
            eprintln!("{} error{}, {} warning{}", e, plural(e), w, plural(w));
            Err(1)
        }
    }
}

fn read_module(path: &Path) -> Result<fitz_compiler::Artifact, u8> {
    let wasm = std::fs::read(path).map_err(|e| {
        eprintln!("error: cannot read {}: {}", path.display(), io_reason(&e));
        2
    })?;
    match guest_abi::manifest::Manifest::from_module(&wasm) {
        Ok(manifest) => Ok(fitz_compiler::Artifact { wasm, manifest, warnings: Default::default() }),
        Err(e) => {
            eprintln!("error: {} is not a Fitz module: {e}", path.display());
            Err(2)
        }
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The runtime a one-shot command (`fitz cron run`, `fitz test`) runs on; exit status 2 with
/// the reason when it cannot start.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        2
    })
}
