//! Declaration by assignment, as upstream writes Fitz: `x = 1` where no `x` is in scope
//! creates `x`, and a name first assigned inside the body of an `if`, `match` or loop is
//! visible after it, to the end of the function (at the top level: a global when the
//! assignment is not nested). What keeps this safe is definite assignment: a read of such a
//! name where some path reaches it without a value is an error (`MaybeUnassigned`), decided
//! here by following which names every path has assigned.
//!
//! Only names created this way inside a nested block are tracked (`FnCtx::hoisted`): a `let`,
//! a parameter or a name created at the top of its function always has a value.

use std::collections::HashSet;

use super::Checker;
use crate::ast::{self, AssignOp, ExprKind, StmtKind};
use crate::tast::LocalId;

/// The top-level statements with each first plain assignment of a name turned into its
/// declaration (`x = 1` → `let x = 1`), so it becomes a global as `let` would. Names of
/// functions and types are left to the checker, which refuses assigning to them.
pub fn declarations_by_assignment(top: &[&ast::Stmt], named: &HashSet<&str>) -> Vec<ast::Stmt> {
    let mut declared: HashSet<String> = HashSet::new();
    top.iter()
        .map(|s| match &s.kind {
            StmtKind::Let { name, .. } => {
                declared.insert(name.name.clone());
                (*s).clone()
            }
            StmtKind::Assign { target, op: AssignOp::Set, value } => match &target.kind {
                ExprKind::Name(n) if !declared.contains(n) && !named.contains(n.as_str()) => {
                    declared.insert(n.clone());
                    let name = ast::Ident { name: n.clone(), span: target.span };
                    ast::Stmt { kind: StmtKind::Let { name, ty: None, value: value.clone() }, span: s.span }
                }
                _ => (*s).clone(),
            },
            _ => (*s).clone(),
        })
        .collect()
}

/// The names assigned on every path of a branching construct, gathered path by path.
pub struct Paths {
    before: HashSet<LocalId>,
    joined: Option<HashSet<LocalId>>,
}

impl Checker {
    /// Declares `name`, which a plain assignment gives its first value, for the rest of the
    /// function: in a nested block it is tracked until every path has assigned it.
    pub fn declare_by_assignment(&mut self, name: &str, ty: crate::types::Type, span: crate::span::Span) -> LocalId {
        // A function's body is its second scope (its parameters' the first); the top level's
        // statements are in its first.
        let top = if self.cur_ref().kind == crate::tast::FnKind::Main { 1 } else { 2 };
        let nested = self.cur_ref().scopes.len() > top;
        let ctx = self.cur();
        let id = LocalId(ctx.locals.len() as u32);
        ctx.locals.push(crate::tast::LocalDef { name: name.to_string(), ty, span });
        // The function's own scope (its parameters'), so the name outlives the block.
        ctx.scopes[0].insert(name.to_string(), id);
        if nested {
            ctx.hoisted.insert(id);
            ctx.assigned.insert(id);
        }
        id
    }

    /// Whether a read of local `id` of the current function may find no value.
    pub fn maybe_unassigned(&self, id: LocalId) -> bool {
        let ctx = self.cur_ref();
        ctx.hoisted.contains(&id) && !ctx.assigned.contains(&id)
    }

    pub fn note_assigned(&mut self, id: LocalId) {
        if self.cur_ref().hoisted.contains(&id) {
            self.cur().assigned.insert(id);
        }
    }

    /// Before the first path of an `if`, `match` or loop.
    pub fn paths_start(&self) -> Paths {
        Paths { before: self.cur_ref().assigned.clone(), joined: None }
    }

    /// After one path (`diverges`: it cannot reach what follows): what it assigned counts only
    /// if it can; the next path starts from what held before the construct.
    pub fn path_done(&mut self, paths: &mut Paths, diverges: bool) {
        let now = std::mem::replace(&mut self.cur().assigned, paths.before.clone());
        if !diverges {
            paths.joined = Some(match paths.joined.take() {
                None => now,
                Some(j) => j.intersection(&now).copied().collect(),
            });
        }
    }

    /// After the last path: with `every_path` (an `if` with an `else`, a `match` that covers
    /// its scrutinee) what all of them assigned; otherwise, or for a loop's body that may not
    /// run, only what held before.
    pub fn paths_end(&mut self, paths: Paths, every_path: bool) {
        self.cur().assigned = match (every_path, paths.joined) {
            (true, Some(j)) => j,
            _ => paths.before,
        };
    }
}

impl Checker {
    pub fn report_maybe_unassigned(&mut self, id: LocalId, span: crate::span::Span) {
        let def = &self.cur_ref().locals[id.0 as usize];
        let (name, assigned) = (def.name.clone(), def.span);
        self.report(super::problem::Problem::MaybeUnassigned { name, span, assigned });
    }
}
