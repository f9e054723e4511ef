//! `fitz build --target wasm FILE|DIR [-o OUT]`: writes the module (or `--emit ir`: the lowered IR).

use std::path::{Path, PathBuf};

use super::{compile_file, io_reason};

pub fn build(file: &Path, out: Option<PathBuf>, emit_ir: bool) -> u8 {
    if emit_ir {
        let Ok(project) = super::load_program(file, false) else { return 2 };
        return match fitz_compiler::project_to_ir(&project) {
            Ok(ir) => {
                super::stdout(&ir.to_string());
                0
            }
            Err(d) => {
                eprint!("{}", d.render_in(&project.sources, super::color()));
                1
            }
        };
    }
    let artifact = match compile_file(file) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let out = out.unwrap_or_else(|| super::app_path(file).with_extension("wasm"));
    match std::fs::write(&out, &artifact.wasm) {
        Ok(()) => {
            eprintln!("wrote {} ({} bytes)", out.display(), artifact.wasm.len());
            0
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {}", out.display(), io_reason(&e));
            2
        }
    }
}
