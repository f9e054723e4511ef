//! Several roles: a user type with `roles: List<Str>` (instead of `role: Str`) passes
//! `@requires`/`@admin` when any of its roles is one the route requires, and a 403 names
//! `current_roles`.

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"type User { name: Str, roles: List<Str> }

@auth_provider
fn who(headers: Map<Str, Str>) -> Result<User> {
    let name = headers.get("x-name")?
    let roles = headers.get("x-roles")?
    return Ok(User { name: name, roles: if roles == "" { [] } else { roles.split(",") } })
}

@requires("editor") @requires("publisher")
@get("/publish")
fn publish(user: User) -> Str => "published by {user.name}"

@admin
@get("/admin")
fn admin(user: User) -> List<Str> => user.roles
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_of_several_roles_admits() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let ask = |path: &'static str, roles: &'static str| {
        let req = reqwest::Client::new().get(app.url(path)).header("x-name", "ada").header("x-roles", roles);
        app.send(req)
    };
    let r = ask("/publish", "viewer,publisher").await;
    assert_eq!((r.status, r.body.clone()), (200, json!("published by ada")));
    let r = ask("/admin", "editor,admin").await;
    assert_eq!((r.status, r.body.clone()), (200, json!(["editor", "admin"])));
    let r = ask("/publish", "viewer,guest").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body, json!({ "error": "forbidden", "current_roles": ["viewer", "guest"], "required_roles": ["editor", "publisher"] }));
    let r = ask("/admin", "").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body, json!({ "error": "forbidden", "current_roles": [], "required_roles": ["admin"] }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_the_403_of_several_roles() {
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let doc = app.get("/openapi.json", None).await.body;
    let forbidden = &doc["components"]["schemas"]["Forbidden"];
    assert_eq!(forbidden["required"], json!(["error", "current_roles", "required_roles"]), "{forbidden}");
    assert_eq!(forbidden["properties"]["current_roles"]["type"], "array");
}

const HIERARCHY: &str = r#"type User { name: Str, role: Str }

@auth_provider
@roles("admin > editor > viewer")
fn who(headers: Map<Str, Str>) -> Result<User> => Ok(User { name: "x", role: headers.get("x-role")? })

@requires("viewer")
@get("/read")
fn read(user: User) -> Str => "read as {user.role}"

@requires("editor")
@get("/edit")
fn edit(user: User) -> Str => "edited as {user.role}"
"#;

/// A declared hierarchy: a role passes as every role below it, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_passes_as_the_roles_below_it() {
    let app = TestApp::start(HIERARCHY, Backend::Sqlite, &[], Limits::default()).await;
    let ask = |path: &'static str, role: &'static str| app.send(reqwest::Client::new().get(app.url(path)).header("x-role", role));
    for (path, role, status) in [
        ("/read", "viewer", 200),
        ("/read", "editor", 200),
        ("/read", "admin", 200),
        ("/edit", "editor", 200),
        ("/edit", "admin", 200),
        ("/edit", "viewer", 403),
        ("/read", "guest", 403),
    ] {
        let r = ask(path, role).await;
        assert_eq!(r.status, status, "{role} on {path}: {}", r.text);
    }
    let r = ask("/edit", "viewer").await;
    assert_eq!(r.body, json!({ "error": "forbidden", "current_role": "viewer", "required_roles": ["editor"] }));
}

/// Each protected operation lists its roles (`x-required-roles`) and says so in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_each_operations_roles() {
    let app = TestApp::start(HIERARCHY, Backend::Sqlite, &[], Limits::default()).await;
    let doc = app.get("/openapi.json", None).await.body;
    let edit = &doc["paths"]["/edit"]["get"];
    assert_eq!(edit["x-required-roles"], json!(["editor"]), "{edit}");
    assert_eq!(edit["description"], "Requires the role `editor` (or a role declared above it).");
}
