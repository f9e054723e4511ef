//! The conformance suite: `tests/conformance/NN-topic.fitz`, one program per chapter of
//! upstream's guide (written here, not copied), each run by `fitz run` as a user runs it and
//! compared byte for byte with the output upstream documents for the same behaviour:
//! `NN-topic.out` (stdout; `NN-topic.err` holds the expected stderr of a program that ends
//! with a runtime error, exit status 1), or, for a command-line program, `NN-topic.runs`:
//!
//! ```text
//! $ greet Ana --loud        <- the arguments after `--`, split on spaces
//! HELLO, Ana!               <- expected stdout lines
//! ! error: …                <- expected stderr lines
//! ? 2                       <- expected exit status (0 when absent)
//! ```
//!
//! Each program is also built (`fitz build`) and the module run (`fitz run prog.wasm`): it must
//! answer the same, as upstream's build chapter promises of its binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fitz_run(file: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fitz")).env("NO_COLOR", "1").arg("run").arg(file).arg("--").args(args).output().expect("run fitz");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

struct Run {
    args: String,
    out: String,
    err: String,
    status: i32,
}

fn transcript(text: &str) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for line in text.lines() {
        if let Some(args) = line.strip_prefix("$ ").or_else(|| (line == "$").then_some("")) {
            runs.push(Run { args: args.to_string(), out: String::new(), err: String::new(), status: 0 });
            continue;
        }
        let run = runs.last_mut().expect("a transcript starts with `$ args`");
        if let Some(status) = line.strip_prefix("? ") {
            run.status = status.trim().parse().expect("exit status");
        } else if let Some(err) = line.strip_prefix("! ").or_else(|| (line == "!").then_some("")) {
            run.err.push_str(err);
            run.err.push('\n');
        } else {
            run.out.push_str(line);
            run.out.push('\n');
        }
    }
    runs
}

fn programs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("tests/conformance").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "fitz")).collect();
    files.sort();
    files
}

#[test]
fn every_chapter_prints_what_upstream_documents() {
    let files = programs();
    assert!(files.len() >= 20, "only {} conformance programs", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let runs = match std::fs::read_to_string(file.with_extension("runs")) {
            Ok(text) => transcript(&text),
            Err(_) => {
                let out = std::fs::read_to_string(file.with_extension("out")).unwrap_or_else(|_| panic!("{name}: no .out or .runs"));
                let err = std::fs::read_to_string(file.with_extension("err")).unwrap_or_default();
                let status = if err.is_empty() { 0 } else { 1 };
                vec![Run { args: String::new(), out, err, status }]
            }
        };
        // Upstream's chapter on building: the built module prints what the source does.
        // Same stem: a command-line program's usage names it.
        let dir = std::env::temp_dir().join(format!("fitz-conformance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let built = dir.join(name.replace(".fitz", ".wasm"));
        let build = Command::new(env!("CARGO_BIN_EXE_fitz")).arg("build").arg(file).arg("-o").arg(&built).output().expect("run fitz build");
        assert!(build.status.success(), "{name}: fitz build: {}", String::from_utf8_lossy(&build.stderr));
        for target in [file.as_path(), built.as_path()] {
            for run in &runs {
                let args: Vec<&str> = run.args.split_whitespace().collect();
                let (status, out, err) = fitz_run(target, &args);
                if (status, &out, &err) != (run.status, &run.out, &run.err) {
                    failures.push(format!(
                        "{} [{}]: exit {status} (expected {})\n--- stdout\n{out}--- expected\n{}--- stderr\n{err}--- expected\n{}",
                        target.display(),
                        run.args,
                        run.status,
                        run.out,
                        run.err
                    ));
                }
            }
        }
        let _ = std::fs::remove_file(&built);
    }
    assert!(failures.is_empty(), "{} of {} runs differ:\n\n{}", failures.len(), files.len(), failures.join("\n\n"));
}
