//! One app version: validated, its top level run once and baked into the module, compiled, and
//! ready to instantiate per request. Everything here happens off the request path.

use std::sync::Arc;
use std::time::Duration;

use guest_abi::manifest::Manifest;
use wasmtime::{InstancePre, Module, ModuleExport, Store, StoreLimits, StoreLimitsBuilder};

use super::state::{AppContext, GuestState};
use super::validate::{check_module, validate_bytes, LoadError};
use super::{snapshot, Runtime};
use crate::host_fns::wasi::{GuestExit, Output, Sink};
use crate::http::routes::RouteTable;

/// Per-app limits (DESIGN.md §8), with defaults sane for a small machine.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Linear memory of one instance.
    pub memory_bytes: usize,
    /// Wall-clock time a request may spend in the guest (host calls included).
    pub request_deadline: Duration,
    /// Time one run of a `@cron` job may take.
    pub cron_deadline: Duration,
    /// Time the top level may take when a version loads.
    pub top_level_deadline: Duration,
    pub body_bytes: usize,
    /// Bytes of `print` output kept per request (the rest is dropped).
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            request_deadline: Duration::from_secs(10),
            cron_deadline: Duration::from_secs(60),
            top_level_deadline: Duration::from_secs(60),
            body_bytes: 1 << 20,
            output_bytes: 64 << 10,
        }
    }
}

pub struct AppVersion {
    /// Its number among the app's deployed versions (1 for a single app).
    pub version: u64,
    pub ctx: Arc<AppContext>,
    pub manifest: Arc<Manifest>,
    pub pre: InstancePre<GuestState>,
    pub entries: Entries,
    pub routes: RouteTable,
    /// The OpenAPI document, built once per version.
    pub openapi: Arc<str>,
    pub limits: Limits,
    pub engine: wasmtime::Engine,
    /// The tenant's CPU share on a multi-tenant host (`None`: one app, no throttling).
    pub cpu: Option<Arc<super::cpu::CpuShare>>,
    _ticker: Arc<super::engine::EpochTicker>,
}

/// The module's memory and entry points, resolved once per version so that a request finds
/// them by index instead of looking their names up in every new instance.
pub struct Entries {
    pub memory: ModuleExport,
    pub provider: Option<ModuleExport>,
    /// One per route, in the manifest's order.
    pub routes: Vec<ModuleExport>,
}

impl Entries {
    fn resolve(module: &Module, manifest: &Manifest) -> Result<Entries, LoadError> {
        let export = |name: &str| module.get_export_index(name).ok_or_else(|| LoadError::Export(format!("the module does not export `{name}`")));
        Ok(Entries {
            memory: export(guest_abi::exports::MEMORY)?,
            provider: manifest.auth.as_ref().map(|p| export(&p.export)).transpose()?,
            routes: manifest.routes.iter().map(|r| export(&r.export)).collect::<Result<_, _>>()?,
        })
    }
}

/// Where the top level's `print` goes while a version loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopLevelOutput {
    Terminal,
    Log,
}

impl AppVersion {
    pub fn store_limits(limits: &Limits) -> StoreLimits {
        StoreLimitsBuilder::new().memory_size(limits.memory_bytes).instances(1).tables(4).memories(1).build()
    }

    /// A fresh store for one request or tick. The guest yields to the executor every epoch
    /// tick, so a guest that computes for long never holds a worker thread from other
    /// requests (or other apps); the caller's timer enforces the deadline.
    pub fn new_store(&self) -> Store<GuestState> {
        let state = GuestState {
            app: self.ctx.clone(),
            limits: Self::store_limits(&self.limits),
            output: Output::captured(self.limits.output_bytes, 4 << 10),
            mem: None,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        match &self.cpu {
            None => store.epoch_deadline_async_yield_and_update(1),
            Some(share) => {
                let share = share.clone();
                store.epoch_deadline_callback(move |_| {
                    Ok(if share.tick() {
                        wasmtime::UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep(share.penalty())))
                    } else {
                        wasmtime::UpdateDeadline::Yield(1)
                    })
                });
            }
        }
        store
    }
}

/// Validates, creates the app's missing tables, runs the top level, bakes the snapshot and
/// compiles it. `ctx.manifest` is replaced by the module's own manifest.
pub async fn load(rt: &Runtime, wasm: &[u8], ctx: AppContext, limits: Limits, output: TopLevelOutput) -> Result<AppVersion, LoadError> {
    load_with(rt, wasm, ctx, limits, output, true).await
}

/// `load`, leaving the tables to the caller when `create_tables` is false (a multi-tenant
/// deploy migrates them first).
pub async fn load_with(
    rt: &Runtime,
    wasm: &[u8],
    ctx: AppContext,
    limits: Limits,
    output: TopLevelOutput,
    create_tables: bool,
) -> Result<AppVersion, LoadError> {
    let manifest = validate_bytes(wasm)?;
    let missing: Vec<String> = manifest.secrets.iter().filter(|s| !ctx.secrets.contains_key(*s)).cloned().collect();
    if !missing.is_empty() {
        return Err(LoadError::MissingSecrets(missing));
    }
    let routes = RouteTable::new(&manifest.routes).map_err(LoadError::Manifest)?;
    let manifest = Arc::new(manifest);
    // Plans are by query index, so they start afresh with the module's own manifest.
    let ctx = Arc::new(AppContext { manifest: manifest.clone(), plans: Default::default(), ..ctx });
    if let (Some(db), true) = (&ctx.db, create_tables) {
        db.create_tables(&manifest.tables).await.map_err(|e| LoadError::Database(e.to_string()))?;
    }

    let module = compile(rt, wasm)?;
    check_module(&module, &manifest)?;
    let memory = run_top_level(rt, &module, ctx.clone(), &limits, output).await?;
    let baked = snapshot::bake(wasm, &memory).map_err(LoadError::Compile)?;
    let module = compile(rt, &baked)?;
    let pre = rt.linker.instantiate_pre(&module).map_err(|e| LoadError::Import(e.to_string()))?;
    let entries = Entries::resolve(&module, &manifest)?;
    let openapi: Arc<str> = crate::openapi::json(&manifest, &ctx.name).into();
    Ok(AppVersion { version: 1, ctx, manifest, pre, entries, routes, openapi, limits, engine: rt.engine.clone(), cpu: None, _ticker: rt.ticker.clone() })
}

fn compile(rt: &Runtime, wasm: &[u8]) -> Result<Module, LoadError> {
    Module::new(&rt.engine, wasm).map_err(|e| LoadError::Compile(e.to_string()))
}

/// Runs `fitz_main` and returns the instance's memory afterwards.
async fn run_top_level(rt: &Runtime, module: &Module, ctx: Arc<AppContext>, limits: &Limits, output: TopLevelOutput) -> Result<Vec<u8>, LoadError> {
    let output = match output {
        // stderr is kept either way: a runtime error becomes the load error's message.
        TopLevelOutput::Terminal => Output { stdout: Sink::Inherit, stderr: Sink::buffer(4 << 10) },
        TopLevelOutput::Log => Output::captured(limits.output_bytes, 4 << 10),
    };
    let state = GuestState { app: ctx.clone(), limits: AppVersion::store_limits(limits), output, mem: None };
    let mut store = Store::new(&rt.engine, state);
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(Runtime::ticks(limits.top_level_deadline));
    store.epoch_deadline_trap();
    let failed = |e: wasmtime::Error, store: &mut Store<GuestState>| {
        let stderr = store.data_mut().output.stderr.take_text();
        LoadError::TopLevel(describe_failure(&e, stderr.trim()))
    };
    let instance = match rt.linker.instantiate_async(&mut store, module).await {
        Ok(i) => i,
        Err(e) => return Err(failed(e, &mut store)),
    };
    let main = instance
        .get_typed_func::<(), ()>(&mut store, guest_abi::exports::MAIN)
        .map_err(|e| LoadError::Export(e.to_string()))?;
    if let Err(e) = main.call_async(&mut store, ()).await {
        return Err(failed(e, &mut store));
    }
    let printed = store.data_mut().output.stdout.take_text();
    for line in printed.lines() {
        tracing::info!(target: "fitz::print", app = %ctx.name, "{line}");
    }
    let memory = instance
        .get_memory(&mut store, guest_abi::exports::MEMORY)
        .ok_or_else(|| LoadError::Export("the module exports no memory".into()))?;
    Ok(memory.data(&store).to_vec())
}

/// A guest failure in words for the log: a runtime error's own message when it printed one.
pub fn describe_failure(e: &wasmtime::Error, stderr: &str) -> String {
    if e.downcast_ref::<GuestExit>().is_some() && !stderr.is_empty() {
        return stderr.strip_prefix("error: ").unwrap_or(stderr).to_string();
    }
    if let Some(g) = e.downcast_ref::<crate::host_fns::GuestError>() {
        return g.to_string();
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => "deadline exceeded".into(),
            wasmtime::Trap::StackOverflow => "stack overflow (recursion too deep)".into(),
            other => format!("trap: {other}"),
        };
    }
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() {
        return "too many instances at once".into();
    }
    format!("{}", e.root_cause())
}
