//! Maps every span of a tree: a built-in method's body (`check::prelude`) is parsed once and
//! cached, and each call gets a copy spanning the call, so what the checker or the running
//! program reports inside it points at the call; a module of a project is parsed on its own and
//! moved to where its file sits in the project's sources (`project`).

use crate::ast::*;
use crate::span::Span;

pub fn stmts(stmts: &mut [Stmt], at: &dyn Fn(Span) -> Span) {
    for s in stmts {
        stmt(s, at);
    }
}

/// Every span of a module's items, imports included.
pub fn module(m: &mut Module, at: &dyn Fn(Span) -> Span) {
    for i in &mut m.imports {
        i.span = at(i.span);
        for id in &mut i.path {
            ident(id, at);
        }
        opt_ident(&mut i.alias, at);
        for n in i.names.iter_mut().flatten() {
            ident(&mut n.name, at);
            opt_ident(&mut n.alias, at);
        }
    }
    for item in &mut m.items {
        match item {
            Item::Fn(f) => fn_decl(f, at),
            Item::Type(t) => {
                t.span = at(t.span);
                decorators(&mut t.decorators, at);
                ident(&mut t.name, at);
                for f in &mut t.fields {
                    f.span = at(f.span);
                    decorators(&mut f.decorators, at);
                    ident(&mut f.name, at);
                    ty(&mut f.ty, at);
                    if let Some(d) = &mut f.default {
                        expr(d, at);
                    }
                }
                for m in &mut t.methods {
                    fn_decl(&mut m.decl, at);
                }
            }
            Item::Stmt(s) => stmt(s, at),
        }
    }
}

fn decorators(ds: &mut [Decorator], at: &dyn Fn(Span) -> Span) {
    for d in ds {
        d.span = at(d.span);
        ident(&mut d.name, at);
        if let Some(a) = &mut d.args {
            args(a, at);
        }
    }
}

fn fn_decl(f: &mut FnDecl, at: &dyn Fn(Span) -> Span) {
    f.span = at(f.span);
    decorators(&mut f.decorators, at);
    ident(&mut f.name, at);
    params(&mut f.params, at);
    if let Some(r) = &mut f.ret {
        ty(r, at);
    }
    fn_body(&mut f.body, at);
}

fn fn_body(b: &mut FnBody, at: &dyn Fn(Span) -> Span) {
    match b {
        FnBody::Block(b) => block(b, at),
        FnBody::Expr(b) => expr(b, at),
    }
}

fn ident(i: &mut Ident, at: &dyn Fn(Span) -> Span) {
    i.span = at(i.span);
}

fn opt_ident(i: &mut Option<Ident>, at: &dyn Fn(Span) -> Span) {
    if let Some(i) = i {
        ident(i, at);
    }
}

fn block(b: &mut Block, at: &dyn Fn(Span) -> Span) {
    b.span = at(b.span);
    stmts(&mut b.stmts, at);
}

fn stmt(s: &mut Stmt, at: &dyn Fn(Span) -> Span) {
    s.span = at(s.span);
    match &mut s.kind {
        StmtKind::Let { name, ty: t, value } => {
            ident(name, at);
            if let Some(t) = t {
                ty(t, at);
            }
            expr(value, at);
        }
        StmtKind::LetPattern { pattern: p, value } => {
            pattern(p, at);
            expr(value, at);
        }
        StmtKind::Assign { target, value, .. } => {
            expr(target, at);
            expr(value, at);
        }
        StmtKind::Expr(e) => expr(e, at),
        StmtKind::While { label, cond, body } => {
            opt_ident(label, at);
            expr(cond, at);
            block(body, at);
        }
        StmtKind::For { label, pattern: p, iter, body } => {
            opt_ident(label, at);
            pattern(p, at);
            expr(iter, at);
            block(body, at);
        }
        StmtKind::Error => {}
    }
}

fn ty(t: &mut TypeExpr, at: &dyn Fn(Span) -> Span) {
    t.span = at(t.span);
    match &mut t.kind {
        TypeExprKind::Named { name, args } => {
            ident(name, at);
            for a in args {
                ty(a, at);
            }
        }
        TypeExprKind::Nullable(inner) => ty(inner, at),
        TypeExprKind::Fn { params, ret } => {
            for p in params {
                ty(p, at);
            }
            ty(ret, at);
        }
        TypeExprKind::Tuple(items) => {
            for i in items {
                ty(i, at);
            }
        }
        TypeExprKind::Error => {}
    }
}

fn pattern(p: &mut Pattern, at: &dyn Fn(Span) -> Span) {
    p.span = at(p.span);
    match &mut p.kind {
        PatternKind::Ok(inner) | PatternKind::Err(inner) => pattern(inner, at),
        PatternKind::Or(items) | PatternKind::Tuple(items) => {
            for i in items {
                pattern(i, at);
            }
        }
        _ => {}
    }
}

fn params(ps: &mut [Param], at: &dyn Fn(Span) -> Span) {
    for p in ps {
        p.span = at(p.span);
        ident(&mut p.name, at);
        if let Some(t) = &mut p.ty {
            ty(t, at);
        }
        if let Some(d) = &mut p.default {
            expr(d, at);
        }
    }
}

fn args(args: &mut [Arg], at: &dyn Fn(Span) -> Span) {
    for a in args {
        a.span = at(a.span);
        opt_ident(&mut a.name, at);
        expr(&mut a.value, at);
    }
}

fn opt_expr(e: &mut Option<Box<Expr>>, at: &dyn Fn(Span) -> Span) {
    if let Some(e) = e {
        expr(e, at);
    }
}

fn expr(e: &mut Expr, at: &dyn Fn(Span) -> Span) {
    e.span = at(e.span);
    match &mut e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bytes(_) | ExprKind::Bool(_) | ExprKind::Null | ExprKind::Name(_) | ExprKind::Error => {}
        ExprKind::Str(parts) => {
            for part in parts {
                if let StrPart::Interp { expr: inner, .. } = part {
                    expr(inner, at);
                }
            }
        }
        ExprKind::List(items) | ExprKind::Tuple(items) => {
            for i in items {
                expr(i, at);
            }
        }
        ExprKind::Map(entries) => {
            for (k, v) in entries {
                expr(k, at);
                expr(v, at);
            }
        }
        ExprKind::Struct { name, fields } => {
            ident(name, at);
            for f in fields {
                f.span = at(f.span);
                ident(&mut f.name, at);
                expr(&mut f.value, at);
            }
        }
        ExprKind::Unary { expr: inner, .. } | ExprKind::Try(inner) | ExprKind::Await(inner) => expr(inner, at),
        ExprKind::Binary { lhs, rhs, .. } => {
            expr(lhs, at);
            expr(rhs, at);
        }
        ExprKind::Call { callee, args: a } => {
            expr(callee, at);
            args(a, at);
        }
        ExprKind::Field { expr: inner, name } => {
            expr(inner, at);
            ident(name, at);
        }
        ExprKind::TupleField { expr: inner, index_span, .. } => {
            expr(inner, at);
            *index_span = at(*index_span);
        }
        ExprKind::Index { expr: inner, index } => {
            expr(inner, at);
            expr(index, at);
        }
        ExprKind::Slice { expr: inner, start, end, .. } => {
            expr(inner, at);
            opt_expr(start, at);
            opt_expr(end, at);
        }
        ExprKind::Lambda(l) => {
            params(&mut l.params, at);
            if let Some(t) = &mut l.ret {
                ty(t, at);
            }
            fn_body(&mut l.body, at);
        }
        ExprKind::If { cond, then, otherwise } => {
            expr(cond, at);
            block(then, at);
            opt_expr(otherwise, at);
        }
        ExprKind::Match { scrutinee, arms } => {
            expr(scrutinee, at);
            for arm in arms {
                arm.span = at(arm.span);
                pattern(&mut arm.pattern, at);
                if let Some(g) = &mut arm.guard {
                    expr(g, at);
                }
                expr(&mut arm.body, at);
            }
        }
        ExprKind::Block(b) => block(b, at),
        ExprKind::Range { start, end, .. } => {
            expr(start, at);
            expr(end, at);
        }
        ExprKind::Return(v) => opt_expr(v, at),
        ExprKind::ReturnStatus { status_span, body, .. } => {
            *status_span = at(*status_span);
            expr(body, at);
        }
        ExprKind::Break { label, value } => {
            opt_ident(label, at);
            opt_expr(value, at);
        }
        ExprKind::Continue { label } => opt_ident(label, at),
        ExprKind::Loop { label, body } => {
            opt_ident(label, at);
            block(body, at);
        }
    }
}
