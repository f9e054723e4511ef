//! IR to bytes: the only place that counts wasm indices. Imports come first (in the order of
//! `guest_abi::imports::TABLE`, only those used), then the defined functions in IR order.
//! Static data is one active segment at a constant offset, so wasmtime can map it
//! copy-on-write.

use std::borrow::Cow;
use std::collections::HashMap;

use guest_abi::imports::{self, Import};
use guest_abi::layout::{HEAP_POINTER_ADDR, STATIC_START, align_to};
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, ElementSection, Elements, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection, Instruction,
    MemorySection, MemoryType, Module as WasmModule, NameMap, NameSection, RefType, TableSection, TableType, TypeSection,
};

use crate::ir::{self, Callee, FuncId, Ins, Sig};

/// Where the static objects ended up, and where the heap starts.
pub struct DataLayout {
    pub addresses: Vec<u32>,
    pub heap_start: u32,
}

pub fn layout_data(data: &[ir::DataObject]) -> DataLayout {
    let mut at = STATIC_START;
    let mut addresses = Vec::with_capacity(data.len());
    for d in data {
        at = align_to(at, d.align.max(1));
        addresses.push(at);
        at += d.bytes.len() as u32;
    }
    DataLayout { addresses, heap_start: align_to(at, 8) }
}

#[derive(Default)]
struct Types {
    index: HashMap<Sig, u32>,
    section: TypeSection,
}

impl Types {
    fn of(&mut self, sig: &Sig) -> u32 {
        if let Some(&i) = self.index.get(sig) {
            return i;
        }
        let i = self.index.len() as u32;
        self.section.ty().function(sig.params.iter().map(|t| ir::valtype(*t)), sig.results.iter().map(|t| ir::valtype(*t)));
        self.index.insert(sig.clone(), i);
        i
    }
}

pub fn emit_module(module: &ir::Module) -> Vec<u8> {
    // Imports actually called, in table order.
    let mut used: Vec<Import> = Vec::new();
    let mut table_funcs: Vec<FuncId> = Vec::new();
    for f in &module.functions {
        for ins in &f.body {
            match ins {
                Ins::Call(Callee::Import(i)) if !used.contains(i) => used.push(*i),
                Ins::TableSlot(id) if !table_funcs.contains(id) => table_funcs.push(*id),
                _ => {}
            }
        }
    }
    used.sort();
    let import_index: HashMap<Import, u32> = used.iter().enumerate().map(|(i, imp)| (*imp, i as u32)).collect();
    let func_base = used.len() as u32;
    let func_index = |id: FuncId| func_base + id.0;
    let slot_of: HashMap<FuncId, u32> = table_funcs.iter().enumerate().map(|(i, f)| (*f, i as u32)).collect();
    let layout = layout_data(&module.data);

    let mut types = Types::default();
    let mut import_section = ImportSection::new();
    for imp in &used {
        let spec = imports::spec(*imp);
        let sig = Sig { params: spec.params.to_vec(), results: spec.results.to_vec() };
        let ty = types.of(&sig);
        import_section.import(spec.module, spec.name, EntityType::Function(ty));
    }
    let mut functions = FunctionSection::new();
    for f in &module.functions {
        let ty = types.of(&Sig { params: f.params.clone(), results: f.results.clone() });
        functions.function(ty);
    }

    let mut code = CodeSection::new();
    for f in &module.functions {
        let mut func = Function::new_with_locals_types(f.locals.iter().map(|t| ir::valtype(*t)));
        for ins in &f.body {
            match ins {
                Ins::W(w) => {
                    func.instruction(w);
                }
                Ins::Call(Callee::Func(id)) => {
                    func.instruction(&Instruction::Call(func_index(*id)));
                }
                Ins::Call(Callee::Import(imp)) => {
                    func.instruction(&Instruction::Call(import_index[imp]));
                }
                Ins::CallIndirect(sig) => {
                    let type_index = types.of(sig);
                    func.instruction(&Instruction::CallIndirect { type_index, table_index: 0 });
                }
                Ins::DataAddr(d, off) => {
                    let addr = layout.addresses[d.0 as usize] + off;
                    func.instruction(&Instruction::I32Const(addr as i32));
                }
                Ins::TableSlot(id) => {
                    func.instruction(&Instruction::I32Const(slot_of[id] as i32));
                }
            }
        }
        func.instruction(&Instruction::End);
        code.function(&func);
    }

    let mut out = WasmModule::new();
    out.section(&types.section);
    out.section(&import_section);
    out.section(&functions);
    if !table_funcs.is_empty() {
        let mut tables = TableSection::new();
        let n = table_funcs.len() as u64;
        tables.table(TableType { element_type: RefType::FUNCREF, table64: false, minimum: n, maximum: Some(n), shared: false });
        out.section(&tables);
    }
    let mut memories = MemorySection::new();
    let min_pages = u64::from(layout.heap_start).div_ceil(65536).max(1) + 1;
    memories.memory(MemoryType { minimum: min_pages, maximum: None, memory64: false, shared: false, page_size_log2: None });
    out.section(&memories);
    let mut exports = ExportSection::new();
    exports.export(guest_abi::exports::MEMORY, ExportKind::Memory, 0);
    for (name, id) in &module.exports {
        exports.export(name, ExportKind::Func, func_index(*id));
    }
    out.section(&exports);
    if !table_funcs.is_empty() {
        let mut elements = ElementSection::new();
        let indices: Vec<u32> = table_funcs.iter().map(|f| func_index(*f)).collect();
        elements.active(Some(0), &ConstExpr::i32_const(0), Elements::Functions(Cow::Owned(indices)));
        out.section(&elements);
    }
    out.section(&code);

    let mut image = vec![0u8; layout.heap_start as usize];
    image[HEAP_POINTER_ADDR as usize..HEAP_POINTER_ADDR as usize + 4].copy_from_slice(&layout.heap_start.to_le_bytes());
    for (d, addr) in module.data.iter().zip(&layout.addresses) {
        image[*addr as usize..*addr as usize + d.bytes.len()].copy_from_slice(&d.bytes);
    }
    let mut data = DataSection::new();
    let start = HEAP_POINTER_ADDR as usize;
    data.active(0, &ConstExpr::i32_const(start as i32), image[start..].iter().copied());
    out.section(&data);

    let mut names = NameSection::new();
    let mut fnames = NameMap::new();
    for (i, imp) in used.iter().enumerate() {
        fnames.append(i as u32, imports::spec(*imp).name);
    }
    for (i, f) in module.functions.iter().enumerate() {
        fnames.append(func_base + i as u32, &f.name);
    }
    names.functions(&fnames);
    out.section(&names);

    if let Some(m) = &module.manifest {
        let json = m.to_json();
        out.section(&CustomSection { name: Cow::Borrowed(guest_abi::manifest::SECTION), data: Cow::Owned(json.into_bytes()) });
    }
    out.finish()
}
