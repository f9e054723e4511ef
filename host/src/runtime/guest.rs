//! Reading and writing values in a guest's memory from inside a host function, through the
//! layouts of `guest_abi`. Everything read is bounds-checked: a module cannot make the host
//! read outside its own memory.

use wasmtime::format_err;
use guest_abi::types::ValueType;
use guest_abi::value::{self, Slot, Value};
use wasmtime::{Caller, Memory};

use super::state::GuestState;

fn memory(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<Memory> {
    caller
        .get_export(guest_abi::exports::MEMORY)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| format_err!("the module exports no memory"))
}

pub fn read(caller: &mut Caller<'_, GuestState>, ty: &ValueType, slot: Slot) -> wasmtime::Result<Value> {
    let mem = memory(caller)?;
    let app = caller.data().app.clone();
    value::read_value(mem.data(&*caller), &app.manifest.records, ty, slot)
        .map_err(|e| format_err!("reading a value from the module: {e}"))
}

pub fn read_str(caller: &mut Caller<'_, GuestState>, ptr: u32) -> wasmtime::Result<String> {
    match read(caller, &ValueType::Str, Slot::I32(ptr))? {
        Value::Str(s) => Ok(s),
        _ => Err(format_err!("expected a string")),
    }
}

/// `Map<Str, Str>` as pairs, in order.
pub fn read_str_map(caller: &mut Caller<'_, GuestState>, ptr: u32) -> wasmtime::Result<Vec<(String, String)>> {
    let ty = ValueType::map(ValueType::Str, ValueType::Str);
    match read(caller, &ty, Slot::I32(ptr))? {
        Value::Map(entries) => entries
            .into_iter()
            .map(|(k, v)| match (k, v) {
                (Value::Str(k), Value::Str(v)) => Ok((k, v)),
                _ => Err(format_err!("expected string keys and values")),
            })
            .collect(),
        _ => Err(format_err!("expected a map")),
    }
}

/// Writes a value into memory the guest allocates, returning the slot to hand back.
pub async fn write(caller: &mut Caller<'_, GuestState>, ty: &ValueType, v: &Value) -> wasmtime::Result<Slot> {
    let app = caller.data().app.clone();
    let records = &app.manifest.records;
    let (probe, slot) = value::write_value(records, ty, v, 0).map_err(wasmtime::Error::new)?;
    if probe.is_empty() {
        return Ok(slot);
    }
    let alloc = caller
        .get_export(guest_abi::exports::ALLOC)
        .and_then(|e| e.into_func())
        .ok_or_else(|| format_err!("the module exports no allocator"))?
        .typed::<i32, i32>(&*caller)?;
    let size = i32::try_from(probe.len()).map_err(|_| format_err!("value too large"))?;
    let base = alloc.call_async(&mut *caller, size).await? as u32;
    let (bytes, slot) = value::write_value(records, ty, v, base).map_err(wasmtime::Error::new)?;
    memory(caller)?.write(&mut *caller, base as usize, &bytes)?;
    Ok(slot)
}

pub async fn write_ptr(caller: &mut Caller<'_, GuestState>, ty: &ValueType, v: &Value) -> wasmtime::Result<u32> {
    match write(caller, ty, v).await? {
        Slot::I32(p) => Ok(p),
        _ => Err(format_err!("expected a pointer-typed value")),
    }
}

pub async fn write_str(caller: &mut Caller<'_, GuestState>, s: &str) -> wasmtime::Result<u32> {
    write_ptr(caller, &ValueType::Str, &Value::Str(s.to_string())).await
}
