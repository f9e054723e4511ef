//! The checker: names, types, `Result`/`?`/`match`, `async`/`.await`, decorators, routes,
//! auth, cron and ORM rules. It records every problem and keeps going (an `Error` type agrees
//! with everything, so one mistake is reported once), and produces the typed tree.

mod auth;
mod builtins;
mod commands;
mod cron;
mod dates;
pub(crate) mod decorators;
mod expr;
mod flow;
mod infer;
mod methods;
pub(crate) mod names;
mod orm;
mod pattern;
mod prelude;
pub mod problem;

/// The names an editor completes: decorators, modules and their functions, built-in
/// functions and types, the ORM's methods.
pub mod vocabulary {
    pub use super::BUILTIN_TYPES;
    pub use super::builtins::{methods_of, module_functions};
    pub use super::decorators::{FIELD_DECORATORS, FN_DECORATORS, TYPE_DECORATORS};
    pub use super::expr::{BUILTIN_FNS, MODULES};
    pub use super::orm::ORM_METHODS;
}
mod relations;
mod roles;
mod routes;
mod state;
mod stmt;
mod tasks;
mod timing;
mod zonk;

use std::collections::{BTreeSet, HashMap};

use crate::ast;
use crate::span::Span;
use crate::tast::{self, FnId, FnKind, GlobalId, LocalId, TExpr, TExprKind};
use crate::types::{RecordId, Type};
use decorators::{FieldDecorators, FnDecorators, TypeDecorators};
use infer::Unifier;
pub use problem::Problem;

/// What a function is for; decides what `?` and `return STATUS` mean inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FnRole {
    Plain,
    Handler,
    Provider,
    Cron,
    Main,
}

pub(crate) struct FieldInfo {
    pub name: String,
    pub ty: Type,
    pub has_default: bool,
    pub decorators: FieldDecorators,
    pub span: Span,
    pub type_span: Span,
}

pub(crate) struct RecordInfo {
    pub name: String,
    pub fields: Vec<FieldInfo>,
    pub decorators: TypeDecorators,
    pub span: Span,
    /// Where the record is first used as a table, if it is.
    pub table_use: Option<Span>,
}

impl RecordInfo {
    pub fn field(&self, name: &str) -> Option<(usize, &FieldInfo)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }
}

pub(crate) struct ParamInfo {
    pub name: String,
    pub ty: Type,
    pub span: Span,
    pub default: Option<TExpr>,
    /// `...name`: the rest of the positional arguments; `ty` is their list's type.
    pub variadic: bool,
}

pub(crate) struct FnInfo {
    pub name: String,
    pub name_span: Span,
    pub params: Vec<ParamInfo>,
    pub ret: Type,
    pub ret_annotated: bool,
    pub is_async: bool,
    pub decorators: FnDecorators,
    pub role: FnRole,
}

pub(crate) struct GlobalInfo {
    pub name: String,
    pub ty: Type,
    pub span: Span,
}

/// A loop being checked: its label, whether a `break` leaves it, and, for a `loop` used as a
/// value, the type its `break`s carry.
pub(crate) struct LoopFrame {
    pub label: Option<String>,
    pub broke: bool,
    /// `Some` for a `loop` whose value is used: `None` inside until a `break` gives a type.
    pub value: Option<Option<Type>>,
}

/// One function being checked (a lambda nests inside its parent's context).
pub(crate) struct FnCtx {
    pub name: String,
    pub kind: FnKind,
    pub role: FnRole,
    pub is_async: bool,
    pub span: Span,
    pub ret: Type,
    pub locals: Vec<tast::LocalDef>,
    pub scopes: Vec<HashMap<String, LocalId>>,
    /// The enclosing loops, innermost last.
    pub loops: Vec<LoopFrame>,
    pub captures: Vec<(LocalId, LocalId)>,
    pub statuses: BTreeSet<u16>,
    /// Locals bound directly to the result of `jwt.decode`.
    pub jwt_results: std::collections::HashSet<LocalId>,
    /// Locals a plain assignment created inside a nested block (`flow`): visible to the end
    /// of the function, but read only where every path has given them a value.
    pub hoisted: std::collections::HashSet<LocalId>,
    /// Of `hoisted`, those every path to this point has given a value.
    pub assigned: std::collections::HashSet<LocalId>,
}

pub(crate) struct Checker {
    pub problems: Vec<Problem>,
    pub unifier: Unifier,
    pub records: Vec<RecordInfo>,
    pub record_ids: HashMap<String, RecordId>,
    pub fns: Vec<FnInfo>,
    pub fn_ids: HashMap<String, FnId>,
    pub globals: Vec<GlobalInfo>,
    pub global_ids: HashMap<String, GlobalId>,
    /// Checked functions, by id; lambdas are appended as they are met.
    pub out_fns: Vec<Option<tast::FnDef>>,
    pub ctx: Vec<FnCtx>,
    pub secrets: BTreeSet<String>,
    /// While checking the top level: globals defined so far.
    pub defined_globals: usize,
    /// How deep in the bodies of built-in methods written in Fitz (`prelude`) the checker is:
    /// their `__` primitives are callable there only.
    pub templates: u32,
    /// Record names by id, for suggestions and messages.
    pub record_names: Vec<String>,
    /// Checked default values of record fields.
    pub field_defaults: HashMap<(RecordId, usize), TExpr>,
    /// Statuses each handler returns with `return STATUS BODY`.
    pub statuses: HashMap<FnId, Vec<u16>>,
    /// Methods declared in types (`methods`).
    pub methods: methods::MethodTable,
    /// How the `spawn(…)` about to be checked is used, set by its parent.
    pub spawn_use: Option<tasks::SpawnUse>,
}

/// Checks a parsed module. Always returns a program; it is only fit for lowering when no
/// problem is an error.
pub fn check_module(module: &ast::Module) -> (tast::Program, Vec<Problem>) {
    let mut c = Checker {
        problems: Vec::new(),
        unifier: Unifier::default(),
        records: Vec::new(),
        record_ids: HashMap::new(),
        fns: Vec::new(),
        fn_ids: HashMap::new(),
        globals: Vec::new(),
        global_ids: HashMap::new(),
        out_fns: Vec::new(),
        ctx: Vec::new(),
        secrets: BTreeSet::new(),
        defined_globals: 0,
        templates: 0,
        record_names: Vec::new(),
        field_defaults: HashMap::new(),
        statuses: HashMap::new(),
        methods: HashMap::new(),
        spawn_use: None,
    };
    let types: Vec<&ast::TypeDecl> = module.items.iter().filter_map(|i| if let ast::Item::Type(t) = i { Some(t) } else { None }).collect();
    let method_fns = methods::functions_of(&types);
    let fns: Vec<&ast::FnDecl> = module.items.iter().filter_map(|i| if let ast::Item::Fn(f) = i { Some(f) } else { None }).chain(&method_fns).collect();
    let top: Vec<&ast::Stmt> = module.items.iter().filter_map(|i| if let ast::Item::Stmt(s) = i { Some(s) } else { None }).collect();
    let named: std::collections::HashSet<&str> = fns.iter().map(|f| f.name.name.as_str()).chain(types.iter().map(|t| t.name.name.as_str())).collect();
    let top = flow::declarations_by_assignment(&top, &named);
    let top: Vec<&ast::Stmt> = top.iter().collect();

    c.collect_records(&types);
    c.collect_fns(&fns);
    c.collect_methods(&types);
    c.collect_globals(&top);
    c.check_defaults(&types, &fns);
    let main = c.check_main(&top);
    for (i, f) in fns.iter().enumerate() {
        c.check_fn(FnId(i as u32), f);
    }
    let records = c.finish_records();
    let auth = c.check_auth(&fns);
    let routes = c.check_routes(&fns, auth.as_ref());
    let crons = c.check_crons(&fns);
    let tests = c.check_tests(&fns);
    let task_fns = c.check_tasks();
    let server = c.check_server();
    let cli = c.check_commands(&fns);
    let mut functions: Vec<tast::FnDef> = c.out_fns.drain(..).flatten().collect();
    let tasks = tasks::entries(&mut functions, task_fns, "task");
    let mut after_fns: Vec<(FnId, String)> = Vec::new();
    for f in routes.iter().flat_map(|r| &r.after) {
        if !after_fns.iter().any(|(g, _)| g == f) {
            after_fns.push((*f, functions[f.0 as usize].name.clone()));
        }
    }
    let afters = tasks::entries(&mut functions, after_fns, "middleware");
    let mut wrap_fns: Vec<(FnId, String)> = Vec::new();
    for f in routes.iter().flat_map(|r| &r.wrap) {
        if !wrap_fns.iter().any(|(g, _)| g == f) {
            wrap_fns.push((*f, functions[f.0 as usize].name.clone()));
        }
    }
    // A wrap middleware's entry is the function itself: its status returns are its own sites.
    let wraps = wrap_fns.into_iter().map(|(func, name)| tast::Task { func, name, entry: func }).collect();
    let mut program = tast::Program {
        records,
        functions,
        globals: c.globals.iter().map(|g| tast::GlobalDef { name: g.name.clone(), ty: g.ty.clone(), span: g.span }).collect(),
        main: Some(main),
        routes,
        auth,
        crons,
        tests,
        tasks,
        afters,
        wraps,
        secrets: c.secrets.iter().cloned().collect(),
        server,
        cli,
    };
    state::check_top_level_mutation(&program, &mut c.problems);
    timing::check_login_timing(&program, &mut c.problems);
    zonk::finish_program(&mut program, &c.unifier, &mut c.problems);
    let mut problems = c.problems;
    problems.sort_by_key(|p| (p.span(), p.is_warning()));
    problems.dedup();
    (program, problems)
}

impl Checker {
    /// The program's `@server`, if any: one per program.
    fn check_server(&mut self) -> Option<tast::ServerConfig> {
        let mut found: Option<&decorators::ServerDecorator> = None;
        let mut problems = Vec::new();
        for f in &self.fns {
            let Some(s) = &f.decorators.server else { continue };
            match found {
                Some(first) => problems.push(Problem::Duplicate { what: "decorator", name: "@server".into(), span: s.span, first: first.span }),
                None => found = Some(s),
            }
        }
        let config = found.map(|s| tast::ServerConfig {
            port: s.port,
            host: s.host.clone(),
            docs: s.docs,
            api_version: s.api_version.clone(),
            jwt_leeway: s.jwt_leeway,
            static_dir: s.static_dir.clone(),
            // Files are served under `/static` unless told otherwise.
            static_prefix: s.static_dir.as_ref().map(|_| s.static_prefix.clone().unwrap_or_else(|| "/static".into())),
            jwks: s.jwks.clone(),
        });
        // The keys the app publishes are secrets it needs, as `secret("…")`'s are.
        if let Some(c) = &config {
            self.secrets.extend(c.jwks.iter().cloned());
        }
        self.problems.extend(problems);
        config
    }

    pub fn report(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// The type with what is known so far substituted, for messages.
    pub fn res(&self, t: &Type) -> Type {
        self.unifier.resolve(t)
    }

    pub fn record_name(&self, id: RecordId) -> &str {
        &self.records[id.0 as usize].name
    }

    pub fn error_expr(span: Span) -> TExpr {
        TExpr { kind: TExprKind::Error, ty: Type::Error, span }
    }

    // ---- declarations

    fn collect_records(&mut self, types: &[&ast::TypeDecl]) {
        for t in types {
            if let Some(&first) = self.record_ids.get(&t.name.name) {
                let first = self.records[first.0 as usize].span;
                self.report(Problem::Duplicate { what: "type", name: t.name.name.clone(), span: t.name.span, first });
                continue;
            }
            if is_builtin_type(&t.name.name) {
                self.report(Problem::Duplicate { what: "built-in type", name: t.name.name.clone(), span: t.name.span, first: t.name.span });
            }
            let id = RecordId(self.records.len() as u32);
            self.record_ids.insert(t.name.name.clone(), id);
            let decorators = decorators::read_type(&t.decorators, &mut self.problems);
            self.records.push(RecordInfo { name: t.name.name.clone(), fields: Vec::new(), decorators, span: t.name.span, table_use: None });
            self.record_names.push(t.name.name.clone());
        }
        for t in types {
            let Some(&id) = self.record_ids.get(&t.name.name) else { continue };
            if self.records[id.0 as usize].span != t.name.span || !self.records[id.0 as usize].fields.is_empty() {
                continue;
            }
            let mut fields: Vec<FieldInfo> = Vec::new();
            for f in &t.fields {
                if let Some(first) = fields.iter().find(|x| x.name == f.name.name) {
                    self.report(Problem::Duplicate { what: "field", name: f.name.name.clone(), span: f.name.span, first: first.span });
                    continue;
                }
                let ty = self.resolve_type_expr(&f.ty);
                let decorators = decorators::read_field(&f.decorators, &mut self.problems);
                // A `@has_many` field is `[]` until preloaded.
                let has_default = f.default.is_some() || decorators.has_many.is_some();
                fields.push(FieldInfo { name: f.name.name.clone(), ty, has_default, decorators, span: f.name.span, type_span: f.ty.span });
            }
            self.records[id.0 as usize].fields = fields;
        }
    }

    pub fn resolve_type_expr(&mut self, t: &ast::TypeExpr) -> Type {
        use ast::TypeExprKind as K;
        match &t.kind {
            K::Error => Type::Error,
            K::Nullable(inner) => Type::nullable(self.resolve_type_expr(inner)),
            K::Fn { params, ret } => {
                let ps = params.iter().map(|p| self.resolve_type_expr(p)).collect();
                Type::Fn(ps, Box::new(self.resolve_type_expr(ret)))
            }
            K::Tuple(items) => Type::Tuple(items.iter().map(|i| self.resolve_type_expr(i)).collect()),
            K::Named { name, args } => {
                let argc = |c: &mut Self, n: usize| -> bool {
                    if args.len() != n {
                        c.report(Problem::TypeArgCount { name: name.name.clone(), expected: n, found: args.len(), span: t.span });
                        false
                    } else {
                        true
                    }
                };
                let simple = match name.name.as_str() {
                    "Int" => Some(Type::Int),
                    "Float" => Some(Type::Float),
                    "Str" => Some(Type::Str),
                    "Bool" => Some(Type::Bool),
                    "Null" => Some(Type::Null),
                    "DateTime" => Some(Type::DateTime),
                    "Date" => Some(Type::Date),
                    "Uuid" => Some(Type::Uuid),
                    "Bytes" => Some(Type::Bytes),
                    "RandGen" => Some(Type::RandGen),
                    "Any" => Some(Type::Any),
                    "DbConn" => Some(Type::DbConn),
                    _ => None,
                };
                if let Some(ty) = simple {
                    return if argc(self, 0) { ty } else { Type::Error };
                }
                let arg = |c: &mut Self, i: usize| c.resolve_type_expr(&args[i]);
                match name.name.as_str() {
                    "List" => {
                        if argc(self, 1) {
                            Type::list(arg(self, 0))
                        } else {
                            Type::Error
                        }
                    }
                    "Future" => {
                        if argc(self, 1) {
                            Type::future(arg(self, 0))
                        } else {
                            Type::Error
                        }
                    }
                    "Map" => {
                        if argc(self, 2) {
                            Type::map(arg(self, 0), arg(self, 1))
                        } else {
                            Type::Error
                        }
                    }
                    "Result" => match args.len() {
                        1 => Type::result(arg(self, 0)),
                        2 => Type::Result(Box::new(arg(self, 0)), Box::new(arg(self, 1))),
                        _ => {
                            argc(self, 1);
                            Type::Error
                        }
                    },
                    "WsConn" => match args.len() {
                        1 => {
                            let t = arg(self, 0);
                            Type::Ws(Box::new(t.clone()), Box::new(t))
                        }
                        2 => Type::Ws(Box::new(arg(self, 0)), Box::new(arg(self, 1))),
                        _ => {
                            argc(self, 1);
                            Type::Error
                        }
                    },
                    "Secret" => {
                        if argc(self, 1) {
                            let inner = arg(self, 0);
                            if inner != Type::Str && inner != Type::Error {
                                self.report(Problem::Mismatch { expected: Type::Str, found: inner, span: args[0].span, context: problem::Expectation::Plain });
                            }
                            Type::Secret
                        } else {
                            Type::Error
                        }
                    }
                    other => {
                        if let Some(&id) = self.record_ids.get(other) {
                            if argc(self, 0) { Type::Record(id) } else { Type::Error }
                        } else {
                            let known = BUILTIN_TYPES.iter().copied().chain(self.records.iter().map(|r| r.name.as_str()));
                            let suggestion = names::closest(other, known);
                            self.report(Problem::UnknownType { name: other.to_string(), span: name.span, suggestion });
                            Type::Error
                        }
                    }
                }
            }
        }
    }

    fn collect_fns(&mut self, fns: &[&ast::FnDecl]) {
        for (i, f) in fns.iter().enumerate() {
            let id = FnId(i as u32);
            let decorators = decorators::read_fn(&f.decorators, &mut self.problems);
            let role = if decorators.route.is_some() {
                FnRole::Handler
            } else if decorators.auth_provider.is_some() {
                FnRole::Provider
            } else if decorators.cron.is_some() {
                FnRole::Cron
            } else if crate::project::middleware::is_wrap_entry(f) {
                // A wrap middleware's body answers as a handler does (`project::middleware`).
                FnRole::Handler
            } else {
                FnRole::Plain
            };
            if f.name.name.starts_with("__fitz") && !crate::commands::is_generated(f) && !crate::project::middleware::is_wrap_entry(f) {
                self.report(Problem::ReservedName { name: f.name.name.clone(), span: f.name.span });
            }
            let mut params: Vec<ParamInfo> = Vec::new();
            for p in &f.params {
                if let Some(first) = params.iter().find(|x| x.name == p.name.name) {
                    self.report(Problem::Duplicate { what: "parameter", name: p.name.name.clone(), span: p.name.span, first: first.span });
                }
                let ty = match &p.ty {
                    Some(t) => self.resolve_type_expr(t),
                    None => self.unifier.fresh(),
                };
                let ty = if p.variadic { Type::list(ty) } else { ty };
                if p.variadic && !std::ptr::eq(p, f.params.last().unwrap_or(p)) {
                    self.report(Problem::VariadicNotLast { span: p.span });
                }
                params.push(ParamInfo { name: p.name.name.clone(), ty, span: p.name.span, default: None, variadic: p.variadic });
            }
            let (ret, ret_annotated) = match &f.ret {
                Some(t) => (self.resolve_type_expr(t), true),
                None => (self.unifier.fresh(), false),
            };
            if let Some(&first) = self.fn_ids.get(&f.name.name) {
                let first = self.fns[first.0 as usize].name_span;
                self.report(Problem::Duplicate { what: "function", name: f.name.name.clone(), span: f.name.span, first });
            } else if let Some(&rid) = self.record_ids.get(&f.name.name) {
                let first = self.records[rid.0 as usize].span;
                self.report(Problem::Duplicate { what: "name", name: f.name.name.clone(), span: f.name.span, first });
            } else {
                self.fn_ids.insert(f.name.name.clone(), id);
            }
            self.fns.push(FnInfo { name: f.name.name.clone(), name_span: f.name.span, params, ret, ret_annotated, is_async: f.is_async, decorators, role });
            self.out_fns.push(None);
        }
    }

    /// Top-level `let`s are globals; their names are known before any function body is checked.
    /// A name defined again at the top level gets a new global (shadowing, as inside
    /// functions): top-level code sees each definition from where it stands, functions see the
    /// last.
    fn collect_globals(&mut self, top: &[&ast::Stmt]) {
        for s in top {
            match &s.kind {
                ast::StmtKind::Let { name, ty, .. } => {
                    let ty = match ty {
                        Some(t) => self.resolve_type_expr(t),
                        None => self.unifier.fresh(),
                    };
                    self.add_global(&name.name, ty, name.span);
                }
                ast::StmtKind::LetPattern { pattern, .. } => {
                    for (name, span) in pattern_names(pattern) {
                        let ty = self.unifier.fresh();
                        self.add_global(&name, ty, span);
                    }
                }
                _ => {}
            }
        }
    }

    fn add_global(&mut self, name: &str, ty: Type, span: Span) {
        let id = GlobalId(self.globals.len() as u32);
        self.global_ids.entry(name.to_string()).or_insert(id);
        self.globals.push(GlobalInfo { name: name.to_string(), ty, span });
    }

    /// Defaults of record fields and parameters may use constants, globals and functions, but
    /// no locals, so they are checked in an empty function context.
    fn check_defaults(&mut self, types: &[&ast::TypeDecl], fns: &[&ast::FnDecl]) {
        for t in types {
            let Some(&rid) = self.record_ids.get(&t.name.name) else { continue };
            if self.records[rid.0 as usize].span != t.name.span {
                continue;
            }
            for f in &t.fields {
                let Some((i, field)) = self.records[rid.0 as usize].field(&f.name.name) else { continue };
                let Some(d) = &f.default else {
                    if field.decorators.has_many.is_some() {
                        let ty = field.ty.clone();
                        self.field_defaults.insert((rid, i), tast::TExpr { kind: tast::TExprKind::List(vec![]), ty, span: f.name.span });
                    }
                    continue;
                };
                let ty = field.ty.clone();
                let why = problem::Expectation::Field { record: t.name.name.clone(), field: f.name.name.clone() };
                let te = self.in_empty_ctx(d.span, |c| c.check_expr(d, &ty, why));
                self.field_defaults.insert((rid, i), te);
            }
        }
        for (i, f) in fns.iter().enumerate() {
            for (j, p) in f.params.iter().enumerate() {
                let Some(d) = &p.default else { continue };
                let ty = self.fns[i].params[j].ty.clone();
                let why = problem::Expectation::Default { name: p.name.name.clone() };
                let te = self.in_empty_ctx(d.span, |c| c.check_expr(d, &ty, why));
                self.fns[i].params[j].default = Some(te);
            }
        }
    }

    fn in_empty_ctx<R>(&mut self, span: Span, f: impl FnOnce(&mut Self) -> R) -> R {
        self.push_ctx("default value", FnKind::User, FnRole::Plain, false, Type::Error, span);
        let r = f(self);
        self.pop_ctx();
        r
    }

    /// Record definitions for the typed program; tables get their name, key and columns checked.
    fn finish_records(&mut self) -> Vec<tast::RecordDef> {
        // A relation makes both of its records tables.
        for i in 0..self.records.len() {
            let marks: Vec<(String, Span)> = self.records[i]
                .fields
                .iter()
                .filter_map(|f| f.decorators.has_many.as_ref().map(|h| (h.target.clone(), h.span)).or_else(|| f.decorators.belongs_to.as_ref().map(|b| (b.target.clone(), b.span))))
                .collect();
            for (target, span) in marks {
                self.records[i].table_use.get_or_insert(span);
                if let Some(&t) = self.record_ids.get(&target) {
                    self.records[t.0 as usize].table_use.get_or_insert(span);
                }
            }
        }
        let mut out = Vec::with_capacity(self.records.len());
        for i in 0..self.records.len() {
            let rid = RecordId(i as u32);
            let table = self.table_def(rid);
            let r = &self.records[i];
            let fields = r
                .fields
                .iter()
                .enumerate()
                .map(|(j, f)| tast::FieldDef {
                    name: f.name.clone(),
                    ty: f.ty.clone(),
                    default: self.field_defaults.get(&(rid, j)).cloned(),
                    // A password hash never leaves the app: not in an answer, a log or a print.
                    hidden: f.decorators.hidden.is_some() || is_password_hash(&f.name),
                    span: f.span,
                })
                .collect();
            out.push(tast::RecordDef { name: r.name.clone(), fields, table, span: r.span });
        }
        out
    }

    fn table_def(&mut self, rid: RecordId) -> Option<tast::TableDef> {
        let r = &self.records[rid.0 as usize];
        let used_at = r.table_use.or(r.decorators.table.as_ref().map(|(_, s)| *s))?;
        let name = self.table_name(rid);
        let r = &self.records[rid.0 as usize];
        let mut primary: Option<(usize, Span)> = None;
        let mut problems = Vec::new();
        for (i, f) in r.fields.iter().enumerate() {
            if let Some(s) = f.decorators.primary {
                match primary {
                    Some((_, first)) => problems.push(Problem::TwoPrimaryKeys { record: r.name.clone(), span: s, first }),
                    None => primary = Some((i, s)),
                }
            }
            let ty = self.unifier.resolve(&f.ty);
            let base = match &ty {
                Type::Nullable(inner) => (**inner).clone(),
                other => other.clone(),
            };
            if f.decorators.has_many.is_some() {
                continue;
            }
            if !matches!(base, Type::Int | Type::Float | Type::Str | Type::Bytes | Type::Bool | Type::DateTime | Type::Date | Type::Uuid | Type::Error) {
                problems.push(Problem::NotAColumn { record: r.name.clone(), field: f.name.clone(), ty, span: f.type_span });
            }
        }
        let pk = primary.map(|(i, _)| i).or_else(|| r.fields.iter().position(|f| f.name == "id"));
        let Some(pk) = pk else {
            let span = if r.decorators.table.is_some() { r.span } else { used_at };
            problems.push(Problem::NoPrimaryKey { record: r.name.clone(), span });
            self.problems.extend(problems);
            return None;
        };
        let auto_id = self.unifier.resolve(&r.fields[pk].ty) == Type::Int;
        self.problems.extend(problems);
        let (relations, references) = self.relations_of(rid);
        Some(tast::TableDef { name, primary_key: pk, auto_id, relations, references })
    }

    fn check_main(&mut self, top: &[&ast::Stmt]) -> FnId {
        let id = FnId(self.out_fns.len() as u32);
        self.out_fns.push(None);
        let span = top.first().map(|s| s.span).unwrap_or_default();
        self.push_ctx("<top level>", FnKind::Main, FnRole::Main, true, Type::Null, span);
        let mut stmts = Vec::new();
        let mut next_global = 0u32;
        for s in top {
            if let ast::StmtKind::Let { name, ty: _, value } = &s.kind {
                let gid = GlobalId(next_global);
                next_global += 1;
                let gty = self.globals[gid.0 as usize].ty.clone();
                let value = self.check_expr(value, &gty, problem::Expectation::Let { name: name.name.clone() });
                if matches!(self.unifier.shallow(&gty), Type::Query(_)) {
                    self.report(Problem::UnfinishedQuery { span: value.span });
                }
                self.defined_globals = self.defined_globals.max(gid.0 as usize + 1);
                self.global_ids.insert(name.name.clone(), gid);
                stmts.push(tast::TStmt::Assign { place: tast::Place::Global(gid), op: None, value, span: s.span });
                continue;
            }
            if let ast::StmtKind::LetPattern { pattern, .. } = &s.kind {
                // The names are bound as locals of the top level, then copied into their
                // globals, which are what everything after (and every function) sees.
                let Some(st) = self.check_stmt(s) else { continue };
                stmts.push(st);
                for (name, span) in pattern_names(pattern) {
                    let gid = GlobalId(next_global);
                    next_global += 1;
                    let Some(lid) = self.cur_ref().scopes.last().and_then(|sc| sc.get(&name)).copied() else { continue };
                    self.cur().scopes.last_mut().expect("scope").remove(&name);
                    let lty = self.cur_ref().locals[lid.0 as usize].ty.clone();
                    let gty = self.globals[gid.0 as usize].ty.clone();
                    self.unifier.unify(&gty, &lty);
                    self.defined_globals = self.defined_globals.max(gid.0 as usize + 1);
                    self.global_ids.insert(name.clone(), gid);
                    let value = TExpr { kind: TExprKind::Local(lid), ty: lty, span };
                    stmts.push(tast::TStmt::Assign { place: tast::Place::Global(gid), op: None, value, span });
                }
                continue;
            }
            if let Some(st) = self.check_stmt(s) {
                stmts.push(st);
            }
        }
        self.defined_globals = usize::MAX;
        let body = TExpr { kind: TExprKind::Block(tast::TBlock { stmts, span, scoped: None }), ty: Type::Null, span };
        let ctx = self.pop_ctx();
        self.out_fns[id.0 as usize] =
            Some(tast::FnDef { name: "main".into(), kind: FnKind::Main, is_async: true, params: vec![], ret: Type::Null, locals: ctx.locals, captures: vec![], body, span });
        id
    }

    fn check_fn(&mut self, id: FnId, f: &ast::FnDecl) {
        let info = &self.fns[id.0 as usize];
        let (name, role, is_async, ret) = (info.name.clone(), info.role, info.is_async, info.ret.clone());
        let params: Vec<(String, Type, Span)> = info.params.iter().map(|p| (p.name.clone(), p.ty.clone(), p.span)).collect();
        self.push_ctx(&name, FnKind::User, role, is_async, ret.clone(), f.name.span);
        let param_ids: Vec<LocalId> = params.into_iter().map(|(n, t, s)| self.declare_local(&n, t, s)).collect();
        // The command-line parsers the compiler writes use the prelude's primitives.
        let generated = crate::commands::is_generated(f);
        self.templates += u32::from(generated);
        let body = self.check_fn_body(&f.body, &ret, crate::project::middleware::shown_name(&name), f.name.span);
        self.templates -= u32::from(generated);
        let ctx = self.pop_ctx();
        self.out_fns[id.0 as usize] = Some(tast::FnDef { name, kind: FnKind::User, is_async, params: param_ids, ret, locals: ctx.locals, captures: vec![], body, span: f.span });
        if !ctx.statuses.is_empty() {
            self.statuses.insert(id, ctx.statuses.into_iter().collect());
        }
    }

    /// Checks a function body against its return type. A block body returns through `return`
    /// (falling off the end returns `null`); an arrow body is the returned value.
    pub fn check_fn_body(&mut self, body: &ast::FnBody, ret: &Type, name: &str, name_span: Span) -> TExpr {
        match body {
            ast::FnBody::Expr(e) => {
                let te = self.infer_expr(e, Some(ret));
                let te = self.handler_unwrap(te, ret);
                self.coerce(te, ret, problem::Expectation::Return { fn_name: name.to_string() })
            }
            ast::FnBody::Block(b) => {
                let (block, block_ty) = self.check_block(b, None);
                let falls_through = block_ty != Type::Never;
                if falls_through {
                    let r = self.unifier.shallow(ret);
                    match r {
                        Type::Var(_) => {
                            // No `return value` anywhere fixed the type: the function returns
                            // nothing.
                            self.unifier.unify(ret, &Type::Null);
                        }
                        Type::Null | Type::Nullable(_) | Type::Error => {}
                        other => {
                            let ret = self.res(&other);
                            self.report(Problem::MissingReturn { name: name.to_string(), ret, span: name_span });
                        }
                    }
                }
                let span = block.span;
                TExpr { kind: TExprKind::Block(block), ty: Type::Null, span }
            }
        }
    }

    // ---- function contexts and scopes

    pub fn push_ctx(&mut self, name: &str, kind: FnKind, role: FnRole, is_async: bool, ret: Type, span: Span) {
        self.ctx.push(FnCtx {
            name: name.to_string(),
            kind,
            role,
            is_async,
            span,
            ret,
            locals: Vec::new(),
            scopes: vec![HashMap::new()],
            loops: Vec::new(),
            captures: Vec::new(),
            statuses: BTreeSet::new(),
            jwt_results: Default::default(),
            hoisted: Default::default(),
            assigned: Default::default(),
        });
    }

    pub fn pop_ctx(&mut self) -> FnCtx {
        self.ctx.pop().expect("function context")
    }

    pub fn cur(&mut self) -> &mut FnCtx {
        self.ctx.last_mut().expect("function context")
    }

    pub fn cur_ref(&self) -> &FnCtx {
        self.ctx.last().expect("function context")
    }

    pub fn declare_local(&mut self, name: &str, ty: Type, span: Span) -> LocalId {
        let ctx = self.cur();
        let id = LocalId(ctx.locals.len() as u32);
        ctx.locals.push(tast::LocalDef { name: name.to_string(), ty, span });
        if name != "_" {
            ctx.scopes.last_mut().expect("scope").insert(name.to_string(), id);
        }
        id
    }

    pub fn push_scope(&mut self) {
        self.cur().scopes.push(HashMap::new());
    }

    pub fn pop_scope(&mut self) {
        self.cur().scopes.pop();
    }

    /// Finds a local by name in function context `depth`, capturing it from enclosing
    /// functions when `depth` is a lambda.
    pub fn lookup_local(&mut self, depth: usize, name: &str) -> Option<LocalId> {
        let ctx = &self.ctx[depth];
        for scope in ctx.scopes.iter().rev() {
            if let Some(&id) = scope.get(name) {
                return Some(id);
            }
        }
        if ctx.kind != FnKind::Lambda || depth == 0 {
            return None;
        }
        let outer = self.lookup_local(depth - 1, name)?;
        let ty = self.ctx[depth - 1].locals[outer.0 as usize].ty.clone();
        let span = self.ctx[depth - 1].locals[outer.0 as usize].span;
        let ctx = &mut self.ctx[depth];
        let inner = LocalId(ctx.locals.len() as u32);
        ctx.locals.push(tast::LocalDef { name: name.to_string(), ty, span });
        ctx.scopes[0].insert(name.to_string(), inner);
        ctx.captures.push((inner, outer));
        Some(inner)
    }

    /// Whether `name` would resolve to a value (local or global) rather than a type, module
    /// or function.
    pub fn is_value_name(&mut self, name: &str) -> bool {
        let depth = self.ctx.len() - 1;
        self.lookup_local(depth, name).is_some() || self.global_ids.contains_key(name)
    }
}

/// The names a pattern binds, in order.
fn pattern_names(p: &ast::Pattern) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    fn walk(p: &ast::Pattern, out: &mut Vec<(String, Span)>) {
        match &p.kind {
            ast::PatternKind::Bind(n) => out.push((n.clone(), p.span)),
            ast::PatternKind::Ok(i) | ast::PatternKind::Err(i) => walk(i, out),
            ast::PatternKind::Tuple(items) | ast::PatternKind::Or(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(p, &mut out);
    out
}

/// A field holding a password hash, by upstream's and the seed's name for it.
pub fn is_password_hash(name: &str) -> bool {
    name == "password_hash"
}

pub const BUILTIN_TYPES: &[&str] =
    &["Int", "Float", "Str", "Bool", "Null", "List", "Map", "Result", "DateTime", "Date", "Uuid", "Bytes", "DbConn", "WsConn", "Secret", "Future", "RandGen", "Any"];

fn is_builtin_type(name: &str) -> bool {
    BUILTIN_TYPES.contains(&name)
}
