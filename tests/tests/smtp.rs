//! `smtp.send` against a real SMTP server (Python's aiosmtpd, keeping what it receives in a
//! maildir this test reads): the message arrives with its headers, text and HTML parts and the
//! `Message-ID` the app was told; a bad address is an `Err` naming the key; the egress policy
//! applies as to HTTP (a tenant reaches no SMTP server until its operator allows one).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fitz_host::host_fns::http::Egress;
use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
type Mail { to: Str, subject: Str }

@post("/send")
async fn send(body: Mail) -> Map<Str, Str> {
    return match smtp.send({"to": body.to, "from": "bot@fitz.test", "subject": body.subject, "body_text": "plain words", "body_html": "<p>html words</p>"}).await {
        Ok(r) => ({ "id": r.message_id, "delivered": "{r.delivered}" }),
        Err(e) => ({ "error": e }),
    }
}
"#;

struct Server {
    child: Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

/// aiosmtpd on a free port, storing messages in a maildir.
fn smtp_server() -> Server {
    let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let maildir = std::env::temp_dir().join(format!("fitz_smtp_{}_{port}", std::process::id()));
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd (tests/run.sh installs it)");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, port, maildir }
}

fn received(maildir: &Path) -> Vec<String> {
    let new = maildir.join("new");
    let mut out: Vec<String> = std::fs::read_dir(&new).map(|d| d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect()).unwrap_or_default();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_arrives_as_the_app_sent_it() {
    let server = smtp_server();
    let port = server.port.to_string();
    let settings = [("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", port.as_str()), ("SMTP_TLS", "none")];
    let app = TestApp::start(APP, Backend::Sqlite, &settings, Limits::local()).await;
    let r = app.post("/send", None, &json!({ "to": "ada@example.com", "subject": "Hello from Fitz" })).await;
    assert_eq!(r.body["delivered"], "true", "{}", r.text);
    let id = r.body["id"].as_str().expect("a message id").to_string();
    let mail = received(&server.maildir);
    assert_eq!(mail.len(), 1, "one message arrived");
    let m = &mail[0];
    for part in
        ["To: ada@example.com", "From: bot@fitz.test", "Subject: Hello from Fitz", &format!("Message-ID: {id}"), "plain words", "<p>html words</p>", "multipart/alternative"]
    {
        assert!(m.contains(part), "{part:?} missing from:\n{m}");
    }

    let r = app.post("/send", None, &json!({ "to": "not an address", "subject": "x" })).await;
    assert_eq!(r.body, json!({ "error": "smtp: invalid `to` address" }));
    assert_eq!(received(&server.maildir).len(), 1, "nothing more was sent");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_egress_policy_decides_which_server_a_tenant_reaches() {
    let server = smtp_server();
    let port = server.port.to_string();
    let settings = [("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", port.as_str()), ("SMTP_TLS", "none")];
    let mail = json!({ "to": "ada@example.com", "subject": "s" });
    // A tenant's default: nothing.
    let app = TestApp::start(APP, Backend::Sqlite, &settings, Limits::default()).await;
    let r = app.post("/send", None, &mail).await;
    assert_eq!(r.body, json!({ "error": format!("smtp: the app may not call 127.0.0.1:{port} (not in its egress policy)") }));
    app.stop().await;
    // The server allowed by its address: reached. By `localhost`: a name never reaches loopback.
    let egress = Egress::parse(&[format!("127.0.0.1:{port}"), format!("localhost:{port}")]).expect("rules");
    let app = TestApp::start(APP, Backend::Sqlite, &settings, Limits { egress: egress.clone(), ..Limits::default() }).await;
    assert_eq!(app.post("/send", None, &mail).await.body["delivered"], "true");
    app.stop().await;
    let by_name = [("SMTP_HOST", "localhost"), ("SMTP_PORT", port.as_str()), ("SMTP_TLS", "none")];
    let app = TestApp::start(APP, Backend::Sqlite, &by_name, Limits { egress, ..Limits::default() }).await;
    let r = app.post("/send", None, &mail).await;
    assert_eq!(r.body, json!({ "error": "smtp: localhost resolves only to addresses the app may not reach" }));
    app.stop().await;
    assert_eq!(received(&server.maildir).len(), 1);
}
