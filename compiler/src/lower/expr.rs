//! Expressions. `lower_expr` leaves exactly one value of the expression's slot type on the
//! stack (nothing for `Never`: control has left); `lower_discard` evaluates for effect only.

use guest_abi::exports::{OUTCOME_PAYLOAD, OUTCOME_SITE, SITE_RETURN};
use guest_abi::layout::{LIST_CAP, LIST_ITEMS, LIST_LEN, MAP_VALUES, RESULT_ERR, RESULT_PAYLOAD, RESULT_TAG};
use wasm_encoder::Instruction as I;

use super::runtime::KeyKind;
use super::{FnState, Local, Lowerer, Mode, Rt, boxed, slot};
use crate::ast::{BinOp, UnaryOp};
use crate::ir::{Sig, ValType};
use crate::tast::{Coercion, FnKind, TBlock, TExpr, TExprKind, TStmt, TStrPart, TryExit};
use crate::types::Type;

pub fn key_kind(ty: &Type) -> KeyKind {
    match ty {
        Type::Int | Type::DateTime | Type::Date => KeyKind::I64,
        Type::Float => KeyKind::F64,
        Type::Str | Type::Uuid | Type::Secret => KeyKind::Str,
        _ => KeyKind::I32,
    }
}

/// Pushes the zero value of a slot (what `null` looks like, and a filler after `unreachable`).
pub fn push_zero(b: &mut super::FnBuilder, k: ValType) {
    match k {
        ValType::I32 => b.i32(0),
        ValType::I64 => b.i64(0),
        ValType::F64 => b.f64(0.0),
    };
}

impl Lowerer<'_> {
    /// Lowers into a fresh local and returns it.
    pub fn lower_to_local(&mut self, f: &mut FnState, e: &TExpr) -> Local {
        let l = f.temp(slot(&e.ty));
        self.lower_expr(f, e);
        if e.ty == Type::Never {
            push_zero(&mut f.b, slot(&e.ty));
        }
        f.b.set(l);
        l
    }

    pub fn lower_discard(&mut self, f: &mut FnState, e: &TExpr) {
        match &e.kind {
            TExprKind::If { .. } => self.lower_if(f, e, false),
            TExprKind::Match { .. } => self.lower_match(f, e, false),
            TExprKind::Block(b) => self.lower_block(f, b, None),
            _ => {
                self.lower_expr(f, e);
                if e.ty != Type::Never {
                    f.b.drop_();
                }
            }
        }
    }

    /// Lowers a block; with `want`, the last expression statement is its value (or `null`).
    pub fn lower_block(&mut self, f: &mut FnState, b: &TBlock, want: Option<&Type>) {
        if let Some(range) = b.scoped {
            f.enter_scope(range);
            self.lower_block_stmts(f, b, want);
            f.exit_scope();
        } else {
            self.lower_block_stmts(f, b, want);
        }
    }

    fn lower_block_stmts(&mut self, f: &mut FnState, b: &TBlock, want: Option<&Type>) {
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            // A statement's temporaries die with it (its value, if any, is on the stack).
            f.enter_scope((0, 0));
            match (s, want) {
                (TStmt::Expr(e), Some(_)) if i + 1 == n => {
                    self.lower_expr(f, e);
                    f.exit_scope();
                    return;
                }
                _ => self.lower_stmt(f, s),
            }
            f.exit_scope();
        }
        if let Some(t) = want {
            push_zero(&mut f.b, slot(t));
        }
    }

    pub fn lower_expr(&mut self, f: &mut FnState, e: &TExpr) {
        match &e.kind {
            TExprKind::Int(v) => {
                f.b.i64(*v);
            }
            TExprKind::Float(v) => {
                f.b.f64(*v);
            }
            TExprKind::Bool(v) => {
                f.b.i32(i32::from(*v));
            }
            TExprKind::Null => {
                f.b.i32(0);
            }
            TExprKind::Str(s) => {
                let d = self.string(s);
                f.b.data(d);
            }
            TExprKind::Bytes(s) => {
                let d = self.byte_string(s);
                f.b.data(d);
            }
            TExprKind::Interp(parts) => self.lower_interp(f, parts),
            TExprKind::Local(id) => {
                let l = f.local(*id);
                f.b.get(l);
            }
            TExprKind::Global(g) => {
                let d = self.global_slot(*g);
                f.b.data(d).load_slot(slot(&e.ty), 0);
            }
            TExprKind::FnRef(id) => {
                let tramp = self.trampoline(*id);
                self.make_closure(f, tramp, None);
            }
            TExprKind::List(items) => self.lower_list(f, items, &e.ty),
            TExprKind::Map(entries) => self.lower_map(f, entries, &e.ty),
            TExprKind::Record { record, fields } => {
                let (offsets, size) = self.record_layout(*record);
                let alloc = self.rt(Rt::Alloc);
                let p = f.temp(ValType::I32);
                f.b.u32(size).call(alloc).set(p);
                for (field, off) in fields.iter().zip(offsets) {
                    f.b.get(p);
                    self.lower_expr(f, field);
                    f.b.store_slot(slot(&field.ty), off);
                }
                f.b.get(p);
            }
            TExprKind::Tuple(items) => {
                let tys: Vec<Type> = items.iter().map(|i| i.ty.clone()).collect();
                let (offsets, size) = self.tuple_layout(&tys);
                let alloc = self.rt(Rt::Alloc);
                let p = f.temp(ValType::I32);
                f.b.u32(size).call(alloc).set(p);
                for (item, off) in items.iter().zip(offsets) {
                    f.b.get(p);
                    self.lower_expr(f, item);
                    f.b.store_slot(slot(&item.ty), off);
                }
                f.b.get(p);
            }
            TExprKind::TupleField { expr, index } => {
                let Type::Tuple(tys) = &expr.ty else { unreachable!("checked: a tuple item of a tuple") };
                let (offsets, _) = self.tuple_layout(tys);
                self.lower_expr(f, expr);
                f.b.load_slot(slot(&e.ty), offsets[*index as usize]);
            }
            TExprKind::Unary { op, expr } => match (op, slot(&expr.ty)) {
                (UnaryOp::Neg, ValType::I64) => {
                    f.b.i64(0);
                    self.lower_expr(f, expr);
                    f.b.i64_sub();
                }
                (UnaryOp::Neg, _) => {
                    self.lower_expr(f, expr);
                    f.b.w(I::F64Neg);
                }
                (UnaryOp::Not, _) => {
                    self.lower_expr(f, expr);
                    f.b.i32_eqz();
                }
                (UnaryOp::BitNot, _) => {
                    self.lower_expr(f, expr);
                    f.b.i64(-1).w(I::I64Xor);
                }
            },
            TExprKind::Binary { op, lhs, rhs } => self.lower_binary(f, *op, lhs, rhs, e.span),
            TExprKind::Call { func, args } => {
                for a in args {
                    self.lower_expr(f, a);
                }
                let id = self.fn_id(*func);
                f.b.call(id);
                if self.mode_of(*func) == Mode::Entry {
                    self.unwrap_outcome(f, &e.ty, e.span);
                }
            }
            TExprKind::CallValue { callee, args } => {
                let c = self.lower_to_local(f, callee);
                let locals: Vec<Local> = args.iter().map(|a| self.lower_to_local(f, a)).collect();
                let sig = self.closure_sig(&callee.ty);
                f.b.get(c).load32(4);
                for l in locals {
                    f.b.get(l);
                }
                f.b.get(c).load32(0).call_indirect(sig);
            }
            TExprKind::Builtin { builtin, args } => self.lower_builtin(f, *builtin, args, e),
            TExprKind::Field { expr, record, field } => {
                let (offsets, _) = self.record_layout(*record);
                self.lower_expr(f, expr);
                f.b.load_slot(slot(&e.ty), offsets[*field]);
            }
            TExprKind::Index { expr, index } => self.lower_index(f, expr, index, e),
            TExprKind::Try { expr, exit } => self.lower_try(f, expr, *exit, e),
            TExprKind::Await(inner) => self.lower_expr(f, inner),
            TExprKind::Spawn { task, call, wait } => self.lower_spawn(f, *task, call, *wait, &e.ty),
            TExprKind::Lambda { func, captures } => {
                let id = self.fn_id(*func);
                let env = if captures.is_empty() {
                    None
                } else {
                    let alloc = self.rt(Rt::Alloc);
                    let env = f.temp(ValType::I32);
                    f.b.u32(8 * captures.len() as u32).call(alloc).set(env);
                    for (i, outer) in captures.iter().enumerate() {
                        let l = f.local(*outer);
                        let k = f.b.local_type(l);
                        f.b.get(env).get(l).store_slot(k, 8 * i as u32);
                    }
                    Some(env)
                };
                self.make_closure(f, id, env);
            }
            TExprKind::If { .. } => self.lower_if(f, e, true),
            TExprKind::Match { .. } => self.lower_match(f, e, true),
            TExprKind::Block(b) => {
                let want = if e.ty == Type::Never { None } else { Some(&e.ty) };
                let ty = slot(&e.ty);
                let blk = f.b.block(want.map(|_| ty));
                let _ = blk;
                self.lower_block(f, b, want);
                f.b.end();
                if e.ty == Type::Never {
                    f.b.unreachable();
                }
            }
            TExprKind::Range { start, end, inclusive } => {
                let alloc = self.rt(Rt::Alloc);
                let p = f.temp(ValType::I32);
                f.b.i32(24).call(alloc).set(p);
                f.b.get(p);
                self.lower_expr(f, start);
                f.b.store64(0).get(p);
                self.lower_expr(f, end);
                f.b.store64(8).get(p).i32(i32::from(*inclusive)).store32(16);
                f.b.get(p);
            }
            TExprKind::Return(value) => self.lower_return(f, value.as_deref()),
            TExprKind::ReturnStatus { status, body } => {
                let site = self.status_site(f, *status, &body.ty);
                let outcome = self.rt(Rt::OutcomeNew(slot(&body.ty)));
                f.b.u32(site);
                self.lower_expr(f, body);
                f.b.call(outcome).ret();
            }
            TExprKind::Break { depth, value } => {
                let (exit, _, result) = f.loops[f.loops.len() - 1 - *depth as usize];
                if let (Some(v), Some(r)) = (value, result) {
                    self.lower_expr(f, v);
                    f.b.set(r);
                }
                f.b.br(exit);
            }
            TExprKind::Continue { depth } => {
                let (_, cont, _) = f.loops[f.loops.len() - 1 - *depth as usize];
                f.b.br(cont);
            }
            TExprKind::Loop(body) => {
                // The value its `break`s leave in a local; a loop nothing leaves has none.
                let result = (e.ty != Type::Never).then(|| f.temp(slot(&e.ty)));
                let exit = f.b.block(None);
                let top = f.b.loop_(None);
                f.loops.push((exit, top, result));
                self.lower_block(f, body, None);
                f.loops.pop();
                f.b.br(top);
                f.b.end();
                f.b.end();
                match result {
                    Some(r) => {
                        f.b.get(r);
                    }
                    None => push_zero(&mut f.b, slot(&e.ty)),
                }
            }
            TExprKind::Coerce { expr, coercion } => {
                self.lower_expr(f, expr);
                match coercion {
                    Coercion::IntToFloat => {
                        f.b.w(I::F64ConvertI64S);
                    }
                    Coercion::ToNullable => {
                        if boxed(&expr.ty) {
                            let bx = self.rt(Rt::BoxNew(slot(&expr.ty)));
                            f.b.call(bx);
                        }
                    }
                    Coercion::ToAny => self.emit_to_any(f, &expr.ty),
                    Coercion::FromAny => self.emit_from_any(f, &e.ty, e.span),
                }
            }
            TExprKind::Query { record, query, db, params } => self.lower_query(f, *record, query, db, params),
            TExprKind::Error => {
                f.b.unreachable();
            }
        }
    }

    fn lower_interp(&mut self, f: &mut FnState, parts: &[TStrPart]) {
        let sb_new = self.rt(Rt::SbNew);
        let finish = self.rt(Rt::SbFinish);
        let push_str = self.rt(Rt::SbPushStr);
        let sb = f.temp(ValType::I32);
        f.b.call(sb_new).set(sb);
        for p in parts {
            match p {
                TStrPart::Text(s) => {
                    let d = self.string(s);
                    f.b.get(sb).data(d).call(push_str);
                }
                TStrPart::Value { expr, spec: None } => {
                    let v = self.lower_to_local(f, expr);
                    self.emit_display(&mut f.b, sb, v, &expr.ty, true);
                }
                TStrPart::Value { expr, spec: Some(spec) } => {
                    // The host lays the value out (`fmt`): numbers as themselves, anything else
                    // as the text it displays as.
                    let v = self.lower_to_local(f, expr);
                    let spec = self.string(spec);
                    f.b.get(sb);
                    match &expr.ty {
                        Type::Int => {
                            f.b.i32(0).get(v);
                        }
                        Type::Float => {
                            f.b.i32(1).get(v).w(I::I64ReinterpretF64);
                        }
                        Type::Str => {
                            f.b.i32(2).get(v).w(I::I64ExtendI32U);
                        }
                        ty => {
                            let text = f.temp(ValType::I32);
                            f.b.call(sb_new).set(text);
                            self.emit_display(&mut f.b, text, v, ty, true);
                            f.b.get(text).call(finish).set(text);
                            f.b.i32(2).get(text).w(I::I64ExtendI32U);
                        }
                    }
                    f.b.data(spec).call_import(guest_abi::imports::Import::Fmt).call(push_str);
                }
            }
        }
        f.b.get(sb).call(finish);
    }

    fn lower_list(&mut self, f: &mut FnState, items: &[TExpr], ty: &Type) {
        let Type::List(item) = ty else { unreachable!("list literal of list type") };
        let k = slot(item);
        let list_new = self.rt(Rt::ListNew);
        let l = f.temp(ValType::I32);
        f.b.u32(items.len() as u32).i32(k.size() as i32).call(list_new).set(l);
        for (i, it) in items.iter().enumerate() {
            f.b.get(l).load32(LIST_ITEMS);
            self.lower_expr(f, it);
            f.b.store_slot(k, i as u32 * k.size());
        }
        f.b.get(l).u32(items.len() as u32).store32(LIST_LEN);
        f.b.get(l);
        let _ = LIST_CAP;
    }

    fn lower_map(&mut self, f: &mut FnState, entries: &[(TExpr, TExpr)], ty: &Type) {
        let Type::Map(k, v) = ty else { unreachable!("map literal of map type") };
        let map_new = self.rt(Rt::MapNew);
        let insert = self.rt(Rt::MapInsert(key_kind(k), slot(v)));
        let m = f.temp(ValType::I32);
        f.b.u32(entries.len() as u32).i32(slot(k).size() as i32).i32(slot(v).size() as i32).call(map_new).set(m);
        for (key, value) in entries {
            f.b.get(m);
            self.lower_expr(f, key);
            self.lower_expr(f, value);
            f.b.call(insert);
        }
        f.b.get(m);
    }

    /// A closure object `{table slot, env}` for an IR function taking `env` first.
    fn make_closure(&mut self, f: &mut FnState, func: crate::ir::FuncId, env: Option<Local>) {
        let alloc = self.rt(Rt::Alloc);
        let c = f.temp(ValType::I32);
        f.b.i32(8).call(alloc).tee(c).table_slot(func).store32(0);
        f.b.get(c);
        match env {
            Some(e) => f.b.get(e),
            None => f.b.i32(0),
        };
        f.b.store32(4);
        f.b.get(c);
    }

    /// The signature of a closure of type `Fn(params) -> ret`: the environment first.
    pub fn closure_sig(&self, ty: &Type) -> Sig {
        let Type::Fn(params, ret) = ty else { unreachable!("closure of function type") };
        let mut ps = vec![ValType::I32];
        ps.extend(params.iter().map(slot));
        Sig { params: ps, results: vec![slot(ret)] }
    }

    /// Calls the closure in `c` with arguments already in locals.
    pub fn call_closure(&mut self, f: &mut FnState, c: Local, args: &[Local], ty: &Type) {
        let sig = self.closure_sig(ty);
        f.b.get(c).load32(4);
        for a in args {
            f.b.get(*a);
        }
        f.b.get(c).load32(0).call_indirect(sig);
    }

    /// A user function wrapped to be called as a closure (taking and ignoring `env`).
    fn trampoline(&mut self, id: crate::tast::FnId) -> crate::ir::FuncId {
        if let Some(&t) = self.trampolines.get(&id) {
            return t;
        }
        let t = self.reserve();
        self.trampolines.insert(id, t);
        let def = &self.program.functions[id.0 as usize];
        let params: Vec<ValType> = def.params.iter().map(|p| slot(&def.locals[p.0 as usize].ty)).collect();
        let (ret_ty, name) = (def.ret.clone(), format!("closure {}", def.name));
        let mut all = vec![ValType::I32];
        all.extend(params.iter().copied());
        let mut b = super::FnBuilder::new(name, all, vec![slot(&ret_ty)]);
        for i in 0..params.len() {
            b.get(b.param(i as u32 + 1));
        }
        let target = self.fn_id(id);
        b.call(target);
        if self.mode_of(id) == Mode::Entry {
            // A handler passed as a value: its payload, unless it answered with a status.
            let o = b.local(ValType::I32);
            b.set(o).get(o).load32(OUTCOME_SITE);
            b.if_(None);
            let msg = self.string("a handler's early response cannot be used as a value");
            let fail = self.rt(Rt::Fail);
            b.data(msg).i32(0).i32(0).i32(0).call(fail).unreachable();
            b.end();
            b.get(o).load_slot(slot(&ret_ty), OUTCOME_PAYLOAD);
        }
        self.define(t, b);
        t
    }

    /// After calling an entry function as a plain function: its payload, or a runtime error if
    /// it answered early with a status.
    fn unwrap_outcome(&mut self, f: &mut FnState, ty: &Type, span: crate::span::Span) {
        let o = f.temp(ValType::I32);
        f.b.set(o).get(o).load32(OUTCOME_SITE).u32(SITE_RETURN).i32_ne();
        f.b.if_(None);
        self.emit_fail(&mut f.b, "a handler's early response cannot be used as a value", span);
        f.b.end();
        f.b.get(o).load_slot(slot(ty), OUTCOME_PAYLOAD);
    }

    fn lower_binary(&mut self, f: &mut FnState, op: BinOp, lhs: &TExpr, rhs: &TExpr, span: crate::span::Span) {
        if matches!(op, BinOp::And | BinOp::Or) {
            self.lower_expr(f, lhs);
            f.b.if_(Some(ValType::I32));
            if op == BinOp::And {
                self.lower_expr(f, rhs);
                f.b.else_().i32(0);
            } else {
                f.b.i32(1).else_();
                self.lower_expr(f, rhs);
            }
            f.b.end();
            return;
        }
        if op == BinOp::Xor {
            self.lower_expr(f, lhs);
            self.lower_expr(f, rhs);
            f.b.w(I::I32Xor);
            return;
        }
        if matches!(op, BinOp::Eq | BinOp::NotEq) {
            // `x == null` compares the pointer.
            let null_side = match (&lhs.ty, &rhs.ty) {
                (Type::Null, Type::Null) => {
                    f.b.i32(i32::from(op == BinOp::Eq));
                    return;
                }
                (Type::Null, _) => Some(rhs),
                (_, Type::Null) => Some(lhs),
                _ => None,
            };
            if let Some(side) = null_side {
                self.lower_expr(f, side);
                f.b.i32_eqz();
                if op == BinOp::NotEq {
                    f.b.i32_eqz();
                }
                return;
            }
            let ty = lhs.ty.clone();
            let (a, b) = (self.lower_to_local(f, lhs), self.lower_to_local(f, rhs));
            self.emit_eq(&mut f.b, a, b, &ty);
            if op == BinOp::NotEq {
                f.b.i32_eqz();
            }
            return;
        }
        let ty = lhs.ty.clone();
        match (&ty, op) {
            (Type::Str, BinOp::Add) => {
                let concat = self.rt(Rt::StrConcat);
                self.lower_expr(f, lhs);
                self.lower_expr(f, rhs);
                f.b.call(concat);
            }
            (Type::Str | Type::Uuid, _) => {
                let cmp = self.rt(Rt::StrCmp);
                self.lower_expr(f, lhs);
                self.lower_expr(f, rhs);
                f.b.call(cmp).i32(0);
                f.b.w(match op {
                    BinOp::Lt => I::I32LtS,
                    BinOp::LtEq => I::I32LeS,
                    BinOp::Gt => I::I32GtS,
                    _ => I::I32GeS,
                });
            }
            (Type::Float, _) => {
                self.lower_expr(f, lhs);
                if op == BinOp::Div {
                    let d = self.lower_to_local(f, rhs);
                    f.b.get(d).f64(0.0).w(I::F64Eq);
                    f.b.if_(None);
                    self.emit_fail(&mut f.b, "division by zero", span);
                    f.b.end();
                    f.b.get(d).w(I::F64Div);
                    return;
                }
                self.lower_expr(f, rhs);
                f.b.w(match op {
                    BinOp::Add => I::F64Add,
                    BinOp::Sub => I::F64Sub,
                    BinOp::Mul => I::F64Mul,
                    BinOp::Lt => I::F64Lt,
                    BinOp::LtEq => I::F64Le,
                    BinOp::Gt => I::F64Gt,
                    BinOp::GtEq => I::F64Ge,
                    _ => unreachable!("checked: {op:?} on Float"),
                });
            }
            _ => {
                // Int and DateTime: wrapping + - *, checked / and euclidean %.
                match op {
                    BinOp::Div | BinOp::Rem => {
                        let (a, d) = (self.lower_to_local(f, lhs), self.lower_to_local(f, rhs));
                        f.b.get(d).i64_eqz();
                        f.b.if_(None);
                        self.emit_fail(&mut f.b, "division by zero", span);
                        f.b.end();
                        if op == BinOp::Div {
                            f.b.get(a).i64(i64::MIN).i64_eq().get(d).i64(-1).i64_eq().w(I::I32And);
                            f.b.if_(None);
                            self.emit_fail(&mut f.b, "integer overflow", span);
                            f.b.end();
                            f.b.get(a).get(d).w(I::I64DivS);
                        } else {
                            // r = a rem b; if r < 0 { r += |b| }
                            let r = f.temp(ValType::I64);
                            f.b.get(a).get(d).w(I::I64RemS).tee(r).i64(0).w(I::I64LtS);
                            f.b.if_(Some(ValType::I64));
                            // |d| = d < 0 ? -d : d
                            f.b.get(r).i64(0).get(d).i64_sub().get(d).get(d).i64(0).w(I::I64LtS).select().i64_add();
                            f.b.else_().get(r);
                            f.b.end();
                        }
                    }
                    BinOp::Shl | BinOp::Shr => {
                        // A shift by less than 0 or 64 or more is an error, as upstream's, not
                        // wasm's shift by the amount modulo 64.
                        let (a, n) = (self.lower_to_local(f, lhs), self.lower_to_local(f, rhs));
                        f.b.get(n).i64(0).w(I::I64LtS).get(n).i64(63).w(I::I64GtS).w(I::I32Or);
                        f.b.if_(None);
                        self.emit_fail(&mut f.b, "shift amount out of range (0 to 63)", span);
                        f.b.end();
                        f.b.get(a).get(n).w(if op == BinOp::Shl { I::I64Shl } else { I::I64ShrS });
                    }
                    _ => {
                        self.lower_expr(f, lhs);
                        self.lower_expr(f, rhs);
                        f.b.w(match op {
                            BinOp::BitAnd => I::I64And,
                            BinOp::BitOr => I::I64Or,
                            BinOp::BitXor => I::I64Xor,
                            BinOp::Add => I::I64Add,
                            BinOp::Sub => I::I64Sub,
                            BinOp::Mul => I::I64Mul,
                            BinOp::Lt => I::I64LtS,
                            BinOp::LtEq => I::I64LeS,
                            BinOp::Gt => I::I64GtS,
                            BinOp::GtEq => I::I64GeS,
                            _ => unreachable!("checked: {op:?} on Int"),
                        });
                    }
                }
            }
        }
    }

    fn lower_index(&mut self, f: &mut FnState, base: &TExpr, index: &TExpr, e: &TExpr) {
        match &base.ty {
            Type::List(item) => {
                let k = slot(item);
                let l = self.lower_to_local(f, base);
                let i = self.list_index(f, l, index);
                f.b.get(l).load32(LIST_ITEMS).get(i).w(I::I32WrapI64).i32(k.size() as i32).i32_mul().i32_add().load_slot(k, 0);
            }
            Type::Map(k, v) => {
                let find = self.rt(Rt::MapFind(key_kind(k)));
                let m = self.lower_to_local(f, base);
                let key = self.lower_to_local(f, index);
                let at = f.temp(ValType::I32);
                f.b.get(m).get(key).call(find).tee(at).i32(0).w(I::I32LtS);
                f.b.if_(None);
                self.fail_with_value(f, "key not found", key, k, index.span);
                f.b.end();
                f.b.get(m).load32(MAP_VALUES).get(at).i32(slot(v).size() as i32).i32_mul().i32_add().load_slot(slot(v), 0);
            }
            _ => {
                let (char_at, count) = (self.rt(Rt::StrCharAt), self.rt(Rt::StrCharCount));
                let c = f.temp(ValType::I32);
                let s = self.lower_to_local(f, base);
                let i = self.lower_to_local(f, index);
                // A negative index counts from the end, as upstream's (and Python's).
                f.b.get(i).i64(0).w(I::I64LtS);
                f.b.if_(None);
                f.b.get(i).get(s).call(count).i64_add().set(i);
                f.b.end();
                f.b.get(s).get(i).call(char_at).tee(c).i32_eqz();
                f.b.if_(None);
                self.emit_fail(&mut f.b, "index out of range", index.span);
                f.b.end();
                f.b.get(c);
            }
        }
        let _ = e;
    }

    /// The position `index` names in list `l`, a negative one counting from the end (`-1` the
    /// last), checked to be in range: a local of the `I64` index.
    pub fn list_index(&mut self, f: &mut FnState, l: Local, index: &TExpr) -> Local {
        let i = self.lower_to_local(f, index);
        f.b.get(i).i64(0).w(I::I64LtS);
        f.b.if_(None);
        f.b.get(i).get(l).load32(LIST_LEN).w(I::I64ExtendI32U).i64_add().set(i);
        f.b.end();
        f.b.get(i).i64(0).w(I::I64LtS).get(i).get(l).load32(LIST_LEN).w(I::I64ExtendI32U).w(I::I64GeS).w(I::I32Or);
        f.b.if_(None);
        self.emit_fail(&mut f.b, "index out of range", index.span);
        f.b.end();
        i
    }

    /// A runtime error whose detail is the display of a value (`key not found: "bob"`).
    pub fn fail_with_value(&mut self, f: &mut FnState, message: &str, v: Local, ty: &Type, span: crate::span::Span) {
        let sb_new = self.rt(Rt::SbNew);
        let finish = self.rt(Rt::SbFinish);
        let fail = self.rt(Rt::Fail);
        let sb = f.temp(ValType::I32);
        f.b.call(sb_new).set(sb);
        self.emit_display(&mut f.b, sb, v, ty, false);
        let (line, col) = self.line_col(span);
        let msg = self.string(message);
        f.b.data(msg).i32(line).i32(col).get(sb).call(finish).call(fail).unreachable();
    }

    fn lower_try(&mut self, f: &mut FnState, inner: &TExpr, exit: TryExit, e: &TExpr) {
        let Type::Result(_, err) = &inner.ty else { unreachable!("? on a Result") };
        let r = self.lower_to_local(f, inner);
        f.b.get(r).load32(RESULT_TAG).u32(RESULT_ERR).i32_eq();
        f.b.if_(None);
        match (exit, f.mode) {
            (TryExit::Return, Mode::Plain) => {
                // An Err has the same layout whatever the Ok type: pass it on as it is.
                f.b.get(r).ret();
            }
            (TryExit::Return, Mode::Entry) => {
                let outcome = self.rt(Rt::OutcomeNew(ValType::I32));
                f.b.u32(SITE_RETURN).get(r).call(outcome).ret();
            }
            (TryExit::Respond500, _) | (TryExit::Abort, Mode::Entry) => {
                let msg = f.temp(slot(err));
                f.b.get(r).load_slot(slot(err), RESULT_PAYLOAD).set(msg);
                let text = self.display_to_str(f, msg, err, true);
                let outcome = self.rt(Rt::OutcomeNew(ValType::I32));
                f.b.u32(guest_abi::exports::SITE_ERROR).get(text).call(outcome).ret();
            }
            (_, _) => {
                // The top level: the program stops with the error.
                let msg = f.temp(slot(err));
                f.b.get(r).load_slot(slot(err), RESULT_PAYLOAD).set(msg);
                let sb_new = self.rt(Rt::SbNew);
                let finish = self.rt(Rt::SbFinish);
                let fail = self.rt(Rt::Fail);
                let sb = f.temp(ValType::I32);
                f.b.call(sb_new).set(sb);
                self.emit_display(&mut f.b, sb, msg, err, true);
                let (line, col) = self.line_col(e.span);
                let m = self.string("`?` found an Err");
                f.b.data(m).i32(line).i32(col).get(sb).call(finish).call(fail).unreachable();
            }
        }
        f.b.end();
        f.b.get(r).load_slot(slot(&e.ty), RESULT_PAYLOAD);
    }

    /// A `Str` local holding the display of a value.
    pub fn display_to_str(&mut self, f: &mut FnState, v: Local, ty: &Type, top: bool) -> Local {
        if matches!(ty, Type::Str) && top {
            return v;
        }
        let sb_new = self.rt(Rt::SbNew);
        let finish = self.rt(Rt::SbFinish);
        let sb = f.temp(ValType::I32);
        f.b.call(sb_new).set(sb);
        self.emit_display(&mut f.b, sb, v, ty, top);
        let out = f.temp(ValType::I32);
        f.b.get(sb).call(finish).set(out);
        out
    }

    fn lower_return(&mut self, f: &mut FnState, value: Option<&TExpr>) {
        let ret = f.def.ret.clone();
        match f.mode {
            Mode::Main => {
                f.b.ret();
            }
            Mode::Plain => {
                match value {
                    Some(v) => self.lower_expr(f, v),
                    None => push_zero(&mut f.b, slot(&ret)),
                }
                f.b.ret();
            }
            Mode::Entry => {
                let outcome = self.rt(Rt::OutcomeNew(slot(&ret)));
                f.b.u32(SITE_RETURN);
                match value {
                    Some(v) => self.lower_expr(f, v),
                    None => push_zero(&mut f.b, slot(&ret)),
                }
                f.b.call(outcome).ret();
            }
        }
        let _ = FnKind::User;
    }

    fn lower_if(&mut self, f: &mut FnState, e: &TExpr, used: bool) {
        let TExprKind::If { cond, then, otherwise } = &e.kind else { unreachable!() };
        let value = used && e.ty != Type::Never;
        self.lower_expr(f, cond);
        f.b.if_(if value { Some(slot(&e.ty)) } else { None });
        self.lower_block(f, then, if value { Some(&e.ty) } else { None });
        f.b.else_();
        match otherwise {
            Some(o) if value => self.lower_expr(f, o),
            Some(o) => self.lower_discard(f, o),
            None if value => push_zero(&mut f.b, slot(&e.ty)),
            None => {}
        }
        f.b.end();
        if used && e.ty == Type::Never {
            f.b.unreachable();
        }
    }

    fn lower_query(&mut self, f: &mut FnState, record: crate::types::RecordId, query: &guest_abi::query::Query, db: &TExpr, params: &[TExpr]) {
        let index = self.register_query(record, query, params);
        let kinds: Vec<guest_abi::types::ValueType> = params.iter().map(|p| self.value_type(&p.ty)).collect();
        let (offsets, size) = guest_abi::layout::record_layout(&kinds);
        let alloc = self.rt(Rt::Alloc);
        let block = f.temp(ValType::I32);
        f.b.u32(size).call(alloc).set(block);
        for (p, off) in params.iter().zip(offsets) {
            f.b.get(block);
            self.lower_expr(f, p);
            f.b.store_slot(slot(&p.ty), off);
        }
        self.lower_expr(f, db);
        f.b.u32(index).get(block).call_import(guest_abi::imports::Import::DbQuery);
    }

    /// `spawn(f(args))`: the arguments the task takes as values go in a block laid out as a
    /// record of them (the host reads it with the manifest's types); a `DbConn` is the host's
    /// to give. Waiting, the host hands back a cell holding the task's value.
    fn lower_spawn(&mut self, f: &mut FnState, task: u32, call: &TExpr, wait: bool, ty: &Type) {
        let TExprKind::Call { args, .. } = &call.kind else { unreachable!("checked: spawn holds a call") };
        let values: Vec<&TExpr> = args.iter().filter(|a| a.ty != Type::DbConn).collect();
        let kinds: Vec<guest_abi::types::ValueType> = values.iter().map(|a| self.value_type(&a.ty)).collect();
        let (offsets, size) = guest_abi::layout::record_layout(&kinds);
        let alloc = self.rt(Rt::Alloc);
        let block = f.temp(ValType::I32);
        f.b.u32(size.max(8)).call(alloc).set(block);
        for (a, off) in values.iter().zip(offsets) {
            f.b.get(block);
            self.lower_expr(f, a);
            f.b.store_slot(slot(&a.ty), off);
        }
        f.b.u32(task).get(block).i32(i32::from(wait)).call_import(guest_abi::imports::Import::Spawn);
        if wait {
            f.b.load_slot(slot(ty), 0);
        } else {
            f.b.drop_();
            push_zero(&mut f.b, slot(ty));
        }
    }

    /// Whether `e` needs a `MAP_VALUES` offset constant (kept for layout-only users).
    pub fn list_item_addr(&mut self, f: &mut FnState, list: Local, index: Local, k: ValType) {
        f.b.get(list).load32(LIST_ITEMS).get(index).i32(k.size() as i32).i32_mul().i32_add();
    }
}
