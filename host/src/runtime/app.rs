//! One app version: validated, its top level run once and baked into the module (its image),
//! compiled, and ready to instantiate per request. Everything here happens on the build thread,
//! off the request path.

use std::collections::HashMap;
use std::sync::Arc;

use guest_abi::manifest::Manifest;
use wasmtime::{InstancePre, Module, ModuleExport, Store, StoreLimits, StoreLimitsBuilder};

use super::state::{AppContext, GuestState};
use super::validate::{LoadError, check_module, validate_bytes};
use super::{Runtime, snapshot};
use crate::host_fns::wasi::{GuestExit, Output, Sink};
use crate::http::routes::RouteTable;

pub use crate::limits::Limits;

/// Elements a table may grow to (our modules use a few hundred, for function references).
const TABLE_ELEMENTS: usize = 10_000;

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
    /// The AsyncAPI document of the `@ws` endpoints and its page, when there are any.
    pub asyncapi: Option<(Arc<str>, Arc<str>)>,
    /// The static files the module bundled, when it serves them.
    pub statics: Option<Arc<crate::http::statics::Statics>>,
    /// `/.well-known/jwks.json`, when `@server(jwks=…)` names keys.
    pub jwks: Option<Arc<str>>,
    pub engine: wasmtime::Engine,
    /// The tenant's CPU share on a multi-tenant host (`None`: one app, no throttling).
    pub cpu: Option<Arc<super::cpu::CpuShare>>,
    /// The app's `@background` tasks (shared by its versions on a multi-tenant host).
    pub tasks: Arc<crate::background::TaskPool>,
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
    pub fn limits(&self) -> &Limits {
        &self.ctx.limits
    }

    pub fn store_limits(limits: &Limits) -> StoreLimits {
        StoreLimitsBuilder::new().memory_size(limits.memory_bytes).table_elements(TABLE_ELEMENTS).instances(1).tables(4).memories(1).build()
    }

    /// A fresh store for one request or tick. The guest yields to the executor every epoch
    /// tick, so a guest that computes for long never holds a worker thread from other
    /// requests (or other apps); the caller's timer enforces the deadline.
    /// `new_store` for a run that may `spawn`: its tasks start in this version.
    pub fn serving_store(self: &Arc<Self>) -> Store<GuestState> {
        let mut store = self.new_store();
        store.data_mut().spawner = Some(self.clone());
        store
    }

    pub fn new_store(&self) -> Store<GuestState> {
        let limits = self.limits();
        let state = GuestState::new(self.ctx.clone(), Self::store_limits(limits), Output::captured(limits.output_bytes, 4 << 10));
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        match &self.cpu {
            None => store.epoch_deadline_async_yield_and_update(1),
            Some(share) => store.epoch_deadline_callback(super::cpu::CpuShare::callback(share.clone())),
        }
        store
    }
}

/// Validates, builds the image (the top level run once), loads it and migrates the app's
/// tables as a deploy would (refusing what would lose data): what `fitz run` and `fitz serve`
/// do at start.
pub async fn load(rt: &Runtime, wasm: &[u8], ctx: AppContext, limits: Limits, output: TopLevelOutput) -> Result<AppVersion, LoadError> {
    let ctx = context_for(wasm, ctx, limits)?;
    let image = build_image(rt, wasm.to_vec(), ctx.clone(), output).await?;
    let app = from_image(rt, image, ctx).await?;
    let Some(db) = app.ctx.db.clone() else { return Ok(app) };
    let (app, defaults) = table_defaults(rt, app).await?;
    let default_of = |t: &guest_abi::manifest::Table, c: &guest_abi::manifest::Column| defaults.get(&(t.name.clone(), c.name.clone())).cloned();
    let lock = db.schema().unwrap_or("public").to_string();
    crate::db::migrate::migrate(&db, &lock, &app.manifest.tables, &app.manifest.records, &default_of, async |_| Ok(())).await.map_err(|e| match e {
        crate::db::migrate::MigrateError::Destructive(m) => LoadError::Migration(m),
        crate::db::migrate::MigrateError::Db(e) => LoadError::Database(e.to_string()),
    })?;
    Ok(app)
}

/// The defaults of the tables' fields that have one, keyed by table and column, computed by
/// `app` on the build thread within one top-level deadline: what a migration that adds a
/// required column fills existing rows with.
pub async fn table_defaults(rt: &Runtime, app: AppVersion) -> Result<(AppVersion, Defaults), LoadError> {
    let deadline = app.limits().top_level_deadline;
    let job = async move {
        let mut defaults = HashMap::new();
        let _ = tokio::time::timeout(deadline, async {
            for t in &app.manifest.tables {
                let Some(r) = app.manifest.records.get(t.record as usize) else { continue };
                for (i, f) in r.fields.iter().enumerate().filter(|(_, f)| f.has_default) {
                    if let Ok(Some(v)) = super::invoke::field_default(&app, t.record, i).await {
                        defaults.insert((t.name.clone(), f.name.clone()), v);
                    }
                }
            }
        })
        .await;
        (app, defaults)
    };
    rt.builder.run(job).await.ok_or_else(|| LoadError::Migration("the defaults could not be computed".into()))
}

/// Field defaults by table and column.
pub type Defaults = HashMap<(String, String), guest_abi::value::Value>;

/// Validates the module and fits `ctx` to it: the module's own manifest and these limits.
/// Refused when a secret the module names is missing.
pub fn context_for(wasm: &[u8], ctx: AppContext, limits: Limits) -> Result<Arc<AppContext>, LoadError> {
    let manifest = validate_bytes(wasm)?;
    let missing: Vec<String> = manifest.secrets.iter().filter(|s| !ctx.secrets.contains_key(*s)).cloned().collect();
    if !missing.is_empty() {
        return Err(LoadError::MissingSecrets(missing));
    }
    // Plans are by query index, so they start afresh with the module's own manifest.
    Ok(Arc::new(AppContext { manifest: Arc::new(manifest), plans: Default::default(), http: Default::default(), limits, ..ctx }))
}

/// The version's image: the module with the memory its top level left baked in as its initial
/// memory (DESIGN.md §9). The top level runs here, once, on the build thread, yielding at
/// every tick and within its own deadline; every instance of the version, on every host and
/// after every restart, starts from the image instead of running it again.
pub async fn build_image(rt: &Runtime, wasm: Vec<u8>, ctx: Arc<AppContext>, output: TopLevelOutput) -> Result<Vec<u8>, LoadError> {
    let rt2 = rt.clone();
    let job = async move {
        let module = compile(&rt2, wasm.clone()).await?;
        check_module(&module, &ctx.manifest)?;
        let memory = run_top_level(&rt2, &module, ctx, output).await?;
        rt2.builder.blocking(move || snapshot::bake(&wasm, &memory)).await.unwrap_or_else(|| Err("the build failed".into())).map_err(LoadError::Compile)
    };
    rt.builder.run(job).await.unwrap_or_else(|| Err(LoadError::Compile("the build failed".into())))
}

/// A serving version from an image `build_image` made (here or on another host, from the
/// store), compiled on the build thread. `ctx` is the one `context_for` gave for the module.
pub async fn from_image(rt: &Runtime, image: Vec<u8>, ctx: Arc<AppContext>) -> Result<AppVersion, LoadError> {
    let manifest = validate_bytes(&image)?;
    if manifest != *ctx.manifest {
        return Err(LoadError::Manifest("the image's manifest is not the module's".into()));
    }
    let routes = RouteTable::new(&manifest.routes).map_err(LoadError::Manifest)?;
    let statics = crate::http::statics::Statics::from_module(&image, &manifest).map_err(LoadError::Manifest)?.map(Arc::new);
    let module = compile(rt, image).await?;
    check_module(&module, &manifest)?;
    if let Some(wasmtime::ExternType::Memory(m)) = module.get_export(guest_abi::exports::MEMORY) {
        let bytes = m.minimum().saturating_mul(1 << 16);
        if bytes > ctx.limits.memory_bytes as u64 {
            return Err(LoadError::TopLevel(format!("it left {} MiB of memory, more than the app's limit of {} MiB", bytes.div_ceil(1 << 20), ctx.limits.memory_bytes >> 20)));
        }
    }
    let pre = rt.linker.instantiate_pre(&module).map_err(|e| LoadError::Import(e.to_string()))?;
    let entries = Entries::resolve(&module, &manifest)?;
    let openapi: Arc<str> = crate::openapi::json(&manifest, &ctx.name).into();
    let asyncapi = crate::asyncapi::json(&manifest, &ctx.name).map(|text| {
        let page = serde_json::from_str(&text).map(|doc| crate::asyncapi::page(&doc)).unwrap_or_default();
        (Arc::<str>::from(text), Arc::<str>::from(page))
    });
    let manifest = ctx.manifest.clone();
    let tasks = crate::background::TaskPool::new(ctx.limits.tasks);
    let jwks = jwks_of(&ctx)?;
    Ok(AppVersion { version: 1, ctx, manifest, pre, entries, routes, openapi, asyncapi, statics, jwks, engine: rt.engine.clone(), cpu: None, tasks, _ticker: rt.ticker.clone() })
}

/// The keys `@server(jwks=…)` names, from the app's secrets, as the JWKS document; a secret
/// that holds no key refuses the version, naming the secret (never its value).
fn jwks_of(ctx: &AppContext) -> Result<Option<Arc<str>>, LoadError> {
    let names = ctx.manifest.server.as_ref().map(|s| s.jwks.clone()).unwrap_or_default();
    if names.is_empty() {
        return Ok(None);
    }
    let pems: Vec<&str> = names.iter().map(|n| ctx.secrets.get(n).map_or("", String::as_str)).collect();
    match crate::host_fns::jwk::jwks(&pems) {
        Ok(doc) => Ok(Some(doc.to_string().into())),
        Err(i) => Err(LoadError::Manifest(format!("secret {} is not a key in PEM (RSA, P-256, P-384 or Ed25519) for /.well-known/jwks.json", names[i]))),
    }
}

/// Compiles on the build runtime's blocking pool.
async fn compile(rt: &Runtime, wasm: Vec<u8>) -> Result<Module, LoadError> {
    let engine = rt.engine.clone();
    rt.builder
        .blocking(move || Module::new(&engine, &wasm).map_err(|e| LoadError::Compile(e.to_string())))
        .await
        .unwrap_or_else(|| Err(LoadError::Compile("the build failed".into())))
}

/// Runs `fitz_main` and returns the instance's memory afterwards.
async fn run_top_level(rt: &Runtime, module: &Module, ctx: Arc<AppContext>, output: TopLevelOutput) -> Result<Vec<u8>, LoadError> {
    let limits = ctx.limits.clone();
    let output = match output {
        // stderr is kept either way: a runtime error becomes the load error's message.
        TopLevelOutput::Terminal => Output { stdout: Sink::Inherit, stderr: Sink::buffer(4 << 10) },
        TopLevelOutput::Log => Output::captured(limits.output_bytes, 4 << 10),
    };
    let mut store = Store::new(&rt.engine, GuestState::new(ctx.clone(), AppVersion::store_limits(&limits), output));
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    let failed = |e: wasmtime::Error, store: &mut Store<GuestState>| {
        let stderr = store.data_mut().output.stderr.take_text();
        LoadError::TopLevel(describe_failure(&e, stderr.trim()))
    };
    let run = tokio::time::timeout(limits.top_level_deadline, async {
        let instance = rt.linker.instantiate_async(&mut store, module).await?;
        let main = instance.get_typed_func::<(), ()>(&mut store, guest_abi::exports::MAIN)?;
        main.call_async(&mut store, ()).await?;
        Ok::<_, wasmtime::Error>(instance)
    })
    .await;
    let instance = match run {
        Err(_) => return Err(LoadError::TopLevel("deadline exceeded".into())),
        Ok(Err(e)) => return Err(failed(e, &mut store)),
        Ok(Ok(i)) => i,
    };
    let printed = store.data_mut().output.stdout.take_text();
    for line in printed.lines() {
        tracing::info!(target: "fitz::print", app = %ctx.name, "{line}");
    }
    crate::host_fns::report_dropped_logs(&mut store);
    let memory = instance.get_memory(&mut store, guest_abi::exports::MEMORY).ok_or_else(|| LoadError::Export("the module exports no memory".into()))?;
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
