//! Moving values in and out of a guest's memory, through the layouts of `guest_abi`, both from
//! inside a host function (a `Caller`) and from the request path (a `Store` and its
//! `Instance`). Everything read is bounds-checked: a module cannot make the host read outside
//! its own memory.

use guest_abi::layout::{HEAP_POINTER_ADDR, OBJECT_ALIGN, SlotKind, align_to};
use guest_abi::types::ValueType;
use guest_abi::value::{self, Slot, Value, Writer};
use wasmtime::{AsContext, AsContextMut, Caller, Extern, Instance, Memory, ModuleExport, format_err};

use super::state::GuestState;

/// The guest's memory. Values are written into it by bumping the guest's own heap pointer
/// (`HEAP_POINTER_ADDR`), exactly as its `fitz_alloc` would, but without entering the guest:
/// a call into wasm per written value costs a fiber switch and two trampolines, and the host
/// writes four values on a typical authenticated request.
#[derive(Clone)]
pub struct GuestMemory {
    pub memory: Memory,
}

/// The calling instance's memory (looked up by name once per instance).
pub fn memory(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<Memory> {
    GuestMemory::of_caller(caller).map(|m| m.memory)
}

impl GuestMemory {
    /// The instance's memory, looked up once per instance (`GuestState::mem`) rather than by
    /// name on every host call.
    pub fn of_caller(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<GuestMemory> {
        if let Some(m) = &caller.data().mem {
            return Ok(m.clone());
        }
        let memory = caller.get_export(guest_abi::exports::MEMORY).and_then(|e| e.into_memory()).ok_or_else(|| format_err!("the module exports no memory"))?;
        let m = GuestMemory { memory };
        caller.data_mut().mem = Some(m.clone());
        Ok(m)
    }

    /// The instance's memory through an export resolved when the version loaded.
    pub fn of_export(store: impl AsContextMut, instance: &Instance, export: &ModuleExport) -> wasmtime::Result<GuestMemory> {
        let memory = instance.get_module_export(store, export).and_then(Extern::into_memory).ok_or_else(|| format_err!("the module exports no memory"))?;
        Ok(GuestMemory { memory })
    }

    /// Reads a value, building at most `max_bytes` of host memory for it.
    pub fn read(&self, store: impl AsContext, types: value::Types<'_>, ty: &ValueType, slot: Slot, max_bytes: usize) -> wasmtime::Result<Value> {
        value::read_value_with(self.memory.data(&store), types, ty, slot, value::Limits::bytes(max_bytes)).map_err(|e| format_err!("reading a value from the module: {e}"))
    }

    pub fn read_slot(&self, store: impl AsContext, addr: u32, kind: SlotKind) -> wasmtime::Result<Slot> {
        value::read_slot(self.memory.data(&store), addr, kind).map_err(|e| format_err!("reading a value from the module: {e}"))
    }

    /// Writes a value at the top of the guest's heap, growing its memory as its allocator
    /// would (within the store's memory limit), and returns the slot to hand over.
    pub fn write(&self, store: impl AsContextMut, types: value::Types<'_>, ty: &ValueType, v: &Value) -> wasmtime::Result<Slot> {
        self.write_with(store, types, |w| w.write(ty, v))
    }

    /// Writes whatever `encode` puts in a `Writer` at the top of the guest's heap. One pass:
    /// the block's base is known before encoding, so pointers come out final.
    pub fn write_with(
        &self,
        mut store: impl AsContextMut,
        types: value::Types<'_>,
        encode: impl FnOnce(&mut Writer<'_>) -> Result<Slot, value::AbiError>,
    ) -> wasmtime::Result<Slot> {
        let top = match value::read_slot(self.memory.data(&store), HEAP_POINTER_ADDR, SlotKind::I32) {
            Ok(Slot::I32(top)) => top,
            _ => return Err(format_err!("the module's heap pointer is unreadable")),
        };
        let base = align_to(top, OBJECT_ALIGN);
        let mut w = Writer::new(base, types);
        let slot = encode(&mut w).map_err(wasmtime::Error::new)?;
        let bytes = w.bytes;
        if bytes.is_empty() {
            return Ok(slot);
        }
        let end = u32::try_from(bytes.len()).ok().and_then(|n| base.checked_add(n)).ok_or_else(out_of_memory)?;
        let pages = u64::from(end).div_ceil(PAGE_SIZE);
        let have = self.memory.size(&store);
        if pages > have {
            self.memory.grow(&mut store, pages - have).map_err(|_| out_of_memory())?;
        }
        let data = self.memory.data_mut(&mut store);
        data[base as usize..end as usize].copy_from_slice(&bytes);
        data[HEAP_POINTER_ADDR as usize..HEAP_POINTER_ADDR as usize + 4].copy_from_slice(&end.to_le_bytes());
        Ok(slot)
    }
}

const PAGE_SIZE: u64 = 1 << 16;

/// What the guest's own allocator reports when the memory limit stops it.
fn out_of_memory() -> wasmtime::Error {
    crate::host_fns::GuestError("out of memory".into()).into()
}

fn records(caller: &Caller<'_, GuestState>) -> std::sync::Arc<guest_abi::manifest::Manifest> {
    caller.data().app.manifest.clone()
}

/// The host memory one host call may build from guest values (`Limits::host_bytes`).
pub fn host_bytes(caller: &Caller<'_, GuestState>) -> usize {
    caller.data().app.limits.host_bytes
}

pub fn read(caller: &mut Caller<'_, GuestState>, ty: &ValueType, slot: Slot) -> wasmtime::Result<Value> {
    let m = GuestMemory::of_caller(caller)?;
    m.read(&*caller, records(caller).types(), ty, slot, host_bytes(caller))
}

/// The values at `ptr` laid out as a record of `types` (a query's parameters, a task's
/// arguments), copied within the host-memory budget of one call.
pub fn read_block(caller: &mut Caller<'_, GuestState>, types: &[ValueType], ptr: u32) -> wasmtime::Result<Vec<Value>> {
    let m = GuestMemory::of_caller(caller)?;
    let manifest = records(caller);
    let limits = value::Limits::bytes(host_bytes(caller));
    value::read_fields(m.memory.data(&*caller), manifest.types(), types, ptr, limits).map_err(|e| format_err!("reading a value from the module: {e}"))
}

/// A copy of the string at `ptr`, refused past the host-memory budget of one call.
pub fn read_str(caller: &mut Caller<'_, GuestState>, ptr: u32) -> wasmtime::Result<String> {
    let m = GuestMemory::of_caller(caller)?;
    let limits = value::Limits::bytes(host_bytes(caller));
    value::read_str_with(m.memory.data(&*caller), ptr, limits).map(str::to_string).map_err(|e| format_err!("reading a value from the module: {e}"))
}

/// The string at `ptr` in `data` (a guest's memory), borrowed.
pub fn str_at(data: &[u8], ptr: u32) -> wasmtime::Result<&str> {
    value::read_str(data, ptr).map_err(|e| format_err!("reading a value from the module: {e}"))
}

pub fn bytes_at(data: &[u8], ptr: u32) -> wasmtime::Result<&[u8]> {
    value::read_byte_string(data, ptr).map_err(|e| format_err!("reading a value from the module: {e}"))
}

/// `Map<Str, Str>` as pairs, in order.
pub fn read_str_map(caller: &mut Caller<'_, GuestState>, ptr: u32) -> wasmtime::Result<Vec<(String, String)>> {
    read_str_map_within(caller, ptr, host_bytes(caller))
}

/// `read_str_map`, building at most `max_bytes`.
pub fn read_str_map_within(caller: &mut Caller<'_, GuestState>, ptr: u32, max_bytes: usize) -> wasmtime::Result<Vec<(String, String)>> {
    let ty = ValueType::map(ValueType::Str, ValueType::Str);
    let m = GuestMemory::of_caller(caller)?;
    match m.read(&*caller, value::Types::default(), &ty, Slot::I32(ptr), max_bytes)? {
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

/// Writes what `encode` builds into the calling instance; returns its pointer.
pub fn write_ptr_with(caller: &mut Caller<'_, GuestState>, encode: impl FnOnce(&mut Writer<'_>) -> Result<Slot, value::AbiError>) -> wasmtime::Result<u32> {
    let m = GuestMemory::of_caller(caller)?;
    let manifest = records(caller);
    match m.write_with(&mut *caller, manifest.types(), encode)? {
        Slot::I32(p) => Ok(p),
        _ => Err(format_err!("expected a pointer-typed value")),
    }
}

pub fn write_str(caller: &mut Caller<'_, GuestState>, s: &str) -> wasmtime::Result<u32> {
    write_ptr_with(caller, |w| w.str(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, Module, Store, StoreLimitsBuilder};

    /// A module with one exported page of memory and nothing else.
    fn one_page_module(engine: &Engine) -> Module {
        let mut m = wasm_encoder::Module::new();
        let mut mems = wasm_encoder::MemorySection::new();
        mems.memory(wasm_encoder::MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
        m.section(&mems);
        let mut exports = wasm_encoder::ExportSection::new();
        exports.export(guest_abi::exports::MEMORY, wasm_encoder::ExportKind::Memory, 0);
        m.section(&exports);
        Module::new(engine, m.finish()).expect("module")
    }

    fn heap_top(mem: &GuestMemory, store: &Store<wasmtime::StoreLimits>) -> u32 {
        match mem.read_slot(store, HEAP_POINTER_ADDR, SlotKind::I32).expect("slot") {
            Slot::I32(p) => p,
            _ => unreachable!(),
        }
    }

    #[test]
    fn writes_bump_the_guest_heap_and_grow_memory_within_the_limit() {
        let engine = Engine::default();
        let limits = StoreLimitsBuilder::new().memory_size(2 << 16).build();
        let mut store = Store::new(&engine, limits);
        store.limiter(|l| l);
        let module = one_page_module(&engine);
        let instance = Instance::new(&mut store, &module, &[]).expect("instance");
        let export = module.get_export_index(guest_abi::exports::MEMORY).expect("memory export");
        let mem = GuestMemory::of_export(&mut store, &instance, &export).expect("memory");
        mem.memory.data_mut(&mut store)[HEAP_POINTER_ADDR as usize..][..4].copy_from_slice(&203u32.to_le_bytes());

        let text = |c: char| Value::Str(std::iter::repeat_n(c, 50_000).collect());
        let first = mem.write(&mut store, value::Types::default(), &ValueType::Str, &text('a')).expect("first write");
        assert_eq!(first, Slot::I32(208), "aligned up from the heap pointer as the guest's allocator does");
        assert_eq!(heap_top(&mem, &store), 208 + 4 + 50_000);
        assert_eq!(mem.memory.size(&store), 1);

        let second = mem.write(&mut store, value::Types::default(), &ValueType::Str, &text('b')).expect("second write grows memory");
        assert_eq!(mem.memory.size(&store), 2);
        assert_eq!(mem.read(&store, value::Types::default(), &ValueType::Str, first, 1 << 20).expect("read"), text('a'));
        assert_eq!(mem.read(&store, value::Types::default(), &ValueType::Str, second, 1 << 20).expect("read"), text('b'));
        assert!(mem.read(&store, value::Types::default(), &ValueType::Str, second, 40_000).is_err(), "past the host budget");

        let top = heap_top(&mem, &store);
        let e = mem.write(&mut store, value::Types::default(), &ValueType::Str, &text('c')).expect_err("past the store's memory limit");
        assert_eq!(e.to_string(), "out of memory");
        assert_eq!(heap_top(&mem, &store), top, "a failed write allocates nothing");
        assert_eq!(mem.write(&mut store, value::Types::default(), &ValueType::Int, &Value::Int(7)).expect("scalar"), Slot::I64(7), "scalars need no memory");
    }
}
