//! Three kernels run as Fitz in wasmtime against the same algorithm in native Rust: an integer
//! loop, building a string, and pushing to then iterating a list. Each Fitz run instantiates
//! the precompiled module and runs its top level (instantiation is microseconds; the kernels
//! take milliseconds). `cargo bench -p fitz-host --bench kernels`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use fitz_host::runtime::engine::{Allocation, new_engine};
use fitz_host::runtime::linker::new_linker;
use fitz_host::runtime::state::{AppContext, GuestState};
use wasmtime::{Module, Store, StoreLimitsBuilder};

const N: i64 = 5_000_000;

const INT_LOOP: &str = r#"
fn kernel(n: Int) -> Int {
    let total = 0
    let i = 0
    while i < n {
        total += i % 7 * 3
        i += 1
    }
    return total
}
let r = kernel(5000000)
"#;

const STRING_BUILD: &str = r#"
fn kernel(n: Int) -> Int {
    let parts: List<Str> = []
    for i in 0..n {
        parts.push("item {i};")
    }
    return parts.join("").len()
}
let r = kernel(500000)
"#;

const LIST_PUSH_ITERATE: &str = r#"
fn kernel(n: Int) -> Int {
    let xs: List<Int> = []
    for i in 0..n {
        xs.push(i * 2)
    }
    let sum = 0
    for x in xs {
        sum += x
    }
    return sum
}
let r = kernel(5000000)
"#;

fn native_int_loop(n: i64) -> i64 {
    let mut total: i64 = 0;
    let mut i = 0;
    while i < n {
        // Fitz semantics: euclidean %, wrapping arithmetic.
        total = total.wrapping_add((i.rem_euclid(7)).wrapping_mul(3));
        i += 1;
    }
    total
}

fn native_string_build(n: i64) -> usize {
    let mut parts: Vec<String> = Vec::new();
    for i in 0..n {
        parts.push(format!("item {i};"));
    }
    parts.concat().chars().count()
}

fn native_list(n: i64) -> i64 {
    let mut xs: Vec<i64> = Vec::new();
    for i in 0..n {
        xs.push(i.wrapping_mul(2));
    }
    let mut sum: i64 = 0;
    for x in &xs {
        sum = sum.wrapping_add(*x);
    }
    sum
}

struct Kernel {
    engine: wasmtime::Engine,
    linker: wasmtime::Linker<GuestState>,
    module: Module,
    app: Arc<AppContext>,
}

impl Kernel {
    fn new(source: &str) -> Kernel {
        let artifact = fitz_compiler::compile(source, "kernel.fitz").unwrap_or_else(|d| panic!("{}", d.render("k", source, false)));
        let engine = new_engine(Allocation::OnDemand).expect("engine");
        let linker = new_linker(&engine).expect("linker");
        let module = Module::new(&engine, &artifact.wasm).expect("module");
        let app = Arc::new(AppContext::bare(artifact.manifest));
        Kernel { engine, linker, module, app }
    }

    async fn run(&self) {
        let limits = StoreLimitsBuilder::new().memory_size(1 << 30).build();
        let output = fitz_host::host_fns::wasi::Output::captured(1 << 20, 1 << 20);
        let mut store = Store::new(&self.engine, GuestState::new(self.app.clone(), limits, output));
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(u64::MAX);
        let instance = self.linker.instantiate_async(&mut store, &self.module).await.expect("instance");
        let main = instance.get_typed_func::<(), ()>(&mut store, "fitz_main").expect("main");
        main.call_async(&mut store, ()).await.expect("run");
    }
}

/// A kernel's name, its Fitz source and the same work in Rust.
type Case = (&'static str, &'static str, Box<dyn Fn()>);

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut g = c.benchmark_group("kernels");
    g.sample_size(10);
    let cases: [Case; 3] = [
        (
            "int_loop",
            INT_LOOP,
            Box::new(|| {
                black_box(native_int_loop(black_box(N)));
            }),
        ),
        (
            "string_build",
            STRING_BUILD,
            Box::new(|| {
                black_box(native_string_build(black_box(500_000)));
            }),
        ),
        (
            "list_push_iterate",
            LIST_PUSH_ITERATE,
            Box::new(|| {
                black_box(native_list(black_box(N)));
            }),
        ),
    ];
    for (name, source, native) in cases {
        let k = Kernel::new(source);
        g.bench_function(format!("{name}/fitz_wasm"), |b| b.iter(|| rt.block_on(k.run())));
        g.bench_function(format!("{name}/native"), |b| b.iter(&native));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
