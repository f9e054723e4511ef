//! `@background` functions and `spawn`: a task runs in a sandbox of its own, so what it takes
//! and returns must be values the host can copy between sandboxes (or the app's `DbConn`),
//! and its future is either awaited where it is spawned or let go — a future kept for later
//! would name a run the spawning sandbox cannot see.

use super::Checker;
use super::problem::Problem;
use crate::ast::{self, ExprKind};
use crate::span::Span;
use crate::tast::{self, FnDef, FnId, FnKind, LocalDef, LocalId, TExpr, TExprKind};
use crate::types::Type;

/// How the `spawn(…)` being checked is used, as its parent said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnUse {
    /// `spawn(…).await`: the run waits for the task's value.
    Await,
    /// `let _ = spawn(…)`: the task runs on its own.
    LetGo,
}

impl Checker {
    /// Whether `e` is a call of the built-in `spawn` (not a function or value of that name).
    pub fn is_spawn(&mut self, e: &ast::Expr) -> bool {
        matches!(&e.kind, ExprKind::Call { callee, .. } if matches!(&callee.kind, ExprKind::Name(n) if n == "spawn" && !self.fn_ids.contains_key(n) && !self.is_value_name(n)))
    }

    /// Infers `e` knowing how a `spawn` at its root is used.
    pub fn infer_spawn_use(&mut self, e: &ast::Expr, hint: Option<&Type>, used: SpawnUse) -> TExpr {
        let direct = self.is_spawn(e);
        if direct {
            self.spawn_use = Some(used);
        }
        let te = self.infer_expr(e, hint);
        if direct {
            self.spawn_use = None;
        }
        te
    }

    /// The task index of `@background` function `fid`: its place among them.
    fn task_index(&self, fid: FnId) -> Option<u32> {
        self.fns[fid.0 as usize].decorators.background?;
        Some(self.fns[..fid.0 as usize].iter().filter(|f| f.decorators.background.is_some()).count() as u32)
    }

    /// `spawn(f(args))`.
    pub fn check_spawn(&mut self, args: &[ast::Arg], span: Span) -> TExpr {
        let used = self.spawn_use.take();
        let call = match args {
            [a] if a.name.is_none() => &a.value,
            _ => {
                self.report(Problem::ArgCount { callee: "spawn".into(), min: 1, max: 1, found: args.len(), span });
                self.infer_args_loosely(args);
                return Self::error_expr(span);
            }
        };
        let ExprKind::Call { callee, args: call_args } = &call.kind else {
            self.report(Problem::SpawnNotBackground { callee: None, span: call.span, fn_span: None });
            self.infer_expr(call, None);
            return Self::error_expr(span);
        };
        let target = match &callee.kind {
            ExprKind::Name(n) if !self.is_value_name(n) => self.fn_ids.get(n).copied().ok_or(Some(n.clone())),
            _ => Err(None),
        };
        let (fid, task) = match target.map(|fid| (fid, self.task_index(fid))) {
            Ok((fid, Some(task))) => (fid, task),
            Ok((fid, None)) => {
                let f = &self.fns[fid.0 as usize];
                self.report(Problem::SpawnNotBackground { callee: Some(f.name.clone()), span: callee.span, fn_span: Some(f.name_span) });
                self.infer_expr(call, None);
                return Self::error_expr(span);
            }
            Err(name) => {
                self.report(Problem::SpawnNotBackground { callee: name, span: callee.span, fn_span: None });
                self.infer_args_loosely(call_args);
                return Self::error_expr(span);
            }
        };
        let ret = self.fns[fid.0 as usize].ret.clone();
        let call = self.call_user_fn(fid, call_args, call.span);
        let Some(used) = used else {
            self.report(Problem::SpawnKept { span });
            return Self::error_expr(span);
        };
        TExpr { kind: TExprKind::Spawn { task, call: Box::new(call), wait: used == SpawnUse::Await }, ty: Type::future(ret), span }
    }

    /// The `@background` functions, their parameters and results checked, in task order.
    pub fn check_tasks(&mut self) -> Vec<(FnId, String)> {
        let mut tasks = Vec::new();
        for i in 0..self.fns.len() {
            if self.fns[i].decorators.background.is_none() {
                continue;
            }
            let name = self.fns[i].name.clone();
            let params: Vec<(Type, Span)> = self.fns[i].params.iter().map(|p| (self.res(&p.ty), p.span)).collect();
            for (ty, span) in params {
                if ty != Type::DbConn && !self.serializable(&ty, false) {
                    self.report(Problem::TaskType { name: name.clone(), ty, what: "parameter", span });
                }
            }
            let ret = self.res(&self.fns[i].ret);
            if !self.serializable(&ret, true) {
                let span = self.fns[i].name_span;
                self.report(Problem::TaskType { name: name.clone(), ty: ret, what: "result", span });
            }
            tasks.push((FnId(i as u32), name));
        }
        tasks
    }
}

/// Adds an entry for each task to `functions`: it takes the task function's parameters and
/// calls it, and being an entry it returns an outcome to the host.
pub fn entries(functions: &mut Vec<FnDef>, tasks: Vec<(FnId, String)>, what: &str) -> Vec<tast::Task> {
    let mut out = Vec::new();
    for (func, name) in tasks {
        let target = &functions[func.0 as usize];
        let locals: Vec<LocalDef> = target.params.iter().map(|p| target.locals[p.0 as usize].clone()).collect();
        let params: Vec<LocalId> = (0..locals.len() as u32).map(LocalId).collect();
        let span = target.span;
        let args = locals.iter().zip(&params).map(|(l, id)| TExpr { kind: TExprKind::Local(*id), ty: l.ty.clone(), span }).collect();
        let ret = target.ret.clone();
        let call_ty = if target.is_async { Type::future(ret.clone()) } else { ret.clone() };
        let call = TExpr { kind: TExprKind::Call { func, args }, ty: call_ty, span };
        let body = if target.is_async { TExpr { kind: TExprKind::Await(Box::new(call)), ty: ret.clone(), span } } else { call };
        let is_async = target.is_async;
        let entry = FnId(functions.len() as u32);
        functions.push(FnDef { name: format!("{what} {name}"), kind: FnKind::User, is_async, params, ret, locals, captures: Vec::new(), body, span });
        out.push(tast::Task { func, name, entry });
    }
    out
}
