//! Blocks and statements: `let`, assignment, loops, expression statements.

use super::problem::{Expectation, Problem};
use super::Checker;
use crate::ast::{self, AssignOp, BinOp, ExprKind};
use crate::tast::{FnKind, ForBinding, Place, TBlock, TExpr, TExprKind, TStmt};
use crate::types::Type;

impl Checker {
    /// Checks a block in its own scope. With `value: Some(hint)` the block produces the value
    /// of its last expression statement; otherwise its value is discarded. Returns the block's
    /// type (`Never` when it cannot complete).
    pub fn check_block(&mut self, b: &ast::Block, value: Option<Option<&crate::types::Type>>) -> (TBlock, Type) {
        self.push_scope();
        let mut stmts = Vec::with_capacity(b.stmts.len());
        let mut diverges = false;
        let mut ty = Type::Null;
        let last = b.stmts.len().saturating_sub(1);
        for (i, s) in b.stmts.iter().enumerate() {
            let is_value = i == last && value.is_some();
            let checked = match (&s.kind, is_value) {
                (ast::StmtKind::Expr(e), true) => {
                    let te = self.infer_expr(e, value.flatten());
                    ty = te.ty.clone();
                    if matches!(self.unifier.shallow(&te.ty), Type::Query(_)) {
                        self.report(Problem::UnfinishedQuery { span: te.span });
                    }
                    Some(TStmt::Expr(te))
                }
                _ => self.check_stmt(s),
            };
            if let Some(st) = checked {
                if stmt_diverges(&st) {
                    diverges = true;
                }
                stmts.push(st);
            }
        }
        self.pop_scope();
        if diverges {
            ty = Type::Never;
        } else if value.is_none() || b.stmts.is_empty() || !matches!(b.stmts.last().map(|s| &s.kind), Some(ast::StmtKind::Expr(_))) {
            ty = Type::Null;
        }
        (TBlock { stmts, span: b.span }, ty)
    }

    pub fn check_stmt(&mut self, s: &ast::Stmt) -> Option<TStmt> {
        match &s.kind {
            ast::StmtKind::Let { name, ty, value } => {
                let te = match ty {
                    Some(t) => {
                        let t = self.resolve_type_expr(t);
                        self.check_expr(value, &t, Expectation::Let { name: name.name.clone() })
                    }
                    None => self.infer_expr(value, None),
                };
                if matches!(self.unifier.shallow(&te.ty), Type::Query(_)) {
                    self.report(Problem::UnfinishedQuery { span: te.span });
                }
                let ty = if te.ty == Type::Never { Type::Error } else { te.ty.clone() };
                let from_jwt = self.is_jwt_result(&te);
                let local = self.declare_local(&name.name, ty, name.span);
                if from_jwt {
                    self.cur().jwt_results.insert(local);
                }
                Some(TStmt::Let { local, value: te })
            }
            ast::StmtKind::Assign { target, op, value } => self.check_assign(target, *op, value, s.span),
            ast::StmtKind::Expr(e) => Some(TStmt::Expr(self.check_expr_stmt(e))),
            ast::StmtKind::While { cond, body } => {
                let c = self.check_expr(cond, &Type::Bool, Expectation::Condition);
                let mut paths = self.paths_start();
                let (b, _) = self.in_loop(|c| c.check_block(body, None));
                self.path_done(&mut paths, false);
                self.paths_end(paths, false);
                Some(TStmt::While { cond: c, body: b })
            }
            ast::StmtKind::Loop { body } => {
                // What the body assigns before its first `break` would count; not followed that
                // far, the loop counts as assigning nothing.
                let mut paths = self.paths_start();
                let ((b, _), broke) = self.in_loop_tracking(|c| c.check_block(body, None));
                self.path_done(&mut paths, false);
                self.paths_end(paths, false);
                let stmt = TStmt::Loop { body: b };
                if !broke {
                    // A loop nothing breaks out of never completes.
                    return Some(TStmt::Expr(TExpr {
                        kind: TExprKind::Block(TBlock { stmts: vec![stmt], span: s.span }),
                        ty: Type::Never,
                        span: s.span,
                    }));
                }
                Some(stmt)
            }
            ast::StmtKind::For { pattern, iter, body } => self.check_for(pattern, iter, body),
            ast::StmtKind::Error => None,
        }
    }

    /// An expression whose value is thrown away: `if`/`match` branches need not agree, and a
    /// future or an unfinished query here is a mistake.
    pub fn check_expr_stmt(&mut self, e: &ast::Expr) -> TExpr {
        let te = match &e.kind {
            ExprKind::If { .. } => self.infer_if(e, None, false),
            ExprKind::Match { .. } => self.infer_match(e, None, false),
            _ => self.infer_expr(e, None),
        };
        match self.unifier.shallow(&te.ty) {
            Type::Future(_) => {
                self.report(Problem::UnusedFuture { span: te.span });
                Self::error_expr(te.span)
            }
            Type::Query(_) => {
                self.report(Problem::UnfinishedQuery { span: te.span });
                Self::error_expr(te.span)
            }
            _ => te,
        }
    }

    fn in_loop<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.in_loop_tracking(f).0
    }

    fn in_loop_tracking<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> (R, bool) {
        self.cur().loops += 1;
        self.cur().breaks.push(false);
        let r = f(self);
        self.cur().loops -= 1;
        let broke = self.cur().breaks.pop().unwrap_or(false);
        (r, broke)
    }

    pub fn loop_breaks_set(&mut self) {
        if let Some(b) = self.cur().breaks.last_mut() {
            *b = true;
        }
    }

    fn check_for(&mut self, pattern: &ast::Pattern, iter: &ast::Expr, body: &ast::Block) -> Option<TStmt> {
        let it = self.infer_expr(iter, None);
        let ity = self.unifier.shallow(&it.ty);
        self.push_scope();
        let binding = match (&ity, &pattern.kind) {
            (Type::Map(k, v), ast::PatternKind::Tuple(items)) if items.len() == 2 => {
                let k = self.for_bind(&items[0], (**k).clone());
                let v = self.for_bind(&items[1], (**v).clone());
                Some(ForBinding::Pair(k, v))
            }
            (Type::Map(..), _) => {
                self.report(Problem::MapNeedsPair { span: pattern.span });
                self.for_single(pattern, Type::Error)
            }
            (Type::List(t), _) => self.for_single(pattern, (**t).clone()),
            (Type::Range, _) => self.for_single(pattern, Type::Int),
            (Type::Error, _) => self.for_single(pattern, Type::Error),
            (Type::Future(inner), _) => {
                let inner = self.res(inner);
                self.report(Problem::MissingAwait { inner, span: it.span });
                self.for_single(pattern, Type::Error)
            }
            _ => {
                let ty = self.res(&ity);
                self.report(Problem::NotIterable { ty, span: it.span });
                self.for_single(pattern, Type::Error)
            }
        };
        let mut paths = self.paths_start();
        let (b, _) = self.in_loop(|c| c.check_block(body, None));
        self.path_done(&mut paths, false);
        self.paths_end(paths, false);
        self.pop_scope();
        Some(TStmt::For { binding: binding.unwrap_or(ForBinding::One(None)), iter: it, body: b })
    }

    fn for_single(&mut self, pattern: &ast::Pattern, ty: Type) -> Option<ForBinding> {
        match &pattern.kind {
            ast::PatternKind::Tuple(_) => {
                self.report(Problem::TuplePattern { span: pattern.span });
                None
            }
            _ => Some(ForBinding::One(self.for_bind(pattern, ty))),
        }
    }

    fn for_bind(&mut self, pattern: &ast::Pattern, ty: Type) -> Option<crate::tast::LocalId> {
        match &pattern.kind {
            ast::PatternKind::Bind(name) => Some(self.declare_local(name, ty, pattern.span)),
            ast::PatternKind::Wildcard | ast::PatternKind::Error => None,
            _ => {
                self.report(Problem::PatternMismatch { pattern: "a literal", ty, span: pattern.span });
                None
            }
        }
    }

    fn check_assign(&mut self, target: &ast::Expr, op: AssignOp, value: &ast::Expr, span: crate::span::Span) -> Option<TStmt> {
        let (place, ty) = match &target.kind {
            ExprKind::Name(n) => {
                let depth = self.ctx.len() - 1;
                if let Some(id) = self.lookup_local(depth, n) {
                    let ctx = &self.ctx[depth];
                    if ctx.kind == FnKind::Lambda && ctx.captures.iter().any(|(inner, _)| *inner == id) {
                        self.report(Problem::AssignToCapture { name: n.clone(), span: target.span });
                    }
                    if op != AssignOp::Set && self.maybe_unassigned(id) {
                        self.report_maybe_unassigned(id, target.span);
                    }
                    if op == AssignOp::Set {
                        // Checked before the value is noted: `x = x + 1` reads `x` first.
                        let ty = self.ctx[depth].locals[id.0 as usize].ty.clone();
                        let v = self.check_expr(value, &ty, Expectation::Assign);
                        self.note_assigned(id);
                        return Some(TStmt::Assign { place: Place::Local(id), op: None, value: v, span });
                    }
                    (Place::Local(id), self.ctx[depth].locals[id.0 as usize].ty.clone())
                } else if let Some(&gid) = self.global_ids.get(n) {
                    (Place::Global(gid), self.globals[gid.0 as usize].ty.clone())
                } else if self.fn_ids.contains_key(n) || self.record_ids.contains_key(n) {
                    self.report(Problem::NotAssignable { span: target.span });
                    (Place::Local(crate::tast::LocalId(0)), Type::Error)
                } else if op == AssignOp::Set {
                    // Upstream's declaration: the first assignment of a name creates it.
                    let v = self.infer_expr(value, None);
                    if matches!(self.unifier.shallow(&v.ty), Type::Query(_)) {
                        self.report(Problem::UnfinishedQuery { span: v.span });
                    }
                    let ty = if v.ty == Type::Never { Type::Error } else { v.ty.clone() };
                    let local = self.declare_by_assignment(n, ty, target.span);
                    return Some(TStmt::Let { local, value: v });
                } else {
                    self.report(Problem::AssignToUndeclared { name: n.clone(), span: target.span });
                    self.infer_expr(value, None);
                    return None;
                }
            }
            ExprKind::Index { expr, index } => {
                let base = self.infer_expr(expr, None);
                match self.unifier.shallow(&base.ty) {
                    Type::List(t) => {
                        let i = self.check_expr(index, &Type::Int, Expectation::Plain);
                        (Place::Index { base: Box::new(base), index: Box::new(i) }, *t)
                    }
                    Type::Map(k, v) => {
                        let i = self.check_expr(index, &k, Expectation::MapKey);
                        (Place::Index { base: Box::new(base), index: Box::new(i) }, *v)
                    }
                    Type::Error => (Place::Local(crate::tast::LocalId(0)), Type::Error),
                    other => {
                        let ty = self.res(&other);
                        self.report(Problem::NotIndexable { ty, span: base.span });
                        (Place::Local(crate::tast::LocalId(0)), Type::Error)
                    }
                }
            }
            ExprKind::Field { expr, name } => {
                let base = self.infer_expr(expr, None);
                let f = self.field_of(base, name, target.span);
                match f.kind {
                    TExprKind::Field { expr, record, field } => (Place::Field { base: expr, record, field }, f.ty),
                    _ => (Place::Local(crate::tast::LocalId(0)), Type::Error),
                }
            }
            _ => {
                self.report(Problem::NotAssignable { span: target.span });
                self.infer_expr(value, None);
                return None;
            }
        };
        let bin = match op {
            AssignOp::Set => None,
            AssignOp::Add => Some(BinOp::Add),
            AssignOp::Sub => Some(BinOp::Sub),
            AssignOp::Mul => Some(BinOp::Mul),
            AssignOp::Div => Some(BinOp::Div),
            AssignOp::BitAnd => Some(BinOp::BitAnd),
            AssignOp::BitOr => Some(BinOp::BitOr),
            AssignOp::BitXor => Some(BinOp::BitXor),
            AssignOp::Shl => Some(BinOp::Shl),
            AssignOp::Shr => Some(BinOp::Shr),
        };
        let v = match bin {
            None => self.check_expr(value, &ty, Expectation::Assign),
            Some(b) => {
                let rhs = self.infer_expr(value, Some(&ty));
                let lhs = TExpr { kind: TExprKind::Error, ty: ty.clone(), span: target.span };
                let combined = self.binary_typed(b, lhs, rhs, span);
                if combined.ty != Type::Error && !self.unifier.try_unify(&combined.ty, &ty) {
                    let (expected, found) = (self.res(&ty), self.res(&combined.ty));
                    self.report(Problem::Mismatch { expected, found, span, context: Expectation::Assign });
                }
                match combined.kind {
                    TExprKind::Binary { rhs, .. } => *rhs,
                    _ => Self::error_expr(value.span),
                }
            }
        };
        Some(TStmt::Assign { place, op: bin, value: v, span })
    }
}

fn stmt_diverges(s: &TStmt) -> bool {
    match s {
        TStmt::Expr(e) | TStmt::Let { value: e, .. } => e.ty == Type::Never,
        _ => false,
    }
}
