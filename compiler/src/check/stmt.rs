//! Blocks and statements: `let`, assignment, loops, expression statements.

use super::Checker;
use super::problem::{Expectation, Problem};
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
        (TBlock { stmts, span: b.span, scoped: None }, ty)
    }

    pub fn check_stmt(&mut self, s: &ast::Stmt) -> Option<TStmt> {
        match &s.kind {
            ast::StmtKind::Let { name, ty, value } => {
                let te = match ty {
                    Some(t) => {
                        let t = self.resolve_type_expr(t);
                        self.check_expr(value, &t, Expectation::Let { name: name.name.clone() })
                    }
                    None if name.name == "_" => self.infer_spawn_use(value, None, super::tasks::SpawnUse::LetGo),
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
            ast::StmtKind::LetPattern { pattern, value } => {
                let te = self.infer_expr(value, None);
                if matches!(self.unifier.shallow(&te.ty), Type::Query(_)) {
                    self.report(Problem::UnfinishedQuery { span: te.span });
                }
                let ty = if te.ty == Type::Never { Type::Error } else { te.ty.clone() };
                let pattern = self.check_pattern(pattern, &ty, false);
                Some(TStmt::LetPattern { pattern, value: te, span: s.span })
            }
            ast::StmtKind::Assign { target, op, value } => self.check_assign(target, *op, value, s.span),
            // A `loop` whose value is not used: a statement, whose `break`s carry nothing.
            ast::StmtKind::Expr(ast::Expr { kind: ExprKind::Loop { label, body }, span }) => Some(self.check_loop_stmt(label.as_ref(), body, *span)),
            ast::StmtKind::Expr(e) => Some(TStmt::Expr(self.check_expr_stmt(e))),
            ast::StmtKind::While { label, cond, body } => {
                let c = self.check_expr(cond, &Type::Bool, Expectation::Condition);
                let mut paths = self.paths_start();
                let (b, _) = self.in_loop(label.as_ref(), |c| c.check_block(body, None));
                self.path_done(&mut paths, false);
                self.paths_end(paths, false);
                Some(TStmt::While { cond: c, body: b })
            }
            ast::StmtKind::For { label, pattern, iter, body } => self.check_for(label.as_ref(), pattern, iter, body),
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

    fn in_loop<R>(&mut self, label: Option<&ast::Ident>, f: impl FnOnce(&mut Self) -> R) -> R {
        self.in_loop_frame(label, None, f).0
    }

    /// Checks a loop's body with its frame on the stack (`value`: a `loop` used as a value);
    /// returns the frame as the body left it.
    fn in_loop_frame<R>(&mut self, label: Option<&ast::Ident>, value: Option<Option<Type>>, f: impl FnOnce(&mut Self) -> R) -> (R, super::LoopFrame) {
        if let Some(l) = label
            && self.cur_ref().loops.iter().any(|fr| fr.label.as_deref() == Some(l.name.as_str()))
        {
            self.report(Problem::Duplicate { what: "loop label", name: format!("'{}", l.name), span: l.span, first: l.span });
        }
        self.cur().loops.push(super::LoopFrame { label: label.map(|l| l.name.clone()), broke: false, value });
        let r = f(self);
        let frame = self.cur().loops.pop().expect("the loop's frame");
        (r, frame)
    }

    /// A `loop` statement (its value unused): `Never` when nothing breaks out of it.
    pub fn check_loop_stmt(&mut self, label: Option<&ast::Ident>, body: &ast::Block, span: crate::span::Span) -> TStmt {
        // What the body assigns before its first `break` would count; not followed that far,
        // the loop counts as assigning nothing.
        let mut paths = self.paths_start();
        let ((b, _), frame) = self.in_loop_frame(label, None, |c| c.check_block(body, None));
        self.path_done(&mut paths, false);
        self.paths_end(paths, false);
        let stmt = TStmt::Loop { body: b };
        if !frame.broke {
            // A loop nothing breaks out of never completes.
            return TStmt::Expr(TExpr { kind: TExprKind::Block(TBlock { stmts: vec![stmt], span, scoped: None }), ty: Type::Never, span });
        }
        stmt
    }

    /// A `loop` used as a value: the type its `break`s carry (`Never` when none leaves it).
    pub fn infer_loop_value(&mut self, label: Option<&ast::Ident>, body: &ast::Block, hint: Option<&Type>, span: crate::span::Span) -> TExpr {
        let mut paths = self.paths_start();
        let ((b, _), frame) = self.in_loop_frame(label, Some(hint.cloned()), |c| c.check_block(body, None));
        self.path_done(&mut paths, false);
        self.paths_end(paths, false);
        let ty = match (frame.broke, frame.value.flatten()) {
            (false, _) => Type::Never,
            (true, Some(t)) => t,
            (true, None) => Type::Null,
        };
        TExpr { kind: TExprKind::Loop(b), ty, span }
    }

    /// `break` and `continue`, with or without a label, and `break value`: the loop they
    /// leave, counted out from the innermost.
    pub fn check_jump(&mut self, is_break: bool, label: Option<&ast::Ident>, value: Option<&ast::Expr>, span: crate::span::Span) -> TExpr {
        let keyword = if is_break { "break" } else { "continue" };
        let frames = &self.cur_ref().loops;
        let target = match label {
            None => frames.len().checked_sub(1),
            Some(l) => frames.iter().rposition(|f| f.label.as_deref() == Some(l.name.as_str())),
        };
        let Some(target) = target else {
            match label {
                Some(l) if !frames.is_empty() => self.report(Problem::UnknownLabel { name: l.name.clone(), span: l.span }),
                _ => self.report(Problem::OutsideLoop { keyword, span }),
            }
            if let Some(v) = value {
                self.infer_expr(v, None);
            }
            return TExpr { kind: TExprKind::Error, ty: Type::Never, span };
        };
        let depth = (self.cur_ref().loops.len() - 1 - target) as u32;
        if !is_break {
            return TExpr { kind: TExprKind::Continue { depth }, ty: Type::Never, span };
        }
        self.cur().loops[target].broke = true;
        let wanted = self.cur_ref().loops[target].value.clone();
        let value = match (value, wanted) {
            (Some(v), Some(hint)) => {
                let te = match &hint {
                    Some(t) => self.check_expr(v, t, Expectation::Plain),
                    None => self.infer_expr(v, None),
                };
                if hint.is_none() {
                    self.cur().loops[target].value = Some(Some(te.ty.clone()));
                }
                Some(Box::new(te))
            }
            (Some(v), None) => {
                self.report(Problem::BreakValueUnused { span: v.span });
                self.infer_expr(v, None);
                None
            }
            // `break` alone gives the loop the value `null`: fine where that is wanted or
            // nothing is known yet (`let x = loop { break }`).
            (None, Some(Some(t)))
                if !matches!(self.unifier.shallow(&t), Type::Null | Type::Nullable(_) | Type::Var(_) | Type::Error) && !self.unifier.try_unify(&t, &Type::Null) =>
            {
                self.report(Problem::BreakWithoutValue { span });
                None
            }
            (None, _) => None,
        };
        TExpr { kind: TExprKind::Break { depth, value }, ty: Type::Never, span }
    }

    fn check_for(&mut self, label: Option<&ast::Ident>, pattern: &ast::Pattern, iter: &ast::Expr, body: &ast::Block) -> Option<TStmt> {
        let it = self.infer_expr(iter, None);
        let ity = self.unifier.shallow(&it.ty);
        self.push_scope();
        // Items taken apart (`for (a, b) in pairs`) are bound at the top of the body.
        let mut unpack = Vec::new();
        let binding = match (&ity, &pattern.kind) {
            (Type::Map(k, v), ast::PatternKind::Tuple(items)) if items.len() == 2 => {
                let k = self.for_bind(&items[0], (**k).clone(), &mut unpack);
                let v = self.for_bind(&items[1], (**v).clone(), &mut unpack);
                Some(ForBinding::Pair(k, v))
            }
            (Type::Map(..), _) => {
                self.report(Problem::MapNeedsPair { span: pattern.span });
                self.for_single(pattern, Type::Error, &mut unpack)
            }
            (Type::List(t), _) => self.for_single(pattern, (**t).clone(), &mut unpack),
            (Type::Range, _) => self.for_single(pattern, Type::Int, &mut unpack),
            (Type::Error, _) => self.for_single(pattern, Type::Error, &mut unpack),
            (Type::Future(inner), _) => {
                let inner = self.res(inner);
                self.report(Problem::MissingAwait { inner, span: it.span });
                self.for_single(pattern, Type::Error, &mut unpack)
            }
            _ => {
                let ty = self.res(&ity);
                self.report(Problem::NotIterable { ty, span: it.span });
                self.for_single(pattern, Type::Error, &mut unpack)
            }
        };
        let mut paths = self.paths_start();
        let (mut b, _) = self.in_loop(label, |c| c.check_block(body, None));
        self.path_done(&mut paths, false);
        self.paths_end(paths, false);
        self.pop_scope();
        b.stmts.splice(0..0, unpack);
        Some(TStmt::For { binding: binding.unwrap_or(ForBinding::One(None)), iter: it, body: b })
    }

    fn for_single(&mut self, pattern: &ast::Pattern, ty: Type, unpack: &mut Vec<TStmt>) -> Option<ForBinding> {
        Some(ForBinding::One(self.for_bind(pattern, ty, unpack)))
    }

    /// The local one loop variable is bound to; a tuple pattern binds a hidden one and takes
    /// it apart at the top of the body.
    fn for_bind(&mut self, pattern: &ast::Pattern, ty: Type, unpack: &mut Vec<TStmt>) -> Option<crate::tast::LocalId> {
        match &pattern.kind {
            ast::PatternKind::Bind(name) => Some(self.declare_local(name, ty, pattern.span)),
            ast::PatternKind::Wildcard | ast::PatternKind::Error => None,
            ast::PatternKind::Tuple(_) => {
                let item = self.declare_local("_", ty.clone(), pattern.span);
                let p = self.check_pattern(pattern, &ty, false);
                let value = TExpr { kind: TExprKind::Local(item), ty, span: pattern.span };
                unpack.push(TStmt::LetPattern { pattern: p, value, span: pattern.span });
                Some(item)
            }
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
