//! The host links exactly the imports `guest_abi::imports::TABLE` lists, with its signatures:
//! the compiler emits from the same table, so the two sides agree by construction and this
//! test keeps it so.

use std::sync::Arc;

use fitz_host::runtime::engine::{Allocation, new_engine};
use fitz_host::runtime::linker::new_linker;
use fitz_host::runtime::state::{AppContext, GuestState};
use wasmtime::{Extern, Store, StoreLimitsBuilder};

fn store(engine: &wasmtime::Engine) -> Store<GuestState> {
    let app = AppContext::bare(guest_abi::manifest::Manifest::empty("t.fitz"));
    let output = fitz_host::host_fns::wasi::Output::captured(1024, 1024);
    Store::new(engine, GuestState::new(Arc::new(app), StoreLimitsBuilder::new().build(), output))
}
#[test]
fn linker_provides_exactly_the_table() {
    let engine = new_engine(Allocation::OnDemand).expect("engine");
    let linker = new_linker(&engine).expect("linker");
    let mut store = store(&engine);
    for spec in guest_abi::imports::TABLE {
        let Ok(Extern::Func(f)) = linker.get(&mut store, spec.module, spec.name) else {
            panic!("{}.{} is not linked", spec.module, spec.name);
        };
        let ty = f.ty(&store);
        let kind = |t: wasmtime::ValType| match t {
            wasmtime::ValType::I32 => guest_abi::layout::SlotKind::I32,
            wasmtime::ValType::I64 => guest_abi::layout::SlotKind::I64,
            wasmtime::ValType::F64 => guest_abi::layout::SlotKind::F64,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(ty.params().map(kind).collect::<Vec<_>>(), spec.params, "{}", spec.name);
        assert_eq!(ty.results().map(kind).collect::<Vec<_>>(), spec.results, "{}", spec.name);
    }
    let fitz_names: Vec<String> = linker.iter(&mut store).filter(|(module, _, _)| *module == guest_abi::imports::FITZ).map(|(_, name, _)| name.to_string()).collect();
    for name in &fitz_names {
        assert!(guest_abi::imports::find(guest_abi::imports::FITZ, name).is_some(), "fitz.{name} is linked but not in the table");
    }
    let in_table = guest_abi::imports::TABLE.iter().filter(|s| s.module == guest_abi::imports::FITZ).count();
    assert_eq!(fitz_names.len(), in_table);
}
