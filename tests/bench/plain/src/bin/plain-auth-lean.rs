//! The floor with the Fitz host's surroundings: its connection leases and its allocator, so
//! that Fitz against this server measures the sandbox alone.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    fitz_bench_plain::serve(fitz_bench_plain::Flavour::Lean, "plain-auth-lean").await;
}
