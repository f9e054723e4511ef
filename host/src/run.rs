//! `fitz run` of a program without routes: run its top level once, printing to the terminal
//! (or into buffers, for tests).

use std::sync::Arc;

use wasmtime::{Module, Store, StoreLimitsBuilder};

use crate::host_fns::wasi::{GuestExit, Output};
use crate::runtime::engine::{Allocation, new_engine};
use crate::runtime::linker::new_linker;
use crate::runtime::state::{AppContext, GuestState};
use crate::runtime::validate::check_imports;

/// Limits for a one-off run: generous, but a runaway program still stops.
pub const RUN_MEMORY_LIMIT: usize = 2 << 30;

/// Runs the module's top level with the given output; returns the exit status and, for a
/// failure that printed nothing itself, the message to show.
async fn run(wasm: &[u8], app: AppContext, output: Output, argv: &[String]) -> anyhow::Result<(i32, Option<String>, Output)> {
    let engine = new_engine(Allocation::OnDemand)?;
    let module = Module::new(&engine, wasm)?;
    check_imports(&module).map_err(anyhow::Error::msg)?;
    let linker = new_linker(&engine)?;
    let limits = StoreLimitsBuilder::new().memory_size(RUN_MEMORY_LIMIT).build();
    // The user's own program on their terminal: only memory is bounded (and Ctrl-C stops it).
    let app = AppContext { limits: crate::limits::Limits::one_off(), ..app };
    let mut store = Store::new(&engine, GuestState::new(Arc::new(app), limits, output));
    store.limiter(|s| &mut s.limits);
    // No deadline for a program the user runs; Ctrl-C stops it.
    store.set_epoch_deadline(u64::MAX);
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let main = instance.get_typed_func::<(), ()>(&mut store, guest_abi::exports::MAIN)?;
    let cli = store.data().app.manifest.cli;
    let result = match main.call_async(&mut store, ()).await {
        // An `@command` program: the top level ran, now the command line.
        Ok(()) if cli => command_line(&mut store, &instance, argv).await,
        other => other.map(|()| 0),
    };
    let (code, message) = match result {
        Ok(code) => (code, None),
        Err(e) => match e.downcast_ref::<GuestExit>() {
            Some(exit) => (exit.0, None),
            None => match e.downcast_ref::<crate::host_fns::GuestError>() {
                Some(g) => (1, Some(format!("error: {g}\n"))),
                None => (1, Some(format!("error: the program stopped: {}\n", e.root_cause()))),
            },
        },
    };
    let output = std::mem::replace(&mut store.data_mut().output, Output::inherit());
    Ok((code, message, output))
}

/// Hands the command line (`argv`, the program's name first) to the program's `@command`
/// dispatcher; its result is the exit status (kept within 0..=255, as a process's is).
async fn command_line(store: &mut Store<GuestState>, instance: &wasmtime::Instance, argv: &[String]) -> wasmtime::Result<i32> {
    let memory = instance.get_memory(&mut *store, guest_abi::exports::MEMORY).ok_or_else(|| wasmtime::format_err!("the module exports no memory"))?;
    let mem = crate::runtime::guest::GuestMemory { memory };
    let args = guest_abi::value::Value::List(argv.iter().map(|a| guest_abi::value::Value::Str(a.clone())).collect());
    let slot = mem.write(&mut *store, guest_abi::value::Types::default(), &guest_abi::types::ValueType::list(guest_abi::types::ValueType::Str), &args)?;
    let guest_abi::value::Slot::I32(ptr) = slot else { return Err(wasmtime::format_err!("the command line is not a list")) };
    let cli = instance.get_typed_func::<u32, i64>(&mut *store, guest_abi::exports::CLI)?;
    let status = cli.call_async(&mut *store, ptr).await?;
    Ok(status.clamp(0, 255) as i32)
}

/// Runs the top level on the terminal; returns the process exit status.
pub async fn run_top_level(wasm: &[u8], app: AppContext, argv: &[String]) -> anyhow::Result<i32> {
    let (code, message, _) = run(wasm, app, Output::inherit(), argv).await?;
    if let Some(m) = message {
        eprint!("{m}");
    }
    Ok(code)
}

/// Runs the top level with stdout and stderr captured: `(exit status, stdout, stderr)`.
pub async fn run_captured(wasm: &[u8], app: AppContext, argv: &[String]) -> anyhow::Result<(i32, String, String)> {
    let (code, message, mut output) = run(wasm, app, Output::captured(16 << 20, 1 << 20), argv).await?;
    let stdout = output.stdout.take_text();
    let stderr = output.stderr.take_text() + &message.unwrap_or_default();
    Ok((code, stdout, stderr))
}
