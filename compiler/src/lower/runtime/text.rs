//! Strings: comparison, concatenation, search, split, replace, trim, and the string builder
//! that interpolation and printing write into.
//!
//! A builder is `len: u32, cap: u32, buf: u32` where `buf` is a `Str` object with room for
//! `cap` bytes; finishing stores the length in `buf` and returns it, so no copy is made.

use guest_abi::layout::{LIST_ITEMS, LIST_LEN, SCRATCH_ADDR, STR_BYTES};
use wasm_encoder::Instruction as I;

use super::{Lowerer, Rt, name};
use crate::ir::ValType;
use crate::lower::{FnBuilder, Local};

const SB_LEN: u32 = 0;
const SB_CAP: u32 = 4;
const SB_BUF: u32 = 8;

/// `ptr + 4`: where a string's bytes start.
fn bytes_of(b: &mut FnBuilder, s: Local) {
    b.get(s).u32(STR_BYTES).i32_add();
}

impl Lowerer<'_> {
    pub(super) fn rt_str_eq(&mut self) -> FnBuilder {
        let mem_eq = self.rt(Rt::MemEq);
        let mut b = FnBuilder::new(name("str_eq"), vec![ValType::I32; 2], vec![ValType::I32]);
        let (x, y) = (b.param(0), b.param(1));
        b.get(x).get(y).i32_eq();
        b.if_(None);
        b.i32(1).ret();
        b.end();
        b.get(x).load32(0).get(y).load32(0).i32_ne();
        b.if_(None);
        b.i32(0).ret();
        b.end();
        bytes_of(&mut b, x);
        bytes_of(&mut b, y);
        b.get(x).load32(0).call(mem_eq);
        b
    }

    /// `(a, b) -> -1 | 0 | 1`, byte order (which is code point order for UTF-8).
    pub(super) fn rt_str_cmp(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("str_cmp"), vec![ValType::I32; 2], vec![ValType::I32]);
        let (x, y) = (b.param(0), b.param(1));
        let (i, n, cx, cy) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        // n = min(len x, len y)
        b.get(x).load32(0).get(y).load32(0).get(x).load32(0).get(y).load32(0).i32_lt_u().select().set(n);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(done);
        b.get(x).get(i).i32_add().load8(STR_BYTES).set(cx);
        b.get(y).get(i).i32_add().load8(STR_BYTES).set(cy);
        b.get(cx).get(cy).i32_ne();
        b.if_(None);
        b.i32(-1).i32(1).get(cx).get(cy).i32_lt_u().select().ret();
        b.end();
        b.inc(i, 1).br(lp);
        b.end();
        b.end();
        // Equal prefix: the shorter is smaller.
        b.get(x).load32(0).get(y).load32(0).w(I::I32GtU);
        b.get(x).load32(0).get(y).load32(0).i32_lt_u();
        b.i32_sub();
        b
    }

    pub(super) fn rt_str_concat(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("str_concat"), vec![ValType::I32; 2], vec![ValType::I32]);
        let (x, y) = (b.param(0), b.param(1));
        let (lx, ly, p) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(x).load32(0).set(lx).get(y).load32(0).set(ly);
        b.get(lx).get(ly).i32_add().u32(STR_BYTES).i32_add().call(alloc).tee(p);
        b.get(lx).get(ly).i32_add().store32(0);
        b.get(p).u32(STR_BYTES).i32_add();
        bytes_of(&mut b, x);
        b.get(lx).memcpy();
        b.get(p).u32(STR_BYTES).i32_add().get(lx).i32_add();
        bytes_of(&mut b, y);
        b.get(ly).memcpy();
        b.get(p);
        b
    }

    /// Number of Unicode scalar values (bytes that are not UTF-8 continuation bytes).
    pub(super) fn rt_str_char_count(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("str_char_count"), vec![ValType::I32], vec![ValType::I64]);
        let s = b.param(0);
        let (i, n, count) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(s).load32(0).set(n);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(done);
        b.get(s).get(i).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne();
        b.get(count).i32_add().set(count);
        b.inc(i, 1).br(lp);
        b.end();
        b.end();
        b.get(count).w(I::I64ExtendI32U);
        b
    }

    /// `(s, index: i64) -> Str or 0`: the character at a character index (0 when out of range).
    pub(super) fn rt_str_char_at(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("str_char_at"), vec![ValType::I32, ValType::I64], vec![ValType::I32]);
        let (s, index) = (b.param(0), b.param(1));
        let (i, n, seen, start, p) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I64), b.local(ValType::I32), b.local(ValType::I32));
        b.get(index).i64(0).w(I::I64LtS);
        b.if_(None);
        b.i32(0).ret();
        b.end();
        b.get(s).load32(0).set(n);
        b.i32(-1).set(start);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(done);
        b.get(s).get(i).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne();
        b.if_(None);
        {
            b.get(start).i32(0).w(I::I32GeS);
            b.if_(None);
            b.br(done);
            b.end();
            b.get(seen).get(index).i64_eq();
            b.if_(None);
            b.get(i).set(start);
            b.end();
            b.get(seen).i64(1).i64_add().set(seen);
        }
        b.end();
        b.inc(i, 1).br(lp);
        b.end();
        b.end();
        b.get(start).i32(0).w(I::I32LtS);
        b.if_(None);
        b.i32(0).ret();
        b.end();
        // [start, i) is the character.
        b.get(i).get(start).i32_sub().u32(STR_BYTES).i32_add().call(alloc).tee(p);
        b.get(i).get(start).i32_sub().store32(0);
        b.get(p).u32(STR_BYTES).i32_add();
        b.get(s).get(start).i32_add().u32(STR_BYTES).i32_add();
        b.get(i).get(start).i32_sub().memcpy();
        b.get(p);
        b
    }

    /// `(haystack, needle, from) -> byte index or -1`.
    pub(super) fn rt_str_find(&mut self) -> FnBuilder {
        let mem_eq = self.rt(Rt::MemEq);
        let mut b = FnBuilder::new(name("str_find"), vec![ValType::I32; 3], vec![ValType::I32]);
        let (h, needle, from) = (b.param(0), b.param(1), b.param(2));
        let (i, last, nl) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(needle).load32(0).set(nl);
        b.get(h).load32(0).get(nl).i32_lt_u();
        b.if_(None);
        b.i32(-1).ret();
        b.end();
        b.get(h).load32(0).get(nl).i32_sub().set(last);
        b.get(from).set(i);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(last).i32_gt_u().br_if(done);
        b.get(h).get(i).i32_add().u32(STR_BYTES).i32_add();
        bytes_of(&mut b, needle);
        b.get(nl).call(mem_eq);
        b.if_(None);
        b.get(i).ret();
        b.end();
        b.inc(i, 1).br(lp);
        b.end();
        b.end();
        b.i32(-1);
        b
    }

    /// `(s) -> List<Str>`: each character (a lead byte and its continuation bytes) copied.
    pub(super) fn rt_str_chars(&mut self) -> FnBuilder {
        let (alloc, list_new, push) = (self.rt(Rt::Alloc), self.rt(Rt::ListNew), self.rt(Rt::ListPush(ValType::I32)));
        let mut b = FnBuilder::new(name("str_chars"), vec![ValType::I32], vec![ValType::I32]);
        let s = b.param(0);
        let (n, i, start, out, c) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(s).load32(0).set(n);
        b.get(n).i32(4).call(list_new).set(out);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(done);
        b.get(i).set(start);
        b.inc(i, 1);
        let cont = b.block(None);
        let more = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(cont);
        b.get(s).get(i).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne().br_if(cont);
        b.inc(i, 1).br(more);
        b.end();
        b.end();
        b.get(i).get(start).i32_sub().u32(STR_BYTES).i32_add().call(alloc).tee(c);
        b.get(i).get(start).i32_sub().store32(0);
        b.get(c).u32(STR_BYTES).i32_add();
        b.get(s).get(start).i32_add().u32(STR_BYTES).i32_add();
        b.get(i).get(start).i32_sub().memcpy();
        b.get(out).get(c).call(push);
        b.br(lp);
        b.end();
        b.end();
        b.get(out);
        b
    }

    /// `(s, part, last) -> i64`: the byte search of `str_find`, its answer counted in
    /// characters.
    pub(super) fn rt_str_index_of(&mut self) -> FnBuilder {
        let find = self.rt(Rt::StrFind);
        let mut b = FnBuilder::new(name("str_index_of"), vec![ValType::I32; 3], vec![ValType::I64]);
        let (s, part, last) = (b.param(0), b.param(1), b.param(2));
        let (at, p, i, count) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I64));
        b.i32(-1).set(at);
        let found = b.block(None);
        let lp = b.loop_(None);
        b.get(s).get(part).get(p).call(find).tee(i).i32(0).w(I::I32LtS).br_if(found);
        b.get(i).set(at);
        b.get(last).i32_eqz().br_if(found);
        b.get(i).i32(1).i32_add().set(p);
        // Past the end no occurrence can start (an empty part is found at the end once).
        b.get(p).get(s).load32(0).i32_gt_u().br_if(found);
        b.br(lp);
        b.end();
        b.end();
        b.get(at).i32(0).w(I::I32LtS);
        b.if_(None);
        b.i64(-1).ret();
        b.end();
        b.i32(0).set(i);
        let done = b.block(None);
        let count_lp = b.loop_(None);
        b.get(i).get(at).i32_ge_u().br_if(done);
        b.get(count);
        b.get(s).get(i).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne().w(I::I64ExtendI32U);
        b.i64_add().set(count);
        b.inc(i, 1).br(count_lp);
        b.end();
        b.end();
        b.get(count);
        b
    }

    pub(super) fn rt_str_starts_with(&mut self) -> FnBuilder {
        let mem_eq = self.rt(Rt::MemEq);
        let mut b = FnBuilder::new(name("str_starts_with"), vec![ValType::I32; 2], vec![ValType::I32]);
        let (s, p) = (b.param(0), b.param(1));
        b.get(s).load32(0).get(p).load32(0).i32_lt_u();
        b.if_(None);
        b.i32(0).ret();
        b.end();
        bytes_of(&mut b, s);
        bytes_of(&mut b, p);
        b.get(p).load32(0).call(mem_eq);
        b
    }

    pub(super) fn rt_str_ends_with(&mut self) -> FnBuilder {
        let mem_eq = self.rt(Rt::MemEq);
        let mut b = FnBuilder::new(name("str_ends_with"), vec![ValType::I32; 2], vec![ValType::I32]);
        let (s, p) = (b.param(0), b.param(1));
        b.get(s).load32(0).get(p).load32(0).i32_lt_u();
        b.if_(None);
        b.i32(0).ret();
        b.end();
        b.get(s).get(s).load32(0).i32_add().get(p).load32(0).i32_sub().u32(STR_BYTES).i32_add();
        bytes_of(&mut b, p);
        b.get(p).load32(0).call(mem_eq);
        b
    }

    /// Pushes `len` bytes starting at `from + start` of string `s` as a new `Str` on a list.
    fn push_slice(&mut self, b: &mut FnBuilder, list: Local, s: Local, start: Local, end: Local) {
        let alloc = self.rt(Rt::Alloc);
        let push = self.rt(Rt::ListPush(ValType::I32));
        let p = b.local(ValType::I32);
        b.get(end).get(start).i32_sub().u32(STR_BYTES).i32_add().call(alloc).tee(p);
        b.get(end).get(start).i32_sub().store32(0);
        b.get(p).u32(STR_BYTES).i32_add();
        b.get(s).get(start).i32_add().u32(STR_BYTES).i32_add();
        b.get(end).get(start).i32_sub().memcpy();
        b.get(list).get(p).call(push);
    }

    /// `(s, sep) -> List<Str>`, as Rust's `str::split` (an empty separator splits between
    /// every character, with an empty string at each end).
    pub(super) fn rt_str_split(&mut self) -> FnBuilder {
        let list_new = self.rt(Rt::ListNew);
        let find = self.rt(Rt::StrFind);
        let mut b = FnBuilder::new(name("str_split"), vec![ValType::I32; 2], vec![ValType::I32]);
        let (s, sep) = (b.param(0), b.param(1));
        let (list, start, at, end) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.i32(4).i32(4).call(list_new).set(list);
        b.get(sep).load32(0).i32_eqz();
        b.if_(None);
        {
            // "", each character, ""
            b.i32(0).set(start).i32(0).set(end);
            self.push_slice(&mut b, list, s, start, end);
            let done = b.block(None);
            let lp = b.loop_(None);
            b.get(start).get(s).load32(0).i32_ge_u().br_if(done);
            b.get(start).i32(1).i32_add().set(end);
            let skip = b.block(None);
            let cont = b.loop_(None);
            b.get(end).get(s).load32(0).i32_ge_u().br_if(skip);
            b.get(s).get(end).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne().br_if(skip);
            b.inc(end, 1).br(cont);
            b.end();
            b.end();
            self.push_slice(&mut b, list, s, start, end);
            b.get(end).set(start);
            b.br(lp);
            b.end();
            b.end();
            b.get(s).load32(0).tee(start).set(end);
            self.push_slice(&mut b, list, s, start, end);
            b.get(list).ret();
        }
        b.end();
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(s).get(sep).get(start).call(find).tee(at).i32(0).w(I::I32LtS).br_if(done);
        b.get(at).set(end);
        self.push_slice(&mut b, list, s, start, end);
        b.get(at).get(sep).load32(0).i32_add().set(start);
        b.br(lp);
        b.end();
        b.end();
        b.get(s).load32(0).set(end);
        self.push_slice(&mut b, list, s, start, end);
        b.get(list);
        let _ = (LIST_ITEMS, LIST_LEN);
        b
    }

    /// `(s, from, to) -> Str`: every occurrence replaced (an empty `from` inserts `to` around
    /// every character, as Rust does).
    pub(super) fn rt_str_replace(&mut self) -> FnBuilder {
        let find = self.rt(Rt::StrFind);
        let sb_new = self.rt(Rt::SbNew);
        let push_bytes = self.rt(Rt::SbPushBytes);
        let push_str = self.rt(Rt::SbPushStr);
        let finish = self.rt(Rt::SbFinish);
        let mut b = FnBuilder::new(name("str_replace"), vec![ValType::I32; 3], vec![ValType::I32]);
        let (s, from, to) = (b.param(0), b.param(1), b.param(2));
        let (sb, start, at, end) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.call(sb_new).set(sb);
        b.get(from).load32(0).i32_eqz();
        b.if_(None);
        {
            b.get(sb).get(to).call(push_str);
            let done = b.block(None);
            let lp = b.loop_(None);
            b.get(start).get(s).load32(0).i32_ge_u().br_if(done);
            b.get(start).i32(1).i32_add().set(end);
            let skip = b.block(None);
            let cont = b.loop_(None);
            b.get(end).get(s).load32(0).i32_ge_u().br_if(skip);
            b.get(s).get(end).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne().br_if(skip);
            b.inc(end, 1).br(cont);
            b.end();
            b.end();
            b.get(sb).get(s).get(start).i32_add().u32(STR_BYTES).i32_add().get(end).get(start).i32_sub().call(push_bytes);
            b.get(sb).get(to).call(push_str);
            b.get(end).set(start).br(lp);
            b.end();
            b.end();
            b.get(sb).call(finish).ret();
        }
        b.end();
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(s).get(from).get(start).call(find).tee(at).i32(0).w(I::I32LtS).br_if(done);
        b.get(sb).get(s).get(start).i32_add().u32(STR_BYTES).i32_add().get(at).get(start).i32_sub().call(push_bytes);
        b.get(sb).get(to).call(push_str);
        b.get(at).get(from).load32(0).i32_add().set(start);
        b.br(lp);
        b.end();
        b.end();
        b.get(sb).get(s).get(start).i32_add().u32(STR_BYTES).i32_add().get(s).load32(0).get(start).i32_sub().call(push_bytes);
        b.get(sb).call(finish);
        b
    }

    // ---- the string builder

    pub(super) fn rt_sb_new(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("sb_new"), vec![], vec![ValType::I32]);
        let sb = b.local(ValType::I32);
        b.i32(12).call(alloc).set(sb);
        b.get(sb).i32(32).store32(SB_CAP);
        b.get(sb).i32(32 + STR_BYTES as i32).call(alloc).store32(SB_BUF);
        b.get(sb);
        b
    }

    /// `(sb, extra)`: makes room for `extra` more bytes (doubling).
    pub(super) fn rt_sb_reserve(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("sb_reserve"), vec![ValType::I32; 2], vec![]);
        let (sb, extra) = (b.param(0), b.param(1));
        let (need, cap, buf) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(sb).load32(SB_LEN).get(extra).i32_add().tee(need).get(sb).load32(SB_CAP).i32_le_u();
        b.if_(None);
        b.ret();
        b.end();
        b.get(sb).load32(SB_CAP).i32(1).w(I::I32Shl).tee(cap).get(need).get(cap).get(need).i32_gt_u().select().set(cap);
        b.get(cap).u32(STR_BYTES).i32_add().call(alloc).tee(buf).u32(STR_BYTES).i32_add();
        b.get(sb).load32(SB_BUF).u32(STR_BYTES).i32_add();
        b.get(sb).load32(SB_LEN).memcpy();
        b.get(sb).get(buf).store32(SB_BUF);
        b.get(sb).get(cap).store32(SB_CAP);
        b
    }

    /// `(sb, ptr, len)`
    pub(super) fn rt_sb_push_bytes(&mut self) -> FnBuilder {
        let reserve = self.rt(Rt::SbReserve);
        let mut b = FnBuilder::new(name("sb_push_bytes"), vec![ValType::I32; 3], vec![]);
        let (sb, p, n) = (b.param(0), b.param(1), b.param(2));
        b.get(sb).get(n).call(reserve);
        b.get(sb).load32(SB_BUF).get(sb).load32(SB_LEN).i32_add().u32(STR_BYTES).i32_add();
        b.get(p).get(n).memcpy();
        b.get(sb).get(sb).load32(SB_LEN).get(n).i32_add().store32(SB_LEN);
        b
    }

    pub(super) fn rt_sb_push_str(&mut self) -> FnBuilder {
        let push_bytes = self.rt(Rt::SbPushBytes);
        let mut b = FnBuilder::new(name("sb_push_str"), vec![ValType::I32; 2], vec![]);
        let (sb, s) = (b.param(0), b.param(1));
        b.get(sb);
        bytes_of(&mut b, s);
        b.get(s).load32(0).call(push_bytes);
        b
    }

    pub(super) fn rt_sb_push_byte(&mut self) -> FnBuilder {
        let reserve = self.rt(Rt::SbReserve);
        let mut b = FnBuilder::new(name("sb_push_byte"), vec![ValType::I32; 2], vec![]);
        let (sb, byte) = (b.param(0), b.param(1));
        b.get(sb).i32(1).call(reserve);
        b.get(sb).load32(SB_BUF).get(sb).load32(SB_LEN).i32_add().get(byte).store8(STR_BYTES);
        b.get(sb).get(sb).load32(SB_LEN).i32(1).i32_add().store32(SB_LEN);
        b
    }

    /// Decimal digits of an `Int`, as Rust prints it.
    pub(super) fn rt_sb_push_i64(&mut self) -> FnBuilder {
        let push_bytes = self.rt(Rt::SbPushBytes);
        let push_byte = self.rt(Rt::SbPushByte);
        let mut b = FnBuilder::new(name("sb_push_i64"), vec![ValType::I32, ValType::I64], vec![]);
        let (sb, v) = (b.param(0), b.param(1));
        let (m, p) = (b.local(ValType::I64), b.local(ValType::I32));
        const END: u32 = SCRATCH_ADDR + 64;
        b.get(v).i64(0).w(I::I64LtS);
        b.if_(None);
        b.get(sb).i32(b'-' as i32).call(push_byte);
        b.i64(0).get(v).i64_sub().set(m);
        b.else_();
        b.get(v).set(m);
        b.end();
        b.u32(END).set(p);
        let lp = b.loop_(None);
        b.get(p).i32(1).i32_sub().tee(p);
        b.get(m).i64(10).w(I::I64RemU).w(I::I32WrapI64).i32(48).i32_add().store8(0);
        b.get(m).i64(10).w(I::I64DivU).tee(m).i64(0).w(I::I64Ne).br_if(lp);
        b.end();
        b.get(sb).get(p).u32(END).get(p).i32_sub().call(push_bytes);
        b
    }

    pub(super) fn rt_sb_finish(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("sb_finish"), vec![ValType::I32], vec![ValType::I32]);
        let sb = b.param(0);
        b.get(sb).load32(SB_BUF).get(sb).load32(SB_LEN).store32(0);
        b.get(sb).load32(SB_BUF);
        b
    }
}
