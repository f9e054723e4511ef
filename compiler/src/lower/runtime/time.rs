//! Clocks, random UUIDs and dates, through WASI (so a program that only prints and reads the
//! clock also runs under a stock WASI runtime).

use guest_abi::imports::Import;
use guest_abi::layout::{SCRATCH_ADDR, STR_BYTES};
use wasm_encoder::Instruction as I;

use super::{Lowerer, Rt, name};
use crate::ir::{FuncId, ValType};
use crate::lower::{FnBuilder, Local};

impl Lowerer<'_> {
    /// `() -> i64`: microseconds since the Unix epoch.
    pub(super) fn rt_now_micros(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("now_micros"), vec![], vec![ValType::I64]);
        b.i32(0).i64(1000).u32(SCRATCH_ADDR).call_import(Import::ClockTimeGet).drop_();
        b.u32(SCRATCH_ADDR).load64(0).i64(1000).w(I::I64DivU);
        b
    }

    /// `() -> Str`: a random (version 4) UUID in canonical lowercase form.
    pub(super) fn rt_uuid_v4(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let hex = self.static_data(b"0123456789abcdef".to_vec(), 1);
        let mut b = FnBuilder::new(name("uuid_v4"), vec![], vec![ValType::I32]);
        let (s, i, o, byte) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.u32(SCRATCH_ADDR).i32(16).call_import(Import::RandomGet).drop_();
        b.u32(SCRATCH_ADDR).u32(SCRATCH_ADDR).load8(6).i32(0x0f).w(I::I32And).i32(0x40).w(I::I32Or).store8(6);
        b.u32(SCRATCH_ADDR).u32(SCRATCH_ADDR).load8(8).i32(0x3f).w(I::I32And).i32(0x80).w(I::I32Or).store8(8);
        b.i32(36 + STR_BYTES as i32).call(alloc).tee(s).i32(36).store32(0);
        b.get(s).u32(STR_BYTES).i32_add().set(o);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).i32(16).i32_ge_u().br_if(done);
        // Dashes before bytes 4, 6, 8 and 10.
        b.get(i).i32(4).i32_eq().get(i).i32(6).i32_eq().w(I::I32Or).get(i).i32(8).i32_eq().w(I::I32Or).get(i).i32(10).i32_eq().w(I::I32Or);
        b.if_(None);
        b.get(o).i32(b'-' as i32).store8(0);
        b.inc(o, 1);
        b.end();
        b.u32(SCRATCH_ADDR).get(i).i32_add().load8(0).set(byte);
        b.get(o).data(hex).get(byte).i32(4).w(I::I32ShrU).i32_add().load8(0).store8(0);
        b.get(o).data(hex).get(byte).i32(15).w(I::I32And).i32_add().load8(0).store8(1);
        b.inc(o, 2).inc(i, 1).br(lp);
        b.end();
        b.end();
        b.get(s);
        b
    }

    /// `(sb, micros)`: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    pub(super) fn rt_sb_push_datetime(&mut self) -> FnBuilder {
        let push_byte = self.rt(Rt::SbPushByte);
        let push_date = self.rt(Rt::SbPushDate);
        let mut b = FnBuilder::new(name("sb_push_datetime"), vec![ValType::I32, ValType::I64], vec![]);
        let (sb, micros) = (b.param(0), b.param(1));
        let [secs, days, rem] = [(); 3].map(|_| b.local(ValType::I64));
        floor_div(&mut b, micros, 1_000_000, secs);
        floor_div(&mut b, secs, 86_400, days);
        b.get(secs).get(days).i64(86_400).i64_mul().i64_sub().set(rem);
        b.get(sb).get(days).call(push_date);
        b.get(sb).i32(i32::from(b'T')).call(push_byte);
        let (hh, mm, ss) = (b.local(ValType::I64), b.local(ValType::I64), b.local(ValType::I64));
        b.get(rem).i64(3600).w(I::I64DivS).set(hh);
        b.get(rem).i64(60).w(I::I64DivS).i64(60).w(I::I64RemS).set(mm);
        b.get(rem).i64(60).w(I::I64RemS).set(ss);
        two_digits(&mut b, sb, hh, push_byte);
        b.get(sb).i32(i32::from(b':')).call(push_byte);
        two_digits(&mut b, sb, mm, push_byte);
        b.get(sb).i32(i32::from(b':')).call(push_byte);
        two_digits(&mut b, sb, ss, push_byte);
        b.get(sb).i32(i32::from(b'Z')).call(push_byte);
        b
    }

    /// `(sb, days)`: `YYYY-MM-DD`, the civil date `days` after 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`).
    pub(super) fn rt_sb_push_date(&mut self) -> FnBuilder {
        let push_byte = self.rt(Rt::SbPushByte);
        let push_i64 = self.rt(Rt::SbPushI64);
        let mut b = FnBuilder::new(name("sb_push_date"), vec![ValType::I32, ValType::I64], vec![]);
        let (sb, days) = (b.param(0), b.param(1));
        let [z, era, doe, yoe, y, doy, mp, d, m] = [(); 9].map(|_| b.local(ValType::I64));
        b.get(days).i64(719_468).i64_add().set(z);
        floor_div(&mut b, z, 146_097, era);
        b.get(z).get(era).i64(146_097).i64_mul().i64_sub().set(doe);
        b.get(doe).get(doe).i64(1460).w(I::I64DivS).i64_sub().get(doe).i64(36_524).w(I::I64DivS).i64_add();
        b.get(doe).i64(146_096).w(I::I64DivS).i64_sub().i64(365).w(I::I64DivS).set(yoe);
        b.get(yoe).get(era).i64(400).i64_mul().i64_add().set(y);
        b.get(doe).get(yoe).i64(365).i64_mul().get(yoe).i64(4).w(I::I64DivS).i64_add().get(yoe).i64(100).w(I::I64DivS).i64_sub().i64_sub().set(doy);
        b.get(doy).i64(5).i64_mul().i64(2).i64_add().i64(153).w(I::I64DivS).set(mp);
        b.get(doy).get(mp).i64(153).i64_mul().i64(2).i64_add().i64(5).w(I::I64DivS).i64_sub().i64(1).i64_add().set(d);
        b.get(mp).i64(3).i64_add().get(mp).i64(9).i64_sub().get(mp).i64(10).w(I::I64LtS).select().set(m);
        b.get(y).get(m).i64(2).w(I::I64LeS).w(I::I64ExtendI32U).i64_add().set(y);
        // Four-digit years are zero-padded; others are printed as they are.
        b.get(y).i64(0).w(I::I64GeS).get(y).i64(9999).w(I::I64LeS).w(I::I32And);
        b.if_(None);
        {
            let hi = b.local(ValType::I64);
            let lo = b.local(ValType::I64);
            b.get(y).i64(100).w(I::I64DivS).set(hi).get(y).i64(100).w(I::I64RemS).set(lo);
            two_digits(&mut b, sb, hi, push_byte);
            two_digits(&mut b, sb, lo, push_byte);
        }
        b.else_();
        b.get(sb).get(y).call(push_i64);
        b.end();
        b.get(sb).i32(i32::from(b'-')).call(push_byte);
        two_digits(&mut b, sb, m, push_byte);
        b.get(sb).i32(i32::from(b'-')).call(push_byte);
        two_digits(&mut b, sb, d, push_byte);
        b
    }
}

/// `out = floor(x / by)` for a positive `by`.
fn floor_div(b: &mut FnBuilder, x: Local, by: i64, out: Local) {
    b.get(x).i64(by).w(I::I64DivS).set(out);
    b.get(x).i64(by).w(I::I64RemS).i64(0).w(I::I64LtS);
    b.if_(None);
    b.get(out).i64(1).i64_sub().set(out);
    b.end();
}

/// Pushes `v` (0..=99) as two digits.
fn two_digits(b: &mut FnBuilder, sb: Local, v: Local, push_byte: FuncId) {
    b.get(sb).get(v).i64(10).w(I::I64DivS).w(I::I32WrapI64).i32(48).i32_add().call(push_byte);
    b.get(sb).get(v).i64(10).w(I::I64RemS).w(I::I32WrapI64).i32(48).i32_add().call(push_byte);
}
