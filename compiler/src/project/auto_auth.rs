//! `@server(auto_auth_endpoints=true)`: mounts `POST /auth/login`, `/auth/refresh` and
//! `/auth/logout` on the app's own `@auth_provider` and user type, written in Fitz (below) and
//! checked and compiled as the program's own handlers, so they are typed, documented in OpenAPI
//! and sandboxed like any other. What they need of the app is checked here first, with the
//! setting that supplies it:
//!
//! - an `@auth_provider` answering `Result<U>` (or `U`), `U` a record with a login field
//!   (`email`, else `username`; or `auth_login_field="…"`) and `password_hash`, both `Str`;
//! - the secret the provider verifies with: `JWT_SECRET`, or `auth_secret="…"`.
//!
//! The tokens carry `sub` = the login field (as the seed's provider reads it back) and `role`
//! when `U` has a `role: Str`; a route the app declares itself (say its own `/auth/logout`) is
//! left to it.

use std::collections::HashMap;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// The record types the endpoints take, declared with them.
const LOGIN_BODY: &str = "AuthLoginRequest";
const REFRESH_BODY: &str = "AuthRefreshRequest";

struct Settings {
    span: Span,
    login_field: Option<(String, Span)>,
    secret: String,
}

/// The `@server` settings of the program, when it asks for the endpoints.
fn wanted(module: &Module, problems: &mut Vec<Diagnostic>) -> Option<Settings> {
    let d = module.items.iter().filter_map(|i| if let Item::Fn(f) = i { Some(f) } else { None }).flat_map(|f| &f.decorators).find(|d| d.name.name == "server")?;
    let mut on = false;
    let mut out = Settings { span: d.span, login_field: None, secret: "JWT_SECRET".into() };
    for a in d.args.iter().flatten() {
        let Some(name) = &a.name else { continue };
        let text = match &a.value.kind {
            ExprKind::Str(parts) => match parts.as_slice() {
                [] => Some(String::new()),
                [StrPart::Text(s)] => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        match (name.name.as_str(), &a.value.kind, text) {
            ("auto_auth_endpoints", ExprKind::Bool(b), _) => on = *b,
            ("auth_login_field", _, Some(t)) => out.login_field = Some((t, a.value.span)),
            ("auth_secret", _, Some(t)) if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => out.secret = t,
            ("auth_secret", ..) => {
                problems.push(Diagnostic::error("auto-auth-setting", "`auth_secret` must name a secret, such as \"JWT_SECRET\"").primary(a.value.span, "not the name of a secret"))
            }
            _ => {}
        }
    }
    on.then_some(out)
}

fn named_type(t: &TypeExpr) -> Option<&str> {
    match &t.kind {
        TypeExprKind::Named { name, args } if args.is_empty() => Some(&name.name),
        _ => None,
    }
}

fn is_str(t: &TypeExpr) -> bool {
    named_type(t) == Some("Str")
}

pub(super) fn mount(module: &mut Module, used: &mut HashMap<String, Span>, problems: &mut Vec<Diagnostic>) {
    let Some(settings) = wanted(module, problems) else { return };
    let at = settings.span;
    let need = |what: &str, help: String| Diagnostic::error("auto-auth-needs", format!("`auto_auth_endpoints` needs {what}")).primary(at, "asked for here").help(help);
    let fns = || module.items.iter().filter_map(|i| if let Item::Fn(f) = i { Some(f) } else { None });
    let Some(provider) = fns().find(|f| f.decorators.iter().any(|d| d.name.name == "auth_provider")) else {
        problems.push(need(
            "an `@auth_provider`",
            "declare the function that checks a request's token and answers its user: `@auth_provider fn check(headers: Map<Str, Str>, db: DbConn) -> Result<User>`".into(),
        ));
        return;
    };
    let user = provider.ret.as_ref().and_then(|r| match &r.kind {
        TypeExprKind::Named { name, args } if name.name == "Result" && args.len() == 1 => named_type(&args[0]),
        _ => named_type(r),
    });
    let Some(decl) = user.and_then(|u| module.items.iter().find_map(|i| if let Item::Type(t) = i { (t.name.name == u).then_some(t) } else { None })) else {
        problems.push(need("an `@auth_provider` that answers a user record", "let the provider return `Result<User>`, `User` a type of the program".into()));
        return;
    };
    let field = |n: &str| decl.fields.iter().find(|f| f.name.name == n);
    let login = match &settings.login_field {
        Some((name, span)) => match field(name) {
            Some(f) if is_str(&f.ty) => name.clone(),
            _ => {
                problems.push(
                    Diagnostic::error("auto-auth-needs", format!("`auth_login_field` names `{name}`, which is not a `Str` field of `{}`", decl.name.name))
                        .primary(*span, "no such text field")
                        .secondary(decl.name.span, "the provider's user type"),
                );
                return;
            }
        },
        None => match ["email", "username"].into_iter().find(|n| field(n).is_some_and(|f| is_str(&f.ty))) {
            Some(n) => n.to_string(),
            None => {
                problems.push(
                    need(
                        &format!("a login field in `{}`", decl.name.name),
                        format!(
                            "add `email: Str` (or `username: Str`) to `{}`, or name the field: `@server(auto_auth_endpoints=true, auth_login_field=\"login\")`",
                            decl.name.name
                        ),
                    )
                    .secondary(decl.name.span, "the provider's user type"),
                );
                return;
            }
        },
    };
    if !field("password_hash").is_some_and(|f| is_str(&f.ty)) {
        problems.push(
            need(&format!("`password_hash: Str` in `{}`", decl.name.name), format!("store each user's `hash.password(…)` in a `password_hash: Str` field of `{}`", decl.name.name))
                .secondary(decl.name.span, "the provider's user type"),
        );
        return;
    }
    for taken in [LOGIN_BODY, REFRESH_BODY] {
        if let Some(t) = module.items.iter().find_map(|i| if let Item::Type(t) = i { (t.name.name == taken).then_some(t) } else { None }) {
            problems.push(
                Diagnostic::error("builtin-type-taken", format!("this program declares its own `{taken}`, a name of the automatic auth endpoints"))
                    .primary(t.name.span, "declared here")
                    .secondary(at, "the endpoints are asked for here")
                    .help(format!("rename your `{taken}` type")),
            );
            return;
        }
    }
    // The app's own routes win.
    let own: Vec<String> = fns()
        .flat_map(|f| &f.decorators)
        .filter(|d| d.name.name == "post")
        .filter_map(|d| match d.args.as_deref() {
            Some([Arg { value: Expr { kind: ExprKind::Str(parts), .. }, .. }, ..]) => match parts.as_slice() {
                [StrPart::Text(p)] => Some(p.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let source = endpoints(&decl.name.name, &login, field("role").is_some_and(|f| is_str(&f.ty)), &settings.secret, &own);
    let (mut generated, errors) = crate::syntax::parse_module(&source);
    debug_assert!(errors.is_empty(), "{errors:?}\n{source}");
    crate::syntax::respan::module(&mut generated, &|_| at);
    module.items.extend(generated.items);
    used.entry("auth.issue".into()).or_insert(at);
}

/// The endpoints in Fitz, for user type `user` logging in by `login`.
fn endpoints(user: &str, login: &str, role: bool, secret: &str, own: &[String]) -> String {
    let role = if role { ", \"role\": user.role" } else { "" };
    let mut out = format!("type {LOGIN_BODY} {{ {login}: Str, password: Str }}\ntype {REFRESH_BODY} {{ refresh_token: Str }}\n");
    let refused =
        |call: &str| format!("    let pair: TokenPair = match {call} {{\n        Ok(p) => p,\n        Err(e) => return 401 {{ \"error\": e }},\n    }}\n    return pair\n");
    if !own.iter().any(|p| p == "/auth/login") {
        // An unknown user is verified against a stand-in (`null`), so it takes as long to
        // refuse as a wrong password.
        out += &format!(
            "@post(\"/auth/login\")\nasync fn fitz_auth_login(db: DbConn, body: {LOGIN_BODY}) -> TokenPair {{\n    let found = {user}.where(fn(u) => u.{login} == body.{login}).first(db).await\n    let stored: Str? = match found {{\n        Ok(u) => u.password_hash,\n        Err(_) => null,\n    }}\n    if (not hash.verify(body.password, stored)) {{\n        return 401 {{ \"error\": \"invalid credentials\" }}\n    }}\n    let user = match found {{\n        Ok(u) => u,\n        Err(_) => return 401 {{ \"error\": \"invalid credentials\" }},\n    }}\n{}}}\n",
            refused(&format!("auth.issue(db, {{ \"sub\": user.{login}{role} }}, secret(\"{secret}\").expose()).await"))
        );
    }
    if !own.iter().any(|p| p == "/auth/refresh") {
        out += &format!(
            "@post(\"/auth/refresh\")\nasync fn fitz_auth_refresh(db: DbConn, body: {REFRESH_BODY}) -> TokenPair {{\n{}}}\n",
            refused(&format!("auth.refresh(db, body.refresh_token, secret(\"{secret}\").expose()).await"))
        );
    }
    if !own.iter().any(|p| p == "/auth/logout") {
        out += &format!(
            "@authenticated\n@post(\"/auth/logout\")\nasync fn fitz_auth_logout(db: DbConn, body: {REFRESH_BODY}, user: {user}) -> Map<Str, Bool> {{\n    auth.revoke(db, body.refresh_token).await?\n    return {{ \"ok\": true }}\n}}\n"
        );
    }
    out
}
