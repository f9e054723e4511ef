//! Golden programs: each `cases/run/NAME.fitz` is compiled, validated and run in wasmtime;
//! its stdout must equal `NAME.out`, and its stderr `NAME.err` (a runtime error, exit status
//! 1) or nothing (exit status 0). The expected files are written by hand, not recorded.

use fitz_tests::{compile_and_run, repo_root};

#[test]
fn programs_print_their_expected_output() {
    let dir = repo_root().join("tests/cases/run");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("cases/run").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "fitz")).collect();
    files.sort();
    assert!(files.len() >= 80, "only {} golden programs", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let source = std::fs::read_to_string(path).expect("program");
        let expected_out = std::fs::read_to_string(path.with_extension("out")).unwrap_or_else(|_| panic!("{name}: no .out file"));
        let expected_err = std::fs::read_to_string(path.with_extension("err")).unwrap_or_default();
        let expected_code = if expected_err.is_empty() { 0 } else { 1 };
        match compile_and_run(&source, &name) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok((code, out, err)) => {
                if out != expected_out {
                    failures.push(format!("{name}: stdout differs\n--- expected\n{expected_out}--- got\n{out}"));
                }
                if err != expected_err || code != expected_code {
                    failures.push(format!("{name}: exit {code} (expected {expected_code}), stderr:\n{err}--- expected\n{expected_err}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} programs failed:\n\n{}", failures.len(), files.len(), failures.join("\n\n"));
}
