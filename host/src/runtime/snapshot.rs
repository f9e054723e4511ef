//! The top level runs once per app version (DESIGN.md §9); its memory becomes the start image
//! of every request. The image is baked into a copy of the module, Wizer-style: the memory's
//! minimum grows to the snapshot's size and the data section is replaced by the snapshot's
//! bytes, so wasmtime maps it copy-on-write into each new instance and a request pays nothing
//! for work done at the top level.

use guest_abi::layout::HEAP_POINTER_ADDR;
use wasm_encoder::{ConstExpr, DataSection, MemorySection, MemoryType, RawSection};
use wasmparser::{Parser, Payload};

const PAGE: usize = 65536;

/// Returns the module with `memory` (an instance's memory after its top level ran) as its
/// initial memory.
pub fn bake(wasm: &[u8], memory: &[u8]) -> Result<Vec<u8>, String> {
    let heap_end = memory
        .get(HEAP_POINTER_ADDR as usize..HEAP_POINTER_ADDR as usize + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("the snapshot has no heap pointer")?;
    let image = memory.get(..heap_end).ok_or("the heap pointer lies outside memory")?;
    // Leading zeros need no segment.
    let start = image.iter().position(|b| *b != 0).unwrap_or(image.len());
    let pages = memory.len().div_ceil(PAGE) as u64;

    let mut out = wasm_encoder::Module::new();
    let mut wrote_data = false;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| format!("reading the module: {e}"))?;
        match payload {
            Payload::Version { .. } | Payload::End(_) => {}
            Payload::MemorySection(reader) => {
                let mut section = MemorySection::new();
                for m in reader {
                    let m = m.map_err(|e| format!("reading the memory section: {e}"))?;
                    section.memory(MemoryType { minimum: m.initial.max(pages), maximum: m.maximum, memory64: m.memory64, shared: m.shared, page_size_log2: m.page_size_log2 });
                }
                out.section(&section);
            }
            Payload::DataCountSection { .. } => {
                // The replacement data section has exactly one segment.
                out.section(&wasm_encoder::DataCountSection { count: 1 });
            }
            Payload::DataSection(_) => {
                let mut data = DataSection::new();
                data.active(0, &ConstExpr::i32_const(start as i32), image[start..].iter().copied());
                out.section(&data);
                wrote_data = true;
            }
            Payload::CodeSectionStart { range, .. } => {
                out.section(&RawSection { id: wasm_encoder::SectionId::Code as u8, data: &wasm[range] });
            }
            Payload::CodeSectionEntry(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    // A data section must follow the code section; a module without one gets it
                    // at the end, which is where it belongs.
                    out.section(&RawSection { id, data: &wasm[range] });
                }
            }
        }
    }
    if !wrote_data {
        return Err("the module has no data section to replace".into());
    }
    Ok(out.finish())
}
