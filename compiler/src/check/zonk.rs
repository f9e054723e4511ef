//! The last step: every type in the program with its variables solved. What nothing
//! constrained becomes `Null` (an empty list never filled can hold anything).

use super::Problem;
use super::infer::Unifier;
use crate::tast::{Program, TExpr, visit};

fn finish_expr(e: &mut TExpr, u: &Unifier) {
    e.ty = u.finish(&e.ty);
    visit::children_mut(e, &mut |c| finish_expr(c, u));
}

pub fn finish_program(program: &mut Program, u: &Unifier, _problems: &mut [Problem]) {
    for f in &mut program.functions {
        f.ret = u.finish(&f.ret);
        for l in &mut f.locals {
            l.ty = u.finish(&l.ty);
        }
        finish_expr(&mut f.body, u);
    }
    for g in &mut program.globals {
        g.ty = u.finish(&g.ty);
    }
    for r in &mut program.records {
        for f in &mut r.fields {
            f.ty = u.finish(&f.ty);
            if let Some(d) = &mut f.default {
                finish_expr(d, u);
            }
        }
    }
}
