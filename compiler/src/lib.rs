//! The Fitz compiler: source text to diagnostics or a WebAssembly module.
//!
//! ```text
//! parse_module ──► check_module ──► lower_module ──► emit_module
//!  (syntax)          (check)          (lower)          (emit)
//! ```
//!
//! Each phase reports every problem it finds and keeps going; a phase runs only when the
//! one before it found no errors.

pub mod ast;
pub mod check;
pub mod commands;
pub mod diagnostic;
pub mod emit;
pub mod ir;
pub mod lower;
pub mod messages;
pub mod span;
pub mod syntax;
pub mod tast;
pub mod types;

use diagnostic::Diagnostics;

/// The result of checking one file: the typed program when it has no errors, and every
/// diagnostic (warnings included) sorted by position.
pub struct Checked {
    pub program: Option<tast::Program>,
    pub diagnostics: Diagnostics,
}

/// A compiled module: the bytes, the manifest inside them, and any warnings.
pub struct Artifact {
    pub wasm: Vec<u8>,
    pub manifest: guest_abi::manifest::Manifest,
    pub warnings: Diagnostics,
}

/// The whole pipeline for one file. `file_name` is what runtime errors and the manifest call
/// the source.
pub fn compile(source: &str, file_name: &str) -> Result<Artifact, Diagnostics> {
    let checked = check_source(source);
    let Some(program) = checked.program else { return Err(checked.diagnostics) };
    let module = lower::lower_module(&program, file_name, source);
    let manifest = module.manifest.clone().unwrap_or_else(|| unreachable!("lowering always writes a manifest"));
    let wasm = emit::emit_module(&module);
    Ok(Artifact { wasm, manifest, warnings: checked.diagnostics })
}

/// The lowered IR as text (`fitz build --emit ir`).
pub fn compile_to_ir(source: &str, file_name: &str) -> Result<String, Diagnostics> {
    let checked = check_source(source);
    let Some(program) = checked.program else { return Err(checked.diagnostics) };
    Ok(ir::print(&lower::lower_module(&program, file_name, source)))
}

pub fn check_source(source: &str) -> Checked {
    let (mut module, syntax_errors) = syntax::parse_module(source);
    if !syntax_errors.is_empty() {
        // The checker would only add noise about what the parser had to skip.
        let items = syntax_errors.iter().map(messages::syntax).collect();
        let mut diagnostics = Diagnostics { items };
        diagnostics.sort();
        return Checked { program: None, diagnostics };
    }
    commands::add_dispatcher(&mut module, source);
    let (program, problems) = check::check_module(&module);
    let records: Vec<String> = program.records.iter().map(|r| r.name.clone()).collect();
    let words = messages::Messages { records: &records };
    let mut diagnostics = Diagnostics { items: problems.iter().map(|p| words.problem(p)).collect() };
    diagnostics.sort();
    let program = (!diagnostics.has_errors()).then_some(program);
    Checked { program, diagnostics }
}
