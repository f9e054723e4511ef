//! HTTP routes: path templates, where each handler parameter comes from, duplicate routes,
//! and what handlers may take and return.

use std::collections::HashMap;

use super::Checker;
use super::problem::{PathProblem, Problem};
use crate::ast;
use crate::span::Span;
use crate::tast::{AuthProvider, Binding, FnId, Method, Route, RouteAuth};
use crate::types::Type;

/// A parsed path template: `/users/{id}?limit={limit}`.
#[derive(Debug, PartialEq)]
pub struct Template {
    pub path: String,
    pub path_params: Vec<String>,
    pub query_params: Vec<String>,
}

pub fn parse_template(t: &str) -> Result<Template, PathProblem> {
    let (path, query) = match t.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (t, None),
    };
    if !path.starts_with('/') {
        return Err(PathProblem::NoLeadingSlash);
    }
    let mut path_params: Vec<String> = Vec::new();
    for segment in path.split('/') {
        let opens = segment.matches('{').count();
        let closes = segment.matches('}').count();
        if opens != closes || opens > 1 {
            return Err(if opens > closes { PathProblem::UnclosedBrace } else { PathProblem::PartialSegment });
        }
        if opens == 1 {
            if !(segment.starts_with('{') && segment.ends_with('}')) {
                return Err(PathProblem::PartialSegment);
            }
            let name = &segment[1..segment.len() - 1];
            if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_alphanumeric()) {
                return Err(PathProblem::EmptyName);
            }
            if path_params.iter().any(|p| p == name) {
                return Err(PathProblem::DuplicateParam(name.to_string()));
            }
            path_params.push(name.to_string());
        }
    }
    let mut query_params: Vec<String> = Vec::new();
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(PathProblem::BadQueryPair(pair.to_string()));
            };
            let Some(name) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) else {
                return Err(PathProblem::BadQueryPair(pair.to_string()));
            };
            if name.is_empty() {
                return Err(PathProblem::EmptyName);
            }
            if key != name {
                return Err(PathProblem::QueryKeyMismatch { key: key.to_string(), param: name.to_string() });
            }
            if path_params.iter().chain(&query_params).any(|p| p == name) {
                return Err(PathProblem::DuplicateParam(name.to_string()));
            }
            query_params.push(name.to_string());
        }
    }
    Ok(Template { path: path.to_string(), path_params, query_params })
}

/// The path with parameter names erased, so `/u/{id}` and `/u/{uid}` collide.
fn route_key(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/")
}

fn scalar(t: &Type) -> bool {
    matches!(t, Type::Int | Type::Float | Type::Bool | Type::Str | Type::Date | Type::DateTime | Type::Uuid | Type::Error)
}

impl Checker {
    /// The built-in `Request` (`guest_abi::response::REQUEST_SOURCE`): the host fills it in.
    fn is_builtin_request(&self, rid: crate::types::RecordId) -> bool {
        let r = &self.records[rid.0 as usize];
        let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
        r.name == "Request" && names == ["method", "path", "headers", "query", "cookies", "client"]
    }

    /// Upstream's shape of a `@ws` handler: `async`, its `WsConn<In, Out>` first, `Null` (or
    /// `Result<Null>`) returned, a path without parameters, values that travel as JSON.
    fn check_ws(&mut self, i: usize, f: &ast::FnDecl, template: &Template, span: Span) -> Option<(Type, Type)> {
        let decorators = &self.fns[i].decorators;
        if let Some(&(_, at)) = decorators.after.first().or(decorators.wraps.first()) {
            let help = "they answer an HTTP request, and a WebSocket answers with its messages; a pre middleware (`fn m(req: Request) { … }`) may guard the upgrade";
            self.report(Problem::WsShape { why: "takes no post or wrap middleware", help, span: at });
        }
        if !self.fns[i].is_async {
            self.report(Problem::WsShape { why: "is `async`", help: "write `@ws(\"/chat\") async fn chat(conn: WsConn<Msg>) { … }`", span: f.name.span });
        }
        let ret = self.unifier.resolve(&self.fns[i].ret);
        if !matches!(&ret, Type::Null | Type::Error) && ret != Type::result(Type::Null) {
            let at = f.ret.as_ref().map_or(f.name.span, |t| t.span);
            self.report(Problem::WsShape { why: "returns nothing (or `Result<Null>`, to use `?`)", help: "the connection ends when the handler returns", span: at });
        }
        if !template.path_params.is_empty() || !template.query_params.is_empty() {
            self.report(Problem::WsShape { why: "has a path without parameters", help: "read values from the messages, or from `@header`/`@cookie` parameters", span });
        }
        let first = self.fns[i].params.first().map(|p| self.unifier.resolve(&p.ty));
        let Some(Type::Ws(rx, tx)) = first else {
            self.report(Problem::WsShape { why: "takes a `WsConn<T>` first", help: "`@ws(\"/chat\") async fn chat(conn: WsConn<Msg>, …)`", span: f.name.span });
            return None;
        };
        for t in [&*rx, &*tx] {
            if !self.serializable(t, false) {
                let at = f.params.first().map_or(span, |p| p.span);
                self.report(Problem::NotSerializable { ty: t.clone(), what: "WebSocket message", span: at });
            }
        }
        Some((*rx, *tx))
    }

    pub fn check_routes(&mut self, fns: &[&ast::FnDecl], auth: Option<&AuthProvider>) -> Vec<Route> {
        let mut routes = Vec::new();
        let mut seen: HashMap<(Method, String), Span> = HashMap::new();
        for (i, f) in fns.iter().enumerate() {
            let Some(r) = self.fns[i].decorators.route.clone() else {
                for c in self.fns[i].decorators.carried.clone() {
                    self.report(Problem::CarriedOffRoute { carrier: c.carrier.word(), span: c.span });
                }
                if let Some((_, span)) = self.fns[i].decorators.cors.clone() {
                    self.report(Problem::CorsOffRoute { span });
                }
                if let Some((_, span)) = self.fns[i].decorators.flag.clone() {
                    self.report(Problem::FlagOffRoute { span });
                }
                continue;
            };
            let template = match parse_template(&r.template) {
                Ok(t) => t,
                Err(problem) => {
                    self.report(Problem::BadPath { path: r.template.clone(), problem, span: r.arg_span });
                    continue;
                }
            };
            let key = (r.method, route_key(&template.path));
            if let Some(first) = seen.get(&key) {
                self.report(Problem::DuplicateRoute { method: r.method.as_str(), path: template.path.clone(), span: r.span, first: *first });
            } else {
                seen.insert(key, r.span);
            }
            let decorators = self.fns[i].decorators.clone();
            let protected = decorators.is_protected();
            let user = auth.map(|a| a.user);
            let mut bindings = Vec::new();
            let mut body: Option<Span> = None;
            for (j, p) in f.params.iter().enumerate() {
                if p.default.is_some() {
                    self.report(Problem::HandlerParamDefault { span: p.span });
                }
                let ty = self.unifier.resolve(&self.fns[i].params[j].ty);
                let name = &p.name.name;
                let carried = decorators.carried.iter().find(|c| c.param == *name);
                let binding = if let Some(c) = carried {
                    if !matches!(&ty, Type::Str | Type::Error) && ty != Type::Nullable(Box::new(Type::Str)) {
                        self.report(Problem::CarriedParamType { carrier: c.carrier.word(), name: name.clone(), ty: ty.clone(), span: p.span });
                    }
                    Binding::Carried { carrier: c.carrier, name: c.name.clone(), optional: matches!(ty, Type::Nullable(_)) }
                } else if template.path_params.contains(name) {
                    if !scalar(&ty) {
                        self.report(Problem::PathParamType { name: name.clone(), ty: ty.clone(), span: p.span });
                    }
                    Binding::Path { name: name.clone() }
                } else if template.query_params.contains(name) {
                    let inner = match &ty {
                        Type::Nullable(t) => (**t).clone(),
                        t => t.clone(),
                    };
                    if !scalar(&inner) {
                        self.report(Problem::QueryParamType { name: name.clone(), ty: ty.clone(), span: p.span });
                    }
                    Binding::Query { name: name.clone(), optional: matches!(ty, Type::Nullable(_)) }
                } else if let Type::Record(rid) = ty
                    && self.is_builtin_request(rid)
                {
                    Binding::Request
                } else if ty == Type::DbConn {
                    Binding::Db
                } else if let Type::Ws(..) = &ty {
                    if decorators.ws.is_none() {
                        self.report(Problem::WsShape { why: "is the only place a `WsConn` comes from", help: "declare the endpoint with `@ws(\"/path\")`", span: p.span });
                    } else if j != 0 {
                        self.report(Problem::WsShape { why: "takes its `WsConn` first", help: "`@ws(\"/chat\") async fn chat(conn: WsConn<Msg>, …)`", span: p.span });
                    }
                    Binding::Ws
                } else if ty == Type::map(Type::Str, Type::Str) && name == "headers" {
                    // Upstream's rule: a `Map<Str, Str>` named `headers` is the headers; under
                    // any other name it is the body (JSON, or a form's text fields).
                    Binding::Headers
                } else if protected && user.is_some_and(|u| ty == Type::Record(u)) {
                    Binding::User
                } else if protected && user.is_none() && matches!(ty, Type::Record(_)) && !bindings.contains(&Binding::User) {
                    // No usable provider (already reported): take the record as the user so the
                    // missing provider is the only complaint.
                    Binding::User
                } else if matches!(ty, Type::Record(_) | Type::Any | Type::List(_) | Type::Map(..) | Type::Bytes) {
                    // The body: a record, or any JSON as `Any`, a list or a map; a form's fields
                    // (`Map<Str, Str>`, `Map<Str, File>`, a record) — the host reads the form;
                    // or `Bytes`, the request's bytes as they came.
                    if let Type::Record(rid) = ty
                        && !protected
                        && user == Some(rid)
                    {
                        let user = self.record_name(rid).to_string();
                        self.report(Problem::UserParamOnPublicRoute { user, span: p.span, fn_span: f.name.span });
                    }
                    if !self.serializable(&ty, false) {
                        self.report(Problem::NotSerializable { ty: ty.clone(), what: "request body", span: p.span });
                    }
                    if let Some(first) = body {
                        self.report(Problem::TwoBodies { span: p.span, first });
                    } else {
                        body = Some(p.span);
                        if matches!(r.method, Method::Get | Method::Delete) {
                            self.report(Problem::BodyOnGet { method: r.method.as_str(), span: p.span });
                        }
                    }
                    Binding::Body
                } else {
                    self.report(Problem::ParamUnbound { name: name.clone(), ty: ty.clone(), span: p.span });
                    Binding::Body
                };
                bindings.push(binding);
            }
            for c in &decorators.carried {
                if !f.params.iter().any(|p| p.name.name == c.param) {
                    self.report(Problem::CarriedParamMissing { carrier: c.carrier.word(), param: c.param.clone(), fn_name: f.name.name.clone(), span: c.span });
                }
            }
            for name in template.path_params.iter().chain(&template.query_params) {
                if !f.params.iter().any(|p| p.name.name == *name) {
                    self.report(Problem::PathParamUnbound { name: name.clone(), fn_name: f.name.name.clone(), span: r.arg_span, fn_span: f.name.span });
                }
            }
            let ret = self.unifier.resolve(&self.fns[i].ret);
            if !self.serializable(&ret, true) {
                let span = f.ret.as_ref().map_or(f.name.span, |t| t.span);
                self.report(Problem::NotSerializable { ty: ret, what: "response", span });
            } else if let Some((record, field)) = self.password_hash_in(&ret, &mut Vec::new()) {
                let span = f.ret.as_ref().map_or(f.name.span, |t| t.span);
                self.report(Problem::HashLeftOut { record, field, span });
            }
            let auth = if decorators.admin.is_some() || !decorators.requires.is_empty() {
                let mut roles = Vec::new();
                if decorators.admin.is_some() {
                    roles.push("admin".to_string());
                }
                for (role, _) in &decorators.requires {
                    if !roles.contains(role) {
                        roles.push(role.clone());
                    }
                }
                RouteAuth::Roles(roles)
            } else if decorators.authenticated.is_some() {
                RouteAuth::Authenticated
            } else {
                RouteAuth::Public
            };
            let ws_types = match decorators.ws {
                None => None,
                Some(span) => self.check_ws(i, f, &template, span),
            };
            let id = FnId(i as u32);
            routes.push(Route {
                method: r.method,
                path: template.path,
                handler: id,
                bindings,
                auth,
                statuses: self.statuses.get(&id).cloned().unwrap_or_default(),
                cors: decorators.cors.as_ref().map(|(c, _)| c.clone()),
                flag: decorators.flag.as_ref().map(|(f, _)| f.clone()),
                after: decorators.after.iter().rev().filter_map(|(name, _)| self.fn_ids.get(name).copied()).collect(),
                wrap: decorators.wraps.iter().filter_map(|(name, _)| self.fn_ids.get(name).copied()).collect(),
                ws: ws_types,
                span: r.span,
            });
        }
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let t = parse_template("/users/{id}/posts?limit={limit}&offset={offset}").expect("valid");
        assert_eq!(t.path, "/users/{id}/posts");
        assert_eq!(t.path_params, vec!["id"]);
        assert_eq!(t.query_params, vec!["limit", "offset"]);
        assert_eq!(parse_template("users"), Err(PathProblem::NoLeadingSlash));
        assert_eq!(parse_template("/a/{x}.txt"), Err(PathProblem::PartialSegment));
        assert_eq!(parse_template("/a/{x}/{x}"), Err(PathProblem::DuplicateParam("x".into())));
        assert_eq!(parse_template("/a?n={limit}"), Err(PathProblem::QueryKeyMismatch { key: "n".into(), param: "limit".into() }));
    }
}
