//! Printing a `Float` exactly as upstream Fitz does (Rust's `Display`, plus `.0` on whole
//! numbers): the shortest digits that read back to the same double (Ryu, Ulf Adams 2018)
//! written out positionally, and whole numbers written in full (`{:.1}`), which for numbers
//! past 2^63 means exact big-integer digits.
//!
//! `reference` below is the same algorithm in plain Rust, step for step; a test checks it
//! against Rust's own formatting, and the tests crate checks the wasm version against both.

use wasm_encoder::Instruction as I;

use super::ryu_tables::{POW5_BITCOUNT, POW5_INV_BITCOUNT, POW5_INV_SPLIT, POW5_SPLIT};
use super::{Lowerer, Rt, name};
use crate::ir::ValType;
use crate::lower::{FnBuilder, Local};

fn table_bytes(table: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(table.len() * 16);
    for (lo, hi) in table {
        out.extend_from_slice(&lo.to_le_bytes());
        out.extend_from_slice(&hi.to_le_bytes());
    }
    out
}

impl Lowerer<'_> {
    /// `(sb, x)`
    pub(super) fn rt_sb_push_f64(&mut self) -> FnBuilder {
        let push_str = self.rt(Rt::SbPushStr);
        let push_byte = self.rt(Rt::SbPushByte);
        let push_i64 = self.rt(Rt::SbPushI64);
        let shortest = self.ryu_shortest();
        let big = self.push_big_integral();
        let nan = self.string("NaN");
        let inf = self.string("inf");
        let dot_zero = self.string(".0");
        let mut b = FnBuilder::new(name("sb_push_f64"), vec![ValType::I32, ValType::F64], vec![]);
        let (sb, x) = (b.param(0), b.param(1));
        b.get(x).get(x).w(I::F64Ne);
        b.if_(None);
        b.get(sb).data(nan).call(push_str).ret();
        b.end();
        b.get(x).w(I::I64ReinterpretF64).i64(0).w(I::I64LtS);
        b.if_(None);
        b.get(sb).i32(b'-' as i32).call(push_byte);
        b.get(x).w(I::F64Neg).set(x);
        b.end();
        b.get(x).f64(f64::INFINITY).w(I::F64Eq);
        b.if_(None);
        b.get(sb).data(inf).call(push_str).ret();
        b.end();
        b.get(x).get(x).w(I::F64Floor).w(I::F64Eq);
        b.if_(None);
        {
            b.get(x).f64(9.223_372_036_854_776e18).w(I::F64Lt);
            b.if_(None);
            b.get(sb).get(x).w(I::I64TruncF64S).call(push_i64);
            b.else_();
            b.get(sb).get(x).call(big);
            b.end();
            b.get(sb).data(dot_zero).call(push_str).ret();
        }
        b.end();
        b.get(sb).get(x).call(shortest);
        b
    }

    /// `(sb, x)` for finite, positive, non-integral `x`: Ryu's shortest digits, positional.
    fn ryu_shortest(&mut self) -> crate::ir::FuncId {
        let push_byte = self.rt(Rt::SbPushByte);
        let push_i64 = self.rt(Rt::SbPushI64);
        let mul_shift = self.ryu_mul_shift();
        let pos = self.static_data(table_bytes(&POW5_SPLIT), 8);
        let inv = self.static_data(table_bytes(&POW5_INV_SPLIT), 8);
        let mut b = FnBuilder::new(name("ryu_shortest"), vec![ValType::I32, ValType::F64], vec![]);
        let (sb, x) = (b.param(0), b.param(1));
        let i64s = |b: &mut FnBuilder| b.local(ValType::I64);
        let (bits, m2, mv, vr, vp, vm, output) = (i64s(&mut b), i64s(&mut b), i64s(&mut b), i64s(&mut b), i64s(&mut b), i64s(&mut b), i64s(&mut b));
        let i32s = |b: &mut FnBuilder| b.local(ValType::I32);
        let (e2, mm_shift, q, e10, k, i, j, accept, vm_tz, vr_tz, removed, last) = (
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
            i32s(&mut b),
        );
        let (ieee_m, ieee_e) = (i64s(&mut b), i32s(&mut b));
        b.get(x).w(I::I64ReinterpretF64).set(bits);
        b.get(bits).i64((1 << 52) - 1).w(I::I64And).set(ieee_m);
        b.get(bits).i64(52).w(I::I64ShrU).w(I::I32WrapI64).i32(0x7ff).w(I::I32And).set(ieee_e);
        // Step 1: decode.
        b.get(ieee_e).i32_eqz();
        b.if_(None);
        b.i32(1 - 1023 - 52 - 2).set(e2).get(ieee_m).set(m2);
        b.else_();
        b.get(ieee_e).i32(1023 + 52 + 2).i32_sub().set(e2).get(ieee_m).i64(1 << 52).w(I::I64Or).set(m2);
        b.end();
        b.get(m2).i64(1).w(I::I64And).i64_eqz().set(accept);
        // Step 2: the interval.
        b.get(m2).i64(4).i64_mul().set(mv);
        b.get(ieee_m).i64(0).w(I::I64Ne).get(ieee_e).i32(1).i32_le_u().w(I::I32Or).set(mm_shift);
        // Step 3: to a decimal power base.
        b.get(e2).i32(0).w(I::I32GeS);
        b.if_(None);
        {
            // q = log10Pow2(e2) - (e2 > 3)
            b.get(e2).i32(78913).i32_mul().i32(18).w(I::I32ShrU).get(e2).i32(3).w(I::I32GtS).i32_sub().set(q);
            b.get(q).set(e10);
            // k = POW5_INV_BITCOUNT + pow5bits(q) - 1; i = -e2 + q + k
            pow5bits(&mut b, q);
            b.i32(POW5_INV_BITCOUNT - 1).i32_add().set(k);
            b.i32(0).get(e2).i32_sub().get(q).i32_add().get(k).i32_add().set(i);
            mul_shift_all(&mut b, mul_shift, inv, q, m2, mm_shift, i, vr, vp, vm);
            b.get(q).i32(21).i32_le_u();
            b.if_(None);
            {
                b.get(mv).i64(5).w(I::I64RemU).i64_eqz();
                b.if_(None);
                multiple_of_pow5(&mut b, mv, 0, q);
                b.set(vr_tz);
                b.else_();
                b.get(accept);
                b.if_(None);
                b.get(mv).i64(1).i64_sub().get(mm_shift).w(I::I64ExtendI32U).i64_sub();
                let t = b.local(ValType::I64);
                b.set(t);
                multiple_of_pow5(&mut b, t, 0, q);
                b.set(vm_tz);
                b.else_();
                b.get(vp);
                multiple_of_pow5(&mut b, mv, 2, q);
                b.w(I::I64ExtendI32U).i64_sub().set(vp);
                b.end();
                b.end();
            }
            b.end();
        }
        b.else_();
        {
            // q = log10Pow5(-e2) - (-e2 > 1); e10 = q + e2
            let ne2 = b.local(ValType::I32);
            b.i32(0).get(e2).i32_sub().set(ne2);
            b.get(ne2).i32(732_923).i32_mul().i32(20).w(I::I32ShrU).get(ne2).i32(1).w(I::I32GtS).i32_sub().set(q);
            b.get(q).get(e2).i32_add().set(e10);
            // i = -e2 - q; k = pow5bits(i) - POW5_BITCOUNT; j = q - k
            b.get(ne2).get(q).i32_sub().set(i);
            pow5bits(&mut b, i);
            b.i32(POW5_BITCOUNT).i32_sub().set(k);
            b.get(q).get(k).i32_sub().set(j);
            mul_shift_all(&mut b, mul_shift, pos, i, m2, mm_shift, j, vr, vp, vm);
            b.get(q).i32(1).i32_le_u();
            b.if_(None);
            {
                b.i32(1).set(vr_tz);
                b.get(accept);
                b.if_(None);
                b.get(mm_shift).i32(1).i32_eq().set(vm_tz);
                b.else_();
                b.get(vp).i64(1).i64_sub().set(vp);
                b.end();
            }
            b.else_();
            {
                b.get(q).i32(63).i32_lt_u();
                b.if_(None);
                // multipleOfPowerOf2(mv, q)
                b.get(mv).i64(1).get(q).w(I::I64ExtendI32U).w(I::I64Shl).i64(1).i64_sub().w(I::I64And).i64_eqz().set(vr_tz);
                b.end();
            }
            b.end();
        }
        b.end();
        // Step 4: the shortest representation in the interval.
        let (vp10, vm10, vr10) = (i64s(&mut b), i64s(&mut b), i64s(&mut b));
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(vp).i64(10).w(I::I64DivU).tee(vp10).get(vm).i64(10).w(I::I64DivU).tee(vm10).w(I::I64LeU).br_if(done);
        b.get(vm_tz).get(vm).get(vm10).i64(10).i64_mul().i64_sub().i64_eqz().w(I::I32And).set(vm_tz);
        b.get(vr).i64(10).w(I::I64DivU).set(vr10);
        b.get(vr_tz).get(last).i32_eqz().w(I::I32And).set(vr_tz);
        b.get(vr).get(vr10).i64(10).i64_mul().i64_sub().w(I::I32WrapI64).set(last);
        b.get(vr10).set(vr).get(vp10).set(vp).get(vm10).set(vm);
        b.inc(removed, 1).br(lp);
        b.end();
        b.end();
        b.get(vm_tz);
        b.if_(None);
        {
            let done = b.block(None);
            let lp = b.loop_(None);
            b.get(vm).i64(10).w(I::I64DivU).set(vm10);
            b.get(vm).get(vm10).i64(10).i64_mul().i64_sub().i64(0).w(I::I64Ne).br_if(done);
            b.get(vp).i64(10).w(I::I64DivU).set(vp10);
            b.get(vr).i64(10).w(I::I64DivU).set(vr10);
            b.get(vr_tz).get(last).i32_eqz().w(I::I32And).set(vr_tz);
            b.get(vr).get(vr10).i64(10).i64_mul().i64_sub().w(I::I32WrapI64).set(last);
            b.get(vr10).set(vr).get(vp10).set(vp).get(vm10).set(vm);
            b.inc(removed, 1).br(lp);
            b.end();
            b.end();
        }
        b.end();
        // An exact tie (…5000) rounds up, as Rust's formatting does (Ryu itself would round
        // to even here); the reference test pins this down.
        // output = vr + ((vr == vm && (!accept || !vm_tz)) || last >= 5)
        b.get(vr);
        b.get(vr).get(vm).i64_eq().get(accept).i32_eqz().get(vm_tz).i32_eqz().w(I::I32Or).w(I::I32And);
        b.get(last).i32(5).i32_ge_u().w(I::I32Or).w(I::I64ExtendI32U).i64_add().set(output);
        b.get(e10).get(removed).i32_add().set(e10);
        // Positional: digits of `output`, point after `olength + exp` digits.
        let (olength, point, digits_end, p, t) = (i32s(&mut b), i32s(&mut b), i32s(&mut b), i32s(&mut b), i64s(&mut b));
        const DIGITS_END: u32 = guest_abi::layout::SCRATCH_ADDR + 150;
        b.u32(DIGITS_END).set(p).get(output).set(t);
        let lp = b.loop_(None);
        b.get(p).i32(1).i32_sub().tee(p);
        b.get(t).i64(10).w(I::I64RemU).w(I::I32WrapI64).i32(48).i32_add().store8(0);
        b.get(t).i64(10).w(I::I64DivU).tee(t).i64(0).w(I::I64Ne).br_if(lp);
        b.end();
        b.u32(DIGITS_END).set(digits_end);
        b.get(digits_end).get(p).i32_sub().set(olength);
        b.get(olength).get(e10).i32_add().set(point);
        let _ = push_i64;
        // point <= 0: "0." zeros digits
        b.get(point).i32(0).w(I::I32LeS);
        b.if_(None);
        {
            b.get(sb).i32(b'0' as i32).call(push_byte);
            b.get(sb).i32(b'.' as i32).call(push_byte);
            let z = i32s(&mut b);
            b.i32(0).get(point).i32_sub().set(z);
            let done = b.block(None);
            let lp = b.loop_(None);
            b.get(z).i32_eqz().br_if(done);
            b.get(sb).i32(b'0' as i32).call(push_byte);
            b.get(z).i32(1).i32_sub().set(z).br(lp);
            b.end();
            b.end();
            push_digits(&mut b, push_byte, sb, p, digits_end);
            b.ret();
        }
        b.end();
        // 0 < point < olength: insert the point
        b.get(point).get(olength).w(I::I32LtS);
        b.if_(None);
        {
            let mid = i32s(&mut b);
            b.get(p).get(point).i32_add().set(mid);
            push_digits(&mut b, push_byte, sb, p, mid);
            b.get(sb).i32(b'.' as i32).call(push_byte);
            push_digits(&mut b, push_byte, sb, mid, digits_end);
            b.ret();
        }
        b.end();
        // point >= olength: digits then zeros
        push_digits(&mut b, push_byte, sb, p, digits_end);
        let z = i32s(&mut b);
        b.get(point).get(olength).i32_sub().set(z);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(z).i32_eqz().br_if(done);
        b.get(sb).i32(b'0' as i32).call(push_byte);
        b.get(z).i32(1).i32_sub().set(z).br(lp);
        b.end();
        b.end();
        self.add(b)
    }

    /// `(m, table entry address, j) -> (m * entry) >> j` over the 128-bit entry.
    fn ryu_mul_shift(&mut self) -> crate::ir::FuncId {
        let mut b = FnBuilder::new(name("ryu_mul_shift"), vec![ValType::I64, ValType::I32, ValType::I32], vec![ValType::I64]);
        let (m, entry, j) = (b.param(0), b.param(1), b.param(2));
        let l = |b: &mut FnBuilder| b.local(ValType::I64);
        let (low1, high1, high0, sum, dist) = (l(&mut b), l(&mut b), l(&mut b), l(&mut b), l(&mut b));
        umul128(&mut b, m, entry, 8, low1, high1);
        let unused = l(&mut b);
        umul128(&mut b, m, entry, 0, unused, high0);
        b.get(high0).get(low1).i64_add().tee(sum).get(high0).w(I::I64LtU);
        b.if_(None);
        b.get(high1).i64(1).i64_add().set(high1);
        b.end();
        // shiftright128(sum, high1, j - 64), with 0 < j - 64 < 64
        b.get(j).i32(64).i32_sub().w(I::I64ExtendI32U).set(dist);
        b.get(high1).i64(64).get(dist).i64_sub().w(I::I64Shl).get(sum).get(dist).w(I::I64ShrU).w(I::I64Or);
        self.add(b)
    }

    /// `(sb, x)` for whole `x >= 2^63`: its exact decimal digits (base 10^9 limbs).
    fn push_big_integral(&mut self) -> crate::ir::FuncId {
        let alloc = self.rt(Rt::Alloc);
        let push_i64 = self.rt(Rt::SbPushI64);
        let push_byte = self.rt(Rt::SbPushByte);
        let mut b = FnBuilder::new(name("push_big_integral"), vec![ValType::I32, ValType::F64], vec![]);
        let (sb, x) = (b.param(0), b.param(1));
        let (m, carry, t) = (b.local(ValType::I64), b.local(ValType::I64), b.local(ValType::I64));
        let (e, limbs, n, i, s, k, digit) =
            (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(x).w(I::I64ReinterpretF64).tee(m).i64(52).w(I::I64ShrU).w(I::I32WrapI64).i32(0x7ff).w(I::I32And).i32(1075).i32_sub().set(e);
        b.get(m).i64((1 << 52) - 1).w(I::I64And).i64(1 << 52).w(I::I64Or).set(m);
        b.i32(40 * 4).call(alloc).set(limbs);
        // m in limbs of 10^9
        let lp = b.loop_(None);
        b.get(limbs).get(n).i32(2).w(I::I32Shl).i32_add().get(m).i64(1_000_000_000).w(I::I64RemU).w(I::I32WrapI64).store32(0);
        b.inc(n, 1);
        b.get(m).i64(1_000_000_000).w(I::I64DivU).tee(m).i64(0).w(I::I64Ne).br_if(lp);
        b.end();
        // times 2^e, at most 2^29 at a time
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(e).i32_eqz().br_if(done);
        b.get(e).i32(29).get(e).i32(29).i32_lt_u().select().set(s);
        b.get(e).get(s).i32_sub().set(e);
        b.i64(0).set(carry).i32(0).set(i);
        let limbs_done = b.block(None);
        let each = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(limbs_done);
        b.get(limbs).get(i).i32(2).w(I::I32Shl).i32_add().load32(0).w(I::I64ExtendI32U).get(s).w(I::I64ExtendI32U).w(I::I64Shl).get(carry).i64_add().set(t);
        b.get(limbs).get(i).i32(2).w(I::I32Shl).i32_add().get(t).i64(1_000_000_000).w(I::I64RemU).w(I::I32WrapI64).store32(0);
        b.get(t).i64(1_000_000_000).w(I::I64DivU).set(carry);
        b.inc(i, 1).br(each);
        b.end();
        b.end();
        let no_carry = b.block(None);
        let carries = b.loop_(None);
        b.get(carry).i64_eqz().br_if(no_carry);
        b.get(limbs).get(n).i32(2).w(I::I32Shl).i32_add().get(carry).i64(1_000_000_000).w(I::I64RemU).w(I::I32WrapI64).store32(0);
        b.get(carry).i64(1_000_000_000).w(I::I64DivU).set(carry);
        b.inc(n, 1).br(carries);
        b.end();
        b.end();
        b.br(lp);
        b.end();
        b.end();
        // most significant limb as is, the rest zero-padded to 9 digits
        b.get(n).i32(1).i32_sub().set(i);
        b.get(sb).get(limbs).get(i).i32(2).w(I::I32Shl).i32_add().load32(0).w(I::I64ExtendI32U).call(push_i64);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).i32_eqz().br_if(done);
        b.get(i).i32(1).i32_sub().set(i);
        b.i32(100_000_000).set(k);
        let digits = b.loop_(None);
        b.get(limbs).get(i).i32(2).w(I::I32Shl).i32_add().load32(0).get(k).w(I::I32DivU).i32(10).w(I::I32RemU).set(digit);
        b.get(sb).get(digit).i32(48).i32_add().call(push_byte);
        b.get(k).i32(10).w(I::I32DivU).tee(k).br_if(digits);
        b.end();
        b.br(lp);
        b.end();
        b.end();
        self.add(b)
    }
}

/// Pushes pow5bits(e) = ((e * 1217359) >> 19) + 1.
fn pow5bits(b: &mut FnBuilder, e: Local) {
    b.get(e).i32(1_217_359).i32_mul().i32(19).w(I::I32ShrU).i32(1).i32_add();
}

/// Pushes whether `value + add` is divisible by 5^p.
fn multiple_of_pow5(b: &mut FnBuilder, value: Local, add: i64, p: Local) {
    let (v, count) = (b.local(ValType::I64), b.local(ValType::I32));
    b.get(value).i64(add).i64_add().set(v);
    let done = b.block(None);
    let lp = b.loop_(None);
    b.get(v).i64(5).w(I::I64RemU).i64(0).w(I::I64Ne).br_if(done);
    b.get(v).i64(5).w(I::I64DivU).set(v);
    b.inc(count, 1).br(lp);
    b.end();
    b.end();
    b.get(count).get(p).i32_ge_u();
}

/// vr, vp, vm = (4m, 4m+2, 4m-1-mmShift) * table[index] >> j
#[allow(clippy::too_many_arguments)]
fn mul_shift_all(b: &mut FnBuilder, mul_shift: crate::ir::FuncId, table: crate::ir::DataId, index: Local, m2: Local, mm_shift: Local, j: Local, vr: Local, vp: Local, vm: Local) {
    let entry = b.local(ValType::I32);
    b.data(table).get(index).i32(4).w(I::I32Shl).i32_add().set(entry);
    b.get(m2).i64(4).i64_mul().i64(2).i64_add().get(entry).get(j).call(mul_shift).set(vp);
    b.get(m2).i64(4).i64_mul().i64(1).i64_sub().get(mm_shift).w(I::I64ExtendI32U).i64_sub().get(entry).get(j).call(mul_shift).set(vm);
    b.get(m2).i64(4).i64_mul().get(entry).get(j).call(mul_shift).set(vr);
}

/// (lo, hi) = a * [entry + offset], a full 64 x 64 → 128-bit product from 32-bit halves.
fn umul128(b: &mut FnBuilder, a: Local, entry: Local, offset: u32, lo: Local, hi: Local) {
    let l = |b: &mut FnBuilder| b.local(ValType::I64);
    let (x, a_lo, a_hi, b_lo, b_hi, b00, b01, b10, b11, mid1, mid2) = (l(b), l(b), l(b), l(b), l(b), l(b), l(b), l(b), l(b), l(b), l(b));
    b.get(entry).load64(offset).set(x);
    b.get(a).i64(0xffff_ffff).w(I::I64And).set(a_lo);
    b.get(a).i64(32).w(I::I64ShrU).set(a_hi);
    b.get(x).i64(0xffff_ffff).w(I::I64And).set(b_lo);
    b.get(x).i64(32).w(I::I64ShrU).set(b_hi);
    b.get(a_lo).get(b_lo).i64_mul().set(b00);
    b.get(a_lo).get(b_hi).i64_mul().set(b01);
    b.get(a_hi).get(b_lo).i64_mul().set(b10);
    b.get(a_hi).get(b_hi).i64_mul().set(b11);
    b.get(b10).get(b00).i64(32).w(I::I64ShrU).i64_add().set(mid1);
    b.get(b01).get(mid1).i64(0xffff_ffff).w(I::I64And).i64_add().set(mid2);
    b.get(b11).get(mid1).i64(32).w(I::I64ShrU).i64_add().get(mid2).i64(32).w(I::I64ShrU).i64_add().set(hi);
    b.get(mid2).i64(32).w(I::I64Shl).get(b00).i64(0xffff_ffff).w(I::I64And).w(I::I64Or).set(lo);
}

/// Pushes the digit bytes in [from, to).
fn push_digits(b: &mut FnBuilder, push_byte: crate::ir::FuncId, sb: Local, from: Local, to: Local) {
    let i = b.local(ValType::I32);
    b.get(from).set(i);
    let done = b.block(None);
    let lp = b.loop_(None);
    b.get(i).get(to).i32_ge_u().br_if(done);
    b.get(sb).get(i).load8(0).call(push_byte);
    b.inc(i, 1).br(lp);
    b.end();
    b.end();
}

#[cfg(test)]
// Literals such as 3.14 are test inputs, not approximations of π.
#[allow(clippy::approx_constant)]
pub mod reference {
    //! The algorithm above in plain Rust, step for step, for testing it against Rust's own
    //! formatting.
    use super::*;

    fn umul128(a: u64, b: u64) -> (u64, u64) {
        let (a_lo, a_hi, b_lo, b_hi) = (a & 0xffff_ffff, a >> 32, b & 0xffff_ffff, b >> 32);
        let (b00, b01, b10, b11) = (a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi);
        let mid1 = b10 + (b00 >> 32);
        let mid2 = b01 + (mid1 & 0xffff_ffff);
        let hi = b11 + (mid1 >> 32) + (mid2 >> 32);
        let lo = (mid2 << 32) | (b00 & 0xffff_ffff);
        (lo, hi)
    }

    fn mul_shift(m: u64, (mul_lo, mul_hi): (u64, u64), j: i32) -> u64 {
        let (low1, mut high1) = umul128(m, mul_hi);
        let (_, high0) = umul128(m, mul_lo);
        let sum = high0.wrapping_add(low1);
        if sum < high0 {
            high1 += 1;
        }
        let dist = (j - 64) as u32;
        assert!(dist > 0 && dist < 64, "j = {j}");
        (high1 << (64 - dist)) | (sum >> dist)
    }

    fn pow5bits(e: i32) -> i32 {
        ((e as u32 * 1_217_359) >> 19) as i32 + 1
    }

    fn multiple_of_pow5(mut v: u64, p: i32) -> bool {
        let mut count = 0;
        while v.is_multiple_of(5) {
            v /= 5;
            count += 1;
        }
        count >= p
    }

    /// (digits, exponent) of the shortest representation of a finite positive double.
    pub fn d2d(x: f64) -> (u64, i32) {
        let bits = x.to_bits();
        let ieee_m = bits & ((1 << 52) - 1);
        let ieee_e = ((bits >> 52) & 0x7ff) as i32;
        let (e2, m2) = if ieee_e == 0 { (1 - 1023 - 52 - 2, ieee_m) } else { (ieee_e - 1023 - 52 - 2, ieee_m | 1 << 52) };
        let accept = m2 & 1 == 0;
        let mv = 4 * m2;
        let mm_shift = u64::from(ieee_m != 0 || ieee_e <= 1);
        let (mut vr, mut vp, mut vm);
        let e10;
        let (mut vm_tz, mut vr_tz) = (false, false);
        if e2 >= 0 {
            let q = ((e2 as u32 * 78913) >> 18) as i32 - i32::from(e2 > 3);
            e10 = q;
            let k = POW5_INV_BITCOUNT + pow5bits(q) - 1;
            let i = -e2 + q + k;
            let entry = POW5_INV_SPLIT[q as usize];
            vr = mul_shift(4 * m2, entry, i);
            vp = mul_shift(4 * m2 + 2, entry, i);
            vm = mul_shift(4 * m2 - 1 - mm_shift, entry, i);
            if q <= 21 {
                if mv % 5 == 0 {
                    vr_tz = multiple_of_pow5(mv, q);
                } else if accept {
                    vm_tz = multiple_of_pow5(mv - 1 - mm_shift, q);
                } else {
                    vp -= u64::from(multiple_of_pow5(mv + 2, q));
                }
            }
        } else {
            let q = (((-e2) as u32 * 732_923) >> 20) as i32 - i32::from(-e2 > 1);
            e10 = q + e2;
            let i = -e2 - q;
            let k = pow5bits(i) - POW5_BITCOUNT;
            let j = q - k;
            let entry = POW5_SPLIT[i as usize];
            vr = mul_shift(4 * m2, entry, j);
            vp = mul_shift(4 * m2 + 2, entry, j);
            vm = mul_shift(4 * m2 - 1 - mm_shift, entry, j);
            if q <= 1 {
                vr_tz = true;
                if accept {
                    vm_tz = mm_shift == 1;
                } else {
                    vp -= 1;
                }
            } else if q < 63 {
                vr_tz = mv & ((1 << q) - 1) == 0;
            }
        }
        let mut removed = 0;
        let mut last = 0;
        while vp / 10 > vm / 10 {
            vm_tz &= vm % 10 == 0;
            vr_tz &= last == 0;
            last = vr % 10;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed += 1;
        }
        if vm_tz {
            while vm % 10 == 0 {
                vr_tz &= last == 0;
                last = vr % 10;
                vr /= 10;
                vm /= 10;
                removed += 1;
            }
        }
        let _ = vr_tz;
        let output = vr + u64::from((vr == vm && (!accept || !vm_tz)) || last >= 5);
        (output, e10 + removed)
    }

    /// What Fitz prints for a Float.
    pub fn display(x: f64) -> String {
        if x.is_nan() {
            return "NaN".into();
        }
        let mut out = String::new();
        let mut x = x;
        if x.is_sign_negative() {
            out.push('-');
            x = -x;
        }
        if x.is_infinite() {
            out.push_str("inf");
            return out;
        }
        if x == x.floor() {
            if x < 9.223_372_036_854_776e18 {
                out.push_str(&(x as i64).to_string());
            } else {
                let bits = x.to_bits();
                let e = ((bits >> 52) & 0x7ff) as i32 - 1075;
                let m = (bits & ((1 << 52) - 1)) | 1 << 52;
                let mut limbs = vec![];
                let mut t = m;
                while t > 0 {
                    limbs.push(t % 1_000_000_000);
                    t /= 1_000_000_000;
                }
                let mut e = e;
                while e > 0 {
                    let s = e.min(29);
                    e -= s;
                    let mut carry = 0;
                    for l in &mut limbs {
                        let v = (*l << s) + carry;
                        *l = v % 1_000_000_000;
                        carry = v / 1_000_000_000;
                    }
                    while carry > 0 {
                        limbs.push(carry % 1_000_000_000);
                        carry /= 1_000_000_000;
                    }
                }
                out.push_str(&limbs.last().map(|l| l.to_string()).unwrap_or_default());
                for l in limbs.iter().rev().skip(1) {
                    out.push_str(&format!("{l:09}"));
                }
            }
            out.push_str(".0");
            return out;
        }
        let (output, exp) = d2d(x);
        let digits = output.to_string();
        let point = digits.len() as i32 + exp;
        if point <= 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-point) as usize));
            out.push_str(&digits);
        } else if (point as usize) < digits.len() {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        } else {
            out.push_str(&digits);
            out.push_str(&"0".repeat(point as usize - digits.len()));
        }
        out
    }

    /// What upstream prints: Rust's `{}`, or `{:.1}` for whole numbers.
    pub fn expected(x: f64) -> String {
        if x.is_finite() && x.fract() == 0.0 { format!("{x:.1}") } else { format!("{x}") }
    }

    #[test]
    fn matches_rust_formatting() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.2,
            0.3,
            1.5,
            2.5,
            1e-7,
            1e-300,
            5e-324,
            2.2250738585072014e-308,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e23,
            9007199254740993.0,
            123456.789,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            4503599627370495.5,
            0.000001,
            3.14159,
            2.0f64.powi(63),
            2.0f64.powi(64) + 4096.0,
            -1.7976931348623157e308,
        ];
        for x in specials {
            assert_eq!(display(x), expected(x), "{x:e}");
        }
        // Deterministic pseudo-random bit patterns over the whole range.
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            if x.is_nan() {
                continue;
            }
            assert_eq!(display(x), expected(x), "{:#x}", s);
        }
        // Values with a short binary fraction near 2^50..2^53 make exact decimal ties, where
        // the tie-break matters (Rust rounds them up, not to even).
        for k in 0..200_000u64 {
            for scale in [2.0, 4.0, 8.0, 16.0] {
                let x = (1u64 << 50) as f64 * 1.37 + k as f64 / scale + 0.5 / scale;
                assert_eq!(display(x), expected(x), "{x}");
            }
        }
    }
}
