//! `@server(auto_auth_endpoints=true)`: `/auth/login`, `/auth/refresh` and `/auth/logout`
//! mounted on the app's own provider and user type, end to end on both databases, documented
//! in OpenAPI (checked by openapi-spec-validator); a route the app declares itself wins.

use fitz_host::runtime::app::Limits;
use fitz_tests::python;
use fitz_tests::server::{Backend, TestApp};
use serde_json::{Value, json};

const SECRET: &str = "auto-auth-test-secret-that-is-long-enough-for-hs256";

const APP: &str = r#"
type User { id: Int, email: Str, role: Str, password_hash: Str }
type Signup { email: Str, password: Str }

@server(auto_auth_endpoints=true)
fn main() => 0

let KEY = secret("JWT_SECRET")

@auth_provider
async fn check(headers: Map<Str, Str>, db: DbConn) -> Result<User> {
    let raw = headers.get("authorization")?
    let claims = jwt.decode(raw.replace("Bearer ", ""), KEY.expose())?
    if (auth.is_blacklisted(db, claims["jti"]).await?) {
        return Err("token revoked")
    }
    return User.where(fn(u) => u.email == claims["sub"]).first(db).await
}

@post("/signup")
async fn signup(db: DbConn, body: Signup) -> Map<Str, Bool> {
    User.insert(db, User { id: 0, email: body.email, role: "editor", password_hash: hash.password(body.password) }).await?
    return { "ok": true }
}

@authenticated
@get("/me")
fn me(user: User) -> Map<Str, Str> => { "email": user.email, "role": user.role }
"#;

fn pair(body: &Value) -> (String, String) {
    (body["access_token"].as_str().expect("access").to_string(), body["refresh_token"].as_str().expect("refresh").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refresh_logout_on_sqlite() {
    flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refresh_logout_on_postgres() {
    flow(Backend::Postgres).await;
}

async fn flow(backend: Backend) {
    let app = TestApp::start(APP, backend, &[("JWT_SECRET", SECRET)], Limits::default()).await;
    assert_eq!(app.post("/signup", None, &json!({ "email": "ada@example.com", "password": "correct horse" })).await.status, 200);
    let refused = json!({ "error": "invalid credentials" });
    for (email, password) in [("ada@example.com", "wrong"), ("nobody@example.com", "correct horse")] {
        let r = app.post("/auth/login", None, &json!({ "email": email, "password": password })).await;
        assert_eq!((r.status, &r.body), (401, &refused), "{email}");
    }
    let r = app.post("/auth/login", None, &json!({ "email": "ada@example.com", "password": "correct horse" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access, refresh) = pair(&r.body);
    let claims = python::jwt_decode(&access, SECRET, "HS256").expect("PyJWT verifies it");
    assert_eq!((claims["sub"].as_str(), claims["role"].as_str()), (Some("ada@example.com"), Some("editor")));
    assert_eq!(app.get("/me", Some(&access)).await.body, json!({ "email": "ada@example.com", "role": "editor" }));

    let r = app.post("/auth/refresh", None, &json!({ "refresh_token": refresh })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access2, refresh2) = pair(&r.body);
    assert_eq!(app.get("/me", Some(&access2)).await.status, 200);

    // Logout needs a signed-in user, and ends the session: both access tokens and the refresh token.
    assert_eq!(app.post("/auth/logout", None, &json!({ "refresh_token": refresh2 })).await.status, 401);
    let r = app.post("/auth/logout", Some(&access2), &json!({ "refresh_token": refresh2 })).await;
    assert_eq!((r.status, r.body), (200, json!({ "ok": true })));
    for token in [&access, &access2] {
        assert_eq!(app.get("/me", Some(token)).await.status, 401);
    }
    let r = app.post("/auth/refresh", None, &json!({ "refresh_token": refresh2 })).await;
    assert_eq!((r.status, r.body), (401, json!({ "error": "refresh token revoked" })));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoints_are_documented_and_the_apps_own_route_wins() {
    let own = APP.replace("@authenticated\n@get(\"/me\")", "@post(\"/auth/logout\")\nfn my_logout() -> Str => \"mine\"\n\n@authenticated\n@get(\"/me\")");
    let app = TestApp::start(&own, Backend::Sqlite, &[("JWT_SECRET", SECRET)], Limits::default()).await;
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(python::validate_openapi(&doc.text), "valid", "openapi-spec-validator");
    let paths = &doc.body["paths"];
    let login = &paths["/auth/login"]["post"];
    assert!(login["responses"]["200"].to_string().contains("TokenPair"), "{login}");
    assert!(login["responses"]["401"].is_object(), "{login}");
    let schemas = &doc.body["components"]["schemas"];
    assert_eq!(schemas["AuthLoginRequest"]["required"], json!(["email", "password"]));
    assert_eq!(schemas["TokenPair"]["properties"]["expires_in"]["type"], "integer");
    assert!(paths["/auth/refresh"]["post"].is_object());
    assert_eq!(app.post("/auth/logout", None, &json!({})).await.body, json!("mine"), "the app's own route");
    app.stop().await;
}
