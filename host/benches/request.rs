//! The per-request cost of the sandbox, in process and without HTTP: for a trivial handler,
//! instantiate a fresh instance from the app's image, write the path parameter, call the
//! handler, read the outcome, serialise the JSON and drop the instance. A second case adds a
//! body of a record type (written into guest memory and read back as the response). The
//! baseline is the same work done by a native Rust closure, measured in the same run.
//! `cargo bench -p fitz-host --bench request`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fitz_host::runtime::Runtime;
use fitz_host::runtime::app::{Limits, TopLevelOutput, load};
use fitz_host::runtime::engine::Allocation;
use fitz_host::runtime::invoke::{Arg, Call, call};
use fitz_host::runtime::state::AppContext;
use guest_abi::value::Value;
use serde_json::json;

const APP: &str = r#"
type Greeting { name: Str, times: Int }

@get("/hello/{n}")
fn hello(n: Int) -> Map<Str, Int> => { "n": n }

@post("/greet")
fn greet(body: Greeting) -> Greeting => body
"#;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let artifact = fitz_compiler::compile(APP, "bench.fitz").expect("compiles");
    let runtime = Runtime::new(Allocation::Pooling { instances: 16, max_memory: 64 << 20 }).expect("runtime");
    let app = rt.block_on(load(&runtime, &artifact.wasm, AppContext::bare(artifact.manifest), Limits::default(), TopLevelOutput::Log)).expect("loads");
    let app = std::sync::Arc::new(app);
    let hello = app.manifest.routes.iter().position(|r| r.handler == "hello").expect("hello");
    let greet = app.manifest.routes.iter().position(|r| r.handler == "greet").expect("greet");

    let mut g = c.benchmark_group("request");
    g.bench_function("trivial_handler_sandboxed", |b| {
        b.iter(|| {
            let reply = rt
                .block_on(call(&app, Call { route: hello, args: vec![Arg::Value(Value::Int(black_box(7)))], headers: Vec::new(), acting: None, request: None, wrap: 0, hub: None }))
                .expect("reply");
            black_box(reply.body.into_bytes())
        })
    });
    g.bench_function("trivial_handler_native", |b| {
        b.iter(|| {
            let n = black_box(7i64);
            let body = json!({ "n": n });
            black_box(serde_json::to_vec(&body).expect("json"))
        })
    });
    let body = json!({ "name": "Ada Lovelace", "times": 3 });
    g.bench_function("record_body_sandboxed", |b| {
        b.iter(|| {
            let reply = rt
                .block_on(call(&app, Call { route: greet, args: vec![Arg::Body(black_box(body.clone()))], headers: Vec::new(), acting: None, request: None, wrap: 0, hub: None }))
                .expect("reply");
            black_box(reply.body.into_bytes())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
