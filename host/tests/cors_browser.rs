//! CORS as a browser applies it: headless Chromium loads a page from one app (one origin) whose
//! script calls another app (another origin, another port). A call succeeds only where the
//! route's `@middleware(cors(…))` allows that origin: a preflighted JSON POST with a custom
//! header and the cookie the API set (credentials), while a route without a policy and a route
//! allowing another origin are blocked by the browser.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

struct App(Child);

impl App {
    fn start(file: &Path, port: u16) -> App {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fitz"))
            .arg("run")
            .arg(file)
            .args(["--port", &port.to_string()])
            .env_remove("DATABASE_URL")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("fitz run");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        loop {
            let line = lines.next().expect("banner").expect("line");
            if line.contains(" on http://") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        App(child)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// `text` as a Fitz string literal: braces would start an interpolation.
fn fitz_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn a_browser_calls_across_origins_only_where_cors_allows() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Debian's chromium (apt-get install chromium; tests/run.sh installs it)");
    let dir = std::env::temp_dir().join(format!("fitz-cors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (front_port, api_port) = (free_port(), free_port());
    let (front, api) = (format!("http://127.0.0.1:{front_port}"), format!("http://127.0.0.1:{api_port}"));
    let api_source = format!(
        r#"
type Note {{
    text: Str
}}

@middleware(cors({{"allow_origin": "{front}", "allow_credentials": true}}))
@get("/api/login")
fn login() -> Response => Response {{ body: "in", cookies: [Cookie {{ name: "sid", value: "s-42" }}] }}

@middleware(cors({{"allow_origin": "{front}", "allow_credentials": true, "allow_methods": ["POST"], "allow_headers": ["content-type", "x-token"], "max_age": 60}}))
@cookie(name="sid")
@header(name="X-Token", into="token")
@post("/api/echo")
fn echo(sid: Str?, token: Str, body: Note) -> Map<Str, Str> {{
    let who = match sid {{
        null => "nobody",
        s => s,
    }}
    return {{"sid": who, "token": token, "text": body.text}}
}}

@get("/api/closed")
fn closed() -> Str => "closed"

@middleware(cors({{"allow_origin": "http://elsewhere.example"}}))
@get("/api/other")
fn other() -> Str => "other"
"#
    );
    let script = format!(
        r#"
const out = [];
const show = () => {{ document.getElementById('out').textContent = out.join(' | '); }};
(async () => {{
  try {{ const r = await fetch('{api}/api/login', {{ credentials: 'include' }}); out.push('login:' + (await r.text())); }} catch (e) {{ out.push('login:blocked'); }}
  try {{
    const r = await fetch('{api}/api/echo', {{ method: 'POST', credentials: 'include', headers: {{ 'content-type': 'application/json', 'x-token': 't-7' }}, body: JSON.stringify({{ text: 'hola' }}) }});
    const j = await r.json();
    out.push('echo:' + j.sid + ',' + j.token + ',' + j.text);
  }} catch (e) {{ out.push('echo:blocked'); }}
  try {{ const r = await fetch('{api}/api/closed'); out.push('closed:' + (await r.text())); }} catch (e) {{ out.push('closed:blocked'); }}
  try {{ const r = await fetch('{api}/api/other'); out.push('other:' + (await r.text())); }} catch (e) {{ out.push('other:blocked'); }}
  out.push('done');
  show();
}})();
"#
    );
    let front_source = format!(
        "@get(\"/\")\nfn page() -> Response => Response {{ content_type: \"text/html; charset=utf-8\", body: {} }}\n",
        fitz_string(&format!("<html><body><p id=\"out\">waiting</p><script>{script}</script></body></html>"))
    );
    std::fs::write(dir.join("api.fitz"), api_source).expect("write");
    std::fs::write(dir.join("front.fitz"), front_source).expect("write");
    let _api = App::start(&dir.join("api.fitz"), api_port);
    let _front = App::start(&dir.join("front.fitz"), front_port);

    let out = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
        .args(["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        .arg(format!("--user-data-dir={}", dir.join("chromium").display()))
        .args(["--virtual-time-budget=15000", "--dump-dom"])
        .arg(format!("{front}/"))
        .output()
        .expect("chromium runs");
    let html = String::from_utf8_lossy(&out.stdout);
    let text = html.split("<p id=\"out\">").nth(1).and_then(|t| t.split("</p>").next()).unwrap_or_default().to_string();
    assert_eq!(text, "login:in | echo:s-42,t-7,hola | closed:blocked | other:blocked | done", "page: {html}");
}
