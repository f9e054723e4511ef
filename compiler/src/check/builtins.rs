//! Calls: user functions, function values, built-in functions, module functions (`hash.*`,
//! `jwt.*`, …) and methods of built-in types. Built-in signatures are written once here.

use super::Checker;
use super::expr::{BUILTIN_FNS, MODULES};
use super::problem::{Expectation, Problem};
use crate::ast::{self, ExprKind, StrPart};
use crate::span::Span;
use crate::tast::{Builtin, BytesOp, FnId, LogLevel, NumOp, TExpr, TExprKind};
use crate::types::Type;

/// A parameter of a built-in: name, type, and the default used when it is left out.
pub struct BParam {
    pub name: String,
    pub ty: Type,
    pub default: Option<TExprKind>,
    /// The last parameter takes every positional argument left, as a list (`ty` is the list's).
    pub variadic: bool,
}

fn p(name: &str, ty: Type) -> BParam {
    BParam { name: name.to_string(), ty, default: None, variadic: false }
}

fn opt(name: &str, ty: Type, default: TExprKind) -> BParam {
    BParam { name: name.to_string(), ty, default: Some(default), variadic: false }
}

fn texpr(kind: TExprKind, ty: Type, span: Span) -> TExpr {
    TExpr { kind, ty, span }
}

impl Checker {
    pub fn infer_call(&mut self, e: &ast::Expr, callee: &ast::Expr, args: &[ast::Arg], hint: Option<&Type>) -> TExpr {
        let span = e.span;
        if let ExprKind::Field { expr: obj, name: method } = &callee.kind {
            if let ExprKind::Name(n) = &obj.kind
                && !self.is_value_name(n)
                && self.record_ids.contains_key(n)
                && let Some(call) = self.call_static_method(&n.clone(), method, args, span)
            {
                return call;
            }
            if let Some(rid) = self.orm_root(obj) {
                return self.check_orm_chain(e, rid);
            }
            if let ExprKind::Name(n) = &obj.kind
                && !self.is_value_name(n)
                && MODULES.contains(&n.as_str())
            {
                return self.call_module(n, method, args, span);
            }
            let recv = self.infer_expr(obj, None);
            if let Type::Record(rid) = self.unifier.shallow(&recv.ty)
                && let Some(query) = self.navigate(&recv, rid, method, args, span)
            {
                return query;
            }
            let recv = match self.call_instance_method(recv, method, args, span) {
                Ok(call) => return call,
                Err(recv) => recv,
            };
            return self.call_method(recv, method, args, hint, span);
        }
        if let ExprKind::Name(n) = &callee.kind
            && !self.is_value_name(n)
        {
            if let Some(&fid) = self.fn_ids.get(n) {
                return self.call_user_fn(fid, args, span);
            }
            if BUILTIN_FNS.contains(&n.as_str()) {
                return self.call_builtin_fn(n, args, hint, span);
            }
            if self.record_ids.contains_key(n) {
                let rid = self.record_ids[n];
                self.report(Problem::NotCallable { ty: Type::Record(rid), span: callee.span });
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
        }
        let f = self.infer_expr(callee, None);
        let fty = self.unifier.shallow(&f.ty);
        let (params, ret) = match fty {
            Type::Fn(ps, r) => (ps, *r),
            Type::Var(_) => {
                let ps: Vec<Type> = args.iter().map(|_| self.unifier.fresh()).collect();
                let r = self.unifier.fresh();
                self.unifier.unify(&fty, &Type::Fn(ps.clone(), Box::new(r.clone())));
                (ps, r)
            }
            Type::Error => {
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
            other => {
                let ty = self.res(&other);
                self.report(Problem::NotCallable { ty, span: callee.span });
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
        };
        let bparams: Vec<BParam> = params.into_iter().enumerate().map(|(i, t)| p(&format!("#{i}"), t)).collect();
        let callee_name = "this function".to_string();
        if let Some(a) = args.iter().find(|a| a.name.is_some()) {
            self.report(Problem::UnknownNamedArg { callee: callee_name.clone(), name: a.name.as_ref().map(|n| n.name.clone()).unwrap_or_default(), span: a.span });
        }
        let targs = self.check_args(&callee_name, &bparams, args, span);
        texpr(TExprKind::CallValue { callee: Box::new(f), args: targs }, ret, span)
    }

    pub fn infer_args_loosely(&mut self, args: &[ast::Arg]) {
        for a in args {
            self.infer_expr(&a.value, None);
        }
    }

    /// Matches arguments (positional, then named) to parameters, filling defaults.
    pub fn check_args(&mut self, callee: &str, params: &[BParam], args: &[ast::Arg], span: Span) -> Vec<TExpr> {
        let mut slots: Vec<Option<TExpr>> = (0..params.len()).map(|_| None).collect();
        let mut seen_named = false;
        let mut positional = 0usize;
        let mut extra = 0usize;
        // A variadic last parameter takes the positional arguments past the others.
        let variadic = params.last().filter(|p| p.variadic).map(|p| (params.len() - 1, p.ty.clone()));
        let fixed = variadic.as_ref().map_or(params.len(), |(at, _)| *at);
        let mut rest: Vec<TExpr> = Vec::new();
        for a in args {
            let index = match &a.name {
                None => {
                    if seen_named {
                        self.report(Problem::PositionalAfterNamed { span: a.span });
                    }
                    positional += 1;
                    if let Some((at, list)) = variadic.as_ref().filter(|_| positional > fixed) {
                        let item = match self.unifier.shallow(list) {
                            Type::List(t) => *t,
                            _ => Type::Error,
                        };
                        let why = Expectation::Argument { callee: callee.to_string(), index: *at + rest.len() };
                        rest.push(self.check_expr(&a.value, &item, why));
                        continue;
                    }
                    if positional > params.len() {
                        extra += 1;
                        self.infer_expr(&a.value, None);
                        continue;
                    }
                    positional - 1
                }
                Some(n) => {
                    seen_named = true;
                    match params.iter().position(|p| p.name == n.name && !p.variadic) {
                        Some(i) => i,
                        None => {
                            self.report(Problem::UnknownNamedArg { callee: callee.to_string(), name: n.name.clone(), span: n.span });
                            self.infer_expr(&a.value, None);
                            continue;
                        }
                    }
                }
            };
            if slots[index].is_some() {
                self.report(Problem::ArgTwice { name: params[index].name.clone(), span: a.span });
                continue;
            }
            let ty = params[index].ty.clone();
            let why = Expectation::Argument { callee: callee.to_string(), index };
            slots[index] = Some(self.check_expr(&a.value, &ty, why));
        }
        if let Some((at, list)) = variadic {
            slots[at] = Some(texpr(TExprKind::List(rest), list, span));
        }
        let required = params.iter().filter(|p| p.default.is_none() && !p.variadic).count();
        let given = slots.iter().filter(|s| s.is_some()).count() + extra;
        let missing = params.iter().zip(&slots).any(|(p, s)| s.is_none() && p.default.is_none());
        if extra > 0 || missing {
            self.report(Problem::ArgCount { callee: callee.to_string(), min: required, max: params.len(), found: given, span });
        }
        slots
            .into_iter()
            .zip(params)
            .map(|(s, p)| match s {
                Some(t) => t,
                None => match &p.default {
                    Some(kind) => texpr(kind.clone(), p.ty.clone(), span),
                    None => Self::error_expr(span),
                },
            })
            .collect()
    }

    pub(super) fn call_user_fn(&mut self, fid: FnId, args: &[ast::Arg], span: Span) -> TExpr {
        let f = &self.fns[fid.0 as usize];
        let name = f.name.clone();
        let is_async = f.is_async;
        let ret = f.ret.clone();
        let params: Vec<BParam> =
            f.params.iter().map(|p| BParam { name: p.name.clone(), ty: p.ty.clone(), default: p.default.as_ref().map(|d| d.kind.clone()), variadic: p.variadic }).collect();
        let args = self.check_args(&name, &params, args, span);
        let ty = if is_async { Type::future(ret) } else { ret };
        texpr(TExprKind::Call { func: fid, args }, ty, span)
    }

    fn call_builtin_fn(&mut self, name: &str, args: &[ast::Arg], hint: Option<&Type>, span: Span) -> TExpr {
        let (builtin, params, ret) = match name {
            "print" => {
                let mut out = Vec::new();
                for a in args {
                    if let Some(n) = &a.name {
                        self.report(Problem::UnknownNamedArg { callee: "print".into(), name: n.name.clone(), span: n.span });
                    }
                    let te = self.infer_expr(&a.value, None);
                    out.push(self.require_printable(te));
                }
                return texpr(TExprKind::Builtin { builtin: Builtin::Print, args: out }, Type::Null, span);
            }
            "len" => {
                let [a] = args else {
                    self.report(Problem::ArgCount { callee: "len".into(), min: 1, max: 1, found: args.len(), span });
                    self.infer_args_loosely(args);
                    return Self::error_expr(span);
                };
                let te = self.infer_expr(&a.value, None);
                let ty = self.unifier.shallow(&te.ty);
                if ty == Type::Range {
                    let tpl = self.template(&ty, "len").expect("ranges have len");
                    return self.expand_template("len", tpl, Some(te), vec![], span);
                }
                if !matches!(ty, Type::Str | Type::Bytes | Type::List(_) | Type::Map(..) | Type::Error) {
                    let found = self.res(&ty);
                    self.report(Problem::Mismatch {
                        expected: Type::list(Type::Var(crate::types::TypeVar(u32::MAX))),
                        found,
                        span: te.span,
                        context: Expectation::Argument { callee: "len".into(), index: 0 },
                    });
                }
                return texpr(TExprKind::Builtin { builtin: Builtin::Len, args: vec![te] }, Type::Int, span);
            }
            "env_or" => (Builtin::EnvOr, vec![p("name", Type::Str), p("default", Type::Str)], Type::Str),
            // A `Str`'s bytes are its UTF-8: the same object, seen as `Bytes`.
            "bytes" => (Builtin::Reinterpret, vec![p("text", Type::Str)], Type::Bytes),
            // A wrap middleware's `next()` (`project::middleware`): the rest of the chain's answer.
            "__fitz_next" => {
                let Some(&response) = self.record_ids.get("Response") else {
                    self.report(Problem::UnknownName { name: "Response".into(), span, suggestion: None });
                    return Self::error_expr(span);
                };
                (Builtin::MwNext, vec![], Type::Record(response))
            }
            "bytes_from_b64" => (Builtin::Bytes(BytesOp::FromB64), vec![p("text", Type::Str)], Type::result(Type::Bytes)),
            "bytes_from_hex" => (Builtin::Bytes(BytesOp::FromHex), vec![p("text", Type::Str)], Type::result(Type::Bytes)),
            "secret" => {
                let literal = match args {
                    [a] if a.name.is_none() => match &a.value.kind {
                        ExprKind::Str(parts) => match parts.as_slice() {
                            [StrPart::Text(s)] => Some(s.clone()),
                            _ => None,
                        },
                        _ => None,
                    },
                    _ => None,
                };
                match literal {
                    Some(s) => {
                        self.secrets.insert(s);
                    }
                    None if args.len() == 1 => self.report(Problem::SecretNameNotLiteral { span: args[0].value.span }),
                    None => {}
                }
                (Builtin::Secret, vec![p("name", Type::Str)], Type::Secret)
            }
            "Ok" | "Err" => {
                let (ok_hint, err_hint) = match hint.map(|h| self.unifier.shallow(h)) {
                    Some(Type::Result(t, e)) => (*t, *e),
                    _ => {
                        let t = self.unifier.fresh();
                        (t, if name == "Ok" { Type::Str } else { self.unifier.fresh() })
                    }
                };
                let ty = Type::Result(Box::new(ok_hint.clone()), Box::new(err_hint.clone()));
                let (builtin, param) = if name == "Ok" { (Builtin::Ok, ok_hint) } else { (Builtin::Err, err_hint) };
                (builtin, vec![p("value", param)], ty)
            }
            "spawn" => return self.check_spawn(args, span),
            "ws_broadcast" => return self.check_ws_broadcast(args, span),
            "flag" => (Builtin::Flag, vec![p("name", Type::Str)], Type::Bool),
            // Upstream's `config(key, default)`: the app's settings, as `env_or` reads them.
            "config" => (Builtin::EnvOr, vec![p("key", Type::Str), p("default", Type::Str)], Type::Str),
            "sleep" => (Builtin::Sleep, vec![p("ms", Type::Int)], Type::future(Type::Null)),
            "sqrt" => (Builtin::Num(NumOp::Sqrt), vec![p("x", Type::Float)], Type::Float),
            "pow" => (Builtin::Num(NumOp::Pow), vec![p("base", Type::Float), p("exp", Type::Float)], Type::Float),
            "ceil" => (Builtin::Num(NumOp::Ceil), vec![p("x", Type::Float)], Type::Int),
            "floor" => (Builtin::Num(NumOp::Floor), vec![p("x", Type::Float)], Type::Int),
            "round" => (Builtin::Num(NumOp::Round), vec![p("x", Type::Float)], Type::Int),
            "popcount" => (Builtin::Num(NumOp::Popcount), vec![p("n", Type::Int)], Type::Int),
            "leading_zeros" => (Builtin::Num(NumOp::LeadingZeros), vec![p("n", Type::Int)], Type::Int),
            "trailing_zeros" => (Builtin::Num(NumOp::TrailingZeros), vec![p("n", Type::Int)], Type::Int),
            "rotate_left" => (Builtin::Num(NumOp::RotateLeft), vec![p("n", Type::Int), p("bits", Type::Int)], Type::Int),
            "rotate_right" => (Builtin::Num(NumOp::RotateRight), vec![p("n", Type::Int), p("bits", Type::Int)], Type::Int),
            _ => match self.fn_template(name) {
                Some(tpl) => {
                    let targs = self.check_args(name, &tpl.params, args, span);
                    return self.expand_template(name, tpl, None, targs, span);
                }
                None => unreachable!("BUILTIN_FNS covers the names"),
            },
        };
        let args = self.check_args(name, &params, args, span);
        texpr(TExprKind::Builtin { builtin, args }, ret, span)
    }

    /// `ws_broadcast("/chat", message)`: the message, of the type the endpoint sends, to every
    /// connection of that `@ws` endpoint (on this host); answers how many it reached.
    fn check_ws_broadcast(&mut self, args: &[ast::Arg], span: Span) -> TExpr {
        let endpoints: Vec<(String, Type)> = self
            .fns
            .iter()
            .filter(|f| f.decorators.ws.is_some())
            .filter_map(|f| {
                let path = f.decorators.route.as_ref()?.template.clone();
                let out = match f.params.first().map(|p| self.unifier.resolve(&p.ty)) {
                    Some(Type::Ws(_, out)) => *out,
                    _ => Type::Error,
                };
                Some((path, out))
            })
            .collect();
        let [endpoint, _] = args else {
            self.report(Problem::ArgCount { callee: "ws_broadcast".into(), min: 2, max: 2, found: args.len(), span });
            self.infer_args_loosely(args);
            return Self::error_expr(span);
        };
        let literal = match &endpoint.value.kind {
            ExprKind::Str(parts) => match parts.as_slice() {
                [StrPart::Text(s)] => Some(s.clone()),
                [] => Some(String::new()),
                _ => None,
            },
            _ => None,
        };
        let sends = literal.as_ref().and_then(|l| endpoints.iter().find(|(p, _)| p == l)).map(|(_, t)| t.clone());
        let Some(sends) = sends else {
            self.report(Problem::WsBroadcastEndpoint { found: literal, endpoints: endpoints.into_iter().map(|(p, _)| p).collect(), span: endpoint.value.span });
            self.infer_args_loosely(args);
            return Self::error_expr(span);
        };
        let params = vec![p("endpoint", Type::Str), p("message", sends)];
        let targs = self.check_args("ws_broadcast", &params, args, span);
        texpr(TExprKind::Builtin { builtin: Builtin::WsBroadcast, args: targs }, Type::Int, span)
    }

    /// `db.transaction(async fn(tx) { … })` whose function queries `db`: that runs outside the
    /// transaction (and on SQLite waits for its lock). Warned at the first use.
    fn check_outside_transaction(&mut self, db: crate::tast::LocalId, func: FnId) {
        let Some(Some(def)) = self.out_fns.get(func.0 as usize) else { return };
        let Some(&(inner, _)) = def.captures.iter().find(|(_, outer)| *outer == db) else { return };
        let mut first: Option<Span> = None;
        fn walk(e: &TExpr, inner: crate::tast::LocalId, first: &mut Option<Span>) {
            if matches!(e.kind, TExprKind::Local(id) if id == inner) && first.is_none_or(|f| e.span.start < f.start) {
                *first = Some(e.span);
            }
            crate::tast::visit::children(e, &mut |c| walk(c, inner, first));
        }
        walk(&def.body, inner, &mut first);
        let name = |id: crate::tast::LocalId| def.locals.get(id.0 as usize).map(|l| l.name.clone()).unwrap_or_default();
        let (outside, tx) = (name(inner), def.params.first().map(|p| name(*p)).unwrap_or_default());
        if let Some(span) = first {
            self.report(Problem::OutsideTransaction { db: outside, tx, span });
        }
    }

    /// The record the `@auth_provider` answers, from its declared type (known before any body
    /// is checked).
    fn provider_user(&mut self) -> Option<crate::types::RecordId> {
        let f = self.fns.iter().find(|f| f.decorators.auth_provider.is_some())?;
        let ret = f.ret.clone();
        let mut t = self.unifier.resolve(&ret);
        if let Type::Future(inner) = t {
            t = *inner;
        }
        match t {
            Type::Result(ok, _) => match *ok {
                Type::Record(id) => Some(id),
                _ => None,
            },
            Type::Record(id) => Some(id),
            _ => None,
        }
    }

    fn call_module(&mut self, module: &str, func: &ast::Ident, args: &[ast::Arg], span: Span) -> TExpr {
        if let Some(tpl) = self.module_template(module, &func.name) {
            let name = format!("{module}.{}", func.name);
            let targs = self.check_args(&name, &tpl.params, args, span);
            return self.expand_template(&name, tpl, None, targs, span);
        }
        let str_str = Type::map(Type::Str, Type::Str);
        let hs256 = || TExprKind::Str("HS256".into());
        let db_future = |t: Type| Type::future(Type::result(t));
        let (builtin, params, ret) = match (module, func.name.as_str()) {
            ("rand", "seeded") => (Builtin::RandSeeded, vec![p("seed", Type::Int)], Type::RandGen),
            ("rand", "__fresh") if self.templates > 0 => (Builtin::RandFresh, vec![], Type::RandGen),
            ("hash", "password") => (Builtin::HashPassword, vec![p("password", Type::Str)], Type::Str),
            ("hash", "verify") => {
                // A `null` hash (no such user) is verified against a stand-in of the same cost:
                // an unknown user takes as long to refuse as a wrong password.
                (Builtin::HashVerify, vec![p("password", Type::Str), p("hash", Type::nullable(Type::Str))], Type::Bool)
            }
            ("jwt", "encode") => (Builtin::JwtEncode, vec![p("claims", str_str.clone()), p("secret", Type::Str), opt("alg", Type::Str, hs256())], Type::Str),
            ("jwt", "decode") => (Builtin::JwtDecode, vec![p("token", Type::Str), p("secret", Type::Str), opt("alg", Type::Str, hs256())], Type::result(str_str.clone())),
            ("jwt", "decode_jwks") => {
                let text = |s: &str| TExprKind::Str(s.into());
                let params = vec![
                    p("token", Type::Str),
                    p("jwks_url", Type::Str),
                    opt("alg", Type::Str, text("RS256")),
                    opt("issuer", Type::Str, text("")),
                    opt("audience", Type::Str, text("")),
                ];
                (Builtin::JwtDecodeJwks, params, db_future(str_str.clone()))
            }
            ("db", "connect") => (Builtin::DbConnect, vec![p("url", Type::Str)], db_future(Type::DbConn)),
            ("auth", "blacklist") => (Builtin::AuthBlacklist, vec![p("db", Type::DbConn), p("jti", Type::Str), p("expires_at", Type::Int)], db_future(Type::Null)),
            ("auth", "is_blacklisted") => (Builtin::AuthIsBlacklisted, vec![p("db", Type::DbConn), p("jti", Type::Str)], db_future(Type::Bool)),
            ("auth", "cleanup_expired") => (Builtin::AuthCleanupExpired, vec![p("db", Type::DbConn)], db_future(Type::Int)),
            ("auth", m @ ("issue" | "refresh")) => {
                let Some(&pair) = self.record_ids.get("TokenPair") else {
                    self.report(Problem::UnknownName { name: "TokenPair".into(), span, suggestion: None });
                    self.infer_args_loosely(args);
                    return Self::error_expr(span);
                };
                let (builtin, first) = if m == "issue" { (Builtin::AuthIssue, p("claims", str_str.clone())) } else { (Builtin::AuthRefresh, p("refresh_token", Type::Str)) };
                (builtin, vec![p("db", Type::DbConn), first, p("secret", Type::Str), opt("alg", Type::Str, hs256())], db_future(Type::Record(pair)))
            }
            ("auth", "revoke") => (Builtin::AuthRevoke, vec![p("db", Type::DbConn), p("refresh_token", Type::Str)], db_future(Type::Null)),
            ("http", "request") => {
                let Some(&answer) = self.record_ids.get("HttpClientResponse") else {
                    self.report(Problem::UnknownName { name: "HttpClientResponse".into(), span, suggestion: None });
                    self.infer_args_loosely(args);
                    return Self::error_expr(span);
                };
                (Builtin::HttpRequestMap, vec![p("options", Type::map(Type::Str, Type::Any))], db_future(Type::Record(answer)))
            }
            ("http", m @ ("get" | "head" | "delete" | "post" | "put")) => {
                let Some(&answer) = self.record_ids.get("HttpClientResponse") else {
                    self.report(Problem::UnknownName { name: "HttpClientResponse".into(), span, suggestion: None });
                    self.infer_args_loosely(args);
                    return Self::error_expr(span);
                };
                let (method, body) = match m {
                    "get" => (0, false),
                    "head" => (1, false),
                    "delete" => (2, false),
                    "post" => (3, true),
                    _ => (4, true),
                };
                let mut params = vec![p("url", Type::Str)];
                if body {
                    // Text goes as it is; anything else as JSON.
                    params.push(p("body", Type::Any));
                }
                params.push(opt("headers", str_str.clone(), TExprKind::Map(vec![])));
                params.push(opt("timeout_ms", Type::Int, TExprKind::Int(0)));
                (Builtin::Http { method, body }, params, db_future(Type::Record(answer)))
            }
            ("smtp", "send") => {
                let Some(&sent) = self.record_ids.get("SmtpResult") else {
                    self.report(Problem::UnknownName { name: "SmtpResult".into(), span, suggestion: None });
                    self.infer_args_loosely(args);
                    return Self::error_expr(span);
                };
                (Builtin::SmtpSend, vec![p("message", str_str.clone())], db_future(Type::Record(sent)))
            }
            ("test", m @ ("get" | "post" | "put" | "patch" | "delete")) => {
                let Some(&answer) = self.record_ids.get("TestResponse") else {
                    self.report(Problem::UnknownName { name: "TestResponse".into(), span, suggestion: None });
                    self.infer_args_loosely(args);
                    return Self::error_expr(span);
                };
                let (method, body) = match m {
                    "get" => (0, false),
                    "delete" => (2, false),
                    "post" => (3, true),
                    "put" => (4, true),
                    _ => (5, true),
                };
                let mut params = vec![p("path", Type::Str)];
                if body {
                    params.push(p("body", Type::Any));
                }
                params.push(opt("headers", str_str.clone(), TExprKind::Map(vec![])));
                // `as_user: u`: the request runs as `u` (the provider's user type) without the
                // provider being asked, so a test acts as a user of any role it builds.
                let user = self.provider_user().map_or(Type::Null, |u| Type::nullable(Type::Record(u)));
                params.push(opt("as_user", user, TExprKind::Null));
                (Builtin::TestRequest { method, body }, params, Type::future(Type::Record(answer)))
            }
            ("flags", "is_enabled") => (Builtin::Flag, vec![p("name", Type::Str)], Type::Bool),
            ("DateTime", "now") => (Builtin::DateTimeNow, vec![], Type::DateTime),
            ("Uuid", "v4") => (Builtin::UuidV4, vec![], Type::Uuid),
            ("log", level @ ("info" | "warn" | "error" | "debug")) => {
                let level = match level {
                    "info" => LogLevel::Info,
                    "warn" => LogLevel::Warn,
                    "error" => LogLevel::Error,
                    _ => LogLevel::Debug,
                };
                if args.iter().any(|a| a.name.as_ref().is_some_and(|n| n.name != "message" && n.name != "fields")) {
                    return self.log_with_fields(level, args, span);
                }
                let v = self.unifier.fresh();
                let fields_ty = Type::map(Type::Str, v);
                (Builtin::Log(level), vec![p("message", Type::Str), opt("fields", fields_ty, TExprKind::Map(vec![]))], Type::Null)
            }
            _ => {
                let known = module_functions(module);
                let suggestion = super::names::closest(&func.name, known.iter().copied()).map(|s| format!("{module}.{s}"));
                self.report(Problem::UnknownName { name: format!("{module}.{}", func.name), span: func.span, suggestion });
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
        };
        let callee = format!("{module}.{}", func.name);
        let targs = self.check_args(&callee, &params, args, span);
        if let Builtin::Log(_) = builtin
            && let Some(fields) = targs.get(1)
            && let Type::Map(_, v) = self.res(&fields.ty)
            && !super::expr::printable(&v)
        {
            self.report(Problem::NotPrintable { ty: *v, span: fields.span });
        }
        texpr(TExprKind::Builtin { builtin, args: targs }, ret, span)
    }

    /// `log.info("msg", user: id, ok: true)`: upstream's structured form, each named argument
    /// a field, shown as text (a `Secret` as `***`). Names the log line itself uses are refused.
    fn log_with_fields(&mut self, level: LogLevel, args: &[ast::Arg], span: Span) -> TExpr {
        const RESERVED: &[&str] = &["level", "msg", "timestamp", "trace_id", "span_id", "app", "fields", "message"];
        let mut message = None;
        let mut fields = Vec::new();
        for a in args {
            match &a.name {
                None if message.is_none() && fields.is_empty() => message = Some(self.check_expr(&a.value, &Type::Str, Expectation::Argument { callee: "log".into(), index: 0 })),
                None => {
                    self.report(Problem::PositionalAfterNamed { span: a.span });
                    self.infer_expr(&a.value, None);
                }
                Some(n) if RESERVED.contains(&n.name.as_str()) => {
                    self.report(Problem::ReservedLogField { name: n.name.clone(), span: n.span });
                    self.infer_expr(&a.value, None);
                }
                Some(n) => {
                    let te = self.infer_expr(&a.value, None);
                    let te = self.require_printable(te);
                    let vspan = te.span;
                    let text = texpr(TExprKind::Interp(vec![crate::tast::TStrPart::Value { expr: te, spec: None }]), Type::Str, vspan);
                    fields.push((texpr(TExprKind::Str(n.name.clone()), Type::Str, n.span), text));
                }
            }
        }
        let Some(message) = message else {
            self.report(Problem::ArgCount { callee: "log".into(), min: 1, max: 1, found: 0, span });
            return Self::error_expr(span);
        };
        let fields = texpr(TExprKind::Map(fields), Type::map(Type::Str, Type::Str), span);
        texpr(TExprKind::Builtin { builtin: Builtin::Log(level), args: vec![message, fields] }, Type::Null, span)
    }

    /// Methods of built-in types; the receiver becomes the first argument.
    pub fn call_method(&mut self, recv: TExpr, method: &ast::Ident, args: &[ast::Arg], _hint: Option<&Type>, span: Span) -> TExpr {
        let ty = self.unifier.shallow(&recv.ty);
        let m = method.name.as_str();
        let fresh = |c: &mut Self| c.unifier.fresh();
        let pred = |t: &Type| Type::Fn(vec![t.clone()], Box::new(Type::Bool));
        let (builtin, params, ret): (Builtin, Vec<BParam>, Type) = match (&ty, m) {
            (Type::Error, _) => {
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
            (Type::Secret, "expose") => (Builtin::SecretExpose, vec![], Type::Str),
            (Type::DateTime, "timestamp") => (Builtin::DateTimeTimestamp, vec![], Type::Int),
            (Type::Uuid, "to_str") => (Builtin::UuidToStr, vec![], Type::Str),
            (Type::Str, "len") => (Builtin::StrLen, vec![], Type::Int),
            (Type::Bytes, "len") => (Builtin::BytesLen, vec![], Type::Int),
            // Both are empty when their length word is 0.
            (Type::Bytes, "is_empty") => (Builtin::StrIsEmpty, vec![], Type::Bool),
            (Type::Bytes, "to_str") => (Builtin::Bytes(BytesOp::ToStr), vec![], Type::result(Type::Str)),
            (Type::Str, "split") => (Builtin::StrSplit, vec![p("separator", Type::Str)], Type::list(Type::Str)),
            (Type::Str, "contains") => (Builtin::StrContains, vec![p("part", Type::Str)], Type::Bool),
            (Type::Str, "starts_with") => (Builtin::StrStartsWith, vec![p("prefix", Type::Str)], Type::Bool),
            (Type::Str, "ends_with") => (Builtin::StrEndsWith, vec![p("suffix", Type::Str)], Type::Bool),
            (Type::Str, "trim") => (Builtin::StrTrim, vec![], Type::Str),
            (Type::Str, "upper") => (Builtin::StrUpper, vec![], Type::Str),
            (Type::Str, "lower") => (Builtin::StrLower, vec![], Type::Str),
            (Type::Str, "replace") => (Builtin::StrReplace, vec![p("from", Type::Str), p("to", Type::Str)], Type::Str),
            (Type::Str, "is_empty") => (Builtin::StrIsEmpty, vec![], Type::Bool),
            (Type::List(_), "len") => (Builtin::ListLen, vec![], Type::Int),
            (Type::List(t), "push") => (Builtin::ListPush, vec![p("item", (**t).clone())], Type::Null),
            (Type::List(t), "map") => {
                let u = fresh(self);
                (Builtin::ListMap, vec![p("f", Type::Fn(vec![(**t).clone()], Box::new(u.clone())))], Type::list(u))
            }
            (Type::List(t), "filter") => (Builtin::ListFilter, vec![p("f", pred(t))], ty.clone()),
            (Type::List(t), "find") => (Builtin::ListFind, vec![p("f", pred(t))], Type::result((**t).clone())),
            (Type::List(t), "any") => (Builtin::ListAny, vec![p("f", pred(t))], Type::Bool),
            (Type::List(t), "all") => (Builtin::ListAll, vec![p("f", pred(t))], Type::Bool),
            (Type::List(t), "contains") => (Builtin::ListContains, vec![p("item", (**t).clone())], Type::Bool),
            (Type::List(t), "first") => (Builtin::ListFirst, vec![], Type::result((**t).clone())),
            (Type::List(t), "last") => (Builtin::ListLast, vec![], Type::result((**t).clone())),
            (Type::List(_), "join") => (Builtin::ListJoin, vec![p("separator", Type::Str)], Type::Str),
            (Type::Map(k, v), "get") => (Builtin::MapGet, vec![p("key", (**k).clone())], Type::result((**v).clone())),
            (Type::Map(k, _), "has") => (Builtin::MapHas, vec![p("key", (**k).clone())], Type::Bool),
            (Type::Map(k, _), "keys") => (Builtin::MapKeys, vec![], Type::list((**k).clone())),
            (Type::Map(_, v), "values") => (Builtin::MapValues, vec![], Type::list((**v).clone())),
            (Type::Map(..), "len") => (Builtin::MapLen, vec![], Type::Int),
            (Type::Str, "chars") => (Builtin::StrChars, vec![], Type::list(Type::Str)),
            (Type::Any, "type_name") => (Builtin::AnyTypeName, vec![], Type::Str),
            (Type::Str, "to_float") => (Builtin::StrToFloat, vec![], Type::result(Type::Float)),
            (_, "__eprint") if self.templates > 0 => (Builtin::Eprint, vec![p("message", Type::Str)], Type::Null),
            // Primitives of the methods written in Fitz (`prelude`), callable there only.
            (Type::Str, "__index_of") if self.templates > 0 => (Builtin::StrIndexOf { last: false }, vec![p("part", Type::Str)], Type::Int),
            (Type::Str, "__last_index_of") if self.templates > 0 => (Builtin::StrIndexOf { last: true }, vec![p("part", Type::Str)], Type::Int),
            (Type::List(_), "__truncate") if self.templates > 0 => (Builtin::ListTruncate, vec![p("n", Type::Int)], Type::Null),
            (Type::Range, "__start") if self.templates > 0 => (Builtin::RangeStart, vec![], Type::Int),
            (Type::Range, "__end") if self.templates > 0 => (Builtin::RangeEnd, vec![], Type::Int),
            (Type::Range, "__inclusive") if self.templates > 0 => (Builtin::RangeInclusive, vec![], Type::Bool),
            (Type::RandGen, "__next") if self.templates > 0 => (Builtin::RandNext, vec![], Type::Int),
            (Type::Int, "__random_bytes") if self.templates > 0 => (Builtin::RandBytes, vec![], Type::Bytes),
            (Type::Int, "__urem") if self.templates > 0 => (Builtin::IntURem, vec![p("by", Type::Int)], Type::Int),
            (Type::Int, "__unit_float") if self.templates > 0 => (Builtin::UnitFloat, vec![], Type::Float),
            // A `Date`'s days and a `DateTime`'s microseconds are `Int`s in another type.
            (Type::Date, "__days") if self.templates > 0 => (Builtin::Reinterpret, vec![], Type::Int),
            (Type::Int, "__to_date") if self.templates > 0 => (Builtin::Reinterpret, vec![], Type::Date),
            (Type::DateTime, "__micros") if self.templates > 0 => (Builtin::Reinterpret, vec![], Type::Int),
            (Type::Int, "__to_datetime") if self.templates > 0 => (Builtin::Reinterpret, vec![], Type::DateTime),
            (Type::Str, "__parse_date") if self.templates > 0 => (Builtin::ParseTime { datetime: false }, vec![], Type::result(Type::Date)),
            (Type::Str, "__parse_datetime") if self.templates > 0 => (Builtin::ParseTime { datetime: true }, vec![], Type::result(Type::DateTime)),
            (Type::Float, "__fmt") if self.templates > 0 => (Builtin::FmtWith, vec![p("spec", Type::Str)], Type::Str),
            (_, "__fail") if self.templates > 0 => (Builtin::Fail, vec![p("message", Type::Str)], Type::Never),
            (_, "__as_future") if self.templates > 0 => (Builtin::Reinterpret, vec![], Type::future(ty.clone())),
            (Type::Ws(rx, _), "recv") => (Builtin::WsRecv, vec![], Type::future(Type::result((**rx).clone()))),
            (Type::Ws(_, tx), m @ ("send" | "broadcast")) => {
                (Builtin::WsSend { broadcast: m == "broadcast" }, vec![p("message", (**tx).clone())], Type::future(Type::result(Type::Null)))
            }
            (Type::Ws(..), "close") => (Builtin::WsClose, vec![], Type::future(Type::Null)),
            (Type::DbConn, "connect") => (Builtin::DbConnect, vec![p("url", Type::Str)], Type::future(Type::result(Type::DbConn))),
            (Type::DbConn, m @ ("exec" | "query")) => {
                let rows = m == "query";
                let params = vec![p("sql", Type::Str), opt("params", Type::list(Type::Any), TExprKind::List(vec![]))];
                let out = if rows { Type::list(Type::map(Type::Str, Type::Any)) } else { Type::Int };
                (Builtin::DbRaw { rows }, params, Type::future(Type::result(out)))
            }
            (Type::DbConn, "__tx_begin") if self.templates > 0 => (Builtin::TxBegin, vec![], Type::result(Type::DbConn)),
            (Type::DbConn, "__tx_end") if self.templates > 0 => (Builtin::TxEnd, vec![p("commit", Type::Bool)], Type::result(Type::Null)),
            (Type::Future(inner), _) => {
                let inner = self.res(inner);
                self.report(Problem::MissingAwait { inner, span: recv.span });
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
            (Type::Nullable(_), _) => {
                let ty = self.res(&ty);
                self.report(Problem::MaybeNull { ty, span: recv.span });
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
            (Type::Var(_), _) => {
                self.report(Problem::CannotInfer { name: super::expr::describe(&recv), span: recv.span });
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
            _ if self.template(&ty, m).is_some() => {
                let tpl = self.template(&ty, m).expect("just found");
                let targs = self.check_args(&format!(".{m}()"), &tpl.params, args, span);
                if let (Type::DbConn, TExprKind::Local(db), Some(TExprKind::Lambda { func, .. })) = (&ty, &recv.kind, targs.first().map(|a| &a.kind)) {
                    self.check_outside_transaction(*db, *func);
                }
                return self.expand_template(m, tpl, Some(recv), targs, span);
            }
            _ => {
                if self.is_jwt_result(&recv) {
                    self.report(Problem::JwtDecodeUnhandled { expected: Type::map(Type::Str, Type::Str), span: recv.span });
                } else {
                    let known = methods_of(&ty);
                    let suggestion = super::names::closest(m, known.iter().copied());
                    self.report(Problem::UnknownMethod { ty: self.res(&ty), method: m.to_string(), span: method.span, suggestion });
                }
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
        };
        let callee = format!(".{m}()");
        let mut targs = vec![recv];
        targs.extend(self.check_args(&callee, &params, args, span));
        if builtin == Builtin::ListJoin
            && let Type::List(t) = self.res(&ty)
            && !super::expr::printable(&t)
        {
            self.report(Problem::NotPrintable { ty: *t, span: targs[0].span });
        }
        texpr(TExprKind::Builtin { builtin, args: targs }, ret, span)
    }
}

pub fn methods_of(ty: &Type) -> &'static [&'static str] {
    match ty {
        Type::Str => &[
            "len",
            "split",
            "contains",
            "starts_with",
            "ends_with",
            "trim",
            "upper",
            "lower",
            "replace",
            "is_empty",
            "chars",
            "repeat",
            "trim_start",
            "trim_end",
            "find",
            "index_of",
            "last_index_of",
            "pad_start",
            "pad_end",
            "center",
            "left",
            "right",
            "split_at",
            "reverse",
            "count",
            "lines",
            "repeat_with",
            "swap_case",
            "title",
            "is_alpha",
            "is_digit",
            "is_numeric",
        ],
        Type::List(_) => &[
            "len",
            "push",
            "map",
            "filter",
            "find",
            "any",
            "all",
            "contains",
            "first",
            "last",
            "join",
            "count",
            "find_index",
            "reduce",
            "flat_map",
            "flatten",
            "enumerate",
            "zip",
            "chain",
            "partition",
            "min",
            "max",
            "sum",
            "product",
            "unique",
            "to_map",
            "zip_to_map",
            "sort",
            "sort_by",
            "reverse",
            "pop",
            "is_empty",
            "starts_with",
            "ends_with",
            "insert_at",
            "remove_at",
            "index_of",
            "split_at",
            "group_by",
            "zip_with",
            "max_by",
            "min_by",
            "scan",
            "windows",
            "take",
            "drop",
            "init",
            "tail",
            "intersperse",
            "cycle",
        ],
        Type::Map(..) => {
            &["get", "has", "keys", "values", "len", "filter", "map_values", "merge", "update", "keys_sorted", "entries", "invert", "is_empty", "has_value", "merge_with", "with"]
        }
        Type::Range => &["enumerate", "zip", "chain", "len", "step_by", "to_list"],
        Type::RandGen => &["int", "float", "bool", "choice", "shuffle", "sample"],
        Type::Any => &["as_int", "as_float", "as_str", "as_bool", "is_null", "type_name"],
        Type::Int => &["abs", "to_str", "to_str_base"],
        Type::Float => &["abs", "to_str", "is_nan", "is_finite"],
        Type::Secret => &["expose"],
        Type::DateTime => &[
            "timestamp",
            "date",
            "to_str",
            "add_days",
            "add_hours",
            "add_minutes",
            "add_seconds",
            "add_months",
            "add_years",
            "subtract_days",
            "subtract_hours",
            "subtract_minutes",
            "subtract_seconds",
            "subtract_months",
            "subtract_years",
            "diff_days",
            "diff_hours",
            "diff_minutes",
            "diff_seconds",
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
        ],
        Type::Date => &["to_str", "add_days", "add_months", "add_years", "subtract_days", "subtract_months", "subtract_years", "diff_days", "year", "month", "day", "weekday"],
        Type::Uuid => &["to_str"],
        Type::Bytes => &["len", "is_empty", "to_str"],
        Type::DbConn => &["transaction", "exec", "query", "connect"],
        Type::Ws(..) => &["recv", "send", "broadcast", "close"],
        _ => &[],
    }
}

/// The functions of a built-in module (`jwt.encode`, …), for suggestions and completion.
pub fn module_functions(module: &str) -> &'static [&'static str] {
    match module {
        "hash" => &["password", "verify"],
        "jwt" => &["encode", "decode", "decode_jwks"],
        "auth" => &["blacklist", "is_blacklisted", "cleanup_expired", "issue", "refresh", "revoke"],
        "DateTime" => &["now", "epoch", "from_timestamp", "parse"],
        "Date" => &["today", "tomorrow", "yesterday", "from_ymd", "parse"],
        "rand" => &["int", "float", "bool", "choice", "shuffle", "sample", "seeded", "bytes"],
        "num" => &["format", "percent", "currency"],
        "Uuid" => &["v4"],
        "http" => &["get", "head", "delete", "post", "put", "request"],
        "flags" => &["is_enabled"],
        "smtp" => &["send"],
        "db" => &["connect"],
        "test" => &["get", "post", "put", "patch", "delete"],
        _ => &["info", "warn", "error", "debug"],
    }
}
