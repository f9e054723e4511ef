//! Helpers shared by the end-to-end and golden tests.

pub mod multi;
pub mod private_pg;
pub mod python;
pub mod server;

use std::path::{Path, PathBuf};

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The seed program. It lives in `../shared/seed/auth.fitz` next to the repository; a copy
/// is vendored in `examples/seed/auth.fitz` so the tests also run where `shared/` is absent,
/// and a test proves the copy is byte-for-byte the original whenever both are present.
pub fn seed_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("FITZ_SHARED") {
        return PathBuf::from(dir).join("seed/auth.fitz");
    }
    let shared = repo_root().join("../shared/seed/auth.fitz");
    if shared.exists() { shared } else { vendored_seed_path() }
}

pub fn vendored_seed_path() -> PathBuf {
    repo_root().join("examples/seed/auth.fitz")
}

/// Checks a file and renders its diagnostics as a user sees them (no colour), with the file
/// named relative to the repository so snapshots do not depend on the checkout's location.
pub fn check_file(path: &Path) -> (fitz_compiler::Checked, String) {
    let source = std::fs::read_to_string(path).expect("readable test file");
    let name = path.strip_prefix(repo_root()).unwrap_or(path).display().to_string();
    let checked = fitz_compiler::check_source(&source);
    let rendered = checked.diagnostics.render(&name, &source, false);
    (checked, rendered)
}

/// The smallest app with a table: `POST /items` adds an `Item { id, name }`, `GET /items`
/// lists them.
pub const ITEMS_APP: &str = r#"
type Item { id: Int, name: Str }
@post("/items")
async fn add(db: DbConn, item: Item) -> Item {
    return Item.insert(db, item).await?
}
@get("/items")
async fn all(db: DbConn) -> List<Item> {
    return Item.all(db).await?
}
"#;

/// The environment test programs run with: fixed, so their output is too.
pub fn test_env() -> std::collections::HashMap<String, String> {
    [("TEST_SECRET", "s3cr3t-value-that-is-long-enough-for-hs256!!"), ("GREETING", "hola"), ("EMPTY", "")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Compiles and runs a program's top level with output captured:
/// `(exit status, stdout, stderr)`. Every module is validated with wasmparser first.
pub fn compile_and_run(source: &str, file_name: &str) -> Result<(i32, String, String), String> {
    compile_and_run_with(source, file_name, &[])
}

/// `compile_and_run` with more variables in the app's environment.
pub fn compile_and_run_with(source: &str, file_name: &str, extra_env: &[(&str, &str)]) -> Result<(i32, String, String), String> {
    let artifact = fitz_compiler::compile(source, file_name).map_err(|d| d.render(file_name, source, false))?;
    wasmparser::validate(&artifact.wasm).map_err(|e| format!("invalid module: {e}"))?;
    let mut env = test_env();
    env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let secrets = fitz_host::config::secrets(&artifact.manifest.secrets, &env).map_err(|missing| format!("missing secrets {missing:?}"))?;
    let app = fitz_host::runtime::state::AppContext { secrets, env, ..fitz_host::runtime::state::AppContext::bare(artifact.manifest) };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(fitz_host::run::run_captured(&artifact.wasm, app, &[file_name.to_string()])).map_err(|e| e.to_string())
}

/// A syntax tree's debug form without its spans: two programs with the same shape are the same
/// tree, whatever their layout. `Err` with the syntax errors when `source` does not parse.
pub fn tree_shape(source: &str) -> Result<String, String> {
    let (module, errors) = fitz_compiler::syntax::parse_module(source);
    if !errors.is_empty() {
        return Err(format!("{errors:?}"));
    }
    let text = format!("{module:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Span { start: ") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after.find('}').map_or(after.len(), |e| e + 1);
        out.push('_');
        rest = &after[end..];
    }
    out.push_str(rest);
    Ok(out)
}
