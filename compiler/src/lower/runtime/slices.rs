//! Slices of lists and strings (`xs[a..b]`): bounds as Python takes them — a negative one
//! counts from the end, both are clamped to the length, and an end before the start gives an
//! empty copy — then a copy of that part (by characters, for a string).

use guest_abi::layout::{LIST_ITEMS, LIST_LEN, STR_BYTES};
use wasm_encoder::Instruction as I;

use super::{Lowerer, Rt, name};
use crate::ir::ValType;
use crate::lower::{FnBuilder, Local};

/// Brings `v` (an `I64` bound) into `[0, n]`, counting a negative one from `n`.
fn clamp(b: &mut FnBuilder, v: Local, n: Local) {
    b.get(v).i64(0).w(I::I64LtS);
    b.if_(None);
    b.get(v).get(n).i64_add().set(v);
    b.end();
    b.get(v).i64(0).w(I::I64LtS);
    b.if_(None);
    b.i64(0).set(v);
    b.end();
    b.get(v).get(n).w(I::I64GtS);
    b.if_(None);
    b.get(n).set(v);
    b.end();
}

/// `start` and `end` within `[0, n]`, with `end` not before `start`.
fn bounds(b: &mut FnBuilder, start: Local, end: Local, n: Local) {
    clamp(b, start, n);
    clamp(b, end, n);
    b.get(end).get(start).w(I::I64LtS);
    b.if_(None);
    b.get(start).set(end);
    b.end();
}

impl Lowerer<'_> {
    /// `(list, item_size, start, end) -> List`
    pub(super) fn rt_list_slice(&mut self) -> FnBuilder {
        let new = self.rt(Rt::ListNew);
        let mut b = FnBuilder::new(name("list_slice"), vec![ValType::I32, ValType::I32, ValType::I64, ValType::I64], vec![ValType::I32]);
        let (l, size, start, end) = (b.param(0), b.param(1), b.param(2), b.param(3));
        let (n, count, out) = (b.local(ValType::I64), b.local(ValType::I32), b.local(ValType::I32));
        b.get(l).load32(LIST_LEN).w(I::I64ExtendI32U).set(n);
        bounds(&mut b, start, end, n);
        b.get(end).get(start).i64_sub().w(I::I32WrapI64).set(count);
        b.get(count).get(size).call(new).set(out);
        b.get(out).load32(LIST_ITEMS);
        b.get(l).load32(LIST_ITEMS).get(start).w(I::I32WrapI64).get(size).i32_mul().i32_add();
        b.get(count).get(size).i32_mul().memcpy();
        b.get(out).get(count).store32(LIST_LEN);
        b.get(out);
        b
    }

    /// `(str, start, end) -> Str`, by characters.
    pub(super) fn rt_str_slice(&mut self) -> FnBuilder {
        let (alloc, count_chars) = (self.rt(Rt::Alloc), self.rt(Rt::StrCharCount));
        let mut b = FnBuilder::new(name("str_slice"), vec![ValType::I32, ValType::I64, ValType::I64], vec![ValType::I32]);
        let (s, start, end) = (b.param(0), b.param(1), b.param(2));
        let (n, len, i, c, from, to, out) =
            (b.local(ValType::I64), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I64), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(s).call(count_chars).set(n);
        bounds(&mut b, start, end, n);
        // The byte offsets of characters `start` and `end` (the length when past the last).
        b.get(s).load32(0).tee(len).tee(from).set(to);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(len).i32_ge_u().br_if(done);
        b.get(s).get(i).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne();
        b.if_(None);
        {
            b.get(c).get(start).i64_eq();
            b.if_(None);
            b.get(i).set(from);
            b.end();
            b.get(c).get(end).i64_eq();
            b.if_(None);
            b.get(i).set(to);
            b.br(done);
            b.end();
            b.get(c).i64(1).i64_add().set(c);
        }
        b.end();
        b.inc(i, 1).br(lp);
        b.end();
        b.end();
        b.get(to).get(from).i32_sub().u32(STR_BYTES).i32_add().call(alloc).tee(out);
        b.get(to).get(from).i32_sub().store32(0);
        b.get(out).u32(STR_BYTES).i32_add();
        b.get(s).get(from).i32_add().u32(STR_BYTES).i32_add();
        b.get(to).get(from).i32_sub().memcpy();
        b.get(out);
        b
    }
}
