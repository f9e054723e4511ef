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
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let fields = |i: usize| -> serde_json::Value { serde_json::from_str(lines[i]["fields"]["fields"].as_str().expect("fields")).expect("fields JSON") };
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "user created");
    assert_eq!(fields(0), serde_json::json!({"id": "5", "name": "ada", "admin": "true", "token": "***"}));
    assert_eq!(lines[1]["level"], "WARN");
    assert_eq!(fields(1), serde_json::json!({"ms": "12.5"}));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cr3t"), "a secret never reaches the log");
}

const COMMANDS: &str = r#"/// Repeats a word.
@command("echo", desc="Repeat a word")
fn echo_word(word: Str, shout: Bool = false, times: Int = 1, color: Bool = true, ratio: Float = 0.5) -> Int {
    for _ in 0..times {
        if shout { print(word.upper()) } else { print(word) }
    }
    if not color { print("plain") }
    if ratio != 0.5 { print("ratio {ratio}") }
    return 0
}

@command("sum", desc="Add numbers")
fn sum(first: Int, rest: List<Str>) -> Int {
    let total = first
    for r in rest {
        match r.to_int() {
            Ok(n) => { total += n }
            Err(_) => { return 3 }
        }
    }
    print("total {total}")
    return total
}

@command("ping")
fn ping() -> Int {
    print("pong")
    return 0
}
"#;

/// `fitz run prog.fitz -- ARGS`: (status, stdout, stderr).
fn run_command(src: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = fitz().arg("run").arg(src).arg("--").args(args).output().expect("run");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn commands_read_their_command_line() {
    let dir = temp_dir("commands");
    let src = dir.join("tool.fitz");
    std::fs::write(&src, COMMANDS).expect("write");
    let ok = |args: &[&str], expected: &str| {
        let (code, out, err) = run_command(&src, args);
        assert_eq!((code, out.as_str(), err.as_str()), (0, expected, ""), "{args:?}");
    };
    ok(&["echo", "hi"], "hi\n");
    ok(&["echo", "hi", "--shout", "-t", "2"], "HI\nHI\n");
    ok(&["echo", "--times=3", "hi", "--no-color"], "hi\nhi\nhi\nplain\n");
    ok(&["echo", "--shout=false", "--ratio", "2.25", "x"], "x\nratio 2.25\n");
    ok(&["echo", "--", "-not-an-option"], "-not-an-option\n");
    assert_eq!(run_command(&src, &["sum", "-3", "10", "-2"]), (5, "total 5\n".to_string(), String::new()));
    ok(&["ping"], "pong\n");
    // A command's Int is the exit status (clamped to what a process can return).
    assert_eq!(run_command(&src, &["sum", "7"]).0, 7);
    assert_eq!(run_command(&src, &["sum", "300"]).0, 255);
    assert_eq!(run_command(&src, &["sum", "-5"]).0, 0);
    assert_eq!(run_command(&src, &["sum", "1", "x"]).0, 3);

    // Help: the program's commands, and a command's usage, description, `///` text and options.
    let (code, out, _) = run_command(&src, &["--help"]);
    assert_eq!(code, 0);
    assert_eq!(out, "usage: tool <command> [arguments]\n\ncommands:\n  echo  Repeat a word\n  sum   Add numbers\n  ping\n");
    let (code, out, _) = run_command(&src, &["echo", "-h"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "usage: tool echo <word> [--shout] [--times <times>] [--no-color] [--ratio <ratio>]\n\nRepeat a word\n\nRepeats a word.\n\n\
         options:\n  -s, --shout\n  -t, --times <times>  (default: 1)\n  --no-color\n  -r, --ratio <ratio>  (default: 0.5)\n"
    );

    // A malformed command line: a message naming what was wrong and the usage, on stderr; status 2.
    let usage = "usage: tool echo <word> [--shout] [--times <times>] [--no-color] [--ratio <ratio>]\n";
    for (args, message) in [
        (&["echo"][..], "error: missing <word>\n"),
        (&["echo", "a", "b"][..], "error: unexpected argument `b`\n"),
        (&["echo", "a", "--times", "x"][..], "error: --times takes an integer, not `x`\n"),
        (&["echo", "a", "--times"][..], "error: --times needs a value\n"),
        (&["echo", "a", "--ratio=fast"][..], "error: --ratio takes a number, not `fast`\n"),
        (&["echo", "a", "--shout=maybe"][..], "error: --shout is true or false, not `maybe`\n"),
        (&["echo", "a", "--loud"][..], "error: unknown option `--loud`\n"),
    ] {
        let (code, out, err) = run_command(&src, args);
        assert_eq!((code, out.as_str(), err), (2, "", format!("{message}{usage}")), "{args:?}");
    }
    let (code, _, err) = run_command(&src, &["ping", "x"]);
    assert_eq!((code, err.as_str()), (2, "error: unexpected argument `x`\nusage: tool ping\n"));
    let (code, _, err) = run_command(&src, &["deploy"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: unknown command `deploy`\nusage: tool <command> [arguments]\n"), "{err}");
    let (code, _, err) = run_command(&src, &[]);
    assert_eq!(code, 2);
    assert!(err.starts_with("usage: tool <command> [arguments]"), "{err}");

    // The built module reads its command line too; a long argument list is just data.
    let out = fitz().arg("build").arg(&src).output().expect("build");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let many: Vec<String> = std::iter::once("sum".to_string()).chain((0..5000).map(|_| "1".to_string())).collect();
    let out = fitz().arg("run").arg(dir.join("tool.wasm")).arg("--").args(&many).output().expect("run wasm");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "total 5000\n");
    let big = "x".repeat(100_000);
    let (code, out, _) = run_command(&src, &["echo", &big]);
    assert_eq!((code, out.len()), (0, big.len() + 1));
}
