//! `@middleware(f)` with a function of the program's: upstream's pre-middleware, run before the
//! handler, which lets the request through (`return`, `return null`, or the end of its body) or
//! answers it (`return 401 {…}`). The function's body is put at the start of each handler it
//! guards, in decorator order, each inside a labelled `loop` that its `return`s leave; so the
//! checker sees one handler, its statuses include the middleware's, and the sandbox runs one
//! call per request. A middleware's parameter, `req: Request`, is the built-in `Request` the
//! host fills in.
//!
//! A function used as middleware is only that (its `return 401 {…}` means nothing elsewhere).
//!
//! Upstream's post middleware, `fn f(req: Request, resp: Response) -> Response`, runs after
//! the handler on its answer: it stays an ordinary function, its `@middleware(f)` stays on the
//! handler, and the host calls it with the answer the handler gave (`check::routes`).
//!
//! Upstream's wrap middleware, `fn f(req: Request, next: Fn() -> Response) -> Response`,
//! decides when (and whether) the rest runs. Its body becomes an entry of its own,
//! `__fitz_wrap_f(req)`, whose first statement is `let next = fn() => __fitz_next()`; the
//! handler's `@middleware` now names that entry, and the host calls it with the request.
//! `__fitz_next()` asks the host to run the rest of the chain
//! (`guest_abi::manifest::Route::wrap`). As an entry, the body may answer with
//! `return 401 {…}` as a handler does.

use std::collections::HashMap;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// The handler parameter the host fills with the `Request` the middlewares read.
const REQUEST_PARAM: &str = "__fitz_request";

/// The entry of wrap middleware `f` is `__fitz_wrap_f`; `check::decorators` knows a wrap
/// middleware on a handler by it.
pub const WRAP_ENTRY_PREFIX: &str = "__fitz_wrap_";

/// Whether `f` is the entry `wrap_entry` made: its name's span is the middleware's own name,
/// shorter than the entry's (a function a user named `__fitz_wrap_…` spans all of it).
pub fn is_wrap_entry(f: &FnDecl) -> bool {
    f.name.name.strip_prefix(WRAP_ENTRY_PREFIX).is_some_and(|own| f.name.span.len() as usize == own.len())
}

/// The name a user wrote for `name`: a wrap middleware's entry is named as the middleware.
pub fn shown_name(name: &str) -> &str {
    name.strip_prefix(WRAP_ENTRY_PREFIX).unwrap_or(name)
}

/// The function a `@middleware(…)` names, with the argument's span (not `cors(…)`).
fn named(d: &Decorator) -> Option<Ident> {
    if d.name.name != "middleware" {
        return None;
    }
    match d.args.as_deref() {
        Some([Arg { name: None, value: Expr { kind: ExprKind::Name(n), span }, .. }]) => Some(Ident { name: n.clone(), span: *span }),
        _ => None,
    }
}

pub(super) fn inline(module: &mut Module, problems: &mut Vec<Diagnostic>) {
    let mut wanted: Vec<Ident> = Vec::new();
    for item in &module.items {
        if let Item::Fn(f) = item {
            wanted.extend(f.decorators.iter().filter_map(named));
        }
    }
    if wanted.is_empty() {
        return;
    }
    let fns: HashMap<String, FnDecl> = module
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Fn(f) if wanted.iter().any(|w| w.name == f.name.name) => Some((f.name.name.clone(), f.clone())),
            _ => None,
        })
        .collect();
    let mut usable: HashMap<String, FnDecl> = HashMap::new();
    let mut after: Vec<String> = Vec::new();
    let mut wraps: Vec<String> = Vec::new();
    for (name, f) in &fns {
        if is_after(f) {
            after.push(name.clone());
        } else if is_wrap(f) {
            wraps.push(name.clone());
        } else if let Some(problem) = shape(f) {
            problems.push(problem);
        } else {
            usable.insert(name.clone(), f.clone());
        }
    }
    for w in &wanted {
        if !fns.contains_key(&w.name) {
            problems.push(Diagnostic::error("unknown-middleware", format!("no function `{}` to run as middleware", w.name)).primary(w.span, "not a function of this program"));
        }
    }
    let mut counter = 0usize;
    for item in &mut module.items {
        let Item::Fn(f) = item else { continue };
        for d in &mut f.decorators {
            if let Some(Arg { value: Expr { kind: ExprKind::Name(n), .. }, .. }) = d.args.as_mut().and_then(|a| a.first_mut())
                && d.name.name == "middleware"
                && wraps.contains(n)
            {
                *n = format!("{WRAP_ENTRY_PREFIX}{n}");
            }
        }
        let kept = |n: &str| after.iter().any(|a| a == n) || n.starts_with(WRAP_ENTRY_PREFIX);
        let chain: Vec<(Span, String)> = f.decorators.iter().filter_map(|d| named(d).map(|n| (d.span, n.name.clone()))).filter(|(_, n)| !kept(n)).collect();
        if chain.is_empty() {
            continue;
        }
        f.decorators.retain(|d| named(d).is_none_or(|n| kept(&n.name)));
        let mut prologue = Vec::new();
        let mut needs_request = false;
        for (span, name) in chain {
            let Some(mw) = usable.get(&name) else { continue };
            counter += 1;
            let label = Ident { name: format!("__fitz_mw_{counter}"), span };
            let mut stmts = Vec::new();
            if let Some(p) = mw.params.first() {
                needs_request = true;
                stmts.push(Stmt { kind: StmtKind::Let { name: p.name.clone(), ty: None, value: Expr::new(ExprKind::Name(REQUEST_PARAM.into()), span) }, span });
            }
            let FnBody::Block(body) = &mw.body else { continue };
            let mut body = body.clone();
            leave_on_return(&mut body, &label, problems);
            stmts.extend(body.stmts);
            stmts.push(Stmt { kind: StmtKind::Expr(Expr::new(ExprKind::Break { label: Some(label.clone()), value: None }, span)), span });
            let looped = Expr::new(ExprKind::Loop { label: Some(label), body: Block { stmts, span } }, span);
            prologue.push(Stmt { kind: StmtKind::Expr(looped), span });
        }
        if needs_request && !f.params.iter().any(|p| p.name.name == REQUEST_PARAM) {
            let span = f.name.span;
            let ty = TypeExpr { kind: TypeExprKind::Named { name: Ident { name: "Request".into(), span }, args: vec![] }, span };
            f.params.push(Param { name: Ident { name: REQUEST_PARAM.into(), span }, ty: Some(ty), default: None, variadic: false, span });
        }
        let body = std::mem::replace(&mut f.body, FnBody::Block(Block { stmts: vec![], span: f.span }));
        f.body = FnBody::Block(match body {
            FnBody::Block(mut b) => {
                prologue.append(&mut b.stmts);
                Block { stmts: prologue, span: b.span }
            }
            FnBody::Expr(e) => {
                let span = e.span;
                prologue.push(Stmt { kind: StmtKind::Expr(Expr::new(ExprKind::Return(Some(e)), span)), span });
                Block { stmts: prologue, span }
            }
        });
    }
    // A middleware is only that: its statuses belong to the handlers (or entries) it runs in.
    module.items.retain(|i| !matches!(i, Item::Fn(f) if fns.contains_key(&f.name.name) && !after.contains(&f.name.name)));
    wraps.sort();
    for name in wraps {
        module.items.push(Item::Fn(wrap_entry(&fns[&name])));
    }
}

/// `fn __fitz_wrap_f(req: Request) -> Response { let next = fn() => __fitz_next(); … }`, the
/// body `f`'s own (its spans kept, so what goes wrong in it is reported where it is written).
fn wrap_entry(f: &FnDecl) -> FnDecl {
    let span = f.name.span;
    let ident = |name: &str| Ident { name: name.into(), span };
    let ty = |n: &str| TypeExpr { kind: TypeExprKind::Named { name: ident(n), args: vec![] }, span };
    let call = Expr::new(ExprKind::Call { callee: Box::new(Expr::new(ExprKind::Name("__fitz_next".into()), span)), args: vec![] }, span);
    let next = Lambda { is_async: false, params: vec![], ret: Some(ty("Response")), body: FnBody::Expr(Box::new(call)) };
    let bind = Stmt { kind: StmtKind::Let { name: f.params[1].name.clone(), ty: None, value: Expr::new(ExprKind::Lambda(Box::new(next)), span) }, span };
    let mut stmts = vec![bind];
    match &f.body {
        FnBody::Block(b) => stmts.extend(b.stmts.iter().cloned()),
        FnBody::Expr(e) => stmts.push(Stmt { kind: StmtKind::Expr(Expr::new(ExprKind::Return(Some(e.clone())), e.span)), span: e.span }),
    }
    FnDecl {
        decorators: vec![],
        is_async: false,
        name: ident(&format!("{WRAP_ENTRY_PREFIX}{}", f.name.name)),
        params: vec![f.params[0].clone()],
        ret: f.ret.clone(),
        body: FnBody::Block(Block { stmts, span: f.span }),
        span: f.span,
    }
}

fn named_type(t: &Option<TypeExpr>, want: &str) -> bool {
    t.as_ref().is_some_and(|t| is_named(t, want))
}

fn is_named(t: &TypeExpr, want: &str) -> bool {
    matches!(&t.kind, TypeExprKind::Named { name, args } if name.name == want && args.is_empty())
}

/// `fn f(req: Request, next: Fn() -> Response) -> Response`: a wrap middleware.
fn is_wrap(f: &FnDecl) -> bool {
    let next_ok = |t: &Option<TypeExpr>| matches!(t, Some(TypeExpr { kind: TypeExprKind::Fn { params, ret }, .. }) if params.is_empty() && is_named(ret, "Response"));
    matches!(f.params.as_slice(), [req, next] if named_type(&req.ty, "Request") && next_ok(&next.ty)) && named_type(&f.ret, "Response") && f.decorators.is_empty() && !f.is_async
}

/// `fn f(req: Request, resp: Response) -> Response`: a post middleware.
fn is_after(f: &FnDecl) -> bool {
    matches!(f.params.as_slice(), [req, resp] if named_type(&req.ty, "Request") && named_type(&resp.ty, "Response")) && named_type(&f.ret, "Response") && f.decorators.is_empty()
}

/// What keeps `f` from being a middleware: more than one parameter, a return type, an arrow
/// body.
fn shape(f: &FnDecl) -> Option<Diagnostic> {
    let bad = |span: Span, label: &str| {
        Some(
            Diagnostic::error("middleware-shape", format!("`{}` cannot run as middleware", f.name.name))
                .primary(span, label.to_string())
                .help("a middleware is `fn name(req: Request) { … }` (it lets the request through with `return`, or by ending, and answers it with `return 401 {…}`), `fn name(req: Request, resp: Response) -> Response`, run on the handler's answer, or `fn name(req: Request, next: Fn() -> Response) -> Response`, which runs the rest with `next()`"),
        )
    };
    if f.is_async {
        return bad(f.name.span, "a middleware is not `async` (it waits on what it calls like any function)");
    }
    if f.params.len() > 1 {
        return bad(f.params[1].span, "a middleware takes the request, and then the `Response` it changes or the `next` it calls");
    }
    if let Some(p) = f.params.first() {
        let is_request = matches!(&p.ty, Some(TypeExpr { kind: TypeExprKind::Named { name, args }, .. }) if name.name == "Request" && args.is_empty());
        if !is_request {
            return bad(p.span, "the parameter is the `Request`");
        }
    }
    if let Some(ret) = &f.ret {
        return bad(ret.span, "a middleware returns nothing");
    }
    if !matches!(f.body, FnBody::Block(_)) || !f.decorators.is_empty() {
        return bad(f.name.span, "a middleware has a block body and no decorators");
    }
    None
}

/// `return` and `return null` in a middleware's body leave its loop; `return value` is refused.
fn leave_on_return(b: &mut Block, label: &Ident, problems: &mut Vec<Diagnostic>) {
    for s in &mut b.stmts {
        stmt(s, label, problems);
    }
}

fn stmt(s: &mut Stmt, label: &Ident, problems: &mut Vec<Diagnostic>) {
    match &mut s.kind {
        StmtKind::Let { value, .. } | StmtKind::LetPattern { value, .. } | StmtKind::Expr(value) => expr(value, label, problems),
        StmtKind::Assign { target, value, .. } => {
            expr(target, label, problems);
            expr(value, label, problems);
        }
        StmtKind::While { cond, body, .. } => {
            expr(cond, label, problems);
            leave_on_return(body, label, problems);
        }
        StmtKind::For { iter, body, .. } => {
            expr(iter, label, problems);
            leave_on_return(body, label, problems);
        }
        StmtKind::Error => {}
    }
}

fn expr(e: &mut Expr, label: &Ident, problems: &mut Vec<Diagnostic>) {
    let leave = Expr::new(ExprKind::Break { label: Some(label.clone()), value: None }, e.span);
    match &mut e.kind {
        ExprKind::Return(None) => *e = leave,
        ExprKind::Return(Some(v)) if matches!(v.kind, ExprKind::Null) => *e = leave,
        ExprKind::Return(Some(v)) => problems.push(
            Diagnostic::error("middleware-return", "a middleware does not return a value")
                .primary(v.span, "returned here")
                .help("let the request through with `return` (or `return null`), or answer it with `return 401 {…}`"),
        ),
        // A function inside the middleware returns from itself.
        ExprKind::Lambda(_) => {}
        ExprKind::ReturnStatus { body, .. } => expr(body, label, problems),
        ExprKind::Str(parts) => {
            for p in parts {
                if let StrPart::Interp { expr: x, .. } = p {
                    expr(x, label, problems);
                }
            }
        }
        ExprKind::List(xs) | ExprKind::Tuple(xs) => xs.iter_mut().for_each(|x| expr(x, label, problems)),
        ExprKind::Map(kv) => {
            for (k, v) in kv {
                expr(k, label, problems);
                expr(v, label, problems);
            }
        }
        ExprKind::Struct { fields, .. } => fields.iter_mut().for_each(|f| expr(&mut f.value, label, problems)),
        ExprKind::Unary { expr: x, .. } | ExprKind::Try(x) | ExprKind::Await(x) | ExprKind::Field { expr: x, .. } | ExprKind::TupleField { expr: x, .. } => {
            expr(x, label, problems)
        }
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Range { start: lhs, end: rhs, .. } | ExprKind::Index { expr: lhs, index: rhs } => {
            expr(lhs, label, problems);
            expr(rhs, label, problems);
        }
        ExprKind::Call { callee, args } => {
            expr(callee, label, problems);
            args.iter_mut().for_each(|a| expr(&mut a.value, label, problems));
        }
        ExprKind::Slice { expr: x, start, end, .. } => {
            expr(x, label, problems);
            for y in [start, end].into_iter().flatten() {
                expr(y, label, problems);
            }
        }
        ExprKind::If { cond, then, otherwise } => {
            expr(cond, label, problems);
            leave_on_return(then, label, problems);
            if let Some(o) = otherwise {
                expr(o, label, problems);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            expr(scrutinee, label, problems);
            for a in arms {
                if let Some(g) = &mut a.guard {
                    expr(g, label, problems);
                }
                expr(&mut a.body, label, problems);
            }
        }
        ExprKind::Block(b) | ExprKind::Loop { body: b, .. } => leave_on_return(b, label, problems),
        ExprKind::Break { value: Some(v), .. } => expr(v, label, problems),
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bytes(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Name(_)
        | ExprKind::Break { value: None, .. }
        | ExprKind::Continue { .. }
        | ExprKind::Error => {}
    }
}
