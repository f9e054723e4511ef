//! Reads decorators into a summary per function, type and field, checking where each may
//! stand and what arguments it takes. The rules that relate decorators to each other and to
//! the program (routes, auth, cron) live in their own files.

use super::problem::Problem;
use crate::ast::{Arg, Decorator, Expr, ExprKind, StrPart};
use crate::span::Span;
use crate::tast::Method;

#[derive(Clone, Debug, Default)]
pub struct FnDecorators {
    pub route: Option<RouteDecorator>,
    pub authenticated: Option<Span>,
    pub admin: Option<Span>,
    pub requires: Vec<(String, Span)>,
    pub auth_provider: Option<Span>,
    pub cron: Option<(String, Span)>,
    pub server: Option<ServerDecorator>,
    /// `@command("name", desc="…")`: the command's name and span.
    pub command: Option<(String, Span)>,
    /// `@roles("admin > editor > viewer", …)` on the auth provider: its chains.
    pub roles: Vec<(String, Span)>,
    /// `@header(name="X-Api-Key")` and `@cookie(name="session")`: a request header or cookie
    /// bound to a handler parameter.
    pub carried: Vec<Carried>,
    /// `@middleware(cors(…))`.
    pub cors: Option<(guest_abi::manifest::Cors, Span)>,
    /// `@background`: the function may be `spawn`ed.
    pub background: Option<Span>,
    /// `@flag("name")`: the route answers only while the flag is on.
    pub flag: Option<(String, Span)>,
    /// `@test`: run by `fitz test`, against a fresh database of the app.
    pub test: Option<Span>,
    /// `@ws("/path")`: the route is a WebSocket endpoint (its `route` is the `GET` that
    /// upgrades).
    pub ws: Option<Span>,
    /// `@middleware(f)` with `fn f(req: Request, resp: Response) -> Response`: upstream's post
    /// middleware, run on the handler's answer (pre ones are already in the handler's body).
    pub after: Vec<(String, Span)>,
    /// `@middleware(f)` with `fn f(req: Request, next: Fn() -> Response) -> Response`, as the
    /// entry `project::middleware` made for it, outermost first.
    pub wraps: Vec<(String, Span)>,
}

/// Where a `@header` or `@cookie` parameter comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    Header,
    Cookie,
}

impl Carrier {
    pub fn word(self) -> &'static str {
        match self {
            Carrier::Header => "header",
            Carrier::Cookie => "cookie",
        }
    }
}

/// `@header(name="X-Trace-Id")` (parameter `x_trace_id`) or `…, into="trace"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Carried {
    pub carrier: Carrier,
    /// The header's name in lower case (HTTP's are case-insensitive), or the cookie's as
    /// written.
    pub name: String,
    pub param: String,
    pub span: Span,
}

/// `@server(port, host)`: where `fitz run` listens unless told otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerDecorator {
    pub port: Option<u16>,
    pub host: Option<String>,
    /// `docs=false`: no `/openapi.json` or `/docs`.
    pub docs: Option<bool>,
    /// `api_version="1.2.3"`: the OpenAPI document's `info.version`.
    pub api_version: Option<String>,
    /// `jwt_leeway=10`: the seconds of clock skew `jwt.decode` allows (0 to 300).
    pub jwt_leeway: Option<u64>,
    /// `jwks="A,B"`: the secrets whose keys `/.well-known/jwks.json` lists.
    pub jwks: Vec<String>,
    /// `static_dir="public"`: files served as they are, bundled into the module.
    pub static_dir: Option<String>,
    /// `static_prefix="/assets"`: where they are served (default `/static`).
    pub static_prefix: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct RouteDecorator {
    pub method: Method,
    pub template: String,
    pub span: Span,
    pub arg_span: Span,
}

impl FnDecorators {
    pub fn is_protected(&self) -> bool {
        self.authenticated.is_some() || self.admin.is_some() || !self.requires.is_empty()
    }
}

#[derive(Clone, Debug, Default)]
pub struct TypeDecorators {
    pub table: Option<(String, Span)>,
}

#[derive(Clone, Debug, Default)]
pub struct FieldDecorators {
    pub primary: Option<Span>,
    pub hidden: Option<Span>,
    /// `@has_many("Post", via="user_id")`: the field holds the rows of another table whose
    /// column `via` names this row's key; not a column.
    pub has_many: Option<HasMany>,
    /// `@belongs_to("User", on_delete="cascade")`: the column is a foreign key to that table's key.
    pub belongs_to: Option<BelongsTo>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HasMany {
    pub target: String,
    pub via: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BelongsTo {
    pub target: String,
    pub on_delete: Option<String>,
    pub span: Span,
}

pub const FN_DECORATORS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "authenticated",
    "admin",
    "requires",
    "auth_provider",
    "cron",
    "server",
    "command",
    "roles",
    "header",
    "cookie",
    "middleware",
    "every",
    "background",
    "flag",
    "test",
    "ws",
];
pub const TYPE_DECORATORS: &[&str] = &["table"];
pub const FIELD_DECORATORS: &[&str] = &["primary", "hidden", "has_many", "belongs_to"];
/// Upstream decorators this compiler does not implement yet (LANGUAGE.md, Tier C).
const LATER: &[&str] = &["trace", "metric", "healthz", "readyz", "rpc", "column", "has_one", "index", "unique", "db_default", "check_constraint", "renamed_from"];

fn classify(d: &Decorator, here: &'static str, problems: &mut Vec<Problem>) -> bool {
    let name = d.name.name.as_str();
    let allowed = match here {
        "function" => FN_DECORATORS,
        "type" => TYPE_DECORATORS,
        _ => FIELD_DECORATORS,
    };
    if allowed.contains(&name) {
        return true;
    }
    let all = FN_DECORATORS.iter().chain(TYPE_DECORATORS).chain(FIELD_DECORATORS);
    if all.clone().any(|k| *k == name) {
        problems.push(Problem::DecoratorPlacement { name: name.to_string(), on: here, span: d.span });
    } else if LATER.contains(&name) {
        problems.push(Problem::UnsupportedDecorator { name: name.to_string(), span: d.span });
    } else {
        let suggestion = super::names::closest(name, all.copied());
        problems.push(Problem::UnknownDecorator { name: name.to_string(), span: d.span, suggestion });
    }
    false
}

/// The single string-literal argument of `@get("/x")`, `@requires("r")`, `@cron("…")`.
fn string_arg(d: &Decorator, problems: &mut Vec<Problem>) -> Option<(String, Span)> {
    let bad = |problems: &mut Vec<Problem>| {
        problems.push(Problem::DecoratorArgs { name: d.name.name.clone(), expected: "one string literal", span: d.span });
        None
    };
    let Some(args) = &d.args else { return bad(problems) };
    let [arg] = args.as_slice() else { return bad(problems) };
    if arg.name.is_some() {
        return bad(problems);
    }
    // In a decorator, `"/users/{id}"` is a route template, not an interpolation: the lexer
    // split it at the braces, so put the names back.
    let ExprKind::Str(parts) = &arg.value.kind else { return bad(problems) };
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Text(s) => text.push_str(s),
            StrPart::Interp { expr, spec: None } => match &expr.kind {
                ExprKind::Name(n) => {
                    text.push('{');
                    text.push_str(n);
                    text.push('}');
                }
                _ => return bad(problems),
            },
            StrPart::Interp { .. } => return bad(problems),
        }
    }
    Some((text, arg.value.span))
}

/// `@middleware(cors())` or `@middleware(cors({"allow_origin": "https://a.example", …}))`;
/// a middleware function of the program's own is not supported yet.
fn cors(d: &Decorator, problems: &mut Vec<Problem>) -> Option<guest_abi::manifest::Cors> {
    let call = match d.args.as_deref() {
        Some([a]) if a.name.is_none() => &a.value,
        _ => {
            problems.push(Problem::DecoratorArgs { name: "middleware".into(), expected: "`cors()` or `cors({…})`", span: d.span });
            return None;
        }
    };
    let ExprKind::Call { callee, args } = &call.kind else {
        // `@middleware(f)`: put into the handler before checking (`project::middleware`); a
        // name left here is not a function of the program's.
        problems.push(Problem::MiddlewareFn { span: call.span });
        return None;
    };
    if !matches!(&callee.kind, ExprKind::Name(n) if n == "cors") {
        problems.push(Problem::MiddlewareFn { span: call.span });
        return None;
    }
    let mut policy = guest_abi::manifest::Cors::permissive();
    let entries = match args.as_slice() {
        [] => return Some(policy),
        [a] if a.name.is_none() => match &a.value.kind {
            ExprKind::Map(entries) => entries,
            _ => {
                problems.push(Problem::DecoratorArgs { name: "middleware".into(), expected: "`cors({\"allow_origin\": …})`: a map literal of settings", span: a.span });
                return None;
            }
        },
        _ => {
            problems.push(Problem::DecoratorArgs { name: "middleware".into(), expected: "`cors()` or `cors({…})` with one map literal", span: call.span });
            return None;
        }
    };
    const KEYS: &[&str] = &["allow_origin", "allow_methods", "allow_headers", "max_age", "allow_credentials"];
    let text = |e: &crate::ast::Expr| match &e.kind {
        ExprKind::Str(parts) => match parts.as_slice() {
            [StrPart::Text(s)] => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    let texts = |e: &crate::ast::Expr| match &e.kind {
        ExprKind::List(items) => items.iter().map(text).collect::<Option<Vec<String>>>(),
        _ => None,
    };
    let mut ok = true;
    for (k, v) in entries {
        let Some(key) = text(k) else {
            problems.push(Problem::DecoratorArgs { name: "middleware".into(), expected: "string keys in `cors({…})`", span: k.span });
            ok = false;
            continue;
        };
        let bad = |expected: &'static str| Problem::DecoratorArgs { name: "middleware".into(), expected, span: v.span };
        match key.as_str() {
            "allow_origin" => match text(v) {
                Some(o) if o == "*" || guest_abi::manifest::is_origin(&o) => policy.allow_origin = o,
                _ => {
                    problems.push(bad("`\"allow_origin\"`: `\"*\"` or one origin such as `\"https://app.example.com\"`"));
                    ok = false;
                }
            },
            "allow_methods" => match texts(v) {
                Some(ms) if !ms.is_empty() && ms.iter().all(|m| ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&m.to_ascii_uppercase().as_str())) => {
                    policy.allow_methods = ms.iter().map(|m| m.to_ascii_uppercase()).collect();
                }
                _ => {
                    problems.push(bad("`\"allow_methods\"`: a list of GET, POST, PUT, PATCH, DELETE, HEAD"));
                    ok = false;
                }
            },
            "allow_headers" => match texts(v) {
                Some(hs) if hs.iter().all(|h| guest_abi::manifest::is_token(h)) => {
                    policy.allow_headers = hs.iter().map(|h| h.to_ascii_lowercase()).collect();
                }
                _ => {
                    problems.push(bad("`\"allow_headers\"`: a list of header names"));
                    ok = false;
                }
            },
            "max_age" => match &v.kind {
                ExprKind::Int(n) if (0..=86_400).contains(n) => policy.max_age = Some(*n as u32),
                _ => {
                    problems.push(bad("`\"max_age\"`: seconds, 0 to 86400"));
                    ok = false;
                }
            },
            "allow_credentials" => match &v.kind {
                ExprKind::Bool(b) => policy.allow_credentials = *b,
                _ => {
                    problems.push(bad("`\"allow_credentials\"`: `true` or `false`"));
                    ok = false;
                }
            },
            other => {
                let suggestion = super::names::closest(other, KEYS.iter().copied());
                problems.push(Problem::DecoratorKey { decorator: "middleware(cors)".into(), key: other.to_string(), span: k.span, suggestion });
                ok = false;
            }
        }
    }
    if ok && policy.allow_credentials && policy.allow_origin == "*" {
        problems.push(Problem::DecoratorArgs {
            name: "middleware".into(),
            expected: "one `\"allow_origin\"` with `\"allow_credentials\": true` (browsers refuse credentials with `*`)",
            span: call.span,
        });
        ok = false;
    }
    ok.then_some(policy)
}

/// The literal value of a keyed decorator argument.
enum Literal {
    Int(i64),
    Str(String),
    Bool(bool),
}

/// Arguments given by position or as `key=value`, each key at most once: the value of each
/// key, in the order of `keys` (`Int` or `Str` literals, as each key's `kind` says).
fn keyed(d: &Decorator, keys: &[(&'static str, &'static str)], problems: &mut Vec<Problem>) -> Vec<Option<(Literal, Span)>> {
    let mut out: Vec<Option<(Literal, Span)>> = keys.iter().map(|_| None).collect();
    let decorator = d.name.name.clone();
    for (i, a) in d.args.iter().flatten().enumerate() {
        let at = match &a.name {
            None if i < keys.len() => i,
            None => {
                problems.push(Problem::DecoratorArgs { name: decorator.clone(), expected: "fewer arguments", span: a.span });
                continue;
            }
            Some(n) => match keys.iter().position(|(k, _)| *k == n.name) {
                Some(at) => at,
                None => {
                    let suggestion = super::names::closest(&n.name, keys.iter().map(|(k, _)| *k));
                    problems.push(Problem::DecoratorKey { decorator: decorator.clone(), key: n.name.clone(), span: n.span, suggestion });
                    continue;
                }
            },
        };
        if out[at].is_some() {
            problems.push(Problem::DecoratorKeyTwice { decorator: decorator.clone(), key: keys[at].0, span: a.span });
            continue;
        }
        let value = match (&a.value.kind, keys[at].1) {
            (ExprKind::Int(v), "Int") => Some(Literal::Int(*v)),
            (ExprKind::Bool(b), "Bool") => Some(Literal::Bool(*b)),
            (ExprKind::Str(parts), "Str") => match parts.as_slice() {
                [StrPart::Text(s)] => Some(Literal::Str(s.clone())),
                [] => Some(Literal::Str(String::new())),
                _ => None,
            },
            _ => None,
        };
        match value {
            Some(v) => out[at] = Some((v, a.value.span)),
            None => problems.push(Problem::DecoratorKeyType { decorator: decorator.clone(), key: keys[at].0, expected: keys[at].1, span: a.value.span }),
        }
    }
    out
}

/// Upstream's `@server` settings (and `jwt_leeway`, `jwks` and the automatic auth endpoints'): the first eleven shape what this host serves; the others
/// configure parts it does not have, and are accepted with a warning saying so.
const SERVER_KEYS: &[(&str, &str)] = &[
    ("port", "Int"),
    ("host", "Str"),
    ("docs", "Bool"),
    ("api_version", "Str"),
    ("jwt_leeway", "Int"),
    ("static_dir", "Str"),
    ("static_prefix", "Str"),
    ("jwks", "Str"),
    // Read where the endpoints are mounted (`project/auto_auth.rs`).
    ("auto_auth_endpoints", "Bool"),
    ("auth_login_field", "Str"),
    ("auth_secret", "Str"),
    ("shutdown_timeout_secs", "Int"),
    ("ws_heartbeat_secs", "Int"),
    ("observability", "Bool"),
    ("prometheus", "Bool"),
];

fn server(d: &Decorator, problems: &mut Vec<Problem>) -> ServerDecorator {
    let mut out = ServerDecorator { port: None, host: None, docs: None, api_version: None, jwt_leeway: None, static_dir: None, static_prefix: None, jwks: vec![], span: d.span };
    let values = keyed(d, SERVER_KEYS, problems);
    for (i, value) in values.iter().enumerate().skip(11) {
        if let Some((_, span)) = value {
            problems.push(Problem::ServerKeyIgnored { key: SERVER_KEYS[i].0, span: *span });
        }
    }
    if let Some(Some((Literal::Bool(b), _))) = values.get(2) {
        out.docs = Some(*b);
    }
    if let Some(Some((Literal::Str(v), _))) = values.get(3) {
        out.api_version = Some(v.clone());
    }
    if let Some(Some((Literal::Int(v), span))) = values.get(4) {
        match u64::try_from(*v).ok().filter(|v| *v <= 300) {
            Some(v) => out.jwt_leeway = Some(v),
            None => problems.push(Problem::ServerSetting { what: "jwt_leeway", value: v.to_string(), expected: "seconds from 0 to 300", span: *span }),
        }
    }
    if let Some(Some((Literal::Str(dir), span))) = values.get(5) {
        // A folder of the program's, bundled into the module when it is built.
        let inside = !dir.is_empty() && !dir.starts_with('/') && !dir.contains('\\') && dir.split('/').all(|c| c != "..");
        if inside {
            out.static_dir = Some(dir.trim_start_matches("./").trim_end_matches('/').to_string());
        } else {
            problems.push(Problem::ServerSetting {
                what: "static_dir",
                value: dir.clone(),
                expected: "a folder inside the program's, such as \"public\" (no `..`, not absolute)",
                span: *span,
            });
        }
    }
    if let Some(Some((Literal::Str(prefix), span))) = values.get(6) {
        let ok = prefix.starts_with('/') && prefix.len() > 1 && !prefix.ends_with('/') && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
        if ok {
            out.static_prefix = Some(prefix.clone());
        } else {
            problems.push(Problem::ServerSetting { what: "static_prefix", value: prefix.clone(), expected: "a path such as \"/static\"", span: *span });
        }
    }
    if let Some(Some((Literal::Str(names), span))) = values.get(7) {
        let names: Vec<String> = names.split(',').map(|n| n.trim().to_string()).collect();
        if names.iter().all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
            out.jwks = names;
        } else {
            problems.push(Problem::ServerSetting {
                what: "jwks",
                value: names.join(","),
                expected: "names of secrets holding keys, such as \"JWT_PUBLIC,JWT_PUBLIC_OLD\"",
                span: *span,
            });
        }
    }
    let mut values = values.into_iter();
    if let Some(Some((Literal::Int(p), span))) = values.next() {
        match u16::try_from(p).ok().filter(|p| *p >= 1) {
            Some(p) => out.port = Some(p),
            None => problems.push(Problem::ServerSetting { what: "port", value: p.to_string(), expected: "a port from 1 to 65535", span }),
        }
    }
    if let Some(Some((Literal::Str(h), span))) = values.next() {
        // No name lookup: `localhost` may be IPv4 or IPv6 depending on the machine.
        match h.parse::<std::net::IpAddr>() {
            Ok(_) => out.host = Some(h),
            Err(_) => problems.push(Problem::ServerSetting { what: "host", value: h, expected: "an IP address such as 127.0.0.1, 0.0.0.0 or ::1", span }),
        }
    }
    out
}

fn no_args(d: &Decorator, problems: &mut Vec<Problem>) {
    if d.args.as_ref().is_some_and(|a| !a.is_empty()) {
        problems.push(Problem::DecoratorArgs { name: d.name.name.clone(), expected: "no arguments", span: d.span });
    }
}

fn once(slot: &mut Option<Span>, d: &Decorator, problems: &mut Vec<Problem>) {
    if let Some(first) = *slot {
        problems.push(Problem::Duplicate { what: "decorator", name: format!("@{}", d.name.name), span: d.span, first });
    } else {
        *slot = Some(d.span);
    }
}

pub fn read_fn(decorators: &[Decorator], problems: &mut Vec<Problem>) -> FnDecorators {
    let mut out = FnDecorators::default();
    for d in decorators {
        if !classify(d, "function", problems) {
            continue;
        }
        let name = d.name.name.as_str();
        match name {
            "get" | "post" | "put" | "patch" | "delete" | "ws" => {
                if name == "ws" {
                    out.ws = Some(d.span);
                }
                let method = match name {
                    "get" | "ws" => Method::Get,
                    "post" => Method::Post,
                    "put" => Method::Put,
                    "patch" => Method::Patch,
                    _ => Method::Delete,
                };
                let Some((template, arg_span)) = string_arg(d, problems) else { continue };
                if let Some(first) = &out.route {
                    problems.push(Problem::Duplicate { what: "route decorator", name: format!("@{name}"), span: d.span, first: first.span });
                    continue;
                }
                out.route = Some(RouteDecorator { method, template, span: d.span, arg_span });
            }
            "authenticated" => {
                no_args(d, problems);
                once(&mut out.authenticated, d, problems);
            }
            "admin" => {
                no_args(d, problems);
                once(&mut out.admin, d, problems);
            }
            "auth_provider" => {
                no_args(d, problems);
                once(&mut out.auth_provider, d, problems);
            }
            "flag" => {
                if let Some((name, _)) = string_arg(d, problems) {
                    match &out.flag {
                        Some((_, first)) => problems.push(Problem::Duplicate { what: "decorator", name: "@flag".into(), span: d.span, first: *first }),
                        None => out.flag = Some((name, d.span)),
                    }
                }
            }
            "test" => {
                if d.args.as_ref().is_some_and(|a| !a.is_empty()) {
                    problems.push(Problem::DecoratorArgs { name: "test".into(), expected: "no arguments", span: d.span });
                }
                once(&mut out.test, d, problems);
            }
            "background" => {
                // Upstream's `store=db` (tasks kept in a table and run again after a restart)
                // is not here: a task lives in the process that spawned it.
                if d.args.as_ref().is_some_and(|a| !a.is_empty()) {
                    problems.push(Problem::DecoratorArgs {
                        name: "background".into(),
                        expected: "no arguments (tasks kept across restarts, `store=`, are not supported)",
                        span: d.span,
                    });
                }
                once(&mut out.background, d, problems);
            }
            "roles" => {
                let bad = |span| Problem::DecoratorArgs { name: "roles".into(), expected: "string literals such as \"admin > editor > viewer\"", span };
                if d.args.as_ref().is_none_or(|a| a.is_empty()) {
                    problems.push(bad(d.span));
                }
                for a in d.args.iter().flatten() {
                    match (&a.name, &a.value.kind) {
                        (None, crate::ast::ExprKind::Str(parts)) => match parts.as_slice() {
                            [StrPart::Text(s)] => out.roles.push((s.clone(), a.value.span)),
                            _ => problems.push(bad(a.span)),
                        },
                        _ => problems.push(bad(a.span)),
                    }
                }
            }
            "requires" => {
                if let Some((role, _)) = string_arg(d, problems) {
                    if let Some((_, first)) = out.requires.iter().find(|(r, _)| *r == role) {
                        problems.push(Problem::DuplicateRole { role, span: d.span, first: *first });
                    } else {
                        out.requires.push((role, d.span));
                    }
                }
            }
            "cron" | "every" => {
                // `@every("30s")` is a schedule as `@cron` is: `guest_abi::cron` reads both.
                let every = d.name.name == "every";
                if let Some((expr, _)) = string_arg(d, problems).map(|(e, s)| (if every { format!("@every {e}") } else { e }, s)) {
                    if let Some((_, first)) = &out.cron {
                        problems.push(Problem::Duplicate { what: "decorator", name: "@cron".into(), span: d.span, first: *first });
                    } else {
                        out.cron = Some((expr, d.span));
                    }
                }
            }
            "command" => {
                if let Some((_, first)) = &out.command {
                    problems.push(Problem::Duplicate { what: "decorator", name: "@command".into(), span: d.span, first: *first });
                    continue;
                }
                let mut values = keyed(d, &[("name", "Str"), ("desc", "Str")], problems).into_iter();
                match values.next() {
                    Some(Some((Literal::Str(name), _))) if !name.is_empty() && !name.starts_with('-') && !name.contains(char::is_whitespace) => {
                        out.command = Some((name, d.span));
                    }
                    _ => problems.push(Problem::DecoratorArgs {
                        name: "command".into(),
                        expected: "a command name (a string literal without spaces) and an optional `desc`",
                        span: d.span,
                    }),
                }
            }
            "middleware" if matches!(d.args.as_deref(), Some([Arg { name: None, value: Expr { kind: ExprKind::Name(_), .. }, .. }])) => {
                // Left on the handler by `project::middleware` only for a post middleware.
                if let Some([Arg { value: Expr { kind: ExprKind::Name(n), .. }, .. }]) = d.args.as_deref() {
                    if n.starts_with(crate::project::middleware::WRAP_ENTRY_PREFIX) {
                        out.wraps.push((n.clone(), d.span));
                    } else {
                        out.after.push((n.clone(), d.span));
                    }
                }
            }
            "middleware" => {
                if let Some((_, first)) = &out.cors {
                    problems.push(Problem::Duplicate { what: "decorator", name: "@middleware(cors(…))".into(), span: d.span, first: *first });
                    continue;
                }
                if let Some(cors) = cors(d, problems) {
                    out.cors = Some((cors, d.span));
                }
            }
            "header" | "cookie" => {
                let carrier = if d.name.name == "header" { Carrier::Header } else { Carrier::Cookie };
                let mut values = keyed(d, &[("name", "Str"), ("into", "Str")], problems).into_iter();
                let (name, into) = (values.next().flatten(), values.next().flatten());
                // RFC 9110's token characters: what a header or cookie name may be.
                let Some((Literal::Str(name), _)) = name.filter(|(l, _)| matches!(l, Literal::Str(n) if guest_abi::manifest::is_token(n))) else {
                    problems.push(Problem::DecoratorArgs {
                        name: carrier.word().into(),
                        expected: "`name=\"…\"` (a header or cookie name: letters, digits and `-_.!#$%&'*+^`|~`) and an optional `into=\"param\"`",
                        span: d.span,
                    });
                    continue;
                };
                // As upstream: a header's parameter is its name in lower case with `-` as `_`;
                // a cookie's is its name as written (cookie names are case-sensitive).
                let param = match (into, carrier) {
                    (Some((Literal::Str(p), _)), _) => p,
                    (_, Carrier::Header) => name.to_ascii_lowercase().replace('-', "_"),
                    (_, Carrier::Cookie) => name.clone(),
                };
                let name = if carrier == Carrier::Header { name.to_ascii_lowercase() } else { name };
                if let Some(first) = out.carried.iter().find(|c| c.param == param) {
                    problems.push(Problem::Duplicate { what: "binding of parameter", name: param.clone(), span: d.span, first: first.span });
                    continue;
                }
                out.carried.push(Carried { carrier, name, param, span: d.span });
            }
            "server" => {
                if let Some(first) = &out.server {
                    problems.push(Problem::Duplicate { what: "decorator", name: "@server".into(), span: d.span, first: first.span });
                    continue;
                }
                out.server = Some(server(d, problems));
            }
            _ => {}
        }
    }
    // Decorators that make no sense together.
    let kinds: Vec<(&str, Span)> = [
        out.route.as_ref().map(|r| (r.method.as_str(), r.span)),
        out.auth_provider.map(|s| ("auth_provider", s)),
        out.cron.as_ref().map(|(_, s)| ("cron", *s)),
        out.command.as_ref().map(|(_, s)| ("command", *s)),
        out.background.map(|s| ("background", s)),
        out.test.map(|s| ("test", s)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if kinds.len() > 1 {
        let first = route_word(kinds[0].0);
        for (second, span) in &kinds[1..] {
            problems.push(Problem::ConflictingDecorators { first: first.clone(), second: route_word(second), span: *span });
        }
    }
    out
}

fn route_word(kind: &str) -> String {
    match kind {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" => format!("@{}", kind.to_lowercase()),
        other => format!("@{other}"),
    }
}

pub fn read_type(decorators: &[Decorator], problems: &mut Vec<Problem>) -> TypeDecorators {
    let mut out = TypeDecorators::default();
    for d in decorators {
        if classify(d, "type", problems)
            && let Some(arg) = string_arg(d, problems)
        {
            out.table = Some(arg);
        }
    }
    out
}

pub fn read_field(decorators: &[Decorator], problems: &mut Vec<Problem>) -> FieldDecorators {
    let mut out = FieldDecorators::default();
    for d in decorators {
        if !classify(d, "field", problems) {
            continue;
        }
        match d.name.name.as_str() {
            "has_many" => {
                let mut values = keyed(d, &[("target", "Str"), ("via", "Str")], problems).into_iter();
                match (values.next().flatten(), values.next().flatten(), &out.has_many) {
                    (_, _, Some(first)) => problems.push(Problem::Duplicate { what: "decorator", name: "@has_many".into(), span: d.span, first: first.span }),
                    (Some((Literal::Str(target), _)), Some((Literal::Str(via), _)), None) => out.has_many = Some(HasMany { target, via, span: d.span }),
                    _ => problems.push(Problem::DecoratorArgs { name: "has_many".into(), expected: "the related type's name and `via=\"its column\"`", span: d.span }),
                }
            }
            "belongs_to" => {
                let mut values = keyed(d, &[("target", "Str"), ("on_delete", "Str")], problems).into_iter();
                let (target, on_delete) = (values.next().flatten(), values.next().flatten());
                let on_delete = match on_delete {
                    None => Ok(None),
                    Some((Literal::Str(a), _)) if ["cascade", "restrict", "set null", "no action"].contains(&a.to_ascii_lowercase().as_str()) => Ok(Some(a.to_ascii_lowercase())),
                    Some(_) => Err(()),
                };
                match (target, on_delete, &out.belongs_to) {
                    (_, _, Some(first)) => problems.push(Problem::Duplicate { what: "decorator", name: "@belongs_to".into(), span: d.span, first: first.span }),
                    (Some((Literal::Str(target), _)), Ok(on_delete), None) => out.belongs_to = Some(BelongsTo { target, on_delete, span: d.span }),
                    _ => problems.push(Problem::DecoratorArgs {
                        name: "belongs_to".into(),
                        expected: "the related type's name and an optional `on_delete=` (\"cascade\", \"restrict\", \"set null\" or \"no action\")",
                        span: d.span,
                    }),
                }
            }
            "primary" => {
                no_args(d, problems);
                once(&mut out.primary, d, problems)
            }
            _ => {
                no_args(d, problems);
                once(&mut out.hidden, d, problems)
            }
        }
    }
    out
}
