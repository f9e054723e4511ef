//! Walking the typed tree: every child expression of an expression, statement or block.

use super::{Place, TBlock, TExpr, TExprKind, TStmt, TStrPart};

pub fn block_exprs<'a>(b: &'a TBlock, f: &mut dyn FnMut(&'a TExpr)) {
    for s in &b.stmts {
        stmt_exprs(s, f);
    }
}

pub fn stmt_exprs<'a>(s: &'a TStmt, f: &mut dyn FnMut(&'a TExpr)) {
    match s {
        TStmt::Let { value, .. } | TStmt::LetPattern { value, .. } | TStmt::Expr(value) => f(value),
        TStmt::Assign { place, value, .. } => {
            place_exprs(place, f);
            f(value);
        }
        TStmt::While { cond, body } => {
            f(cond);
            block_exprs(body, f);
        }
        TStmt::For { iter, body, .. } => {
            f(iter);
            block_exprs(body, f);
        }
        TStmt::Loop { body } => block_exprs(body, f),
    }
}

fn place_exprs<'a>(p: &'a Place, f: &mut dyn FnMut(&'a TExpr)) {
    match p {
        Place::Local(_) | Place::Global(_) => {}
        Place::Index { base, index } => {
            f(base);
            f(index);
        }
        Place::Field { base, .. } => f(base),
    }
}

/// Calls `f` on each direct child expression.
pub fn children<'a>(e: &'a TExpr, f: &mut dyn FnMut(&'a TExpr)) {
    use TExprKind::*;
    match &e.kind {
        Int(_) | Float(_) | Bytes(_) | Bool(_) | Null | Str(_) | Local(_) | Global(_) | FnRef(_) | Lambda { .. } | Break { value: None, .. } | Continue { .. } | Error => {}
        Break { value: Some(v), .. } => f(v),
        Interp(parts) => {
            for p in parts {
                if let TStrPart::Value { expr, .. } = p {
                    f(expr);
                }
            }
        }
        List(items) | Tuple(items) => items.iter().for_each(f),
        Map(entries) => {
            for (k, v) in entries {
                f(k);
                f(v);
            }
        }
        Record { fields, .. } => fields.iter().for_each(f),
        Unary { expr, .. } | Field { expr, .. } | TupleField { expr, .. } | Try { expr, .. } | Await(expr) | Coerce { expr, .. } | Spawn { call: expr, .. } => f(expr),
        Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        Call { args, .. } | Builtin { args, .. } => args.iter().for_each(f),
        CallValue { callee, args } => {
            f(callee);
            args.iter().for_each(f);
        }
        Index { expr, index } => {
            f(expr);
            f(index);
        }
        If { cond, then, otherwise } => {
            f(cond);
            block_exprs(then, f);
            if let Some(o) = otherwise {
                f(o);
            }
        }
        Match { scrutinee, arms } => {
            f(scrutinee);
            for a in arms {
                if let Some(g) = &a.guard {
                    f(g);
                }
                f(&a.body);
            }
        }
        Block(b) | Loop(b) => block_exprs(b, f),
        Range { start, end, .. } => {
            f(start);
            f(end);
        }
        Return(v) => {
            if let Some(v) = v {
                f(v);
            }
        }
        ReturnStatus { body, .. } => f(body),
        Query { db, params, .. } => {
            f(db);
            params.iter().for_each(f);
        }
    }
}

pub fn block_exprs_mut(b: &mut TBlock, f: &mut dyn FnMut(&mut TExpr)) {
    for s in &mut b.stmts {
        stmt_exprs_mut(s, f);
    }
}

pub fn stmt_exprs_mut(s: &mut TStmt, f: &mut dyn FnMut(&mut TExpr)) {
    match s {
        TStmt::Let { value, .. } | TStmt::LetPattern { value, .. } | TStmt::Expr(value) => f(value),
        TStmt::Assign { place, value, .. } => {
            match place {
                Place::Local(_) | Place::Global(_) => {}
                Place::Index { base, index } => {
                    f(base);
                    f(index);
                }
                Place::Field { base, .. } => f(base),
            }
            f(value);
        }
        TStmt::While { cond, body } => {
            f(cond);
            block_exprs_mut(body, f);
        }
        TStmt::For { iter, body, .. } => {
            f(iter);
            block_exprs_mut(body, f);
        }
        TStmt::Loop { body } => block_exprs_mut(body, f),
    }
}

pub fn children_mut(e: &mut TExpr, f: &mut dyn FnMut(&mut TExpr)) {
    use TExprKind::*;
    match &mut e.kind {
        Int(_) | Float(_) | Bytes(_) | Bool(_) | Null | Str(_) | Local(_) | Global(_) | FnRef(_) | Lambda { .. } | Break { value: None, .. } | Continue { .. } | Error => {}
        Break { value: Some(v), .. } => f(v),
        Interp(parts) => {
            for p in parts {
                if let TStrPart::Value { expr, .. } = p {
                    f(expr);
                }
            }
        }
        List(items) | Tuple(items) => items.iter_mut().for_each(f),
        Map(entries) => {
            for (k, v) in entries {
                f(k);
                f(v);
            }
        }
        Record { fields, .. } => fields.iter_mut().for_each(f),
        Unary { expr, .. } | Field { expr, .. } | TupleField { expr, .. } | Try { expr, .. } | Await(expr) | Coerce { expr, .. } | Spawn { call: expr, .. } => f(expr),
        Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        Call { args, .. } | Builtin { args, .. } => args.iter_mut().for_each(f),
        CallValue { callee, args } => {
            f(callee);
            args.iter_mut().for_each(f);
        }
        Index { expr, index } => {
            f(expr);
            f(index);
        }
        If { cond, then, otherwise } => {
            f(cond);
            block_exprs_mut(then, f);
            if let Some(o) = otherwise {
                f(o);
            }
        }
        Match { scrutinee, arms } => {
            f(scrutinee);
            for a in arms {
                if let Some(g) = &mut a.guard {
                    f(g);
                }
                f(&mut a.body);
            }
        }
        Block(b) | Loop(b) => block_exprs_mut(b, f),
        Range { start, end, .. } => {
            f(start);
            f(end);
        }
        Return(v) => {
            if let Some(v) = v {
                f(v);
            }
        }
        ReturnStatus { body, .. } => f(body),
        Query { db, params, .. } => {
            f(db);
            params.iter_mut().for_each(f);
        }
    }
}
