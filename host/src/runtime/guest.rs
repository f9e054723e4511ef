//! Moving values in and out of a guest's memory, through the layouts of `guest_abi`, both from
//! inside a host function (a `Caller`) and from the request path (a `Store` and its
//! `Instance`). Everything read is bounds-checked: a module cannot make the host read outside
//! its own memory.

use guest_abi::layout::SlotKind;
use guest_abi::types::{RecordType, ValueType};
use guest_abi::value::{self, Slot, Value};
use wasmtime::{AsContext, AsContextMut, Caller, Instance, Memory, TypedFunc, format_err};

use super::state::GuestState;

/// The two exports marshalling needs.
#[derive(Clone)]
pub struct GuestMemory {
    pub memory: Memory,
    pub alloc: TypedFunc<i32, i32>,
}

pub fn memory(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<Memory> {
    caller
        .get_export(guest_abi::exports::MEMORY)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| format_err!("the module exports no memory"))
}

impl GuestMemory {
    /// The instance's exports, looked up once per instance (`GuestState::mem`) rather than by
    /// name on every host call.
    pub fn of_caller(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<GuestMemory> {
        if let Some(m) = &caller.data().mem {
            return Ok(m.clone());
        }
        let memory = memory(caller)?;
        let alloc = caller
            .get_export(guest_abi::exports::ALLOC)
            .and_then(|e| e.into_func())
            .ok_or_else(|| format_err!("the module exports no allocator"))?
            .typed::<i32, i32>(&*caller)?;
        let m = GuestMemory { memory, alloc };
        caller.data_mut().mem = Some(m.clone());
        Ok(m)
    }

    pub fn of_instance(store: impl AsContextMut, instance: &Instance) -> wasmtime::Result<GuestMemory> {
        let mut store = store;
        let memory = instance
            .get_memory(&mut store, guest_abi::exports::MEMORY)
            .ok_or_else(|| format_err!("the module exports no memory"))?;
        let alloc = instance.get_typed_func::<i32, i32>(&mut store, guest_abi::exports::ALLOC)?;
        Ok(GuestMemory { memory, alloc })
    }

    pub fn read(&self, store: impl AsContext, records: &[RecordType], ty: &ValueType, slot: Slot) -> wasmtime::Result<Value> {
        value::read_value(self.memory.data(&store), records, ty, slot).map_err(|e| format_err!("reading a value from the module: {e}"))
    }

    pub fn read_slot(&self, store: impl AsContext, addr: u32, kind: SlotKind) -> wasmtime::Result<Slot> {
        value::read_slot(self.memory.data(&store), addr, kind).map_err(|e| format_err!("reading a value from the module: {e}"))
    }

    /// Writes a value into memory the guest allocates, returning the slot to hand over.
    pub async fn write<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        records: &[RecordType],
        ty: &ValueType,
        v: &Value,
    ) -> wasmtime::Result<Slot> {
        let (probe, slot) = value::write_value(records, ty, v, 0).map_err(wasmtime::Error::new)?;
        if probe.is_empty() {
            return Ok(slot);
        }
        let size = i32::try_from(probe.len()).map_err(|_| format_err!("value too large"))?;
        let base = self.alloc.call_async(&mut store, size).await? as u32;
        let (bytes, slot) = value::write_value(records, ty, v, base).map_err(wasmtime::Error::new)?;
        self.memory.write(&mut store, base as usize, &bytes)?;
        Ok(slot)
    }
}

fn records(caller: &Caller<'_, GuestState>) -> std::sync::Arc<guest_abi::manifest::Manifest> {
    caller.data().app.manifest.clone()
}

pub fn read(caller: &mut Caller<'_, GuestState>, ty: &ValueType, slot: Slot) -> wasmtime::Result<Value> {
    let m = GuestMemory::of_caller(caller)?;
    m.read(&*caller, &records(caller).records, ty, slot)
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

pub async fn write_ptr(caller: &mut Caller<'_, GuestState>, ty: &ValueType, v: &Value) -> wasmtime::Result<u32> {
    let m = GuestMemory::of_caller(caller)?;
    let manifest = records(caller);
    match m.write(&mut *caller, &manifest.records, ty, v).await? {
        Slot::I32(p) => Ok(p),
        _ => Err(format_err!("expected a pointer-typed value")),
    }
}

pub async fn write_str(caller: &mut Caller<'_, GuestState>, s: &str) -> wasmtime::Result<u32> {
    write_ptr(caller, &ValueType::Str, &Value::Str(s.to_string())).await
}
