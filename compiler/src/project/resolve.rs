//! Makes a project's modules one module. Each top-level name gets a canonical name: its own
//! where only one module declares it (almost always), else `module.name` for every module but
//! the entry. Then each file's references are rewritten by what that file sees — its own
//! names, what it imports with `from`, and `m.name` through a module it imports — so the
//! checker sees one namespace, and a name a file did not import is refused here, naming the
//! module that has it.
//!
//! Locals are tracked (blocks, parameters, patterns, `let`, assignment that creates), so a
//! local shadows an import as it shadows any top-level name.

use std::collections::{HashMap, HashSet};

use super::Unit;
use crate::ast::*;
use crate::diagnostic::Diagnostic;

#[derive(Clone, Debug)]
enum Seen {
    /// A top-level name, by its canonical name.
    Global(String),
    /// A module imported whole (`import m` / `import m as n`).
    Namespace(usize),
}

/// Every module's items, each after those of the modules it imports, with names resolved.
/// Takes the units' items (their imports and names stay).
pub(super) fn resolve(units: &mut [Unit], order: &[usize], entry: usize) -> (Module, Vec<Diagnostic>) {
    let declared: Vec<Vec<(String, Ident)>> = units.iter().map(|u| top_names(&u.module)).collect();
    let mut all_items: Vec<Vec<Item>> = units.iter_mut().map(|u| std::mem::take(&mut u.module.items)).collect();
    let units = &*units;
    let mut count: HashMap<&str, usize> = HashMap::new();
    for names in &declared {
        let unique: HashSet<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        for n in unique {
            *count.entry(n).or_default() += 1;
        }
    }
    let canonical =
        |u: usize, name: &str| -> String { if u == entry || count.get(name).copied().unwrap_or(0) <= 1 { name.to_string() } else { format!("{}.{name}", units[u].dotted) } };
    // Which module declares each name, for "declared in `m`, not imported here".
    let mut owners: HashMap<&str, Vec<usize>> = HashMap::new();
    for (u, names) in declared.iter().enumerate() {
        for (n, _) in names {
            owners.entry(n.as_str()).or_default().push(u);
        }
    }
    let mut problems = Vec::new();
    let mut merged = Module::default();
    // Names no module declares that a file uses (built-in types among them), with a use.
    let mut used: HashMap<String, crate::span::Span> = HashMap::new();
    for &u in order {
        let items = std::mem::take(&mut all_items[u]);
        let unit = &units[u];
        let mut seen: HashMap<String, Seen> = HashMap::new();
        for (n, _) in &declared[u] {
            seen.insert(n.clone(), Seen::Global(canonical(u, n)));
        }
        for (k, import) in unit.module.imports.iter().enumerate() {
            let Some(target) = unit.targets[k] else { continue };
            match &import.names {
                None => {
                    let key = import.alias.as_ref().map_or_else(|| import.dotted(), |a| a.name.clone());
                    seen.insert(key, Seen::Namespace(target));
                }
                Some(names) => {
                    for n in names {
                        let has = declared[target].iter().any(|(d, _)| *d == n.name.name);
                        if !has {
                            let mut d = Diagnostic::error("unknown-import", format!("module `{}` has no `{}`", import.dotted(), n.name.name))
                                .primary(n.name.span, "not declared at its top level");
                            if let Some(near) = crate::check::names::closest(&n.name.name, declared[target].iter().map(|(d, _)| d.as_str())) {
                                d = d.help(format!("did you mean `{near}`?")).fix(format!("Change to `{near}`"), n.name.span, near);
                            }
                            problems.push(d);
                            continue;
                        }
                        let local = n.alias.as_ref().unwrap_or(&n.name);
                        if let Some((_, own)) = declared[u].iter().find(|(d, _)| *d == local.name) {
                            problems.push(
                                Diagnostic::error("import-clash", format!("`{}` is imported and also declared in this file", local.name))
                                    .primary(local.span, "imported here")
                                    .secondary(own.span, "declared here")
                                    .help(format!("import it under another name: `{} as …`", n.name.name)),
                            );
                            continue;
                        }
                        seen.insert(local.name.clone(), Seen::Global(canonical(target, &n.name.name)));
                    }
                }
            }
        }
        let mut r = Rewriter { units, declared: &declared, seen: &seen, owners: &owners, unit: u, canonical: &canonical, scopes: vec![], problems: &mut problems, used: &mut used };
        for mut item in items {
            r.item(&mut item);
            merged.items.push(item);
        }
    }
    super::auto_auth::mount(&mut merged, &mut used, &mut problems);
    builtin_types(&mut merged, &used, &owners, &mut problems);
    (merged, problems)
}

/// The built-in types (`guest_abi::response`): each group declared for a program that uses
/// one of its names and declares none of them itself; their spans are the first use's.
fn builtin_types(merged: &mut Module, used: &HashMap<String, crate::span::Span>, owners: &HashMap<&str, Vec<usize>>, problems: &mut Vec<Diagnostic>) {
    // The names a group declares, the names whose use brings it in (`http.get` uses the
    // client's answer type without naming it), its source and its name in messages.
    let groups: [(&[&str], &[&str], &str, &str); 7] = [
        (&["File"], &["File"], guest_abi::response::FILE_SOURCE, "`File`"),
        (&["Response", "Cookie"], &["Response", "Cookie"], guest_abi::response::SOURCE, "`Response` and `Cookie`"),
        (&["Request"], &["Request"], guest_abi::response::REQUEST_SOURCE, "`Request`"),
        (&["HttpClientResponse"], &["HttpClientResponse", "http"], guest_abi::response::HTTP_SOURCE, "`HttpClientResponse`"),
        (&["SmtpResult"], &["SmtpResult", "smtp"], guest_abi::response::SMTP_SOURCE, "`SmtpResult`"),
        (&["TokenPair"], &["TokenPair", "auth.issue", "auth.refresh"], guest_abi::response::TOKEN_PAIR_SOURCE, "`TokenPair`"),
        (&["TestResponse"], &["TestResponse", "test"], guest_abi::response::TEST_RESPONSE_SOURCE, "`TestResponse`"),
    ];
    let mut added = Vec::new();
    for (names, triggers, source, what) in groups {
        let Some(at) = triggers.iter().filter(|n| !owners.contains_key(**n)).find_map(|n| used.get(*n)).copied() else { continue };
        if let Some(taken) = names.iter().find(|n| owners.contains_key(**n)) {
            problems.push(
                Diagnostic::error("builtin-type-taken", format!("this program declares its own `{taken}`, a name of the built-in {what}"))
                    .primary(at, "the built-in is used here")
                    .help(format!("rename your `{taken}` type")),
            );
            continue;
        }
        let (mut builtin, errors) = crate::syntax::parse_module(source);
        debug_assert!(errors.is_empty(), "{errors:?}");
        crate::syntax::respan::module(&mut builtin, &|_| at);
        added.extend(builtin.items);
    }
    added.append(&mut merged.items);
    merged.items = added;
}

/// The names a module declares at its top level: functions, types, and what its top-level
/// statements bind.
fn top_names(m: &Module) -> Vec<(String, Ident)> {
    let mut out = Vec::new();
    for item in &m.items {
        match item {
            Item::Fn(f) => out.push((f.name.name.clone(), f.name.clone())),
            Item::Type(t) => out.push((t.name.name.clone(), t.name.clone())),
            Item::Stmt(s) => match &s.kind {
                StmtKind::Let { name, .. } => out.push((name.name.clone(), name.clone())),
                StmtKind::LetPattern { pattern, .. } => {
                    let mut names = Vec::new();
                    binds(pattern, &mut names);
                    out.extend(names.into_iter().map(|n| (n.clone(), Ident { name: n, span: pattern.span })));
                }
                StmtKind::Assign { target: Expr { kind: ExprKind::Name(n), span }, op: AssignOp::Set, .. } if !out.iter().any(|(d, _)| d == n) => {
                    out.push((n.clone(), Ident { name: n.clone(), span: *span }));
                }
                _ => {}
            },
        }
    }
    out
}

fn binds(p: &Pattern, out: &mut Vec<String>) {
    match &p.kind {
        PatternKind::Bind(n) => out.push(n.clone()),
        PatternKind::Ok(i) | PatternKind::Err(i) => binds(i, out),
        PatternKind::Or(ps) | PatternKind::Tuple(ps) => ps.iter().for_each(|p| binds(p, out)),
        _ => {}
    }
}

struct Rewriter<'a> {
    units: &'a [Unit],
    /// Each unit's top-level names.
    declared: &'a [Vec<(String, Ident)>],
    seen: &'a HashMap<String, Seen>,
    owners: &'a HashMap<&'a str, Vec<usize>>,
    unit: usize,
    canonical: &'a dyn Fn(usize, &str) -> String,
    /// Local names, innermost scope last; empty at the top level of the file.
    scopes: Vec<HashSet<String>>,
    problems: &'a mut Vec<Diagnostic>,
    used: &'a mut HashMap<String, crate::span::Span>,
}

impl Rewriter<'_> {
    fn is_local(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| s.contains(name))
    }

    fn bind(&mut self, name: &str) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string());
        }
    }

    fn scoped<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.scopes.push(HashSet::new());
        let out = f(self);
        self.scopes.pop();
        out
    }

    /// The canonical name of a top-level name as this file sees it, or `None` for a local, a
    /// built-in or an unknown name (the checker's to judge).
    fn global(&mut self, name: &str, span: crate::span::Span) -> Option<String> {
        if self.is_local(name) {
            return None;
        }
        match self.seen.get(name) {
            Some(Seen::Global(c)) => Some(c.clone()),
            Some(Seen::Namespace(_)) => {
                self.problems.push(
                    Diagnostic::error("module-as-value", format!("`{name}` is a module, not a value"))
                        .primary(span, "a module imported whole")
                        .help(format!("name what you want from it: `{name}.something`")),
                );
                None
            }
            None => {
                self.used.entry(name.to_string()).or_insert(span);
                let elsewhere: Vec<&str> = self.owners.get(name).into_iter().flatten().filter(|u| **u != self.unit).map(|u| self.units[*u].dotted.as_str()).collect();
                if let Some(m) = elsewhere.first() {
                    let here = &self.units[self.unit];
                    // Module names are the root's; a file beside the root's files names them so.
                    let at = (!here.dotted.contains('.')).then_some(here.base);
                    self.problems.push(
                        Diagnostic::error("not-imported", format!("`{name}` is declared in module `{m}` but not imported here"))
                            .primary(span, "not visible here")
                            .help(format!("add `from {m} import {name}` at the top of this file"))
                            .fix_at(at, format!("Import `{name}` from `{m}`"), format!("from {m} import {name}\n")),
                    );
                }
                None
            }
        }
    }

    fn rename(&mut self, id: &mut Ident) {
        if let Some(c) = self.global(&id.name, id.span) {
            id.name = c;
        }
    }

    fn item(&mut self, item: &mut Item) {
        match item {
            Item::Fn(f) => {
                self.rename_decl(&mut f.name);
                self.fn_decl(f);
            }
            Item::Type(t) => {
                self.rename_decl(&mut t.name);
                self.decorators(&mut t.decorators);
                for field in &mut t.fields {
                    self.decorators(&mut field.decorators);
                    self.ty(&mut field.ty);
                    if let Some(d) = &mut field.default {
                        self.expr(d);
                    }
                }
                // A method's body sees the type's fields (and `self`) as variables.
                let fields: Vec<String> = t.fields.iter().map(|f| f.name.name.clone()).collect();
                for m in &mut t.methods {
                    self.scoped(|r| {
                        r.bind("self");
                        fields.iter().for_each(|f| r.bind(f));
                        r.fn_decl(&mut m.decl);
                    });
                }
            }
            Item::Stmt(s) => self.stmt(s),
        }
    }

    /// A declaration's own name: its canonical name.
    fn rename_decl(&mut self, id: &mut Ident) {
        id.name = (self.canonical)(self.unit, &id.name);
    }

    fn decorators(&mut self, ds: &mut [Decorator]) {
        for d in ds {
            for a in d.args.iter_mut().flatten() {
                self.expr(&mut a.value);
            }
        }
    }

    fn fn_decl(&mut self, f: &mut FnDecl) {
        self.decorators(&mut f.decorators);
        if let Some(r) = &mut f.ret {
            self.ty(r);
        }
        self.scoped(|r| {
            r.params(&mut f.params);
            r.body(&mut f.body);
        });
    }

    fn params(&mut self, ps: &mut [Param]) {
        for p in ps {
            if let Some(t) = &mut p.ty {
                self.ty(t);
            }
            if let Some(d) = &mut p.default {
                self.expr(d);
            }
            self.bind(&p.name.name);
        }
    }

    fn body(&mut self, b: &mut FnBody) {
        match b {
            FnBody::Block(b) => self.block(b),
            FnBody::Expr(e) => self.expr(e),
        }
    }

    fn ty(&mut self, t: &mut TypeExpr) {
        match &mut t.kind {
            TypeExprKind::Named { name, args } => {
                match self.seen.get(&name.name) {
                    Some(Seen::Global(c)) => name.name = c.clone(),
                    _ => {
                        self.used.entry(name.name.clone()).or_insert(name.span);
                    }
                }
                args.iter_mut().for_each(|a| self.ty(a));
            }
            TypeExprKind::Nullable(i) => self.ty(i),
            TypeExprKind::Fn { params, ret } => {
                params.iter_mut().for_each(|p| self.ty(p));
                self.ty(ret);
            }
            TypeExprKind::Tuple(items) => items.iter_mut().for_each(|i| self.ty(i)),
            TypeExprKind::Error => {}
        }
    }

    fn block(&mut self, b: &mut Block) {
        self.scoped(|r| b.stmts.iter_mut().for_each(|s| r.stmt(s)));
    }

    fn pattern(&mut self, p: &Pattern) {
        let mut names = Vec::new();
        binds(p, &mut names);
        for n in names {
            self.bind(&n);
        }
    }

    fn stmt(&mut self, s: &mut Stmt) {
        let top = self.scopes.is_empty();
        match &mut s.kind {
            StmtKind::Let { name, ty, value } => {
                if let Some(t) = ty {
                    self.ty(t);
                }
                self.expr(value);
                if top { self.rename_decl(name) } else { self.bind(&name.name) }
            }
            StmtKind::LetPattern { pattern, value } => {
                self.expr(value);
                if top {
                    rename_binds(pattern, &|n| (self.canonical)(self.unit, n));
                } else {
                    self.pattern(pattern);
                }
            }
            StmtKind::Assign { target, op, value } => {
                self.expr(value);
                match &mut target.kind {
                    ExprKind::Name(n) if top => *n = (self.canonical)(self.unit, n),
                    // Assignment creates a variable where none is seen (upstream's rule).
                    ExprKind::Name(n) if *op == AssignOp::Set && !self.is_local(n) && !self.seen.contains_key(n.as_str()) => {
                        let n = n.clone();
                        self.bind(&n);
                    }
                    _ => self.expr(target),
                }
            }
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::While { cond, body, .. } => {
                self.expr(cond);
                self.block(body);
            }
            StmtKind::For { pattern, iter, body, .. } => {
                self.expr(iter);
                self.scoped(|r| {
                    r.pattern(pattern);
                    r.block(body);
                });
            }
            StmtKind::Error => {}
        }
    }

    /// `m.x` and `a.b.x` through a module imported whole: the segments of a chain of fields
    /// from a name, when the name is not a local.
    fn namespace_target(&self, e: &Expr) -> Option<(usize, usize)> {
        let mut segs = Vec::new();
        let mut cur = e;
        while let ExprKind::Field { expr, name } = &cur.kind {
            segs.push(name.name.as_str());
            cur = expr;
        }
        let ExprKind::Name(first) = &cur.kind else { return None };
        if self.is_local(first) {
            return None;
        }
        segs.push(first);
        segs.reverse();
        // The longest prefix naming a module, with at least one segment after it.
        (1..segs.len()).rev().find_map(|n| match self.seen.get(&segs[..n].join(".")) {
            Some(Seen::Namespace(u)) => Some((*u, n)),
            _ => None,
        })
    }

    fn expr(&mut self, e: &mut Expr) {
        if let ExprKind::Field { .. } = &e.kind
            && let Some((target, n)) = self.namespace_target(e)
        {
            self.through_namespace(e, target, n);
            return;
        }
        match &mut e.kind {
            ExprKind::Name(n) => {
                if let Some(c) = self.global(n, e.span) {
                    *n = c;
                }
            }
            ExprKind::Struct { name, fields } => {
                self.rename(name);
                fields.iter_mut().for_each(|f| self.expr(&mut f.value));
            }
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp { expr, .. } = p {
                        self.expr(expr);
                    }
                }
            }
            ExprKind::List(items) | ExprKind::Tuple(items) => items.iter_mut().for_each(|i| self.expr(i)),
            ExprKind::Map(entries) => {
                for (k, v) in entries {
                    self.expr(k);
                    self.expr(v);
                }
            }
            ExprKind::Unary { expr, .. } | ExprKind::Try(expr) | ExprKind::Await(expr) => self.expr(expr),
            ExprKind::Field { expr, name } => {
                // `auth.issue` names the built-in type it answers with without naming it.
                if let ExprKind::Name(m) = &expr.kind
                    && !self.is_local(m)
                    && !self.seen.contains_key(m)
                {
                    self.used.entry(format!("{m}.{}", name.name)).or_insert(name.span);
                }
                self.expr(expr)
            }
            ExprKind::TupleField { expr, .. } => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Range { start, end, .. } => {
                self.expr(start);
                self.expr(end);
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee);
                args.iter_mut().for_each(|a| self.expr(&mut a.value));
            }
            ExprKind::Index { expr, index } => {
                self.expr(expr);
                self.expr(index);
            }
            ExprKind::Slice { expr, start, end, .. } => {
                self.expr(expr);
                for x in [start, end].into_iter().flatten() {
                    self.expr(x);
                }
            }
            ExprKind::Lambda(l) => {
                if let Some(t) = &mut l.ret {
                    self.ty(t);
                }
                self.scoped(|r| {
                    r.params(&mut l.params);
                    r.body(&mut l.body);
                });
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                self.block(then);
                if let Some(o) = otherwise {
                    self.expr(o);
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for arm in arms {
                    self.scoped(|r| {
                        r.pattern(&arm.pattern);
                        if let Some(g) = &mut arm.guard {
                            r.expr(g);
                        }
                        r.expr(&mut arm.body);
                    });
                }
            }
            ExprKind::Block(b) | ExprKind::Loop { body: b, .. } => self.block(b),
            ExprKind::Return(v) | ExprKind::Break { value: v, .. } => {
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            ExprKind::ReturnStatus { body, .. } => self.expr(body),
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bytes(_) | ExprKind::Bool(_) | ExprKind::Null | ExprKind::Continue { .. } | ExprKind::Error => {}
        }
    }

    /// Rewrites `m.x.rest…` (the module's `n` segments, then `x`) to `x`'s canonical name
    /// followed by the rest.
    fn through_namespace(&mut self, e: &mut Expr, target: usize, n: usize) {
        // Walk down to the field whose receiver is the module path.
        let mut depth = 0;
        let mut cur = &*e;
        while let ExprKind::Field { expr, .. } = &cur.kind {
            depth += 1;
            cur = expr;
        }
        // `depth` fields in all; the one naming `x` is `depth - n` levels below `e`.
        let mut node = &mut *e;
        for _ in 0..depth - n {
            let ExprKind::Field { expr, .. } = &mut node.kind else { return };
            node = expr;
        }
        let ExprKind::Field { name, .. } = &node.kind else { return };
        let name = name.clone();
        let declared = self.declared[target].iter().any(|(d, _)| *d == name.name);
        if !declared {
            let module = self.units[target].dotted.clone();
            self.problems.push(Diagnostic::error("unknown-import", format!("module `{module}` has no `{}`", name.name)).primary(name.span, "not declared at its top level"));
            node.kind = ExprKind::Error;
            return;
        }
        // The fields above it are fields of the value: they stay.
        node.kind = ExprKind::Name((self.canonical)(target, &name.name));
        node.span = name.span;
    }
}

fn rename_binds(p: &mut Pattern, f: &dyn Fn(&str) -> String) {
    match &mut p.kind {
        PatternKind::Bind(n) => *n = f(n),
        PatternKind::Ok(i) | PatternKind::Err(i) => rename_binds(i, f),
        PatternKind::Or(ps) | PatternKind::Tuple(ps) => ps.iter_mut().for_each(|p| rename_binds(p, f)),
        _ => {}
    }
}
