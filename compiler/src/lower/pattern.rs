//! `match`: arms are tried in order; a pattern test branches to the next arm when it fails,
//! binding names as it goes. No arm matching is a runtime error.

use guest_abi::layout::{RESULT_ERR, RESULT_OK, RESULT_PAYLOAD, RESULT_TAG};
use wasm_encoder::Instruction as I;

use super::expr::push_zero;
use super::{FnState, Label, Local, Lowerer, Rt, boxed, slot};
use crate::ir::ValType;
use crate::tast::{TExpr, TExprKind, TPattern};
use crate::types::Type;

impl Lowerer<'_> {
    pub fn lower_match(&mut self, f: &mut FnState, e: &TExpr, used: bool) {
        let TExprKind::Match { scrutinee, arms } = &e.kind else { unreachable!() };
        let value = used && e.ty != Type::Never;
        let s = self.lower_to_local(f, scrutinee);
        let done = f.b.block(if value { Some(slot(&e.ty)) } else { None });
        for arm in arms {
            let next = f.b.block(None);
            self.emit_pattern(f, &arm.pattern, s, &scrutinee.ty, next);
            if let Some(g) = &arm.guard {
                self.lower_expr(f, g);
                f.b.i32_eqz().br_if(next);
            }
            if value {
                self.lower_expr(f, &arm.body);
            } else {
                self.lower_discard(f, &arm.body);
            }
            if arm.body.ty != Type::Never || !value {
                f.b.br(done);
            }
            f.b.end();
        }
        self.emit_fail(&mut f.b, "no match arm matched the value", scrutinee.span);
        if value {
            push_zero(&mut f.b, slot(&e.ty));
        }
        f.b.end();
        if used && e.ty == Type::Never {
            f.b.unreachable();
        }
    }

    /// Tests `v` (of type `ty`) against the pattern, branching to `fail` when it does not match.
    pub(super) fn emit_pattern(&mut self, f: &mut FnState, p: &TPattern, v: Local, ty: &Type, fail: Label) {
        // Literal patterns on a nullable value: not null, then the boxed value.
        let (v, ty) = match (p, ty) {
            (
                TPattern::Int(_) | TPattern::Float(_) | TPattern::Str(_) | TPattern::Bool(_) | TPattern::Range { .. } | TPattern::Ok(_) | TPattern::Err(_) | TPattern::Tuple(_),
                Type::Nullable(inner),
            ) => {
                f.b.get(v).i32_eqz().br_if(fail);
                if boxed(inner) {
                    let u = f.temp(slot(inner));
                    f.b.get(v).load_slot(slot(inner), 0).set(u);
                    (u, (**inner).clone())
                } else {
                    (v, (**inner).clone())
                }
            }
            _ => (v, ty.clone()),
        };
        match p {
            TPattern::Wildcard => {}
            TPattern::Bind(id) => {
                let l = f.local(*id);
                let bound = f.def.locals[id.0 as usize].ty.clone();
                match (&ty, &bound) {
                    // `null => …` came first: the name holds the value itself.
                    (Type::Nullable(inner), b) if !matches!(b, Type::Nullable(_)) && boxed(inner) => {
                        f.b.get(v).load_slot(slot(inner), 0).set(l);
                    }
                    _ => {
                        f.b.get(v).set(l);
                    }
                }
            }
            TPattern::Int(n) => {
                if ty == Type::Float {
                    f.b.get(v).f64(*n as f64).w(I::F64Ne).br_if(fail);
                } else {
                    f.b.get(v).i64(*n).w(I::I64Ne).br_if(fail);
                }
            }
            TPattern::Float(x) => {
                f.b.get(v).f64(*x).w(I::F64Ne).br_if(fail);
            }
            TPattern::Bool(b) => {
                f.b.get(v).i32(i32::from(*b)).i32_ne().br_if(fail);
            }
            TPattern::Str(s) => {
                let d = self.string(s);
                let eq = self.rt(Rt::StrEq);
                f.b.get(v).data(d).call(eq).i32_eqz().br_if(fail);
            }
            TPattern::Null => {
                f.b.get(v).i32(0).i32_ne().br_if(fail);
            }
            TPattern::Range { start, end, inclusive } => {
                f.b.get(v).i64(*start).w(I::I64LtS).br_if(fail);
                f.b.get(v).i64(*end).w(if *inclusive { I::I64GtS } else { I::I64GeS }).br_if(fail);
            }
            TPattern::Ok(inner) | TPattern::Err(inner) => {
                let Type::Result(ok, err) = &ty else { unreachable!("checked: Ok/Err on a Result") };
                let is_ok = matches!(p, TPattern::Ok(_));
                let payload_ty = if is_ok { (**ok).clone() } else { (**err).clone() };
                f.b.get(v).load32(RESULT_TAG).u32(if is_ok { RESULT_OK } else { RESULT_ERR }).i32_ne().br_if(fail);
                let u = f.temp(slot(&payload_ty));
                f.b.get(v).load_slot(slot(&payload_ty), RESULT_PAYLOAD).set(u);
                self.emit_pattern(f, inner, u, &payload_ty, fail);
            }
            TPattern::Tuple(items) => {
                let Type::Tuple(tys) = &ty else { unreachable!("checked: a tuple pattern on a tuple") };
                let (offsets, _) = self.tuple_layout(tys);
                for ((item, ity), off) in items.iter().zip(tys).zip(offsets) {
                    if matches!(item, TPattern::Wildcard) {
                        continue;
                    }
                    let u = f.temp(slot(ity));
                    f.b.get(v).load_slot(slot(ity), off).set(u);
                    self.emit_pattern(f, item, u, ity, fail);
                }
            }
            TPattern::Or(alts) => {
                let matched = f.b.block(None);
                for alt in alts {
                    let next = f.b.block(None);
                    self.emit_pattern(f, alt, v, &ty, next);
                    f.b.br(matched);
                    f.b.end();
                }
                f.b.br(fail);
                f.b.end();
            }
        }
        let _: Option<ValType> = None;
    }
}
