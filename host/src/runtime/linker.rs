//! The process's one `Linker`: WASI preview 1 (stdout and stderr only, nothing else granted)
//! and the `fitz` imports.

use wasmtime::{Engine, Linker};

use super::state::GuestState;

pub fn new_linker(engine: &Engine) -> anyhow::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut GuestState| &mut s.wasi)?;
    crate::host_fns::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Refuses a module that imports anything outside `guest_abi::imports::TABLE`, or with a
/// signature other than the table's.
pub fn check_imports(module: &wasmtime::Module) -> Result<(), String> {
    for import in module.imports() {
        let Some(spec) = guest_abi::imports::find(import.module(), import.name()) else {
            return Err(format!("the module imports `{}.{}`, which the host does not provide", import.module(), import.name()));
        };
        let wasmtime::ExternType::Func(f) = import.ty() else {
            return Err(format!("the import `{}.{}` is not a function", import.module(), import.name()));
        };
        let kind = |t: &wasmtime::ValType| match t {
            wasmtime::ValType::I32 => Some(guest_abi::layout::SlotKind::I32),
            wasmtime::ValType::I64 => Some(guest_abi::layout::SlotKind::I64),
            wasmtime::ValType::F64 => Some(guest_abi::layout::SlotKind::F64),
            _ => None,
        };
        let params: Vec<_> = f.params().map(|t| kind(&t)).collect();
        let results: Vec<_> = f.results().map(|t| kind(&t)).collect();
        let want_params: Vec<_> = spec.params.iter().copied().map(Some).collect();
        let want_results: Vec<_> = spec.results.iter().copied().map(Some).collect();
        if params != want_params || results != want_results {
            return Err(format!("the import `{}.{}` has the wrong signature", import.module(), import.name()));
        }
    }
    Ok(())
}
