//! Building one function's instructions: locals, structured blocks addressed by label (not by
//! relative depth, which is computed here), and short names for the common instructions.

use guest_abi::imports::Import;
use wasm_encoder::{BlockType, Instruction as I, MemArg};

use crate::ir::{Callee, DataId, FuncId, Function, Ins, Sig, ValType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Local(pub u32);

/// A block, loop or if, by its nesting depth when it was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(u32);

pub struct FnBuilder {
    pub name: String,
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
    pub locals: Vec<ValType>,
    pub body: Vec<Ins>,
    depth: u32,
}

fn block_type(result: Option<ValType>) -> BlockType {
    match result {
        None => BlockType::Empty,
        Some(t) => BlockType::Result(crate::ir::valtype(t)),
    }
}

fn mem(offset: u32, align: u32) -> MemArg {
    MemArg { offset: u64::from(offset), align, memory_index: 0 }
}

impl FnBuilder {
    pub fn new(name: impl Into<String>, params: Vec<ValType>, results: Vec<ValType>) -> Self {
        FnBuilder { name: name.into(), params, results, locals: Vec::new(), body: Vec::new(), depth: 0 }
    }

    pub fn param(&self, i: u32) -> Local {
        Local(i)
    }

    pub fn local(&mut self, t: ValType) -> Local {
        self.locals.push(t);
        Local(self.params.len() as u32 + self.locals.len() as u32 - 1)
    }

    pub fn local_type(&self, l: Local) -> ValType {
        let i = l.0 as usize;
        if i < self.params.len() { self.params[i] } else { self.locals[i - self.params.len()] }
    }

    pub fn finish(self) -> Function {
        debug_assert_eq!(self.depth, 0, "unbalanced blocks in {}", self.name);
        Function { name: self.name, params: self.params, results: self.results, locals: self.locals, body: self.body }
    }

    pub fn w(&mut self, i: I<'static>) -> &mut Self {
        self.body.push(Ins::W(i));
        self
    }

    // ---- control

    pub fn block(&mut self, result: Option<ValType>) -> Label {
        self.w(I::Block(block_type(result)));
        self.depth += 1;
        Label(self.depth)
    }

    pub fn loop_(&mut self, result: Option<ValType>) -> Label {
        self.w(I::Loop(block_type(result)));
        self.depth += 1;
        Label(self.depth)
    }

    pub fn if_(&mut self, result: Option<ValType>) -> Label {
        self.w(I::If(block_type(result)));
        self.depth += 1;
        Label(self.depth)
    }

    pub fn else_(&mut self) -> &mut Self {
        self.w(I::Else)
    }

    pub fn end(&mut self) -> &mut Self {
        self.depth -= 1;
        self.w(I::End)
    }

    fn relative(&self, label: Label) -> u32 {
        self.depth - label.0
    }

    pub fn br(&mut self, label: Label) -> &mut Self {
        let d = self.relative(label);
        self.w(I::Br(d))
    }

    pub fn br_if(&mut self, label: Label) -> &mut Self {
        let d = self.relative(label);
        self.w(I::BrIf(d))
    }

    pub fn ret(&mut self) -> &mut Self {
        self.w(I::Return)
    }

    pub fn unreachable(&mut self) -> &mut Self {
        self.w(I::Unreachable)
    }

    pub fn drop_(&mut self) -> &mut Self {
        self.w(I::Drop)
    }

    pub fn select(&mut self) -> &mut Self {
        self.w(I::Select)
    }

    // ---- values

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.w(I::I32Const(v))
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.w(I::I32Const(v as i32))
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.w(I::I64Const(v))
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.w(I::F64Const(v.into()))
    }

    pub fn get(&mut self, l: Local) -> &mut Self {
        self.w(I::LocalGet(l.0))
    }

    pub fn set(&mut self, l: Local) -> &mut Self {
        self.w(I::LocalSet(l.0))
    }

    pub fn tee(&mut self, l: Local) -> &mut Self {
        self.w(I::LocalTee(l.0))
    }

    pub fn data(&mut self, d: DataId) -> &mut Self {
        self.body.push(Ins::DataAddr(d, 0));
        self
    }

    pub fn data_at(&mut self, d: DataId, offset: u32) -> &mut Self {
        self.body.push(Ins::DataAddr(d, offset));
        self
    }

    pub fn table_slot(&mut self, f: FuncId) -> &mut Self {
        self.body.push(Ins::TableSlot(f));
        self
    }

    pub fn call(&mut self, f: FuncId) -> &mut Self {
        self.body.push(Ins::Call(Callee::Func(f)));
        self
    }

    pub fn call_import(&mut self, i: Import) -> &mut Self {
        self.body.push(Ins::Call(Callee::Import(i)));
        self
    }

    pub fn call_indirect(&mut self, sig: Sig) -> &mut Self {
        self.body.push(Ins::CallIndirect(sig));
        self
    }

    // ---- memory

    pub fn load32(&mut self, offset: u32) -> &mut Self {
        self.w(I::I32Load(mem(offset, 2)))
    }
    pub fn load64(&mut self, offset: u32) -> &mut Self {
        self.w(I::I64Load(mem(offset, 3)))
    }
    pub fn loadf64(&mut self, offset: u32) -> &mut Self {
        self.w(I::F64Load(mem(offset, 3)))
    }
    pub fn load8(&mut self, offset: u32) -> &mut Self {
        self.w(I::I32Load8U(mem(offset, 0)))
    }
    pub fn store32(&mut self, offset: u32) -> &mut Self {
        self.w(I::I32Store(mem(offset, 2)))
    }
    pub fn store64(&mut self, offset: u32) -> &mut Self {
        self.w(I::I64Store(mem(offset, 3)))
    }
    pub fn storef64(&mut self, offset: u32) -> &mut Self {
        self.w(I::F64Store(mem(offset, 3)))
    }
    pub fn store8(&mut self, offset: u32) -> &mut Self {
        self.w(I::I32Store8(mem(offset, 0)))
    }

    /// Loads a slot of the given kind from `[address on the stack] + offset`.
    pub fn load_slot(&mut self, kind: ValType, offset: u32) -> &mut Self {
        match kind {
            ValType::I32 => self.load32(offset),
            ValType::I64 => self.load64(offset),
            ValType::F64 => self.loadf64(offset),
        }
    }

    /// Stores a slot: the stack holds the address, then the value.
    pub fn store_slot(&mut self, kind: ValType, offset: u32) -> &mut Self {
        match kind {
            ValType::I32 => self.store32(offset),
            ValType::I64 => self.store64(offset),
            ValType::F64 => self.storef64(offset),
        }
    }

    pub fn memcpy(&mut self) -> &mut Self {
        self.w(I::MemoryCopy { src_mem: 0, dst_mem: 0 })
    }

    // ---- arithmetic shorthands used all over the runtime

    pub fn i32_add(&mut self) -> &mut Self {
        self.w(I::I32Add)
    }
    pub fn i32_sub(&mut self) -> &mut Self {
        self.w(I::I32Sub)
    }
    pub fn i32_mul(&mut self) -> &mut Self {
        self.w(I::I32Mul)
    }
    pub fn i32_eqz(&mut self) -> &mut Self {
        self.w(I::I32Eqz)
    }
    pub fn i32_eq(&mut self) -> &mut Self {
        self.w(I::I32Eq)
    }
    pub fn i32_ne(&mut self) -> &mut Self {
        self.w(I::I32Ne)
    }
    pub fn i32_lt_u(&mut self) -> &mut Self {
        self.w(I::I32LtU)
    }
    pub fn i32_ge_u(&mut self) -> &mut Self {
        self.w(I::I32GeU)
    }
    pub fn i32_gt_u(&mut self) -> &mut Self {
        self.w(I::I32GtU)
    }
    pub fn i32_le_u(&mut self) -> &mut Self {
        self.w(I::I32LeU)
    }
    pub fn i64_add(&mut self) -> &mut Self {
        self.w(I::I64Add)
    }
    pub fn i64_sub(&mut self) -> &mut Self {
        self.w(I::I64Sub)
    }
    pub fn i64_mul(&mut self) -> &mut Self {
        self.w(I::I64Mul)
    }
    pub fn i64_eqz(&mut self) -> &mut Self {
        self.w(I::I64Eqz)
    }
    pub fn i64_eq(&mut self) -> &mut Self {
        self.w(I::I64Eq)
    }

    /// `local += delta` for an i32 local.
    pub fn inc(&mut self, l: Local, delta: i32) -> &mut Self {
        self.get(l).i32(delta).i32_add().set(l)
    }
}
