//! `fitz test` as a user runs it: the examples' own suites pass (on SQLite, and on PostgreSQL
//! with a schema per test that is dropped after), a deliberately broken handler makes tests
//! fail with the file, line and both sides, `--filter` picks tests, and the test client is
//! refused outside a test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fitz() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitz"));
    c.env("NO_COLOR", "1").env_remove("DATABASE_URL").env_remove("JWT_SECRET");
    c
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn run(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = fitz().args(args).current_dir(dir).output().expect("run fitz");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_examples_suites_pass() {
    let (code, out, err) = run(&["test", "examples/seed", "examples/notes", "examples/shop"], &repo());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("examples/seed/auth_test.fitz: 6 tests"), "{out}");
    assert!(out.contains("test logout_blacklists_the_token ... ok"), "{out}");
    assert!(out.contains("test checkout_answers_at_once_and_the_order_follows ... ok"), "{out}");
    assert!(out.trim_end().ends_with("16 passed, 0 failed"), "{out}");
}

#[test]
fn the_examples_suites_pass_on_postgres() {
    let url = "postgres://postgres@127.0.0.1:5432/postgres";
    let (code, out, err) = run(&["test", "examples/notes", "--db", url], &repo());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.trim_end().ends_with("5 passed, 0 failed"), "{out}");
    // The schemas made for the tests (named by the runner's process) are gone.
    let left = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-At", "-c", "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'fitz\\_test\\_%'"])
        .output()
        .expect("psql");
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "0", "{}", String::from_utf8_lossy(&left.stderr));
}

#[test]
fn a_broken_handler_fails_with_a_readable_difference() {
    let dir = temp_dir("broken");
    let notes = repo().join("examples/notes");
    let app = std::fs::read_to_string(notes.join("notes.fitz")).expect("notes");
    // The first account should be the admin; make it a viewer.
    let broken = app.replacen("body.password, \"admin\")", "body.password, \"viewer\")", 1);
    assert_ne!(broken, app);
    std::fs::write(dir.join("notes.fitz"), broken).expect("write");
    std::fs::copy(notes.join("notes_test.fitz"), dir.join("notes_test.fitz")).expect("copy");
    let (code, out, err) = run(&["test", "."], &dir);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("test setup_makes_the_first_account_an_admin ... FAILED"), "{out}");
    assert!(out.contains("---- setup_makes_the_first_account_an_admin ----\nnotes_test.fitz:23:5: assert_eq failed\n  left: viewer\n right: admin"), "{out}");
    assert!(out.contains("test logout_revokes_the_token ... ok"), "the others still run: {out}");
    assert!(out.trim_end().ends_with("2 passed, 3 failed"), "{out}");

    let (code, out, _) = run(&["test", ".", "--filter", "logout"], &dir);
    assert_eq!(code, 0);
    assert!(out.contains("notes_test.fitz: 1 test\ntest logout_revokes_the_token ... ok"), "{out}");
    assert!(out.trim_end().ends_with("1 passed, 0 failed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn assertions_report_their_messages_and_programs_that_do_not_compile_fail() {
    let dir = temp_dir("asserts");
    std::fs::write(
        dir.join("math_test.fitz"),
        "fn double(x: Int) -> Int => x * 3\n\n@test\nfn doubles() {\n    assert_eq(double(2), 4)\n}\n\n@test\nfn says_why() {\n    assert(double(1) == 2, \"double(1) is {double(1)}\")\n}\n\n@test\nfn passes() {\n    assert_eq([1, 2], [1, 2])\n}\n",
    )
    .expect("write");
    std::fs::write(dir.join("bad_test.fitz"), "@test\nfn nothing(x: Int) {}\n").expect("write");
    let (code, out, err) = run(&["test", "."], &dir);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("math_test.fitz:5:5: assert_eq failed\n  left: 6\n right: 4"), "{out}");
    assert!(out.contains("math_test.fitz:10:5: assertion failed: double(1) is 3"), "{out}");
    assert!(out.contains("test passes ... ok"), "{out}");
    assert!(err.contains("error[test-parameters]"), "{err}");
    assert!(out.contains("---- ./bad_test.fitz ----\ndoes not compile"), "{out}");
    assert!(out.trim_end().ends_with("1 passed, 3 failed"), "{out}");
    let (code, _, err) = run(&["test", "nowhere"], &dir);
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn watch_tests_again_when_a_file_changes() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("watch");
    let file = dir.join("w_test.fitz");
    std::fs::write(&file, "@test\nfn holds() {\n    assert_eq(1 + 1, 2)\n}\n").expect("write");
    let mut child = fitz().args(["test", "--watch", "."]).current_dir(&dir).stdout(std::process::Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200))
                && line.contains(want)
            {
                return true;
            }
        }
        false
    };
    assert!(wait_for("1 passed, 0 failed"), "the first run");
    // A later modification time than the first run saw, on any file system.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&file, "@test\nfn holds() {\n    assert_eq(1 + 1, 3)\n}\n").expect("write");
    let changed = wait_for("0 passed, 1 failed");
    let _ = child.kill();
    let _ = child.wait();
    assert!(changed, "the run after the change");
    let _ = std::fs::remove_dir_all(&dir);
}
