//! The bump allocator, runtime errors, and the small object constructors.

use guest_abi::exports::{OUTCOME_PAYLOAD, OUTCOME_SITE, OUTCOME_SIZE};
use guest_abi::imports::Import;
use guest_abi::layout::{BOX_SIZE, HEAP_POINTER_ADDR, RESULT_PAYLOAD, RESULT_SIZE, RESULT_TAG, SCRATCH_ADDR};
use wasm_encoder::Instruction as I;

use super::{Lowerer, Rt, name};
use crate::ir::ValType;
use crate::lower::FnBuilder;

const IOV: u32 = SCRATCH_ADDR;
const LINE_DIGITS_END: u32 = SCRATCH_ADDR + 108;
const COL_DIGITS_END: u32 = SCRATCH_ADDR + 128;
const NWRITTEN: u32 = SCRATCH_ADDR + 132;

impl Lowerer<'_> {
    /// `(size) -> ptr`: 8-byte aligned; grows memory as needed; exhausting it is a runtime
    /// error (the host's memory limit turns a bomb into this).
    pub(super) fn rt_alloc(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("alloc"), vec![ValType::I32], vec![ValType::I32]);
        let size = b.param(0);
        let p = b.local(ValType::I32);
        let end = b.local(ValType::I32);
        let pages = b.local(ValType::I32);
        b.u32(HEAP_POINTER_ADDR).load32(0).i32(7).i32_add().i32(-8).w(I::I32And).set(p);
        b.get(p).get(size).i32_add().tee(end).get(p).i32_lt_u();
        b.if_(None);
        self.oom(&mut b);
        b.end();
        // Pages needed to hold `end` bytes.
        b.get(end).i32(16).w(I::I32ShrU).get(end).i32(0xffff).w(I::I32And).i32(0).i32_ne().i32_add().set(pages);
        b.get(pages).w(I::MemorySize(0)).i32_gt_u();
        b.if_(None);
        b.get(pages).w(I::MemorySize(0)).i32_sub().w(I::MemoryGrow(0)).i32(-1).i32_eq();
        b.if_(None);
        self.oom(&mut b);
        b.end();
        b.end();
        b.u32(HEAP_POINTER_ADDR).get(end).store32(0);
        b.get(p);
        b
    }

    fn oom(&mut self, b: &mut FnBuilder) {
        let msg = self.string("out of memory");
        let fail = self.rt(Rt::Fail);
        b.data(msg).i32(0).i32(0).i32(0).call(fail).unreachable();
    }

    /// Writes `error: <file>:<line>:<col>: <message>[: <detail>]` (`error: <file>: …` when the
    /// line is 0) to stderr and exits with 1.
    /// It allocates nothing (the line is built in a static buffer, cut at its size), so it
    /// also reports running out of memory.
    pub(super) fn rt_fail(&mut self) -> FnBuilder {
        const BUF: u32 = 1024;
        let buf = self.static_data(vec![0; BUF as usize], 8);
        let write = self.rt(Rt::WriteFd);
        let mut b = FnBuilder::new(name("fail"), vec![ValType::I32; 4], vec![]);
        let (msg, line, col, detail) = (b.param(0), b.param(1), b.param(2), b.param(3));
        let (pos, n) = (b.local(ValType::I32), b.local(ValType::I32));
        let prefix = self.string("error: ");
        let colon = self.string(":");
        let sep = self.string(": ");
        let names = self.sources.names();
        let files: Vec<crate::ir::DataId> = if names.is_empty() { vec![self.string(&self.source_name.clone())] } else { names.iter().map(|n| self.string(n)).collect() };
        // Appends [src, src + len) to the buffer, as much as fits (8 bytes stay free).
        let append = |b: &mut FnBuilder, src: &dyn Fn(&mut FnBuilder), len: &dyn Fn(&mut FnBuilder)| {
            len(b);
            b.set(n);
            b.get(n).u32(BUF - 12).get(pos).i32_sub().get(n).u32(BUF - 12).get(pos).i32_sub().i32_lt_u().select().set(n);
            b.data_at(buf, 4).get(pos).i32_add();
            src(b);
            b.get(n).memcpy();
            b.get(pos).get(n).i32_add().set(pos);
        };
        let static_str = |b: &mut FnBuilder, d: crate::ir::DataId| {
            append(
                b,
                &|b| {
                    b.data_at(d, 4);
                },
                &|b| {
                    b.data(d).load32(0);
                },
            );
        };
        let digits = |b: &mut FnBuilder, value: crate::lower::Local, end: u32| {
            let (v, p) = (b.local(ValType::I32), b.local(ValType::I32));
            b.get(value).set(v).u32(end).set(p);
            let lp = b.loop_(None);
            b.get(p).i32(1).i32_sub().tee(p);
            b.get(v).i32(10).w(I::I32RemU).i32(48).i32_add().store8(0);
            b.get(v).i32(10).w(I::I32DivU).tee(v).br_if(lp);
            b.end();
            append(
                b,
                &|b| {
                    b.get(p);
                },
                &|b| {
                    b.u32(end).get(p).i32_sub();
                },
            );
        };
        static_str(&mut b, prefix);
        // The file is the line's bits above `FILE_SHIFT` (`Lowerer::line_col`).
        let shift = crate::lower::FILE_SHIFT as i32;
        if let [only] = files[..] {
            static_str(&mut b, only);
        } else {
            for (k, f) in files.iter().enumerate() {
                b.get(line).i32(shift).w(I::I32ShrU).i32(k as i32).i32_eq();
                b.if_(None);
                static_str(&mut b, *f);
                b.end();
            }
        }
        b.get(line).i32((1 << shift) - 1).w(I::I32And).set(line);
        // Line 0: a failure with no source position (running out of memory in the runtime).
        b.get(line);
        b.if_(None);
        static_str(&mut b, colon);
        digits(&mut b, line, LINE_DIGITS_END);
        static_str(&mut b, colon);
        digits(&mut b, col, COL_DIGITS_END);
        b.end();
        static_str(&mut b, sep);
        append(
            &mut b,
            &|b| {
                b.get(msg).i32(4).i32_add();
            },
            &|b| {
                b.get(msg).load32(0);
            },
        );
        b.get(detail);
        b.if_(None);
        static_str(&mut b, sep);
        append(
            &mut b,
            &|b| {
                b.get(detail).i32(4).i32_add();
            },
            &|b| {
                b.get(detail).load32(0);
            },
        );
        b.end();
        b.data_at(buf, 4).get(pos).i32_add().i32(i32::from(b'\n')).store8(0);
        b.data(buf).get(pos).i32(1).i32_add().store32(0);
        b.i32(2).data(buf).call(write);
        b.i32(1).call_import(Import::ProcExit).unreachable();
        b
    }

    /// `(fd, str)`: writes the whole string (WASI may write less than asked; the rest is
    /// written again). Errors are ignored: there is nowhere to report them.
    pub(super) fn rt_write_fd(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("write_fd"), vec![ValType::I32, ValType::I32], vec![]);
        let (fd, s) = (b.param(0), b.param(1));
        let (p, left) = (b.local(ValType::I32), b.local(ValType::I32));
        b.get(s).i32(4).i32_add().set(p).get(s).load32(0).set(left);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(left).i32_eqz().br_if(done);
        b.u32(IOV).get(p).store32(0);
        b.u32(IOV).get(left).store32(4);
        b.get(fd).u32(IOV).i32(1).u32(NWRITTEN).call_import(Import::FdWrite).br_if(done);
        b.u32(NWRITTEN).load32(0).i32_eqz().br_if(done);
        b.get(p).u32(NWRITTEN).load32(0).i32_add().set(p);
        b.get(left).u32(NWRITTEN).load32(0).i32_sub().set(left);
        b.br(lp);
        b.end();
        b.end();
        b
    }

    /// `(a, b, n) -> Bool`: whether `n` bytes at `a` and `b` are equal.
    pub(super) fn rt_mem_eq(&mut self) -> FnBuilder {
        let mut b = FnBuilder::new(name("mem_eq"), vec![ValType::I32; 3], vec![ValType::I32]);
        let (x, y, n) = (b.param(0), b.param(1), b.param(2));
        let i = b.local(ValType::I32);
        let done = b.block(None);
        let words = b.loop_(None);
        b.get(i).i32(8).i32_add().get(n).i32_gt_u().br_if(done);
        b.get(x).get(i).i32_add().load64(0).get(y).get(i).i32_add().load64(0).w(I::I64Ne);
        b.if_(None);
        b.i32(0).ret();
        b.end();
        b.inc(i, 8).br(words);
        b.end();
        b.end();
        let out = b.block(None);
        let bytes = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(out);
        b.get(x).get(i).i32_add().load8(0).get(y).get(i).i32_add().load8(0).i32_ne();
        b.if_(None);
        b.i32(0).ret();
        b.end();
        b.inc(i, 1).br(bytes);
        b.end();
        b.end();
        b.i32(1);
        b
    }

    pub(super) fn rt_result_new(&mut self, k: ValType) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name(&format!("result_new_{k:?}")), vec![ValType::I32, k], vec![ValType::I32]);
        let p = b.local(ValType::I32);
        let (tag, v) = (b.param(0), b.param(1));
        b.u32(RESULT_SIZE).call(alloc).tee(p).get(tag).store32(RESULT_TAG);
        b.get(p).get(v).store_slot(k, RESULT_PAYLOAD);
        b.get(p);
        b
    }

    pub(super) fn rt_box_new(&mut self, k: ValType) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name(&format!("box_{k:?}")), vec![k], vec![ValType::I32]);
        let p = b.local(ValType::I32);
        let v = b.param(0);
        b.u32(BOX_SIZE).call(alloc).tee(p).get(v).store_slot(k, 0);
        b.get(p);
        b
    }

    pub(super) fn rt_outcome_new(&mut self, k: ValType) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name(&format!("outcome_{k:?}")), vec![ValType::I32, k], vec![ValType::I32]);
        let p = b.local(ValType::I32);
        let (site, v) = (b.param(0), b.param(1));
        b.u32(OUTCOME_SIZE).call(alloc).tee(p).get(site).store32(OUTCOME_SITE);
        b.get(p).get(v).store_slot(k, OUTCOME_PAYLOAD);
        b.get(p);
        b
    }
}
