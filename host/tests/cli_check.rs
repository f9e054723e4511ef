//! `fitz check` as a user runs it: exit codes, messages, and the JSON format.

use std::path::PathBuf;
use std::process::Command;

fn fitz() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitz"));
    c.env("NO_COLOR", "1");
    c
}

fn case(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/cases/check").join(path)
}

/// A clean program: the example app (the seed earns warnings, `check_golden` says which).
fn clean() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/notes/notes.fitz")
}

#[test]
fn clean_program_exits_zero_and_prints_nothing() {
    let out = fitz().arg("check").arg(clean()).output().expect("run fitz");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn warnings_alone_exit_zero() {
    let out = fitz().arg("check").arg(case("err/auth_redundant_authenticated.fitz")).output().expect("run fitz");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("warning[redundant-authenticated]"), "{text}");
    assert!(text.contains("0 errors, 2 warnings"), "{text}");
}

#[test]
fn errors_exit_one_with_positions_and_snippets() {
    let out = fitz().arg("check").arg(case("err/auth_authenticated_without_provider.fitz")).output().expect("run fitz");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("error[no-auth-provider]"), "{text}");
    assert!(text.contains("auth_authenticated_without_provider.fitz:3:1"), "{text}");
    assert!(text.contains("@authenticated @get(\"/me\")"), "{text}");
    assert!(text.contains("^^^^^^^^^^^^^^"), "{text}");
}

#[test]
fn several_files_are_all_reported() {
    let out = fitz().arg("check").arg(case("err/cron_params.fitz")).arg(clean()).arg(case("err/route_duplicate.fitz")).output().expect("run fitz");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("cron_params.fitz:2:14") && text.contains("route_duplicate.fitz:4:1"), "{text}");
    assert!(text.contains("3 errors, 0 warnings"), "{text}");
}

#[test]
fn missing_file_is_a_usage_error_not_a_panic() {
    let out = fitz().args(["check", "does/not/exist.fitz"]).output().expect("run fitz");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(text.trim(), "error: cannot read does/not/exist.fitz: no such file");
}

#[test]
fn no_file_and_unknown_flags_are_usage_errors() {
    let out = fitz().arg("check").output().expect("run fitz");
    assert_eq!(out.status.code(), Some(2));
    let out = fitz().args(["check", "--format", "xml", "a.fitz"]).output().expect("run fitz");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_format_is_machine_readable() {
    let out = fitz().args(["check", "--format", "json"]).arg(case("err/auth_redundant_authenticated.fitz")).arg(case("err/route_two_bodies.fitz")).output().expect("run fitz");
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["warnings"], 3);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["code"], "redundant-authenticated");
    assert_eq!(first["line"], 6);
    assert_eq!(first["column"], 1);
    assert_eq!(first["end_column"], 15);
    assert_eq!(first["help"], "remove `@authenticated`");
    assert!(first["file"].as_str().is_some_and(|f| f.ends_with("auth_redundant_authenticated.fitz")));
    let two = doc["diagnostics"].as_array().expect("array").iter().find(|d| d["code"] == "two-bodies").expect("two-bodies");
    assert_eq!(two["labels"].as_array().map(Vec::len), Some(2));
}
