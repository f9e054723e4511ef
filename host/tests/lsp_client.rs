//! `fitz lsp` against a real client: the pytest-lsp suite in `tests/lsp` (diagnostics on open
//! and on change, hover on a field, definition across files, completion after `.` and `@`
//! while the file does not parse, renaming a type in every file, formatting, symbols and a
//! quick fix per mechanical `help:`), run with this build's `fitz`.

use std::process::Command;

#[test]
fn the_language_server_answers_a_real_client() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/lsp");
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(&dir)
        .env("FITZ_BIN", env!("CARGO_BIN_EXE_fitz"))
        .output()
        .expect("python3 runs (tests/run.sh installs pytest-lsp)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("10 passed"), "{text}");
}
