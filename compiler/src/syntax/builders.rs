//! Small constructors the grammar's actions call, kept out of the grammar file so it reads as
//! grammar.

use super::error::SyntaxError;
use crate::ast::*;
use crate::span::Span;

pub fn fn_decl(decorators: Vec<Decorator>, is_async: bool, (name, params, ret, body): (Ident, Vec<Param>, Option<TypeExpr>, FnBody), span: Span) -> FnDecl {
    FnDecl { decorators, is_async, name, params, ret, body, span }
}

/// A member of a `type`'s body.
pub enum Member {
    Field(FieldDecl),
    Method(MethodDecl),
}

pub fn type_decl(decorators: Vec<Decorator>, name: Ident, members: Vec<Member>, span: Span) -> TypeDecl {
    let (mut fields, mut methods) = (Vec::new(), Vec::new());
    for m in members {
        match m {
            Member::Field(f) => fields.push(f),
            Member::Method(m) => methods.push(m),
        }
    }
    TypeDecl { decorators, name, fields, methods, span }
}

pub fn lambda(is_async: bool, params: Vec<Param>, ret: Option<TypeExpr>, body: FnBody, span: Span) -> Expr {
    Expr::new(ExprKind::Lambda(Box::new(Lambda { is_async, params, ret, body })), span)
}

pub fn binary(op: BinOp, lhs: Expr, rhs: Expr, span: Span) -> Expr {
    Expr::new(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span)
}

pub fn unary(op: UnaryOp, expr: Expr, span: Span) -> Expr {
    Expr::new(ExprKind::Unary { op, expr: Box::new(expr) }, span)
}

/// `Fn(A, B) -> R`; any other name before `(` is not a type.
pub fn fn_type(name: Ident, params: Vec<TypeExpr>, ret: TypeExpr, span: Span, errors: &mut Vec<SyntaxError>) -> TypeExpr {
    if name.name != "Fn" {
        errors.push(SyntaxError::Unexpected { found: Some(super::token::Token::LParen), expected: vec![super::error::Expected::Type], span: name.span });
        return TypeExpr { kind: TypeExprKind::Error, span };
    }
    TypeExpr { kind: TypeExprKind::Fn { params, ret: Box::new(ret) }, span }
}

pub fn return_status((status, status_span): (i64, Span), body: Expr, span: Span, errors: &mut Vec<SyntaxError>) -> Expr {
    if !(100..=599).contains(&status) {
        errors.push(SyntaxError::StatusOutOfRange { status, span: status_span });
    }
    Expr::new(ExprKind::ReturnStatus { status, status_span, body: Box::new(body) }, span)
}

pub fn interpolated(head: String, first: (Expr, Option<String>), rest: Vec<(String, (Expr, Option<String>))>, tail: String, span: Span) -> Expr {
    let mut parts = Vec::with_capacity(2 + rest.len() * 2);
    let text = |parts: &mut Vec<StrPart>, s: String| {
        if !s.is_empty() {
            parts.push(StrPart::Text(s));
        }
    };
    text(&mut parts, head);
    parts.push(StrPart::Interp { expr: first.0, spec: first.1 });
    for (mid, (expr, spec)) in rest {
        text(&mut parts, mid);
        parts.push(StrPart::Interp { expr, spec });
    }
    text(&mut parts, tail);
    Expr::new(ExprKind::Str(parts), span)
}

pub fn bind_pattern(name: String, span: Span) -> Pattern {
    let kind = if name == "_" { PatternKind::Wildcard } else { PatternKind::Bind(name) };
    Pattern { kind, span }
}

pub fn ctor_pattern(name: Ident, inner: Pattern, span: Span, errors: &mut Vec<SyntaxError>) -> Pattern {
    let kind = match name.name.as_str() {
        "Ok" => PatternKind::Ok(Box::new(inner)),
        "Err" => PatternKind::Err(Box::new(inner)),
        _ => {
            errors.push(SyntaxError::UnknownPatternConstructor { name: name.name, span: name.span });
            PatternKind::Error
        }
    };
    Pattern { kind, span }
}

/// One `for … in …` or `if …` of a comprehension.
pub enum CompClause {
    For(Pattern, Expr),
    If(Expr),
}

/// What a comprehension makes: a list of `item`, or a map of `key: value`.
pub enum CompKind {
    List(Expr),
    Map(Expr, Expr),
}

/// `[e for x in xs if c]` and `{k: v for x in xs}`, as the block that builds them:
/// `{ let __comp = []; for x in xs { if c { __comp.push(e) } }; __comp }`. The variables of its
/// `for`s live only in it, as upstream's.
pub fn comprehension(kind: CompKind, clauses: Vec<CompClause>, span: Span) -> Expr {
    const ACC: &str = "__comp";
    let acc = || Expr::new(ExprKind::Name(ACC.to_string()), span);
    let stmt = |kind: StmtKind| Stmt { kind, span };
    let (init, add) = match kind {
        CompKind::List(item) => {
            let push = Expr::new(ExprKind::Field { expr: Box::new(acc()), name: Ident { name: "push".into(), span } }, span);
            let call = Expr::new(ExprKind::Call { callee: Box::new(push), args: vec![Arg { name: None, value: item, span }] }, span);
            (Expr::new(ExprKind::List(vec![]), span), stmt(StmtKind::Expr(call)))
        }
        CompKind::Map(key, value) => {
            let target = Expr::new(ExprKind::Index { expr: Box::new(acc()), index: Box::new(key) }, span);
            (Expr::new(ExprKind::Map(vec![]), span), stmt(StmtKind::Assign { target, op: AssignOp::Set, value }))
        }
    };
    let body = clauses.into_iter().rev().fold(add, |inner, clause| {
        let block = Block { stmts: vec![inner], span };
        match clause {
            CompClause::For(pattern, iter) => stmt(StmtKind::For { label: None, pattern, iter, body: block }),
            CompClause::If(cond) => stmt(StmtKind::Expr(Expr::new(ExprKind::If { cond: Box::new(cond), then: block, otherwise: None }, span))),
        }
    });
    let let_acc = stmt(StmtKind::Let { name: Ident { name: ACC.to_string(), span }, ty: None, value: init });
    Expr::new(ExprKind::Block(Block { stmts: vec![let_acc, body, stmt(StmtKind::Expr(acc()))], span }), span)
}
