//! Compiler speed: checking the seed program and a generated 10,000-line program, and the
//! seed end to end (source to wasm bytes), on one thread.
//! `cargo bench -p fitz-compiler --bench check`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod generate;

fn seed() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared/seed/auth.fitz");
    let path = if shared.exists() { shared } else { root.join("examples/seed/auth.fitz") };
    std::fs::read_to_string(path).expect("seed program")
}

fn bench(c: &mut Criterion) {
    let seed = seed();
    let big = generate::program(225);
    let lines = big.lines().count();
    assert!(lines >= 10_000, "generated {lines} lines");
    assert!(!fitz_compiler::check_source(&big).diagnostics.has_errors(), "generated program must check clean");
    assert!(!fitz_compiler::check_source(&seed).diagnostics.has_errors());

    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Bytes(seed.len() as u64));
    g.bench_function("seed", |b| b.iter(|| fitz_compiler::check_source(std::hint::black_box(&seed))));
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.sample_size(20);
    g.bench_function(format!("generated_{lines}_lines"), |b| b.iter(|| fitz_compiler::check_source(std::hint::black_box(&big))));
    g.finish();

    let mut g = c.benchmark_group("compile");
    let wasm = fitz_compiler::compile(&seed, "auth.fitz").expect("seed compiles").wasm;
    println!("seed module size: {} bytes", wasm.len());
    g.bench_function("seed_to_wasm", |b| b.iter(|| fitz_compiler::compile(std::hint::black_box(&seed), "auth.fitz")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
