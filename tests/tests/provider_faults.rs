//! A provider that faults refuses: a runtime error inside the `@auth_provider` (a missing
//! header read by index, a token without the claim the provider reads, a division by zero)
//! answers 401 with a generic message, never a 500 and never the error's text; the log keeps the
//! position so the app's author can find it.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp, logs_text};
use serde_json::json;

const APP: &str = r#"type User { id: Int, role: Str }

@auth_provider
fn who(headers: Map<Str, Str>) -> Result<User> {
    let raw = headers["x-user"]
    let claims = jwt.decode(raw, "provider-fault-secret-0123456789abcdef012345")?
    let id = claims["sub"].to_int()?
    let share = 100 / (id - 7)
    return Ok(User { id: id + share - share, role: "user" })
}

@authenticated
@get("/me")
fn me(user: User) -> User => user
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_in_the_provider_is_a_401() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    // Tokens signed by PyJWT, an implementation of its own.
    let sign = |claims: serde_json::Value| {
        fitz_tests::python::run(
            "import jwt, json, sys\nprint(jwt.encode(json.loads(sys.argv[1]), 'provider-fault-secret-0123456789abcdef012345', algorithm='HS256'))",
            &[&claims.to_string()],
        )
    };
    let exp = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() + 600) as i64;

    // A good token answers.
    let good = sign(json!({ "sub": "3", "exp": exp }));
    let r = app.send(reqwest::Client::new().get(app.url("/me")).header("x-user", &good)).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({ "id": 3, "role": "user" })));

    // No header (a key read by index), a token without `sub`, and a division by zero: each is a
    // runtime error inside the provider.
    let no_sub = sign(json!({ "name": "x", "exp": exp }));
    let seven = sign(json!({ "sub": "7", "exp": exp }));
    for (header, what) in [(None, "missing header"), (Some(no_sub.as_str()), "no sub"), (Some(seven.as_str()), "division by zero")] {
        let mut req = reqwest::Client::new().get(app.url("/me"));
        if let Some(h) = header {
            req = req.header("x-user", h);
        }
        let r = app.send(req).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.body, json!({ "error": "unauthorized" }), "{what}: the answer names no internals");
    }
    // The log says where the provider failed.
    let logs = logs_text();
    for failure in ["app.fitz:5:23: key not found: \"x-user\"", "app.fitz:7:21: key not found: \"sub\"", "app.fitz:8:17: division by zero"] {
        assert!(logs.contains(&format!("the auth provider failed, so the request is refused: {failure}")), "{failure} is logged:\n{logs}");
    }
}

fn leeway_app(server: &str) -> String {
    format!(
        "{server}\ntype User {{ id: Int, role: Str }}\n@auth_provider\nfn who(headers: Map<Str, Str>) -> Result<User> {{\n    let claims = jwt.decode(headers.get(\"x-user\")?, \"provider-fault-secret-0123456789abcdef012345\")?\n    return Ok(User {{ id: 1, role: \"user\" }})\n}}\n@authenticated\n@get(\"/me\")\nfn me(user: User) -> User => user\n"
    )
}

/// The clock-skew allowance on `exp` is the app's: 30 s by default, `@server(jwt_leeway=…)`
/// from 0 to 300.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leeway_on_expiry_is_set_per_app() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let expired = |ago: i64| {
        fitz_tests::python::run(
            "import jwt, sys\nprint(jwt.encode({'sub': '1', 'exp': int(sys.argv[1])}, 'provider-fault-secret-0123456789abcdef012345', algorithm='HS256'))",
            &[&(now - ago).to_string()],
        )
    };
    for (server, ago, status) in [
        ("", 10, 200),
        ("", 90, 401),
        ("@server(jwt_leeway=0)\nfn main() => 0", 10, 401),
        ("@server(jwt_leeway=120)\nfn main() => 0", 90, 200),
        ("@server(jwt_leeway=120)\nfn main() => 0", 200, 401),
    ] {
        let app = TestApp::start(&leeway_app(server), Backend::Sqlite, &[], Limits::default()).await;
        let r = app.send(reqwest::Client::new().get(app.url("/me")).header("x-user", expired(ago))).await;
        assert_eq!(r.status, status, "{server:?}, expired {ago} s ago: {}", r.text);
        if status == 401 {
            assert_eq!(r.body, json!({ "error": "token expired" }));
        }
    }
}
