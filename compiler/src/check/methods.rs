//! Methods declared in a `type`'s body, as upstream writes them: `fn m(…)` sees the type's
//! fields as variables of its body (copies: a method returns a new value rather than changing
//! its receiver) and `self` as the receiver, and is called on an instance, `p.m(…)`; `static fn
//! m(…)` has no instance and is called on the type, `Point.m(…)`. Each becomes a function
//! named `Type.m`, a name no program can write, with `self: Type` first.
//!
//! Members whose names start with `_` are private: only the methods of their own type reach
//! them (on any instance of it).

use std::collections::HashMap;

use super::Checker;
use super::problem::Problem;
use crate::ast::{self, ExprKind, StmtKind};
use crate::span::Span;
use crate::tast::{FnId, TExpr, TExprKind};
use crate::types::Type;

/// The function a method becomes.
pub fn fn_name(ty: &str, method: &str) -> String {
    format!("{ty}.{method}")
}

/// The functions `types`' methods become.
pub fn functions_of(types: &[&ast::TypeDecl]) -> Vec<ast::FnDecl> {
    let mut out = Vec::new();
    for t in types {
        for m in &t.methods {
            let mut f = m.decl.clone();
            let span = f.span;
            f.name = ast::Ident { name: fn_name(&t.name.name, &f.name.name), span: f.name.span };
            if !m.is_static {
                // A parameter of the same name as a field wins over it.
                let fields: Vec<ast::Stmt> = t
                    .fields
                    .iter()
                    .filter(|fd| !f.params.iter().any(|p| p.name.name == fd.name.name))
                    .map(|fd| {
                        let this = ast::Expr::new(ExprKind::Name("self".into()), fd.name.span);
                        let read = ast::Expr::new(ExprKind::Field { expr: Box::new(this), name: fd.name.clone() }, fd.name.span);
                        ast::Stmt { kind: StmtKind::Let { name: fd.name.clone(), ty: None, value: read }, span }
                    })
                    .collect();
                let self_ty = ast::TypeExpr { kind: ast::TypeExprKind::Named { name: t.name.clone(), args: vec![] }, span: t.name.span };
                let this = ast::Param { name: ast::Ident { name: "self".into(), span: f.name.span }, ty: Some(self_ty), default: None, variadic: false, span: f.name.span };
                f.params.insert(0, this);
                f.body = match f.body {
                    ast::FnBody::Block(mut b) => {
                        b.stmts.splice(0..0, fields);
                        ast::FnBody::Block(b)
                    }
                    ast::FnBody::Expr(e) => {
                        let at = e.span;
                        let mut stmts = fields;
                        stmts.push(ast::Stmt { kind: StmtKind::Expr(ast::Expr::new(ExprKind::Return(Some(e)), at)), span: at });
                        ast::FnBody::Block(ast::Block { stmts, span: at })
                    }
                };
            }
            out.push(f);
        }
    }
    out
}

/// A type's methods by name: the function each became, and whether it is static.
pub type MethodTable = HashMap<(String, String), (FnId, bool)>;

impl Checker {
    /// Records every method of `types` (after their functions were collected).
    pub fn collect_methods(&mut self, types: &[&ast::TypeDecl]) {
        for t in types {
            for m in &t.methods {
                if let Some(&fid) = self.fn_ids.get(&fn_name(&t.name.name, &m.decl.name.name)) {
                    self.methods.insert((t.name.name.clone(), m.decl.name.name.clone()), (fid, m.is_static));
                }
            }
        }
    }

    /// The type whose method is being checked here (a lambda inside one counts as in it).
    fn method_type(&self) -> Option<&str> {
        self.ctx.iter().rev().find(|c| c.kind != crate::tast::FnKind::Lambda).and_then(|c| c.name.split_once('.')).map(|(t, _)| t)
    }

    /// Refuses `_name` of type `record` where the code is not in one of its methods.
    pub fn check_private(&mut self, record: &str, name: &str, what: &'static str, span: Span) {
        if name.starts_with('_') && self.method_type() != Some(record) {
            self.report(Problem::Private { what, name: name.to_string(), record: record.to_string(), span });
        }
    }

    /// `Type.m(args)` when `Type` has a method `m`.
    pub fn call_static_method(&mut self, record: &str, method: &ast::Ident, args: &[ast::Arg], span: Span) -> Option<TExpr> {
        let &(fid, is_static) = self.methods.get(&(record.to_string(), method.name.clone()))?;
        self.check_private(record, &method.name, "method", method.span);
        if !is_static {
            self.report(Problem::MethodNeedsInstance { record: record.to_string(), method: method.name.clone(), span: method.span });
            self.infer_args_loosely(args);
            return Some(Self::error_expr(span));
        }
        Some(self.call_fn_with(fid, None, args, span))
    }

    /// `value.m(args)` when the value's type has a method `m`.
    pub fn call_instance_method(&mut self, recv: TExpr, method: &ast::Ident, args: &[ast::Arg], span: Span) -> Result<TExpr, TExpr> {
        let Type::Record(rid) = self.unifier.shallow(&recv.ty) else { return Err(recv) };
        let record = self.record_names[rid.0 as usize].clone();
        let Some(&(fid, is_static)) = self.methods.get(&(record.clone(), method.name.clone())) else { return Err(recv) };
        self.check_private(&record, &method.name, "method", method.span);
        if is_static {
            self.report(Problem::StaticOnInstance { record, method: method.name.clone(), span: method.span });
            self.infer_args_loosely(args);
            return Ok(Self::error_expr(span));
        }
        Ok(self.call_fn_with(fid, Some(recv), args, span))
    }

    /// A call of function `fid`, with `recv` as its first argument when given.
    fn call_fn_with(&mut self, fid: FnId, recv: Option<TExpr>, args: &[ast::Arg], span: Span) -> TExpr {
        let f = &self.fns[fid.0 as usize];
        let name = f.name.clone();
        let (is_async, ret) = (f.is_async, f.ret.clone());
        let skip = usize::from(recv.is_some());
        let params: Vec<super::builtins::BParam> = f.params[skip..]
            .iter()
            .map(|p| super::builtins::BParam { name: p.name.clone(), ty: p.ty.clone(), default: p.default.as_ref().map(|d| d.kind.clone()), variadic: p.variadic })
            .collect();
        let mut targs: Vec<TExpr> = recv.into_iter().collect();
        targs.extend(self.check_args(&name, &params, args, span));
        let ty = if is_async { Type::future(ret) } else { ret };
        TExpr { kind: TExprKind::Call { func: fid, args: targs }, ty, span }
    }
}
