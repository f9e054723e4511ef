//! UTF-8 decoding and encoding, `trim`, and case mapping.
//!
//! Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic, one character to
//! one character (plus `ß` → `SS`); other scripts are left unchanged. Rust's full Unicode
//! tables differ for a few rare cases (final sigma, dotted capital I).

use guest_abi::layout::STR_BYTES;
use wasm_encoder::Instruction as I;

use super::{Lowerer, Rt, name};
use crate::ir::ValType;
use crate::lower::FnBuilder;

/// (first, last, which code points: 0 all, 1 even, 2 odd, delta)
const TO_UPPER: &[(u32, u32, u32, i32)] = &[
    (0x61, 0x7a, 0, -32),
    (0xb5, 0xb5, 0, 0x39c - 0xb5),
    (0xe0, 0xf6, 0, -32),
    (0xf8, 0xfe, 0, -32),
    (0xff, 0xff, 0, 0x178 - 0xff),
    (0x100, 0x12f, 2, -1),
    (0x131, 0x131, 0, 0x49 - 0x131),
    (0x133, 0x137, 2, -1),
    (0x13a, 0x148, 1, -1),
    (0x14b, 0x177, 2, -1),
    (0x17a, 0x17e, 1, -1),
    (0x17f, 0x17f, 0, 0x53 - 0x17f),
    (0x3ac, 0x3ac, 0, 0x386 - 0x3ac),
    (0x3ad, 0x3af, 0, -37),
    (0x3b1, 0x3c1, 0, -32),
    (0x3c2, 0x3c2, 0, 0x3a3 - 0x3c2),
    (0x3c3, 0x3cb, 0, -32),
    (0x3cc, 0x3cc, 0, 0x38c - 0x3cc),
    (0x3cd, 0x3ce, 0, -63),
    (0x430, 0x44f, 0, -32),
    (0x450, 0x45f, 0, -80),
];

const TO_LOWER: &[(u32, u32, u32, i32)] = &[
    (0x41, 0x5a, 0, 32),
    (0xc0, 0xd6, 0, 32),
    (0xd8, 0xde, 0, 32),
    (0x100, 0x12f, 1, 1),
    (0x130, 0x130, 0, 0x69 - 0x130),
    (0x132, 0x136, 1, 1),
    (0x139, 0x147, 2, 1),
    (0x14a, 0x176, 1, 1),
    (0x178, 0x178, 0, 0xff - 0x178),
    (0x179, 0x17d, 2, 1),
    (0x386, 0x386, 0, 0x3ac - 0x386),
    (0x388, 0x38a, 0, 37),
    (0x38c, 0x38c, 0, 0x3cc - 0x38c),
    (0x38e, 0x38f, 0, 63),
    (0x391, 0x3a1, 0, 32),
    (0x3a3, 0x3ab, 0, 32),
    (0x400, 0x40f, 0, 80),
    (0x410, 0x42f, 0, 32),
];

fn table_bytes(table: &[(u32, u32, u32, i32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(table.len() * 16);
    for (lo, hi, which, delta) in table {
        out.extend_from_slice(&lo.to_le_bytes());
        out.extend_from_slice(&hi.to_le_bytes());
        out.extend_from_slice(&which.to_le_bytes());
        out.extend_from_slice(&delta.to_le_bytes());
    }
    out
}

impl Lowerer<'_> {
    /// `(ptr) -> cp | len << 24` for the UTF-8 sequence at `ptr` (valid UTF-8 assumed: every
    /// `Str` is).
    pub(super) fn rt_utf8_decode(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("utf8_decode"), vec![ValType::I32], vec![ValType::I32]);
        let p = b.param(0);
        let b0 = b.local(ValType::I32);
        let cont = |b: &mut FnBuilder, at: u32| {
            b.get(p).load8(at).i32(0x3f).w(I::I32And);
        };
        b.get(p).load8(0).tee(b0).i32(0x80).i32_lt_u();
        b.if_(None);
        b.get(b0).i32(1 << 24).w(I::I32Or).ret();
        b.end();
        b.get(b0).i32(0xe0).i32_lt_u();
        b.if_(None);
        b.get(b0).i32(0x1f).w(I::I32And).i32(6).w(I::I32Shl);
        cont(&mut b, 1);
        b.w(I::I32Or).i32(2 << 24).w(I::I32Or).ret();
        b.end();
        b.get(b0).i32(0xf0).i32_lt_u();
        b.if_(None);
        b.get(b0).i32(0x0f).w(I::I32And).i32(12).w(I::I32Shl);
        cont(&mut b, 1);
        b.i32(6).w(I::I32Shl).w(I::I32Or);
        cont(&mut b, 2);
        b.w(I::I32Or).i32(3 << 24).w(I::I32Or).ret();
        b.end();
        b.get(b0).i32(0x07).w(I::I32And).i32(18).w(I::I32Shl);
        cont(&mut b, 1);
        b.i32(12).w(I::I32Shl).w(I::I32Or);
        cont(&mut b, 2);
        b.i32(6).w(I::I32Shl).w(I::I32Or);
        cont(&mut b, 3);
        b.w(I::I32Or).i32(4 << 24).w(I::I32Or);
        b
    }

    /// `(sb, code point)`: appends its UTF-8 encoding.
    pub(super) fn rt_sb_push_char(&mut self) -> FnBuilder {
        let push = self.rt(Rt::SbPushByte);
        let mut b = FnBuilder::new(name("sb_push_char"), vec![ValType::I32; 2], vec![]);
        let (sb, cp) = (b.param(0), b.param(1));
        let byte = |b: &mut FnBuilder, shift: i32, mask: i32, tag: i32| {
            b.get(sb).get(cp);
            if shift > 0 {
                b.i32(shift).w(I::I32ShrU);
            }
            b.i32(mask).w(I::I32And).i32(tag).w(I::I32Or).call(push);
        };
        b.get(cp).i32(0x80).i32_lt_u();
        b.if_(None);
        b.get(sb).get(cp).call(push).ret();
        b.end();
        b.get(cp).i32(0x800).i32_lt_u();
        b.if_(None);
        byte(&mut b, 6, 0x1f, 0xc0);
        byte(&mut b, 0, 0x3f, 0x80);
        b.ret();
        b.end();
        b.get(cp).i32(0x10000).i32_lt_u();
        b.if_(None);
        byte(&mut b, 12, 0x0f, 0xe0);
        byte(&mut b, 6, 0x3f, 0x80);
        byte(&mut b, 0, 0x3f, 0x80);
        b.ret();
        b.end();
        byte(&mut b, 18, 0x07, 0xf0);
        byte(&mut b, 12, 0x3f, 0x80);
        byte(&mut b, 6, 0x3f, 0x80);
        byte(&mut b, 0, 0x3f, 0x80);
        b
    }

    /// Pushes whether the code point in `cp` is Unicode White_Space.
    fn is_space(b: &mut FnBuilder, cp: crate::lower::Local) {
        b.get(cp).i32(9).i32_sub().i32(4).i32_le_u();
        for single in [0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000] {
            b.get(cp).i32(single).i32_eq().w(I::I32Or);
        }
        b.get(cp).i32(0x2000).i32_sub().i32(0x0a).i32_le_u().w(I::I32Or);
    }

    pub(super) fn rt_str_trim(&mut self) -> FnBuilder {
        let decode = self.rt(Rt::Utf8Decode);
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("str_trim"), vec![ValType::I32], vec![ValType::I32]);
        let s = b.param(0);
        let (i, j, k, cp, d, p) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(s).load32(0).set(j);
        // Leading white space.
        let front = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(j).i32_ge_u().br_if(front);
        b.get(s).get(i).i32_add().u32(STR_BYTES).i32_add().call(decode).tee(d).i32(0xffffff).w(I::I32And).set(cp);
        Self::is_space(&mut b, cp);
        b.i32_eqz().br_if(front);
        b.get(i).get(d).i32(24).w(I::I32ShrU).i32_add().set(i);
        b.br(lp);
        b.end();
        b.end();
        // Trailing white space.
        let back = b.block(None);
        let lp = b.loop_(None);
        b.get(j).get(i).i32_le_u().br_if(back);
        b.get(j).i32(1).i32_sub().set(k);
        let found = b.block(None);
        let start = b.loop_(None);
        b.get(s).get(k).i32_add().load8(STR_BYTES).i32(0xc0).w(I::I32And).i32(0x80).i32_ne().br_if(found);
        b.get(k).i32(1).i32_sub().set(k).br(start);
        b.end();
        b.end();
        b.get(s).get(k).i32_add().u32(STR_BYTES).i32_add().call(decode).i32(0xffffff).w(I::I32And).set(cp);
        Self::is_space(&mut b, cp);
        b.i32_eqz().br_if(back);
        b.get(k).set(j).br(lp);
        b.end();
        b.end();
        b.get(i).i32_eqz().get(j).get(s).load32(0).i32_eq().w(I::I32And);
        b.if_(None);
        b.get(s).ret();
        b.end();
        b.get(j).get(i).i32_sub().u32(STR_BYTES).i32_add().call(alloc).tee(p);
        b.get(j).get(i).i32_sub().store32(0);
        b.get(p).u32(STR_BYTES).i32_add().get(s).get(i).i32_add().u32(STR_BYTES).i32_add();
        b.get(j).get(i).i32_sub().memcpy();
        b.get(p);
        b
    }

    pub(super) fn rt_str_case(&mut self, upper: bool) -> FnBuilder {
        let decode = self.rt(Rt::Utf8Decode);
        let push_char = self.rt(Rt::SbPushChar);
        let push_byte = self.rt(Rt::SbPushByte);
        let sb_new = self.rt(Rt::SbNew);
        let finish = self.rt(Rt::SbFinish);
        let table = if upper { TO_UPPER } else { TO_LOWER };
        let data = self.static_data(table_bytes(table), 4);
        let mut b = FnBuilder::new(name(if upper { "str_upper" } else { "str_lower" }), vec![ValType::I32], vec![ValType::I32]);
        let s = b.param(0);
        let (sb, i, d, cp, e) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.call(sb_new).set(sb);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(s).load32(0).i32_ge_u().br_if(done);
        b.get(s).get(i).i32_add().u32(STR_BYTES).i32_add().call(decode).tee(d).i32(0xffffff).w(I::I32And).set(cp);
        b.get(i).get(d).i32(24).w(I::I32ShrU).i32_add().set(i);
        if upper {
            // ß has no one-character capital.
            b.get(cp).i32(0xdf).i32_eq();
            b.if_(None);
            b.get(sb).i32(b'S' as i32).call(push_byte);
            b.get(sb).i32(b'S' as i32).call(push_byte);
            b.br(lp);
            b.end();
        }
        // Find the first table row containing cp.
        b.i32(0).set(e);
        let mapped = b.block(None);
        let rows = b.loop_(None);
        b.get(e).u32(table.len() as u32).i32_ge_u().br_if(mapped);
        b.get(cp).data(data).get(e).i32(4).w(I::I32Shl).i32_add().load32(0).w(I::I32GeU);
        b.get(cp).data(data).get(e).i32(4).w(I::I32Shl).i32_add().load32(4).i32_le_u().w(I::I32And);
        b.if_(None);
        {
            // which: 0 all, 1 only even, 2 only odd
            let which = b.local(ValType::I32);
            b.data(data).get(e).i32(4).w(I::I32Shl).i32_add().load32(8).set(which);
            b.get(which).i32_eqz();
            b.get(which).i32(1).i32_eq().get(cp).i32(1).w(I::I32And).i32_eqz().w(I::I32And).w(I::I32Or);
            b.get(which).i32(2).i32_eq().get(cp).i32(1).w(I::I32And).w(I::I32And).w(I::I32Or);
            b.if_(None);
            b.get(cp).data(data).get(e).i32(4).w(I::I32Shl).i32_add().load32(12).i32_add().set(cp);
            b.end();
            b.br(mapped);
        }
        b.end();
        b.inc(e, 1).br(rows);
        b.end();
        b.end();
        b.get(sb).get(cp).call(push_char);
        b.br(lp);
        b.end();
        b.end();
        b.get(sb).call(finish);
        b
    }
}
