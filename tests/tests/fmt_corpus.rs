//! `fitz fmt` over every `.fitz` of the repository: formatting twice changes nothing the second
//! time, the formatted program is the same tree (spans aside), every comment is still there,
//! and the programs with expected output print it exactly as before when formatted (runtime
//! error positions aside: the layout moves lines). The command is tried in
//! `host/tests/cli_projects.rs`.

use std::path::PathBuf;

use fitz_compiler::syntax::lexer::lex_with_comments;
use fitz_compiler::syntax::print;
use fitz_tests::{compile_and_run, repo_root};

/// The tree's debug form without its spans.
fn shape(source: &str) -> Option<String> {
    fitz_tests::tree_shape(source).ok()
}

fn comments(source: &str) -> Vec<String> {
    let (_, _, spans) = lex_with_comments(source);
    let mut texts: Vec<String> = spans.iter().map(|(s, e)| source[*s as usize..*e as usize].to_string()).collect();
    texts.sort();
    texts
}

fn corpus() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = Vec::new();
    let mut dirs = vec![root.join("tests/cases"), root.join("tests/conformance"), root.join("examples"), root.join("host/src/commands/new")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "fitz") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `error: FILE:LINE:COL: message` without the position.
fn without_positions(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| match l.strip_prefix("error: ").and_then(|r| r.split_once(": ")) {
            Some((place, message)) if place.contains(':') => format!("error: {message}"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn formatting_is_stable_keeps_the_tree_and_every_comment() {
    let mut failures = Vec::new();
    let mut formatted_count = 0;
    for path in corpus() {
        let source = std::fs::read_to_string(&path).expect("corpus file");
        let Some(before) = shape(&source) else { continue };
        let name = path.display().to_string();
        let Some(once) = print::format_source(&source) else {
            failures.push(format!("{name}: parses but does not format"));
            continue;
        };
        formatted_count += 1;
        let twice = print::format_source(&once);
        if twice.as_deref() != Some(once.as_str()) {
            failures.push(format!("{name}: a second run changes it\n--- first\n{once}\n--- second\n{}", twice.unwrap_or_default()));
            continue;
        }
        if shape(&once).as_deref() != Some(before.as_str()) {
            failures.push(format!("{name}: the formatted program is another tree\n--- formatted\n{once}"));
            continue;
        }
        if comments(&once) != comments(&source) {
            failures.push(format!("{name}: comments changed\n--- before\n{:?}\n--- after\n{:?}", comments(&source), comments(&once)));
        }
    }
    assert!(failures.is_empty(), "{} files:\n{}", failures.len(), failures.join("\n\n"));
    assert!(formatted_count >= 200, "only {formatted_count} programs formatted");
}

#[test]
fn formatted_programs_run_as_before() {
    let dir = repo_root().join("tests/cases/run");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("cases/run").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "fitz")).collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let source = std::fs::read_to_string(path).expect("program");
        let formatted = print::format_source(&source).expect("formats");
        let before = fitz_compiler::compile(&source, &name).map(|a| a.manifest);
        let after = fitz_compiler::compile(&formatted, &name).map(|a| a.manifest);
        match (before, after) {
            (Ok(b), Ok(a)) if a != b => failures.push(format!("{name}: another manifest")),
            (Ok(_), Err(d)) => failures.push(format!("{name}: the formatted program does not compile: {}", d.render(&name, &formatted, false))),
            _ => {}
        }
        let expected_out = std::fs::read_to_string(path.with_extension("out")).unwrap_or_default();
        let expected_err = std::fs::read_to_string(path.with_extension("err")).unwrap_or_default();
        match compile_and_run(&formatted, &name) {
            Ok((code, out, err)) => {
                if out != expected_out || without_positions(&err) != without_positions(&expected_err) || (code == 0) != expected_err.is_empty() {
                    failures.push(format!("{name}: runs differently once formatted\n--- stdout\n{out}--- stderr\n{err}"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
