//! A hostile-module kit: modules built directly with wasm-encoder, not compiled from Fitz, since
//! a tenant can upload any bytes that validate. Each carries a manifest the host accepts and
//! entry points written instruction by instruction, so a test can aim one at any host function
//! or limit with whatever pointers, lengths and counts it likes.

#![allow(dead_code)]

pub mod process;

use guest_abi::exports;
use guest_abi::imports::{Import, spec};
use guest_abi::layout::{HEAP_POINTER_ADDR, SlotKind};
use guest_abi::manifest::{Cron, Manifest, Param, Route, RouteAuth, SECTION, Task, TaskParam};
use guest_abi::types::ValueType;
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection, Instruction, MemArg, MemorySection,
    MemoryType, Module, RefType, TableSection, TableType, TypeSection, ValType,
};

pub use wasm_encoder::Instruction as I;

/// Where the kit keeps its fixed objects in memory.
pub const OUTCOME: u32 = 256;
/// The first free address; the heap pointer starts here.
pub const HEAP: u32 = 4096;

fn val(k: SlotKind) -> ValType {
    match k {
        SlotKind::I32 => ValType::I32,
        SlotKind::I64 => ValType::I64,
        SlotKind::F64 => ValType::F64,
    }
}

struct Func {
    export: String,
    params: Vec<ValType>,
    results: Vec<ValType>,
    locals: Vec<(u32, ValType)>,
    body: Vec<Instruction<'static>>,
}

/// A module being built: imports first (their indices are fixed), then entry points.
pub struct Kit {
    imports: Vec<Import>,
    funcs: Vec<Func>,
    data: Vec<(u32, Vec<u8>)>,
    pages: u64,
    table: bool,
    pub manifest: Manifest,
}

impl Kit {
    /// A module importing `imports` (in this order), with one page of memory, the exports every
    /// module must have, a top level that does nothing, and no routes yet.
    pub fn new(imports: &[Import]) -> Kit {
        let manifest = Manifest::empty("evil.fitz");
        let mut kit = Kit { imports: imports.to_vec(), funcs: vec![], data: vec![], pages: 1, table: false, manifest };
        kit.data(HEAP_POINTER_ADDR, &HEAP.to_le_bytes());
        // An outcome at OUTCOME: site 0 (a normal return), payload 0.
        kit.data(OUTCOME, &[0u8; 16]);
        kit.func(exports::ALLOC, &[ValType::I32], &[ValType::I32], vec![], vec![I::I32Const(0), I::End]);
        kit.func(exports::MAIN, &[], &[], vec![], vec![I::End]);
        kit
    }

    /// The function index of an import.
    pub fn f(&self, import: Import) -> u32 {
        self.imports.iter().position(|i| *i == import).expect("imported") as u32
    }

    pub fn pages(&mut self, pages: u64) -> &mut Kit {
        self.pages = pages;
        self
    }

    /// A table of funcrefs (one element), for modules that grow tables.
    pub fn with_table(&mut self) -> &mut Kit {
        self.table = true;
        self
    }

    pub fn data(&mut self, at: u32, bytes: &[u8]) -> &mut Kit {
        self.data.push((at, bytes.to_vec()));
        self
    }

    fn func(&mut self, export: &str, params: &[ValType], results: &[ValType], locals: Vec<(u32, ValType)>, body: Vec<Instruction<'static>>) {
        self.funcs.retain(|f| f.export != export);
        self.funcs.push(Func { export: export.into(), params: params.to_vec(), results: results.to_vec(), locals, body });
    }

    /// The top level (`fitz_main`).
    pub fn top_level(&mut self, locals: Vec<(u32, ValType)>, body: Vec<Instruction<'static>>) -> &mut Kit {
        self.func(exports::MAIN, &[], &[], locals, body);
        self
    }

    /// `GET path`, answering a value of type `returns`; `body` must leave an outcome pointer on
    /// the stack (`OUTCOME` is a normal return of 0 / false / the pointer stored at +8).
    pub fn route(&mut self, path: &str, returns: ValueType, locals: Vec<(u32, ValType)>, body: Vec<Instruction<'static>>) -> &mut Kit {
        let index = self.manifest.routes.len();
        let export = exports::route(index);
        self.manifest.routes.push(Route {
            method: "GET".into(),
            path: path.into(),
            handler: format!("evil_{index}"),
            export: export.clone(),
            params: Vec::<Param>::new(),
            auth: RouteAuth::Public,
            returns,
            responses: vec![],
            cors: None,
            flag: None,
            after: vec![],
            wrap: vec![],
            media: vec![],
            ws: None,
        });
        self.func(&export, &[], &[ValType::I32], locals, body);
        self
    }

    /// A `@cron` job on `schedule` (six fields), returning `Int`.
    pub fn cron(&mut self, schedule: &str, locals: Vec<(u32, ValType)>, body: Vec<Instruction<'static>>) -> &mut Kit {
        let index = self.manifest.crons.len();
        let export = exports::cron(index);
        self.manifest.crons.push(Cron {
            name: format!("job_{index}"),
            export: export.clone(),
            expr: schedule.into(),
            schedule: schedule.into(),
            takes_db: false,
            returns: ValueType::Int,
        });
        self.func(&export, &[], &[ValType::I32], locals, body);
        self
    }

    /// A `@background` task taking `params` (values, in wasm as their slots), returning `Int`.
    pub fn task(&mut self, params: &[ValueType], locals: Vec<(u32, ValType)>, body: Vec<Instruction<'static>>) -> &mut Kit {
        let index = self.manifest.tasks.len();
        let export = exports::task(index);
        let task_params = params.iter().enumerate().map(|(i, ty)| TaskParam::Value { name: format!("p{i}"), ty: ty.clone() }).collect();
        self.manifest.tasks.push(Task { name: format!("task_{index}"), export: export.clone(), params: task_params, returns: ValueType::Int });
        let wasm_params: Vec<ValType> = params.iter().map(|t| val(guest_abi::layout::slot_kind(t))).collect();
        self.func(&export, &wasm_params, &[ValType::I32], locals, body);
        self
    }

    pub fn finish(&self) -> Vec<u8> {
        let mut m = Module::new();
        let mut types = TypeSection::new();
        let mut imports = ImportSection::new();
        for (i, import) in self.imports.iter().enumerate() {
            let s = spec(*import);
            types.ty().function(s.params.iter().map(|k| val(*k)), s.results.iter().map(|k| val(*k)));
            imports.import(s.module, s.name, EntityType::Function(i as u32));
        }
        let base = self.imports.len() as u32;
        let mut functions = FunctionSection::new();
        for (i, f) in self.funcs.iter().enumerate() {
            types.ty().function(f.params.iter().copied(), f.results.iter().copied());
            functions.function(base + i as u32);
        }
        m.section(&types);
        m.section(&imports);
        m.section(&functions);
        if self.table {
            let mut tables = TableSection::new();
            tables.table(TableType { element_type: RefType::FUNCREF, table64: false, minimum: 1, maximum: None, shared: false });
            m.section(&tables);
        }
        let mut memories = MemorySection::new();
        memories.memory(MemoryType { minimum: self.pages, maximum: None, memory64: false, shared: false, page_size_log2: None });
        m.section(&memories);
        let mut exports = ExportSection::new();
        exports.export(exports::MEMORY, ExportKind::Memory, 0);
        for (i, f) in self.funcs.iter().enumerate() {
            exports.export(&f.export, ExportKind::Func, base + i as u32);
        }
        m.section(&exports);
        let mut code = CodeSection::new();
        for f in &self.funcs {
            let mut func = Function::new(f.locals.iter().copied());
            for ins in &f.body {
                func.instruction(ins);
            }
            code.function(&func);
        }
        m.section(&code);
        let mut data = DataSection::new();
        for (at, bytes) in &self.data {
            data.active(0, &ConstExpr::i32_const(*at as i32), bytes.iter().copied());
        }
        m.section(&data);
        m.section(&CustomSection { name: SECTION.into(), data: self.manifest.to_json().into_bytes().into() });
        let wasm = m.finish();
        wasmparser::validate(&wasm).expect("the kit builds valid modules");
        wasm
    }
}

/// `i32.store` at a constant address.
pub fn store32(addr: u32, value: Instruction<'static>) -> Vec<Instruction<'static>> {
    vec![I::I32Const(addr as i32), value, I::I32Store(MemArg { offset: 0, align: 2, memory_index: 0 })]
}

pub fn mem32() -> MemArg {
    MemArg { offset: 0, align: 2, memory_index: 0 }
}

/// `loop { … ; br 0 }`: runs forever.
pub fn forever(mut inner: Vec<Instruction<'static>>) -> Vec<Instruction<'static>> {
    let mut out = vec![I::Loop(wasm_encoder::BlockType::Empty)];
    out.append(&mut inner);
    out.extend([I::Br(0), I::End]);
    out
}

/// A string object at `at`: its length word only (the bytes are whatever memory holds).
pub fn str_header(len: u32) -> Vec<u8> {
    len.to_le_bytes().to_vec()
}

/// A list header: `len`, `cap`, `items`.
pub fn list_header(len: u32, items: u32) -> Vec<u8> {
    [len, len, items].iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A map header: `len`, `cap`, `keys`, `values`.
pub fn map_header(len: u32, keys: u32, values: u32) -> Vec<u8> {
    [len, len, keys, values].iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// An outcome at `at`: site 0 and a 32-bit payload.
pub fn outcome(payload: u32) -> Vec<u8> {
    let mut o = vec![0u8; 16];
    o[8..12].copy_from_slice(&payload.to_le_bytes());
    o
}
