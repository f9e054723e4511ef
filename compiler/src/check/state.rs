//! Top-level state is computed once per deployed version and every request starts from that
//! snapshot (DESIGN.md §9), so a handler, auth provider or cron job that changes it would lose
//! the change. This pass finds such changes, also through the functions they call.

use std::collections::{BTreeMap, BTreeSet};

use super::Problem;
use crate::span::Span;
use crate::tast::{Builtin, FnId, Place, Program, TBlock, TExpr, TExprKind, TStmt, visit};

#[derive(Default)]
struct Facts {
    /// (global index, where it is changed)
    mutations: Vec<(u32, Span)>,
    calls: BTreeSet<FnId>,
}

fn root_global(e: &TExpr) -> Option<u32> {
    match &e.kind {
        TExprKind::Global(g) => Some(g.0),
        TExprKind::Field { expr, .. } | TExprKind::Index { expr, .. } => root_global(expr),
        _ => None,
    }
}

fn place_global(p: &Place) -> Option<u32> {
    match p {
        Place::Global(g) => Some(g.0),
        Place::Local(_) => None,
        Place::Index { base, .. } | Place::Field { base, .. } => root_global(base),
    }
}

fn scan_expr(e: &TExpr, facts: &mut Facts) {
    match &e.kind {
        TExprKind::Block(b) => scan_block(b, facts),
        TExprKind::If { cond, then, otherwise } => {
            scan_expr(cond, facts);
            scan_block(then, facts);
            if let Some(o) = otherwise {
                scan_expr(o, facts);
            }
        }
        TExprKind::Call { func, .. } | TExprKind::Lambda { func, .. } | TExprKind::FnRef(func) => {
            facts.calls.insert(*func);
            visit::children(e, &mut |c| scan_expr(c, facts));
        }
        TExprKind::Builtin { builtin: Builtin::ListPush, args } => {
            if let Some(g) = args.first().and_then(root_global) {
                facts.mutations.push((g, e.span));
            }
            visit::children(e, &mut |c| scan_expr(c, facts));
        }
        _ => visit::children(e, &mut |c| scan_expr(c, facts)),
    }
}

fn scan_block(b: &TBlock, facts: &mut Facts) {
    for s in &b.stmts {
        match s {
            TStmt::Let { value, .. } | TStmt::LetPattern { value, .. } | TStmt::Expr(value) => scan_expr(value, facts),
            TStmt::Assign { place, value, span, .. } => {
                if let Some(g) = place_global(place) {
                    facts.mutations.push((g, *span));
                }
                visit::stmt_exprs(s, &mut |c| scan_expr(c, facts));
                let _ = value;
            }
            TStmt::While { cond, body } => {
                scan_expr(cond, facts);
                scan_block(body, facts);
            }
            TStmt::For { iter, body, .. } => {
                scan_expr(iter, facts);
                scan_block(body, facts);
            }
            TStmt::Loop { body } => scan_block(body, facts),
        }
    }
}

pub fn check_top_level_mutation(program: &Program, problems: &mut Vec<Problem>) {
    let facts: Vec<Facts> = program
        .functions
        .iter()
        .map(|f| {
            let mut facts = Facts::default();
            scan_expr(&f.body, &mut facts);
            facts
        })
        .collect();
    let mut entries: Vec<FnId> = program.routes.iter().map(|r| r.handler).collect();
    entries.extend(program.auth.as_ref().map(|a| a.func));
    entries.extend(program.crons.iter().map(|c| c.func));
    entries.extend(program.tests.iter().map(|t| t.func));
    let mut reported: BTreeMap<Span, ()> = BTreeMap::new();
    for entry in entries {
        let mut stack = vec![entry];
        let mut seen = BTreeSet::new();
        while let Some(f) = stack.pop() {
            if !seen.insert(f) {
                continue;
            }
            let Some(fact) = facts.get(f.0 as usize) else { continue };
            for (g, span) in &fact.mutations {
                if reported.insert(*span, ()).is_none() {
                    problems.push(Problem::MutatesTopLevel {
                        global: program.globals[*g as usize].name.clone(),
                        entry: program.functions[entry.0 as usize].name.clone(),
                        span: *span,
                    });
                }
            }
            stack.extend(fact.calls.iter().copied());
        }
    }
}
