//! Programs of several files as a user runs them: `import` beside the file, `fitz.toml`
//! projects with path dependencies, and every command taking a project directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fitz() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitz"));
    c.env("NO_COLOR", "1");
    c
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-projects-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        std::fs::write(p, text).expect("write");
    }
}

fn text(o: &Output) -> (Option<i32>, String, String) {
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A project `shop` with three modules of its own and a path dependency `greetings`.
fn shop(name: &str) -> PathBuf {
    let root = temp_dir(name);
    write(
        &root,
        &[
            ("greetings/fitz.toml", "[package]\nname = \"greetings\"\nversion = \"0.1.0\"\n\n[lib]\nentry = \"src/lib.fitz\"\n"),
            ("greetings/src/lib.fitz", "fn hola(n: Str) -> Str => \"hola, {n}\"\n"),
            (
                "shop/fitz.toml",
                "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2026\"\n\n[bin]\nmain = \"src/main.fitz\"\n\n[dependencies]\ngreetings = { path = \"../greetings\" }\n",
            ),
            ("shop/src/models.fitz", "type User {\n    id: Int\n    name: Str\n}\n"),
            ("shop/src/text/shout.fitz", "fn shout(s: Str) -> Str => s.upper()\nfn pick(xs: List<Int>, i: Int) -> Int {\n    return xs[i]\n}\n"),
            (
                "shop/src/main.fitz",
                "from models import User\nimport text.shout as t\nfrom greetings import hola\n\nlet u = User { id: 1, name: \"ada\" }\nprint(t.shout(hola(u.name)))\nprint(t.pick([1, 2], 1))\n",
            ),
        ],
    );
    root.join("shop")
}

#[test]
fn a_project_directory_checks_builds_and_runs() {
    let dir = shop("all");
    let (code, _, err) = text(&fitz().arg("check").arg(&dir).output().expect("run"));
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = text(&fitz().arg("run").arg(&dir).output().expect("run"));
    assert_eq!((code, out.as_str()), (Some(0), "HOLA, ADA\n2\n"), "{err}");
    // In the project's directory, the commands need no path (as upstream's `fitz run`).
    let (code, out, err) = text(&fitz().current_dir(&dir).arg("run").output().expect("run"));
    assert_eq!((code, out.as_str()), (Some(0), "HOLA, ADA\n2\n"), "{err}");
    let (code, _, err) = text(&fitz().current_dir(dir.join("src")).arg("check").output().expect("run"));
    assert_eq!(code, Some(2), "src/ is not a project: {err}");
    assert!(err.contains("has no `fitz.toml`"), "{err}");
    // A file inside the project is read with the project's dependencies.
    let (code, out, err) = text(&fitz().arg("run").arg(dir.join("src/main.fitz")).output().expect("run"));
    assert_eq!((code, out.as_str()), (Some(0), "HOLA, ADA\n2\n"), "{err}");
    // `fitz build DIR` writes the project's module, named after it; the manifest names every
    // source, and the module runs as the sources do.
    let (code, _, err) = text(&fitz().arg("build").arg(&dir).output().expect("run"));
    assert_eq!(code, Some(0), "{err}");
    let wasm = std::fs::read(dir.join("shop.wasm")).expect("shop.wasm in the project");
    let manifest = guest_abi::manifest::Manifest::from_module(&wasm).expect("manifest");
    assert_eq!(manifest.source, "src/main.fitz");
    assert_eq!(manifest.sources.len(), 4, "{:?}", manifest.sources);
    assert!(manifest.sources.contains(&"src/text/shout.fitz".to_string()), "{:?}", manifest.sources);
    let (code, out, _) = text(&fitz().arg("run").arg(dir.join("shop.wasm")).output().expect("run"));
    assert_eq!((code, out.as_str()), (Some(0), "HOLA, ADA\n2\n"));
}

#[test]
fn problems_name_the_file_they_are_in() {
    let dir = shop("errors");
    write(&dir, &[("src/models.fitz", "type User {\n    id: Int\n    name: Str\n}\nlet BAD: Int = \"no\"\n")]);
    let (code, _, err) = text(&fitz().arg("check").arg(&dir).output().expect("run"));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--> src/models.fitz:5:16"), "{err}");
    let json = fitz().args(["check", "--format", "json"]).arg(&dir).output().expect("run");
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(doc["diagnostics"][0]["file"], "src/models.fitz", "{doc}");
    assert_eq!(doc["diagnostics"][0]["line"], 5, "{doc}");
    // A runtime error in a module names the module's file and line.
    let dir = shop("runtime");
    write(&dir, &[("src/main.fitz", "import text.shout as t\nprint(t.pick([1, 2], 5))\n")]);
    let (code, _, err) = text(&fitz().arg("run").arg(&dir).output().expect("run"));
    assert_eq!(code, Some(1));
    assert_eq!(err.trim(), "error: src/text/shout.fitz:3:15: index out of range", "{err}");
}

#[test]
fn a_cycle_and_a_missing_module_are_refused_clearly() {
    let dir = temp_dir("cycle");
    write(&dir, &[("main.fitz", "import a\nprint(a.f())\n"), ("a.fitz", "from b import g\nfn f() -> Int => g()\n"), ("b.fitz", "from a import f\nfn g() -> Int => 1\n")]);
    let (code, _, err) = text(&fitz().arg("check").arg(dir.join("main.fitz")).output().expect("run"));
    assert_eq!(code, Some(1));
    assert!(err.contains("error[import-cycle]: import cycle: a → b → a"), "{err}");
    assert!(err.contains("b.fitz:1:1"), "{err}");
    write(&dir, &[("main.fitz", "import util.missing\nprint(1)\n")]);
    let (code, _, err) = text(&fitz().arg("run").arg(dir.join("main.fitz")).output().expect("run"));
    assert_eq!(code, Some(1));
    assert!(err.contains("no module `util.missing`") && err.contains("util/missing.fitz"), "{err}");
}

#[test]
fn fitz_toml_mistakes_are_reported() {
    let root = temp_dir("toml");
    write(&root, &[("p/fitz.toml", "[package]\nname = \"p\"\n\n[dependencies]\nremote = { git = \"https://example.com/x\" }\n"), ("p/src/main.fitz", "print(1)\n")]);
    let (code, _, err) = text(&fitz().arg("check").arg(root.join("p")).output().expect("run"));
    assert_eq!(code, Some(2));
    assert!(err.contains("dependency `remote` is a git dependency"), "{err}");
    write(&root, &[("q/fitz.toml", "[package\nname = 1\n"), ("q/src/main.fitz", "print(1)\n")]);
    let (code, _, err) = text(&fitz().arg("build").arg(root.join("q")).output().expect("run"));
    assert_eq!(code, Some(2));
    assert!(err.contains("fitz.toml"), "{err}");
    write(&root, &[("r/fitz.toml", "[package]\nname = \"r\"\n")]);
    let (code, _, err) = text(&fitz().arg("run").arg(root.join("r")).output().expect("run"));
    assert_eq!(code, Some(2));
    assert!(err.contains("names no program"), "{err}");
}

fn fitz_in(args: &[&str], dir: &Path) -> Output {
    fitz().args(args).current_dir(dir).output().expect("fitz")
}

#[test]
fn fitz_fmt_rewrites_in_place_and_check_only_reports() {
    let dir = std::env::temp_dir().join(format!("fitz-fmt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).expect("dir");
    let messy = "// the app\nfn  add(a:Int,b:Int)->Int{\n  return a+b*2 // doubled\n}\n\n\n\nprint( add(1,2) )\n";
    std::fs::write(dir.join("src/app.fitz"), messy).expect("write");
    std::fs::write(dir.join("src/bad.fitz"), "fn (\n").expect("write");
    let out = fitz_in(&["fmt", "--check", "src/app.fitz"], &dir);
    assert_eq!(out.status.code(), Some(1), "--check reports a file that would change");
    assert_eq!(std::fs::read_to_string(dir.join("src/app.fitz")).expect("read"), messy, "--check writes nothing");
    let out = fitz_in(&["fmt", "src/app.fitz"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let formatted = std::fs::read_to_string(dir.join("src/app.fitz")).expect("read");
    assert_eq!(formatted, "// the app\nfn add(a: Int, b: Int) -> Int {\n    return a + b * 2 // doubled\n}\n\nprint(add(1, 2))\n");
    assert_eq!(fitz_in(&["fmt", "--check", "src/app.fitz"], &dir).status.code(), Some(0), "formatted files pass --check");
    // A folder: the file that does not parse is reported and left alone.
    let out = fitz_in(&["fmt", "src"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.fitz does not parse"));
    assert_eq!(std::fs::read_to_string(dir.join("src/bad.fitz")).expect("read"), "fn (\n");
}

/// Copies a folder (the example, so its database is made outside the repository).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else if !src.extension().is_some_and(|e| e == "db" || e == "db-wal" || e == "db-shm") {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

#[test]
fn the_shop_example_serves_its_page_sessions_and_cart() {
    use std::io::{BufRead, BufReader};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop");
    let dir = temp_dir("shop");
    copy_dir(&root, &dir.join("shop"));
    let (code, _, err) = text(&fitz().arg("check").arg(dir.join("shop")).output().expect("check"));
    assert_eq!((code, err.as_str()), (Some(0), ""), "checks clean, no warnings");
    let mut child = fitz()
        .arg("run")
        .arg(dir.join("shop"))
        .args(["--port", "0"])
        .env_remove("DATABASE_URL")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("fitz run");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let base = loop {
        let line = lines.next().expect("banner").expect("line");
        if let Some(rest) = line.split(" on http://").nth(1) {
            break format!("http://{}", rest.trim());
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let c = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = c.get(format!("{base}/")).send().expect("home");
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap_or("")), (302, "/app/"));
    let page = c.get(format!("{base}/app/")).send().expect("page").text().expect("text");
    assert!(page.contains("<h1>Shop</h1>"));
    let r = c.get(format!("{base}/api/cart")).send().expect("cart");
    assert_eq!(r.status(), 401, "the middleware refuses a request without a session");
    let r = c.post(format!("{base}/api/login")).json(&serde_json::json!({ "email": "a@x.com", "password": "pw" })).send().expect("login");
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().expect("cookie").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().expect("pair").to_string();
    let r = c.post(format!("{base}/api/cart")).header("cookie", &session).json(&serde_json::json!({ "product": "mate" })).send().expect("add");
    assert_eq!(r.status(), 200);
    let items: serde_json::Value = c.get(format!("{base}/api/cart")).header("cookie", &session).send().expect("cart").json().expect("json");
    assert_eq!(items[0]["product"], "mate");
    // Checkout is answered at once; a background task writes the order and empties the cart.
    let r = c.post(format!("{base}/api/checkout")).header("cookie", &session).send().expect("checkout");
    assert_eq!(r.status(), 202);
    let mut orders = serde_json::Value::Null;
    for _ in 0..100 {
        orders = c.get(format!("{base}/api/orders")).header("cookie", &session).send().expect("orders").json().expect("json");
        if orders.as_array().is_some_and(|o| !o.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(orders, serde_json::json!([{ "id": 1, "account_id": 1, "items": 1, "summary": "1 x mate" }]));
    let items: serde_json::Value = c.get(format!("{base}/api/cart")).header("cookie", &session).send().expect("cart").json().expect("json");
    assert_eq!(items, serde_json::json!([]), "the task emptied the cart");
    // The account, its cart and its orders preloaded; the password hash is not in it.
    let me: serde_json::Value = c.get(format!("{base}/api/me")).header("cookie", &session).send().expect("me").json().expect("json");
    assert_eq!(me, serde_json::json!({ "id": 1, "email": "a@x.com", "cart": [], "orders": [{ "id": 1, "account_id": 1, "items": 1, "summary": "1 x mate" }] }));
    let r = c.post(format!("{base}/api/login")).json(&serde_json::json!({ "email": "a@x.com", "password": "wrong" })).send().expect("login");
    assert_eq!(r.status(), 401);
    let r = c
        .request(reqwest::Method::OPTIONS, format!("{base}/api/cart"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "GET")
        .send()
        .expect("preflight");
    assert_eq!(r.status(), 204, "the development front end's origin may call the API");
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
}
