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
pub mod diagnostic;
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

pub fn check_source(source: &str) -> Checked {
    let (module, syntax_errors) = syntax::parse_module(source);
    if !syntax_errors.is_empty() {
        // The checker would only add noise about what the parser had to skip.
        let items = syntax_errors.iter().map(messages::syntax).collect();
        let mut diagnostics = Diagnostics { items };
        diagnostics.sort();
        return Checked { program: None, diagnostics };
    }
    let (program, problems) = check::check_module(&module);
    let records: Vec<String> = program.records.iter().map(|r| r.name.clone()).collect();
    let words = messages::Messages { records: &records };
    let mut diagnostics = Diagnostics { items: problems.iter().map(|p| words.problem(p)).collect() };
    diagnostics.sort();
    let program = (!diagnostics.has_errors()).then_some(program);
    Checked { program, diagnostics }
}
