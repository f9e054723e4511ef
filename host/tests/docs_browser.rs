//! `/docs` in a real browser with no network but loopback: headless Chromium (Debian's
//! `chromium`, installed by `.ci/run`) loads the page from a running `fitz run` of the seed
//! program, everything off the machine is unreachable (a dead proxy and a resolver that
//! resolves nothing), and the rendered page has every route and the bearer-token control, and
//! no control that needs a service off the machine.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo").to_path_buf()
}

/// The page's text: `<style>` and `<script>` bodies and all tags removed.
fn visible_text(html: &str) -> String {
    let mut rest = html.to_string();
    for tag in ["style", "script"] {
        let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
        let mut kept = String::with_capacity(rest.len());
        let mut s = rest.as_str();
        while let Some(start) = s.find(&open) {
            kept.push_str(&s[..start]);
            s = s[start..].find(&close).map_or("", |end| &s[start + end + close.len()..]);
        }
        kept.push_str(s);
        rest = kept;
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn docs_page_renders_offline_with_routes_and_bearer_auth() {
    let chromium =
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| Path::new(p).exists()).expect("Debian's chromium (apt-get install chromium; .ci/run installs it)");
    let dir = std::env::temp_dir().join(format!("fitz-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::copy(repo().join("examples/seed/auth.fitz"), dir.join("auth.fitz")).expect("copy");
    std::fs::copy(repo().join("examples/seed/.env"), dir.join(".env")).expect("copy");
    let mut server = Command::new(env!("CARGO_BIN_EXE_fitz"))
        .arg("run")
        .arg(dir.join("auth.fitz"))
        .args(["--port", "0"])
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("fitz run");
    let stderr = server.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().expect("banner").expect("line");
        if let Some(rest) = line.split(" on http://").nth(1) {
            break format!("http://{}", rest.trim());
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let out = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
        .args(["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        .arg(format!("--user-data-dir={}", dir.join("chromium").display()))
        .args(["--virtual-time-budget=20000", "--dump-dom"])
        .arg(format!("{base}/docs"))
        .output()
        .expect("chromium runs");
    let _ = Command::new("kill").arg("-TERM").arg(server.id().to_string()).status();
    let _ = server.wait();
    let html = String::from_utf8_lossy(&out.stdout);
    let text = visible_text(&html);
    for path in ["/login", "/me", "/admin/users", "/articles", "/auth/logout"] {
        assert!(text.contains(path), "the route list shows {path}; page text: {}", &text[..text.len().min(2000)]);
    }
    assert!(text.contains("Authentication"), "the authentication control is there");
    assert!(text.contains("bearerAuth") && text.contains("Bearer Token"), "it offers the bearer token of the app's scheme");
    assert!(text.contains("OAS 3.1.0"), "the document was loaded from /openapi.json");
    // No control that needs a service off the machine (Scalar's AI agent, its developer
    // toolbar with share and deploy), though the page is served from loopback, where Scalar
    // shows them by default.
    assert!(!html.contains("placeholder=\"Ask AI Agent\""), "no AI agent: {}", &text[..text.len().min(2000)]);
    assert!(!text.contains("Developer Tools"), "no developer toolbar: {}", &text[..text.len().min(2000)]);
}
