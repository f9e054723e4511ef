//! The Fitz compiler: source text to diagnostics or a WebAssembly module.
//!
//! ```text
//! project::load ──► check_module ──► lower_module ──► emit_module
//!  (each file's      (check)          (lower)          (emit)
//!   parse_module,
//!   imports resolved
//!   into one module)
//! ```
//!
//! Each phase reports every problem it finds and keeps going; a phase runs only when the
//! one before it found no errors.

pub mod ast;
pub mod bundle;
pub mod check;
pub mod commands;
pub mod diagnostic;
pub mod edits;
pub mod emit;
pub mod ide;
pub mod ir;
pub mod lower;
pub mod messages;
pub mod project;
pub mod sources;
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
    compile_project(&project::load_text(file_name, source))
}

/// The whole pipeline for a program read with `project::load`.
pub fn compile_project(project: &project::Project) -> Result<Artifact, Diagnostics> {
    let checked = check_project(project);
    let Some(program) = checked.program else { return Err(checked.diagnostics) };
    let mut module = lower::lower_module(&program, &project.sources);
    if let Some(m) = module.manifest.as_mut() {
        m.flags = project.flags.clone();
    }
    let manifest = module.manifest.clone().unwrap_or_else(|| unreachable!("lowering always writes a manifest"));
    let wasm = emit::emit_module(&module);
    Ok(Artifact { wasm, manifest, warnings: checked.diagnostics })
}

/// The lowered IR as text (`fitz build --emit ir`).
pub fn compile_to_ir(source: &str, file_name: &str) -> Result<String, Diagnostics> {
    project_to_ir(&project::load_text(file_name, source))
}

pub fn project_to_ir(project: &project::Project) -> Result<String, Diagnostics> {
    let checked = check_project(project);
    let Some(program) = checked.program else { return Err(checked.diagnostics) };
    Ok(ir::print(&lower::lower_module(&program, &project.sources)))
}

pub fn check_source(source: &str) -> Checked {
    check_project(&project::load_text("main.fitz", source))
}

/// Checks a loaded program: its loading problems (syntax, imports) alone when it has any, as
/// the checker would only add noise about what could not be read.
pub fn check_project(project: &project::Project) -> Checked {
    let Some(module) = &project.module else { return Checked { program: None, diagnostics: project.diagnostics.clone() } };
    let mut module = module.clone();
    commands::add_dispatcher(&mut module, project.sources.joined());
    let (program, problems) = check::check_module(&module);
    let records: Vec<String> = program.records.iter().map(|r| r.name.clone()).collect();
    let words = messages::Messages { records: &records, text: project.sources.joined() };
    let mut diagnostics = project.diagnostics.clone();
    diagnostics.items.extend(problems.iter().map(|p| words.problem(p)));
    diagnostics.sort();
    let program = (!diagnostics.has_errors()).then_some(program);
    Checked { program, diagnostics }
}
