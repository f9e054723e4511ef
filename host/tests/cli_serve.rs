//! The README's walk-through, with the real `fitz` binary: `fitz run` serves the notes
//! example on embedded SQLite; create the first user, log in, call `/me`, be refused by
//! `/admin/users` as a viewer, log out; then SIGTERM stops the server cleanly. Also
//! `fitz serve` of a built module, and start-up refusals.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo").to_path_buf()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

struct Server {
    child: Child,
    base: String,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// Starts `fitz ARGS --port 0` and waits for the banner's address.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let args: Vec<&str> = args.iter().copied().chain(["--port", "0"]).collect();
        Server::start_as_given(&args, env)
    }

    /// Starts `fitz ARGS --port 0` in `dir` and waits for the banner's address.
    fn start_in(dir: &std::path::Path, args: &[&str]) -> Server {
        let args: Vec<&str> = args.iter().copied().chain(["--port", "0"]).collect();
        Server::start_with(&args, &[], Some(dir))
    }

    /// Starts `fitz ARGS` and waits for the banner's address.
    fn start_as_given(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_with(args, env, None)
    }

    fn start_with(args: &[&str], env: &[(&str, &str)], dir: Option<&std::path::Path>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fitz"));
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        cmd.args(args).stderr(Stdio::piped()).stdout(Stdio::null()).env_remove("DATABASE_URL").env_remove("JWT_SECRET");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("fitz starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
                // Leave no server behind when the test fails here.
                let _ = child.kill();
                let _ = child.wait();
                panic!("no banner; stderr so far: {seen:?}");
            };
            if let Some(rest) = line.split(" on http://").nth(1) {
                return Server { child, base: format!("http://{}", rest.trim()), stderr: rx };
            }
            seen.push(line);
        }
    }

    /// SIGTERM, then the exit status and the rest of stderr.
    fn stop(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let status = self.child.wait().expect("exits");
        let rest: Vec<String> = self.stderr.try_iter().collect();
        (status.code(), rest.join("\n"))
    }
}

/// Asks `url` until it answers `{"answer": want}` (20 s at most); every request in between
/// must succeed: a change being swapped in fails none.
fn wait_for_answer(c: &reqwest::blocking::Client, url: &str, want: &str) {
    let started = std::time::Instant::now();
    loop {
        let (s, body) = call(c, "GET", url, None, None);
        assert_eq!(s, 200, "no request fails while the program changes");
        if body == json!({ "answer": want }) {
            return;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the change to {want} was not picked up");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn call(client: &reqwest::blocking::Client, method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = client.request(method.parse().expect("method"), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().expect("request");
    let status = res.status().as_u16();
    (status, res.json().unwrap_or(Value::Null))
}

#[test]
fn readme_walkthrough_with_the_notes_example() {
    let dir = temp_dir("notes");
    std::fs::copy(repo().join("examples/notes/notes.fitz"), dir.join("notes.fitz")).expect("copy");
    std::fs::copy(repo().join("examples/notes/.env"), dir.join(".env")).expect("copy .env");
    let app = dir.join("notes.fitz");
    let server = Server::start(&["run", app.to_str().expect("utf-8")], &[]);
    let c = reqwest::blocking::Client::new();
    let u = |p: &str| format!("{}{p}", server.base);
    let password = "a long enough password";

    let (s, admin) = call(&c, "POST", &u("/setup"), None, Some(json!({ "email": "ada@example.com", "name": "Ada", "password": password })));
    assert_eq!(s, 200, "{admin}");
    assert_eq!(admin["role"], "admin");
    assert!(admin.get("password_hash").is_none(), "@hidden stays out of responses");
    let (s, again) = call(&c, "POST", &u("/setup"), None, Some(json!({ "email": "x@example.com", "name": "X", "password": "x" })));
    assert_eq!((s, again), (409, json!({ "error": "already set up" })));

    let (s, t) = call(&c, "POST", &u("/login"), None, Some(json!({ "email": "ada@example.com", "password": password })));
    assert_eq!(s, 200);
    let admin_token = t["token"].as_str().expect("token").to_string();
    let (s, me) = call(&c, "GET", &u("/me"), Some(&admin_token), None);
    assert_eq!((s, &me["email"]), (200, &json!("ada@example.com")));

    let (s, _) = call(&c, "POST", &u("/users"), Some(&admin_token), Some(json!({ "email": "vic@example.com", "name": "Vic", "password": password })));
    assert_eq!(s, 200);
    let (_, t) = call(&c, "POST", &u("/login"), None, Some(json!({ "email": "vic@example.com", "password": password })));
    let viewer_token = t["token"].as_str().expect("token").to_string();
    let (s, body) = call(&c, "GET", &u("/admin/users"), Some(&viewer_token), None);
    assert_eq!((s, body), (403, json!({ "error": "forbidden", "current_role": "viewer", "required_roles": ["admin"] })));
    let (s, users) = call(&c, "GET", &u("/admin/users"), Some(&admin_token), None);
    assert_eq!((s, users.as_array().map(Vec::len)), (200, Some(2)));

    let (s, note) = call(&c, "POST", &u("/notes"), Some(&admin_token), Some(json!({ "title": "first", "body": "hello" })));
    assert_eq!((s, &note["title"]), (200, &json!("first")));
    let (s, _) = call(&c, "POST", &u("/notes"), Some(&viewer_token), Some(json!({ "title": "no", "body": "no" })));
    assert_eq!(s, 403);
    let (s, notes) = call(&c, "GET", &u("/notes?limit=5"), Some(&admin_token), None);
    assert_eq!((s, notes.as_array().map(Vec::len)), (200, Some(1)));

    let (s, out) = call(&c, "POST", &u("/auth/logout"), Some(&admin_token), None);
    assert_eq!((s, out), (200, json!({ "ok": true })));
    let (s, body) = call(&c, "GET", &u("/me"), Some(&admin_token), None);
    assert_eq!((s, body), (401, json!({ "error": "token revoked" })));
    let (s, _) = call(&c, "GET", &u("/readyz"), None, None);
    assert_eq!(s, 200);

    let (code, logs) = server.stop();
    assert_eq!(code, Some(0), "SIGTERM stops the server cleanly: {logs}");
    assert!(dir.join("notes.db").exists(), "the SQLite file lives next to the app");
    for secret in [password, admin_token.as_str(), viewer_token.as_str(), "dev-only-notes-secret"] {
        assert!(!logs.contains(secret), "the log leaks something sensitive");
    }
}

#[test]
fn serve_runs_a_built_module_and_refuses_missing_secrets() {
    let dir = temp_dir("built");
    std::fs::copy(repo().join("examples/notes/notes.fitz"), dir.join("notes.fitz")).expect("copy");
    let wasm = dir.join("notes.wasm");
    let out = Command::new(env!("CARGO_BIN_EXE_fitz")).arg("build").arg(dir.join("notes.fitz")).output().expect("build");
    assert!(out.status.success());

    // No JWT_SECRET anywhere: refused at start with the name.
    let out = Command::new(env!("CARGO_BIN_EXE_fitz")).arg("serve").arg(&wasm).args(["--port", "0"]).env_remove("JWT_SECRET").output().expect("serve");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secret JWT_SECRET not set"), "{err}");

    // A thread count that cannot serve: refused at start, named.
    let out = Command::new(env!("CARGO_BIN_EXE_fitz"))
        .arg("serve")
        .arg(&wasm)
        .args(["--port", "0"])
        .env("JWT_SECRET", "from-the-environment-0123456789abcdef0123")
        .env("FITZ_THREADS", "0")
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FITZ_THREADS=0 is not valid"), "{err}");

    // A module that is not one.
    std::fs::write(dir.join("junk.wasm"), b"\0asm junk").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_fitz")).arg("serve").arg(dir.join("junk.wasm")).output().expect("serve");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid WebAssembly"));

    // A scheduler that does not exist: refused at start, with the ones that do.
    let out = Command::new(env!("CARGO_BIN_EXE_fitz"))
        .arg("serve")
        .arg(&wasm)
        .args(["--port", "0"])
        .env("JWT_SECRET", "from-the-environment-0123456789abcdef0123")
        .env("FITZ_SCHEDULER", "round-robin")
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FITZ_SCHEDULER=round-robin is not valid (expected per-core or work-stealing)"), "{err}");

    // More serving threads than cores is allowed; each is a thread of its own, or, with
    // work stealing, none is.
    let layouts = [("per-core", "threads:  3, a runtime per thread", vec!["fitz-http-0", "fitz-http-1", "fitz-http-2"]), ("work-stealing", "threads:  3, work-stealing", vec![])];
    for (scheduler, banner, per_core_threads) in layouts {
        let dir = temp_dir(scheduler);
        std::fs::copy(&wasm, dir.join("notes.wasm")).expect("copy");
        let module = dir.join("notes.wasm");
        let env = [("JWT_SECRET", "from-the-environment-0123456789abcdef0123"), ("FITZ_THREADS", "3"), ("FITZ_SCHEDULER", scheduler)];
        let server = Server::start(&["serve", module.to_str().expect("utf-8")], &env);
        let c = reqwest::blocking::Client::new();
        let (s, _) = call(&c, "POST", &format!("{}/setup", server.base), None, Some(json!({ "email": "a@b.c", "name": "A", "password": "p" })));
        assert_eq!(s, 200);
        let (s, body) = call(&c, "POST", &format!("{}/login", server.base), None, Some(json!({ "email": "a@b.c", "password": "p" })));
        assert_eq!(s, 200, "{body}");
        let token = body["token"].as_str().expect("token").to_string();
        for _ in 0..20 {
            let (s, body) = call(&c, "GET", &format!("{}/me", server.base), Some(&token), None);
            assert_eq!((s, body["email"].as_str()), (200, Some("a@b.c")));
        }
        let (s, body) = call(&c, "GET", &format!("{}/nope", server.base), None, None);
        assert_eq!((s, body), (404, json!({ "error": "not found" })));
        let mut http_threads: Vec<String> = thread_names(server.child.id()).into_iter().filter(|n| n.starts_with("fitz-http-")).collect();
        http_threads.sort();
        assert_eq!(http_threads, per_core_threads, "{scheduler}");
        let (code, rest) = server.stop();
        assert_eq!(code, Some(0));
        assert!(rest.contains(banner), "{rest}");
    }
}

/// The names of a process's threads (Linux).
fn thread_names(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc");
    tasks.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok()).map(|n| n.trim().to_string()).collect()
}

#[test]
fn watch_swaps_on_save_and_keeps_serving_through_errors() {
    let dir = temp_dir("watch");
    let app = dir.join("live.fitz");
    let version = |answer: &str| format!("@get(\"/answer\")\nfn answer() -> Map<Str, Str> => {{ \"answer\": \"{answer}\" }}\n");
    std::fs::write(&app, version("one")).expect("write");
    let server = Server::start(&["run", "--watch", app.to_str().expect("utf-8")], &[]);
    let c = reqwest::blocking::Client::new();
    let url = format!("{}/answer", server.base);
    let wait_for = |want: &str| wait_for_answer(&c, &url, want);
    wait_for("one");
    // Modification times have a coarse grain on some filesystems; step past it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&app, version("two")).expect("write");
    wait_for("two");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&app, "@get(\"/answer\")\nfn answer() -> Map<Str, Str> => { \"answer\": 42 }\n").expect("write");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (s, body) = call(&c, "GET", &url, None, None);
    assert_eq!((s, body), (200, json!({ "answer": "two" })), "a compile error keeps the old version serving");
    std::fs::write(&app, version("three")).expect("write");
    wait_for("three");
    let (code, logs) = server.stop();
    assert_eq!(code, Some(0));
    assert!(logs.contains("still serving version 2"), "the diagnostics and the kept version are reported: {logs}");
    assert!(logs.contains("error["), "the compile error is shown as fitz check shows it: {logs}");
}

#[test]
fn server_decorator_sets_where_fitz_run_listens_unless_told_otherwise() {
    let dir = temp_dir("server-decorator");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let app = dir.join("app.fitz");
    let source = format!("@server(port={port}, host=\"127.0.0.1\")\nfn main() => 0\n\n@get(\"/\")\nfn index() -> Str => \"hi\"\n");
    std::fs::write(&app, source).expect("write");
    let app = app.to_str().expect("utf-8 path");
    let server = Server::start_as_given(&["run", app], &[]);
    assert_eq!(server.base, format!("http://127.0.0.1:{port}"), "the declared port");
    let body = reqwest::blocking::get(format!("{}/", server.base)).expect("answers").text().expect("body");
    assert_eq!(body, "\"hi\"");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
    // The environment, and a flag, win over the program's own setting.
    let server = Server::start_as_given(&["run", app], &[("FITZ_PORT", "0")]);
    assert_ne!(server.base, format!("http://127.0.0.1:{port}"), "FITZ_PORT wins");
    server.stop();
    let server = Server::start(&["run", app], &[]);
    assert_ne!(server.base, format!("http://127.0.0.1:{port}"), "--port wins");
    server.stop();
}

#[test]
fn watch_follows_every_file_of_a_project() {
    let dir = temp_dir("watch-project");
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(dir.join("fitz.toml"), "[package]\nname = \"live\"\n\n[bin]\nmain = \"src/main.fitz\"\n").expect("write");
    std::fs::write(dir.join("src/main.fitz"), "from words import answer\n\n@get(\"/answer\")\nfn get_answer() -> Map<Str, Str> => { \"answer\": answer() }\n").expect("write");
    std::fs::write(dir.join("src/words.fitz"), "fn answer() -> Str => \"one\"\n").expect("write");
    let server = Server::start(&["run", "--watch", dir.to_str().expect("utf-8")], &[]);
    let c = reqwest::blocking::Client::new();
    let url = format!("{}/answer", server.base);
    let wait_for = |want: &str| wait_for_answer(&c, &url, want);
    wait_for("one");
    // A change to an imported module, not the entry, is a change to the program.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(dir.join("src/words.fitz"), "fn answer() -> Str => \"two\"\n").expect("write");
    wait_for("two");
    // A module imported for the first time is watched from then on.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(dir.join("src/more.fitz"), "fn suffix() -> Str => \"!\"\n").expect("write");
    std::fs::write(dir.join("src/words.fitz"), "from more import suffix\nfn answer() -> Str => \"three\" + suffix()\n").expect("write");
    wait_for("three!");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(dir.join("src/more.fitz"), "fn suffix() -> Str => \"?\"\n").expect("write");
    wait_for("three?");
    let (code, logs) = server.stop();
    assert_eq!(code, Some(0));
    assert!(logs.contains("reloaded"), "{logs}");
}

#[test]
fn static_files_are_bundled_and_served_with_etags_and_ranges() {
    let dir = temp_dir("static");
    std::fs::create_dir_all(dir.join("site/public/css")).expect("dirs");
    std::fs::write(dir.join("site/fitz.toml"), "[package]\nname = \"site\"\n\n[bin]\nmain = \"src/main.fitz\"\n").expect("write");
    std::fs::create_dir_all(dir.join("site/src")).expect("src");
    std::fs::write(dir.join("site/src/main.fitz"), "@server(static_dir=\"public\", static_prefix=\"/assets\")\nfn main() => 0\n\n@get(\"/api\")\nfn api() -> Str => \"api\"\n")
        .expect("write");
    std::fs::write(dir.join("site/public/index.html"), "<h1>hola</h1>").expect("write");
    std::fs::write(dir.join("site/public/css/site.css"), "body { color: red }").expect("write");
    std::fs::write(dir.join("site/public/.secret"), "not bundled").expect("write");
    let digits: String = (0..1000).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
    std::fs::write(dir.join("site/public/digits.txt"), &digits).expect("write");
    // Built, then served from elsewhere: the files travel inside the module.
    let out = Command::new(env!("CARGO_BIN_EXE_fitz")).arg("build").arg(dir.join("site")).arg("-o").arg(dir.join("site.wasm")).output().expect("build");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(dir.join("site")).expect("the sources go away");
    let server = Server::start(&["serve", dir.join("site.wasm").to_str().expect("utf-8")], &[]);
    let c = reqwest::blocking::Client::new();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = c.get(format!("{}{path}", server.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().expect("request")
    };
    let r = get("/assets/", &[]);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let etag = r.headers()["etag"].to_str().expect("etag").to_string();
    assert_eq!(r.text().expect("body"), "<h1>hola</h1>");
    let r = get("/assets/index.html", &[("if-none-match", &etag)]);
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"].to_str().expect("etag"), etag);
    let r = get("/assets/css/site.css", &[("if-none-match", "\"other\"")]);
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap_or("")), (200, "text/css; charset=utf-8"));
    let r = get("/assets/digits.txt", &[("range", "bytes=10-19")]);
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/1000");
    assert_eq!(r.text().expect("body"), "0123456789");
    let r = get("/assets/digits.txt", &[("range", "bytes=-5")]);
    assert_eq!((r.status().as_u16(), r.text().expect("body")), (206, "56789".to_string()));
    let r = get("/assets/digits.txt", &[("range", "bytes=5000-")]);
    assert_eq!((r.status().as_u16(), r.headers()["content-range"].to_str().unwrap_or("")), (416, "bytes */1000"));
    for missing in ["/assets/.secret", "/assets/nope.js", "/assets/%2e%2e/fitz.toml", "/assets/css"] {
        assert_eq!(get(missing, &[]).status(), 404, "{missing}");
    }
    let r = c.head(format!("{}/assets/digits.txt", server.base)).send().expect("head");
    assert_eq!((r.status().as_u16(), r.headers()["content-length"].to_str().unwrap_or("")), (200, "1000"));
    let r = c.post(format!("{}/assets/index.html", server.base)).send().expect("post");
    assert_eq!(r.status(), 405);
    assert_eq!(get("/api", &[]).text().expect("body"), "\"api\"", "routes still answer");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn fitz_new_makes_projects_that_check_clean_test_and_serve() {
    let dir = temp_dir("new");
    for template in ["api", "auth"] {
        let project = dir.join(format!("my-{template}"));
        let out = Command::new(env!("CARGO_BIN_EXE_fitz")).args(["new", "--template", template]).arg(&project).output().expect("new");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = Command::new(env!("CARGO_BIN_EXE_fitz")).env("NO_COLOR", "1").arg("check").arg(&project).output().expect("check");
        assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned()), (Some(0), String::new()), "{template}: no errors, no warnings");
        // Its own tests pass, with the one command its README gives, in its folder.
        let out = Command::new(env!("CARGO_BIN_EXE_fitz")).env("NO_COLOR", "1").env_remove("JWT_SECRET").arg("test").current_dir(&project).output().expect("test");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        let passed = if template == "api" { "2 passed, 0 failed" } else { "3 passed, 0 failed" };
        assert!(out.status.success() && said.trim_end().ends_with(passed), "{template}: {said}{}", String::from_utf8_lossy(&out.stderr));
        // Again into the same folder: refused, nothing overwritten.
        let again = Command::new(env!("CARGO_BIN_EXE_fitz")).args(["new", "--template", template]).arg(&project).output().expect("new");
        assert_eq!(again.status.code(), Some(2));
    }
    let c = reqwest::blocking::Client::new();
    // The API serves from its folder, as its README says (`fitz run` there).
    let api = Server::start_in(&dir.join("my-api"), &["run"]);
    let (s, todo) = call(&c, "POST", &format!("{}/todos", api.base), None, Some(json!({ "title": "write tests" })));
    assert_eq!((s, &todo["title"], &todo["done"]), (200, &json!("write tests"), &json!(false)));
    let (s, list) = call(&c, "GET", &format!("{}/todos", api.base), None, None);
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)));
    let (s, _) = call(&c, "GET", &format!("{}/todos/99", api.base), None, None);
    assert_eq!(s, 404);
    api.stop();
    let auth = Server::start_in(&dir.join("my-auth"), &["run"]);
    let creds = json!({ "email": "ada@example.com", "password": "correct horse" });
    let (s, _) = call(&c, "POST", &format!("{}/setup", auth.base), None, Some(creds.clone()));
    assert_eq!(s, 200);
    let (s, token) = call(&c, "POST", &format!("{}/login", auth.base), None, Some(creds));
    assert_eq!(s, 200);
    let token = token["token"].as_str().expect("token").to_string();
    let (s, me) = call(&c, "GET", &format!("{}/me", auth.base), Some(&token), None);
    assert_eq!((s, &me["role"], me.get("password_hash").is_none()), (200, &json!("admin"), true));
    let (s, _) = call(&c, "POST", &format!("{}/auth/logout", auth.base), Some(&token), None);
    assert_eq!(s, 200);
    let (s, _) = call(&c, "GET", &format!("{}/me", auth.base), Some(&token), None);
    assert_eq!(s, 401, "a token is refused after logout");
    auth.stop();
    let bad = Command::new(env!("CARGO_BIN_EXE_fitz")).arg("new").arg(dir.join("Bad Name")).output().expect("new");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn sigterm_waits_for_background_tasks_to_finish() {
    let dir = temp_dir("background-drain");
    let app = dir.join("app.fitz");
    let source = r#"@table("events")
type Event { id: Int = 0, name: Str }

@background
async fn record(db: DbConn, name: Str) -> Result<Null> {
    sleep(1500).await
    Event.insert(db, Event { id: 0, name: name }).await?
    return Ok(null)
}

@post("/events/{name}")
fn create(db: DbConn, name: Str) -> Str {
    let _ = spawn(record(db, name))
    return "queued"
}

@get("/events")
async fn list(db: DbConn) -> List<Str> {
    return [e.name for e in Event.all(db).await?]
}
"#;
    std::fs::write(&app, source).expect("write");
    let app = app.to_str().expect("utf-8 path");
    let client = reqwest::blocking::Client::new();
    let server = Server::start(&["run", app], &[]);
    let (status, body) = call(&client, "POST", &format!("{}/events/drained", server.base), None, None);
    assert_eq!((status, body), (200, json!("queued")));
    // SIGTERM while the task sleeps: the process waits for it, then exits cleanly.
    let started = std::time::Instant::now();
    let (code, logs) = server.stop();
    assert_eq!(code, Some(0), "{logs}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(1000), "the exit waited for the task");
    assert!(logs.contains("waiting for background tasks to finish") && logs.contains("task=record"), "{logs}");
    // What the task wrote is there when the app comes back.
    let server = Server::start(&["run", app], &[]);
    let (status, body) = call(&client, "GET", &format!("{}/events", server.base), None, None);
    assert_eq!((status, body), (200, json!(["drained"])));
    server.stop();
}
