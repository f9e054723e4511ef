//! Lowering: the typed program to the wasm-shaped IR. Values get their memory layout
//! (`guest_abi::layout`), control flow becomes structured blocks, built-ins become runtime
//! helpers (generated only when used) or host imports, and every entry point the host calls
//! gets its export and manifest entry.

mod any;
mod builder;
mod call;
mod entry;
mod expr;
mod manifest;
mod pattern;
mod runtime;
mod stmt;
mod types;

use std::collections::HashMap;

use crate::ir::{self, DataId, DataObject, FuncId, ValType};
use crate::sources::Sources;
use crate::span::Span;

/// Bits of a runtime error's line number below the file's index.
pub const FILE_SHIFT: u32 = 20;
use crate::tast::{self, FnId, LocalId};
use crate::types::Type;
pub use builder::{FnBuilder, Label, Local};
pub use runtime::Rt;
use types::Helper;

/// Per-program state while lowering: the functions and data made so far and what was
/// generated on demand.
pub struct Lowerer<'p> {
    pub program: &'p tast::Program,
    pub source_name: String,
    pub sources: &'p Sources,
    functions: Vec<Option<ir::Function>>,
    pub data: Vec<DataObject>,
    strings: HashMap<Vec<u8>, DataId>,
    runtime: HashMap<Rt, FuncId>,
    helpers: HashMap<(Helper, Type), FuncId>,
    /// The IR function of each typed function.
    fn_ids: Vec<FuncId>,
    /// Closure-table wrappers for functions used as values.
    trampolines: HashMap<FnId, FuncId>,
    /// The static slot of each top-level variable.
    globals: Vec<DataId>,
    pub queries: Vec<guest_abi::manifest::QuerySpec>,
    /// `return STATUS BODY` sites of each entry point.
    pub sites: HashMap<FnId, Vec<guest_abi::manifest::Response>>,
    pub exports: Vec<(String, FuncId)>,
    /// The types boxed as `Any`, by tag (`any.rs`).
    any_types: Vec<Type>,
    any_dispatch: Option<any::AnyDispatch>,
}

/// What kind of function is being lowered: it decides what `return` and `?` do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Returns its declared type.
    Plain,
    /// Called by the host: returns an outcome (`guest_abi::exports`).
    Entry,
    /// The top level: returns nothing; errors end the program.
    Main,
}

/// State of the function being lowered.
pub struct FnState<'a> {
    pub b: FnBuilder,
    pub def: &'a tast::FnDef,
    pub id: FnId,
    pub mode: Mode,
    locals: Vec<Option<Local>>,
    /// Enclosing loops: where `break` and `continue` go.
    /// And, for a `loop` used as a value, the local its `break`s leave the value in.
    pub loops: Vec<(Label, Label, Option<Local>)>,
    /// The local that `LocalId(u32::MAX)` stands for: compound assignment lowers
    /// `current op value` through the ordinary operator code with the current value there.
    pub pinned: Option<Local>,
    /// Wasm locals of blocks and statements that ended, free for later code.
    free: Vec<Local>,
    /// Open scopes, innermost last: a statement (its temporaries die with it) or a scoped
    /// block (with its `TBlock::scoped` range), and the wasm locals that die with each.
    scopes: Vec<OpenScope>,
}

struct OpenScope {
    range: (u32, u32),
    dying: Vec<Local>,
}

impl<'a> FnState<'a> {
    pub fn local(&mut self, id: LocalId) -> Local {
        if id.0 == u32::MAX {
            return self.pinned.expect("a pinned local for compound assignment");
        }
        if let Some(Some(l)) = self.locals.get(id.0 as usize) {
            return *l;
        }
        let ty = slot(&self.def.locals[id.0 as usize].ty);
        // A local of a scoped block dies with that block (not with the statement inside it
        // that happens to mention it first).
        let owner = self.scopes.iter().rposition(|s| (s.range.0..s.range.1).contains(&id.0));
        let l = match owner {
            Some(i) => self.reusable(ty, i),
            None => self.b.local(ty),
        };
        if self.locals.len() <= id.0 as usize {
            self.locals.resize(id.0 as usize + 1, None);
        }
        self.locals[id.0 as usize] = Some(l);
        l
    }

    /// A local for an intermediate value: never one that is live. Inside a scoped block it
    /// may be one a finished block used (and it dies with this block); elsewhere it is fresh.
    pub fn temp(&mut self, t: ValType) -> Local {
        match self.scopes.len() {
            0 => self.b.local(t),
            n => self.reusable(t, n - 1),
        }
    }

    /// A local of type `t` that dies with open scope `owner`.
    fn reusable(&mut self, t: ValType, owner: usize) -> Local {
        let l = match self.free.iter().rposition(|&l| self.b.local_type(l) == t) {
            Some(i) => {
                // Zeroed as a fresh local would be: some code leaves a local as it found it
                // to mean "none" (a `loop` left by a bare `break` is null).
                let l = self.free.swap_remove(i);
                expr::push_zero(&mut self.b, t);
                self.b.set(l);
                l
            }
            None => self.b.local(t),
        };
        self.scopes[owner].dying.push(l);
        l
    }

    /// Around the lowering of a statement (`(0, 0)`) or of a block whose locals `range` die
    /// with it (`TBlock::scoped`).
    pub fn enter_scope(&mut self, range: (u32, u32)) {
        self.scopes.push(OpenScope { range, dying: Vec::new() });
    }

    pub fn exit_scope(&mut self) {
        if let Some(scope) = self.scopes.pop() {
            self.free.extend(scope.dying);
        }
    }

    /// A fresh `i32` local set to 0 here, for a loop index: a loop may run many times in one
    /// call (inside another loop), so it cannot rely on locals starting at zero.
    pub fn counter(&mut self) -> Local {
        let l = self.temp(ValType::I32);
        self.b.i32(0).set(l);
        l
    }
}

/// How a value of the type travels: see `guest_abi::layout`.
pub fn slot(ty: &Type) -> ValType {
    match ty {
        Type::Int | Type::DateTime | Type::Date => ValType::I64,
        Type::Float => ValType::F64,
        // Futures are run when created (host calls are synchronous to the guest), so a
        // `Future<T>` is just its `T`.
        Type::Future(t) => slot(t),
        _ => ValType::I32,
    }
}

/// `T?` keeps `T`'s pointer (0 = null) unless `T` is a number or a Bool, which are boxed.
pub fn boxed(inner: &Type) -> bool {
    matches!(inner, Type::Int | Type::Float | Type::Bool | Type::DateTime | Type::Date)
}

impl<'p> Lowerer<'p> {
    pub fn new(program: &'p tast::Program, sources: &'p Sources) -> Self {
        Lowerer {
            program,
            source_name: sources.files.first().map_or_else(String::new, |f| f.name.clone()),
            sources,
            functions: Vec::new(),
            data: Vec::new(),
            strings: HashMap::new(),
            runtime: HashMap::new(),
            helpers: HashMap::new(),
            fn_ids: Vec::new(),
            trampolines: HashMap::new(),
            globals: Vec::new(),
            queries: Vec::new(),
            sites: HashMap::new(),
            exports: Vec::new(),
            any_types: Vec::new(),
            any_dispatch: None,
        }
    }

    /// Reserves an IR function id to be filled in later (so functions can call each other).
    pub fn reserve(&mut self) -> FuncId {
        self.functions.push(None);
        FuncId(self.functions.len() as u32 - 1)
    }

    pub fn define(&mut self, id: FuncId, f: FnBuilder) {
        self.functions[id.0 as usize] = Some(f.finish());
    }

    pub fn add(&mut self, f: FnBuilder) -> FuncId {
        let id = self.reserve();
        self.define(id, f);
        id
    }

    /// A static object; returns its id.
    pub fn static_data(&mut self, bytes: Vec<u8>, align: u32) -> DataId {
        self.data.push(DataObject { bytes, align });
        DataId(self.data.len() as u32 - 1)
    }

    /// An interned string literal laid out as a `Str` object.
    pub fn string(&mut self, s: &str) -> DataId {
        self.byte_string(s.as_bytes())
    }

    /// A `Str` or `Bytes` constant (one layout), shared by every use of the same bytes.
    pub fn byte_string(&mut self, s: &[u8]) -> DataId {
        if let Some(&d) = self.strings.get(s) {
            return d;
        }
        let mut bytes = (s.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(s);
        let d = self.static_data(bytes, 8);
        self.strings.insert(s.to_vec(), d);
        d
    }

    /// The position a runtime error names: the line carries the file's index above
    /// `FILE_SHIFT` bits (0, the entry, for a program of one file), as `rt.fail` reads it.
    pub fn line_col(&self, span: Span) -> (i32, i32) {
        let (file, lc) = self.sources.line_col(span.start);
        let line = lc.line.min((1 << FILE_SHIFT) - 1) | ((file as u32) << FILE_SHIFT);
        (line as i32, lc.column as i32)
    }

    pub fn fn_id(&self, f: FnId) -> FuncId {
        self.fn_ids[f.0 as usize]
    }

    pub fn global_slot(&self, g: tast::GlobalId) -> DataId {
        self.globals[g.0 as usize]
    }
}

/// Lowers a checked program (one with no errors).
pub fn lower_module(program: &tast::Program, sources: &Sources) -> ir::Module {
    let mut l = Lowerer::new(program, sources);
    for g in &program.globals {
        let _ = g;
        let d = l.static_data(vec![0; 8], 8);
        l.globals.push(d);
    }
    l.fn_ids = program.functions.iter().map(|_| FuncId(0)).collect();
    for i in 0..program.functions.len() {
        l.fn_ids[i] = l.reserve();
    }
    for (i, f) in program.functions.iter().enumerate() {
        let id = FnId(i as u32);
        let mode = l.mode_of(id);
        let func = l.lower_fn(id, f, mode);
        let ir_id = l.fn_ids[i];
        l.define(ir_id, func);
    }
    l.add_field_defaults();
    l.add_exports();
    l.finish_any();
    let manifest = l.build_manifest();
    let functions = l.functions.into_iter().map(|f| f.expect("every reserved function is defined")).collect();
    ir::Module { functions, data: l.data, exports: l.exports, manifest: Some(manifest) }
}
