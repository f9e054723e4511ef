//! Gives every node of a tree one span: a built-in method's body (`check::prelude`) is parsed
//! once and cached, and each call gets a copy spanning the call, so what the checker or the
//! running program reports inside it points at the call.

use crate::ast::*;
use crate::span::Span;

pub fn stmts(stmts: &mut [Stmt], at: Span) {
    for s in stmts {
        stmt(s, at);
    }
}

fn ident(i: &mut Ident, at: Span) {
    i.span = at;
}

fn opt_ident(i: &mut Option<Ident>, at: Span) {
    if let Some(i) = i {
        ident(i, at);
    }
}

fn block(b: &mut Block, at: Span) {
    b.span = at;
    stmts(&mut b.stmts, at);
}

fn stmt(s: &mut Stmt, at: Span) {
    s.span = at;
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

fn ty(t: &mut TypeExpr, at: Span) {
    t.span = at;
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

fn pattern(p: &mut Pattern, at: Span) {
    p.span = at;
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

fn params(ps: &mut [Param], at: Span) {
    for p in ps {
        p.span = at;
        ident(&mut p.name, at);
        if let Some(t) = &mut p.ty {
            ty(t, at);
        }
        if let Some(d) = &mut p.default {
            expr(d, at);
        }
    }
}

fn args(args: &mut [Arg], at: Span) {
    for a in args {
        a.span = at;
        opt_ident(&mut a.name, at);
        expr(&mut a.value, at);
    }
}

fn opt_expr(e: &mut Option<Box<Expr>>, at: Span) {
    if let Some(e) = e {
        expr(e, at);
    }
}

fn expr(e: &mut Expr, at: Span) {
    e.span = at;
    match &mut e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Null | ExprKind::Name(_) | ExprKind::Error => {}
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
                f.span = at;
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
            *index_span = at;
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
            match &mut l.body {
                FnBody::Block(b) => block(b, at),
                FnBody::Expr(b) => expr(b, at),
            }
        }
        ExprKind::If { cond, then, otherwise } => {
            expr(cond, at);
            block(then, at);
            opt_expr(otherwise, at);
        }
        ExprKind::Match { scrutinee, arms } => {
            expr(scrutinee, at);
            for arm in arms {
                arm.span = at;
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
            *status_span = at;
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
