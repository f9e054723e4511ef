//! Feature flags and settings as upstream has them: `@flag("name")` hides a route (404, before
//! authentication) while the flag is off; `flag("name")` / `flags.is_enabled("name")` read it;
//! it is on when the app's settings say `FITZ_FLAG_<NAME>=1|true|on|yes` (the environment and
//! `.env` under `fitz run`, the operator's settings under `fitz host`), else its default from
//! `fitz.toml`'s `[flags]`, else off. `config(key, default)` reads the same settings.

use std::path::PathBuf;

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
type User { email: Str }

@auth_provider
fn who(headers: Map<Str, Str>) -> Result<User> {
    return Err("no one")
}

@flag("beta")
@get("/beta")
fn beta() -> Str => "beta"

@flag("beta")
@authenticated
@get("/beta/private")
fn private(user: User) -> Str => user.email

@get("/info")
fn info() -> Map<Str, Str> {
    return { "dark": "{flag("dark-mode")}", "beta": "{flags.is_enabled("beta")}", "greeting": config("GREETING", "hi") }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_off_hides_its_route_before_authentication() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.get("/beta", None).await;
    assert_eq!((r.status, &r.body), (404, &json!({ "error": "feature 'beta' disabled" })));
    assert_eq!(app.get("/beta/private", None).await.status, 404, "off: not there, so no 401 either");
    assert_eq!(app.get("/info", None).await.body, json!({ "dark": "false", "beta": "false", "greeting": "hi" }));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_turn_flags_on_and_configure() {
    let env = [("FITZ_FLAG_BETA", "1"), ("FITZ_FLAG_DARK_MODE", "On"), ("GREETING", "hey")];
    let app = TestApp::start(APP, Backend::Sqlite, &env, Limits::default()).await;
    assert_eq!(app.get("/beta", None).await.body, json!("beta"));
    assert_eq!(app.get("/beta/private", None).await.status, 401, "on: the route is there, and authenticates");
    assert_eq!(app.get("/info", None).await.body, json!({ "dark": "true", "beta": "true", "greeting": "hey" }));
    app.stop().await;
    let off = [("FITZ_FLAG_BETA", "no")];
    let app = TestApp::start(APP, Backend::Sqlite, &off, Limits::default()).await;
    assert_eq!(app.get("/beta", None).await.status, 404);
    app.stop().await;
}

#[test]
fn fitz_toml_gives_the_defaults() {
    let dir = std::env::temp_dir().join(format!("fitz_flags_{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).expect("dir");
    std::fs::write(dir.join("fitz.toml"), "[package]\nname = \"flags\"\n\n[flags]\nbeta = true\nnew-checkout = false\n").expect("write");
    std::fs::write(dir.join("src/main.fitz"), "@flag(\"beta\")\n@get(\"/b\")\nfn b() -> Str => \"b\"\n").expect("write");
    let layout = fitz_compiler::project::Layout::find(&dir).expect("a project");
    let project = fitz_compiler::project::load(&layout, &fitz_compiler::project::Disk);
    let artifact = fitz_compiler::compile_project(&project).expect("compiles");
    let defaults: Vec<(String, bool)> = artifact.manifest.flags.clone().into_iter().collect();
    assert_eq!(defaults, [("beta".to_string(), true), ("new-checkout".to_string(), false)]);
    assert_eq!(artifact.manifest.routes[0].flag.as_deref(), Some("beta"));
    let on = |setting: Option<&str>, name: &str| guest_abi::manifest::flag_enabled(&artifact.manifest.flags, setting, name);
    assert!(on(None, "beta") && !on(None, "new-checkout") && !on(None, "unknown"));
    assert!(!on(Some("0"), "beta") && on(Some("yes"), "new-checkout") && !on(Some("maybe"), "unknown"));
    assert_eq!(guest_abi::manifest::flag_setting("new-checkout"), "FITZ_FLAG_NEW_CHECKOUT");
    let _ = std::fs::remove_dir_all(PathBuf::from(&dir));
}
