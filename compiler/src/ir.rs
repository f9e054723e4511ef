//! The lowered program: wasm-shaped functions (structured control flow, explicit memory
//! layout) whose calls, static data and table slots are still symbolic. `emit_module` assigns
//! the indices and writes bytes; `print` shows it as text for `--emit ir` and golden tests.

use std::fmt::Write as _;

use guest_abi::imports::Import;
pub use guest_abi::layout::SlotKind as ValType;
use guest_abi::manifest::Manifest;
use wasm_encoder::Instruction;

/// Index of a function defined by the module (runtime helpers included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

/// A static object in the data segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DataId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Callee {
    Func(FuncId),
    Import(Import),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sig {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

#[derive(Clone, Debug)]
pub enum Ins {
    /// A plain wasm instruction (no indices that lowering cannot know).
    W(Instruction<'static>),
    Call(Callee),
    CallIndirect(Sig),
    /// `i32.const` of a static object's address plus an offset.
    DataAddr(DataId, u32),
    /// `i32.const` of a function's slot in the closure table.
    TableSlot(FuncId),
}

#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
    /// Locals beyond the parameters.
    pub locals: Vec<ValType>,
    pub body: Vec<Ins>,
}

#[derive(Clone, Debug)]
pub struct DataObject {
    pub bytes: Vec<u8>,
    pub align: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Module {
    pub functions: Vec<Function>,
    pub data: Vec<DataObject>,
    pub exports: Vec<(String, FuncId)>,
    pub manifest: Option<Manifest>,
}

pub fn valtype(t: ValType) -> wasm_encoder::ValType {
    match t {
        ValType::I32 => wasm_encoder::ValType::I32,
        ValType::I64 => wasm_encoder::ValType::I64,
        ValType::F64 => wasm_encoder::ValType::F64,
    }
}

fn vt(t: ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F64 => "f64",
    }
}

/// A readable listing: one function per block, one instruction per line, indented by nesting.
pub fn print(module: &Module) -> String {
    let mut out = String::new();
    for (i, f) in module.functions.iter().enumerate() {
        let params: Vec<&str> = f.params.iter().map(|t| vt(*t)).collect();
        let results: Vec<&str> = f.results.iter().map(|t| vt(*t)).collect();
        let locals: Vec<&str> = f.locals.iter().map(|t| vt(*t)).collect();
        let _ = writeln!(out, "func #{i} {} ({}) -> ({}) locals ({})", f.name, params.join(" "), results.join(" "), locals.join(" "));
        let mut depth = 1;
        for ins in &f.body {
            if matches!(ins, Ins::W(Instruction::End | Instruction::Else)) {
                depth -= 1;
            }
            let text = match ins {
                Ins::W(w) => format!("{w:?}"),
                Ins::Call(Callee::Func(id)) => format!("call {}", module.functions.get(id.0 as usize).map_or("?", |f| f.name.as_str())),
                Ins::Call(Callee::Import(imp)) => format!("call import {}", guest_abi::imports::spec(*imp).name),
                Ins::CallIndirect(sig) => format!("call_indirect {:?} -> {:?}", sig.params, sig.results),
                Ins::DataAddr(d, off) => format!("data #{} + {off}", d.0),
                Ins::TableSlot(id) => format!("table slot of {}", module.functions.get(id.0 as usize).map_or("?", |f| f.name.as_str())),
            };
            let _ = writeln!(out, "{}{}", "  ".repeat(depth), text);
            if matches!(ins, Ins::W(Instruction::Block(_) | Instruction::Loop(_) | Instruction::If(_) | Instruction::Else)) {
                depth += 1;
            }
        }
    }
    out
}
