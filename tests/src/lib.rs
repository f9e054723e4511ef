//! Helpers shared by the end-to-end and golden tests.

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
