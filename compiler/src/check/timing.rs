//! A login handler that answers 401 for an unknown user before it verifies a password answers
//! that user faster than a wrong password, so a client can tell which accounts exist by the
//! clock. `hash.verify(password, null)` costs what a real check costs; this pass warns where a
//! handler answers 401 on what a database lookup found before its first `hash.verify`.

use super::Problem;
use crate::span::Span;
use crate::tast::{Builtin, Program, TExpr, TExprKind, visit};

fn walk<'a>(e: &'a TExpr, found: &mut dyn FnMut(&'a TExpr)) {
    found(e);
    visit::children(e, &mut |c| walk(c, found));
}

fn contains(e: &TExpr, test: &dyn Fn(&TExpr) -> bool) -> bool {
    let mut found = false;
    walk(e, &mut |c| found |= test(c));
    found
}

pub fn check_login_timing(program: &Program, problems: &mut Vec<Problem>) {
    for route in &program.routes {
        let Some(f) = program.functions.get(route.handler.0 as usize) else { continue };
        let mut verify: Option<Span> = None;
        let mut refusals: Vec<Span> = Vec::new();
        walk(&f.body, &mut |e| match &e.kind {
            TExprKind::Builtin { builtin: Builtin::HashVerify, .. } if verify.is_none_or(|v| e.span.start < v.start) => {
                verify = Some(e.span);
            }
            // A 401 decided by what a database lookup found: the account's existence.
            TExprKind::Match { scrutinee, arms } if contains(scrutinee, &|e| matches!(e.kind, TExprKind::Query { .. })) => {
                for arm in arms {
                    walk(&arm.body, &mut |e| {
                        if matches!(e.kind, TExprKind::ReturnStatus { status: 401, .. }) {
                            refusals.push(e.span);
                        }
                    });
                }
            }
            _ => {}
        });
        let Some(verify) = verify else { continue };
        for span in refusals.into_iter().filter(|r| r.start < verify.start) {
            problems.push(Problem::RefusesBeforeVerify { span, verify });
        }
    }
}
