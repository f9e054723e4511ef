//! `fitz build` and `fitz run` as a user runs them.

use std::path::PathBuf;
use std::process::Command;

fn fitz() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitz"));
    c.env("NO_COLOR", "1");
    c
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn build_writes_a_valid_module() {
    let dir = temp_dir("build");
    let src = dir.join("app.fitz");
    std::fs::write(&src, "print(\"hi\")\n").expect("write");
    let out = fitz().arg("build").arg(&src).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let wasm = std::fs::read(dir.join("app.wasm")).expect("app.wasm next to the source");
    wasmparser::validate(&wasm).expect("valid");
    let custom = dir.join("custom.wasm");
    let out = fitz().args(["build", "--target", "wasm"]).arg(&src).arg("-o").arg(&custom).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read(custom).expect("custom"), wasm, "builds are deterministic");
}

#[test]
fn build_reports_errors_like_check() {
    let dir = temp_dir("build-err");
    let src = dir.join("bad.fitz");
    std::fs::write(&src, "let x: Int = \"no\"\n").expect("write");
    let out = fitz().arg("build").arg(&src).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[type-mismatch]") && err.contains("bad.fitz:1:14"), "{err}");
    assert!(!dir.join("bad.wasm").exists());
}

#[test]
fn build_emits_ir_on_request() {
    let dir = temp_dir("ir");
    let src = dir.join("a.fitz");
    std::fs::write(&src, "fn add(a: Int, b: Int) -> Int => a + b\nprint(add(1, 2))\n").expect("write");
    let out = fitz().args(["build", "--emit", "ir"]).arg(&src).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let ir = String::from_utf8_lossy(&out.stdout);
    assert!(ir.contains("func #0 add (i64 i64) -> (i64)") && ir.contains("I64Add"), "{ir}");
}

#[test]
fn run_prints_and_exits_zero() {
    let dir = temp_dir("run");
    let src = dir.join("hello.fitz");
    std::fs::write(&src, "let xs = [1, 2, 3]\nprint(\"sum\", xs[0] + xs[1] + xs[2])\n").expect("write");
    let out = fitz().arg("run").arg(&src).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sum 6\n");
}

#[test]
fn runtime_error_prints_position_and_exits_one() {
    let dir = temp_dir("run-err");
    let src = dir.join("crash.fitz");
    std::fs::write(&src, "print(\"before\")\nlet zero = 0\nprint(1 / zero)\n").expect("write");
    let out = fitz().arg("run").arg(&src).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "before\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "error: crash.fitz:3:7: division by zero\n");
}

#[test]
fn run_reads_secrets_from_dotenv_and_refuses_missing_ones() {
    let dir = temp_dir("secrets");
    let src = dir.join("s.fitz");
    std::fs::write(&src, "let k = secret(\"FITZ_CLI_TEST_KEY\")\nprint(k, k.expose().len())\n").expect("write");
    let out = fitz().arg("run").arg(&src).env_remove("FITZ_CLI_TEST_KEY").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("secret FITZ_CLI_TEST_KEY is not set"));
    std::fs::write(dir.join(".env"), "FITZ_CLI_TEST_KEY=abcdef\n").expect("write .env");
    let out = fitz().arg("run").arg(&src).env_remove("FITZ_CLI_TEST_KEY").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "*** 6\n");
}

#[test]
fn structured_log_lines_carry_their_named_fields() {
    let dir = temp_dir("log");
    let src = dir.join("log.fitz");
    let program = "token = secret(\"TOKEN\")\nlog.info(\"user created\", id: 5, name: \"ada\", admin: true, token: token)\nlog.warn(\"slow\", ms: 12.5)\nprint(\"done\")\n";
    std::fs::write(&src, program).expect("write");
    let out = fitz().arg("run").arg(&src).env("FITZ_LOG_FORMAT", "json").env("TOKEN", "s3cr3t-value").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stderr).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let fields = |i: usize| -> serde_json::Value { serde_json::from_str(lines[i]["fields"]["fields"].as_str().expect("fields")).expect("fields JSON") };
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "user created");
    assert_eq!(fields(0), serde_json::json!({"id": "5", "name": "ada", "admin": "true", "token": "***"}));
    assert_eq!(lines[1]["level"], "WARN");
    assert_eq!(fields(1), serde_json::json!({"ms": "12.5"}));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cr3t"), "a secret never reaches the log");
}
