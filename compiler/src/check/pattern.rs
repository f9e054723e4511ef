//! `match`: patterns against the scrutinee's type, `null` refinement, and the one
//! exhaustiveness rule Fitz has: a match on a `Result` handles both `Ok` and `Err`.

use super::Checker;
use super::problem::{Expectation, Problem};
use crate::ast::{self, ExprKind, PatternKind};
use crate::tast::{TArm, TExpr, TExprKind, TPattern};
use crate::types::Type;

impl Checker {
    pub fn infer_match(&mut self, e: &ast::Expr, hint: Option<&Type>, used: bool) -> TExpr {
        let ExprKind::Match { scrutinee, arms } = &e.kind else { unreachable!() };
        let s = self.infer_expr(scrutinee, None);
        let sty = match self.unifier.shallow(&s.ty) {
            Type::Future(inner) => {
                let inner = self.res(&inner);
                self.report(Problem::MissingAwait { inner, span: s.span });
                Type::Error
            }
            t => t,
        };
        let mut out = Vec::with_capacity(arms.len());
        let mut null_seen = false;
        let mut all_covered = false;
        let mut paths = self.paths_start();
        for arm in arms {
            if all_covered {
                self.report(Problem::UnreachableArm { span: arm.pattern.span });
            }
            self.push_scope();
            let refine = null_seen;
            let reported = self.problems.len();
            let pattern = self.check_pattern(&arm.pattern, &sty, refine);
            // A pattern already reported as wrong does not make the arms after it unreachable.
            let pattern_ok = self.problems.len() == reported;
            let guard = arm.guard.as_ref().map(|g| self.check_expr(g, &Type::Bool, Expectation::Condition));
            let body_hint = if used { hint } else { None };
            let body = match &arm.body.kind {
                ExprKind::If { .. } if !used => self.infer_if(&arm.body, None, false),
                ExprKind::Match { .. } if !used => self.infer_match(&arm.body, None, false),
                _ => self.infer_expr(&arm.body, body_hint),
            };
            self.pop_scope();
            self.path_done(&mut paths, body.ty == Type::Never);
            if guard.is_none() {
                if matches!(arm.pattern.kind, PatternKind::Null) {
                    null_seen = true;
                }
                // A tuple pattern does not match `null`.
                let tuple_on_null = matches!(arm.pattern.kind, PatternKind::Tuple(_)) && matches!(sty, Type::Nullable(_));
                if covers_all(&arm.pattern) && !tuple_on_null && pattern_ok {
                    all_covered = true;
                }
            }
            out.push(TArm { pattern, guard, body });
        }
        let mut exhaustive = all_covered;
        if let Type::Result(..) = sty {
            let unguarded: Vec<&ast::Pattern> = arms.iter().filter(|a| a.guard.is_none()).map(|a| &a.pattern).collect();
            match missing_result_case(&unguarded) {
                Some(missing) => self.report(Problem::ResultMatchNotExhaustive { missing, span: scrutinee.span }),
                None => exhaustive = true,
            }
        }
        self.paths_end(paths, exhaustive);
        let ty = if !used {
            if out.iter().all(|a| a.body.ty == Type::Never) && !out.is_empty() { Type::Never } else { Type::Null }
        } else {
            let bodies: Vec<TExpr> = out.iter().map(|a| a.body.clone()).collect();
            let joined = self.join_all(&bodies, Expectation::MatchArm);
            let joined = if out.is_empty() { Type::Null } else { joined };
            for arm in &mut out {
                let span = arm.body.span;
                let body = std::mem::replace(&mut arm.body, Self::error_expr(span));
                arm.body = self.coerce(body, &joined, Expectation::MatchArm);
            }
            joined
        };
        TExpr { kind: TExprKind::Match { scrutinee: Box::new(s), arms: out }, ty, span: e.span }
    }

    /// Also `let (a, b) = value` and `for (a, b) in pairs`: the names are declared in the
    /// current scope.
    pub fn check_pattern(&mut self, p: &ast::Pattern, ty: &Type, refine_null: bool) -> TPattern {
        let ty = self.unifier.shallow(ty);
        let base = match &ty {
            Type::Nullable(inner) => (**inner).clone(),
            other => other.clone(),
        };
        let literal = |c: &mut Self, what: &'static str, want: Type, out: TPattern| -> TPattern {
            let base = c.unifier.shallow(&base);
            let fits = base == Type::Error || (want == Type::Int && base == Type::Float) || c.unifier.try_unify(&base, &want);
            if fits {
                out
            } else {
                let ty = c.res(&ty);
                c.report(Problem::PatternMismatch { pattern: what, ty, span: p.span });
                TPattern::Wildcard
            }
        };
        match &p.kind {
            PatternKind::Wildcard | PatternKind::Error => TPattern::Wildcard,
            PatternKind::Bind(name) => {
                let bound = if refine_null { base.clone() } else { ty.clone() };
                TPattern::Bind(self.declare_local(name, bound, p.span))
            }
            PatternKind::Int(v) => literal(self, "an integer", Type::Int, TPattern::Int(*v)),
            PatternKind::Float(v) => literal(self, "a number", Type::Float, TPattern::Float(*v)),
            PatternKind::Str(s) => literal(self, "a string", Type::Str, TPattern::Str(s.clone())),
            PatternKind::Bool(b) => literal(self, "a Bool", Type::Bool, TPattern::Bool(*b)),
            PatternKind::Range { start, end, inclusive } => literal(self, "a range", Type::Int, TPattern::Range { start: *start, end: *end, inclusive: *inclusive }),
            PatternKind::Null => {
                if matches!(ty, Type::Nullable(_) | Type::Null | Type::Error) {
                    TPattern::Null
                } else {
                    let ty = self.res(&ty);
                    self.report(Problem::PatternMismatch { pattern: "`null`", ty, span: p.span });
                    TPattern::Wildcard
                }
            }
            PatternKind::Ok(inner) | PatternKind::Err(inner) => {
                let is_ok = matches!(p.kind, PatternKind::Ok(_));
                let parts = match &ty {
                    Type::Result(t, e) => Some(((**t).clone(), (**e).clone())),
                    Type::Var(_) => {
                        let (t, e) = (self.unifier.fresh(), self.unifier.fresh());
                        self.unifier.unify(&ty, &Type::Result(Box::new(t.clone()), Box::new(e.clone())));
                        Some((t, e))
                    }
                    Type::Error => Some((Type::Error, Type::Error)),
                    _ => None,
                };
                match parts {
                    Some((t, e)) => {
                        let inner_ty = if is_ok { t } else { e };
                        let inner = Box::new(self.check_pattern(inner, &inner_ty, false));
                        if is_ok { TPattern::Ok(inner) } else { TPattern::Err(inner) }
                    }
                    None => {
                        let ty = self.res(&ty);
                        let what = if is_ok { "`Ok(…)`" } else { "`Err(…)`" };
                        self.report(Problem::PatternMismatch { pattern: what, ty, span: p.span });
                        TPattern::Wildcard
                    }
                }
            }
            PatternKind::Or(alts) => {
                let mut out = Vec::new();
                for a in alts {
                    if has_binding(a) {
                        self.report(Problem::BindingInOrPattern { span: a.span });
                    }
                    out.push(self.check_pattern(a, &ty, refine_null));
                }
                TPattern::Or(out)
            }
            PatternKind::Tuple(items) => {
                let parts = match &base {
                    Type::Tuple(ts) if ts.len() == items.len() => Some(ts.clone()),
                    Type::Tuple(ts) => {
                        let ty = self.res(&base);
                        self.report(Problem::TupleArity { found: items.len(), expected: ts.len(), ty, span: p.span });
                        None
                    }
                    Type::Var(_) => {
                        let ts: Vec<Type> = items.iter().map(|_| self.unifier.fresh()).collect();
                        self.unifier.unify(&base, &Type::Tuple(ts.clone()));
                        Some(ts)
                    }
                    Type::Error => None,
                    _ => {
                        let ty = self.res(&ty);
                        self.report(Problem::PatternMismatch { pattern: "a tuple", ty, span: p.span });
                        None
                    }
                };
                // Without the item types the names are still declared, so their uses are not
                // reported again as unknown.
                let parts = parts.unwrap_or_else(|| vec![Type::Error; items.len()]);
                TPattern::Tuple(items.iter().zip(&parts).map(|(i, t)| self.check_pattern(i, t, false)).collect())
            }
        }
    }
}

fn covers_all(p: &ast::Pattern) -> bool {
    match &p.kind {
        PatternKind::Wildcard | PatternKind::Bind(_) | PatternKind::Error => true,
        PatternKind::Or(alts) => alts.iter().any(covers_all),
        PatternKind::Tuple(items) => items.iter().all(covers_all),
        _ => false,
    }
}

/// A `Result` value no pattern matches, written as a pattern (`Err(_)`, `Ok(Err(_))`), or
/// `None` when the patterns cover every `Ok` and every `Err`, however deeply nested.
fn missing_result_case(patterns: &[&ast::Pattern]) -> Option<String> {
    if patterns.iter().any(|p| covers_all(p)) {
        return None;
    }
    let mut oks = Vec::new();
    let mut errs = Vec::new();
    for p in patterns {
        collect_ctor(p, &mut oks, &mut errs);
    }
    if let Some(m) = missing_inner(&oks) {
        return Some(format!("Ok({m})"));
    }
    missing_inner(&errs).map(|m| format!("Err({m})"))
}

/// What the inner patterns of one constructor leave out: nothing, `_`, or a nested case.
fn missing_inner(inner: &[&ast::Pattern]) -> Option<String> {
    if inner.is_empty() {
        return Some("_".into());
    }
    if inner.iter().any(|p| covers_all(p)) {
        return None;
    }
    let nested = inner.iter().any(|p| is_ctor(p));
    if nested {
        return missing_result_case(inner);
    }
    let has = |b: bool| inner.iter().any(|p| bool_matches(p, b));
    if has(true) && has(false) {
        return None;
    }
    Some("_".into())
}

fn is_ctor(p: &ast::Pattern) -> bool {
    match &p.kind {
        PatternKind::Ok(_) | PatternKind::Err(_) => true,
        PatternKind::Or(alts) => alts.iter().any(is_ctor),
        _ => false,
    }
}

fn bool_matches(p: &ast::Pattern, b: bool) -> bool {
    match &p.kind {
        PatternKind::Bool(v) => *v == b,
        PatternKind::Or(alts) => alts.iter().any(|a| bool_matches(a, b)),
        _ => false,
    }
}

fn collect_ctor<'a>(p: &'a ast::Pattern, oks: &mut Vec<&'a ast::Pattern>, errs: &mut Vec<&'a ast::Pattern>) {
    match &p.kind {
        PatternKind::Ok(inner) => oks.push(inner),
        PatternKind::Err(inner) => errs.push(inner),
        PatternKind::Or(alts) => alts.iter().for_each(|a| collect_ctor(a, oks, errs)),
        _ => {}
    }
}

fn has_binding(p: &ast::Pattern) -> bool {
    match &p.kind {
        PatternKind::Bind(_) => true,
        PatternKind::Ok(i) | PatternKind::Err(i) => has_binding(i),
        PatternKind::Or(a) | PatternKind::Tuple(a) => a.iter().any(has_binding),
        _ => false,
    }
}
