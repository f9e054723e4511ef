//! The seed program builds to a valid module whose manifest describes the app: routes with
//! their auth requirements, the cron job, the tables and the secret.

use guest_abi::manifest::{Manifest, Param, RouteAuth};
use guest_abi::types::ValueType;

#[test]
fn seed_manifest_describes_the_app() {
    let path = fitz_tests::seed_path();
    let source = std::fs::read_to_string(&path).expect("seed");
    let artifact = fitz_compiler::compile(&source, "auth.fitz").expect("the seed compiles");
    wasmparser::validate(&artifact.wasm).expect("valid module");
    let m = Manifest::from_module(&artifact.wasm).expect("manifest section");
    assert_eq!(m, artifact.manifest);
    assert_eq!(m.abi_version, guest_abi::ABI_VERSION);

    let route = |method: &str, path: &str| m.routes.iter().find(|r| r.method == method && r.path == path).unwrap_or_else(|| panic!("no {method} {path}"));
    assert_eq!(m.routes.len(), 5);
    assert_eq!(route("POST", "/login").auth, RouteAuth::Public);
    assert_eq!(route("GET", "/me").auth, RouteAuth::Authenticated);
    assert_eq!(route("GET", "/admin/users").auth, RouteAuth::Roles { roles: vec!["admin".into()] });
    assert_eq!(route("POST", "/articles").auth, RouteAuth::Roles { roles: vec!["editor".into(), "publisher".into()] });
    assert_eq!(route("POST", "/auth/logout").auth, RouteAuth::Authenticated);

    let record = |name: &str| m.records.iter().position(|r| r.name == name).expect("record") as u32;
    let user = record("User");
    // /login reads a Credentials body with the db, and declares 401 responses.
    let login = route("POST", "/login");
    assert!(matches!(&login.params[0], Param::Db { .. }));
    assert!(matches!(&login.params[1], Param::Body { ty: ValueType::Record { id }, .. } if *id == record("Credentials")));
    assert!(login.responses.iter().all(|r| r.status == 401) && login.responses.len() == 2);
    // /articles: db, body, and the user injected by type.
    let articles = route("POST", "/articles");
    assert!(matches!(&articles.params[2], Param::User { ty: ValueType::Record { id }, .. } if *id == user));
    assert_eq!(articles.returns, ValueType::Record { id: record("Article") });
    // /admin/users declares List<User> (the handler returns the query's Result, unwrapped).
    assert_eq!(route("GET", "/admin/users").returns, ValueType::list(ValueType::Record { id: user }));

    let auth = m.auth.as_ref().expect("auth provider");
    assert_eq!((auth.function.as_str(), auth.user, auth.takes_db), ("check_token", user, true));

    assert_eq!(m.crons.len(), 1);
    assert_eq!(m.crons[0].name, "cleanup_blacklist");
    assert_eq!(m.crons[0].schedule, "0 0 3 * * *");
    assert!(m.crons[0].takes_db);

    let tables: Vec<&str> = m.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tables, ["users", "articles"]);
    let users = &m.tables[0];
    assert_eq!((users.primary_key.as_str(), users.auto_id), ("id", true));
    assert_eq!(users.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "email", "name", "role", "password_hash"]);

    assert_eq!(m.secrets, ["JWT_SECRET"]);
    // Four queries: the provider's lookup, login's lookup, admin_list, and the insert.
    assert_eq!(m.queries.len(), 4);
}

#[test]
fn seed_module_is_small() {
    let source = std::fs::read_to_string(fitz_tests::seed_path()).expect("seed");
    let artifact = fitz_compiler::compile(&source, "auth.fitz").expect("compiles");
    assert!(artifact.wasm.len() < 64 * 1024, "{} bytes", artifact.wasm.len());
}
