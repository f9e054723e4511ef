//! `fitz run` of a program without routes: run its top level once, printing to the terminal.

use std::sync::Arc;

use wasmtime::{Module, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtxBuilder;

use crate::runtime::engine::{new_engine, Allocation};
use crate::runtime::linker::{check_imports, new_linker};
use crate::runtime::state::{AppContext, GuestState};

/// Limits for a one-off run: generous, but a runaway program still stops.
pub const RUN_MEMORY_LIMIT: usize = 2 << 30;

/// Runs the module's top level; returns the process exit status.
pub async fn run_top_level(wasm: &[u8], app: AppContext) -> anyhow::Result<i32> {
    let engine = new_engine(Allocation::OnDemand)?;
    let module = Module::new(&engine, wasm)?;
    check_imports(&module).map_err(anyhow::Error::msg)?;
    let linker = new_linker(&engine)?;
    let wasi = WasiCtxBuilder::new().inherit_stdout().inherit_stderr().build_p1();
    let limits = StoreLimitsBuilder::new().memory_size(RUN_MEMORY_LIMIT).build();
    let mut store = Store::new(&engine, GuestState { wasi, limits, app: Arc::new(app) });
    store.limiter(|s| &mut s.limits);
    // No deadline for a program the user runs; Ctrl-C stops it.
    store.set_epoch_deadline(u64::MAX);
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let main = instance.get_typed_func::<(), ()>(&mut store, guest_abi::exports::MAIN)?;
    match main.call_async(&mut store, ()).await {
        Ok(()) => Ok(0),
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                return Ok(exit.0);
            }
            if let Some(guest) = e.downcast_ref::<crate::host_fns::GuestError>() {
                eprintln!("error: {guest}");
            } else {
                eprintln!("error: the program stopped: {}", e.root_cause());
            }
            Ok(1)
        }
    }
}

/// Runs the top level with stdout and stderr captured: `(exit status, stdout, stderr)`.
pub async fn run_captured(wasm: &[u8], app: AppContext) -> anyhow::Result<(i32, String, String)> {
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
    let engine = new_engine(Allocation::OnDemand)?;
    let module = Module::new(&engine, wasm)?;
    check_imports(&module).map_err(anyhow::Error::msg)?;
    let linker = new_linker(&engine)?;
    let (out, err) = (MemoryOutputPipe::new(16 << 20), MemoryOutputPipe::new(1 << 20));
    let wasi = WasiCtxBuilder::new().stdout(out.clone()).stderr(err.clone()).build_p1();
    let limits = StoreLimitsBuilder::new().memory_size(RUN_MEMORY_LIMIT).build();
    let mut store = Store::new(&engine, GuestState { wasi, limits, app: Arc::new(app) });
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(u64::MAX);
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let main = instance.get_typed_func::<(), ()>(&mut store, guest_abi::exports::MAIN)?;
    let mut extra = String::new();
    let code = match main.call_async(&mut store, ()).await {
        Ok(()) => 0,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                exit.0
            } else {
                extra = match e.downcast_ref::<crate::host_fns::GuestError>() {
                    Some(g) => format!("error: {g}\n"),
                    None => format!("error: the program stopped: {}\n", e.root_cause()),
                };
                1
            }
        }
    };
    drop(store);
    let stdout = String::from_utf8_lossy(&out.contents()).into_owned();
    let stderr = String::from_utf8_lossy(&err.contents()).into_owned() + &extra;
    Ok((code, stdout, stderr))
}
