//! How values live in a module's linear memory (DESIGN.md §4). Written once here; the compiler
//! emits code that follows it and the host reads and writes through `crate::value`.
//!
//! A value travels as one wasm value, its *slot*: `Int`, `DateTime` and `Date` as `i64`, `Float` as
//! `f64`, `Bool` as `i32` (0 or 1), and everything else as an `i32` pointer into memory
//! (`Null` is the pointer 0). Objects are little-endian:
//!
//! | type | object at the pointer |
//! |---|---|
//! | `Str`, `Uuid`, `Secret` | `len: u32`, then `len` bytes of UTF-8 |
//! | `List<T>` | `len: u32`, `cap: u32`, `items: u32` → `cap` slots of T |
//! | `Map<K, V>` | `len: u32`, `cap: u32`, `keys: u32` → slots of K, `values: u32` → slots of V, in insertion order |
//! | record | its fields' slots in declaration order, each aligned to its size |
//! | `T?` | the pointer itself (0 = null) when T is a pointer type; else a pointer to a box holding T's slot |
//! | `Result<T, E>` | `tag: u32` (0 Ok, 1 Err), 4 bytes padding, the payload slot at offset 8 |
//!
//! Every object starts at an 8-byte boundary; address 0 is never an object.

use crate::types::{RecordType, ValueType};

/// The wasm value a slot is passed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotKind {
    I32,
    I64,
    F64,
}

impl SlotKind {
    pub fn size(self) -> u32 {
        match self {
            SlotKind::I32 => 4,
            SlotKind::I64 | SlotKind::F64 => 8,
        }
    }
}

pub fn slot_kind(ty: &ValueType) -> SlotKind {
    match ty {
        ValueType::Int | ValueType::DateTime | ValueType::Date => SlotKind::I64,
        ValueType::Float => SlotKind::F64,
        _ => SlotKind::I32,
    }
}

/// Whether `T?` needs a box: `T`'s slot has no spare value to mean null.
pub fn nullable_is_boxed(inner: &ValueType) -> bool {
    matches!(inner, ValueType::Int | ValueType::Float | ValueType::Bool | ValueType::DateTime | ValueType::Date)
}

pub const OBJECT_ALIGN: u32 = 8;
pub const STR_LEN: u32 = 0;
pub const STR_BYTES: u32 = 4;
pub const LIST_LEN: u32 = 0;
pub const LIST_CAP: u32 = 4;
pub const LIST_ITEMS: u32 = 8;
pub const LIST_HEADER_SIZE: u32 = 12;
pub const MAP_LEN: u32 = 0;
pub const MAP_CAP: u32 = 4;
pub const MAP_KEYS: u32 = 8;
pub const MAP_VALUES: u32 = 12;
pub const MAP_HEADER_SIZE: u32 = 16;
pub const RESULT_TAG: u32 = 0;
pub const RESULT_PAYLOAD: u32 = 8;
pub const RESULT_SIZE: u32 = 16;
pub const RESULT_OK: u32 = 0;
pub const RESULT_ERR: u32 = 1;
pub const BOX_SIZE: u32 = 8;
/// An `Any`: the index of its value's type in the manifest's `any` table, and the value.
pub const ANY_TAG: u32 = 0;
pub const ANY_PAYLOAD: u32 = 8;
pub const ANY_SIZE: u32 = 16;
/// The first entries of every `any` table, in this order: what a JSON value can be.
pub const ANY_JSON_TYPES: usize = 7;

/// Where the bump allocator keeps its next free address: in memory, so a snapshot of memory
/// is the whole state of an instance.
pub const HEAP_POINTER_ADDR: u32 = 8;
/// Scratch space the runtime uses for WASI calls (iovecs, digits, result words); it never
/// holds anything between two runtime calls.
pub const SCRATCH_ADDR: u32 = 16;
pub const SCRATCH_SIZE: u32 = 160;
/// Static data (string literals, globals) starts here.
pub const STATIC_START: u32 = SCRATCH_ADDR + SCRATCH_SIZE;

pub fn align_to(n: u32, align: u32) -> u32 {
    n.div_ceil(align) * align
}

/// Field offsets and total size of a record whose fields have these types.
pub fn record_layout<'a>(fields: impl IntoIterator<Item = &'a ValueType>) -> (Vec<u32>, u32) {
    let mut offsets = FieldOffsets::default();
    let list = fields.into_iter().map(|f| offsets.next_for(f)).collect();
    (list, offsets.size())
}

/// Field offsets computed one field at a time, for the host's per-value paths, which read and
/// write records row by row and need no list of offsets.
#[derive(Default)]
pub struct FieldOffsets {
    end: u32,
}

impl FieldOffsets {
    /// The offset of the next field, of type `ty`.
    pub fn next_for(&mut self, ty: &ValueType) -> u32 {
        let size = slot_kind(ty).size();
        let at = align_to(self.end, size);
        self.end = at + size;
        at
    }

    /// The record's size once every field has been placed.
    pub fn size(&self) -> u32 {
        align_to(self.end.max(1), OBJECT_ALIGN)
    }
}

/// The size of a record whose fields have these types.
pub fn record_size<'a>(fields: impl IntoIterator<Item = &'a ValueType>) -> u32 {
    let mut offsets = FieldOffsets::default();
    fields.into_iter().for_each(|f| {
        offsets.next_for(f);
    });
    offsets.size()
}

/// Layout of record type `id` in a manifest's record table.
pub fn record_layout_of(records: &[RecordType], id: u32) -> Option<(Vec<u32>, u32)> {
    records.get(id as usize).map(|r| record_layout(r.fields.iter().map(|f| &f.ty)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields_are_aligned() {
        let (offsets, size) = record_layout(&[ValueType::Bool, ValueType::Int, ValueType::Str, ValueType::Float]);
        assert_eq!(offsets, vec![0, 8, 16, 24]);
        assert_eq!(size, 32);
        let (offsets, size) = record_layout(&[ValueType::Str, ValueType::Str]);
        assert_eq!(offsets, vec![0, 4]);
        assert_eq!(size, 8);
    }
}
