//! The process's one `Linker`: the four WASI functions and the `fitz` imports, nothing else.

use wasmtime::{Engine, Linker};

use super::state::GuestState;

pub fn new_linker(engine: &Engine) -> anyhow::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    crate::host_fns::wasi::add_to_linker(&mut linker)?;
    crate::host_fns::add_to_linker(&mut linker)?;
    Ok(linker)
}
