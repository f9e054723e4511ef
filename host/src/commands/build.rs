//! `fitz build --target wasm FILE [-o OUT]`: writes the module (or `--emit ir`: the lowered IR).

use std::path::{Path, PathBuf};

use super::{compile_file, io_reason, read_source};

pub fn build(file: &Path, out: Option<PathBuf>, emit_ir: bool) -> u8 {
    if emit_ir {
        let Ok(source) = read_source(file) else { return 2 };
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        return match fitz_compiler::compile_to_ir(&source, &name) {
            Ok(ir) => {
                super::stdout(&ir.to_string());
                0
            }
            Err(d) => {
                eprint!("{}", d.render(&file.display().to_string(), &source, super::color()));
                1
            }
        };
    }
    let artifact = match compile_file(file) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let out = out.unwrap_or_else(|| file.with_extension("wasm"));
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
