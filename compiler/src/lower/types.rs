//! Per-type code: how a value of each type is displayed (`print`, interpolation) and compared
//! with `==`. Scalars are handled inline; composite types get one generated function each.

use guest_abi::layout::{LIST_ITEMS, LIST_LEN, MAP_KEYS, MAP_LEN, MAP_VALUES, RESULT_PAYLOAD, RESULT_TAG, STR_BYTES};
use wasm_encoder::Instruction as I;

use super::{FnBuilder, Local, Lowerer, Rt, boxed, slot};
use crate::ir::{FuncId, ValType};
use crate::types::Type;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Helper {
    /// Display inside a collection: strings quoted.
    DisplayInline,
    Eq,
}

impl Lowerer<'_> {
    fn push_text(&mut self, b: &mut FnBuilder, sb: Local, text: &str) {
        if text.len() == 1 {
            let byte = self.rt(Rt::SbPushByte);
            b.get(sb).i32(i32::from(text.as_bytes()[0])).call(byte);
        } else {
            let s = self.string(text);
            let push = self.rt(Rt::SbPushStr);
            b.get(sb).data(s).call(push);
        }
    }

    /// Appends the display of `v` (a local of type `ty`) to the builder `sb`. At the top
    /// (`print`, interpolation) strings are raw; inside collections they are quoted.
    pub fn emit_display(&mut self, b: &mut FnBuilder, sb: Local, v: Local, ty: &Type, top: bool) {
        match ty {
            Type::Int => {
                let f = self.rt(Rt::SbPushI64);
                b.get(sb).get(v).call(f);
            }
            Type::Float => {
                let f = self.rt(Rt::SbPushF64);
                b.get(sb).get(v).call(f);
            }
            Type::Bool => {
                let (t, f) = (self.string("true"), self.string("false"));
                let push = self.rt(Rt::SbPushStr);
                b.get(sb).data(t).data(f).get(v).select().call(push);
            }
            Type::Null | Type::Never | Type::Error | Type::Var(_) => self.push_text(b, sb, "null"),
            Type::Str | Type::Uuid if top => {
                let push = self.rt(Rt::SbPushStr);
                b.get(sb).get(v).call(push);
            }
            Type::Uuid => {
                let push = self.rt(Rt::SbPushStr);
                b.get(sb).get(v).call(push);
            }
            Type::Secret => self.push_text(b, sb, "***"),
            Type::Bytes => {
                let push = self.rt(Rt::SbPushStr);
                b.get(sb).i32(crate::tast::BytesOp::Show as i32).get(v).call_import(guest_abi::imports::Import::Bytes).call(push);
            }
            Type::DateTime => {
                let f = self.rt(Rt::SbPushDateTime);
                b.get(sb).get(v).call(f);
            }
            Type::Date => {
                let f = self.rt(Rt::SbPushDate);
                b.get(sb).get(v).call(f);
            }
            Type::Nullable(inner) if top => {
                // A present value prints as the value itself would (strings raw).
                b.get(v).i32_eqz();
                b.if_(None);
                self.push_text(b, sb, "null");
                b.else_();
                let e = b.local(slot(inner));
                if boxed(inner) {
                    b.get(v).load_slot(slot(inner), 0).set(e);
                } else {
                    b.get(v).set(e);
                }
                self.emit_display(b, sb, e, inner, true);
                b.end();
            }
            Type::Fn(..) => self.push_text(b, sb, "<function>"),
            Type::Any => self.emit_any_display(b, sb, v, top),
            Type::DbConn => self.push_text(b, sb, "<db-conn>"),
            Type::RandGen => self.push_text(b, sb, "<RandGen>"),
            Type::Future(_) | Type::Query(_) => self.push_text(b, sb, "<future>"),
            _ => {
                let f = self.helper(Helper::DisplayInline, ty);
                b.get(sb).get(v).call(f);
            }
        }
    }

    /// Pushes whether the values in locals `a` and `b` (of type `ty`) are equal.
    pub fn emit_eq(&mut self, b: &mut FnBuilder, x: Local, y: Local, ty: &Type) {
        match ty {
            Type::Int | Type::DateTime | Type::Date => {
                b.get(x).get(y).i64_eq();
            }
            Type::Float => {
                b.get(x).get(y).w(I::F64Eq);
            }
            // A generator is equal only to itself.
            Type::Bool | Type::Null | Type::DbConn | Type::RandGen => {
                b.get(x).get(y).i32_eq();
            }
            Type::Str | Type::Bytes | Type::Uuid | Type::Secret => {
                let f = self.rt(Rt::StrEq);
                b.get(x).get(y).call(f);
            }
            Type::Fn(..) | Type::Future(_) | Type::Query(_) | Type::Never | Type::Error | Type::Var(_) => {
                b.get(x).get(y).i32_eq();
            }
            Type::Any => self.emit_any_eq(b, x, y),
            _ => {
                let f = self.helper(Helper::Eq, ty);
                b.get(x).get(y).call(f);
            }
        }
    }

    /// The generated function for a composite type, built on first use.
    pub fn helper(&mut self, which: Helper, ty: &Type) -> FuncId {
        let key = (which, ty.clone());
        if let Some(&f) = self.helpers.get(&key) {
            return f;
        }
        let id = self.reserve();
        self.helpers.insert(key, id);
        let f = match which {
            Helper::DisplayInline => self.gen_display(ty),
            Helper::Eq => self.gen_eq(ty),
        };
        self.define(id, f);
        id
    }

    fn type_label(&self, ty: &Type) -> String {
        let names: Vec<String> = self.program.records.iter().map(|r| r.name.clone()).collect();
        crate::types::TypeDisplay::new(ty, &names).to_string()
    }

    fn gen_display(&mut self, ty: &Type) -> FnBuilder {
        let label = self.type_label(ty);
        let mut b = FnBuilder::new(format!("display {label}"), vec![ValType::I32, slot(ty)], vec![]);
        let (sb, v) = (b.param(0), b.param(1));
        match ty {
            Type::Str => {
                self.push_text(&mut b, sb, "\"");
                let push = self.rt(Rt::SbPushStr);
                b.get(sb).get(v).call(push);
                self.push_text(&mut b, sb, "\"");
            }
            Type::List(item) => {
                let (i, e) = (b.local(ValType::I32), b.local(slot(item)));
                self.push_text(&mut b, sb, "[");
                let done = b.block(None);
                let lp = b.loop_(None);
                b.get(i).get(v).load32(LIST_LEN).i32_ge_u().br_if(done);
                b.get(i);
                b.if_(None);
                self.push_text(&mut b, sb, ", ");
                b.end();
                b.get(v).load32(LIST_ITEMS).get(i).i32(slot(item).size() as i32).i32_mul().i32_add().load_slot(slot(item), 0).set(e);
                self.emit_display(&mut b, sb, e, item, false);
                b.inc(i, 1).br(lp);
                b.end();
                b.end();
                self.push_text(&mut b, sb, "]");
            }
            Type::Map(k, val) => {
                let (i, ke, ve) = (b.local(ValType::I32), b.local(slot(k)), b.local(slot(val)));
                self.push_text(&mut b, sb, "{");
                let done = b.block(None);
                let lp = b.loop_(None);
                b.get(i).get(v).load32(MAP_LEN).i32_ge_u().br_if(done);
                b.get(i);
                b.if_(None);
                self.push_text(&mut b, sb, ", ");
                b.end();
                b.get(v).load32(MAP_KEYS).get(i).i32(slot(k).size() as i32).i32_mul().i32_add().load_slot(slot(k), 0).set(ke);
                b.get(v).load32(MAP_VALUES).get(i).i32(slot(val).size() as i32).i32_mul().i32_add().load_slot(slot(val), 0).set(ve);
                self.emit_display(&mut b, sb, ke, k, false);
                self.push_text(&mut b, sb, ": ");
                self.emit_display(&mut b, sb, ve, val, false);
                b.inc(i, 1).br(lp);
                b.end();
                b.end();
                self.push_text(&mut b, sb, "}");
            }
            Type::Record(id) => {
                let record = &self.program.records[id.0 as usize];
                // A type two modules declare is `module.Name` inside; it prints as declared.
                let name = record.name.rsplit('.').next().unwrap_or(&record.name).to_string();
                let fields: Vec<(String, Type, bool)> = record.fields.iter().map(|f| (f.name.clone(), f.ty.clone(), f.hidden)).collect();
                let (offsets, _) = self.record_layout(*id);
                self.push_text(&mut b, sb, &format!("{name} {{"));
                for (i, ((fname, fty, hidden), off)) in fields.iter().zip(offsets).enumerate() {
                    let sep = if i == 0 { format!(" {fname}: ") } else { format!(", {fname}: ") };
                    self.push_text(&mut b, sb, &sep);
                    // A hidden field (a password hash among them) prints as a secret does.
                    if *hidden {
                        self.push_text(&mut b, sb, "***");
                        continue;
                    }
                    let e = b.local(slot(fty));
                    b.get(v).load_slot(slot(fty), off).set(e);
                    self.emit_display(&mut b, sb, e, fty, false);
                }
                self.push_text(&mut b, sb, if fields.is_empty() { "}" } else { " }" });
            }
            Type::Tuple(items) => {
                let (offsets, _) = self.tuple_layout(items);
                self.push_text(&mut b, sb, "(");
                for (i, (ity, off)) in items.iter().zip(offsets).enumerate() {
                    if i > 0 {
                        self.push_text(&mut b, sb, ", ");
                    }
                    let e = b.local(slot(ity));
                    b.get(v).load_slot(slot(ity), off).set(e);
                    self.emit_display(&mut b, sb, e, ity, false);
                }
                self.push_text(&mut b, sb, if items.len() == 1 { ",)" } else { ")" });
            }
            Type::Nullable(inner) => {
                b.get(v).i32_eqz();
                b.if_(None);
                self.push_text(&mut b, sb, "null");
                b.else_();
                let e = b.local(slot(inner));
                if boxed(inner) {
                    b.get(v).load_slot(slot(inner), 0).set(e);
                } else {
                    b.get(v).set(e);
                }
                self.emit_display(&mut b, sb, e, inner, false);
                b.end();
            }
            Type::Result(ok, err) => {
                let (eo, ee) = (b.local(slot(ok)), b.local(slot(err)));
                b.get(v).load32(RESULT_TAG).i32_eqz();
                b.if_(None);
                self.push_text(&mut b, sb, "Ok(");
                b.get(v).load_slot(slot(ok), RESULT_PAYLOAD).set(eo);
                self.emit_display(&mut b, sb, eo, ok, false);
                b.else_();
                self.push_text(&mut b, sb, "Err(");
                b.get(v).load_slot(slot(err), RESULT_PAYLOAD).set(ee);
                self.emit_display(&mut b, sb, ee, err, false);
                b.end();
                self.push_text(&mut b, sb, ")");
            }
            Type::Range => {
                let push = self.rt(Rt::SbPushI64);
                b.get(sb).get(v).load64(0).call(push);
                b.get(v).load32(16);
                b.if_(None);
                self.push_text(&mut b, sb, "..=");
                b.else_();
                self.push_text(&mut b, sb, "..");
                b.end();
                b.get(sb).get(v).load64(8).call(push);
            }
            other => {
                // Scalars reach here only through a caller that wanted a function anyway.
                self.emit_display(&mut b, sb, v, other, false);
            }
        }
        b
    }

    fn gen_eq(&mut self, ty: &Type) -> FnBuilder {
        let label = self.type_label(ty);
        let s = slot(ty);
        let mut b = FnBuilder::new(format!("eq {label}"), vec![s, s], vec![ValType::I32]);
        let (x, y) = (b.param(0), b.param(1));
        b.get(x).get(y).i32_eq();
        b.if_(None);
        b.i32(1).ret();
        b.end();
        match ty {
            Type::List(item) => {
                let (i, ex, ey) = (b.local(ValType::I32), b.local(slot(item)), b.local(slot(item)));
                b.get(x).load32(LIST_LEN).get(y).load32(LIST_LEN).i32_ne();
                b.if_(None);
                b.i32(0).ret();
                b.end();
                let done = b.block(None);
                let lp = b.loop_(None);
                b.get(i).get(x).load32(LIST_LEN).i32_ge_u().br_if(done);
                let size = slot(item).size() as i32;
                b.get(x).load32(LIST_ITEMS).get(i).i32(size).i32_mul().i32_add().load_slot(slot(item), 0).set(ex);
                b.get(y).load32(LIST_ITEMS).get(i).i32(size).i32_mul().i32_add().load_slot(slot(item), 0).set(ey);
                self.emit_eq(&mut b, ex, ey, item);
                b.i32_eqz();
                b.if_(None);
                b.i32(0).ret();
                b.end();
                b.inc(i, 1).br(lp);
                b.end();
                b.end();
                b.i32(1);
            }
            Type::Map(k, v) => {
                let i = b.local(ValType::I32);
                let (kx, ky, vx, vy) = (b.local(slot(k)), b.local(slot(k)), b.local(slot(v)), b.local(slot(v)));
                b.get(x).load32(MAP_LEN).get(y).load32(MAP_LEN).i32_ne();
                b.if_(None);
                b.i32(0).ret();
                b.end();
                let done = b.block(None);
                let lp = b.loop_(None);
                b.get(i).get(x).load32(MAP_LEN).i32_ge_u().br_if(done);
                let (ks, vs) = (slot(k).size() as i32, slot(v).size() as i32);
                b.get(x).load32(MAP_KEYS).get(i).i32(ks).i32_mul().i32_add().load_slot(slot(k), 0).set(kx);
                b.get(y).load32(MAP_KEYS).get(i).i32(ks).i32_mul().i32_add().load_slot(slot(k), 0).set(ky);
                b.get(x).load32(MAP_VALUES).get(i).i32(vs).i32_mul().i32_add().load_slot(slot(v), 0).set(vx);
                b.get(y).load32(MAP_VALUES).get(i).i32(vs).i32_mul().i32_add().load_slot(slot(v), 0).set(vy);
                self.emit_eq(&mut b, kx, ky, k);
                self.emit_eq(&mut b, vx, vy, v);
                b.w(I::I32And).i32_eqz();
                b.if_(None);
                b.i32(0).ret();
                b.end();
                b.inc(i, 1).br(lp);
                b.end();
                b.end();
                b.i32(1);
            }
            Type::Record(id) => {
                let fields: Vec<Type> = self.program.records[id.0 as usize].fields.iter().map(|f| f.ty.clone()).collect();
                let (offsets, _) = self.record_layout(*id);
                self.emit_eq_fields(&mut b, x, y, &fields, &offsets);
            }
            Type::Tuple(items) => {
                let (offsets, _) = self.tuple_layout(items);
                self.emit_eq_fields(&mut b, x, y, items, &offsets);
            }
            Type::Nullable(inner) => {
                b.get(x).i32_eqz().get(y).i32_eqz().w(I::I32Or);
                b.if_(None);
                b.i32(0).ret();
                b.end();
                let (ix, iy) = (b.local(slot(inner)), b.local(slot(inner)));
                if boxed(inner) {
                    b.get(x).load_slot(slot(inner), 0).set(ix);
                    b.get(y).load_slot(slot(inner), 0).set(iy);
                } else {
                    b.get(x).set(ix).get(y).set(iy);
                }
                self.emit_eq(&mut b, ix, iy, inner);
            }
            Type::Result(ok, err) => {
                b.get(x).load32(RESULT_TAG).get(y).load32(RESULT_TAG).i32_ne();
                b.if_(None);
                b.i32(0).ret();
                b.end();
                let (ox, oy, ex, ey) = (b.local(slot(ok)), b.local(slot(ok)), b.local(slot(err)), b.local(slot(err)));
                b.get(x).load32(RESULT_TAG).i32_eqz();
                b.if_(Some(ValType::I32));
                b.get(x).load_slot(slot(ok), RESULT_PAYLOAD).set(ox);
                b.get(y).load_slot(slot(ok), RESULT_PAYLOAD).set(oy);
                self.emit_eq(&mut b, ox, oy, ok);
                b.else_();
                b.get(x).load_slot(slot(err), RESULT_PAYLOAD).set(ex);
                b.get(y).load_slot(slot(err), RESULT_PAYLOAD).set(ey);
                self.emit_eq(&mut b, ex, ey, err);
                b.end();
            }
            Type::Range => {
                b.get(x).load64(0).get(y).load64(0).i64_eq();
                b.get(x).load64(8).get(y).load64(8).i64_eq().w(I::I32And);
                b.get(x).load32(16).get(y).load32(16).i32_eq().w(I::I32And);
            }
            other => {
                self.emit_eq(&mut b, x, y, other);
            }
        }
        let _ = STR_BYTES;
        b
    }

    /// Records and tuples: equal when every field is, compared in order; pushes the answer
    /// (returning early on the first difference).
    fn emit_eq_fields(&mut self, b: &mut FnBuilder, x: Local, y: Local, fields: &[Type], offsets: &[u32]) {
        for (fty, &off) in fields.iter().zip(offsets) {
            let (fx, fy) = (b.local(slot(fty)), b.local(slot(fty)));
            b.get(x).load_slot(slot(fty), off).set(fx);
            b.get(y).load_slot(slot(fty), off).set(fy);
            self.emit_eq(b, fx, fy, fty);
            b.i32_eqz();
            b.if_(None);
            b.i32(0).ret();
            b.end();
        }
        b.i32(1);
    }

    /// Item offsets and size of a tuple: laid out as a record of its item types.
    pub fn tuple_layout(&self, items: &[Type]) -> (Vec<u32>, u32) {
        let kinds: Vec<guest_abi::types::ValueType> = items.iter().map(layout_proxy).collect();
        guest_abi::layout::record_layout(&kinds)
    }

    /// Field offsets and size of a record type.
    pub fn record_layout(&self, id: crate::types::RecordId) -> (Vec<u32>, u32) {
        let fields = &self.program.records[id.0 as usize].fields;
        let kinds: Vec<guest_abi::types::ValueType> = fields.iter().map(|f| layout_proxy(&f.ty)).collect();
        guest_abi::layout::record_layout(&kinds)
    }
}

/// A manifest type with the same slot kind (layouts depend only on slot kinds).
fn layout_proxy(ty: &Type) -> guest_abi::types::ValueType {
    match slot(ty) {
        ValType::I64 => guest_abi::types::ValueType::Int,
        ValType::F64 => guest_abi::types::ValueType::Float,
        ValType::I32 => guest_abi::types::ValueType::Str,
    }
}
