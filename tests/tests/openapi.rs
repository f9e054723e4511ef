//! OpenAPI 3.1: the seed program's document against its golden file and the shape
//! `../shared/seed/article.txt` promises (bearer scheme, security and 401 on the protected
//! routes, 403 on the role routes, nothing on `/login`); every example's document accepted by
//! an independent validator (openapi-spec-validator from PyPI); the document a running app
//! serves at `/openapi.json` is the one `fitz openapi` prints.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::{Value, json};

fn document(path: &std::path::Path) -> String {
    let name = path.file_name().expect("name").to_string_lossy().into_owned();
    // A project folder (the shop example) is read as `fitz openapi DIR` reads it.
    if path.is_dir() {
        let project = fitz_compiler::project::load(&fitz_compiler::project::Layout::find(path).expect("project"), &fitz_compiler::project::Disk);
        let artifact = fitz_compiler::compile_project(&project).unwrap_or_else(|d| panic!("{}", d.render_in(&project.sources, false)));
        return fitz_host::openapi::json(&artifact.manifest, &name);
    }
    let source = std::fs::read_to_string(path).expect("source");
    let artifact = fitz_compiler::compile(&source, "x.fitz").expect("compiles");
    fitz_host::openapi::json(&artifact.manifest, &name)
}

#[test]
fn seed_document_matches_golden_and_the_article() {
    let text = document(&fitz_tests::seed_path());
    let golden = fitz_tests::repo_root().join("tests/cases/openapi/auth.openapi.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).expect("write golden");
    }
    let expected = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(text, expected, "the seed's OpenAPI document changed; review and rerun with UPDATE_GOLDEN=1");

    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"], json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT" }));
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method) in [("/me", "get"), ("/admin/users", "get"), ("/articles", "post"), ("/auth/logout", "post")] {
        let o = op(path, method);
        assert_eq!(o["security"], json!([{ "bearerAuth": [] }]), "{path}");
        assert_eq!(o["responses"]["401"]["description"], "auth", "{path}");
    }
    for (path, method) in [("/admin/users", "get"), ("/articles", "post")] {
        assert!(op(path, method)["responses"]["403"].is_object(), "{path} answers 403");
    }
    assert!(op("/me", "get")["responses"]["403"].is_null());
    let login = op("/login", "post");
    assert!(login["security"].is_null(), "/login is public");
    assert_eq!(login["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Credentials");
    assert!(login["responses"]["401"].is_object(), "the 401 the handler declares with `return 401 …`");
    assert_eq!(doc["components"]["schemas"]["User"]["properties"]["email"]["type"], "string");
}

#[test]
fn hidden_fields_and_nullable_types_in_schemas() {
    let source = r#"
type Account { id: Int, email: Str, nick: Str?, tags: List<Str>, @hidden password_hash: Str, seen: DateTime? }
@get("/accounts/{id}?verbose={verbose}")
fn account(id: Int, verbose: Bool?) -> Account? => null
"#;
    let artifact = fitz_compiler::compile(source, "a.fitz").expect("compiles");
    let doc: Value = serde_json::from_str(&fitz_host::openapi::json(&artifact.manifest, "a.fitz")).expect("json");
    let account = &doc["components"]["schemas"]["Account"];
    assert!(account["properties"]["password_hash"].is_null(), "@hidden stays out");
    assert_eq!(account["required"], json!(["id", "email", "tags"]));
    assert_eq!(account["properties"]["nick"]["oneOf"][1]["type"], "null");
    assert_eq!(account["properties"]["seen"]["oneOf"][0]["format"], "date-time");
    let params = &doc["paths"]["/accounts/{id}"]["get"]["parameters"];
    assert_eq!(params[0]["name"], "id");
    assert_eq!(params[0]["in"], "path");
    assert_eq!(params[1]["name"], "verbose");
    assert_eq!(params[1]["required"], false);
    assert!(doc["components"]["securitySchemes"].is_null(), "no provider, no bearer scheme");
}

#[test]
fn every_example_passes_an_independent_validator() {
    let root = fitz_tests::repo_root();
    let mut files = vec![root.join("examples/seed/auth.fitz"), root.join("examples/notes/notes.fitz"), root.join("examples/shop")];
    files.sort();
    for f in files {
        assert_eq!(fitz_tests::python::validate_openapi(&document(&f)), "valid", "{}", f.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_the_printed_one() {
    let source = std::fs::read_to_string(fitz_tests::seed_path()).expect("seed");
    let app = TestApp::start(&source, Backend::Sqlite, &[("JWT_SECRET", "openapi-secret-0123456789abcdef0123456789")], Limits::default()).await;
    let served = app.get("/openapi.json", None).await;
    assert_eq!(served.status, 200);
    let artifact = fitz_compiler::compile(&source, "app.fitz").expect("compiles");
    assert_eq!(served.text, fitz_host::openapi::json(&artifact.manifest, "app.fitz"));
    let page = app.get("/docs", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("/docs/scalar.js") && page.text.contains("/openapi.json"));
    assert!(page.headers.get("content-security-policy").is_some_and(|v| v.to_str().unwrap_or("").contains("connect-src 'self'")));
    let script = app.send(app.client.get(app.url("/docs/scalar.js"))).await;
    assert_eq!(script.status, 200);
    assert!(script.text.contains("@scalar/api-reference"), "the bundled script (decompressed by the client)");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_settings_version_or_hide_the_documents() {
    let versioned = "@server(port=8080, api_version=\"2.3.4\")\nfn main() => 0\n@get(\"/ping\")\nfn ping() -> Str => \"pong\"\n";
    let app = TestApp::start(versioned, Backend::Sqlite, &[], Limits::default()).await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["info"]["version"], "2.3.4");

    // `docs=false`: neither document is served; the app's routes still are, and a route of
    // its own at one of those paths answers there.
    let hidden = "@server(docs=false)\nfn main() => 0\n@get(\"/ping\")\nfn ping() -> Str => \"pong\"\n@get(\"/docs\")\nfn own_docs() -> Str => \"see the wiki\"\n";
    let app = TestApp::start(hidden, Backend::Sqlite, &[], Limits::default()).await;
    assert_eq!(app.get("/openapi.json", None).await.status, 404);
    let r = app.get("/docs", None).await;
    assert_eq!((r.status, r.body.clone()), (200, serde_json::json!("see the wiki")));
    assert_eq!(app.get("/ping", None).await.status, 200);
    assert_eq!(app.get("/healthz", None).await.status, 200);
}
