//! Statements: bindings, assignment to every kind of place, and the loops.

use guest_abi::layout::{LIST_ITEMS, LIST_LEN, MAP_KEYS, MAP_LEN, MAP_VALUES};
use wasm_encoder::Instruction as I;

use super::expr::key_kind;
use super::{FnState, Lowerer, Rt, slot};
use crate::ast::BinOp;
use crate::ir::ValType;
use crate::tast::{ForBinding, Place, TBlock, TExpr, TExprKind, TStmt};
use crate::types::Type;

impl Lowerer<'_> {
    pub fn lower_stmt(&mut self, f: &mut FnState, s: &TStmt) {
        match s {
            TStmt::Let { local, value } => {
                self.lower_expr(f, value);
                if value.ty != Type::Never {
                    let l = f.local(*local);
                    f.b.set(l);
                }
            }
            TStmt::LetPattern { pattern, value, span } => {
                if value.ty == Type::Never {
                    self.lower_discard(f, value);
                    return;
                }
                let v = self.lower_to_local(f, value);
                let matched = f.b.block(None);
                let failed = f.b.block(None);
                self.emit_pattern(f, pattern, v, &value.ty, failed);
                f.b.br(matched);
                f.b.end();
                self.emit_fail(&mut f.b, "the value does not match the pattern of this `let`", *span);
                f.b.end();
            }
            TStmt::Assign { place, op, value, span } => self.lower_assign(f, place, *op, value, *span),
            TStmt::Expr(e) => self.lower_discard(f, e),
            TStmt::While { cond, body } => {
                let exit = f.b.block(None);
                let top = f.b.loop_(None);
                self.lower_expr(f, cond);
                f.b.i32_eqz().br_if(exit);
                f.loops.push((exit, top, None));
                self.lower_block(f, body, None);
                f.loops.pop();
                f.b.br(top);
                f.b.end();
                f.b.end();
            }
            TStmt::Loop { body } => {
                let exit = f.b.block(None);
                let top = f.b.loop_(None);
                f.loops.push((exit, top, None));
                self.lower_block(f, body, None);
                f.loops.pop();
                f.b.br(top);
                f.b.end();
                f.b.end();
            }
            TStmt::For { binding, iter, body } => self.lower_for(f, binding, iter, body),
        }
    }

    /// Applies a compound operator to `current` (on the stack) and the value.
    fn combine(&mut self, f: &mut FnState, op: BinOp, ty: &Type, value: &TExpr, span: crate::span::Span) {
        let current = f.temp(slot(ty));
        f.b.set(current);
        let lhs = TExpr { kind: TExprKind::Local(crate::tast::LocalId(u32::MAX)), ty: ty.clone(), span };
        // Lower `current op value` through the ordinary operator code, with the current value
        // standing in a local.
        f.pinned = Some(current);
        let e = TExpr { kind: TExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(value.clone()) }, ty: ty.clone(), span };
        self.lower_expr(f, &e);
        f.pinned = None;
    }

    fn lower_assign(&mut self, f: &mut FnState, place: &Place, op: Option<BinOp>, value: &TExpr, span: crate::span::Span) {
        match place {
            Place::Local(id) => {
                let l = f.local(*id);
                let ty = f.def.locals[id.0 as usize].ty.clone();
                match op {
                    None => self.lower_expr(f, value),
                    Some(op) => {
                        f.b.get(l);
                        self.combine(f, op, &ty, value, span);
                    }
                }
                if value.ty != Type::Never || op.is_some() {
                    f.b.set(l);
                }
            }
            Place::Global(g) => {
                let d = self.global_slot(*g);
                let ty = self.program.globals[g.0 as usize].ty.clone();
                f.b.data(d);
                match op {
                    None => self.lower_expr(f, value),
                    Some(op) => {
                        f.b.data(d).load_slot(slot(&ty), 0);
                        self.combine(f, op, &ty, value, span);
                    }
                }
                f.b.store_slot(slot(&ty), 0);
            }
            Place::Field { base, record, field } => {
                let (offsets, _) = self.record_layout(*record);
                let ty = self.program.records[record.0 as usize].fields[*field].ty.clone();
                let p = self.lower_to_local(f, base);
                f.b.get(p);
                match op {
                    None => self.lower_expr(f, value),
                    Some(op) => {
                        f.b.get(p).load_slot(slot(&ty), offsets[*field]);
                        self.combine(f, op, &ty, value, span);
                    }
                }
                f.b.store_slot(slot(&ty), offsets[*field]);
            }
            Place::Index { base, index } => match &base.ty {
                Type::List(item) => {
                    let k = slot(item);
                    let item = (**item).clone();
                    let l = self.lower_to_local(f, base);
                    let i = self.list_index(f, l, index);
                    let addr = f.temp(ValType::I32);
                    f.b.get(l).load32(LIST_ITEMS).get(i).w(I::I32WrapI64).i32(k.size() as i32).i32_mul().i32_add().tee(addr);
                    match op {
                        None => self.lower_expr(f, value),
                        Some(op) => {
                            f.b.get(addr).load_slot(k, 0);
                            self.combine(f, op, &item, value, span);
                        }
                    }
                    f.b.store_slot(k, 0);
                }
                Type::Map(kt, vt) => {
                    let (kt, vt) = ((**kt).clone(), (**vt).clone());
                    let insert = self.rt(Rt::MapInsert(key_kind(&kt), slot(&vt)));
                    let m = self.lower_to_local(f, base);
                    let key = self.lower_to_local(f, index);
                    f.b.get(m).get(key);
                    match op {
                        None => self.lower_expr(f, value),
                        Some(op) => {
                            let find = self.rt(Rt::MapFind(key_kind(&kt)));
                            let at = f.temp(ValType::I32);
                            f.b.get(m).get(key).call(find).tee(at).i32(0).w(I::I32LtS);
                            f.b.if_(None);
                            self.fail_with_value(f, "key not found", key, &kt, index.span);
                            f.b.end();
                            f.b.get(m).load32(MAP_VALUES).get(at).i32(slot(&vt).size() as i32).i32_mul().i32_add().load_slot(slot(&vt), 0);
                            self.combine(f, op, &vt, value, span);
                        }
                    }
                    f.b.call(insert);
                }
                _ => unreachable!("checked: assignment to an index of a list or map"),
            },
        }
    }

    fn lower_for(&mut self, f: &mut FnState, binding: &ForBinding, iter: &TExpr, body: &TBlock) {
        let exit = f.b.block(None);
        match &iter.ty {
            Type::Range => {
                let (i, end, inclusive) = (f.temp(ValType::I64), f.temp(ValType::I64), f.temp(ValType::I32));
                if let TExprKind::Range { start, end: e, inclusive: incl } = &iter.kind {
                    self.lower_expr(f, start);
                    f.b.set(i);
                    self.lower_expr(f, e);
                    f.b.set(end);
                    f.b.i32(i32::from(*incl)).set(inclusive);
                } else {
                    let r = self.lower_to_local(f, iter);
                    f.b.get(r).load64(0).set(i).get(r).load64(8).set(end).get(r).load32(16).set(inclusive);
                }
                let top = f.b.loop_(None);
                f.b.get(i).get(end).w(I::I64GtS).get(i).get(end).w(I::I64GeS).get(inclusive).select().br_if(exit);
                if let ForBinding::One(Some(id)) = binding {
                    let l = f.local(*id);
                    f.b.get(i).set(l);
                }
                let cont = f.b.block(None);
                f.loops.push((exit, cont, None));
                self.lower_block(f, body, None);
                f.loops.pop();
                f.b.end();
                // Stop after the last value instead of overflowing past i64::MAX.
                f.b.get(i).get(end).i64_eq().br_if(exit);
                f.b.get(i).i64(1).i64_add().set(i);
                f.b.br(top);
                f.b.end();
            }
            Type::List(item) => {
                let k = slot(item);
                let l = self.lower_to_local(f, iter);
                let i = f.counter();
                let top = f.b.loop_(None);
                f.b.get(i).get(l).load32(LIST_LEN).i32_ge_u().br_if(exit);
                if let ForBinding::One(Some(id)) = binding {
                    let v = f.local(*id);
                    f.b.get(l).load32(LIST_ITEMS).get(i).i32(k.size() as i32).i32_mul().i32_add().load_slot(k, 0).set(v);
                }
                let cont = f.b.block(None);
                f.loops.push((exit, cont, None));
                self.lower_block(f, body, None);
                f.loops.pop();
                f.b.end();
                f.b.inc(i, 1).br(top);
                f.b.end();
            }
            Type::Map(kt, vt) => {
                let (ks, vs) = (slot(kt), slot(vt));
                let m = self.lower_to_local(f, iter);
                let (i, n) = (f.counter(), f.temp(ValType::I32));
                // The entries at the start are visited, as upstream snapshots the map.
                f.b.get(m).load32(MAP_LEN).set(n);
                let top = f.b.loop_(None);
                f.b.get(i).get(n).i32_ge_u().br_if(exit);
                if let ForBinding::Pair(k, v) = binding {
                    if let Some(k) = k {
                        let l = f.local(*k);
                        f.b.get(m).load32(MAP_KEYS).get(i).i32(ks.size() as i32).i32_mul().i32_add().load_slot(ks, 0).set(l);
                    }
                    if let Some(v) = v {
                        let l = f.local(*v);
                        f.b.get(m).load32(MAP_VALUES).get(i).i32(vs.size() as i32).i32_mul().i32_add().load_slot(vs, 0).set(l);
                    }
                }
                let cont = f.b.block(None);
                f.loops.push((exit, cont, None));
                self.lower_block(f, body, None);
                f.loops.pop();
                f.b.end();
                f.b.inc(i, 1).br(top);
                f.b.end();
            }
            _ => unreachable!("checked: for over a range, list or map"),
        }
        f.b.end();
    }
}
